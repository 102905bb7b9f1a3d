"""The reference data a congress office enters: stations, representatives, handling units and
categories — one set of rules for the back-office forms and the spreadsheet import.

Each kind has a dataclass of typed values. `check_<kind>(actor, obj, values)` lists every
problem as a Problem(field, code, details) — a form marks its fields, an import names the
row and column; `save_<kind>(actor, obj, values)` refuses with ReferenceRefused (the first
problem, all of them in details["problems"]) or writes the row and an audit entry of what
changed, before → after. Nothing is deleted: a row others refer to is switched off.

Scope: the admin manages everything; congress staff what lies in their region and below
(services.permissions.manages_region). Categories are the whole service's: the admin's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from datetime import date

import sqlalchemy as sa

from extensions import db
from models import Category, Region, Representative, Station, Unit, User
from models.enums import PresencePolicy, RepLevel, Role, StationCategory, StationKind, UnitKind
from services import limits
from services.audit import log, log_change
from services.auth import clean_email, is_email
from services.codes import new_rep_code, new_station_code
from services.errors import DomainError
from services.permissions import manages_region
from services.privacy import mask_mobile
from services.resident_mobile import is_mainland_mobile, normalize_mobile


class ReferenceRefused(DomainError):
    pass


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    details: dict = default(default_factory=dict)


def _refuse_if(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        raise ReferenceRefused(first.code, field=first.field, problems=problems, **first.details)


def _text(problems: list[Problem], name: str, value: str, maximum: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        problems.append(Problem(name, "required"))
    elif len(value) > maximum:
        problems.append(Problem(name, "too_long", {"n": maximum}))
    return value


def _region_problems(actor: User | None, region: Region | None, problems: list[Problem], name: str = "region"):
    if region is None:
        problems.append(Problem(name, "required"))
    elif not region.is_active:
        problems.append(Problem(name, "region_inactive", {"region": region.name}))
    elif actor is not None and not manages_region(actor, region):
        problems.append(Problem(name, "out_of_scope"))


def _audit(actor: User | None, kind: str, obj, before: dict, after: dict) -> None:
    """A new record's entry lists its fields; a change's, the fields that changed."""
    if before:
        log_change(actor, f"{kind}.changed", obj, before, after)
    else:
        log(actor, f"{kind}.created", obj, **after)


def _region_label(region: Region | None) -> str | None:
    return f"{region.code} {region.name}" if region is not None else None


@dataclass
class Taken:
    """The natural keys already in use, read once for a batch of rows (a spreadsheet import):
    the checks below then look them up in memory instead of asking the database once a row,
    which is what makes ten thousand rows take seconds. save_* keep it up to date."""

    station_names: dict[tuple[int, str], int] = default(default_factory=dict)  # (region id, name) → id
    unit_names: dict[tuple[int, str], int] = default(default_factory=dict)
    category_names: dict[str, int] = default(default_factory=dict)
    mobiles: dict[str, int] = default(default_factory=dict)  # mobile → user id
    usernames: set[str] = default(default_factory=set)
    rep_codes: set[str] = default(default_factory=set)  # 代表码 in use (services.codes.new_rep_code)

    @classmethod
    def load(cls) -> Taken:
        taken = cls()
        for region_id, name, station_id in db.session.execute(sa.select(Station.region_id, Station.name, Station.id)):
            taken.station_names[region_id, name] = station_id
        for region_id, name, unit_id in db.session.execute(sa.select(Unit.region_id, Unit.name, Unit.id)):
            taken.unit_names[region_id, name] = unit_id
        for name, category_id in db.session.execute(sa.select(Category.name_zh, Category.id)):
            taken.category_names[name] = category_id
        for mobile, username, user_id in db.session.execute(sa.select(User.mobile, User.username, User.id)):
            if mobile:
                taken.mobiles[mobile] = user_id
            taken.usernames.add(username)
        taken.rep_codes.update(db.session.scalars(sa.select(Representative.code)))
        return taken


@dataclass
class Batch:
    """Rows saved together (an import): one flush for many rows, then their audit entries,
    which need the new rows' ids. Flushing once a row is what would make ten thousand rows
    take minutes. Call flush() every few hundred rows and at the end."""

    pending: list[Callable[[], None]] = default(default_factory=list)

    def flush(self) -> None:
        db.session.flush()
        for done in self.pending:
            done()
        self.pending.clear()
        db.session.flush()


def _written(batch: Batch | None, done: Callable[[], None]) -> None:
    """Flush, then `done` (record the change: it needs the row's id); in a batch both wait."""
    if batch is None:
        db.session.flush()
        done()
    else:
        batch.pending.append(done)


def _is_taken(found: int | None, own_id: int | None) -> bool:
    return found is not None and found != own_id


# --- stations ----------------------------------------------------------------------------------


@dataclass
class StationValues:
    name: str
    category: StationCategory
    region: Region | None
    kind: StationKind = StationKind.STATION
    parent: Station | None = None
    address: str = ""
    phone: str = ""
    latitude: float | None = None
    longitude: float | None = None
    opening_hours: str = ""
    presence_policy: PresencePolicy = PresencePolicy.NONE
    geo_radius_m: int = 300
    intro: str = ""
    # A legislative contact point (services.drafts); None keeps what the station says (an
    # import's row has no such column).
    is_legislative_point: bool | None = None


STATION_FIELDS = (
    "name",
    "kind",
    "category",
    "region",
    "parent",
    "address",
    "phone",
    "latitude",
    "longitude",
    "opening_hours",
    "presence_policy",
    "geo_radius_m",
    "intro",
)


def station_snapshot(station: Station | StationValues) -> dict:
    """The station's fields as the audit log keeps them."""
    return {
        "name": station.name,
        "kind": str(station.kind),
        "category": str(station.category),
        "region": _region_label(station.region),
        "parent": station.parent.name if station.parent is not None else None,
        "address": station.address,
        "phone": station.phone,
        "latitude": station.latitude,
        "longitude": station.longitude,
        "opening_hours": station.opening_hours,
        "presence_policy": str(station.presence_policy),
        "geo_radius_m": station.geo_radius_m,
        "intro": station.intro,
        # Imported values say nothing of it (None): not a change.
        **({} if station.is_legislative_point is None else {"legislative_point": station.is_legislative_point}),
    }


_POSITION_RE = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def parse_position(raw: str) -> tuple[float, float] | None:
    """A position pasted from a map app: "34.0662, 114.8934" (latitude first, a comma, a
    full-width comma or a space between). None when it is not one."""
    match = _POSITION_RE.match(raw or "")
    if match is None:
        return None
    return float(match.group(1)), float(match.group(2))


def check_station(
    actor: User | None, station: Station | None, v: StationValues, *, taken: Taken | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    v.name = _text(problems, "name", v.name, limits.STATION_NAME_MAX, required=True)
    v.address = _text(problems, "address", v.address, limits.ADDRESS_MAX)
    v.phone = _text(problems, "phone", v.phone, limits.PHONE_MAX)
    v.opening_hours = _text(problems, "opening_hours", v.opening_hours, limits.OPENING_HOURS_MAX)
    v.intro = _text(problems, "intro", v.intro, limits.INTRO_MAX)
    _region_problems(actor, v.region, problems)
    if v.region is not None and v.name:
        own_id = station.id if station is not None else None
        if taken is not None:
            found = taken.station_names.get((v.region.id, v.name))
        else:
            found = db.session.scalar(
                sa.select(Station.id).where(
                    Station.region_id == v.region.id, Station.name == v.name, Station.id != (own_id or 0)
                )
            )
        if _is_taken(found, own_id):
            problems.append(Problem("name", "station_name_taken"))
    if v.kind == StationKind.STATION:
        v.parent = None
    elif v.parent is None:
        problems.append(Problem("parent", "parent_required"))
    elif v.parent.kind != StationKind.STATION or not v.parent.is_active or (station and v.parent.id == station.id):
        problems.append(Problem("parent", "parent_not_station"))
    elif actor is not None and not manages_region(actor, v.parent.region):
        problems.append(Problem("parent", "out_of_scope"))
    if (v.latitude is None) != (v.longitude is None):
        problems.append(Problem("latitude", "position_incomplete"))
    if v.latitude is not None and not -90 <= v.latitude <= 90:
        problems.append(Problem("latitude", "latitude_out_of_range"))
    if v.longitude is not None and not -180 <= v.longitude <= 180:
        problems.append(Problem("longitude", "longitude_out_of_range"))
    if not limits.GEO_RADIUS_MIN <= v.geo_radius_m <= limits.GEO_RADIUS_MAX:
        problems.append(
            Problem("geo_radius_m", "radius_out_of_range", {"min": limits.GEO_RADIUS_MIN, "max": limits.GEO_RADIUS_MAX})
        )
    if v.presence_policy == PresencePolicy.GEO and v.latitude is None:
        problems.append(Problem("presence_policy", "geo_needs_position"))
    return problems


def save_station(
    actor: User | None,
    station: Station | None,
    v: StationValues,
    *,
    taken: Taken | None = None,
    batch: Batch | None = None,
) -> Station:
    """Create (station None: a fresh printed code) or change a station."""
    _refuse_if(check_station(actor, station, v, taken=taken))
    before = station_snapshot(station) if station is not None else {}
    if station is None:
        station = Station(code=new_station_code(), is_active=True)
        db.session.add(station)
    for name in STATION_FIELDS:
        setattr(station, name, getattr(v, name))
    if v.is_legislative_point is not None:
        station.is_legislative_point = v.is_legislative_point
    elif station.is_legislative_point is None:
        station.is_legislative_point = False
    saved = station

    def done() -> None:
        if taken is not None:
            taken.station_names[saved.region_id, saved.name] = saved.id
        _audit(actor, "station", saved, before, station_snapshot(saved))

    _written(batch, done)
    return station


# --- representatives -----------------------------------------------------------------------------


@dataclass
class RepresentativeValues:
    name: str
    mobile: str
    level: RepLevel
    stations: Sequence[Station] = ()
    delegation: str = ""
    occupation: str = ""
    post: str = ""
    term_number: int | None = None
    term_start: date | None = None
    term_end: date | None = None
    bio: str = ""
    focus_areas: str = ""


def representative_snapshot(rep: Representative | None, v: RepresentativeValues | None = None) -> dict:
    if rep is None and v is None:
        return {}
    src = v if v is not None else rep
    assert src is not None
    return {
        "name": src.name,
        "mobile": mask_mobile(v.mobile if v is not None else rep.user.mobile if rep else None),
        "level": str(src.level),
        "stations": sorted(s.name for s in src.stations),
        "delegation": src.delegation,
        "occupation": src.occupation,
        "post": src.post,
        "term_number": src.term_number,
        "term_start": src.term_start.isoformat() if src.term_start else None,
        "term_end": src.term_end.isoformat() if src.term_end else None,
        "bio": src.bio,
        "focus_areas": src.focus_areas,
    }


def representative_by_mobile(mobile: str) -> Representative | None:
    return db.session.scalar(
        sa.select(Representative).join(Representative.user).where(User.mobile == normalize_mobile(mobile))
    )


def check_representative(
    actor: User | None, rep: Representative | None, v: RepresentativeValues, *, taken: Taken | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    v.name = _text(problems, "name", v.name, limits.DISPLAY_NAME_MAX, required=True)
    v.delegation = _text(problems, "delegation", v.delegation, limits.DELEGATION_MAX)
    v.occupation = _text(problems, "occupation", v.occupation, limits.OCCUPATION_MAX)
    v.post = _text(problems, "post", v.post, limits.POST_MAX)
    v.bio = _text(problems, "bio", v.bio, limits.BIO_MAX)
    v.focus_areas = _text(problems, "focus_areas", v.focus_areas, limits.FOCUS_AREAS_MAX)
    v.mobile = normalize_mobile(v.mobile or "")
    if not v.mobile:
        problems.append(Problem("mobile", "required"))
    elif not is_mainland_mobile(v.mobile):
        problems.append(Problem("mobile", "bad_mobile"))
    else:
        own_id = rep.user_id if rep is not None else None
        if taken is not None:
            found = taken.mobiles.get(v.mobile)
        else:
            found = db.session.scalar(sa.select(User.id).where(User.mobile == v.mobile, User.id != (own_id or 0)))
        if _is_taken(found, own_id):
            problems.append(Problem("mobile", "mobile_taken"))
    if v.term_number is not None and not 1 <= v.term_number <= limits.TERM_NUMBER_MAX:
        problems.append(Problem("term_number", "term_number_out_of_range", {"max": limits.TERM_NUMBER_MAX}))
    if v.term_start and v.term_end and v.term_end < v.term_start:
        problems.append(Problem("term_end", "term_ends_before_start"))
    for station in v.stations:
        if not station.is_active:
            problems.append(Problem("stations", "station_closed", {"station": station.name}))
        elif actor is not None and not manages_region(actor, station.region):
            problems.append(Problem("stations", "out_of_scope"))
    if actor is not None and actor.role != Role.ADMIN and not v.stations:
        # Congress staff see representatives through their stations: one is needed.
        problems.append(Problem("stations", "stations_required"))
    return problems


def _username_for(mobile: str, prefix: str = "r", taken: Taken | None = None) -> str:
    """A login name nobody types (people sign in with their mobile number): a letter (r for
    a representative) + the number, with a suffix in the rare case it is taken."""

    def in_use(name: str) -> bool:
        if taken is not None:
            return name in taken.usernames
        return db.session.scalar(sa.select(User.id).where(User.username == name)) is not None

    candidate = f"{prefix}{mobile}"
    while in_use(candidate):
        candidate = f"{prefix}{mobile}-{secrets.token_hex(2)}"
    return candidate


def save_representative(
    actor: User | None,
    rep: Representative | None,
    v: RepresentativeValues,
    *,
    keep_other_stations: bool = False,
    taken: Taken | None = None,
    batch: Batch | None = None,
) -> Representative:
    """Create or change a representative. A new one gets an account row with no password
    (they set it through an invitation). `keep_other_stations`: stations outside the
    actor's scope stay (an edit by county staff leaves a city's station assignments alone)."""
    _refuse_if(check_representative(actor, rep, v, taken=taken))
    before = representative_snapshot(rep) if rep is not None else {}
    stations = list(dict.fromkeys(v.stations))
    if rep is None:
        user = User(
            username=_username_for(v.mobile, taken=taken),
            mobile=v.mobile,
            display_name=v.name,
            password_hash="",
            role=Role.REPRESENTATIVE,
            active=True,
            failed_logins=0,
            session_version=0,
        )
        rep = Representative(user=user, level=v.level, code=new_rep_code(taken.rep_codes if taken else None))
        db.session.add(rep)
    else:
        rep.user.display_name, rep.user.mobile = v.name, v.mobile
        rep.level = v.level
        if keep_other_stations and actor is not None:
            stations += [s for s in rep.stations if not manages_region(actor, s.region) and s not in stations]
    rep.stations = stations
    for name in ("delegation", "occupation", "post", "term_number", "term_start", "term_end", "bio", "focus_areas"):
        setattr(rep, name, getattr(v, name))
    if taken is not None:
        taken.usernames.add(rep.user.username)
    saved = rep

    def done() -> None:
        if taken is not None:
            taken.mobiles[v.mobile] = saved.user_id
        _audit(actor, "representative", saved, before, representative_snapshot(saved))

    _written(batch, done)
    return rep


# --- handling units ------------------------------------------------------------------------------


@dataclass
class UnitValues:
    name: str
    kind: UnitKind
    region: Region | None
    parent: Unit | None = None
    receives_dispatches: bool = True


def unit_snapshot(unit: Unit | UnitValues) -> dict:
    return {
        "name": unit.name,
        "kind": str(unit.kind),
        "region": _region_label(unit.region),
        "parent": unit.parent.name if unit.parent is not None else None,
        "receives_dispatches": unit.receives_dispatches,
    }


def check_unit(actor: User | None, unit: Unit | None, v: UnitValues, *, taken: Taken | None = None) -> list[Problem]:
    problems: list[Problem] = []
    v.name = _text(problems, "name", v.name, limits.UNIT_NAME_MAX, required=True)
    _region_problems(actor, v.region, problems)
    if v.region is not None and v.name:
        own_id = unit.id if unit is not None else None
        if taken is not None:
            found = taken.unit_names.get((v.region.id, v.name))
        else:
            found = db.session.scalar(
                sa.select(Unit.id).where(Unit.region_id == v.region.id, Unit.name == v.name, Unit.id != (own_id or 0))
            )
        if _is_taken(found, own_id):
            problems.append(Problem("name", "unit_name_taken"))
    if v.parent is not None:
        if unit is not None and _is_within(v.parent, unit):
            problems.append(Problem("parent", "parent_cycle"))
        elif actor is not None and not manages_region(actor, v.parent.region):
            problems.append(Problem("parent", "out_of_scope"))
    return problems


def _is_within(candidate: Unit, unit: Unit) -> bool:
    """`candidate` is `unit` or below it: it cannot become its parent."""
    node: Unit | None = candidate
    seen: set[int] = set()
    while node is not None and node.id not in seen:
        if node.id == unit.id:
            return True
        seen.add(node.id)
        node = node.parent
    return False


def save_unit(
    actor: User | None, unit: Unit | None, v: UnitValues, *, taken: Taken | None = None, batch: Batch | None = None
) -> Unit:
    _refuse_if(check_unit(actor, unit, v, taken=taken))
    assert v.region is not None  # else check_unit refused
    before = unit_snapshot(unit) if unit is not None else {}
    if unit is None:
        unit = Unit(is_active=True)
        db.session.add(unit)
    unit.name, unit.kind, unit.region, unit.parent = v.name, v.kind, v.region, v.parent
    unit.receives_dispatches = v.receives_dispatches
    saved = unit

    def done() -> None:
        if taken is not None:
            taken.unit_names[saved.region_id, saved.name] = saved.id
        _audit(actor, "unit", saved, before, unit_snapshot(saved))

    _written(batch, done)
    return unit


# --- categories ----------------------------------------------------------------------------------


@dataclass
class CategoryValues:
    name_zh: str
    name_en: str = ""
    sort_order: int = 0
    default_unit: Unit | None = None


def category_snapshot(category: Category | CategoryValues) -> dict:
    return {
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "sort_order": category.sort_order,
        "default_unit": category.default_unit.name if category.default_unit is not None else None,
    }


def check_category(
    actor: User | None, category: Category | None, v: CategoryValues, *, taken: Taken | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    if actor is not None and actor.role != Role.ADMIN:
        problems.append(Problem("name_zh", "out_of_scope"))
    v.name_zh = _text(problems, "name_zh", v.name_zh, limits.CATEGORY_NAME_MAX, required=True)
    v.name_en = _text(problems, "name_en", v.name_en, limits.CATEGORY_NAME_EN_MAX)
    if v.name_zh:
        own_id = category.id if category is not None else None
        if taken is not None:
            found = taken.category_names.get(v.name_zh)
        else:
            found = db.session.scalar(
                sa.select(Category.id).where(Category.name_zh == v.name_zh, Category.id != (own_id or 0))
            )
        if _is_taken(found, own_id):
            problems.append(Problem("name_zh", "category_name_taken"))
    if not -9999 <= v.sort_order <= 9999:
        problems.append(Problem("sort_order", "sort_order_out_of_range"))
    if v.default_unit is not None and not (v.default_unit.is_active and v.default_unit.receives_dispatches):
        problems.append(Problem("default_unit", "unit_not_receiving"))
    return problems


def save_category(
    actor: User | None,
    category: Category | None,
    v: CategoryValues,
    *,
    taken: Taken | None = None,
    batch: Batch | None = None,
) -> Category:
    _refuse_if(check_category(actor, category, v, taken=taken))
    before = category_snapshot(category) if category is not None else {}
    if category is None:
        category = Category(code=f"c{secrets.token_hex(4)}", is_active=True)
        db.session.add(category)
    category.name_zh, category.name_en = v.name_zh, v.name_en or v.name_zh
    category.sort_order, category.default_unit = v.sort_order, v.default_unit
    saved = category

    def done() -> None:
        if taken is not None:
            taken.category_names[saved.name_zh] = saved.id
        _audit(actor, "category", saved, before, category_snapshot(saved))

    _written(batch, done)
    return category


# --- accounts of station managers and unit handlers ---------------------------------------------

# The accounts staff give out from a station's or a unit's page; the letter starts the login name.
ACCOUNT_ROLES = {Role.STATION_MANAGER: "m", Role.UNIT_HANDLER: "u", Role.OFFICIAL: "o"}


def check_account(
    actor: User | None,
    role: Role,
    name: str,
    mobile: str,
    email: str | None,
    *,
    stations: Sequence[Station] = (),
    unit: Unit | None = None,
    post: str = "",
) -> list[Problem]:
    problems: list[Problem] = []
    if role not in ACCOUNT_ROLES:
        problems.append(Problem("role", "role_not_for_account"))
    _text(problems, "name", name, limits.DISPLAY_NAME_MAX, required=True)
    mobile = normalize_mobile(mobile or "")
    if not mobile:
        problems.append(Problem("mobile", "required"))
    elif not is_mainland_mobile(mobile):
        problems.append(Problem("mobile", "bad_mobile"))
    elif db.session.scalar(sa.select(User.id).where(User.mobile == mobile)) is not None:
        problems.append(Problem("mobile", "mobile_taken"))
    email = clean_email(email)
    if email is not None and not is_email(email):
        problems.append(Problem("email", "bad_email"))
    if role == Role.STATION_MANAGER:
        if not stations:
            problems.append(Problem("stations", "required"))
        for station in stations:
            if not station.is_active:
                problems.append(Problem("stations", "station_closed", {"station": station.name}))
            elif actor is not None and not manages_region(actor, station.region):
                problems.append(Problem("stations", "out_of_scope"))
    if role == Role.OFFICIAL:
        _text(problems, "post", post, limits.POST_MAX, required=True)
    if role in (Role.UNIT_HANDLER, Role.OFFICIAL):
        if unit is None:
            problems.append(Problem("unit", "required"))
        elif not unit.is_active:
            problems.append(Problem("unit", "unit_inactive"))
        elif actor is not None and not manages_region(actor, unit.region):
            problems.append(Problem("unit", "out_of_scope"))
    return problems


def create_account(
    actor: User | None,
    role: Role,
    name: str,
    mobile: str,
    email: str | None = None,
    *,
    stations: Sequence[Station] = (),
    unit: Unit | None = None,
    post: str = "",
) -> User:
    """A station manager's account (for `stations`), a unit handler's (for `unit`) or an
    official's (the head of `unit`, with their `post`: models.official), with no password:
    the person sets one through an invitation link. They sign in with their mobile number;
    the login name is made from it."""
    _refuse_if(check_account(actor, role, name, mobile, email, stations=stations, unit=unit, post=post))
    mobile = normalize_mobile(mobile)
    user = User(
        username=_username_for(mobile, ACCOUNT_ROLES[role]),
        mobile=mobile,
        email=clean_email(email),
        display_name=name.strip(),
        password_hash="",
        role=role,
        unit=unit if role == Role.UNIT_HANDLER else None,
        active=True,
        failed_logins=0,
        session_version=0,
    )
    if role == Role.STATION_MANAGER:
        user.managed_stations = list(dict.fromkeys(stations))
    db.session.add(user)
    db.session.flush()
    if role == Role.OFFICIAL and unit is not None:
        from services.officials import appoint  # officials build on reference data, not the reverse

        appoint(actor, user, unit, post)
    log(
        actor,
        "account.created",
        user,
        role=role.value,
        stations=[s.id for s in user.managed_stations],
        unit=unit.id if unit is not None and role == Role.UNIT_HANDLER else None,
        mobile=mask_mobile(mobile),
    )
    for station in user.managed_stations:
        log(actor, "station.manager_added", station, manager=user.display_name, manager_id=user.id, new_account=True)
    return user


def add_manager(actor: User | None, station: Station, manager: User) -> bool:
    """Give an existing station manager's account this station too. False when it has it."""
    if actor is not None and not manages_region(actor, station.region):
        raise ReferenceRefused("out_of_scope")
    if manager.role != Role.STATION_MANAGER or not manager.active:
        raise ReferenceRefused("not_a_manager")
    if not station.is_active:
        raise ReferenceRefused("station_closed", station=station.name)
    if station in manager.managed_stations:
        return False
    manager.managed_stations.append(station)
    log(actor, "station.manager_added", station, manager=manager.display_name, manager_id=manager.id)
    db.session.flush()
    return True


def remove_manager(actor: User | None, station: Station, manager: User) -> bool:
    """Take the station off a manager's account (the account stays). False when it was not."""
    if actor is not None and not manages_region(actor, station.region):
        raise ReferenceRefused("out_of_scope")
    if station not in manager.managed_stations:
        return False
    manager.managed_stations.remove(station)
    log(actor, "station.manager_removed", station, manager=manager.display_name, manager_id=manager.id)
    db.session.flush()
    return True


# --- switching off and on ------------------------------------------------------------------------


def set_active(actor: User | None, obj: Unit | Category, active: bool) -> bool:
    """Switch a unit or a category off (kept: concerns refer to it) or on again. False when
    it already was. Stations close through services.station_lifecycle (they have a
    successor and a public page), representatives leave by their term's end."""
    if isinstance(obj, Category):
        if actor is not None and actor.role != Role.ADMIN:
            raise ReferenceRefused("out_of_scope")
    elif actor is not None and not manages_region(actor, obj.region):
        raise ReferenceRefused("out_of_scope")
    if obj.is_active == active:
        return False
    obj.is_active = active
    kind = type(obj).__name__.lower()
    log_change(actor, f"{kind}.switched_{'on' if active else 'off'}", obj, {"active": not active}, {"active": active})
    db.session.flush()
    return True
