"""The back office (/manage): who may enter, the roster screens, the attendance review
with confirm and void, and the exports. Assertions are on status codes, redirects, rows
and numbers, not on wording (the Chinese catalogue is being written)."""

import csv
import io
import re
import secrets
from datetime import datetime, time, timedelta
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import load_workbook

from extensions import db as _db
from models import AuditLog, Duty, DutySlot
from models.enums import DutyMethod, DutyStatus, RegionLevel, Role
from services import roster
from services.attendance import Month
from services.clock import local_today, to_local, utc_at
from tests import factories
from tests.helpers import login

# --- helpers and the cast -------------------------------------------------------------------


def fresh() -> None:
    """End the test's own transaction (its snapshot) and forget what it loaded, to read
    what a request committed."""
    _db.session.commit()
    _db.session.expire_all()


def audit(action: str) -> list[AuditLog]:
    fresh()
    return list(_db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


@pytest.fixture
def cast(db):
    """A county under a city, a station in each of two regions, and one person of each role."""
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other_region = factories.region("411100", "漯河市", RegionLevel.CITY)
    st = factories.station(name="项城市防水行业人大代表联络站", region=county)
    other = factories.station(name="漯河市食品产业联络站", region=other_region)
    rep = factories.representative(stations=[st], name="王建国")
    people = {
        "station": st,
        "other_station": other,
        "rep": rep,
        "rep_user": rep.user,
        "manager": factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[st]),
        "other_manager": factories.user(Role.STATION_MANAGER, display_name="杨帆", managed_stations=[other]),
        "staff": factories.user(Role.CONGRESS_STAFF, display_name="刘晓梅", region=city),
        "other_staff": factories.user(Role.CONGRESS_STAFF, display_name="王静", region=other_region),
        "admin": factories.user(Role.ADMIN, display_name="系统管理员"),
        "handler": factories.user(Role.UNIT_HANDLER, display_name="办理人", unit=factories.unit()),
    }
    _db.session.commit()
    return people


def station_pages(code: str) -> list[str]:
    return [
        f"/manage/stations/{code}/roster",
        f"/manage/stations/{code}/attendance",
        f"/manage/stations/{code}/attendance.xlsx",
        f"/manage/stations/{code}/attendance.csv",
    ]


# --- who may enter -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, cast):
    for url in ["/manage", *station_pages(cast["station"].code)]:
        response = client.get(url)
        assert response.status_code == 302, url
        target = urlsplit(response.headers["Location"])
        assert target.path == "/login" and "next=" in target.query, url


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("rep_user", 403),
        ("handler", 403),
        ("other_manager", 403),
        ("other_staff", 403),
        ("manager", 200),
        ("staff", 200),
        ("admin", 200),
    ],
)
def test_station_pages_per_role(client, cast, who, status):
    login(client, cast[who])
    for url in station_pages(cast["station"].code):
        assert client.get(url).status_code == status, url


@pytest.mark.parametrize(
    ("who", "status"),
    [("rep_user", 403), ("handler", 403), ("manager", 200), ("other_manager", 200), ("staff", 200), ("admin", 200)],
)
def test_the_back_office_home_per_role(client, cast, who, status):
    login(client, cast[who])
    assert client.get("/manage").status_code == status
    assert client.get("/manage/").status_code == status


def test_unknown_station_is_404(client, cast):
    login(client, cast["admin"])
    assert client.get("/manage/stations/ZZZZZZ/roster").status_code == 404


def test_home_lists_the_stations_each_person_oversees(client, cast):
    st, other = cast["station"], cast["other_station"]
    cases = {"manager": {st.name}, "other_manager": {other.name}, "staff": {st.name}, "admin": {st.name, other.name}}
    for who, expected in cases.items():
        login(client, cast[who])
        html = client.get("/manage").text
        assert {name for name in (st.name, other.name) if name in html} == expected, who
    login(client, cast["manager"])
    html = client.get("/manage").text
    for href in (
        f"/manage/stations/{st.code}/roster",
        f"/manage/stations/{st.code}/attendance",
        f"/s/{st.code}/poster",
        f"/manage/stations/{st.code}/tablets",
        f'/s/{st.code}"',
    ):
        assert href in html, href


def test_home_name_filter(client, cast):
    login(client, cast["admin"])
    html = client.get("/manage?q=食品").text
    assert cast["other_station"].name in html and cast["station"].name not in html


# --- roster ---------------------------------------------------------------------------------------


def slot_form(rep, day, start="09:00", end="12:00", weeks="0") -> dict:
    return {
        "representative": str(rep.id),
        "day": day.isoformat(),
        "starts_at": start,
        "ends_at": end,
        "repeat_weeks": weeks,
    }


def slots() -> list[DutySlot]:
    fresh()
    return list(_db.session.scalars(sa.select(DutySlot).order_by(DutySlot.day)))


def test_roster_page_offers_the_station_representatives(client, cast):
    outsider = factories.representative(stations=[cast["other_station"]], name="局外人")
    login(client, cast["manager"])
    html = client.get(f"/manage/stations/{cast['station'].code}/roster").text
    assert f'<option value="{cast["rep"].id}"' in html and outsider.name not in html


def test_add_a_weekly_series_then_it_shows_on_the_station_page(client, cast):
    st, rep = cast["station"], cast["rep"]
    login(client, cast["manager"])
    day = local_today() + timedelta(days=1)
    response = client.post(f"/manage/stations/{st.code}/roster", data=slot_form(rep, day, weeks="3"))
    assert response.status_code == 303 and urlsplit(response.headers["Location"]).path.endswith("/roster")
    made = slots()
    assert [s.day for s in made] == [day + timedelta(weeks=w) for w in range(4)]
    assert len({s.series for s in made}) == 1 and made[0].series
    (entry,) = audit("roster.added")
    assert entry.actor_id == cast["manager"].id

    roster_html = client.get(f"/manage/stations/{st.code}/roster").text
    assert roster_html.count(f"/roster/{made[0].id}/delete") == 2  # this slot, and its series
    public = client.get(f"/s/{st.code}").text
    roster_section = public.split('class="roster"', 1)[1]
    assert rep.name in roster_section and "09:00–12:00" in roster_section


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_at": "12:00", "ends_at": "09:00"}, "ends_at"),
        ({"day_offset": -1}, "day"),
        ({"repeat_weeks": "13"}, "repeat_weeks"),
        ({"representative": "999999"}, "representative"),
        ({"day": "not-a-date"}, "day"),
    ],
)
def test_refused_additions_show_the_form_again(client, cast, change, field):
    st, rep = cast["station"], cast["rep"]
    login(client, cast["manager"])
    day = local_today() + timedelta(days=change.pop("day_offset", 2))
    data = {**slot_form(rep, day), **change}
    response = client.post(f"/manage/stations/{st.code}/roster", data=data)
    assert response.status_code == 422
    block = re.search(rf'<div class="field has-error">(?:(?!</div>).)*name="{field}"', response.text, re.S)
    assert block, field
    assert slots() == [] and audit("roster.added") == []


def test_overlap_elsewhere_is_refused_in_the_form(client, cast):
    st, rep = cast["station"], cast["rep"]
    other = cast["other_station"]
    rep.stations.append(other)
    day = local_today() + timedelta(days=2)
    roster.add_slots(cast["admin"], other, rep, day, time(10), time(11))
    login(client, cast["manager"])
    response = client.post(f"/manage/stations/{st.code}/roster", data=slot_form(rep, day))
    assert response.status_code == 422 and other.name in response.text
    assert len(slots()) == 1


def test_delete_a_slot_and_a_series(client, cast):
    st, rep = cast["station"], cast["rep"]
    day = local_today() + timedelta(days=1)
    series = roster.add_slots(cast["manager"], st, rep, day, time(9), time(12), repeat_weeks=2)
    single = roster.add_slots(cast["manager"], st, rep, day, time(14), time(16))[0]
    login(client, cast["manager"])
    response = client.post(f"/manage/stations/{st.code}/roster/{single.id}/delete")
    assert response.status_code == 303
    assert [s.id for s in slots()] == [s.id for s in series]
    response = client.post(f"/manage/stations/{st.code}/roster/{series[1].id}/delete", data={"series": "1"})
    assert response.status_code == 303 and slots() == []
    assert len(audit("roster.removed")) == 2


def test_delete_is_refused_for_another_manager_and_another_station(client, cast):
    st, rep = cast["station"], cast["rep"]
    (slot,) = roster.add_slots(cast["manager"], st, rep, local_today() + timedelta(days=1), time(9), time(12))
    login(client, cast["other_manager"])
    assert client.post(f"/manage/stations/{st.code}/roster/{slot.id}/delete").status_code == 403
    other_code = cast["other_station"].code
    assert client.post(f"/manage/stations/{other_code}/roster/{slot.id}/delete").status_code == 404
    assert len(slots()) == 1


# --- attendance review ---------------------------------------------------------------------------


def make_duty(st, rep, day_offset=-1, pending_reason=None, residents=2, status=DutyStatus.CLOSED) -> Duty:
    """A duty of 09:00–11:00 China time, `day_offset` days from today."""
    day = local_today() + timedelta(days=day_offset)
    start = utc_at(day, time(9))
    duty = Duty(
        station=st,
        representative=rep,
        checked_in_at=start,
        checked_out_at=start + timedelta(hours=2),
        method=DutyMethod.QR,
        status=status,
        nonce=secrets.token_hex(8),
        pending_reason=pending_reason,
        residents_received=residents,
        distance_m=640.0 if pending_reason else None,
    )
    _db.session.add(duty)
    _db.session.commit()
    return duty


def this_month_of(duty: Duty) -> str:
    return str(Month.of(to_local(duty.checked_in_at).date()))


def test_attendance_page_shows_duties_and_figures(client, cast):
    st, rep = cast["station"], cast["rep"]
    duty = make_duty(st, rep, pending_reason="too_far", residents=6)
    login(client, cast["manager"])
    response = client.get(f"/manage/stations/{st.code}/attendance?month={this_month_of(duty)}")
    assert response.status_code == 200
    assert f'id="duty-{duty.id}"' in response.text and rep.name in response.text
    assert f"/manage/duties/{duty.id}/confirm" in response.text and f"/manage/duties/{duty.id}/void" in response.text
    assert "attendance.xlsx" in response.text and "attendance.csv" in response.text


def test_attendance_month_navigation(client, cast):
    login(client, cast["manager"])
    html = client.get(f"/manage/stations/{cast['station'].code}/attendance?month=2025-01").text
    assert "month=2024-12" in html and "month=2025-02" in html
    assert client.get(f"/manage/stations/{cast['station'].code}/attendance?month=rubbish").status_code == 200


def test_confirm_by_post_changes_the_duty_and_leaves_a_trace(client, cast):
    duty = make_duty(cast["station"], cast["rep"], pending_reason="location_unavailable")
    login(client, cast["manager"])
    response = client.post(f"/manage/duties/{duty.id}/confirm", data={"note": "当面确认"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert f"month={this_month_of(duty)}" in location and location.endswith(f"#duty-{duty.id}")
    fresh()
    duty = _db.session.get(Duty, duty.id)
    assert duty.confirmed_by_id == cast["manager"].id and duty.review_note == "当面确认" and duty.reviewed_at
    (entry,) = audit("duty.confirmed")
    assert entry.actor_id == cast["manager"].id and entry.target_id == duty.id
    page = client.get(location.split("#")[0]).text
    assert cast["manager"].display_name in page and "当面确认" in page


def test_void_needs_a_reason_and_keeps_the_record(client, cast):
    duty = make_duty(cast["station"], cast["rep"])
    login(client, cast["staff"])
    response = client.post(f"/manage/duties/{duty.id}/void", data={"reason": "  "})
    assert response.status_code == 303
    fresh()
    assert _db.session.get(Duty, duty.id).status == DutyStatus.CLOSED and audit("duty.voided") == []

    response = client.post(f"/manage/duties/{duty.id}/void", data={"reason": "代签，经核实无效"})
    assert response.status_code == 303
    fresh()
    duty = _db.session.get(Duty, duty.id)
    assert duty is not None and duty.status == DutyStatus.VOIDED and duty.review_note == "代签，经核实无效"
    assert duty.confirmed_by_id == cast["staff"].id
    (entry,) = audit("duty.voided")
    assert entry.actor_id == cast["staff"].id and entry.data["reason"] == "代签，经核实无效"
    # Voiding twice is refused with a message, not an error.
    assert client.post(f"/manage/duties/{duty.id}/void", data={"reason": "again"}).status_code == 303
    assert len(audit("duty.voided")) == 1


@pytest.mark.parametrize("who", ["other_manager", "other_staff", "rep_user"])
def test_confirm_and_void_are_refused_outside_ones_scope(client, cast, who):
    duty = make_duty(cast["station"], cast["rep"], pending_reason="too_far")
    login(client, cast[who])
    assert client.post(f"/manage/duties/{duty.id}/confirm").status_code == 403
    assert client.post(f"/manage/duties/{duty.id}/void", data={"reason": "x"}).status_code == 403
    fresh()
    duty = _db.session.get(Duty, duty.id)
    assert duty.confirmed_by_id is None and duty.status == DutyStatus.CLOSED


def test_confirm_and_void_of_unknown_duty_is_404(client, cast):
    login(client, cast["manager"])
    assert client.post("/manage/duties/999999/confirm").status_code == 404


# --- exports -----------------------------------------------------------------------------------------


@pytest.fixture
def month_with_duties(cast):
    """Yesterday's slot attended, the day before's slot missed, one pending duty.
    (Early in a month "yesterday" may be last month: the export asks for that month.)"""
    st, rep = cast["station"], cast["rep"]
    for offset in (-1, -2):
        day = local_today() + timedelta(days=offset)
        _db.session.add(DutySlot(station=st, representative=rep, day=day, starts_at=time(9), ends_at=time(12)))
    attended = make_duty(st, rep, day_offset=-1, residents=4)
    make_duty(st, rep, day_offset=-3, pending_reason="too_far", residents=9)
    _db.session.commit()
    return attended


def expected_figures(cast, duty):
    """The same figures the page shows, from the service, for the month of `duty`."""
    from services.attendance import month_attendance

    (row,) = month_attendance(cast["station"], Month.parse(this_month_of(duty), Month(2000, 1))).rows
    return row.figures


def test_xlsx_export(app, client, cast, month_with_duties):
    st, rep = cast["station"], cast["rep"]
    with app.test_request_context(), force_locale("zh_Hans"):
        level = rep.level.label  # the Chinese label, whatever the exporting user reads
    login(client, cast["manager"])
    month = this_month_of(month_with_duties)
    response = client.get(f"/manage/stations/{st.code}/attendance.xlsx?month={month}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert f'filename="attendance-{st.code}-{month}.xlsx"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"{st.name}-履职考勤-{month}.xlsx"

    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["汇总", "履职记录", "未通过的签到"]
    summary = list(book["汇总"].iter_rows(values_only=True))
    assert summary[0][:4] == ("代表姓名", "代表级别", "排班（次）", "到岗（次）")
    f = expected_figures(cast, month_with_duties)
    assert summary[1] == (rep.name, level, f.scheduled, f.attended, f.missed, f.pending, 0, f.hours, f.residents)
    assert f.attended >= 1 and f.residents == 4  # the pending duty's 9 residents do not count
    assert summary[-1][0] == "合计" and summary[-1][2:] == summary[1][2:]
    duties = list(book["履职记录"].iter_rows(values_only=True))
    assert duties[0][0] == "签到时间" and len(duties) - 1 == sum(
        1 for d in _db.session.scalars(sa.select(Duty)) if this_month_of(d) == month
    )
    assert isinstance(duties[1][0], datetime)
    (entry,) = audit("attendance.exported")
    assert entry.actor_id == cast["manager"].id and entry.data == {"month": month, "format": "xlsx", "rows": 1}


def test_csv_export(client, cast, month_with_duties):
    st, rep = cast["station"], cast["rep"]
    rep.user.display_name = "=cmd|' /C calc'!A0"
    _db.session.commit()
    login(client, cast["staff"])
    month = this_month_of(month_with_duties)
    response = client.get(f"/manage/stations/{st.code}/attendance.csv?month={month}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][0] == "代表姓名" and rows[0][-1] == "接待群众（人次）"
    assert rows[1][0] == "'=cmd|' /C calc'!A0"  # shown as text, never run
    f = expected_figures(cast, month_with_duties)
    assert rows[1][2:] == [str(v) for v in (f.scheduled, f.attended, f.missed, f.pending, 0, f.hours, f.residents)]
    assert rows[-1][0] == "合计"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    (entry,) = audit("attendance.exported")
    assert entry.data["format"] == "csv" and entry.actor_id == cast["staff"].id
