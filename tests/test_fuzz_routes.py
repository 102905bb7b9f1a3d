"""Malformed input never gives a 5xx: a fuzz over the app's whole route table.

For every rule, each path variable is replaced by hostile values (the others keep real
ones), and every query or form parameter the view reads is given hostile values one at
a time, as an anonymous visitor, a representative, a station manager and the admin,
by GET and by POST. Which parameters a view reads is recorded on a first clean request
(a request class whose argument dicts note the keys asked for), so the fuzz reaches
what the code really looks at without trying every name on every route.
"""

import contextlib
from datetime import time, timedelta

import pytest

from app import AppRequest, NulFreeDict
from extensions import db as _db
from models import Duty, DutySlot, utcnow
from models.enums import DutyMethod, RegionLevel, Role
from services import clock
from tests import factories
from tests.helpers import login

HOSTILE = [
    "99999999999999999999",  # past every integer column
    "-2026",
    "0",
    "10000",  # years past the calendar
    "1e309",  # infinity once a float
    "nan",
    "9999-12-31",  # a date with no next week
    "中文\u202e\x00' OR 1=1 --\"><%../",  # unicode, NUL, SQL and HTML metacharacters, a path
    "x" * 2000,
]
# Path values: digits a converter lets through to the view, and strings for <code>s.
HOSTILE_PATH = ["99999999999999999999", "9223372036854775808", "2147483648", "0", "10000"]
HOSTILE_PATH_TEXT = ["中文！", "%00", "..%2f..", "x" * 300, "' OR 1=1 --", "99999999999999999999"]
# Read by some view or other; sent all at once too, whatever the probe recorded.
COMMON_PARAMS = ["after", "before", "year", "month", "page", "q", "rep", "sort", "box", "lat", "lng", "status"]
ALL_AT_ONCE = ["99999999999999999999", "-2026", "nan\x00"]

_read_keys: set[str] = set()


class RecordingDict(NulFreeDict):
    """Notes every key a view asks for (args and form alike)."""

    def __getitem__(self, key):
        _read_keys.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002  (werkzeug's signature)
        _read_keys.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        _read_keys.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _read_keys.add(key)
        return super().__contains__(key)


class RecordingRequest(AppRequest):
    parameter_storage_class = RecordingDict


@pytest.fixture
def world(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    st = factories.station(region=county, latitude=33.44, longitude=114.9)
    rep = factories.representative(stations=[st])
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[st])
    admin = factories.user(Role.ADMIN)
    concern = factories.concern(station_obj=st)
    now = utcnow()
    duty = Duty(
        station=st, representative=rep, checked_in_at=now - timedelta(hours=1), method=DutyMethod.MANUAL, nonce="fuzz"
    )
    slot = DutySlot(station=st, representative=rep, day=clock.local_today(), starts_at=time(9), ends_at=time(11))
    _db.session.add_all([duty, slot])
    _db.session.commit()
    return {
        "code": st.code,
        "tracking": concern.tracking_code,
        "ids": {
            "concern_id": concern.id,
            "duty_id": duty.id,
            "slot_id": slot.id,
            "rep_id": rep.id,
            "user_id": rep.user.id,
            "item_id": concern.id,
            "row_id": 1,
            "year": clock.local_today().year,
        },
        "people": {"rep": rep.user, "manager": manager, "admin": admin},
    }


def real_values(rule, world) -> dict:
    values = {}
    for name in rule.arguments:
        if name in world["ids"]:
            values[name] = str(world["ids"][name])
        elif name == "code":
            values[name] = world["tracking"] if rule.rule.startswith("/t/") else world["code"]
        elif name in ("fmt",):
            values[name] = "csv" if "export" in rule.rule or "attendance" in rule.rule else "png"
        elif name == "choice":
            values[name] = "stop"
        elif name == "lang":
            values[name] = "en"
        elif name == "day":
            values[name] = clock.local_today().isoformat()
        else:
            values[name] = "x"
    return values


def build(rule, values: dict) -> str:
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
        for converter in ("int", "path", "any(png, svg)", "any(xlsx, csv)", "any(stop, start)"):
            path = path.replace(f"<{converter}:{name}>", value)
    return path


@pytest.mark.parametrize("role", ["anonymous", "rep", "manager", "admin"])
def test_no_route_answers_malformed_input_with_a_5xx(app, world, role):
    app.request_class = RecordingRequest
    client = app.test_client()
    person = world["people"].get(role)
    failures: list[str] = []

    def hit(client, method: str, url: str, data: dict | None = None) -> None:
        with app.app_context():
            try:
                resp = client.get(url, query_string=data) if method == "GET" else client.post(url, data=data or {})
            except Exception as exc:  # noqa: BLE001  (TESTING re-raises what would be a 500)
                failures.append(f"{method} {url} {data!r:.120}: {type(exc).__name__}: {str(exc):.200}")
                return
            if resp.status_code >= 500:
                failures.append(f"{method} {url} {data!r:.120}: {resp.status_code}")

    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    try:
        for rule in rules:
            real = real_values(rule, world)
            for method in [m for m in ("GET", "POST") if m in rule.methods]:
                if person is not None:  # signed in again: /logout and a password change end it
                    login(client, person)
                # 1. hostile path values, one variable at a time
                for name, converter in rule._converters.items():
                    if name in ("fmt", "choice"):
                        continue
                    numeric = type(converter).__name__ not in ("UnicodeConverter", "PathConverter")
                    for value in HOSTILE_PATH if numeric else HOSTILE_PATH_TEXT:
                        hit(client, method, build(rule, {**real, name: value}))
                # 2. the parameters the view reads, found by a clean request (a form
                # with something in it: an empty one is not read at all)
                url = build(rule, real)
                _read_keys.clear()
                hit(client, method, url, {"probe": "1"})
                keys = _read_keys - {"csrf_token", "probe"}
                for key in sorted(keys):
                    for value in HOSTILE:
                        hit(client, method, url, {key: value})
                # 3. every parameter at once
                for value in ALL_AT_ONCE:
                    hit(client, method, url, dict.fromkeys(sorted(keys | set(COMMON_PARAMS)), value))
    finally:
        app.request_class = AppRequest
        with contextlib.suppress(Exception):
            _db.session.rollback()
    assert not failures, f"{len(failures)} requests gave a 5xx:\n" + "\n".join(failures[:60])
