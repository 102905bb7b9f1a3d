"""The 述职 report's concern figures (services.reports.concern_work), on a history played
through the real closed loop at the times it happened; and who may open the report."""

import re
from datetime import date, datetime, time, timedelta

import pytest

from extensions import db as _db
from models import Duty
from models.enums import ConcernAction as A
from models.enums import DutyMethod, DutyStatus, Rating, RegionLevel, Role
from services import concern_flow
from services.clock import utc_at
from services.reports import annual_report, concern_work
from services.workflow import SYSTEM
from tests import factories
from tests.helpers import login

S, B, D = Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED


def local(y, mo, d, h=9, mi=0) -> datetime:
    return utc_at(date(y, mo, d), time(h, mi))


@pytest.fixture
def loop(db):
    """A representative (王建国) at a station with a colleague, its manager, congress staff
    above it and a handling unit, and the steps to play a concern's story."""
    county = factories.region(name="项城市", level=RegionLevel.COUNTY)
    station = factories.station(name="花园街道联络站", region=county)
    other_station = factories.station(name="南顿镇联络站", region=county)
    rep = factories.representative(stations=[station, other_station], name="王建国")
    colleague = factories.representative(stations=[station], name="李红梅")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    staff = factories.user(Role.CONGRESS_STAFF, region=county)
    unit = factories.unit(region_obj=county)
    handler = factories.user(Role.UNIT_HANDLER, unit=unit)
    category = factories.category()

    def step(concern, action, at, actor=None, **kw):
        role = actor.role if actor is not None else SYSTEM
        kw.setdefault("note", "已办理，情况如下。" if action in (A.REPLY, A.RESOLVE, A.SEND_BACK) else "")
        concern_flow.transition(concern, action, role=role, actor=actor, now=at, **kw)

    def filed(at, station_obj=station):
        return factories.concern(station_obj, category, created_at=at)

    def to_reply(concern, taker, by, at):
        """Taken up (by `by`, for `taker`), dispatched and answered, a day apart."""
        step(concern, A.ACCEPT, at, by, representative=taker)
        step(concern, A.DISPATCH, at + timedelta(days=1), staff, unit=unit)
        step(concern, A.REPLY, at + timedelta(days=2), handler)

    return {
        "rep": rep,
        "colleague": colleague,
        "manager": manager,
        "staff": staff,
        "handler": handler,
        "station": station,
        "step": step,
        "filed": filed,
        "to_reply": to_reply,
    }


@pytest.fixture
def history(loop):
    """王建国's concerns around 2025 (the comments say how each counts in 2025)."""
    rep, manager, handler = loop["rep"], loop["manager"], loop["handler"]
    step, filed, to_reply = loop["step"], loop["filed"], loop["to_reply"]
    me = rep.user

    # 1. Taken up by him, answered, confirmed, rated satisfied: the plain loop.
    c1 = filed(local(2025, 2, 3))
    to_reply(c1, rep, me, local(2025, 2, 3, 10))
    step(c1, A.CONFIRM, local(2025, 2, 6), me)
    concern_flow.rate(c1, S, S, now=local(2025, 2, 7))

    # 2. Given to him by the manager; he sends the answer back once, then confirms; the
    # resident is dissatisfied, the second round (confirmed by the manager) basically.
    c2 = filed(local(2025, 3, 3))
    to_reply(c2, rep, manager, local(2025, 3, 3, 10))
    step(c2, A.SEND_BACK, local(2025, 3, 6), me)
    step(c2, A.REPLY, local(2025, 3, 7), handler)
    step(c2, A.CONFIRM, local(2025, 3, 8), me)
    concern_flow.rate(c2, S, D, now=local(2025, 3, 9))
    step(c2, A.REPLY, local(2025, 3, 12), handler)
    step(c2, A.CONFIRM, local(2025, 3, 13), manager)
    concern_flow.rate(c2, B, B, now=local(2025, 3, 14))

    # 3. Resolved on the spot by him and confirmed by him (not 督单: no unit's answer);
    # the resident never rates, so it closes by itself.
    c3 = filed(local(2025, 4, 1))
    step(c3, A.ACCEPT, local(2025, 4, 1, 10), me, representative=rep)
    step(c3, A.RESOLVE, local(2025, 4, 1, 11), me)
    step(c3, A.CONFIRM, local(2025, 4, 1, 12), me)
    step(c3, A.AUTO_CLOSE, local(2025, 4, 10))

    # 4. His colleague's: counts nowhere in his report.
    c4 = filed(local(2025, 5, 5))
    to_reply(c4, loop["colleague"], loop["colleague"].user, local(2025, 5, 5, 10))
    step(c4, A.CONFIRM, local(2025, 5, 8), loop["colleague"].user)
    concern_flow.rate(c4, D, D, now=local(2025, 5, 9))

    # 5. Taken up in December 2024, confirmed and closed in January 2025 (basically).
    c5 = filed(local(2024, 12, 20))
    to_reply(c5, rep, me, local(2024, 12, 20, 10))
    step(c5, A.CONFIRM, local(2025, 1, 6), me)
    concern_flow.rate(c5, S, B, now=local(2025, 1, 7))

    # 6. Dissatisfied twice: reopened after the first rating, closed by the second.
    c6 = filed(local(2025, 6, 2), loop["station"])
    to_reply(c6, rep, me, local(2025, 6, 2, 10))
    step(c6, A.CONFIRM, local(2025, 6, 5), me)
    concern_flow.rate(c6, S, D, now=local(2025, 6, 6))
    step(c6, A.REPLY, local(2025, 6, 9), handler)
    step(c6, A.CONFIRM, local(2025, 6, 10), manager)
    concern_flow.rate(c6, D, D, now=local(2025, 6, 11))

    # 7. Taken up in the last minutes of 2025 in China: counts, still open.
    c7 = filed(local(2025, 12, 31, 22))
    step(c7, A.ACCEPT, local(2025, 12, 31, 23, 30), me, representative=rep)
    # 8. Taken up in the first minutes of 2026 in China (still 2025 in UTC): not in 2025.
    c8 = filed(local(2025, 12, 31, 23, 40))
    step(c8, A.ACCEPT, local(2026, 1, 1, 0, 30), me, representative=rep)
    _db.session.commit()
    return loop


NOW = local(2026, 1, 2)


def test_concern_work_counts_the_representatives_steps_of_the_year(history):
    work = concern_work(history["rep"], 2025, NOW)
    assert work.taken_up == 5  # 1, 2 (given by the manager), 3, 6, 7
    assert work.resolved == 1  # 3
    assert work.supervised == 4  # 1, 2 (sent back, then confirmed), 5, 6
    assert work.sent_back == 1
    assert work.counts.closed == 5  # 1, 2, 3, 5, 6
    assert work.ratings == {S: 1, B: 2, D: 1}  # final ratings: 1 S, 2 B, 5 B, 6 D
    assert work.unrated == 1  # 3
    assert work.counts.rep_satisfaction == pytest.approx(3 / 4)
    # First ratings: 1 S, 2 D, 5 B, 6 D.
    assert work.counts.first_rep_satisfaction == pytest.approx(2 / 4)


def test_concern_work_of_other_years_and_people(history):
    before = concern_work(history["rep"], 2024, NOW)
    assert (before.taken_up, before.supervised, before.counts.closed) == (1, 0, 0)  # 5, taken up in 2024
    after = concern_work(history["rep"], 2026, NOW)
    assert (after.taken_up, after.counts.closed) == (1, 0)  # 8
    colleague = concern_work(history["colleague"], 2025, NOW)
    # 4: dissatisfied, so handled again: not closed, so its first rating does not count yet.
    assert (colleague.taken_up, colleague.supervised, colleague.counts.closed) == (1, 1, 0)
    assert colleague.ratings == {S: 0, B: 0, D: 0}
    assert colleague.counts.first_rep_satisfaction is None


def test_a_year_without_concerns_has_no_rates(loop):
    work = concern_work(loop["rep"], 2025, NOW)
    assert (work.taken_up, work.supervised, work.counts.closed, work.unrated) == (0, 0, 0, 0)
    assert work.counts.rep_satisfaction is None and work.counts.first_rep_satisfaction is None
    assert work.ratings == {S: 0, B: 0, D: 0}


def test_annual_report_has_duties_concerns_and_its_date(history):
    rep, station = history["rep"], history["station"]
    _db.session.add(
        Duty(
            station=station,
            representative=rep,
            checked_in_at=local(2025, 3, 5, 9),
            checked_out_at=local(2025, 3, 5, 11),
            method=DutyMethod.QR,
            status=DutyStatus.CLOSED,
            nonce="report-duty-1",
            residents_received=4,
        )
    )
    _db.session.flush()
    report = annual_report(rep, 2025, NOW)
    assert (report.total.duties, report.total.residents, report.total.minutes) == (1, 4, 120)
    assert report.concerns.taken_up == 5
    assert report.generated_at == NOW


# --- the page ------------------------------------------------------------------------------


def cell(html: str, row_id: str) -> str:
    return re.search(rf'<tr id="{row_id}"><th[^>]*>[^<]*</th><td>([^<]*)</td>', html).group(1)


def test_report_page_shows_the_concern_figures_and_a_print_button(client, history):
    login(client, history["rep"].user)
    resp = client.get("/me/report/2025")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert [cell(html, r) for r in ("taken-up", "resolved", "supervised", "sent-back", "closed")] == [
        "5",
        "1",
        "4",
        "1",
        "5",
    ]
    assert cell(html, "satisfaction") == "75.0%"
    assert cell(html, "first-satisfaction") == "50.0%"
    ratings = re.search(r'id="report-ratings">.*?<tbody><tr>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", ratings) == ["1", "2", "1", "1"]
    # Name, stations, the date it was made; a print button that script reveals; its own print sheet.
    assert "王建国" in html and "花园街道联络站" in html and "南顿镇联络站" in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d">', html)
    assert re.search(r'<button type="button" class="btn small print" hidden>', html)
    assert "/static/print.js" in html and "/static/report.css" in html


def test_report_years_out_of_range_are_not_found(client, history):
    login(client, history["rep"].user)
    assert client.get("/me/report/0").status_code == 404
    assert client.get("/me/report/99999").status_code == 404


def test_overseers_open_a_representatives_report_from_the_back_office(client, history):
    rep = history["rep"]
    url = f"/manage/representatives/{rep.id}/report/2025"
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    for overseer in (history["manager"], history["staff"]):
        login(client, overseer)
        resp = client.get(url + "?next=/manage/")
        assert resp.status_code == 200, overseer.role
        html = resp.get_data(as_text=True)
        assert cell(html, "taken-up") == "5"
        assert 'href="/manage/"' in html
    # The manager of another station, a representative (even a colleague) and a unit may not.
    elsewhere = factories.station(name="别处联络站")
    for outsider in (
        factories.user(Role.STATION_MANAGER, managed_stations=[elsewhere]),
        history["colleague"].user,
        factories.user(Role.UNIT_HANDLER, unit=factories.unit()),
    ):
        login(client, outsider)
        assert client.get(url).status_code == 403
    login(client, history["manager"])
    assert client.get("/manage/representatives/999999/report/2025").status_code == 404
    # A back link to another host is refused.
    html = client.get(url + "?next=//evil.example/").get_data(as_text=True)
    assert "evil.example" not in html


def test_the_attendance_review_links_each_representative_to_their_report(client, history):
    login(client, history["manager"])
    html = client.get(f"/manage/stations/{history['station'].code}/attendance?month=2025-03").get_data(as_text=True)
    assert f"/manage/representatives/{history['rep'].id}/report/2025" in html
