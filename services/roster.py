"""The duty roster (排班) and the stations a member of staff looks after.

A slot says who is expected at which station, on which day, from when to when.
"Repeat weekly" makes several slots that share a `series`, so they can be removed
together. Slots that have already ended are the basis of the attendance review and are
never removed.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import DutySlot, OfficeHour, Representative, Station, User
from services.audit import log
from services.clock import local_now, to_utc, utc_at
from services.errors import DomainError
from services.limits import REPEAT_WEEKS_MAX
from services.permissions import overseen_stations_clause
from services.workdays import FIRST_YEAR, LAST_YEAR

ROSTER_DAYS = 28  # the roster page shows today and the next four weeks
STATION_LIST_LIMIT = 200  # the back-office home lists at most this many; the filter finds the rest


# An entry of a weekly schedule: a roster slot, or an official's office hours.
Scheduled = TypeVar("Scheduled", DutySlot, OfficeHour)


class RosterRefused(DomainError):
    """Refusal codes: end_before_start, in_the_past, not_a_member, overlap (with
    `day` and `station`), too_many_weeks, not_this_station."""


# --- the stations someone looks after ------------------------------------------------


@dataclass
class StationList:
    stations: list[Station]
    more: bool  # there are more than STATION_LIST_LIMIT: ask for a narrower filter


def overseen_stations(user: User, name_filter: str = "", limit: int = STATION_LIST_LIMIT) -> StationList:
    """The stations `user` oversees (permissions.overseen_stations_clause): one query,
    ordered by name, optionally filtered by part of the name."""
    query = sa.select(Station).where(overseen_stations_clause(user))
    name_filter = (name_filter or "").strip()[:60]
    if name_filter:
        escaped = name_filter.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Station.name.ilike(f"%{escaped}%", escape="\\"))
    rows = list(db.session.scalars(query.order_by(Station.name, Station.id).limit(limit + 1)))
    return StationList(rows[:limit], len(rows) > limit)


def station_by_code(code: str) -> Station | None:
    """Any station, active or not (the back office still reviews a closed station's past),
    with its representatives loaded."""
    return db.session.scalar(
        sa.select(Station)
        .where(Station.code == (code or "").strip().upper())
        .options(selectinload(Station.representatives).joinedload(Representative.user))
    )


# --- reading the roster -----------------------------------------------------------------


def upcoming(station: Station, first: date, days: int = ROSTER_DAYS) -> list[tuple[date, list[DutySlot]]]:
    """The slots from `first` for `days` days, grouped by day (days without slots left out)."""
    slots = db.session.scalars(
        sa.select(DutySlot)
        .options(selectinload(DutySlot.representative).joinedload(Representative.user))
        .where(DutySlot.station_id == station.id, DutySlot.day >= first, DutySlot.day < first + timedelta(days=days))
        .order_by(DutySlot.day, DutySlot.starts_at, DutySlot.id)
    ).all()
    by_day: dict[date, list[DutySlot]] = {}
    for slot in slots:
        by_day.setdefault(slot.day, []).append(slot)
    return list(by_day.items())


def series_sizes(station: Station, series: set[str], today: date) -> dict[str, int]:
    """How many slots of each series are still ahead (what "remove the series" removes)."""
    if not series:
        return {}
    counts = db.session.execute(
        sa.select(DutySlot.series, sa.func.count())
        .where(DutySlot.station_id == station.id, DutySlot.series.in_(series), DutySlot.day >= today)
        .group_by(DutySlot.series)
    ).tuples()
    return {name: count for name, count in counts if name is not None}  # never None: it is in `series`


# --- changing the roster ----------------------------------------------------------------


def has_ended(day: date, ends_at: time, now: datetime | None = None) -> bool:
    """Whether a local day's slot ending at `ends_at` is over (`now`: naive UTC or aware)."""
    return utc_at(day, ends_at) <= to_utc(local_now(now))


def check_times(day: date, starts_at: time, ends_at: time, repeat_weeks: int, now: datetime | None = None) -> None:
    """What any weekly schedule (the roster, officials' office hours) refuses about its
    times: too_many_weeks, out_of_range, end_before_start, in_the_past."""
    if not 0 <= repeat_weeks <= REPEAT_WEEKS_MAX:
        raise RosterRefused("too_many_weeks", maximum=REPEAT_WEEKS_MAX)
    # The calendar's years bound the roster: past them is a typing mistake (and past year
    # 9999 the weekly repeats would not be dates at all).
    if not FIRST_YEAR <= day.year < LAST_YEAR:
        raise RosterRefused("out_of_range", first=FIRST_YEAR, last=LAST_YEAR)
    if ends_at <= starts_at:
        raise RosterRefused("end_before_start")
    if has_ended(day, ends_at, now):
        raise RosterRefused("in_the_past")


def weekly_days(day: date, repeat_weeks: int) -> tuple[list[date], str | None]:
    """`day` and the same weekday of the next `repeat_weeks` weeks, and the series they share
    (None for one day alone)."""
    days = [day + timedelta(weeks=w) for w in range(repeat_weeks + 1)]
    return days, (secrets.token_hex(8) if repeat_weeks else None)


def first_clash(
    model: type[Scheduled], whose: sa.ColumnElement[bool], days: list[date], starts_at: time, ends_at: time
) -> Scheduled | None:
    """The first entry of a weekly schedule (`whose`: one person's) on one of `days` that
    overlaps `starts_at`–`ends_at`."""
    return db.session.scalar(
        sa.select(model)
        .where(whose, model.day.in_(days), model.starts_at < ends_at, model.ends_at > starts_at)
        .order_by(model.day, model.starts_at)
        .limit(1)
    )


def still_to_come(
    model: type[Scheduled], entry: Scheduled, station: Station, *, whole_series: bool, now: datetime | None
) -> list[Scheduled]:
    """What removing `entry` removes: it, or the rest of its series, leaving what has ended
    (the attendance review and the records count it). Refuses: not_this_station, in_the_past."""
    if entry.station_id != station.id:
        raise RosterRefused("not_this_station")
    if whole_series and entry.series:
        candidates = db.session.scalars(
            sa.select(model).where(model.series == entry.series, model.station_id == station.id).order_by(model.day)
        ).all()
    else:
        candidates = [entry]
    doomed = [e for e in candidates if not has_ended(e.day, e.ends_at, now)]
    if not doomed:
        raise RosterRefused("in_the_past")
    return doomed


def add_slots(
    actor: User,
    station: Station,
    rep: Representative,
    day: date,
    starts_at: time,
    ends_at: time,
    *,
    repeat_weeks: int = 0,
    now: datetime | None = None,
) -> list[DutySlot]:
    """Put `rep` on the roster on `day` and, with repeat_weeks, on the same weekday of the
    following weeks; the slots of one request share a series. All or nothing."""
    check_times(day, starts_at, ends_at, repeat_weeks, now)
    if not any(r.id == rep.id for r in station.representatives):
        raise RosterRefused("not_a_member")
    if not rep.serving_on(day + timedelta(weeks=repeat_weeks)):
        raise RosterRefused("term_ended", last=rep.term_end)
    # Serialise roster changes for one representative (a PostgreSQL row lock; SQLite's
    # BEGIN IMMEDIATE already does), so two managers cannot book overlapping slots at once.
    db.session.execute(sa.select(Representative.id).where(Representative.id == rep.id).with_for_update())
    days, series = weekly_days(day, repeat_weeks)
    clash = first_clash(DutySlot, DutySlot.representative_id == rep.id, days, starts_at, ends_at)
    if clash is not None:
        raise RosterRefused(
            "overlap",
            day=clash.day,
            starts_at=clash.starts_at,
            ends_at=clash.ends_at,
            station=clash.station.name,
        )
    slots = [
        DutySlot(station=station, representative=rep, day=d, starts_at=starts_at, ends_at=ends_at, series=series)
        for d in days
    ]
    db.session.add_all(slots)
    db.session.flush()
    log(
        actor,
        "roster.added",
        slots[0],
        station=station.code,
        representative_id=rep.id,
        days=[d.isoformat() for d in days],
        starts_at=starts_at.strftime("%H:%M"),
        ends_at=ends_at.strftime("%H:%M"),
        series=series,
    )
    return slots


def remove_slots(
    actor: User, station: Station, slot: DutySlot, *, whole_series: bool = False, now: datetime | None = None
) -> int:
    """Remove one slot, or every slot of its series that has not ended yet. A slot that
    has ended stays: the attendance review counts it. Its booked visits are called off.
    Returns how many were removed."""
    doomed = still_to_come(DutySlot, slot, station, whole_series=whole_series, now=now)
    log(
        actor,
        "roster.removed",
        slot,
        station=station.code,
        representative_id=slot.representative_id,
        days=[s.day.isoformat() for s in doomed],
        starts_at=slot.starts_at.strftime("%H:%M"),
        ends_at=slot.ends_at.strftime("%H:%M"),
        series=slot.series if whole_series else None,
    )
    # Residents who booked these slots hear that their visit is called off (services.bookings).
    from services.bookings import slots_removed

    slots_removed(actor, doomed, now)
    for s in doomed:
        db.session.delete(s)
    db.session.flush()
    return len(doomed)
