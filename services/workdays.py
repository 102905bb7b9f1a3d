"""Working days: China's official holidays and make-up working days (调休).

Three sources, in order: the admin's CalendarDay rows (a new year's schedule, entered once
the State Council publishes it), then the `chinese_calendar` library (years it knows), then
plain weekdays — and a result counted on weekdays is reported as an estimate so the back
office can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import chinese_calendar
import sqlalchemy as sa

from extensions import db
from models import CalendarDay
from services.stations import LOCAL_TZ, to_local, to_utc

# Deadlines end at the close of the local working day.
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Deadline:
    due_at: datetime  # naive UTC, as stored
    estimated: bool  # some day was counted on weekdays only (the calendar did not know its year)


class Calendar:
    """Answers "is this a working day?" for a span of dates, loading the admin's overrides
    for that span once."""

    def __init__(self, overrides: dict[date, bool] | None = None):
        self.overrides = overrides or {}
        self.override_years = {d.year for d in self.overrides}
        self.estimated = False

    @classmethod
    def load(cls, start: date, end: date) -> Calendar:
        rows = db.session.execute(
            sa.select(CalendarDay.day, CalendarDay.is_workday).where(CalendarDay.day.between(start, end))
        )
        return cls({day: workday for day, workday in rows})

    def knows_year(self, year: int) -> bool:
        return year in self.override_years or library_knows_year(year)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.override_years:
            # The admin entered this year's schedule: days not listed are ordinary days.
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            self.estimated = True
            return day.weekday() < 5


def library_knows_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def known_years() -> list[int]:
    """Years with an official schedule: the library's and those an admin entered."""
    entered = db.session.scalars(sa.select(sa.distinct(sa.extract("year", CalendarDay.day)))).all()
    library = [y for y in range(2004, date.today().year + 3) if library_knows_year(y)]
    return sorted(set(library) | {int(y) for y in entered})


def add_working_days(start: datetime, days: int) -> Deadline:
    """The end of the `days`-th working day after `start` (naive UTC), in local time."""
    first = to_local(start).date()
    # Long holidays (Spring Festival) make ~1.5 calendar days per working day; pad generously.
    calendar = Calendar.load(first, first + timedelta(days=days * 2 + 30))
    day, counted = first, 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    due = to_utc(datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ))
    return Deadline(due, calendar.estimated)


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days after `start`'s local date up to and including `end`'s (0 the same day)."""
    first, last = to_local(start).date(), to_local(end).date()
    if last <= first:
        return 0
    calendar = Calendar.load(first, last)
    return sum(1 for n in range(1, (last - first).days + 1) if calendar.is_workday(first + timedelta(days=n)))
