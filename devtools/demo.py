"""Henan demo data for `flask seed-demo`: regions, stations, representatives, categories, units,
accounts, two weeks of roster, three months of past roster and duties, and about sixty
concerns at every step of the loop, from three months ago to today.

The content is data, one file a table in `devtools/demo_data/` (UTF-8; each file says what its
fields mean); this module reads it into typed seeds and builds the rows through the domain
services, the concerns' steps through services.concern_flow and the past duties through
services.duty, each at the time it happened.

Everything is looked up by its natural key (region code, station name, category code,
unit region and name, username) and created only when missing, so a second run adds
nothing and never changes a station's printed code. The regions and their codes are
real (GB/T 2260; townships per GB/T 10114 as published by the statistics bureau); the
stations follow the Henan bulletins in shared/seeds/; every person is invented.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import yaml
from flask import current_app
from werkzeug.security import generate_password_hash

from extensions import db
from models import (
    Activity,
    ApiKey,
    Booking,
    Category,
    Concern,
    DraftComment,
    DraftLaw,
    Duty,
    DutySlot,
    Notice,
    OfficeHour,
    Official,
    OfficialSession,
    Outbox,
    ProjectVote,
    ReceptionDay,
    Region,
    ReportMeeting,
    Representative,
    Station,
    Suggestion,
    Unit,
    User,
    utcnow,
)
from models.enums import (
    BookingStatus,
    ConcernAction,
    ConcernSource,
    ConcernStatus,
    DutyMethod,
    DutyStatus,
    PresencePolicy,
    Rating,
    ReceptionKind,
    RegionLevel,
    Repeat,
    RepLevel,
    ReplyClass,
    Role,
    StationCategory,
    StationKind,
    UnitKind,
)
from services import board as board_service
from services import concern_flow, suggestion_flow
from services import duty as duty_service
from services.bookings import mobile_digest
from services.clock import local_today, to_local, utc_at
from services.codes import new_booking_code, new_rep_code, new_station_code
from services.concerns import ConcernInput, find_by_submission_key, submit_concern
from services.permissions import oversees_station
from services.storage import open_storage
from services.workflow import RESIDENT, SYSTEM

DATA = Path(__file__).with_name("demo_data")


# --- Reading the files -------------------------------------------------------------------


class _TextLoader(yaml.SafeLoader):
    """Safe YAML in which every scalar stays the text written: nothing guesses that 09:00 is a
    number of minutes, 411600 an integer or `no` false; the readers below convert what is not text."""


_TextLoader.yaml_implicit_resolvers = {}


def _yaml(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as file:
        return yaml.load(file, Loader=_TextLoader)  # noqa: S506 (a safe loader)


def _csv(name: str) -> list[dict[str, str]]:
    """A CSV file's rows, by its header line; lines starting with # are comments."""
    with (DATA / name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(line for line in file if not line.startswith("#")))


def _flag(text: str | None) -> bool:
    return {None: False, "false": False, "true": True}[text]


# --- The seeds ---------------------------------------------------------------------------

_ACCOUNTS = _yaml("accounts.yaml")

# Published on purpose: `make run` prints it next to the demo accounts.
DEMO_PASSWORD: str = _ACCOUNTS["password"]

# (code, name, level, parent code), parents before children.
REGIONS: tuple[tuple[str, str, RegionLevel, str | None], ...] = tuple(
    (row["code"], row["name"], RegionLevel(row["level"]), row["parent"] or None) for row in _csv("regions.csv")
)
_REGION_NAMES = {code: name for code, name, _level, _parent in REGIONS}
_REGION_PARENTS = {code: parent for code, _name, _level, parent in REGIONS}

# (code, Chinese name, English name); the list order is the display order.
CATEGORIES: tuple[tuple[str, str, str], ...] = tuple(
    (row["code"], row["name_zh"], row["name_en"]) for row in _csv("categories.csv")
)

_UNITS = _yaml("units.yaml")
# 一府一委两院 of a prefecture-level city and of a county or district: (name after the region's, kind).
CITY_UNITS: tuple[tuple[str, UnitKind], ...] = tuple((name, UnitKind(kind)) for name, kind in _UNITS["city_units"])
COUNTY_UNITS: tuple[tuple[str, UnitKind], ...] = tuple((name, UnitKind(kind)) for name, kind in _UNITS["county_units"])
UNIT_CITIES: tuple[str, ...] = tuple(_UNITS["cities"])
UNIT_COUNTIES: tuple[str, ...] = tuple(_UNITS["counties"])


def _unit_seeds() -> tuple[tuple[str, str, UnitKind], ...]:
    """(region code, unit name, kind) for every demo handling unit."""
    seeds: list[tuple[str, str, UnitKind]] = []
    for code in UNIT_CITIES:
        city = _REGION_NAMES[code]
        seeds += [(code, city + suffix, kind) for suffix, kind in CITY_UNITS]
    for code in UNIT_COUNTIES:
        name = _REGION_NAMES[code]
        city = _REGION_NAMES[_REGION_PARENTS[code] or ""]
        # A district's offices carry their city's name (周口市淮阳区…); a county's do not.
        prefix = city + name if name.endswith("区") else name
        seeds += [(code, prefix + suffix, kind) for suffix, kind in COUNTY_UNITS]
        # Ecology is run from the city: a county has a branch of the city bureau.
        seeds.append((code, f"{city}生态环境局{name[:-1]}分局", UnitKind.GOVERNMENT))
    return tuple(seeds)


UNITS = _unit_seeds()

# (text shown, opens at, closes at)
Hours = tuple[str, time, time]


@dataclass(frozen=True, slots=True)
class StationSeed:
    key: str  # only for references inside the data files; the natural key in the database is the name
    name: str
    kind: StationKind
    category: StationCategory
    region_code: str
    address: str
    latitude: float
    longitude: float
    hours: Hours
    phone: str
    intro: str
    presence_policy: PresencePolicy = PresencePolicy.NONE
    parent: str | None = None
    legislative_point: bool = False


def _stations() -> tuple[StationSeed, ...]:
    data = _yaml("stations.yaml")
    hours = {
        name: (h["text"], time.fromisoformat(h["opens"]), time.fromisoformat(h["closes"]))
        for name, h in data["hours"].items()
    }
    return tuple(
        StationSeed(
            **(
                row
                | {
                    "kind": StationKind(row["kind"]),
                    "category": StationCategory(row["category"]),
                    "latitude": float(row["latitude"]),
                    "longitude": float(row["longitude"]),
                    "hours": hours[row["hours"]],
                    "presence_policy": PresencePolicy(row.get("presence_policy", PresencePolicy.NONE)),
                    "legislative_point": _flag(row.get("legislative_point", "false")),
                }
            )
        )
        for row in data["stations"]
    )


STATIONS = _stations()


@dataclass(frozen=True, slots=True)
class RepSeed:
    username: str
    name: str
    level: RepLevel
    delegation: str
    occupation: str
    bio: str
    stations: tuple[str, ...]  # StationSeed keys


REPRESENTATIVES: tuple[RepSeed, ...] = tuple(
    RepSeed(**(row | {"level": RepLevel(row["level"]), "stations": tuple(row["stations"])}))
    for row in _yaml("representatives.yaml")
)


def _demo_mobile(index: int) -> str:
    return f"1390000{index + 1:04d}"


@dataclass(frozen=True, slots=True)
class StaffSeed:
    username: str
    role: Role
    name: str
    region_code: str | None = None
    unit: tuple[str, str] | None = None  # (region code, unit name)
    manages: tuple[str, ...] = ()  # StationSeed keys
    email: str | None = None  # where their notifications go (the demo's outbox logs them)


STAFF: tuple[StaffSeed, ...] = tuple(
    StaffSeed(
        **(
            row
            | {
                "role": Role(row["role"]),
                "unit": tuple(row["unit"]) if "unit" in row else None,
                "manages": tuple(row.get("manages", ())),
            }
        )
    )
    for row in _ACCOUNTS["staff"]
)

# Representatives worth signing in as: provincial, national and township, and one at a kiosk station.
_DEMO_REP_USERNAMES: tuple[str, ...] = tuple(_ACCOUNTS["representatives"])


@dataclass(frozen=True, slots=True)
class HoursSeed:
    station: str  # StationSeed key
    weekday: int  # 0 Monday
    starts_at: time
    ends_at: time
    weeks: int


@dataclass(frozen=True, slots=True)
class SessionSeed:
    station: str  # StationSeed key
    checked_in: str  # "<days ago> <HH:MM>", China time
    checked_out: str
    takes: tuple[str, ...] = ()  # ConcernSeed keys taken up there and sent to their unit


@dataclass(frozen=True, slots=True)
class OfficialSeed:
    username: str
    name: str
    post: str
    unit: tuple[str, str]  # (region code, unit name)
    email: str | None
    hours: tuple[HoursSeed, ...]
    sessions: tuple[SessionSeed, ...] = ()


OFFICIALS: tuple[OfficialSeed, ...] = tuple(
    OfficialSeed(
        username=row["username"],
        name=row["name"],
        post=row["post"],
        unit=(str(row["unit"][0]), row["unit"][1]),
        email=row.get("email"),
        hours=tuple(
            HoursSeed(
                h["station"],
                int(h["weekday"]),
                time.fromisoformat(h["from"]),
                time.fromisoformat(h["until"]),
                int(h["weeks"]),
            )
            for h in row.get("hours", ())
        ),
        sessions=tuple(
            SessionSeed(v["station"], v["in"], v["out"], tuple(v.get("takes", ()))) for v in row.get("sessions", ())
        ),
    )
    for row in _ACCOUNTS.get("officials", ())
)

DEMO_ACCOUNTS: list[tuple[str, str, str]] = (
    [(s.username, s.role.value, s.name) for s in STAFF]
    + [(r.username, Role.REPRESENTATIVE.value, r.name) for r in REPRESENTATIVES if r.username in _DEMO_REP_USERNAMES]
    + [(o.username, Role.OFFICIAL.value, o.name) for o in OFFICIALS]
)

# Two half-day slots a working day, for ROSTER_DAYS days from today.
_ROSTER = _yaml("roster.yaml")
ROSTER_DAYS = int(_ROSTER["days"])
ROSTER_HOURS: tuple[tuple[time, time], ...] = tuple(
    (time.fromisoformat(starts), time.fromisoformat(ends)) for starts, ends in _ROSTER["slots"]
)


Slot = tuple[time, time]


def _slots(rows) -> tuple[Slot, ...]:
    return tuple((time.fromisoformat(starts), time.fromisoformat(ends)) for starts, ends in rows)


@dataclass(frozen=True, slots=True)
class DutyPlan:
    """The past of on-site duty (demo_data/duties.yaml says what each field means)."""

    seed: str
    months: int
    weekdays: tuple[int, ...]
    slots: tuple[Slot, ...]
    stations: dict[str, tuple[tuple[int, ...], tuple[Slot, ...]]]  # per-station weekdays and slots
    outcomes: tuple[str, ...]
    residents: tuple[int, int]
    notes: tuple[str, ...]
    void_reasons: tuple[str, ...]
    confirm_note: str

    def schedule(self, station_key: str) -> tuple[tuple[int, ...], tuple[Slot, ...]]:
        return self.stations.get(station_key, (self.weekdays, self.slots))


def _duty_plan() -> DutyPlan:
    data = _yaml("duties.yaml")
    weekdays = tuple(int(day) for day in data["weekdays"])
    slots = _slots(data["slots"])
    low, high = (int(n) for n in data["residents"])
    return DutyPlan(
        seed=data["seed"],
        months=int(data["months"]),
        weekdays=weekdays,
        slots=slots,
        stations={
            key: (
                tuple(int(day) for day in row["weekdays"]) if "weekdays" in row else weekdays,
                _slots(row["slots"]) if "slots" in row else slots,
            )
            for key, row in (data.get("stations") or {}).items()
        },
        outcomes=tuple(data["outcomes"]),
        residents=(low, high),
        notes=tuple(data["notes"]),
        void_reasons=tuple(data["void_reasons"]),
        confirm_note=data["confirm_note"],
    )


DUTY_PLAN = _duty_plan()
DUTY_OUTCOMES = frozenset({"attended", "missed", "auto_closed", "voided", "pending"})
assert set(DUTY_PLAN.outcomes) <= DUTY_OUTCOMES, "duties.yaml: unknown outcome"


@dataclass(frozen=True, slots=True)
class Step:
    action: ConcernAction  # a transition, a rating, a note (internal) or a comment (to the resident)
    when: str  # "<days ago> <HH:MM>", local time
    by: str | None = None  # username; "unit": the unit's handler; None: the resident or the system
    note: str = ""
    rep: str | None = None  # accept: the representative (username)
    unit: str | None = None  # dispatch: the unit's name without its region, e.g. 住房和城乡建设局
    due_days: int | None = None  # dispatch: a deadline chosen by staff, calendar days later
    ratings: tuple[Rating, Rating] | None = None  # rate: the unit's, the representative's
    into: str | None = None  # merge: the other concern's key


@dataclass(frozen=True, slots=True)
class ConcernSeed:
    key: str
    station: str  # StationSeed key
    category: str  # category code
    filed: str  # like Step.when
    content: str
    steps: tuple[Step, ...] = ()
    contact: tuple[str, str] | None = None  # (name, mobile): given with consent
    anonymous: bool = False
    public: bool = False
    source: ConcernSource = ConcernSource.QR
    to: str | None = None  # written to this representative (username) through their code


def _step(row: dict[str, Any]) -> Step:
    fields = dict(row)
    fields["action"] = ConcernAction(row["action"])
    if fields["action"] == ConcernAction.ACCEPT:
        fields["rep"] = row["by"]  # the representative takes it up himself or herself
    if "due_days" in row:
        fields["due_days"] = int(row["due_days"])
    if "ratings" in row:
        unit_rating, rep_rating = row["ratings"]
        fields["ratings"] = (Rating(unit_rating), Rating(rep_rating))
    return Step(**fields)


def _concern(row: dict[str, Any]) -> ConcernSeed:
    name, mobile = row.get("contact") or (None, None)
    return ConcernSeed(
        **(
            row
            | {
                "steps": tuple(_step(step) for step in row.get("steps", ())),
                "contact": (name, mobile) if name is not None else None,
                "anonymous": _flag(row.get("anonymous")),
                "public": _flag(row.get("public")),
                "source": ConcernSource(row.get("source", ConcernSource.QR)),
            }
        )
    )


CONCERNS: tuple[ConcernSeed, ...] = tuple(_concern(row) for row in _yaml("concerns.yaml"))

# Contents for the scale benchmark's generated concerns (devtools/scale.py).
SCALE_CONTENTS: tuple[tuple[str, str], ...] = tuple((c.category, c.content) for c in CONCERNS)


# --- Building the rows -------------------------------------------------------------------


def seed_demo() -> dict[str, int]:
    """Load whatever of the demo data is missing into the session (flush only) and count what exists."""
    # Hashing is slow on purpose, so hash once per run and only if a user is actually created.
    password_hash = functools.cache(lambda: generate_password_hash(DEMO_PASSWORD))
    regions = _seed_regions()
    _seed_categories()
    units = _seed_units(regions)
    stations = _seed_stations(regions)
    _seed_representatives(stations, password_hash)
    _seed_staff(regions, units, stations, password_hash)
    _seed_roster(stations)
    _seed_officials(units, stations, password_hash)
    _seed_concerns(stations, units)
    _seed_official_sessions(stations)
    _seed_duty_history(stations)
    _seed_bookings(stations)
    _seed_past_visits(stations)
    _seed_board(stations, regions)
    _seed_reception_bookings(stations)
    _seed_meetings(stations)
    _seed_suggestions(stations, units)
    _seed_votes(regions)
    _seed_drafts(stations, regions)
    _seed_api_key(regions)
    db.session.flush()
    return _counts()


# --- A read-only API key for trying /api/v1/ (development only) ---------------------------

DEMO_API_KEY_NAME = "演示系统（只读）"
DEMO_API_KEY_PREFIX = "DEMQKEY2"
DEMO_API_KEY_REGION = "411600"  # 周口市


def demo_api_key() -> str:
    """The demo key in full. Only its hash is stored, as for every key; its secret is derived
    from SECRET_KEY so that `flask demo-info` can print it again on a developer's machine."""
    secret = hmac.new(current_app.config["SECRET_KEY"].encode(), b"demo-api-key", hashlib.sha256).hexdigest()[:40]
    return f"mk_{DEMO_API_KEY_PREFIX}_{secret}"


def _seed_api_key(regions: dict[str, Region]) -> None:
    from services import api_keys

    if _first(ApiKey, prefix=DEMO_API_KEY_PREFIX) is not None:
        return
    secret = demo_api_key().rsplit("_", 1)[1]
    db.session.add(
        ApiKey(
            name=DEMO_API_KEY_NAME,
            prefix=DEMO_API_KEY_PREFIX,
            secret_hash=api_keys.hash_secret(secret),
            region=regions[DEMO_API_KEY_REGION],
            can_act=False,
            rate_per_minute=api_keys.DEFAULT_RATE,
            note="flask seed-demo",
        )
    )


def _seed_bookings(stations: dict[str, Station]) -> None:
    """A few booked visits on the upcoming roster (demo_data/bookings.yaml), through the
    booking service, for stations that have none yet (a second run adds nothing)."""
    from services import bookings

    tomorrow = local_today() + timedelta(days=1)
    booked = set(db.session.scalars(sa.select(Booking.station_id).distinct()))
    for row in _yaml("bookings.yaml")["bookings"]:
        station = stations.get(row["station"])
        if station is None or station.id in booked:
            continue
        slots = db.session.scalars(
            sa.select(DutySlot)
            .where(DutySlot.station_id == station.id, DutySlot.day >= tomorrow)
            .order_by(DutySlot.day, DutySlot.starts_at, DutySlot.id)
            .offset(int(row["slot"]))
            .limit(1)
        ).all()
        if not slots:
            continue
        data = bookings.BookingInput(name=row["name"], mobile=row["mobile"], subject=row["subject"], consent=True)
        try:
            bookings.book(bookings.SlotBookable(slots[0]), data, submission_key=f"demo-{row['mobile']}")
        except bookings.BookingRefused:
            continue  # a full slot, or a number already booked there: the demo shows what fits


def _seed_reception_bookings(stations: dict[str, Station]) -> None:
    """A few booked visits on the reception days' next dates (demo_data/bookings.yaml's
    reception_bookings), through the booking service, for stations that have no such booking
    yet (a second run adds nothing)."""
    from services import board as board_service
    from services import bookings

    today = local_today()
    booked = set(
        db.session.scalars(sa.select(Booking.station_id).where(Booking.reception_day_id.is_not(None)).distinct())
    )
    for row in _yaml("bookings.yaml").get("reception_bookings") or []:
        station = stations.get(row["station"])
        if station is None or station.id in booked:
            continue
        kind = ReceptionKind(row["kind"])
        dates = [
            o
            for o in board_service.station_occurrences(
                station, today + timedelta(days=1), today + timedelta(days=bookings.booking_days() - 1)
            )
            if o.kind == kind
        ]
        if len(dates) <= int(row["occurrence"]):
            continue
        chosen = dates[int(row["occurrence"])]
        data = bookings.BookingInput(name=row["name"], mobile=row["mobile"], subject=row["subject"], consent=True)
        try:
            occurrence = bookings.ReceptionBookable(chosen.reception_day, chosen.day)
            bookings.book(occurrence, data, submission_key=f"demo-{row['mobile']}")
        except bookings.BookingRefused:
            continue  # full, or a number already booked there: the demo shows what fits


def _seed_meetings(stations: dict[str, Station]) -> None:
    """述职 meetings (demo_data/meetings.yaml) through services.meetings, each at the time it
    happens: a held one scheduled a week before it and rated within its window, one to come.
    A representative with a meeting for that year already is left alone. The demo sends no
    message: the representatives' notices of the scheduling are taken out again."""
    from services import meetings, notifications

    last_message = db.session.scalar(sa.select(sa.func.max(Outbox.id))) or 0

    now = utcnow()
    secret = current_app.config["SECRET_KEY"]
    staff = list(db.session.scalars(sa.select(User).where(User.role.in_([Role.STATION_MANAGER, Role.CONGRESS_STAFF]))))
    today = local_today(now)
    for index, row in enumerate(_yaml("meetings.yaml")["meetings"]):
        station = stations.get(row["station"])
        user = _first(User, username=row["rep"])
        if station is None or user is None or user.representative is None:
            continue
        rep = user.representative
        when = meetings.When(today + timedelta(days=int(row["days"])), _clock(row["from"]), _clock(row["until"]))
        year = when.day.year
        if _first(ReportMeeting, representative_id=rep.id, year=year) is not None:
            continue
        start = when.utc()[0]
        meeting = meetings.schedule(
            _reviewer(station, staff), station, rep, year, when, now=min(now, start) - timedelta(days=7)
        )
        votes = [rating for rating, n in (row.get("ratings") or {}).items() for _i in range(int(n))]
        comments = {c["rating"]: c["text"] for c in row.get("comments") or []}
        for n, rating in enumerate(votes):
            comment = comments.pop(rating, "")
            at = start + timedelta(minutes=n % 90)
            meetings.rate(meeting, f"demo-{index}-{n}", rating, comment, secret=secret, now=at)
    db.session.execute(sa.delete(Outbox).where(Outbox.id > last_message, Outbox.kind == notifications.MEETING_NEWS))


def _seed_past_visits(stations: dict[str, Station]) -> None:
    """Visits already past (demo_data/bookings.yaml, visits) on the past roster, marked as
    they went, for stations that have no past booking yet. Written as rows: the booking
    service rightly refuses a slot that has begun."""
    today = local_today()
    now = utcnow()
    done = set(db.session.scalars(sa.select(Booking.station_id).where(Booking.day < today).distinct()))
    seats: dict[int, int] = {}
    for row in _yaml("bookings.yaml").get("visits", ()):
        station = stations.get(row["station"])
        if station is None or station.id in done:
            continue
        slot = db.session.scalar(
            sa.select(DutySlot)
            .where(DutySlot.station_id == station.id, DutySlot.day < today)
            .order_by(DutySlot.day.desc(), DutySlot.starts_at.desc(), DutySlot.id.desc())
            .offset(int(row["before"]))
            .limit(1)
        )
        if slot is None:
            continue
        status = BookingStatus(row["status"])
        seats[slot.id] = seat = seats.get(slot.id, 0) + 1
        made = utc_at(slot.day - timedelta(days=2), time(20, 0))
        after = utc_at(slot.day, slot.ends_at)
        db.session.add(
            Booking(
                code=new_booking_code(),
                station=station,
                duty_slot_id=slot.id,
                representative_id=slot.representative_id,
                day=slot.day,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                seat=seat,
                status=status,
                name=row["name"],
                mobile=row["mobile"],
                mobile_digest=mobile_digest(row["mobile"]),
                subject=row["subject"],
                consent_at=made,
                created_at=made,
                cancelled_at=made + timedelta(hours=12) if status == BookingStatus.CANCELLED else None,
                marked_at=min(after, now) if status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW) else None,
            )
        )
    db.session.flush()


def _seed_roster(stations: dict[str, Station]) -> None:
    """Roster slots from today for two weeks, for stations that have none from today on
    (so a second run, or a roster a manager already keeps, is left alone)."""
    today = local_today()
    # Some representatives serve at two stations: never give one two places at once.
    taken: set[tuple[int, date, time]] = {
        (rep_id, day, starts)
        for rep_id, day, starts in db.session.execute(
            sa.select(DutySlot.representative_id, DutySlot.day, DutySlot.starts_at).where(DutySlot.day >= today)
        )
    }
    for station in stations.values():
        reps = sorted(station.representatives, key=lambda r: r.id)
        if not reps or station.kind == StationKind.POST:
            continue
        if _first_slot_from(station, today) is not None:
            continue
        turn = 0
        for offset in range(ROSTER_DAYS):
            day = today + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for starts, ends in ROSTER_HOURS:
                free = [r for r in reps if (r.id, day, starts) not in taken]
                if not free:
                    continue
                rep = free[turn % len(free)]
                turn += 1
                taken.add((rep.id, day, starts))
                db.session.add(DutySlot(station=station, representative=rep, day=day, starts_at=starts, ends_at=ends))
    db.session.flush()


def _first_slot_from(station: Station, day) -> DutySlot | None:
    return db.session.scalar(sa.select(DutySlot).where(DutySlot.station_id == station.id, DutySlot.day >= day).limit(1))


M = TypeVar("M")


def _first(model: type[M], **natural_key) -> M | None:
    return db.session.scalar(sa.select(model).filter_by(**natural_key).limit(1))


def _add(obj: M) -> M:
    db.session.add(obj)
    return obj


def _seed_regions() -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for code, name, level, parent_code in REGIONS:
        regions[code] = _first(Region, code=code) or _add(
            Region(code=code, name=name, level=level, parent=regions[parent_code] if parent_code else None)
        )
    db.session.flush()
    return regions


def _seed_categories() -> None:
    for position, (code, name_zh, name_en) in enumerate(CATEGORIES, start=1):
        if _first(Category, code=code) is None:
            db.session.add(Category(code=code, name_zh=name_zh, name_en=name_en, sort_order=position * 10))


def _seed_units(regions: dict[str, Region]) -> dict[tuple[str, str], Unit]:
    units: dict[tuple[str, str], Unit] = {}
    for region_code, name, kind in UNITS:
        region = regions[region_code]
        units[region_code, name] = _first(Unit, region_id=region.id, name=name) or _add(
            Unit(name=name, kind=kind, region=region)
        )
    db.session.flush()
    return units


def _seed_stations(regions: dict[str, Region]) -> dict[str, Station]:
    stations: dict[str, Station] = {}
    for seed in STATIONS:
        station = _first(Station, name=seed.name)
        if station is None:
            text, opens_at, closes_at = seed.hours
            station = _add(
                Station(
                    code=new_station_code(),
                    name=seed.name,
                    kind=seed.kind,
                    category=seed.category,
                    parent=stations[seed.parent] if seed.parent else None,
                    region=regions[seed.region_code],
                    address=seed.address,
                    latitude=seed.latitude,
                    longitude=seed.longitude,
                    opening_hours=text,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    phone=seed.phone,
                    intro=seed.intro,
                    presence_policy=seed.presence_policy,
                    is_legislative_point=seed.legislative_point,
                )
            )
            # Flushed one by one so that the next code is checked against this one.
            db.session.flush()
        elif seed.legislative_point and not station.is_legislative_point:
            station.is_legislative_point = True  # a demo loaded before contact points were marked
        stations[seed.key] = station
    return stations


def _mobile_if_free(mobile: str) -> str | None:
    taken = db.session.scalar(sa.select(User.id).where(User.mobile == mobile))
    return None if taken is not None else mobile


def _seed_representatives(stations: dict[str, Station], password_hash: Callable[[], str]) -> None:
    for index, seed in enumerate(REPRESENTATIVES):
        user = _first(User, username=seed.username) or _add(
            User(
                username=seed.username,
                mobile=_mobile_if_free(_demo_mobile(index)),
                display_name=seed.name,
                password_hash=password_hash(),
                role=Role.REPRESENTATIVE,
            )
        )
        rep = user.representative or _add(
            Representative(
                user=user,
                code=new_rep_code(),
                level=seed.level,
                delegation=seed.delegation,
                occupation=seed.occupation,
                bio=seed.bio,
            )
        )
        for key in seed.stations:
            if stations[key] not in rep.stations:
                rep.stations.append(stations[key])
    db.session.flush()


def _seed_staff(
    regions: dict[str, Region],
    units: dict[tuple[str, str], Unit],
    stations: dict[str, Station],
    password_hash: Callable[[], str],
) -> None:
    for seed in STAFF:
        user = _first(User, username=seed.username) or _add(
            User(
                username=seed.username,
                display_name=seed.name,
                password_hash=password_hash(),
                role=seed.role,
                region=regions[seed.region_code] if seed.region_code else None,
                unit=units[seed.unit] if seed.unit else None,
                email=seed.email,
            )
        )
        for key in seed.manages:
            if stations[key] not in user.managed_stations:
                user.managed_stations.append(stations[key])
    db.session.flush()


def _seed_officials(
    units: dict[tuple[str, str], Unit], stations: dict[str, Station], password_hash: Callable[[], str]
) -> None:
    """The officials (领导进站) and their weekly office hours from the next such weekday,
    for officials who have none from today on (a second run leaves them alone)."""
    today = local_today()
    for seed in OFFICIALS:
        user = _first(User, username=seed.username) or _add(
            User(
                username=seed.username,
                display_name=seed.name,
                password_hash=password_hash(),
                role=Role.OFFICIAL,
                email=seed.email,
            )
        )
        db.session.flush()
        official = user.official or _add(Official(user=user, unit=units[seed.unit], post=seed.post))
        db.session.flush()
        if _first_hours_from(official, today) is not None:
            continue
        series = f"demo-{official.id}"
        for hours in seed.hours:
            first = today + timedelta(days=(hours.weekday - today.weekday()) % 7)
            for week in range(hours.weeks):
                db.session.add(
                    OfficeHour(
                        station=stations[hours.station],
                        official=official,
                        day=first + timedelta(weeks=week),
                        starts_at=hours.starts_at,
                        ends_at=hours.ends_at,
                        series=f"{series}-{hours.station}",
                    )
                )
    db.session.flush()


def _seed_official_sessions(stations: dict[str, Station]) -> None:
    """The officials' past visits (accounts.yaml, sessions), each concern they took there
    taken up and sent to their unit in one step, as services.officials does it; a visit
    already recorded (its nonce) is left alone."""
    from services.officials import take_on_site

    now = utcnow()
    taken: list[int] = []
    for seed in OFFICIALS:
        user = _first(User, username=seed.username)
        official = user.official if user is not None else None
        if official is None:
            continue
        for visit in seed.sessions:
            nonce = f"demo-{seed.username}-{visit.checked_in}"
            if _first(OfficialSession, nonce=nonce) is not None:
                continue
            checked_in = _moment(visit.checked_in, now)
            session = _add(
                OfficialSession(
                    station=stations[visit.station],
                    official=official,
                    checked_in_at=checked_in,
                    method=DutyMethod.QR,
                    nonce=nonce,
                    residents_received=len(visit.takes) + 2,
                    notes="",
                )
            )
            db.session.flush()
            for i, key in enumerate(visit.takes):
                concern = find_by_submission_key(f"demo-{key}")
                if concern is not None and concern.status == ConcernStatus.SUBMITTED:
                    take_on_site(official, session, concern, now=checked_in + timedelta(minutes=20 + 15 * i))
                    taken.append(concern.id)
            session.checked_out_at = _moment(visit.checked_out, now)
            session.status = DutyStatus.CLOSED
    db.session.flush()
    if taken:
        db.session.execute(sa.delete(Outbox).where(Outbox.concern_id.in_(taken)))


def _first_hours_from(official: Official, day: date) -> OfficeHour | None:
    return db.session.scalar(
        sa.select(OfficeHour).where(OfficeHour.official_id == official.id, OfficeHour.day >= day).limit(1)
    )


def _counts() -> dict[str, int]:
    def count(model) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0

    return {
        "regions": count(Region),
        "stations": count(Station),
        "representatives": count(Representative),
        "categories": count(Category),
        "units": count(Unit),
        "users": count(User),
        "concerns": count(Concern),
        "duty_slots": count(DutySlot),
        "duties": count(Duty),
        "officials": count(Official),
        "office_hours": count(OfficeHour),
        "bookings": count(Booking),
        "suggestions": count(Suggestion),
        "draft_laws": count(DraftLaw),
        "draft_comments": count(DraftComment),
    }


# --- Concerns: the closed loop at work ---------------------------------------------------
#
# Every concern's story is driven through services.concern_flow with the time it happened,
# so every one has an unbroken trail (demo_data/concerns.yaml says more).


def _moment(when: str, now: datetime) -> datetime:
    """A step's time ("<days ago> <HH:MM>" in China) as naive UTC, never later than a few minutes ago."""
    days, _, hhmm = when.partition(" ")
    hour, minute = map(int, hhmm.split(":"))
    day = to_local(now).date() - timedelta(days=int(days))
    moment = utc_at(day, time(hour, minute))
    return min(moment, now - timedelta(minutes=5))


def _unit_near(station: StationSeed, units: dict[tuple[str, str], Unit], suffix: str) -> Unit:
    """The unit named ...`suffix` of the station's county, else of its city."""
    code: str | None = station.region_code
    while code is not None:
        for (region_code, name), unit in units.items():
            if region_code == code and name.endswith(suffix) and "分局" not in name:
                return unit
        code = _REGION_PARENTS.get(code)
    raise LookupError(f"no {suffix} near {station.name}")


def _seed_concerns(stations: dict[str, Station], units: dict[tuple[str, str], Unit]) -> None:
    """Play every concern's story through the state machine, at the times it happened."""
    now = utcnow()
    seeds = {s.key: s for s in STATIONS}
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(_usernames())))}
    categories = {c.code: c for c in db.session.scalars(sa.select(Category))}
    storage = open_storage(current_app.config)
    made: dict[str, Concern] = {}
    new_ids: list[int] = []
    for seed in CONCERNS:
        key = f"demo-{seed.key}"
        concern = find_by_submission_key(key)
        if concern is not None:
            made[seed.key] = concern
            continue
        name, mobile = seed.contact or ("", "")
        data = ConcernInput(
            category_id=categories[seed.category].id,
            content=seed.content,
            contact_name=name,
            contact_mobile=mobile,
            anonymous=seed.anonymous,
            public=seed.public,
            consent=seed.contact is not None,
        )
        concern = submit_concern(
            stations[seed.station],
            data,
            [],
            storage=storage,
            submission_key=key,
            source=seed.source,
            to=users[seed.to].representative if seed.to else None,
            now=_moment(seed.filed, now),
        )
        for step in seed.steps:
            _play(concern, step, _moment(step.when, now), seeds[seed.station], users, units, made)
        made[seed.key] = concern
        new_ids.append(concern.id)
    db.session.flush()
    if new_ids:
        # The story happened in the past: nobody is to be told about it now.
        db.session.execute(sa.delete(Outbox).where(Outbox.concern_id.in_(new_ids)))


def _usernames() -> set[str]:
    return {s.username for s in STAFF} | {r.username for r in REPRESENTATIVES} | {o.username for o in OFFICIALS}


def _play(
    concern: Concern,
    step: Step,
    at: datetime,
    station: StationSeed,
    users: dict[str, User],
    units: dict[tuple[str, str], Unit],
    made: dict[str, Concern],
) -> None:
    if step.action == ConcernAction.RATE:
        unit_rating, rep_rating = step.ratings or (Rating.SATISFIED, Rating.SATISFIED)
        concern_flow.rate(concern, unit_rating, rep_rating, step.note, now=at)
        return
    actor: User | None = None
    role: str
    if step.by == "unit":
        # The unit's demo account when it has one (xc_housing, xc_court); else nobody by name.
        role = Role.UNIT_HANDLER
        actor = db.session.scalar(
            sa.select(User).where(User.role == Role.UNIT_HANDLER, User.unit_id == concern.unit_id).limit(1)
        )
    elif step.by is not None:
        actor = users[step.by]
        role = actor.role
    else:
        role = SYSTEM if step.action == ConcernAction.AUTO_CLOSE else RESIDENT
    if step.action in (ConcernAction.NOTE, ConcernAction.COMMENT):
        assert actor is not None, "a note has its author"
        public = step.action == ConcernAction.COMMENT
        concern_flow.add_note(concern, step.note, role=role, actor=actor, public=public, now=at)
        return
    extra: dict = {}
    if step.action == ConcernAction.ACCEPT:
        extra["representative"] = users[step.rep or ""].representative
    elif step.action == ConcernAction.DISPATCH:
        extra["unit"] = _unit_near(station, units, step.unit or "")
        if step.due_days is not None:
            extra["due_at"] = at + timedelta(days=step.due_days)
    elif step.action == ConcernAction.MERGE:
        extra["merge_into"] = made[step.into or ""]
    concern_flow.transition(concern, step.action, role=role, actor=actor, note=step.note, now=at, **extra)


# --- The past of on-site duty -------------------------------------------------------------
#
# A roster kept on two days a week for the last three months, and what became of each slot,
# played through services.duty at the time it happened (demo_data/duties.yaml says more).


def _months_before(day: date, months: int) -> date:
    """The same day of the month `months` months earlier (the month's last day if shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _reviewer(station: Station, staff: list[User]) -> User:
    """Who confirms and voids the station's duties: its manager, else the congress staff
    above it, else the administrator."""
    order = {Role.STATION_MANAGER: 0, Role.CONGRESS_STAFF: 1, Role.ADMIN: 2}
    for user in sorted(staff, key=lambda u: (order.get(u.role, 9), u.id)):
        if user.role in order and oversees_station(user, station):
            return user
    raise LookupError(f"nobody reviews the duties of {station.name}")


def _proof(station: Station, at: datetime, secret: str, *, without: bool) -> duty_service.Proof:
    """What the phone brought: the station's own position or tablet code; nothing when `without`."""
    if without:
        return duty_service.Proof()
    if station.presence_policy == PresencePolicy.GEO:
        return duty_service.Proof(latitude=station.latitude, longitude=station.longitude, accuracy_m=20.0)
    if station.presence_policy == PresencePolicy.KIOSK:
        # The window's first unused code: two representatives checking in within one
        # window each use their own, as at a real tablet.
        token, _code_id = duty_service.current_kiosk_code(secret, station, duty_service.kiosk_window(at))
        return duty_service.Proof(kiosk_token=token)
    return duty_service.Proof()


def _seed_duty_history(stations: dict[str, Station]) -> None:
    """Past roster slots and duties, for stations that have no slot in the period yet (so a
    second run, or a roster a manager already keeps, is left alone)."""
    plan = DUTY_PLAN
    today = local_today()
    now = utcnow()
    first = _months_before(today, plan.months)
    secret = current_app.config["SECRET_KEY"]
    staff = list(db.session.scalars(sa.select(User).where(User.username.in_([s.username for s in STAFF]))))
    taken: set[tuple[int, date, time]] = {
        (rep_id, day, starts)
        for rep_id, day, starts in db.session.execute(
            sa.select(DutySlot.representative_id, DutySlot.day, DutySlot.starts_at).where(
                DutySlot.day >= first, DutySlot.day < today
            )
        )
    }
    # Loaded into a database in use: whoever is on duty now gets no past duty (one open each).
    on_duty = set(db.session.scalars(sa.select(Duty.representative_id).where(Duty.status == DutyStatus.OPEN)))
    for seed in STATIONS:
        station = stations[seed.key]
        reps = sorted(station.representatives, key=lambda r: r.id)
        if not reps or station.kind == StationKind.POST:
            continue
        if db.session.scalar(
            sa.select(DutySlot.id).where(DutySlot.station_id == station.id, DutySlot.day >= first, DutySlot.day < today)
        ):
            continue
        roster: list[DutySlot] = []
        rng = random.Random(f"{plan.seed}:{seed.key}")
        weekdays, slots = plan.schedule(seed.key)
        reviewer = _reviewer(station, staff)
        offset = rng.randrange(len(plan.outcomes))
        pending: list[Duty] = []
        turn = 0
        day = first
        while day < today:
            if day.weekday() in weekdays:
                starts, ends = slots[turn % len(slots)]
                free = [r for r in reps if (r.id, day, starts) not in taken]
                if free:
                    rep = free[turn % len(free)]
                    outcome = plan.outcomes[(offset + turn) % len(plan.outcomes)]
                    taken.add((rep.id, day, starts))
                    roster.append(
                        DutySlot(station=station, representative=rep, day=day, starts_at=starts, ends_at=ends)
                    )
                    if rep.id in on_duty:
                        outcome = "missed"
                    duty = _play_duty(station, rep, day, (starts, ends), outcome, reviewer, rng, secret, now)
                    if duty is not None and duty.pending_reason:
                        pending.append(duty)
                turn += 1
            day += timedelta(days=1)
        db.session.add_all(roster)  # in one go: added one by one, each would be flushed alone
        # The manager has confirmed all but the latest pending duty, which waits for review.
        for duty in pending[:-1]:
            assert duty.checked_out_at is not None
            at = min(duty.checked_out_at + timedelta(hours=20), now)
            duty_service.confirm(reviewer, duty, plan.confirm_note, now=at)
    db.session.flush()


def _play_duty(
    station: Station,
    rep: Representative,
    day: date,
    slot: Slot,
    outcome: str,
    reviewer: User,
    rng: random.Random,
    secret: str,
    now: datetime,
) -> Duty | None:
    """One slot's duty through services.duty, at the times it happened."""
    plan = DUTY_PLAN
    # Drawn whatever the outcome, so one slot's outcome never shifts the next one's numbers.
    early, late = rng.randint(-10, 15), rng.randint(-25, 20)
    residents = rng.randint(*plan.residents)
    note = rng.choice(plan.notes) if rng.random() < 0.4 else ""
    reason = rng.choice(plan.void_reasons)
    if outcome == "missed":
        return None
    starts, ends = slot
    checked_in = utc_at(day, starts) + timedelta(minutes=early)
    checked_out = utc_at(day, ends) + timedelta(minutes=late)
    # Only a station that asks for a proof can have a check-in without it.
    without = outcome == "pending" and station.presence_policy != PresencePolicy.NONE
    duty = duty_service.check_in(
        rep,
        station,
        nonce=f"demo-duty-{station.id}-{day:%Y%m%d}-{starts:%H%M}",
        proof=_proof(station, checked_in, secret, without=without),
        secret=secret,
        allow_pending=without,
        now=checked_in,
    )
    if outcome == "auto_closed":
        # Never checked out: the nightly `flask duty close-stale` closed it.
        duty_service.close_stale(now=duty_service.closing_time(duty) + timedelta(minutes=5))
        assert duty.status == DutyStatus.AUTO_CLOSED
        return duty
    duty_service.check_out(rep, duty, residents_received=residents, notes=note, now=checked_out)
    if outcome == "voided":
        duty_service.void(reviewer, duty, reason, now=min(checked_out + timedelta(hours=20), now))
    return duty


# --- The stations' boards (公开栏) -------------------------------------------------------------
#
# Built through services.board by the admin account (demo_data/board.yaml says what each field
# means); each activity's photos are small JPEGs drawn here and filed like uploads.

_BOARD = _yaml("board.yaml")


def _demo_photo(colour: list[int], index: int) -> bytes:
    """A 640 × 480 JPEG: a two-tone scene in `colour`, different for every photo."""
    from PIL import Image, ImageDraw

    red, green, blue = (int(c) for c in colour)
    image = Image.new("RGB", (640, 480), (red, green, blue))
    draw = ImageDraw.Draw(image)
    light = (min(255, red + 60), min(255, green + 60), min(255, blue + 60))
    draw.rectangle((0, 300, 640, 480), fill=light)
    draw.ellipse((60 + 40 * index, 80, 220 + 40 * index, 240), fill=(250, 230, 180))
    for column in range(6):
        draw.rectangle((300 + 50 * column, 180 - 15 * column, 340 + 50 * column, 300), fill=(245, 245, 245))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _demo_photos(colours: list | None) -> list[board_service.BoardPhoto]:
    """One drawn photo a colour, read like an upload (re-encoded, with its thumbnail)."""
    cfg = current_app.config
    return [
        board_service.read_photo(
            _demo_photo(colour, i),
            max_bytes=cfg["MAX_PHOTO_BYTES"],
            max_pixels=cfg["MAX_PHOTO_PIXELS"],
            max_side=cfg["STORED_PHOTO_MAX_SIDE"],
            max_decode_bytes=None,
        )
        for i, colour in enumerate(colours or [])
    ]


def _receivers(station: Station, how_many: int) -> list[Representative]:
    today = local_today()
    order = list(RepLevel)
    reps = sorted(
        (r for r in station.representatives if r.serving_on(today)), key=lambda r: (order.index(r.level), r.name)
    )
    return reps[:how_many]


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _seed_board(stations: dict[str, Station], regions: dict[str, Region]) -> None:
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    if admin is None:
        return
    storage = open_storage(current_app.config)
    today = local_today()
    by_station: dict[str, str] = _BOARD.get("rules_by_station") or {}
    for key, station in stations.items():
        if not board_service.rules_of(station):
            board_service.set_rules(admin, station, by_station.get(key) or _BOARD["rules"])
    for row in _BOARD["activities"]:
        station = stations[row["station"]]
        if db.session.scalar(
            sa.select(Activity.id).where(Activity.station_id == station.id, Activity.title == row["title"])
        ):
            continue
        photos = _demo_photos(row.get("photos"))
        day = today - timedelta(days=int(row["days_ago"]))
        data = board_service.ActivityInput(title=row["title"], day=day, text=row.get("text", ""))
        board_service.create_activity(
            admin, station, data, photos, storage=storage, publish=_flag(row.get("published", "true"))
        )
    plans = _BOARD["receptions"]
    wanted = [(key, plans["every_station"]) for key, st in stations.items() if st.kind != StationKind.POST]
    wanted += [(row["station"], row) for row in plans.get("more") or []]
    first_of_month = today.replace(day=1)
    start = (first_of_month - timedelta(days=1)).replace(day=1)  # the series began last month
    for key, plan in wanted:
        station = stations[key]
        kind, repeat = ReceptionKind(plan["kind"]), Repeat(plan["repeat"])
        exists = db.session.scalar(
            sa.select(ReceptionDay.id).where(
                ReceptionDay.station_id == station.id, ReceptionDay.kind == kind, ReceptionDay.repeat == repeat
            )
        )
        receivers = _receivers(station, int(plan["representatives"]))
        if exists or not receivers:
            continue
        once = repeat == Repeat.ONCE
        board_service.add_reception_day(
            admin,
            station,
            board_service.ReceptionInput(
                kind=kind,
                repeat=repeat,
                starts_on=today + timedelta(days=int(plan["in_days"])) if once else start,
                starts_at=_clock(plan["from"]),
                ends_at=_clock(plan["until"]),
                representatives=receivers,
                weekday=int(plan["weekday"]) if repeat == Repeat.WEEKLY else None,
                day_of_month=int(plan["day_of_month"]) if repeat == Repeat.MONTHLY else None,
                note=plan.get("note", ""),
            ),
        )
    for row in _BOARD["notices"]:
        region = regions.get(str(row["region_code"]))
        if region is None or db.session.scalar(
            sa.select(Notice.id).where(Notice.region_id == region.id, Notice.title == row["title"])
        ):
            continue
        board_service.publish_notice(admin, region, row["title"], row.get("text", ""))


# --- Representatives' suggestions (代表建议): every stage of their loop -----------------------
#
# Played through services.suggestion_flow at the times they happened (demo_data/suggestions.yaml
# says more); the (author, title) pair is the natural key.

SUGGESTIONS: tuple[dict[str, Any], ...] = tuple(_yaml("suggestions.yaml"))


def _seed_suggestions(stations: dict[str, Station], units: dict[tuple[str, str], Unit]) -> None:
    now = utcnow()
    seeds = {s.key: s for s in STATIONS}
    names = {row["author"] for row in SUGGESTIONS} | {
        step["by"] for row in SUGGESTIONS for step in row["steps"] if "by" in step
    }
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(names)))}
    concerns = {
        c.submission_key: c for c in db.session.scalars(sa.select(Concern).where(Concern.submission_key.like("demo-%")))
    }
    last_message = db.session.scalar(sa.select(sa.func.max(Outbox.id))) or 0
    for row in SUGGESTIONS:
        author = users[row["author"]].representative
        assert author is not None, row["author"]
        if db.session.scalar(
            sa.select(Suggestion.id).where(Suggestion.author_id == author.id, Suggestion.title == row["title"])
        ):
            continue
        data = suggestion_flow.SuggestionInput(
            title=row["title"],
            content=row["content"],
            station_id=stations[row["station"]].id,
            signer_ids=[users[name].representative.id for name in row.get("signers", [])],  # type: ignore[union-attr]
            concern_ids=[concerns[f"demo-{key}"].id for key in row.get("concerns", [])],
        )
        suggestion = suggestion_flow.file(author, data, actor=author.user, now=_moment(row["filed"], now))
        for step in row["steps"]:
            _play_suggestion(suggestion, step, _moment(step["when"], now), seeds[row["station"]], users, units)
    db.session.flush()
    # The story happened in the past: nobody is to be told about it now.
    db.session.execute(sa.delete(Outbox).where(Outbox.id > last_message, Outbox.kind.like("suggestion.%")))


def _play_suggestion(
    suggestion: Suggestion,
    step: dict[str, Any],
    at: datetime,
    station: StationSeed,
    users: dict[str, User],
    units: dict[tuple[str, str], Unit],
) -> None:
    actor = users[step["by"]]
    action, note = step["action"], step.get("note", "")
    if action in ("rate_reply", "rate_result"):  # the reply's or the result's, as the status says
        rating = Rating(step["rating"])
        send_back = bool(step.get("send_back"))
        suggestion_flow.rate(suggestion, rating, actor=actor, comment=note, send_back=send_back, now=at)
        return
    extra: dict[str, Any] = {}
    if action == "assign":
        extra = {
            "lead_unit": _unit_near(station, units, step["unit"]),
            "co_units": [_unit_near(station, units, name) for name in step.get("co_units", [])],
            "days": int(step["days"]),
        }
    elif action == "reply":
        extra["reply_class"] = ReplyClass(step["class"])
        if "planned_days" in step:
            extra["planned_on"] = to_local(at).date() + timedelta(days=int(step["planned_days"]))
    suggestion_flow.transition(suggestion, action, role=actor.role, actor=actor, note=note, now=at, **extra)


# --- 民生实事项目代表票决 ---------------------------------------------------------------------------
#
# Built through services.votes (demo_data/votes.yaml says what each field means). A vote's
# steps happen today, inside periods set around today, and are then moved back to its year:
# the service refuses a ballot outside its period, as it should.

_VOTES = _yaml("votes.yaml")


def _shift_vote(vote: ProjectVote, days: int) -> None:
    """Move a vote's periods and stamps up to its results `days` back (the demo's own
    rewrite of history)."""
    back = timedelta(days=days)
    for name in ("comments_open_on", "comments_close_on", "voting_opens_on", "voting_closes_on"):
        setattr(vote, name, getattr(vote, name) - back)
    for name in ("published_at", "closed_at", "results_published_at"):
        setattr(vote, name, getattr(vote, name) - back)


def _date_events(vote: ProjectVote) -> None:
    """Each stage step's event at the stamp it left (moved back with them): the timeline
    tells the same history as the page."""
    stamps = {
        "create": vote.published_at,
        "publish": vote.published_at,
        "close": vote.closed_at,
        "results": vote.results_published_at,
        "evaluation_open": vote.evaluation_opened_at,
        "evaluation_close": vote.evaluation_closed_at,
    }
    vote.created_at = vote.published_at or vote.created_at
    for event in vote.events:
        event.created_at = stamps.get(event.action) or event.created_at


def _seed_votes(regions: dict[str, Region]) -> None:
    from services import votes as vote_service

    cfg = current_app.config
    storage = open_storage(cfg)
    today = local_today()
    for plan in _VOTES["votes"]:
        region = regions.get(str(plan["region_code"]))
        staff = db.session.scalar(sa.select(User).where(User.username == plan["staff"]))
        year = today.year - int(plan["years_ago"])
        if region is None or staff is None or _first(ProjectVote, region_id=region.id, year=year) is not None:
            continue
        evaluated = plan["stage"] == "evaluated"
        vote = vote_service.create_vote(
            staff,
            region,
            vote_service.VoteInput(
                title=plan["title"].format(year=year),
                year=year,
                comments_open_on=today - timedelta(days=7),
                comments_close_on=today,
                voting_opens_on=today,
                voting_closes_on=today + timedelta(days=6),
                threshold_percent=int(plan["threshold_percent"]),
            ),
        )
        for row in plan["projects"]:
            unit = _first(Unit, region_id=region.id, name=row["unit"])
            where = regions.get(str(row.get("region_code") or ""))
            data = vote_service.ProjectInput(
                row["title"], row.get("text", ""), int(float(row["budget_wan"]) * 10000), unit, where
            )
            vote_service.add_project(staff, vote, data)
        told = vote_service.publish(staff, vote)
        stations = {s.region_id: s for s in db.session.scalars(sa.select(Station).where(Station.is_active))}
        station = next((stations[r.id] for r in _regions_below(region) if r.id in stations), None)
        for row in plan.get("comments") or []:
            if station is None:
                break
            contact = bool(row.get("name") or row.get("mobile"))
            vote_service.comment(
                station,
                vote.projects[int(row["project"])],
                vote_service.CommentInput(row["text"], row.get("name", ""), row.get("mobile", ""), consent=contact),
            )
        vote.comments_close_on = today - timedelta(days=1)  # the comments are in; voting runs from today
        if evaluated:  # voted in February of its year, reported through it, rated in December
            told += _seed_vote_history(vote, plan, staff, storage)
            voted_on = date(year, 2, 20)
            _shift_vote(vote, (today - voted_on).days)
            rated = utc_at(date(year, 12, 20), time(10))
            vote.evaluation_opened_at, vote.evaluation_closed_at = rated - timedelta(days=10), rated
            _date_events(vote)
            for project in vote.projects:
                for k, report in enumerate(reversed(project.reports), start=1):
                    report.created_at = utc_at(voted_on + timedelta(days=90 * k), time(10))
        # The demo tells nobody: the representatives were "told" when the demo was made.
        db.session.flush()
        db.session.execute(sa.delete(Outbox).where(Outbox.id.in_([row.id for row in told])))


def _regions_below(region: Region) -> list[Region]:
    from services.permissions import region_subtree

    return list(db.session.scalars(sa.select(Region).where(Region.id.in_(region_subtree(region.id)))))


def _seed_vote_history(vote: ProjectVote, plan: dict, staff: User, storage) -> list[Outbox]:
    """Last year's vote: the ballots, the close, the results, the progress, the evaluation."""
    from models.enums import BallotRound
    from services import votes as vote_service

    voters = vote_service.eligible(vote)
    rows = plan["projects"]
    for i, rep in enumerate(voters):
        choices = {
            p.id: row["ballots"][i] for p, row in zip(vote.projects, rows, strict=True) if i < len(row["ballots"])
        }
        if len(choices) == len(vote.projects):
            vote_service.cast(rep, vote, BallotRound.VOTE, choices)
    vote_service.close_voting(staff, vote)
    vote_service.publish_results(staff, vote)
    for project, row in zip(vote.projects, rows, strict=True):
        if not project.chosen:
            continue
        handler = db.session.scalar(
            sa.select(User).where(User.unit_id == project.unit_id, User.role == Role.UNIT_HANDLER)
        )
        for report in row.get("progress") or []:
            photos = _demo_photos(report.get("photos"))
            data = vote_service.ProgressInput(report["text"], int(report["percent"]))
            vote_service.add_progress(handler or staff, project, data, photos, storage=storage)
    told = vote_service.open_evaluation(staff, vote)
    chosen = [(p, row) for p, row in zip(vote.projects, rows, strict=True) if p.chosen]
    for i, rep in enumerate(voters):
        ratings = {p.id: row["ratings"][i] for p, row in chosen if i < len(row.get("ratings") or [])}
        if ratings and len(ratings) == len(chosen):
            vote_service.cast(rep, vote, BallotRound.EVALUATION, ratings)
    vote_service.close_evaluation(staff, vote)
    return told


# --- Drafts of laws put out for comment (立法意见征集) -------------------------------------------

_DRAFTS = _yaml("drafts.yaml")


def _seed_drafts(stations: dict[str, Station], regions: dict[str, Region]) -> None:
    """The drafts of demo_data/drafts.yaml, through services.drafts: made by their staff
    account, published, commented on at the contact points and moderated. A draft already
    there (by title) is left alone."""
    from services import drafts as drafts_service

    today = local_today()
    for row in _DRAFTS["drafts"]:
        staff = db.session.scalar(sa.select(User).where(User.username == row["by"]))
        region = regions.get(str(row["region_code"]))
        if (
            staff is None
            or region is None
            or db.session.scalar(sa.select(DraftLaw.id).where(DraftLaw.title == row["title"]))
        ):
            continue
        closes_at = utc_at(today + timedelta(days=int(row["closes_in_days"])), time(18, 0))
        draft = drafts_service.create_draft(
            staff,
            drafts_service.DraftInput(
                title=row["title"],
                issuing_body=row.get("issuing_body", ""),
                summary=row.get("summary", ""),
                closes_at=closes_at,
                region=region,
                text=row["text"],
            ),
        )
        if not _flag(row.get("published", "true")):
            continue
        drafts_service.publish(staff, draft)
        articles = {item.number: item for item in draft.articles}
        made = []
        for c in row.get("comments") or []:
            data = drafts_service.CommentInput(
                content=c["content"],
                name=c.get("name", ""),
                mobile=str(c.get("mobile", "")),
                consent=bool(c.get("name") or c.get("mobile")),
            )
            item = articles[int(c["article"])] if c.get("article") else None
            made.append(drafts_service.submit_comment(draft, stations[c["station"]], item, data))
        for m in row.get("moderation") or []:
            into = made[int(m["into"]) - 1] if m.get("into") else None
            drafts_service.moderate(
                staff,
                made[int(m["comment"]) - 1],
                m["action"],
                role=staff.role,
                note=m.get("note", ""),
                merge_into=into,
            )
