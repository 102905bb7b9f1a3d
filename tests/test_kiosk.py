"""/kiosk: the station tablet as a paired device (pairing, the device cookie, revoking),
and the check-in code it shows: single use, read back with a real QR decoder."""

import re
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image, ImageDraw

from extensions import db as _db
from models import AuditLog, Duty, DutySlot, KioskDevice, KioskPairing, OfficeHour
from models.enums import DutyMethod, DutyStatus, PresencePolicy, RepLevel, Role
from services import kiosk as kiosk_service
from services.clock import local_today
from services.duty import KIOSK_WINDOW_SECONDS, kiosk_token, kiosk_window, verify_kiosk_token
from services.errors import KioskRefused
from tests import factories
from tests.helpers import login
from views.kiosk import COOKIE

SECRET = "test-secret"  # tests/conftest.py
PUBLIC_BASE_URL = "http://mashang.test"
# 10:00:07 in China, 7 s into a window: the next code is due in 23 s.
NOW = datetime(2024, 5, 10, 2, 0, 7)


def decode_svg(svg: str) -> str:
    """Draw the modules of a qrcode SvgPathImage path and read them with zxing-cpp."""
    path = re.search(r'<path[^>]*\bd="([^"]+)"', svg).group(1)
    modules = [(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path)]
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in modules:
        draw.rectangle([x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1], fill=0)
    (result,) = zxingcpp.read_barcodes(image)
    return result.text


def page_svg(html: str) -> str:
    return re.search(r'<div class="kiosk-qr"[^>]*>(<svg.*?</svg>)</div>', html, re.S).group(1)


@pytest.fixture
def world(db):
    station = factories.station(name="南关街道联络站", presence_policy=PresencePolicy.KIOSK)
    other = factories.station(name="产业园联络站")
    rep = factories.representative(stations=[station], name="王建国", level=RepLevel.CITY)
    later = factories.representative(stations=[station], name="李红梅")
    manager = factories.user(Role.STATION_MANAGER, display_name="李娜", managed_stations=[station])
    stranger = factories.user(Role.STATION_MANAGER, display_name="杨帆", managed_stations=[other])
    admin = factories.user(Role.ADMIN, display_name="管理员")
    staff = factories.user(Role.CONGRESS_STAFF, display_name="人大工委", region=station.region)
    handler = factories.user(Role.UNIT_HANDLER, display_name="住建局", unit=factories.unit())
    db.session.commit()
    return {
        "station": station,
        "other": other,
        "rep": rep,
        "later": later,
        "manager": manager,
        "stranger": stranger,
        "admin": admin,
        "staff": staff,
        "handler": handler,
    }


def pair_with_service(client, station, manager, name: str = "前台平板") -> str:
    """Pair `client` as a tablet of `station` (the back office's part through the service)
    and return the device token its cookie holds."""
    _pairing, code = kiosk_service.new_pairing(manager, station, name)
    _db.session.commit()
    resp = client.post("/kiosk/pair", data={"code": code})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    cookie = client.get_cookie(COOKIE, path="/kiosk")
    assert cookie is not None
    return cookie.value


@pytest.fixture
def tablet(app, world):
    """A second browser: the station's paired tablet."""
    browser = app.test_client()
    browser.token = pair_with_service(browser, world["station"], world["manager"])
    return browser


@pytest.fixture
def frozen(monkeypatch):
    """The kiosk's clock stopped at NOW."""
    import views.kiosk

    monkeypatch.setattr(views.kiosk, "utcnow", lambda: NOW)
    return NOW


def pairing_code_on(html: str) -> str:
    return re.search(r'id="pairing-code">([^<]+)<', html).group(1)


# --- pairing ---------------------------------------------------------------------------------------


def test_the_manager_makes_a_code_and_the_tablet_pairs_with_it(app, client, world):
    station, manager = world["station"], world["manager"]
    login(client, manager)
    resp = client.post(f"/manage/stations/{station.code}/tablets", data={"name": "前台平板"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    code = pairing_code_on(html)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    assert f"{PUBLIC_BASE_URL}/kiosk/pair" in html
    _db.session.commit()
    pairing = _db.session.scalar(sa.select(KioskPairing))
    assert code.replace("-", "") not in pairing.code_hash  # kept hashed only
    assert (pairing.expires_at - pairing.created_at) == timedelta(minutes=10)

    browser = app.test_client()
    form = browser.get("/kiosk/pair")
    assert form.status_code == 200 and 'name="code"' in form.get_data(as_text=True)
    resp = browser.post("/kiosk/pair", data={"code": code.lower()})  # typed in any case, with the dash
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/kiosk/{station.code}")
    set_cookie = resp.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in set_cookie and "Path=/kiosk" in set_cookie and "SameSite=Lax" in set_cookie
    assert "Secure" not in set_cookie  # plain http in the tests
    token = browser.get_cookie(COOKIE, path="/kiosk").value
    assert len(token) >= 40

    _db.session.commit()  # end the test's read snapshot: see what the requests wrote
    device = _db.session.scalar(sa.select(KioskDevice))
    assert (device.station_id, device.name, device.created_by_id) == (station.id, "前台平板", manager.id)
    assert device.revoked_at is None and device.last_seen_at is not None
    assert token not in device.token_hash and len(device.token_hash) == 64
    assert pairing.used_at is not None and pairing.device_id == device.id
    assert browser.get(f"/kiosk/{station.code}").status_code == 200
    actions = set(_db.session.scalars(sa.select(AuditLog.action)))
    assert {"kiosk.pairing_created", "kiosk.paired"} <= actions


def test_the_device_cookie_is_secure_on_https(app, world):
    _pairing, code = kiosk_service.new_pairing(world["manager"], world["station"])
    _db.session.commit()
    browser = app.test_client()
    resp = browser.post("/kiosk/pair", data={"code": code}, base_url="https://mashang.test")
    assert resp.status_code == 303 and "Secure" in resp.headers["Set-Cookie"]


def test_a_pairing_code_works_once(app, world):
    _pairing, code = kiosk_service.new_pairing(world["manager"], world["station"])
    _db.session.commit()
    first, second = app.test_client(), app.test_client()
    assert first.post("/kiosk/pair", data={"code": code}).status_code == 303
    resp = second.post("/kiosk/pair", data={"code": code}, headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert "already been used" in resp.get_data(as_text=True)
    assert second.get_cookie(COOKIE, path="/kiosk") is None
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(KioskDevice)) == 1


def test_an_expired_pairing_code_is_refused(app, world):
    pairing, code = kiosk_service.new_pairing(world["manager"], world["station"], now=datetime(2024, 5, 10, 2, 0))
    _db.session.commit()
    browser = app.test_client()
    resp = browser.post("/kiosk/pair", data={"code": code}, headers={"Accept-Language": "en"})
    assert resp.status_code == 422 and "has expired" in resp.get_data(as_text=True)
    with pytest.raises(KioskRefused) as refused:
        kiosk_service.pair(code, now=pairing.expires_at)
    assert refused.value.code == "expired_code"
    assert kiosk_service.pair(code, now=pairing.expires_at - timedelta(seconds=1))[0].station_id == pairing.station_id


@pytest.mark.parametrize(
    ("typed", "words"),
    [("", "8 letters and digits"), ("K7PM3QX", "8 letters and digits"), ("ABCD-EFGH", "not right"), ("<b>", "8")],
)
def test_a_wrong_pairing_code_says_what_is_wrong(app, world, typed, words):
    browser = app.test_client()
    resp = browser.post("/kiosk/pair", data={"code": typed}, headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert words in resp.get_data(as_text=True)
    assert browser.get_cookie(COOKIE, path="/kiosk") is None


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "KIOSK_PAIR_RATE_LIMIT": "3 per minute"}])
def test_guessing_pairing_codes_is_rate_limited(app, world):
    _pairing, code = kiosk_service.new_pairing(world["manager"], world["station"])
    _db.session.commit()
    browser = app.test_client()
    for guess in ("ABCD-EFGH", "ABCD-EFGJ", "ABCD-EFGK"):
        assert browser.post("/kiosk/pair", data={"code": guess}).status_code == 422
    assert browser.post("/kiosk/pair", data={"code": code}).status_code == 429
    assert browser.get("/kiosk/pair").status_code == 200  # the form itself still opens
    other = app.test_client()
    assert other.post("/kiosk/pair", data={"code": code}, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 303


def test_pairing_signs_out_whoever_was_signed_in_on_the_tablet(app, world):
    from models import UserSession
    from services.sessions import key_hash

    browser = app.test_client()
    key = login(browser, world["manager"])
    assert browser.get("/manage/").status_code == 200
    pair_with_service(browser, world["station"], world["manager"])
    resp = browser.get("/manage/")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    # the sign-in itself is over, not only forgotten by this browser: a copy of its cookie is worthless
    _db.session.commit()
    assert _db.session.get(UserSession, key_hash(key)).revoked_at is not None


def test_only_overseers_make_codes_and_only_managers_and_admins_pair(client, world):
    code = world["station"].code
    for who, listing, making in [
        ("manager", 200, 200),
        ("admin", 200, 200),
        ("staff", 200, 403),
        ("stranger", 403, 403),
        ("handler", 403, 403),
        ("rep", 403, 403),
    ]:
        user = world[who].user if who == "rep" else world[who]
        login(client, user)
        assert client.get(f"/manage/stations/{code}/tablets").status_code == listing, who
        assert client.post(f"/manage/stations/{code}/tablets", data={}).status_code == making, who
    client.post("/logout")
    resp = client.get(f"/manage/stations/{code}/tablets")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"


def test_a_tablet_name_too_long_is_refused_beside_its_field(client, world):
    login(client, world["manager"])
    resp = client.post(
        f"/manage/stations/{world['station'].code}/tablets", data={"name": "长" * 41}, headers={"Accept-Language": "en"}
    )
    assert resp.status_code == 422 and "40 characters" in resp.get_data(as_text=True)
    assert 'id="pairing-code"' not in resp.get_data(as_text=True)


# --- the device: its display and nothing else ----------------------------------------------------


def test_without_a_paired_device_the_display_says_how_to_pair(client, world):
    code = world["station"].code
    for path in (f"/kiosk/{code}", f"/kiosk/{code}/code.svg", f"/kiosk/{code}/status"):
        resp = client.get(path, headers={"Accept-Language": "en"})
        assert resp.status_code == 403, path
        html = resp.get_data(as_text=True)
        assert "not paired" in html and "/kiosk/pair" in html and '<svg class="kiosk-qr' not in html
    # A manager's signed-in session no longer opens it: the manager pairs the tablet instead.
    login(client, world["manager"])
    assert client.get(f"/kiosk/{code}").status_code == 403


def test_a_forged_device_cookie_is_not_paired(client, world):
    client.set_cookie(COOKIE, "not-a-token", path="/kiosk")
    assert client.get(f"/kiosk/{world['station'].code}").status_code == 403


def test_the_tablet_cannot_open_any_other_page(tablet, world):
    station = world["station"]
    assert tablet.get(f"/kiosk/{station.code}").status_code == 200
    # The browser sends the cookie only under /kiosk; even when it is sent, no other page reads it.
    cookie = {"Cookie": f"{COOKIE}={tablet.token}"}
    for path in (
        "/manage/concerns/export.csv",
        "/manage/concerns",
        "/manage/",
        f"/manage/stations/{station.code}/attendance",
        f"/manage/stations/{station.code}/tablets",
        "/me",
        "/account/password",
    ):
        for headers in ({}, cookie):
            resp = tablet.get(path, headers=headers)
            assert resp.status_code == 302, (path, headers)
            assert urlsplit(resp.headers["Location"]).path == "/login", path
    # Nor the display of another station.
    resp = tablet.get(f"/kiosk/{world['other'].code}", headers={"Accept-Language": "en"})
    assert resp.status_code == 403 and "another station" in resp.get_data(as_text=True)
    assert tablet.get(f"/kiosk/{world['other'].code}/code.svg").status_code == 403


def test_a_revoked_tablet_reads_how_to_pair_again(tablet, client, world):
    station = world["station"]
    device = _db.session.scalar(sa.select(KioskDevice))
    login(client, world["staff"])  # congress staff above the station may revoke
    listing = client.get(f"/manage/stations/{station.code}/tablets", headers={"Accept-Language": "en"})
    html = listing.get_data(as_text=True)
    assert "前台平板" in html and "Last seen" in html and "Revoke" in html
    assert 'id="pair-h"' not in html  # staff do not pair
    resp = client.post(f"/manage/stations/{station.code}/tablets/{device.id}/revoke")
    assert resp.status_code == 303
    _db.session.commit()  # end the test's read snapshot: see what the requests wrote
    assert _db.session.get(KioskDevice, device.id).revoked_at is not None
    assert "kiosk.revoked" in set(_db.session.scalars(sa.select(AuditLog.action)))
    for path in (f"/kiosk/{station.code}", f"/kiosk/{station.code}/code.svg", f"/kiosk/{station.code}/status"):
        resp = tablet.get(path, headers={"Accept-Language": "en"})
        assert resp.status_code == 403, path
        html = resp.get_data(as_text=True)
        assert "no longer paired" in html and "/kiosk/pair" in html
    listing = client.get(f"/manage/stations/{station.code}/tablets", headers={"Accept-Language": "en"})
    assert "Revoked" in listing.get_data(as_text=True)


def test_only_overseers_of_the_station_revoke(tablet, client, world):
    station = world["station"]
    device = _db.session.scalar(sa.select(KioskDevice))
    for who in ("stranger", "handler"):
        login(client, world[who])
        assert client.post(f"/manage/stations/{station.code}/tablets/{device.id}/revoke").status_code == 403
    login(client, world["stranger"])
    # The device under another station's address: not found there.
    assert client.post(f"/manage/stations/{world['other'].code}/tablets/{device.id}/revoke").status_code == 404
    _db.session.commit()  # end the test's read snapshot: see what the requests wrote
    assert _db.session.get(KioskDevice, device.id).revoked_at is None
    assert tablet.get(f"/kiosk/{station.code}").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(tablet, world, monkeypatch):
    import views.kiosk

    code = world["station"].code
    start = datetime(2024, 5, 10, 2, 0, 0)
    device = _db.session.scalar(sa.select(KioskDevice))
    device.last_seen_at = start
    _db.session.commit()
    for seconds, seen in [(30, start), (61, start + timedelta(seconds=61)), (90, start + timedelta(seconds=61))]:
        monkeypatch.setattr(views.kiosk, "utcnow", lambda s=seconds: start + timedelta(seconds=s))
        assert tablet.get(f"/kiosk/{code}/status").status_code == 200
        _db.session.commit()  # end the test's read snapshot: see what the requests wrote
        assert _db.session.get(KioskDevice, device.id).last_seen_at == seen, seconds


# --- the single-use code -----------------------------------------------------------------------------


def test_page_code_opens_the_station_page_with_this_windows_first_code(tablet, world, frozen):
    station = world["station"]
    resp = tablet.get(f"/kiosk/{station.code}")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    url = decode_svg(page_svg(html))
    window = kiosk_window(NOW)
    assert url == f"{PUBLIC_BASE_URL}/s/{station.code}?k={kiosk_token(SECRET, station, window, 0)}"
    token = parse_qs(urlsplit(url).query)["k"][0]
    assert verify_kiosk_token(SECRET, station, token, NOW) == window
    assert verify_kiosk_token(SECRET, station, token, NOW + timedelta(seconds=KIOSK_WINDOW_SECONDS)) == window
    assert f'data-window="{window}"' in html and f'data-code="{window}.0"' in html


@pytest.mark.parametrize(("into_window", "refresh"), [(7, 4), (28, 3)])
def test_page_reloads_itself_without_javascript(tablet, world, monkeypatch, into_window, refresh):
    """Often enough to replace a used code, and just after the window's boundary."""
    import views.kiosk

    monkeypatch.setattr(views.kiosk, "utcnow", lambda: datetime(2024, 5, 10, 2, 0, into_window))
    html = tablet.get(f"/kiosk/{world['station'].code}").get_data(as_text=True)
    (seconds,) = re.findall(r'<noscript><meta http-equiv="refresh" content="(\d+)"></noscript>', html)
    assert int(seconds) == refresh


def test_page_has_no_inline_script_and_loads_kiosk_js(tablet, world):
    html = tablet.get(f"/kiosk/{world['station'].code}").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert 'src="/static/kiosk.js"' in html
    assert " style=" not in html  # the Content-Security-Policy allows no inline style either


def test_code_svg_serves_this_or_the_next_window_only(tablet, world, frozen):
    station = world["station"]
    window = kiosk_window(NOW)
    for asked, served in [
        (None, window),
        (window, window),
        (window + 1, window + 1),
        (window + 2, window),
        (window - 1, window),
        ("nonsense", window),
    ]:
        query = "" if asked is None else f"?w={asked}"
        resp = tablet.get(f"/kiosk/{station.code}/code.svg{query}")
        assert resp.status_code == 200
        assert resp.mimetype == "image/svg+xml"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Kiosk-Window"] == str(served)
        assert resp.headers["X-Kiosk-Code"] == f"{served}.0"
        assert int(resp.headers["X-Kiosk-Server-Ms"]) == int((NOW - datetime(1970, 1, 1)).total_seconds() * 1000)
        url = decode_svg(resp.get_data(as_text=True))
        assert url.endswith(f"?k={kiosk_token(SECRET, station, served)}")


def test_the_code_changes_every_window(tablet, world, monkeypatch):
    import views.kiosk

    seen = []
    for seconds in (0, 29, 30, 61):
        monkeypatch.setattr(
            views.kiosk, "utcnow", lambda s=seconds: datetime(2024, 5, 10, 2, 0, 0) + timedelta(seconds=s)
        )
        seen.append(decode_svg(tablet.get(f"/kiosk/{world['station'].code}/code.svg").get_data(as_text=True)))
    assert seen[0] == seen[1] and len(set(seen)) == 3


def scan(client, tablet, station) -> tuple[str, str]:
    """Read the tablet's code and open it as the signed-in representative on `client`:
    (token, nonce) of the check-in form it offers."""
    url = decode_svg(tablet.get(f"/kiosk/{station.code}/code.svg").get_data(as_text=True))
    html = client.get(url.removeprefix(PUBLIC_BASE_URL)).get_data(as_text=True)
    token = re.search(r'name="kiosk_token" value="([^"]+)"', html).group(1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    return token, nonce


def check_out_all(rep):
    for duty in _db.session.scalars(sa.select(Duty).where(Duty.representative_id == rep.id)):
        duty.status, duty.checked_out_at = DutyStatus.CLOSED, duty.checked_in_at
    _db.session.commit()


def test_a_scanned_code_checks_in_once_and_the_tablet_shows_the_next(client, tablet, world):
    station, rep, later = world["station"], world["rep"], world["later"]
    before = tablet.get(f"/kiosk/{station.code}/status").headers["X-Kiosk-Code"]
    login(client, rep.user)
    token, nonce = scan(client, tablet, station)
    assert client.post(f"/s/{station.code}/check-in", data={"nonce": nonce, "kiosk_token": token}).status_code == 303
    _db.session.commit()  # end the test's read snapshot: see what the requests wrote
    duty = _db.session.scalar(sa.select(Duty))
    assert (duty.method, duty.status) == (DutyMethod.KIOSK, DutyStatus.OPEN)
    assert duty.kiosk_code == token  # the code is bound to the check-in
    assert duty.kiosk_window == int(token.split(".")[0])

    # The status poll names another code at once, and the code image is that one.
    after = tablet.get(f"/kiosk/{station.code}/status").headers["X-Kiosk-Code"]
    assert after != before and after.endswith(".1") and after.split(".")[0] == before.split(".")[0]
    image = tablet.get(f"/kiosk/{station.code}/code.svg")
    assert image.headers["X-Kiosk-Code"] == after
    next_url = decode_svg(image.get_data(as_text=True))
    assert token not in next_url

    # The same code again, for the same representative after checking out ...
    check_out_all(rep)
    again = client.post(
        f"/s/{station.code}/check-in",
        data={"nonce": "another-nonce-1", "kiosk_token": token},
        headers={"Accept-Language": "en"},
    )
    assert again.status_code == 422 and "already been used" in again.get_data(as_text=True)
    # ... and for a colleague it was forwarded to, even asking the manager to confirm.
    login(client, later.user)
    for extra in ({}, {"allow_pending": "1"}):
        forwarded = client.post(
            f"/s/{station.code}/check-in",
            data={"nonce": "another-nonce-2", "kiosk_token": token, **extra},
            headers={"Accept-Language": "en"},
        )
        assert forwarded.status_code == 422 and "already been used" in forwarded.get_data(as_text=True)
    _db.session.commit()  # end the test's read snapshot: see what the requests wrote
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 1

    # The colleague scans the tablet's new code, which works.
    token2, nonce2 = scan(client, tablet, station)
    assert token2 != token
    assert client.post(f"/s/{station.code}/check-in", data={"nonce": nonce2, "kiosk_token": token2}).status_code == 303
    _db.session.commit()  # end the test's read snapshot: see what the requests wrote
    assert sorted(d.kiosk_code for d in _db.session.scalars(sa.select(Duty))) == sorted([token, token2])


# --- the lists -------------------------------------------------------------------------------------


def test_page_lists_who_is_in_and_todays_roster(tablet, world):
    station, rep, later = world["station"], world["rep"], world["later"]
    today = local_today()
    _db.session.add_all(
        [
            DutySlot(
                station=station,
                representative=rep,
                day=today,
                starts_at=datetime(2024, 1, 1, 9).time(),
                ends_at=datetime(2024, 1, 1, 12).time(),
            ),
            DutySlot(
                station=station,
                representative=later,
                day=today,
                starts_at=datetime(2024, 1, 1, 14).time(),
                ends_at=datetime(2024, 1, 1, 17, 30).time(),
            ),
            DutySlot(
                station=station,
                representative=later,
                day=today + timedelta(days=1),
                starts_at=datetime(2024, 1, 1, 8).time(),
                ends_at=datetime(2024, 1, 1, 9).time(),
            ),
            Duty(
                station=station,
                representative=rep,
                checked_in_at=datetime(2024, 5, 10, 1, 5),
                method=DutyMethod.KIOSK,
                nonce="kiosk-list-nonce",
            ),
        ]
    )
    _db.session.commit()
    html = tablet.get(f"/kiosk/{station.code}").get_data(as_text=True)
    onduty = html.split('class="kiosk-list onduty-list"', 1)[1].split("</ul>", 1)[0]
    assert "王建国" in onduty and "09:05" in onduty and "李红梅" not in onduty
    roster = html.split('class="kiosk-list roster-list"', 1)[1].split("</ul>", 1)[0]
    assert "09:00–12:00" in roster and "14:00–17:30" in roster and "08:00" not in roster
    assert "南关街道联络站" in html

    status = tablet.get(f"/kiosk/{station.code}/status")
    assert status.headers["Cache-Control"] == "no-store"
    assert "王建国" in status.get_data(as_text=True) and "<html" not in status.get_data(as_text=True)


def test_page_lists_officials_here_and_todays_office_hours(tablet, world):
    station = world["station"]
    head = factories.official(name="张国栋", post="项城市住房和城乡建设局局长")
    judge = factories.official(name="陈立新", post="项城市人民法院院长")
    factories.official_session(head, station, checked_in_at=datetime(2024, 5, 10, 2, 0))
    today = local_today()
    _db.session.add_all(
        [
            OfficeHour(station=station, official=judge, day=today, starts_at=time(15), ends_at=time(17)),
            OfficeHour(
                station=station, official=judge, day=today + timedelta(days=1), starts_at=time(8), ends_at=time(9)
            ),
        ]
    )
    _db.session.commit()
    html = tablet.get(f"/kiosk/{station.code}/status").get_data(as_text=True)
    onduty = html.split('class="kiosk-list onduty-list"', 1)[1].split("</ul>", 1)[0]
    assert "张国栋" in onduty and "住房和城乡建设局局长" in onduty and "10:00" in onduty
    roster = html.split('class="kiosk-list roster-list"', 1)[1].split("</ul>", 1)[0]
    assert "15:00–17:00" in roster and "陈立新" in roster and "08:00" not in roster


def test_page_with_nobody_in_and_no_roster(tablet, world):
    html = tablet.get(f"/kiosk/{world['station'].code}").get_data(as_text=True)
    assert "onduty-list" not in html and "roster-list" not in html
    assert html.count('class="kiosk-empty"') == 2


def test_unknown_or_inactive_station_is_404_and_lowercase_redirects(tablet, world):
    assert tablet.get("/kiosk/ZZZZZZZZ").status_code == 404
    code = world["station"].code
    resp = tablet.get(f"/kiosk/{code.lower()}")
    assert resp.status_code == 301 and resp.headers["Location"].endswith(f"/kiosk/{code}")
    world["station"].is_active = False
    _db.session.commit()
    assert tablet.get(f"/kiosk/{code}").status_code == 404


def test_pairing_a_tablet_again_revokes_what_it_was_paired_as(app, world):
    browser = app.test_client()
    pair_with_service(browser, world["station"], world["manager"], name="旧配对")
    pair_with_service(browser, world["station"], world["manager"], name="新配对")
    _db.session.commit()
    devices = {d.name: d for d in _db.session.scalars(sa.select(KioskDevice))}
    assert devices["旧配对"].revoked_at is not None and devices["新配对"].revoked_at is None
