"""Working days: China's official holidays and make-up working days (调休).

Three sources, in order: the admin's CalendarDay rows (a new year's schedule, entered once
the State Council publishes it, or a correction of a single day), then the `chinese_calendar`
library (years it knows), then plain weekdays — and a result counted on weekdays is reported
as an estimate so the back office can say so.

An admin enters a schedule as CSV lines `date,type,name` (import_schedule), or one day at a
time (set_day); both leave an AuditLog row.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

import chinese_calendar
import sqlalchemy as sa

from extensions import db
from models import CalendarDay, CalendarYear, User, utcnow
from services import audit
from services.clock import end_of_day, to_local
from services.errors import DomainError
from services.limits import CALENDAR_DAY_NAME_MAX

MAX_LINES = 2000  # a year's notice is a few dozen lines; anything far larger is the wrong file
MAX_UPLOAD_BYTES = 256 * 1024
FIRST_YEAR, LAST_YEAR = 1990, 2099  # a date outside is a typing mistake


@dataclass(frozen=True)
class Deadline:
    due_at: datetime  # naive UTC, as stored
    estimated: bool  # some day was counted on weekdays only (the calendar did not know its year)


class CalendarRefused(DomainError):
    pass


class Calendar:
    """Answers "is this a working day?", reading the admin's entries a whole year at a time
    (a few dozen rows), so a year counts as entered however far the span reaches into it.
    `Calendar.load(start, end)` reads the years of the span, and later years when asked."""

    def __init__(self):
        self.overrides: dict[date, bool] = {}
        self.complete_years: set[int] = set()
        self.estimated = False
        self._loaded_years: set[int] = set()

    @classmethod
    def load(cls, start: date, end: date) -> Calendar:
        calendar = cls()
        calendar._load(range(start.year, end.year + 1))
        return calendar

    def _load(self, years) -> None:
        years = [y for y in years if y not in self._loaded_years]
        if not years:
            return
        rows = db.session.execute(
            sa.select(CalendarDay.day, CalendarDay.is_workday).where(
                CalendarDay.day.between(date(min(years), 1, 1), date(max(years), 12, 31))
            )
        )
        for day, workday in rows:
            self.overrides[day] = workday
        self.complete_years.update(
            db.session.scalars(sa.select(CalendarYear.year).where(CalendarYear.year.between(min(years), max(years))))
        )
        self._loaded_years.update(range(min(years), max(years) + 1))

    def _ensure(self, year: int) -> None:
        if year not in self._loaded_years:
            self._load([year])

    def knows_year(self, year: int) -> bool:
        self._ensure(year)
        return year in self.complete_years or library_knows_year(year)

    def is_workday(self, day: date) -> bool:
        self._ensure(day.year)
        if day in self.overrides:
            return self.overrides[day]
        try:
            # In a year the library knows, an entry corrects that one day; the rest stands.
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            # A year the library does not know: once its whole schedule is in (imported, or
            # marked complete) every day not entered is ordinary; until then it is a guess.
            if day.year not in self.complete_years:
                self.estimated = True
            return day.weekday() < 5


@cache
def library_knows_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@cache
def library_years() -> tuple[int, int]:
    """The first and last year the installed `chinese_calendar` knows (2004–2026 in 1.11.0)."""
    years = [y for y in range(FIRST_YEAR, LAST_YEAR + 1) if library_knows_year(y)]
    return years[0], years[-1]


def entered_years() -> list[int]:
    years = db.session.scalars(sa.select(sa.distinct(sa.extract("year", CalendarDay.day)))).all()
    return sorted(int(y) for y in years)


def complete_years() -> list[int]:
    """Years whose whole schedule was entered here (imported, or marked complete)."""
    return list(db.session.scalars(sa.select(CalendarYear.year).order_by(CalendarYear.year)))


def known_years() -> list[int]:
    """Years with an official schedule: the library's and those entered here in full."""
    first, last = library_years()
    return sorted(set(range(first, last + 1)) | set(complete_years()))


def mark_complete(year: int, *, actor: User | None) -> bool:
    """Say that `year`'s whole schedule is entered; False when it already was."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarRefused("bad_date", value=str(year))
    if db.session.get(CalendarYear, year) is not None:
        return False
    db.session.add(CalendarYear(year=year, marked_by_id=actor.id if actor else None))
    db.session.flush()
    audit.log(actor, "calendar.year_completed", year=year)
    return True


def add_working_days(start: datetime, days: int) -> Deadline:
    """The end of the `days`-th working day after `start` (naive UTC), in local time."""
    first = to_local(start).date()
    # Long holidays (Spring Festival) make ~1.5 calendar days per working day: one query
    # covers the likely span; a later year is still read if the count reaches it.
    calendar = Calendar.load(first, first + timedelta(days=days * 2 + 30))
    day, counted = first, 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    due = end_of_day(day)  # deadlines end at the close of the local working day
    return Deadline(due, calendar.estimated)


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days after `start`'s local date up to and including `end`'s (0 the same day)."""
    first, last = to_local(start).date(), to_local(end).date()
    if last <= first:
        return 0
    calendar = Calendar.load(first, last)
    return sum(1 for n in range(1, (last - first).days + 1) if calendar.is_workday(first + timedelta(days=n)))


# --- what a year looks like ------------------------------------------------------------


@dataclass(frozen=True)
class SpecialDay:
    day: date
    is_workday: bool
    name: str  # the admin's text, or the library's English holiday name
    source: str  # "entered" | "library"


def year_source(year: int) -> str:
    """Where a year's schedule comes from: "entered" (in full), "partial" (some days entered,
    not yet complete), "library", "both" or "unknown"."""
    entered = db.session.scalar(
        sa.select(sa.func.count()).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    )
    library = library_knows_year(year)
    if entered and library:
        return "both"
    if library:
        return "library"
    if db.session.get(CalendarYear, year) is not None:
        return "entered"
    return "partial" if entered else "unknown"


def entered_days(year: int) -> list[CalendarDay]:
    return list(
        db.session.scalars(
            sa.select(CalendarDay)
            .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
            .order_by(CalendarDay.day)
        )
    )


def special_days(year: int) -> list[SpecialDay]:
    """Every day an admin entered, and the library's days that differ from an ordinary week
    (holidays on weekdays, make-up working days at weekends), in date order."""
    entered = {row.day: row for row in entered_days(year)}
    result = []
    day, last = date(year, 1, 1), date(year, 12, 31)
    library = library_knows_year(year)
    while day <= last:
        if day in entered:
            row = entered[day]
            result.append(SpecialDay(day, row.is_workday, row.name, "entered"))
        elif library:
            workday = chinese_calendar.is_workday(day)
            if workday != (day.weekday() < 5):
                name = chinese_calendar.get_holiday_detail(day)[1] or ""
                result.append(SpecialDay(day, workday, name, "library"))
        day += timedelta(days=1)
    return result


# --- entering a schedule -----------------------------------------------------------------

# The second column: English as in the docs, and the words of the State Council notices.
TYPE_WORDS = {
    "holiday": False,
    "workday": True,
    "休": False,
    "假": False,
    "休息": False,
    "放假": False,
    "班": True,
    "上班": True,
}
HEADER_WORDS = {"date", "日期"}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@dataclass(frozen=True)
class ScheduleRow:
    line: int
    day: date
    is_workday: bool
    name: str


@dataclass(frozen=True)
class Problem:
    line: int
    code: str  # bad_date, bad_type, missing_type, too_many_columns, name_too_long, conflict
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ImportSummary:
    years: list[int]
    holidays: int
    workdays: int
    added: int
    changed: int
    removed: int


def decode_upload(data: bytes) -> str:
    """An uploaded CSV as text: UTF-8 (with or without BOM), or GB18030, which Excel on a
    Chinese Windows writes by default."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CalendarRefused("too_long", limit=MAX_LINES)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CalendarRefused("not_text")


def parse_date(text: str) -> date | None:
    """2027-02-06, 2027/2/6, 2027.2.6 or 2027年2月6日; None if it is no real date."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    try:
        day = date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def _cells(line: str) -> list[str]:
    # Pasted from a spreadsheet the cells are tab-separated; typed on a Chinese keyboard the
    # comma may be the full-width "，".
    delimiter = "," if "," in line else "\t" if "\t" in line else "，"
    cells = [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]
    while cells and not cells[-1]:
        cells.pop()  # spreadsheets add empty trailing columns
    return cells


def parse_schedule(text: str) -> list[ScheduleRow]:
    """The rows of a schedule, or CalendarRefused("bad_lines", problems=[Problem, ...]) naming
    every bad line; "empty" and "too_long" for the file as a whole."""
    lines = text.lstrip("\ufeff").splitlines()
    if len(lines) > MAX_LINES:
        raise CalendarRefused("too_long", limit=MAX_LINES)
    rows: list[ScheduleRow] = []
    problems: list[Problem] = []
    seen: dict[date, ScheduleRow] = {}
    first_content = True
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = _cells(line)
        if not cells:
            continue
        if first_content and cells[0].lower() in HEADER_WORDS:
            first_content = False
            continue
        first_content = False
        day = parse_date(cells[0])
        if day is None:
            problems.append(Problem(number, "bad_date", {"value": cells[0]}))
            continue
        if len(cells) < 2:
            problems.append(Problem(number, "missing_type", {"day": day.isoformat()}))
            continue
        if len(cells) > 3:
            problems.append(Problem(number, "too_many_columns", {"count": len(cells)}))
            continue
        kind = cells[1].lower()
        if kind not in TYPE_WORDS:
            problems.append(Problem(number, "bad_type", {"value": cells[1]}))
            continue
        name = cells[2] if len(cells) > 2 else ""
        if len(name) > CALENDAR_DAY_NAME_MAX:
            problems.append(Problem(number, "name_too_long", {"limit": CALENDAR_DAY_NAME_MAX}))
            continue
        row = ScheduleRow(number, day, TYPE_WORDS[kind], name)
        earlier = seen.get(day)
        if earlier is not None:
            if earlier.is_workday != row.is_workday:
                problems.append(Problem(number, "conflict", {"day": day.isoformat(), "other": earlier.line}))
            continue  # the same day twice with the same type: the first line counts
        seen[day] = row
        rows.append(row)
    if problems:
        raise CalendarRefused("bad_lines", problems=problems)
    if not rows:
        raise CalendarRefused("empty")
    return rows


def _upsert(day: date, is_workday: bool, name: str, actor: User | None, existing: CalendarDay | None) -> str:
    """Store one day; "added", "changed" or "same"."""
    if existing is None:
        db.session.add(
            CalendarDay(day=day, is_workday=is_workday, name=name, created_by_id=actor.id if actor else None)
        )
        return "added"
    if existing.is_workday == is_workday and existing.name == name:
        return "same"
    existing.is_workday, existing.name = is_workday, name
    # "Entered by" names who set the value that now stands.
    existing.created_by_id, existing.created_at = (actor.id if actor else None), utcnow()
    return "changed"


def import_schedule(text: str, *, actor: User | None, replace_years: bool = False) -> ImportSummary:
    """Store a schedule's days, replacing entries for the same dates. With `replace_years`,
    entries for the file's years that the file does not list are removed too. All or nothing:
    one bad line refuses the whole file (see parse_schedule)."""
    rows = parse_schedule(text)
    years = sorted({row.day.year for row in rows})
    existing = {
        entry.day: entry
        for entry in db.session.scalars(
            sa.select(CalendarDay).where(CalendarDay.day.between(date(years[0], 1, 1), date(years[-1], 12, 31)))
        )
    }
    counts = {"added": 0, "changed": 0, "same": 0}
    for row in rows:
        counts[_upsert(row.day, row.is_workday, row.name, actor, existing.get(row.day))] += 1
    for year in years:  # a file is a year's whole schedule
        if db.session.get(CalendarYear, year) is None:
            db.session.add(CalendarYear(year=year, marked_by_id=actor.id if actor else None))
    removed = 0
    if replace_years:
        listed = {row.day for row in rows}
        for day, entry in existing.items():
            if day.year in years and day not in listed:
                db.session.delete(entry)
                removed += 1
    db.session.flush()
    summary = ImportSummary(
        years=years,
        holidays=sum(1 for row in rows if not row.is_workday),
        workdays=sum(1 for row in rows if row.is_workday),
        added=counts["added"],
        changed=counts["changed"],
        removed=removed,
    )
    audit.log(
        actor,
        "calendar.imported",
        years=years,
        holidays=summary.holidays,
        workdays=summary.workdays,
        added=summary.added,
        changed=summary.changed,
        removed=removed,
    )
    return summary


def set_day(day: date, is_workday: bool, name: str, *, actor: User | None) -> CalendarDay:
    """Enter one day (or change an entered one)."""
    name = (name or "").strip()
    if len(name) > CALENDAR_DAY_NAME_MAX:
        raise CalendarRefused("name_too_long", limit=CALENDAR_DAY_NAME_MAX)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise CalendarRefused("bad_date", value=day.isoformat())
    _upsert(day, is_workday, name, actor, db.session.get(CalendarDay, day))
    db.session.flush()
    audit.log(actor, "calendar.day_set", day=day.isoformat(), is_workday=is_workday, name=name)
    return db.session.get_one(CalendarDay, day)


def delete_day(day: date, *, actor: User | None) -> bool:
    """Remove an entered day; False if there was none (a repeated click)."""
    entry = db.session.get(CalendarDay, day)
    if entry is None:
        return False
    db.session.delete(entry)
    db.session.flush()
    audit.log(actor, "calendar.day_deleted", day=day.isoformat(), is_workday=entry.is_workday, name=entry.name)
    return True
