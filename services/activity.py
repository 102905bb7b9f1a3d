"""The figures page's activity tables, for a period and within the viewer's scope
(permissions.overseen_stations_clause, representatives_clause):

- bookings (预约接待) per station: the bookings for a visit day in the period — made (all of
  them), attended, no-show, cancelled (by the resident or called off by the station), and
  still booked;
- officials (部门人员进站): per official, their sessions at stations in scope checked in
  during the period (not voided; an open one counts up to now, as their record counts it:
  services.officials.record) and the concerns in scope they took up, sent to their unit and
  answered (official_take / official_dispatch / official_answer events in the period);
- representatives (履职信息通报): per representative in scope, their whole work in the
  period as their annual report and public page count it (services.reports,
  services.rep_pages): counted duties (services.duty_lines), hours and residents received
  on them, concerns taken up (the accept step on concerns assigned to them), concerns
  assigned to them closed in the period (services.figures.closed_in) and the
  representative's rating among those rated;
- 述职 meetings per region (services.meetings.by_region): meetings held in the period, the
  residents' ratings of them and how many were satisfied or basically satisfied.

One query per measure for everyone in the table (grouped by the person or station), never
a query per row. Duty and session minutes are summed in Python from one query's rows, so
each is floored per duty exactly as services.duty_lines and services.officials floor them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import Booking, Concern, ConcernEvent, Duty, Official, OfficialSession, Representative, Station, User
from models.enums import BookingStatus as B
from models.enums import ConcernAction as A
from models.enums import DutyStatus, RepLevel
from services.figures import SATISFIED, Period, closed_in
from services.meetings import RegionRow
from services.meetings import by_region as meetings_by_region
from services.permissions import overseen_stations_clause, representatives_clause

# --- bookings -------------------------------------------------------------------------------


@dataclass
class BookingCounts:
    made: int = 0
    attended: int = 0
    no_show: int = 0
    cancelled: int = 0
    booked: int = 0  # still to come (or not yet marked)

    def add(self, other: BookingCounts) -> None:
        for name in ("made", "attended", "no_show", "cancelled", "booked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class BookingRow:
    station_id: int
    name: str
    counts: BookingCounts


def bookings(user: User, period: Period) -> tuple[list[BookingRow], BookingCounts]:
    """Per station with bookings for a day in the period, busiest first; and the total."""
    count = sa.func.count
    query = (
        sa.select(
            Station.id,
            Station.name,
            count(),
            count().filter(Booking.status == B.ATTENDED),
            count().filter(Booking.status == B.NO_SHOW),
            count().filter(Booking.status.in_([B.CANCELLED, B.CALLED_OFF])),
            count().filter(Booking.status == B.BOOKED),
        )
        .select_from(Booking)
        .join(Station, Station.id == Booking.station_id)
        .where(overseen_stations_clause(user), Booking.day >= period.start, Booking.day <= period.end)
        .group_by(Station.id, Station.name)
    )
    rows = [BookingRow(r[0], r[1], BookingCounts(*r[2:])) for r in db.session.execute(query)]
    rows.sort(key=lambda row: (-row.counts.made, row.name))
    total = BookingCounts()
    for row in rows:
        total.add(row.counts)
    return rows, total


# --- officials ------------------------------------------------------------------------------

OFFICIAL_STEPS = (A.OFFICIAL_TAKE, A.OFFICIAL_DISPATCH, A.OFFICIAL_ANSWER)


@dataclass
class OfficialRow:
    official_id: int
    name: str
    unit: str
    post: str
    sessions: int = 0
    minutes: int = 0
    taken: int = 0
    dispatched: int = 0
    answered: int = 0

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


def officials(user: User, period: Period, now: datetime) -> list[OfficialRow]:
    """Per official with a session or a step in scope in the period, most sessions first."""
    start, end = period.utc_bounds()
    sessions = db.session.execute(
        sa.select(OfficialSession.official_id, OfficialSession.checked_in_at, OfficialSession.checked_out_at)
        .join(Station, Station.id == OfficialSession.station_id)
        .where(
            overseen_stations_clause(user),
            OfficialSession.checked_in_at >= start,
            OfficialSession.checked_in_at < end,
            OfficialSession.status != DutyStatus.VOIDED,
        )
    ).all()
    steps = db.session.execute(
        sa.select(Official.id, ConcernEvent.action, sa.func.count(sa.distinct(ConcernEvent.concern_id)))
        .select_from(ConcernEvent)
        .join(Official, Official.user_id == ConcernEvent.actor_id)
        .join(Concern, Concern.id == ConcernEvent.concern_id)
        .join(Station, Station.id == Concern.station_id)
        .where(
            overseen_stations_clause(user),
            ConcernEvent.action.in_(OFFICIAL_STEPS),
            ConcernEvent.created_at >= start,
            ConcernEvent.created_at < end,
        )
        .group_by(Official.id, ConcernEvent.action)
    ).all()
    ids = {s[0] for s in sessions} | {s[0] for s in steps}
    if not ids:
        return []
    rows = {
        o.id: OfficialRow(o.id, o.user.display_name, o.unit.name, o.post)
        for o in db.session.scalars(sa.select(Official).where(Official.id.in_(ids)))
    }
    for official_id, checked_in, checked_out in sessions:
        row = rows[official_id]
        row.sessions += 1
        row.minutes += max(0, int(((checked_out or now) - checked_in).total_seconds() // 60))
    attribute = {A.OFFICIAL_TAKE: "taken", A.OFFICIAL_DISPATCH: "dispatched", A.OFFICIAL_ANSWER: "answered"}
    for official_id, action, n in steps:
        name = attribute[A(action)]
        setattr(rows[official_id], name, getattr(rows[official_id], name) + n)
    return sorted(rows.values(), key=lambda r: (-r.sessions, -r.minutes, r.name))


# --- representatives (履职信息通报) -----------------------------------------------------------


@dataclass
class RepRow:
    representative_id: int
    name: str
    level: RepLevel | None
    stations: list[str] = field(default_factory=list)
    rank: int = 0  # the level's order, national first
    duties: int = 0
    minutes: int = 0
    residents: int = 0
    taken_up: int = 0
    closed: int = 0
    rated: int = 0
    satisfied: int = 0

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)  # as services.duty_lines.Tally.hours

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def counted_duty_clause():
    """The SQL twin of services.duty_lines.counts: checked out, and proven or confirmed."""
    return sa.and_(
        Duty.status == DutyStatus.CLOSED,
        sa.or_(Duty.pending_reason.is_(None), Duty.pending_reason == "", Duty.confirmed_by_id.is_not(None)),
    )


def representatives(user: User, period: Period) -> list[RepRow]:
    """Every representative in scope (a quiet one with zeros), by level then name."""
    start, end = period.utc_bounds()
    in_scope = representatives_clause(user)
    reps = db.session.scalars(
        sa.select(Representative)
        .where(in_scope)
        .options(joinedload(Representative.user), selectinload(Representative.stations))
    ).all()
    if not reps:
        return []
    levels = list(RepLevel)
    rows = {
        r.id: RepRow(r.id, r.name, r.level, sorted(s.name for s in r.stations if s.is_active), levels.index(r.level))
        for r in reps
    }
    rep_ids = sa.select(Representative.id).where(in_scope)
    # duties: one query's rows, minutes floored per duty as duty_lines does
    for rep_id, checked_in, checked_out, residents in db.session.execute(
        sa.select(Duty.representative_id, Duty.checked_in_at, Duty.checked_out_at, Duty.residents_received).where(
            Duty.representative_id.in_(rep_ids),
            Duty.checked_in_at >= start,
            Duty.checked_in_at < end,
            counted_duty_clause(),
        )
    ):
        row = rows[rep_id]
        row.duties += 1
        row.minutes += max(0, int((checked_out - checked_in).total_seconds() // 60))
        row.residents += residents or 0
    # taken up (定单): the accept step, in the period, on concerns assigned to them
    for rep_id, n in db.session.execute(
        sa.select(Concern.assigned_rep_id, sa.func.count())
        .select_from(ConcernEvent)
        .join(Concern, Concern.id == ConcernEvent.concern_id)
        .where(
            ConcernEvent.action == A.ACCEPT,
            ConcernEvent.created_at >= start,
            ConcernEvent.created_at < end,
            Concern.assigned_rep_id.in_(rep_ids),
        )
        .group_by(Concern.assigned_rep_id)
    ):
        rows[rep_id].taken_up = n
    # closed in the period, rated and satisfied (the representative's rating)
    for rep_id, closed, rated, satisfied in db.session.execute(
        sa.select(
            Concern.assigned_rep_id,
            sa.func.count(),
            sa.func.count().filter(Concern.rating_rep.is_not(None)),
            sa.func.count().filter(Concern.rating_rep.in_(SATISFIED)),
        )
        .where(closed_in(period), Concern.assigned_rep_id.in_(rep_ids))
        .group_by(Concern.assigned_rep_id)
    ):
        row = rows[rep_id]
        row.closed, row.rated, row.satisfied = closed, rated, satisfied
    return sorted(rows.values(), key=lambda r: (r.rank, r.name))


def rep_totals(rows: list[RepRow]) -> RepRow:
    total = RepRow(0, "", None)
    for row in rows:
        for name in ("duties", "minutes", "residents", "taken_up", "closed", "rated", "satisfied"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return total


@dataclass
class ActivityFigures:
    period: Period
    bookings: list[BookingRow]
    bookings_total: BookingCounts
    officials: list[OfficialRow]
    representatives: list[RepRow]
    representatives_total: RepRow
    meetings: list[RegionRow] = field(default_factory=list)
    meetings_total: RegionRow = field(default_factory=lambda: RegionRow(0, ""))


def activity(user: User, period: Period, now: datetime) -> ActivityFigures:
    booking_rows, booking_total = bookings(user, period)
    reps = representatives(user, period)
    meeting_rows, meeting_total = meetings_by_region(user, period, now)
    return ActivityFigures(
        period,
        booking_rows,
        booking_total,
        officials(user, period, now),
        reps,
        rep_totals(reps),
        meeting_rows,
        meeting_total,
    )
