"""The attendance review of a constructed month, and the export helpers."""

import io
import secrets
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook

from models import CheckInAttempt, Duty, DutySlot
from models.enums import DutyMethod, DutyStatus, RepLevel, Role
from services import duty as duty_service
from services import exports
from services.attendance import Month, month_attendance
from services.clock import utc_at
from tests import factories

MARCH = Month(2025, 3)
NOW = datetime(2025, 3, 20, 4, 0)  # 2025-03-20 12:00 in China, naive UTC as stored


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A China-time moment of 2025 as the naive UTC the database stores."""
    return utc_at(date(2025, month, day), time(hour, minute))


def slot(db, st, rep, day: date, start: int, end: int) -> DutySlot:
    obj = DutySlot(station=st, representative=rep, day=day, starts_at=time(start), ends_at=time(end))
    db.session.add(obj)
    db.session.flush()
    return obj


def duty(db, st, rep, checked_in, checked_out, status=DutyStatus.CLOSED, **kw) -> Duty:
    obj = Duty(
        station=st,
        representative=rep,
        checked_in_at=checked_in,
        checked_out_at=checked_out,
        method=kw.pop("method", DutyMethod.QR),
        status=status,
        nonce=secrets.token_hex(8),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


@pytest.fixture
def month(db):
    """Wang: 4 slots in March — one attended, one covered only by a pending duty, one
    whose duty was voided, one still ahead on 20 March — plus a duty outside the roster
    and an auto-closed one. Li: one missed slot. Zhao, not listed at the station, came once."""
    st = factories.station()
    wang = factories.representative(stations=[st], name="王建国", level=RepLevel.COUNTY)
    li = factories.representative(stations=[st], name="李秀兰", level=RepLevel.NATIONAL)
    zhao = factories.representative(name="赵刚", level=RepLevel.TOWNSHIP)
    manager = factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[st])

    slot(db, st, wang, date(2025, 3, 3), 9, 12)
    slot(db, st, wang, date(2025, 3, 10), 9, 12)
    slot(db, st, wang, date(2025, 3, 12), 9, 12)
    slot(db, st, wang, date(2025, 3, 25), 9, 12)
    slot(db, st, li, date(2025, 3, 5), 14, 17)
    slot(db, st, wang, date(2025, 2, 26), 9, 12)  # another month
    slot(db, st, wang, date(2025, 4, 1), 9, 12)

    attended = duty(db, st, wang, utc(3, 8, 50), utc(3, 11, 20), residents_received=5)
    pending = duty(db, st, wang, utc(10, 9, 30), utc(10, 11), pending_reason="too_far", residents_received=7)
    voided = duty(db, st, wang, utc(12, 9), utc(12, 12), residents_received=4)
    outside = duty(db, st, wang, utc(15, 14), utc(15, 16), residents_received=3)
    auto = duty(db, st, wang, utc(16, 9), utc(16, 17, 30), status=DutyStatus.AUTO_CLOSED)
    guest = duty(db, st, zhao, utc(18, 9), utc(18, 10), method=DutyMethod.KIOSK, residents_received=1)
    # 1 April 01:00 in China is still 31 March in UTC: it belongs to April.
    duty(db, st, wang, utc(1, 1, month=4), utc(1, 2, month=4))
    duty_service.void(manager, voided, "签到后即离开", now=NOW)

    concern = factories.concern(station_obj=st, duty_id=attended.id)
    db.session.add(
        CheckInAttempt(
            station=st,
            representative=li,
            reason="too_far",
            method=DutyMethod.QR,
            distance_m=812,
            created_at=utc(10, 9, 25),
        )
    )
    db.session.add(
        CheckInAttempt(
            station=st,
            representative=li,
            reason="kiosk_expired",
            method=DutyMethod.KIOSK,
            created_at=utc(1, 1, month=4),
        )
    )
    db.session.flush()
    return {
        "station": st,
        "wang": wang,
        "li": li,
        "zhao": zhao,
        "manager": manager,
        "pending": pending,
        "voided": voided,
        "attended": attended,
        "outside": outside,
        "auto": auto,
        "guest": guest,
        "concern": concern,
    }


def row_of(att, rep):
    (row,) = [r for r in att.rows if r.rep.id == rep.id]
    return row.figures


def test_a_constructed_month(month):
    att = month_attendance(month["station"], MARCH, now=NOW)
    wang = row_of(att, month["wang"])
    assert (wang.scheduled, wang.attended, wang.missed, wang.pending, wang.auto_closed) == (4, 2, 1, 1, 1)
    # Counted: the attended duty (150 min, 5 residents) and the one outside the roster
    # (120 min, 3 residents). Not the pending, voided or auto-closed ones.
    assert (wang.minutes, wang.hours, wang.residents) == (270, 4.5, 8)

    li = row_of(att, month["li"])
    assert (li.scheduled, li.attended, li.missed, li.pending, li.hours) == (1, 0, 1, 0, 0)
    zhao = row_of(att, month["zhao"])  # not listed at the station, but came
    assert (zhao.scheduled, zhao.attended, zhao.missed, zhao.minutes, zhao.residents) == (0, 1, 0, 60, 1)

    assert [r.rep.name for r in att.rows] == ["李秀兰", "王建国", "赵刚"]  # national first
    t = att.total
    assert (t.scheduled, t.attended, t.missed, t.pending, t.auto_closed, t.minutes, t.residents) == (
        5,
        3,
        2,
        1,
        1,
        330,
        9,
    )

    ids = [line.duty.id for line in att.duties]
    assert ids == [month[k].id for k in ("attended", "pending", "voided", "outside", "auto", "guest")]
    lines = {line.duty.id: line for line in att.duties}
    assert lines[month["attended"].id].concerns == [month["concern"].tracking_code]
    assert lines[month["attended"].id].in_slot and not lines[month["outside"].id].in_slot
    assert lines[month["pending"].id].pending and not lines[month["pending"].id].counted
    assert not lines[month["voided"].id].counted
    # The voided duty is still there, with its reason.
    assert month["voided"].status == DutyStatus.VOIDED and month["voided"].review_note == "签到后即离开"

    assert [(a.reason, a.distance_m) for a in att.attempts] == [("too_far", 812)]


def test_confirming_the_pending_duty_makes_its_slot_attended(month):
    duty_service.confirm(month["manager"], month["pending"], "位置信号差，站长当面确认", now=NOW)
    wang = row_of(month_attendance(month["station"], MARCH, now=NOW), month["wang"])
    assert (wang.attended, wang.missed, wang.pending, wang.residents) == (3, 1, 0, 15)


def test_voiding_the_attended_duty_makes_its_slot_missed(month):
    duty_service.void(month["manager"], month["attended"], "代签", now=NOW)
    wang = row_of(month_attendance(month["station"], MARCH, now=NOW), month["wang"])
    assert (wang.scheduled, wang.attended, wang.missed, wang.residents) == (4, 1, 2, 3)


def test_later_in_the_month_the_last_slot_is_missed_too(month):
    after = datetime(2025, 3, 31, 12, 0)
    wang = row_of(month_attendance(month["station"], MARCH, now=after), month["wang"])
    assert (wang.scheduled, wang.attended, wang.missed) == (4, 2, 2)


def test_an_open_duty_covers_its_slot_without_counting_yet(db):
    st = factories.station()
    rep = factories.representative(stations=[st])
    slot(db, st, rep, date(2025, 3, 3), 9, 12)
    duty(db, st, rep, utc(3, 9), None, status=DutyStatus.OPEN)
    figures = row_of(month_attendance(st, MARCH, now=utc(3, 13)), rep)
    assert (figures.scheduled, figures.attended, figures.missed) == (1, 0, 0)


def test_two_duties_in_one_slot_count_the_slot_once(db):
    st = factories.station()
    rep = factories.representative(stations=[st])
    slot(db, st, rep, date(2025, 3, 3), 9, 12)
    duty(db, st, rep, utc(3, 9), utc(3, 10))
    duty(db, st, rep, utc(3, 10, 30), utc(3, 11, 30))
    figures = row_of(month_attendance(st, MARCH, now=NOW), rep)
    assert (figures.scheduled, figures.attended, figures.missed, figures.minutes) == (1, 1, 0, 120)


def test_a_duty_at_another_station_does_not_cover_the_slot(db):
    st, elsewhere = factories.station(), factories.station(name="别的站")
    rep = factories.representative(stations=[st, elsewhere])
    slot(db, st, rep, date(2025, 3, 3), 9, 12)
    duty(db, elsewhere, rep, utc(3, 9), utc(3, 12))
    figures = row_of(month_attendance(st, MARCH, now=NOW), rep)
    assert (figures.scheduled, figures.attended, figures.missed) == (1, 0, 1)


def test_an_empty_month_lists_the_station_representatives(db):
    st = factories.station()
    rep = factories.representative(stations=[st])
    att = month_attendance(st, MARCH, now=NOW)
    assert [r.rep.id for r in att.rows] == [rep.id] and att.duties == [] and att.total.scheduled == 0


# --- months -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2025-03", Month(2025, 3)), ("2025-3", Month(2025, 3)), ("2025-13", None), ("x", None), ("", None)],
)
def test_month_parse(text, expected):
    default = Month(2020, 1)
    assert Month.parse(text, default) == (expected or default)


def test_month_arithmetic_and_bounds():
    assert (Month(2025, 1).previous, Month(2025, 12).next) == (Month(2024, 12), Month(2026, 1))
    assert (Month(2025, 3).previous, Month(2025, 3).next, str(Month(2025, 3))) == (
        Month(2025, 2),
        Month(2025, 4),
        "2025-03",
    )
    start, end = MARCH.utc_bounds()
    assert (start, end) == (datetime(2025, 2, 28, 16), datetime(2025, 3, 31, 16))


# --- export helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+86", "-5", "@SUM(A1)", "\tx"])
def test_formula_like_text_is_neutralised(text):
    assert exports.neutralise(text) == "'" + text


def test_plain_values_are_left_alone():
    assert [exports.neutralise(v) for v in ("王建国", "", 5, 2.5, None)] == ["王建国", "", 5, 2.5, None]


def test_xlsx_keeps_formula_like_names_as_text(db):
    st = factories.station()
    rep = factories.representative(stations=[st], name='=HYPERLINK("x")')
    slot(db, st, rep, date(2025, 3, 3), 9, 12)
    book = load_workbook(io.BytesIO(exports.attendance_xlsx(month_attendance(st, MARCH, now=NOW))))
    cell = book["汇总"]["A2"]
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"


def test_content_disposition_has_an_ascii_fallback_and_rfc5987_name():
    header = exports.content_disposition("项城站-履职考勤-2025-03.csv", "attendance-ABCD-2025-03.csv")
    assert header.startswith('attachment; filename="attendance-ABCD-2025-03.csv"; ')
    assert "filename*=UTF-8''%E9%A1%B9%E5%9F%8E" in header
    assert header.isascii()


def test_month_spanning_slots_use_china_days(db):
    st = factories.station()
    rep = factories.representative(stations=[st])
    slot(db, st, rep, date(2025, 3, 31), 20, 23)
    figures = row_of(month_attendance(st, MARCH, now=NOW + timedelta(days=30)), rep)
    assert (figures.scheduled, figures.missed) == (1, 1)
