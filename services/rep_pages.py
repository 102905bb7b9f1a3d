"""代表码: reading a representative for their public page (/r/<code>) — who they are, where
they serve, when they are next on duty, and what they did this year.

The year's figures are the annual report's (services.reports: the duties counted as the
performance file counts them, the concerns taken up and closed as services.figures counts
them), never typed: the page shows the record, and only its totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import DutySlot, Representative, Station, utcnow
from services import reports
from services.clock import local_now, local_today
from services.roster import has_ended

CARDS_PER_SHEET = 10  # 90 × 54 mm business cards, two across and five down an A4 sheet


def by_code(code: str) -> Representative | None:
    """The representative `code` names (their stations read along), or None."""
    return db.session.scalar(
        sa.select(Representative)
        .where(Representative.code == code)
        .options(joinedload(Representative.user), selectinload(Representative.stations))
    )


def active_stations(rep: Representative) -> list[Station]:
    """Their open stations, the first they were given first."""
    return sorted((s for s in rep.stations if s.is_active), key=lambda s: s.id)


def primary_station(rep: Representative) -> Station | None:
    """Where a concern written to them belongs: their first open station."""
    stations = active_stations(rep)
    return stations[0] if stations else None


def accepts_concerns(rep: Representative, today: date | None = None) -> bool:
    """A resident may write to them: in office, with an account switched on and a station
    the concern can belong to."""
    return rep.serving_on(today or local_today()) and rep.user.active and primary_station(rep) is not None


def next_duty(rep: Representative, now: datetime | None = None) -> DutySlot | None:
    """Their next roster slot (排班) at an open station that has not ended yet: today's when
    it is still to come or under way, else the first of a later day."""
    now = now or utcnow()
    today = local_today(now)
    slots = db.session.scalars(
        sa.select(DutySlot)
        .join(Station, Station.id == DutySlot.station_id)
        .options(joinedload(DutySlot.station))
        .where(DutySlot.representative_id == rep.id, DutySlot.day >= today, Station.is_active)
        .order_by(DutySlot.day, DutySlot.starts_at)
        .limit(8)  # today's few, at most, before a later day's
    )
    return next((slot for slot in slots if not has_ended(slot.day, slot.ends_at, now)), None)


@dataclass(frozen=True)
class YearSummary:
    """The public summary of a representative's work in one year (代表履职公开)."""

    year: int
    duties: int  # on-site duty sessions counted (进站履职)
    hours: float
    residents: int  # residents received on duty
    taken_up: int  # concerns taken up (代表定单)
    closed: int  # of the concerns assigned to them, closed in the year
    rated: int  # of those, rated by the resident (the representative's rating)
    satisfied: int  # satisfied or basically satisfied

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def year_summary(rep: Representative, year: int | None = None, now: datetime | None = None) -> YearSummary:
    """This (local) year's summary, from the annual report's figures."""
    now = now or utcnow()
    year = year or local_now(now).year
    report = reports.annual_report(rep, year, now)
    counts = report.concerns.counts
    return YearSummary(
        year=year,
        duties=report.total.duties,
        hours=report.total.hours,
        residents=report.total.residents,
        taken_up=report.concerns.taken_up,
        closed=counts.closed,
        rated=counts.rated_rep,
        satisfied=counts.satisfied_rep,
    )
