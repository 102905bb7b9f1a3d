"""履职档案 and 代表述职: a representative's duties, totalled by month, year and station.

The lines and the counter are services.duty_lines': the attendance review counts the
same duties the same way.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import Duty, Representative, utcnow
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


@dataclass
class AnnualReport:
    by_station: list[tuple[str, Tally]]
    total: Tally


def annual_report(rep: Representative, year: int, now: datetime | None = None) -> AnnualReport:
    by_station: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for line in year_lines(rep, year, now):
        by_station[line.duty.station.name].add(line)
        total.add(line)
    return AnnualReport(by_station=sorted(by_station.items()), total=total)
