"""履职档案 and 代表述职: a representative's duties, totalled by month, year and station,
and (in the annual report) the concerns they took up, supervised and closed.

The lines and the counter are services.duty_lines': the attendance review counts the
same duties the same way. The concerns' closing and satisfaction figures are
services.figures' counts, over the concerns assigned to the representative.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import Concern, ConcernEvent, Duty, Representative, utcnow
from models.enums import ConcernAction as A
from models.enums import Rating
from services import figures
from services.clock import year_bounds
from services.duty import open_duty
from services.duty_lines import DutyLine, Tally, duty_lines


@dataclass
class PerformanceFile:
    open_duty: Duty | None
    lines: list[DutyLine]
    months: dict[int, Tally] = field(default_factory=dict)
    year: Tally = field(default_factory=Tally)


def year_lines(rep: Representative, year: int, now: datetime | None = None) -> list[DutyLine]:
    """The representative's duties checked in during the local `year`, newest first."""
    start, end = year_bounds(year)
    duties = db.session.scalars(
        sa.select(Duty)
        .options(joinedload(Duty.station))
        .where(Duty.representative_id == rep.id, Duty.checked_in_at >= start, Duty.checked_in_at < end)
        .order_by(Duty.checked_in_at.desc())
    ).all()
    return duty_lines(list(duties), now or utcnow())


def performance_file(rep: Representative, year: int, now: datetime | None = None) -> PerformanceFile:
    lines = year_lines(rep, year, now)
    months: dict[int, Tally] = defaultdict(Tally)
    total = Tally()
    for line in lines:
        months[line.local_in.month].add(line)
        total.add(line)
    return PerformanceFile(open_duty=open_duty(rep), lines=lines, months=dict(sorted(months.items())), year=total)


# 督单: the representative's own steps on an answer (services.concern_flow: from replied).
SUPERVISE_STEPS = (A.CONFIRM, A.SEND_BACK)


@dataclass
class ConcernWork:
    """A representative's concerns in one year.

    - taken_up (定单): concerns assigned to them whose accept step fell in the year, whether
      they took it up themselves or a manager gave it to them (both are the accept step);
    - supervised (督单): concerns on which they confirmed or sent back a handling unit's
      answer in the year; sent_back: how many times they sent one back;
    - resolved: concerns they resolved on the spot (当场办结) in the year;
    - counts: services.figures' counts over the concerns assigned to them (closed in the
      year, average working days, on-time, first-round and final satisfaction rates);
    - ratings: the final representative rating of the concerns closed in the year."""

    taken_up: int = 0
    supervised: int = 0
    sent_back: int = 0
    resolved: int = 0
    counts: figures.Counts = field(default_factory=figures.Counts)
    ratings: dict[Rating, int] = field(default_factory=dict)

    @property
    def unrated(self) -> int:
        """Closed without a rating from the resident (closed automatically)."""
        return self.counts.closed - self.counts.rated_rep


def concern_work(rep: Representative, year: int, now: datetime | None = None) -> ConcernWork:
    now = now or utcnow()
    period = figures.Period(date(year, 1, 1), date(year, 12, 31))
    start, end = period.utc_bounds()
    in_year = sa.and_(ConcernEvent.created_at >= start, ConcernEvent.created_at < end)
    taken_up = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ConcernEvent)
        .join(Concern, Concern.id == ConcernEvent.concern_id)
        .where(ConcernEvent.action == A.ACCEPT, Concern.assigned_rep_id == rep.id, in_year)
    )
    own = sa.and_(ConcernEvent.actor_id == rep.user_id, in_year)
    # A unit's answer: confirming one's own on-the-spot resolution (no unit) is not 督单.
    of_unit = Concern.unit_id.is_not(None)
    supervised, sent_back, resolved = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(ConcernEvent.concern_id)).filter(
                ConcernEvent.action.in_(SUPERVISE_STEPS), of_unit
            ),
            sa.func.count().filter(ConcernEvent.action == A.SEND_BACK),
            sa.func.count(sa.distinct(ConcernEvent.concern_id)).filter(ConcernEvent.action == A.RESOLVE),
        )
        .select_from(ConcernEvent)
        .join(Concern, Concern.id == ConcernEvent.concern_id)
        .where(own)
    ).one()
    mine = Concern.assigned_rep_id == rep.id
    ratings = {
        Rating(value): n
        for value, n in db.session.execute(
            sa.select(Concern.rating_rep, sa.func.count())
            .where(mine, figures.closed_in(period), Concern.rating_rep.is_not(None))
            .group_by(Concern.rating_rep)
        )
    }
    return ConcernWork(
        taken_up=taken_up or 0,
        supervised=supervised,
        sent_back=sent_back,
        resolved=resolved,
        counts=figures.counts_where(period, now, mine),
        ratings={rating: ratings.get(rating, 0) for rating in Rating},
    )


@dataclass
class AnnualReport:
    by_station: list[tuple[str, Tally]]
    total: Tally
    concerns: ConcernWork
    generated_at: datetime  # naive UTC


def annual_report(rep: Representative, year: int, now: datetime | None = None) -> AnnualReport:
    now = now or utcnow()
    by_station: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for line in year_lines(rep, year, now):
        by_station[line.duty.station.name].add(line)
        total.add(line)
    return AnnualReport(
        by_station=sorted(by_station.items()), total=total, concerns=concern_work(rep, year, now), generated_at=now
    )
