"""Regions (行政区划): the official list of China's divisions at county level and above, and
the townships a congress office enters below its county.

The official list is data/regions/gbt2260.csv (GB/T 2260 codes; tools/regions_data.py
says where it comes from). `load_divisions` brings the database in line with it: created,
renamed and re-parented by code, and a division no longer listed is switched off, never
deleted (stations, units and accounts refer to it). Townships (codes of 9 or 12 digits,
per the statistics bureau's GB/T 10114 scheme) are not in that list: congress staff add
them under their county, and the loader never touches them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from extensions import db
from models import Region, Station, Unit, User
from models.enums import RegionLevel, Role
from services import audit, keyset, limits
from services.concerns import clean_text
from services.errors import DomainError
from services.permissions import region_subtree, regions_clause

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "regions" / "gbt2260.csv"
OFFICIAL_CODE = re.compile(r"\d{6}")
# A township is its county's six digits and three of its own (001–099 street offices,
# 100–199 towns, 200–399 townships, …); the 12-digit form adds the village part, 000.
TOWNSHIP_CODE = re.compile(r"(\d{6})(\d{3})(\d{3})?")


class RegionRefused(DomainError):
    pass


# --- the official list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: RegionLevel
    parent: str | None


@dataclass(frozen=True)
class LoadSummary:
    created: int
    updated: int
    unchanged: int
    deactivated: int
    # Listed but switched off by an administrator: the list does not switch them back on.
    listed_inactive: int
    # "411603 淮阳区" for each division switched off by this run, for the operator to follow up
    # (stations and accounts in it stay where they are).
    switched_off: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "listed_inactive": self.listed_inactive,
        }


def read_divisions(path: Path = DATA_FILE) -> list[Division]:
    """The divisions of a list file (lines starting with # are its notes), checked: six-digit
    codes, known levels, each parent listed before its children."""
    divisions: list[Division] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            code, parent = row["code"].strip(), row["parent"].strip() or None
            if not OFFICIAL_CODE.fullmatch(code) or code in seen:
                raise ValueError(f"{path.name}: bad or repeated code {code!r}")
            if parent is not None and parent not in seen:
                raise ValueError(f"{path.name}: {code}'s parent {parent!r} is not listed before it")
            divisions.append(Division(code, row["name"].strip(), RegionLevel(row["level"].strip()), parent))
            seen.add(code)
    return divisions


def list_notes(path: Path = DATA_FILE) -> list[str]:
    """The list's own notes: its source, version and date."""
    with path.open(encoding="utf-8") as fh:
        return [line[1:].strip() for line in fh if line.startswith("#")]


def load_divisions(divisions: Iterable[Division], *, actor: User | None = None) -> LoadSummary:
    """Bring the county-level and higher regions in line with `divisions` (parents first).
    Idempotent: a second run changes nothing. Townships are left alone."""
    existing = {r.code: r for r in db.session.scalars(sa.select(Region).where(sa.func.length(Region.code) == 6))}
    listed: set[str] = set()
    created = updated = unchanged = listed_inactive = 0
    for d in divisions:
        listed.add(d.code)
        parent = existing[d.parent] if d.parent else None
        region = existing.get(d.code)
        if region is None:
            region = Region(code=d.code, name=d.name, level=d.level, parent=parent)
            db.session.add(region)
            existing[d.code] = region
            created += 1
            continue
        if (region.name, region.level, region.parent) == (d.name, d.level, parent):
            unchanged += 1
        else:
            region.name, region.level, region.parent = d.name, d.level, parent
            updated += 1
        listed_inactive += not region.is_active
    switched_off: list[str] = []
    for code, region in sorted(existing.items()):
        if code not in listed and region.is_active:
            region.is_active = False
            switched_off.append(f"{code} {region.name}")
    db.session.flush()
    summary = LoadSummary(created, updated, unchanged, len(switched_off), listed_inactive, tuple(switched_off))
    if created or updated or switched_off:
        audit.log(actor, "region.loaded", **summary.as_dict())
    return summary


# --- browsing ---------------------------------------------------------------------------------


def top_regions(user: User) -> list[Region]:
    """Where a user's tree starts: the provinces for the admin, a staff member's own region."""
    if user.role == Role.CONGRESS_STAFF:
        return [user.region] if user.region is not None else []
    return list(db.session.scalars(sa.select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)))


def children(region: Region) -> list[Region]:
    return list(db.session.scalars(sa.select(Region).where(Region.parent_id == region.id).order_by(Region.code)))


def search(user: User, query: str) -> tuple[list[Region], bool]:
    """Regions in the user's scope whose name contains `query` or whose code starts with it
    (by code; at most REGION_SEARCH_RESULTS), and whether there were more."""
    query = query.strip()
    if not query:
        return [], False
    by_code = Region.code.startswith(query) if query.isdigit() else sa.false()
    match = sa.or_(keyset.contains(Region.name, query), by_code)
    rows = list(
        db.session.scalars(
            sa.select(Region)
            .where(match, regions_clause(user))
            .order_by(Region.code)
            .limit(limits.REGION_SEARCH_RESULTS + 1)
        )
    )
    return rows[: limits.REGION_SEARCH_RESULTS], len(rows) > limits.REGION_SEARCH_RESULTS


def holds_townships(region: Region) -> bool:
    """Townships go under a county, or under a city that has no counties (不设区的市:
    东莞, 中山, 儋州, 嘉峪关)."""
    if region.level == RegionLevel.COUNTY:
        return True
    if region.level != RegionLevel.CITY:
        return False
    has_counties = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Region)
        .where(Region.parent_id == region.id, Region.level == RegionLevel.COUNTY)
    )
    return not has_counties


@dataclass(frozen=True)
class Usage:
    """What is still active in a region and the regions below it."""

    stations: int
    units: int
    staff: int

    def __bool__(self) -> bool:
        return bool(self.stations or self.units or self.staff)


def usage(region: Region) -> Usage:
    tree = region_subtree(region.id)

    def count(model, *where) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

    return Usage(
        stations=count(Station, Station.region_id.in_(tree), Station.is_active),
        units=count(Unit, Unit.region_id.in_(tree), Unit.is_active),
        staff=count(User, User.region_id.in_(tree), User.active, User.role == Role.CONGRESS_STAFF),
    )


# --- changes --------------------------------------------------------------------------------


def check_name(name: str, parent: Region | None, *, other_than: Region | None = None) -> str:
    """A region's name, cleaned; refused when empty, too long or a sibling's already."""
    return _clean_name(name, parent, other_than=other_than)


def _clean_name(name: str, parent: Region | None, *, other_than: Region | None = None) -> str:
    name = clean_text(name or "")
    if not name:
        raise RegionRefused("name_required")
    if len(name) > limits.REGION_NAME_MAX:
        raise RegionRefused("name_too_long")
    beside = Region.parent_id == parent.id if parent is not None else Region.parent_id.is_(None)
    sibling = db.session.scalar(
        sa.select(Region)
        .where(beside, Region.name == name, Region.is_active, Region.id != (other_than.id if other_than else -1))
        .limit(1)
    )
    if sibling is not None:
        raise RegionRefused("name_taken", name=name, region_code=sibling.code)
    return name


def add_township(actor: User | None, parent: Region, code: str, name: str) -> Region:
    """A township (乡镇、街道) under a county: its code is 9 digits, or 12 ending in 000,
    starting with the county's six."""
    code, name = check_township(parent, code, name)
    region = Region(code=code, name=name, level=RegionLevel.TOWNSHIP, parent=parent)
    db.session.add(region)
    db.session.flush()
    audit.log_change(actor, "region.created", region, {}, _fields(region))
    return region


def township_by_code(code: str) -> Region | None:
    """The township a code names, written with 9 digits or with 12 (…000)."""
    code = re.sub(r"\s+", "", code or "")
    found = TOWNSHIP_CODE.fullmatch(code)
    if found is None:
        return None
    short = found.group(1) + found.group(2)
    return db.session.scalar(sa.select(Region).where(Region.code.in_([short, short + "000"])))


def check_township(parent: Region, code: str, name: str) -> tuple[str, str]:
    """The code and name a new township would have under `parent`, or RegionRefused."""
    if not parent.is_active:
        raise RegionRefused("parent_inactive")
    if not holds_townships(parent):
        raise RegionRefused("no_townships_here")
    code = re.sub(r"\s+", "", code or "")
    found = TOWNSHIP_CODE.fullmatch(code)
    if found is None:
        raise RegionRefused("bad_township_code")
    county, own, village = found.groups()
    if county != parent.code[:6]:
        raise RegionRefused("other_county", county=parent.code[:6])
    if own == "000" or village not in (None, "000"):
        raise RegionRefused("not_a_township_code")
    same = township_by_code(code)
    if same is not None:
        raise RegionRefused("code_taken", region_code=same.code, name=same.name)
    return code, _clean_name(name, parent)


def rename(actor: User | None, region: Region, name: str) -> Region:
    before = _fields(region)
    new_name = clean_text(name or "")
    if new_name != region.name:
        region.name = _clean_name(name, region.parent, other_than=region)
        db.session.flush()
    audit.log_change(actor, "region.renamed", region, before, _fields(region))
    return region


def deactivate(actor: User, region: Region) -> list[Region]:
    """Switch a region off, and the regions below it that are on. Refused while a station,
    unit or congress staff account in it (or below it) is active: they would point at a
    division that no longer exists. Returns the regions switched off."""
    if not region.is_active:
        return []
    in_use = usage(region)
    if in_use:
        raise RegionRefused("in_use", stations=in_use.stations, units=in_use.units, staff=in_use.staff)
    below = db.session.scalars(
        sa.select(Region).where(Region.id.in_(region_subtree(region.id)), Region.is_active).order_by(Region.code)
    ).all()
    for r in below:
        before = _fields(r)
        r.is_active = False
        audit.log_change(actor, "region.deactivated", r, before, _fields(r))
    db.session.flush()
    return list(below)


def reactivate(actor: User, region: Region) -> Region:
    """Switch one region back on (the regions below it stay as they are)."""
    if region.is_active:
        return region
    if region.parent is not None and not region.parent.is_active:
        raise RegionRefused("parent_inactive")
    _clean_name(region.name, region.parent, other_than=region)  # no active namesake beside it
    before = _fields(region)
    region.is_active = True
    db.session.flush()
    audit.log_change(actor, "region.reactivated", region, before, _fields(region))
    return region


def _fields(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "is_active": region.is_active}


# --- the region picker of other screens ---------------------------------------------------------

PICKABLE_LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWNSHIP)


def _pickable_clause() -> sa.ColumnElement[bool]:
    """Where something new may be put: an active region at county level or below (or a
    city without counties, whose townships sit right under it) whose parent is active too
    (a township of a county the official list dropped is not offered)."""
    child, parent = aliased(Region), aliased(Region)
    countyless_city = sa.and_(
        Region.level == RegionLevel.CITY,
        ~sa.exists().where(child.parent_id == Region.id, child.level == RegionLevel.COUNTY),
    )
    return sa.and_(
        Region.is_active,
        sa.or_(Region.level.in_(PICKABLE_LEVELS), countyless_city),
        sa.or_(Region.parent_id.is_(None), sa.exists().where(parent.id == Region.parent_id, parent.is_active)),
    )


def in_scope_regions(user: User) -> list[Region]:
    """The regions a user may put a station, unit or account in (_pickable_clause), within
    the user's scope, by code."""
    return list(
        db.session.scalars(sa.select(Region).where(_pickable_clause(), regions_clause(user)).order_by(Region.code))
    )


def full_names(regions: Iterable[Region]) -> dict[int, str]:
    """Each region's name with the names above it (河南省 周口市 项城市), read in one query
    per level rather than one per region."""
    regions = list(regions)
    known: dict[int, Region] = {r.id: r for r in regions}
    wanted = {r.parent_id for r in regions if r.parent_id is not None} - set(known)
    while wanted:
        found = db.session.scalars(sa.select(Region).where(Region.id.in_(wanted))).all()
        for r in found:
            known[r.id] = r
        wanted = {r.parent_id for r in found if r.parent_id is not None} - set(known)

    def name(r: Region) -> str:
        parts = [r.name]
        while r.parent_id is not None and r.parent_id in known:
            r = known[r.parent_id]
            parts.append(r.name)
        return " ".join(reversed(parts))

    return {r.id: name(r) for r in regions}


def region_choices(user: User) -> list[tuple[int, str]]:
    """(id, full name) for a select of in_scope_regions; a form checks what comes back
    with `pickable`."""
    regions = in_scope_regions(user)
    names = full_names(regions)
    return [(r.id, names[r.id]) for r in regions]


def pickable(user: User, region_id: int | None) -> Region | None:
    """The region behind a submitted id if in_scope_regions offers it to the user, else
    None (a forged form, or a region switched off since the page was drawn)."""
    if region_id is None:
        return None
    return db.session.scalar(sa.select(Region).where(Region.id == region_id, _pickable_clause(), regions_clause(user)))
