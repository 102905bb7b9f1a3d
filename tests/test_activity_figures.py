"""The figures page's activity tables (services.activity): bookings, officials and the
representatives' 履职信息通报 — their numbers on a known world, their scope, the grouped
numbers against the annual report's, the page and the .xlsx."""

import io
import random
import secrets
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from extensions import db as _db
from models import AuditLog, ConcernEvent, Duty
from models.enums import BookingStatus, ConcernStatus, DutyMethod, DutyStatus, Rating, RegionLevel, Role
from models.enums import ConcernAction as A
from services import activity, reports
from services.clock import utc_at
from services.figures import Period
from tests import factories
from tests.helpers import login
from tests.test_reports import history, loop  # noqa: F401 (fixtures)

YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
CLOSED = DutyStatus.CLOSED
NOW = utc_at(date(2026, 1, 2), time(9, 0))


def local(y, mo, d, h=9, mi=0) -> datetime:
    return utc_at(date(y, mo, d), time(h, mi))


def duty(station, rep, checked_in, minutes, status=DutyStatus.CLOSED, residents=0, **kw) -> Duty:
    obj = Duty(
        station=station,
        representative=rep,
        checked_in_at=checked_in,
        checked_out_at=None if status == DutyStatus.OPEN else checked_in + timedelta(minutes=minutes),
        method=DutyMethod.QR,
        status=status,
        nonce=secrets.token_hex(8),
        residents_received=residents,
        **kw,
    )
    _db.session.add(obj)
    _db.session.flush()
    return obj


@pytest.fixture
def world(history):  # noqa: F811 (the imported fixture)
    """history's concerns, and: 王建国's duties of 2025 (one counted, one pending, one voided,
    one confirmed after a missing proof) and one of 2026; bookings at the station; an
    official's sessions and steps; a second station with its own manager, representative,
    booking and official, outside the first manager's scope."""
    rep, station, manager = history["rep"], history["station"], history["manager"]
    duty(station, rep, local(2025, 3, 10), 120, residents=3)
    duty(station, rep, local(2025, 3, 11), 60, residents=2, pending_reason="no_location")  # waits: not counted
    duty(station, rep, local(2025, 3, 12), 60, status=DutyStatus.VOIDED, residents=5)
    duty(station, rep, local(2025, 3, 13), 45, residents=1, pending_reason="no_location", confirmed_by_id=manager.id)
    duty(station, rep, local(2026, 1, 1, 10), 60, residents=4)  # 2026

    slot = factories.slot(station, rep, day=date(2025, 4, 1))
    marks = [BookingStatus.ATTENDED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW, BookingStatus.BOOKED]
    for seat, status in enumerate(marks, start=1):
        was_marked = status in (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
        marked = {"marked_at": local(2025, 4, 1, 12)} if was_marked else {}
        factories.booking(slot, mobile=f"1391234567{seat}", seat=seat, status=status, **marked)
    factories.booking(
        slot, mobile="13912345670", seat=5, status=BookingStatus.CANCELLED, cancelled_at=local(2025, 3, 30)
    )
    later = factories.slot(station, rep, day=date(2026, 1, 5))
    factories.booking(later, mobile="13912345600", seat=1)  # a 2026 visit day: not counted

    unit = factories.unit(region_obj=station.region)
    official = factories.official(unit, name="刘卫东", post="局长")
    factories.official_session(
        official, station, checked_in_at=local(2025, 5, 6), checked_out_at=local(2025, 5, 6, 12), status=CLOSED
    )
    factories.official_session(
        official,
        station,
        checked_in_at=local(2025, 5, 7),
        checked_out_at=local(2025, 5, 7, 10),
        status=DutyStatus.VOIDED,
    )
    taken = factories.concern(station, created_at=local(2025, 5, 6, 9, 30))
    for action, minute in ((A.OFFICIAL_TAKE, 40), (A.OFFICIAL_DISPATCH, 41)):
        _db.session.add(
            ConcernEvent(
                concern=taken, actor_id=official.user_id, action=action, created_at=local(2025, 5, 6, 9, minute)
            )
        )

    elsewhere = factories.region("41169900", "沈丘县", RegionLevel.COUNTY)
    far = factories.station(name="沈丘县联络站", region=elsewhere)
    far_rep = factories.representative(stations=[far], name="赵敏")
    duty(far, far_rep, local(2025, 3, 10), 60, residents=9)
    far_manager = factories.user(Role.STATION_MANAGER, managed_stations=[far])
    factories.booking(factories.slot(far, far_rep, day=date(2025, 4, 2)), mobile="13912340000")
    far_official = factories.official(factories.unit(region_obj=elsewhere), name="孙伟", post="科长")
    factories.official_session(
        far_official, far, checked_in_at=local(2025, 5, 6), checked_out_at=local(2025, 5, 6, 10), status=CLOSED
    )
    _db.session.commit()
    return {**history, "official": official, "far_manager": far_manager, "far_rep": far_rep}


def test_the_representatives_numbers_on_a_known_world(world):
    rows = {row.name: row for row in activity.representatives(world["manager"], YEAR)}
    assert set(rows) == {"王建国", "李红梅"}
    wang = rows["王建国"]
    # Duties: the 120-minute one and the confirmed 45-minute one.
    assert (wang.duties, wang.minutes, wang.hours, wang.residents) == (2, 165, 2.8, 4)
    # Concerns (tests/test_reports.py's history): taken up 1, 2, 3, 6, 7; closed 1, 2, 3, 5, 6;
    # rated 1 (S), 2 (B), 5 (B), 6 (D).
    assert (wang.taken_up, wang.closed, wang.rated, wang.satisfied) == (5, 5, 4, 3)
    assert wang.satisfaction == pytest.approx(0.75)
    li = rows["李红梅"]
    assert (li.duties, li.taken_up, li.closed, li.rated, li.satisfaction) == (0, 1, 0, 0, None)


def test_bookings_and_officials_on_a_known_world(world):
    rows, total = activity.bookings(world["manager"], YEAR)
    assert [(r.name, r.counts.made) for r in rows] == [("花园街道联络站", 5)]
    c = rows[0].counts
    assert (c.made, c.attended, c.no_show, c.cancelled, c.booked) == (5, 2, 1, 1, 1)
    assert total == c
    (official,) = activity.officials(world["manager"], YEAR, NOW)
    assert (official.name, official.sessions, official.minutes, official.hours) == ("刘卫东", 1, 180, 3.0)
    assert (official.taken, official.dispatched, official.answered) == (1, 1, 0)


def test_a_manager_of_another_station_sees_none_of_them(world):
    other = world["far_manager"]
    assert [r.name for r in activity.representatives(other, YEAR)] == ["赵敏"]
    rows, _total = activity.bookings(other, YEAR)
    assert [r.name for r in rows] == ["沈丘县联络站"]
    assert [o.name for o in activity.officials(other, YEAR, NOW)] == ["孙伟"]
    # Someone who oversees no station (a handling unit) sees nothing at all.
    made = activity.activity(world["handler"], YEAR, NOW)
    assert (made.representatives, made.bookings, made.officials) == ([], [], [])


def test_congress_staff_see_their_region(world):
    names = {r.name for r in activity.representatives(world["staff"], YEAR)}
    assert names == {"王建国", "李红梅"}
    assert [o.name for o in activity.officials(world["staff"], YEAR, NOW)] == ["刘卫东"]


def test_grouped_numbers_agree_with_the_annual_report_on_random_data(loop):  # noqa: F811
    rng = random.Random(14)
    station, manager = loop["station"], loop["manager"]
    reps = [loop["rep"], loop["colleague"]] + [
        factories.representative(stations=[station], name=f"代表{i}") for i in range(4)
    ]
    open_for: set[int] = set()
    for _ in range(60):
        rep = rng.choice(reps)
        start = local(rng.choice([2024, 2025, 2025, 2026]), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
        status = rng.choice([DutyStatus.CLOSED] * 4 + [DutyStatus.OPEN, DutyStatus.AUTO_CLOSED, DutyStatus.VOIDED])
        if status == DutyStatus.OPEN and rep.id in open_for:  # one open duty each
            status = DutyStatus.CLOSED
        if status == DutyStatus.OPEN:
            open_for.add(rep.id)
        extra = {}
        if rng.random() < 0.3:
            extra["pending_reason"] = "no_location"
            if rng.random() < 0.5:
                extra["confirmed_by_id"] = manager.id
        minutes = rng.randint(1, 300) + rng.random()
        duty(station, rep, start, minutes, status=status, residents=rng.randint(0, 6), **extra)
    for _ in range(40):
        rep = rng.choice(reps)
        at = local(rng.choice([2024, 2025, 2025]), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
        concern = loop["filed"](at)
        loop["step"](concern, A.ACCEPT, at + timedelta(hours=1), manager, representative=rep)
        if rng.random() < 0.6:
            closed = at + timedelta(days=rng.randint(1, 60))
            concern.status = ConcernStatus.CLOSED
            concern.due_at = None
            concern.closed_at = closed
            concern.rating_rep = rng.choice([None, *(r.value for r in Rating)])
    _db.session.commit()
    for year in (2024, 2025, 2026):
        period = Period(date(year, 1, 1), date(year, 12, 31))
        grouped = {row.representative_id: row for row in activity.representatives(manager, period)}
        assert set(grouped) == {r.id for r in reps}
        for rep in reps:
            report = reports.annual_report(rep, year, NOW)
            row = grouped[rep.id]
            counts = report.concerns.counts
            expected = (
                report.total.duties,
                report.total.minutes,
                report.total.hours,
                report.total.residents,
                report.concerns.taken_up,
                counts.closed,
                counts.rated_rep,
                counts.satisfied_rep,
            )
            got = (row.duties, row.minutes, row.hours, row.residents)
            got += (row.taken_up, row.closed, row.rated, row.satisfied)
            assert got == expected, (year, rep.name)


def test_the_page_shows_the_tables_and_the_xlsx_holds_the_rows(client, world):
    login(client, world["manager"])
    html = client.get("/manage/figures?from=2025-01-01&to=2025-12-31").get_data(as_text=True)
    assert '<th scope="row">王建国<small>' in html and '<th scope="row">刘卫东<small>' in html
    assert '<th scope="row">花园街道联络站</th><td>5</td><td>2</td>' in html
    assert "赵敏" not in html and "孙伟" not in html and "沈丘县联络站" not in html
    assert "/manage/figures/activity.xlsx?from=2025-01-01&amp;to=2025-12-31" in html

    response = client.get("/manage/figures/activity.xlsx?from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["代表履职", "预约接待", "部门人员进站", "述职评议", "代表建议办理", "说明"]
    reps = list(book["代表履职"].iter_rows(values_only=True))
    assert reps[0][:4] == ("代表姓名", "代表级别", "所在联络站", "进站履职（次）")
    wang = next(r for r in reps if r[0] == "王建国")
    assert wang[1] == "县人大代表"  # the Chinese label, whatever the user reads
    assert wang[3:10] == (2, 2.8, 4, 5, 5, 4, 3)
    assert wang[10] == 0.75
    assert reps[-1][0] == "合计"
    assert not any(r[0] == "赵敏" for r in reps)
    bookings = list(book["预约接待"].iter_rows(values_only=True))
    assert bookings[1] == ("花园街道联络站", 5, 2, 1, 1, 1)
    officials = list(book["部门人员进站"].iter_rows(values_only=True))
    assert officials[1][:5] == ("刘卫东", world["official"].unit.name, "局长", 1, 3.0)
    _db.session.commit()  # end the test's snapshot to read what the request committed
    _db.session.expire_all()
    (entry,) = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "figures.exported"))
    assert entry.actor_id == world["manager"].id and entry.data["representatives"] == 2


def test_the_export_needs_the_figures_permission(client, world):
    assert client.get("/manage/figures/activity.xlsx").status_code in (302, 401)
    login(client, world["rep"].user)
    assert client.get("/manage/figures/activity.xlsx").status_code == 403


def test_a_bad_period_in_the_export_falls_back_to_this_year(client, world):
    login(client, world["far_manager"])
    response = client.get("/manage/figures/activity.xlsx?from=2025-13-01&to=<script>")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data), read_only=True).sheetnames[0] == "代表履职"


def test_a_long_table_is_cut_on_the_page_but_not_in_the_total(client, world, monkeypatch):
    from services import figures

    monkeypatch.setattr(figures, "MAX_ROWS", 1)
    login(client, world["manager"])
    html = client.get("/manage/figures?from=2025-01-01&to=2025-12-31").get_data(as_text=True)
    shown = [name for name in ("王建国", "李红梅") if f'<th scope="row">{name}<small>' in html]
    assert len(shown) == 1  # one of the two representatives
    assert "Only the first 1 are shown" in html or "页面只显示前 1 行" in html
