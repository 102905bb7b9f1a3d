"""Working days over China's official schedule (chinese_calendar 1.11.0 knows 2004–2026), the
admin's entries for a year it does not know, and the CSV import of a State Council notice.

The 2026 days used here, as the library has them: Spring Festival off 2026-02-15..23 with
make-up working days Saturday 02-14 and Saturday 02-28; Mid-Autumn off Friday 09-25;
National Day off 10-01..07 with make-up working days Sunday 09-20 and Saturday 10-10.
"""

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, CalendarDay
from models.enums import Role
from services import workdays
from services.clock import to_local, utc_at
from services.workdays import Calendar, CalendarRefused, add_working_days, working_days_between
from tests import factories


def utc(local: str) -> datetime:
    """A local (China) wall-clock time as the naive UTC the database stores."""
    moment = datetime.fromisoformat(local)
    return utc_at(moment.date(), moment.time())


def due_day(deadline) -> date:
    """The local date a deadline ends on (it always ends at 23:59:59 local)."""
    local = to_local(deadline.due_at)
    assert (local.hour, local.minute, local.second) == (23, 59, 59)
    return local.date()


def test_the_library_has_the_2026_days_these_tests_rely_on():
    off = [date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)] + [date(2026, 9, 25)]
    off += [date(2026, 10, d) for d in range(1, 8)]
    make_up = [date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)]
    assert not any(chinese_calendar.is_workday(d) for d in off)
    assert all(chinese_calendar.is_workday(d) and d.weekday() >= 5 for d in make_up)
    assert workdays.library_years() == (2004, 2026)
    assert not workdays.library_knows_year(2027)


# --- add_working_days over the library ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # National Day: 10-01..07 off, so the first working day after 09-30 is Thursday 10-08.
        ("2026-09-30 10:00", 1, date(2026, 10, 8)),
        ("2026-09-30 10:00", 2, date(2026, 10, 9)),
        ("2026-09-30 10:00", 3, date(2026, 10, 10)),  # the make-up Saturday counts
        ("2026-09-30 10:00", 4, date(2026, 10, 12)),  # Sunday 10-11 does not
        # Sunday 09-20 is a make-up working day; Friday 09-25 (Mid-Autumn) is off.
        ("2026-09-18 09:00", 1, date(2026, 9, 20)),
        ("2026-09-24 09:00", 1, date(2026, 9, 28)),
        # Spring Festival: Saturday 02-14 is a working day, then 02-15..23 off.
        ("2026-02-13 09:00", 1, date(2026, 2, 14)),
        ("2026-02-13 09:00", 2, date(2026, 2, 24)),
        ("2026-02-25 09:00", 3, date(2026, 2, 28)),  # make-up Saturday 02-28
        # Ten working days across the whole Spring Festival: 02-10..14, 02-24..28.
        ("2026-02-09 09:00", 10, date(2026, 2, 28)),
    ],
)
def test_add_working_days_over_the_official_2026_schedule(db, start, days, due):
    deadline = add_working_days(utc(start), days)
    assert due_day(deadline) == due
    assert deadline.estimated is False


def test_the_deadline_ends_at_the_close_of_the_local_day(db):
    deadline = add_working_days(utc("2026-09-30 10:00"), 1)
    # 2026-10-08 23:59:59 in Beijing is 15:59:59 UTC.
    assert deadline.due_at == datetime(2026, 10, 8, 15, 59, 59)


def test_counting_starts_from_the_local_date_not_the_utc_one(db):
    # 00:30 on Saturday 2026-02-14 in Beijing is still Friday 02-13 in UTC.
    late = datetime(2026, 2, 13, 16, 30)
    assert to_local(late).date() == date(2026, 2, 14)
    assert due_day(add_working_days(late, 1)) == date(2026, 2, 24)
    # 23:59 on Friday 02-13 in Beijing: the next working day is the make-up Saturday.
    before_midnight = datetime(2026, 2, 13, 15, 59)
    assert due_day(add_working_days(before_midnight, 1)) == date(2026, 2, 14)


# --- a year the calendar does not know ---------------------------------------------------


def test_an_unknown_year_is_counted_on_weekdays_and_flagged(db):
    assert not Calendar.load(date(2027, 1, 1), date(2027, 12, 31)).knows_year(2027)
    # Friday 2027-10-01 will surely be National Day, but nobody has entered 2027 yet.
    deadline = add_working_days(utc("2027-09-30 10:00"), 1)
    assert due_day(deadline) == date(2027, 10, 1)
    assert deadline.estimated is True
    # Friday → Monday: weekends are still skipped.
    deadline = add_working_days(utc("2027-10-01 10:00"), 1)
    assert due_day(deadline) == date(2027, 10, 4) and deadline.estimated


def test_a_deadline_reaching_into_an_unknown_year_is_an_estimate(db):
    # Wednesday 2026-12-30: Thursday 12-31 is known, Friday 2027-01-01 is a guess.
    deadline = add_working_days(utc("2026-12-30 10:00"), 2)
    assert due_day(deadline) == date(2027, 1, 1)
    assert deadline.estimated is True
    # One day stays inside 2026: no estimate.
    assert add_working_days(utc("2026-12-30 10:00"), 1).estimated is False


def _enter_2027(db, *, complete: bool = True) -> None:
    """Part of a 2027 schedule: Monday 02-08 off, Saturday 02-20 a make-up working day;
    with `complete`, the admin says the year's schedule is all in."""
    db.session.add_all(
        [
            CalendarDay(day=date(2027, 2, 8), is_workday=False, name="春节"),
            CalendarDay(day=date(2027, 2, 20), is_workday=True, name="春节调休"),
        ]
    )
    db.session.flush()
    if complete:
        assert workdays.mark_complete(2027, actor=None)


def test_single_days_entered_do_not_make_a_year_known(db):
    _enter_2027(db, complete=False)
    assert not Calendar.load(date(2027, 1, 1), date(2027, 12, 31)).knows_year(2027)
    assert 2027 not in workdays.known_years() and workdays.year_source(2027) == "partial"
    # the entered day counts, but the rest of the year is still a guess
    deadline = add_working_days(utc("2027-02-05 10:00"), 1)
    assert due_day(deadline) == date(2027, 2, 9) and deadline.estimated is True
    assert add_working_days(utc("2027-06-04 10:00"), 1).estimated is True
    assert workdays.mark_complete(2027, actor=None) and not workdays.mark_complete(2027, actor=None)
    assert add_working_days(utc("2027-06-04 10:00"), 1).estimated is False
    assert workdays.year_source(2027) == "entered"


def test_a_complete_2027_is_known(db):
    _enter_2027(db)
    calendar = Calendar.load(date(2027, 2, 1), date(2027, 2, 28))
    assert calendar.knows_year(2027)
    assert 2027 in workdays.known_years() and 2028 not in workdays.known_years()

    # Friday 02-05 → Monday 02-08 is off → Tuesday 02-09.
    deadline = add_working_days(utc("2027-02-05 10:00"), 1)
    assert due_day(deadline) == date(2027, 2, 9) and deadline.estimated is False
    # Friday 02-19 → the make-up Saturday 02-20.
    deadline = add_working_days(utc("2027-02-19 10:00"), 1)
    assert due_day(deadline) == date(2027, 2, 20) and deadline.estimated is False


def test_an_entered_year_is_known_outside_the_months_that_have_entries(db):
    _enter_2027(db)
    # June 2027 has no entry; the year is entered, so its ordinary days are official.
    deadline = add_working_days(utc("2027-06-04 10:00"), 1)  # a Friday
    assert due_day(deadline) == date(2027, 6, 7)
    assert deadline.estimated is False


def test_an_entry_in_a_library_year_corrects_that_day_only(db):
    db.session.add(CalendarDay(day=date(2026, 3, 10), is_workday=False, name="local"))
    db.session.flush()
    assert due_day(add_working_days(utc("2026-03-09 10:00"), 1)) == date(2026, 3, 11)
    # The library's National Day still stands.
    assert due_day(add_working_days(utc("2026-09-30 10:00"), 1)) == date(2026, 10, 8)


def test_a_long_count_reads_entries_of_a_later_year(db):
    _enter_2027(db)
    # From December 2026 the count runs well past the first window read from the database.
    calendar = Calendar.load(date(2026, 12, 1), date(2026, 12, 31))
    assert calendar.is_workday(date(2027, 2, 20)) is True
    assert calendar.is_workday(date(2027, 2, 8)) is False
    assert calendar.estimated is False


# --- working_days_between ----------------------------------------------------------------


def test_working_days_between_the_same_local_day_is_zero(db):
    assert working_days_between(utc("2026-03-10 00:30"), utc("2026-03-10 23:30")) == 0
    assert working_days_between(utc("2026-03-10 09:00"), utc("2026-03-10 09:00")) == 0
    # An end before the start (clock skew) is not negative.
    assert working_days_between(utc("2026-03-11 09:00"), utc("2026-03-10 09:00")) == 0


def test_working_days_between_across_holidays(db):
    # Wednesday 09-30 → Thursday 10-08: only 10-08 is a working day.
    assert working_days_between(utc("2026-09-30 10:00"), utc("2026-10-08 10:00")) == 1
    # Friday 02-13 → Tuesday 02-24: the make-up Saturday 02-14 and 02-24.
    assert working_days_between(utc("2026-02-13 10:00"), utc("2026-02-24 10:00")) == 2
    # An ordinary week: Monday → next Monday is five working days.
    assert working_days_between(utc("2026-03-09 10:00"), utc("2026-03-16 10:00")) == 5


def test_working_days_between_and_add_working_days_agree(db):
    start = utc("2026-09-15 10:00")
    for days in range(0, 25):
        deadline = add_working_days(start, days)
        assert working_days_between(start, deadline.due_at) == days


# --- reading a State Council schedule ----------------------------------------------------

NOTICE_2027 = (
    "\ufeffdate,type,name\n"
    "2027-02-06,holiday,春节\n"
    "2027-02-08,holiday,春节\n"
    "2027-02-14,workday,春节调休\n"
    "\n"
    "# 国庆节\n"
    "2027/10/1,休,国庆节\n"
    "2027年10月9日,班,\n"
    "2027-10-04,假,国庆节\n"
)


def test_parse_accepts_the_forms_an_office_produces():
    rows = workdays.parse_schedule(NOTICE_2027)
    assert [(r.line, r.day, r.is_workday, r.name) for r in rows] == [
        (2, date(2027, 2, 6), False, "春节"),
        (3, date(2027, 2, 8), False, "春节"),
        (4, date(2027, 2, 14), True, "春节调休"),
        (7, date(2027, 10, 1), False, "国庆节"),
        (8, date(2027, 10, 9), True, ""),
        (9, date(2027, 10, 4), False, "国庆节"),
    ]


def test_parse_accepts_cells_pasted_from_a_spreadsheet_and_full_width_commas():
    text = '2027-02-06\tHoliday\t春节\t\t\n2027-02-14，班，春节调休\n2027-02-07,holiday,"春节, 除夕后"\n'
    rows = workdays.parse_schedule(text)
    assert [(r.day.day, r.is_workday, r.name) for r in rows] == [
        (6, False, "春节"),
        (14, True, "春节调休"),
        (7, False, "春节, 除夕后"),
    ]


def test_parse_names_every_bad_line():
    text = (
        "date,type,name\n"
        "2027-02-30,holiday,春节\n"  # no such day
        "2027-02-06,vacation,春节\n"
        "2027-02-07\n"
        "2027-02-08,holiday,春节,extra\n"
        "2027-02-09,holiday," + "长" * 41 + "\n"
        "2027-02-14,workday,春节调休\n"
        "2027-02-14,holiday,春节\n"  # conflicts with line 7
        "2027-02-14,班,春节调休\n"  # the same again: fine
        "hello\n"
    )
    with pytest.raises(CalendarRefused) as refused:
        workdays.parse_schedule(text)
    assert refused.value.code == "bad_lines"
    problems = [(p.line, p.code, p.details) for p in refused.value.details["problems"]]
    assert problems == [
        (2, "bad_date", {"value": "2027-02-30"}),
        (3, "bad_type", {"value": "vacation"}),
        (4, "missing_type", {"day": "2027-02-07"}),
        (5, "too_many_columns", {"count": 4}),
        (6, "name_too_long", {"limit": 40}),
        (8, "conflict", {"day": "2027-02-14", "other": 7}),
        (10, "bad_date", {"value": "hello"}),
    ]


@pytest.mark.parametrize(("text", "code"), [("", "empty"), ("date,type,name\n\n# nothing\n", "empty")])
def test_parse_refuses_a_file_without_days(text, code):
    with pytest.raises(CalendarRefused) as refused:
        workdays.parse_schedule(text)
    assert refused.value.code == code


def test_parse_refuses_a_huge_file():
    with pytest.raises(CalendarRefused) as refused:
        workdays.parse_schedule("2027-01-04,holiday,x\n" * (workdays.MAX_LINES + 1))
    assert refused.value.code == "too_long"


def test_decode_upload_reads_utf8_with_bom_and_excel_gbk():
    assert workdays.decode_upload("\ufeff2027-02-06,休,春节".encode()) == "2027-02-06,休,春节"
    assert workdays.decode_upload("2027-02-06,休,春节".encode("gb18030")) == "2027-02-06,休,春节"
    with pytest.raises(CalendarRefused) as refused:
        workdays.decode_upload(b"x" * (workdays.MAX_UPLOAD_BYTES + 1))
    assert refused.value.code == "too_long"


# --- storing a schedule ------------------------------------------------------------------


def _entered() -> dict[date, tuple[bool, str]]:
    return {row.day: (row.is_workday, row.name) for row in _db.session.scalars(sa.select(CalendarDay))}


def test_import_stores_the_days_and_leaves_a_trace(db):
    admin = factories.user(Role.ADMIN)
    summary = workdays.import_schedule(NOTICE_2027, actor=admin)
    assert summary.years == [2027]
    assert (summary.holidays, summary.workdays, summary.added, summary.changed, summary.removed) == (4, 2, 6, 0, 0)
    entered = _entered()
    assert entered[date(2027, 2, 14)] == (True, "春节调休") and entered[date(2027, 10, 1)] == (False, "国庆节")
    assert _db.session.get(CalendarDay, date(2027, 2, 6)).created_by_id == admin.id
    log = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "calendar.imported")).one()
    assert log.actor_id == admin.id
    assert log.data == {"years": [2027], "holidays": 4, "workdays": 2, "added": 6, "changed": 0, "removed": 0}
    assert Calendar.load(date(2027, 1, 1), date(2027, 1, 31)).knows_year(2027)
    # Friday 2027-10-01 is now a holiday; Saturday 10-09 a make-up working day.
    deadline = add_working_days(utc("2027-09-30 10:00"), 1)
    assert due_day(deadline) == date(2027, 10, 5) and deadline.estimated is False


def test_import_replaces_the_same_dates_and_keeps_the_rest(db):
    workdays.import_schedule(NOTICE_2027, actor=None)
    summary = workdays.import_schedule("2027-02-14,holiday,改为放假\n2027-02-08,holiday,春节\n", actor=None)
    assert (summary.added, summary.changed) == (0, 1)
    entered = _entered()
    assert entered[date(2027, 2, 14)] == (False, "改为放假")
    assert len(entered) == 6


def test_import_can_replace_whole_years(db):
    workdays.import_schedule(NOTICE_2027, actor=None)
    workdays.import_schedule("2026-03-10,holiday,local\n", actor=None)
    summary = workdays.import_schedule("2027-02-06,holiday,春节\n", actor=None, replace_years=True)
    assert summary.removed == 5
    assert set(_entered()) == {date(2027, 2, 6), date(2026, 3, 10)}  # another year is untouched


def test_a_bad_line_stores_nothing(db):
    with pytest.raises(CalendarRefused):
        workdays.import_schedule(NOTICE_2027 + "2027-13-01,holiday,x\n", actor=None)
    assert _entered() == {}
    assert not _db.session.scalars(sa.select(AuditLog)).all()


def test_set_and_delete_one_day(db):
    admin = factories.user(Role.ADMIN)
    entry = workdays.set_day(date(2027, 5, 3), False, " 劳动节 ", actor=admin)
    assert (entry.is_workday, entry.name) == (False, "劳动节")
    workdays.set_day(date(2027, 5, 3), True, "改", actor=admin)
    assert _entered() == {date(2027, 5, 3): (True, "改")}
    with pytest.raises(CalendarRefused) as refused:
        workdays.set_day(date(2027, 5, 4), False, "长" * 41, actor=admin)
    assert refused.value.code == "name_too_long"
    assert workdays.delete_day(date(2027, 5, 3), actor=admin) is True
    assert workdays.delete_day(date(2027, 5, 3), actor=admin) is False
    assert _entered() == {}
    actions = _db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["calendar.day_set", "calendar.day_set", "calendar.day_deleted"]


def test_special_days_come_from_whichever_source(db):
    library = {d.day: d for d in workdays.special_days(2026)}
    assert library[date(2026, 2, 14)].is_workday and library[date(2026, 2, 14)].source == "library"
    assert library[date(2026, 10, 1)].name == "National Day"
    assert date(2026, 10, 3) not in library  # a Saturday off is ordinary
    assert workdays.year_source(2026) == "library" and workdays.year_source(2027) == "unknown"
    assert workdays.special_days(2027) == []

    workdays.import_schedule(NOTICE_2027, actor=None)
    entered = workdays.special_days(2027)
    assert [d.day for d in entered] == sorted(d.day for d in entered)
    assert {d.source for d in entered} == {"entered"} and len(entered) == 6
    assert workdays.year_source(2027) == "entered"
    workdays.set_day(date(2026, 3, 10), False, "local", actor=None)
    assert workdays.year_source(2026) == "both"
    assert {d.day: d.source for d in workdays.special_days(2026)}[date(2026, 3, 10)] == "entered"


def test_the_count_reads_the_calendar_once_per_year(db):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", record)
    try:
        add_working_days(utc("2026-12-20 10:00"), 30)  # runs into 2027
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", record)
    assert len([s for s in statements if "calendar_day" in s]) == 1


def test_one_deadline_per_day_of_2026_never_lands_on_a_day_off(db):
    start = datetime(2026, 1, 1, 2, 0)
    for n in range(0, 360, 3):
        deadline = add_working_days(start + timedelta(days=n), 5)
        assert chinese_calendar.is_workday(due_day(deadline)) or due_day(deadline).year == 2027
