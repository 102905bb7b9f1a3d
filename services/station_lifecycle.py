"""A station's life after its posters are printed: closing it (or merging it into another),
opening it again, and replacing its code when a poster was defaced or misused.

A printed code never goes dead. A closed station's address says where to go now; a replaced
code forwards to the new one for a while, then says the poster is no longer in use; and no
code is ever given to another station (services.codes.new_station_code).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import DutySlot, KioskDevice, Region, Representative, Station, StationCodeAlias, User
from models.enums import StationKind
from services import kiosk as kiosk_service
from services.audit import log
from services.clock import local_today, utc_at
from services.codes import new_station_code
from services.errors import DomainError
from services.limits import CODE_FORWARD_DAYS_MAX, CODE_REASON_MAX, STATION_CLOSED_NOTE_MAX
from services.permissions import overseen_stations_clause, oversees_station, region_subtree, regions_clause
from services.stations import on_duty_now

# A successor chain longer than this is a data error (a loop written by hand): stop there.
CHAIN_MAX = 20


class StationRefused(DomainError):
    """Refusal codes: already_closed, not_closed, note_required, note_too_long,
    successor_self, successor_inactive, successor_out_of_scope, duty_open (with `names`),
    region_inactive, station_closed, reason_required, reason_too_long, bad_days."""


# --- finding a station by any code it has had -------------------------------------------


@dataclass(frozen=True)
class CodeLookup:
    """What a code on a poster names: the station, and the retired code when it is an old one."""

    station: Station
    alias: StationCodeAlias | None = None


def lookup_code(code: str, *, with_representatives: bool = False) -> CodeLookup | None:
    """The station with this code now, else the station that had it; None for neither."""
    query = sa.select(Station).where(Station.code == code)
    if with_representatives:
        query = query.options(selectinload(Station.representatives).joinedload(Representative.user))
    station = db.session.scalar(query)
    if station is not None:
        return CodeLookup(station)
    alias = db.session.scalar(
        sa.select(StationCodeAlias).options(selectinload(StationCodeAlias.station)).where(StationCodeAlias.code == code)
    )
    return CodeLookup(alias.station, alias) if alias is not None else None


def is_forwarding(alias: StationCodeAlias, now: datetime) -> bool:
    return alias.forward_until is not None and now < alias.forward_until


def current_successor(station: Station) -> Station | None:
    """Where a closed station's residents go now: the first active station down its chain
    of successors (a successor may itself have closed and moved on), None when the chain
    ends at a closed station or loops."""
    seen = {station.id}
    node = station.successor
    while node is not None and len(seen) <= CHAIN_MAX:
        if node.is_active:
            return node
        if node.id in seen:
            return None
        seen.add(node.id)
        node = node.successor
    return None


def retired_codes(station: Station) -> list[StationCodeAlias]:
    """The codes the station's posters used to carry, newest first."""
    return list(
        db.session.scalars(
            sa.select(StationCodeAlias)
            .where(StationCodeAlias.station_id == station.id)
            .order_by(StationCodeAlias.retired_at.desc(), StationCodeAlias.id.desc())
        )
    )


# --- closing and opening again ------------------------------------------------------------


def successor_choices(actor: User, station: Station) -> list[Station]:
    """The stations a closing station may send its residents to: active, in the actor's
    scope, not itself; nearest first (the same region), then by name."""
    return list(
        db.session.scalars(
            sa.select(Station)
            .where(Station.is_active, Station.id != station.id, overseen_stations_clause(actor))
            .order_by((Station.region_id != station.region_id), Station.name, Station.id)
        )
    )


def close_station(
    actor: User, station: Station, *, note: str, successor: Station | None = None, now: datetime
) -> Station:
    """Close a station: its page says since when, the note, and where to go (the successor).

    Refused while a representative is checked in there: their duty is theirs to end (or,
    left open, closes by itself at the day's end), and the manager sees it on the roster.
    Roster slots that have not begun are removed; the station's tablets are unpaired.
    Concerns filed there keep their tracking pages and go on through the loop."""
    if not station.is_active:
        raise StationRefused("already_closed")
    note = (note or "").strip()
    if len(note) > STATION_CLOSED_NOTE_MAX:
        raise StationRefused("note_too_long", maximum=STATION_CLOSED_NOTE_MAX)
    if successor is None and not note:
        raise StationRefused("note_required")
    if successor is not None:
        if successor.id == station.id:
            raise StationRefused("successor_self")
        if not successor.is_active:
            raise StationRefused("successor_inactive")
        if not oversees_station(actor, successor):
            raise StationRefused("successor_out_of_scope")
    on_duty = on_duty_now(station)
    if on_duty:
        raise StationRefused("duty_open", names=", ".join(d.representative.name for d in on_duty))

    station.is_active = False
    station.closed_at = now
    station.closed_note = note
    station.successor = successor
    slots = _slots_not_begun(station, now)
    for slot in slots:
        db.session.delete(slot)
    tablets = db.session.scalars(
        sa.select(KioskDevice).where(KioskDevice.station_id == station.id, KioskDevice.revoked_at.is_(None))
    ).all()
    for device in tablets:
        kiosk_service.revoke(actor, device, now)
    db.session.flush()
    log(
        actor,
        "station.closed",
        station,
        code=station.code,
        note=note,
        successor=successor.code if successor else None,
        slots_removed=len(slots),
        tablets_revoked=len(tablets),
    )
    return station


def _slots_not_begun(station: Station, now: datetime) -> list[DutySlot]:
    """Roster slots that start after `now` (the ones under way or over stay: attendance
    counts them)."""
    candidates = db.session.scalars(
        sa.select(DutySlot).where(DutySlot.station_id == station.id, DutySlot.day >= local_today(now))
    ).all()
    return [s for s in candidates if utc_at(s.day, s.starts_at) > now]


def reopen_station(actor: User, station: Station, *, now: datetime) -> Station:
    """Open a closed station again, at its current code: the note and successor go."""
    if station.is_active:
        raise StationRefused("not_closed")
    if not station.region.is_active:
        raise StationRefused("region_inactive")
    closed_at = station.closed_at
    station.is_active = True  # the model clears closed_at
    station.closed_note = ""
    station.successor = None
    db.session.flush()
    log(
        actor,
        "station.reopened",
        station,
        code=station.code,
        closed_at=closed_at.isoformat() if closed_at else None,
        at=now.isoformat(),
    )
    return station


# --- replacing the code ---------------------------------------------------------------------


def replace_code(actor: User, station: Station, *, forward_days: int, reason: str, now: datetime) -> str:
    """Give the station a new code; the current one becomes a retired code that forwards to
    the new one for `forward_days` (0: never). Returns the new code."""
    if not station.is_active:
        raise StationRefused("station_closed")
    reason = (reason or "").strip()
    if not reason:
        raise StationRefused("reason_required")
    if len(reason) > CODE_REASON_MAX:
        raise StationRefused("reason_too_long", maximum=CODE_REASON_MAX)
    if isinstance(forward_days, bool) or not isinstance(forward_days, int):
        raise StationRefused("bad_days", maximum=CODE_FORWARD_DAYS_MAX)
    if not 0 <= forward_days <= CODE_FORWARD_DAYS_MAX:
        raise StationRefused("bad_days", maximum=CODE_FORWARD_DAYS_MAX)
    old = station.code
    alias = StationCodeAlias(
        code=old,
        station=station,
        retired_at=now,
        forward_until=now + timedelta(days=forward_days),
        reason=reason,
        retired_by_id=actor.id,
    )
    # The station lets go of the old code before the alias takes it (both are unique, in
    # two tables, so the order only matters to readers of the log).
    station.code = new_station_code()
    db.session.add(alias)
    db.session.flush()
    log(actor, "station.code_replaced", station, old=old, new=station.code, forward_days=forward_days, reason=reason)
    return station.code


# --- posters for a whole region ------------------------------------------------------------


def region_posters(actor: User, region: Region, kind: StationKind | None = None) -> list[Station]:
    """Every active station in `region` and below that the actor oversees, by region code,
    then name: one poster each."""
    query = (
        sa.select(Station)
        .join(Region, Station.region_id == Region.id)
        .where(
            Station.is_active,
            Station.region_id.in_(region_subtree(region.id, "asked_tree")),
            overseen_stations_clause(actor),
        )
        .order_by(Region.code, Station.name, Station.id)
    )
    if kind is not None:
        query = query.where(Station.kind == kind)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class RegionCount:
    region: Region
    depth: int
    stations: int  # active stations in it and below it, in the viewer's scope


def regions_with_stations(actor: User) -> list[RegionCount]:
    """The regions whose posters the actor may print, each with how many active stations
    it holds (itself and below), those with none left out; in region-code order."""
    regions = list(db.session.scalars(sa.select(Region).where(regions_clause(actor)).order_by(Region.code)))
    if not regions:
        return []
    own: dict[int, int] = {
        region_id: count
        for region_id, count in db.session.execute(
            sa.select(Station.region_id, sa.func.count())
            .where(Station.is_active, overseen_stations_clause(actor))
            .group_by(Station.region_id)
        ).tuples()
    }
    by_id = {r.id: r for r in regions}
    totals: dict[int, int] = dict.fromkeys(by_id, 0)
    for region_id, count in own.items():
        node = by_id.get(region_id)
        while node is not None:  # add the count to the region and each one above it in view
            totals[node.id] += count
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
    top = min((len(r.path()) for r in regions), default=0)
    return [RegionCount(r, len(r.path()) - top, totals[r.id]) for r in regions if totals[r.id]]
