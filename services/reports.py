"""履职档案 and 代表述职: a representative's duties, totalled by month, year and station."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from extensions import db
from models import Concern, Duty, Representative, utcnow
from models.enums import DutyStatus
from services.clock import to_local, year_bounds
from services.duty import counts, open_duty


@dataclass
class DutyLine:
    duty: Duty
    local_in: datetime
    local_out: datetime | None
    minutes: int
    concerns: int
    counted: bool


@dataclass
class Totals:
    duties: int = 0
    minutes: int = 0
    residents: int = 0
    concerns: int = 0
    auto_closed: int = 0
    pending: int = 0

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    def add(self, line: DutyLine) -> None:
        if line.counted:
            self.duties += 1
            self.minutes += line.minutes
            self.residents += line.duty.residents_received
            self.concerns += line.concerns
        elif line.duty.status == DutyStatus.AUTO_CLOSED:
            self.auto_closed += 1
        elif line.duty.pending_reason and line.duty.status != DutyStatus.VOIDED:
            self.pending += 1


@dataclass
class PerformanceFile:
    open_duty: Duty | None
    lines: list[DutyLine]
    months: dict[int, Totals] = field(default_factory=dict)
    year: Totals = field(default_factory=Totals)


def duty_lines(rep: Representative, year: int) -> list[DutyLine]:
    start, end = year_bounds(year)
    duties = db.session.scalars(
        sa.select(Duty)
        .options(joinedload(Duty.station))
        .where(Duty.representative_id == rep.id, Duty.checked_in_at >= start, Duty.checked_in_at < end)
        .order_by(Duty.checked_in_at.desc())
    ).all()
    concern_counts = dict(
        db.session.execute(
            sa.select(Concern.duty_id, sa.func.count())
            .where(Concern.duty_id.in_([d.id for d in duties]))
            .group_by(Concern.duty_id)
        ).all()
    )
    now = utcnow()
    lines = []
    for d in duties:
        out = d.checked_out_at or now
        lines.append(
            DutyLine(
                duty=d,
                local_in=to_local(d.checked_in_at),
                local_out=to_local(d.checked_out_at) if d.checked_out_at else None,
                minutes=max(0, int((out - d.checked_in_at).total_seconds() // 60)),
                concerns=concern_counts.get(d.id, 0),
                counted=counts(d),
            )
        )
    return lines


def performance_file(rep: Representative, year: int) -> PerformanceFile:
    lines = duty_lines(rep, year)
    months: dict[int, Totals] = defaultdict(Totals)
    total = Totals()
    for line in lines:
        months[line.local_in.month].add(line)
        total.add(line)
    return PerformanceFile(open_duty=open_duty(rep), lines=lines, months=dict(sorted(months.items())), year=total)


@dataclass
class AnnualReport:
    by_station: list[tuple[str, Totals]]
    total: Totals


def annual_report(rep: Representative, year: int) -> AnnualReport:
    by_station: dict[str, Totals] = defaultdict(Totals)
    total = Totals()
    for line in duty_lines(rep, year):
        by_station[line.duty.station.name].add(line)
        total.add(line)
    return AnnualReport(by_station=sorted(by_station.items()), total=total)
