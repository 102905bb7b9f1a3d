"""Reading reference data in the back office: the lists (searched, filtered, paged by name),
what a form may offer (the regions, stations and units in the viewer's scope), and a
record's history from the audit log.

Every query here is narrowed by permissions.managed_regions_clause, the SQL twin of
manages_region: the admin sees everything, congress staff their region and below.
Pages are keyset pages in name order: the cursor is the last row's id, and the next page
starts after that row's (name, id), so a row added meanwhile never shifts a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import AuditLog, Category, Region, Representative, Station, Unit, User, manager_station
from models.enums import RegionLevel, RepLevel, Role, StationKind
from models.station import representative_station
from services.keyset import contains
from services.permissions import managed_regions_clause, manages_region, region_subtree
from services.resident_mobile import is_mainland_mobile, normalize_mobile

PAGE_SIZE = 50
HISTORY_SIZE = 50
# Stations sit in counties and townships; a city or province has none of its own.
STATION_LEVELS = (RegionLevel.COUNTY, RegionLevel.TOWNSHIP)


@dataclass
class Page:
    rows: list[Any]
    after: int | None  # the cursor of the next page; None on the last


def _page(stmt: sa.Select, name_column, id_column, after_row: tuple[str, int] | None, size: int) -> Page:
    if after_row is not None:
        name, ident = after_row
        stmt = stmt.where(sa.or_(name_column > name, sa.and_(name_column == name, id_column > ident)))
    rows = list(db.session.scalars(stmt.order_by(name_column, id_column).limit(size + 1)).unique())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].id if more else None)


# --- regions ----------------------------------------------------------------------------------


def regions_in_scope(actor: User, *, levels: tuple[RegionLevel, ...] | None = None) -> list[Region]:
    """The active regions the actor manages, in code order (a parent before its children)."""
    stmt = sa.select(Region).where(Region.is_active, managed_regions_clause(actor, Region.id))
    if levels is not None:
        stmt = stmt.where(Region.level.in_(levels))
    return list(db.session.scalars(stmt.order_by(Region.code)))


def regions_holding(actor: User, column) -> list[Region]:
    """The regions in scope that hold a row of `column`'s table (Station.region_id,
    Unit.region_id), with the regions above them: what a list's region filter offers (the
    whole country's would be a select of thousands for the admin)."""
    wanted = set(db.session.scalars(sa.select(column).distinct().where(managed_regions_clause(actor, column))))
    found: dict[int, Region] = {}
    while wanted:
        wanted -= set(found)
        for region in db.session.scalars(sa.select(Region).where(Region.id.in_(wanted))):
            found[region.id] = region
        wanted = {r.parent_id for r in found.values() if r.parent_id is not None} - set(found)
    return sorted((r for r in found.values() if manages_region(actor, r)), key=lambda r: r.code)


# --- stations ---------------------------------------------------------------------------------


@dataclass
class StationFilter:
    q: str = ""
    region_id: int | None = None
    kind: StationKind | None = None
    active: str = "1"  # "1" open, "0" closed, "" both


def _in_region(column, region_id: int | None):
    return column.in_(region_subtree(region_id)) if region_id is not None else sa.true()


def stations_page(actor: User, f: StationFilter, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    stmt = sa.select(Station).where(managed_regions_clause(actor, Station.region_id))
    stmt = stmt.where(_in_region(Station.region_id, f.region_id))
    if f.q:
        stmt = stmt.where(sa.or_(contains(Station.name, f.q), Station.code == f.q.upper()))
    if f.kind is not None:
        stmt = stmt.where(Station.kind == f.kind)
    if f.active in ("0", "1"):
        stmt = stmt.where(Station.is_active.is_(f.active == "1"))
    after_row = None
    if after is not None:
        found = db.session.execute(sa.select(Station.name, Station.id).where(Station.id == after)).first()
        after_row = (found[0], found[1]) if found else None
    return _page(stmt, Station.name, Station.id, after_row, size)


def parent_stations(actor: User) -> list[Station]:
    """The open liaison stations (站, not points or posts) a point or post may belong to."""
    return list(
        db.session.scalars(
            sa.select(Station)
            .where(
                Station.is_active, Station.kind == StationKind.STATION, managed_regions_clause(actor, Station.region_id)
            )
            .order_by(Station.region_id, Station.name)
        )
    )


def open_stations(actor: User) -> list[Station]:
    """The open stations, points and posts in scope: where a representative may serve."""
    return list(
        db.session.scalars(
            sa.select(Station)
            .where(Station.is_active, managed_regions_clause(actor, Station.region_id))
            .order_by(Station.region_id, Station.name)
        )
    )


def station_managers(station: Station) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(manager_station, manager_station.c.user_id == User.id)
            .where(manager_station.c.station_id == station.id)
            .order_by(User.display_name, User.id)
        )
    )


def managers_to_add(actor: User, station: Station) -> list[User]:
    """Switched-on manager accounts that look after another station in the actor's scope
    (the admin: any), to give them this station too."""
    in_scope = (
        sa.select(manager_station.c.user_id)
        .join(Station, Station.id == manager_station.c.station_id)
        .where(managed_regions_clause(actor, Station.region_id))
    )
    here = sa.select(manager_station.c.user_id).where(manager_station.c.station_id == station.id)
    stmt = sa.select(User).where(User.role == Role.STATION_MANAGER, User.active, User.id.not_in(here))
    if actor.role != Role.ADMIN:
        stmt = stmt.where(User.id.in_(in_scope))
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id)))


# --- representatives --------------------------------------------------------------------------


@dataclass
class RepresentativeFilter:
    q: str = ""
    level: RepLevel | None = None
    station_id: int | None = None
    serving: str = ""  # "1" in office today, "0" term ended, "" both


def _reps_in_scope(actor: User):
    """Representatives serving at a station in scope; for the admin every one (also a
    representative left without a station)."""
    if actor.role == Role.ADMIN:
        return sa.true()
    return Representative.id.in_(
        sa.select(representative_station.c.representative_id)
        .join(Station, Station.id == representative_station.c.station_id)
        .where(managed_regions_clause(actor, Station.region_id))
    )


def representatives_page(
    actor: User, f: RepresentativeFilter, today: date, after: int | None = None, size: int = PAGE_SIZE
) -> Page:
    stmt = (
        sa.select(Representative)
        .join(Representative.user)
        .where(_reps_in_scope(actor))
        .options(selectinload(Representative.stations))
    )
    if f.q:
        mobile = normalize_mobile(f.q)
        by_name = contains(User.display_name, f.q)
        stmt = stmt.where(sa.or_(by_name, User.mobile == mobile) if is_mainland_mobile(mobile) else by_name)
    if f.level is not None:
        stmt = stmt.where(Representative.level == f.level)
    if f.station_id is not None:
        stmt = stmt.where(
            Representative.id.in_(
                sa.select(representative_station.c.representative_id).where(
                    representative_station.c.station_id == f.station_id
                )
            )
        )
    if f.serving == "1":
        stmt = stmt.where(sa.or_(Representative.term_end.is_(None), Representative.term_end >= today))
    elif f.serving == "0":
        stmt = stmt.where(Representative.term_end < today)
    after_row = None
    if after is not None:
        found = db.session.execute(
            sa.select(User.display_name, Representative.id).join(Representative.user).where(Representative.id == after)
        ).first()
        after_row = (found[0], found[1]) if found else None
    return _page(stmt, User.display_name, Representative.id, after_row, size)


def stations_in_scope(actor: User) -> list[Station]:
    """Every station in scope, open or closed (the representatives' filter)."""
    return list(
        db.session.scalars(
            sa.select(Station).where(managed_regions_clause(actor, Station.region_id)).order_by(Station.name)
        )
    )


# --- units ------------------------------------------------------------------------------------


def units_in_scope(actor: User, *, active_only: bool = False) -> list[Unit]:
    stmt = sa.select(Unit).where(managed_regions_clause(actor, Unit.region_id)).options(joinedload(Unit.region))
    if active_only:
        stmt = stmt.where(Unit.is_active)
    return list(db.session.scalars(stmt.order_by(Unit.name, Unit.id)))


def unit_tree(units: list[Unit]) -> list[tuple[Region, list[tuple[Unit, int]]]]:
    """Units grouped by region (in code order), each region's units as a tree: a unit, then
    its departments indented below it (depth). A unit whose parent is not in the list
    (another region, out of scope) starts a tree of its own."""
    listed = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in listed else None
        children.setdefault(parent, []).append(unit)
    ordered: list[tuple[Unit, int]] = []
    seen: set[int] = set()

    def walk(unit: Unit, depth: int) -> None:
        if unit.id in seen:  # the database forbids only self-parents; never loop on a cycle
            return
        seen.add(unit.id)
        ordered.append((unit, depth))
        for child in children.get(unit.id, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    for unit in units:  # anything left is on a cycle: still listed
        if unit.id not in seen:
            walk(unit, 0)
    groups: dict[int, tuple[Region, list[tuple[Unit, int]]]] = {}
    for unit, depth in ordered:
        groups.setdefault(unit.region_id, (unit.region, []))[1].append((unit, depth))
    return sorted(groups.values(), key=lambda group: group[0].code)


def unit_handlers(unit: Unit) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.role == Role.UNIT_HANDLER, User.unit_id == unit.id).order_by(User.display_name)
        )
    )


def receiving_units() -> list[Unit]:
    """The units a category may name as its default: switched on and taking dispatches."""
    return list(
        db.session.scalars(
            sa.select(Unit)
            .where(Unit.is_active, Unit.receives_dispatches)
            .options(joinedload(Unit.region))
            .order_by(Unit.region_id, Unit.name)
        )
    )


def categories() -> list[Category]:
    return list(db.session.scalars(sa.select(Category).order_by(Category.sort_order, Category.id)))


# --- history ----------------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    entry: AuditLog
    actor: User | None


def history(target, size: int = HISTORY_SIZE) -> list[HistoryEntry]:
    """The audit entries about a record, newest first, with who made them."""
    entries = list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.target_type == type(target).__name__.lower(), AuditLog.target_id == target.id)
            .order_by(AuditLog.id.desc())
            .limit(size)
        )
    )
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    return [HistoryEntry(e, actors.get(e.actor_id) if e.actor_id else None) for e in entries]
