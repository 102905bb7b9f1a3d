"""Officials at the station through the web: 本周领导进站 on the station page, the official's
check-in and page, 现场办公 in one tap (and its refusals, keeping what was typed), office
hours for congress staff, and an official's account from the unit's page."""

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import ConcernEvent, OfficeHour, OfficialSession
from models.enums import ConcernStatus, DutyStatus, RegionLevel, Role
from services.clock import local_today
from tests import factories
from tests.helpers import login

ZH = {"Accept-Language": "zh-CN"}


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


@pytest.fixture
def site(db):
    county = factories.region("411681", "项城市", RegionLevel.COUNTY)
    station = factories.station(region=county, name="花园街道联络站")
    other = factories.station(region=county, name="南顿镇联络站")
    housing = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    head = factories.official(housing, name="张国栋", post="局长")
    staff = factories.user(Role.CONGRESS_STAFF, region=county)
    db.session.commit()
    return {"station": station, "other": other, "unit": housing, "official": head, "staff": staff}


def check_in(client, station, nonce="nonce-web-0001"):
    return client.post(f"/s/{station.code}/official-check-in", data={"nonce": nonce})


def test_the_station_page_shows_this_weeks_officials_with_post_and_unit(client, site, db):
    db.session.add(
        OfficeHour(
            station=site["station"],
            official=site["official"],
            day=local_today() + timedelta(days=1),
            starts_at=time(9),
            ends_at=time(11, 30),
        )
    )
    fresh()
    page = client.get(f"/s/{site['station'].code}", headers=ZH)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    section = html[html.index("本周领导进站") :]
    assert "张国栋" in section and "局长" in section and "项城市住房和城乡建设局" in section
    assert "09:00–11:30" in section
    assert len(page.data) < 50 * 1024
    other = client.get(f"/s/{site['other'].code}", headers=ZH).get_data(as_text=True)
    assert "本周领导进站" not in other


def test_the_official_checks_in_takes_a_concern_and_sends_it_to_the_unit_in_one_tap(client, site, db):
    concern = factories.concern(site["station"])
    login(client, site["official"].user)
    page = client.get(f"/s/{site['station'].code}").get_data(as_text=True)
    assert f"/s/{site['station'].code}/official-check-in" in page
    resp = check_in(client, site["station"])
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/official")
    me = client.get("/official").get_data(as_text=True)
    assert concern.tracking_code in me.replace("-", "").replace(" ", "") or concern.content in me
    resp = client.post(f"/official/concerns/{concern.id}/dispatch", data={"version": concern.version, "note": "尽快"})
    assert resp.status_code == 303
    fresh()
    assert concern.status == ConcernStatus.DISPATCHED and concern.unit_id == site["unit"].id
    actions = db.session.scalars(
        sa.select(ConcernEvent.action).where(ConcernEvent.concern_id == concern.id).order_by(ConcernEvent.id)
    ).all()
    assert actions == ["official_take", "official_dispatch"]
    # A second tap of the same form changes nothing more, and says why.
    again = client.post(f"/official/concerns/{concern.id}/dispatch", data={"version": 1, "note": "尽快"})
    assert again.status_code == 409
    fresh()
    assert len(concern.events) == 2


def test_answered_on_the_spot_through_the_web(client, site, db):
    concern = factories.concern(site["station"])
    login(client, site["official"].user)
    check_in(client, site["station"])
    resp = client.post(
        f"/official/concerns/{concern.id}/answer", data={"version": concern.version, "answer": "今天下午修好。"}
    )
    assert resp.status_code == 303
    fresh()
    assert concern.status == ConcernStatus.REPLIED  # the station checks it next (代表督单)
    track = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "今天下午修好。" in track


def test_refused_when_not_checked_in_keeps_what_was_typed(client, site, db):
    concern = factories.concern(site["station"])
    login(client, site["official"].user)
    resp = client.post(
        f"/official/concerns/{concern.id}/answer",
        data={"version": concern.version, "answer": "<script>alert(1)</script>已处理"},
        headers=ZH,
    )
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "您未在本站签到" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;已处理" in html and "<script>alert(1)" not in html
    fresh()
    assert concern.status == ConcernStatus.SUBMITTED


def test_refused_for_another_stations_concern_and_in_the_wrong_state(client, site, db):
    elsewhere = factories.concern(site["other"])
    taken = factories.concern(site["station"], status=ConcernStatus.ACCEPTED)
    fresh_one = factories.concern(site["station"])
    login(client, site["official"].user)
    check_in(client, site["station"])
    other = client.post(f"/official/concerns/{elsewhere.id}/dispatch", data={"version": 1}, headers=ZH)
    assert other.status_code == 409 and "其他联络站" in other.get_data(as_text=True)
    wrong = client.post(f"/official/concerns/{taken.id}/dispatch", data={"version": taken.version})
    assert wrong.status_code == 422
    blank = client.post(
        f"/official/concerns/{fresh_one.id}/answer", data={"version": fresh_one.version, "answer": "  "}
    )
    assert blank.status_code == 422
    fresh()
    assert (elsewhere.status, taken.status, fresh_one.status) == (
        ConcernStatus.SUBMITTED,
        ConcernStatus.ACCEPTED,
        ConcernStatus.SUBMITTED,
    )


def test_only_officials_take_concerns_up_on_site(client, site, db):
    concern = factories.concern(site["station"])
    anonymous = client.post(f"/official/concerns/{concern.id}/dispatch", data={"version": 1})
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["Location"]
    rep = factories.representative(stations=[site["station"]])
    login(client, rep.user)
    assert client.post(f"/official/concerns/{concern.id}/dispatch", data={"version": 1}).status_code == 403
    assert client.post(f"/s/{site['station'].code}/official-check-in", data={"nonce": "n" * 16}).status_code == 403
    assert client.get("/official").status_code == 403


def test_an_official_checks_out_only_their_own_session(client, site, db):
    login(client, site["official"].user)
    check_in(client, site["station"])
    fresh()
    session = db.session.scalar(sa.select(OfficialSession))
    other = factories.official(site["unit"], name="赵敏")
    login(client, other.user)
    out = f"/official/sessions/{session.id}/check-out"
    assert client.post(out, data={"residents_received": "2"}).status_code == 403
    login(client, site["official"].user)
    resp = client.post(f"/official/sessions/{session.id}/check-out", data={"residents_received": "2"})
    assert resp.status_code == 303
    fresh()
    assert session.status == DutyStatus.CLOSED and session.residents_received == 2


def test_congress_staff_schedule_office_hours_and_managers_may_not(client, site, db):
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[site["station"]])
    login(client, manager)
    assert client.get(f"/manage/stations/{site['station'].code}/office-hours").status_code == 403
    login(client, site["staff"])
    page = client.get(f"/manage/stations/{site['station'].code}/office-hours")
    assert page.status_code == 200 and "张国栋" in page.get_data(as_text=True)
    day = (local_today() + timedelta(days=2)).isoformat()
    form = {"official": site["official"].id, "day": day, "starts_at": "09:00", "ends_at": "11:30", "repeat_weeks": 3}
    resp = client.post(f"/manage/stations/{site['station'].code}/office-hours", data=form)
    assert resp.status_code == 303
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OfficeHour)) == 4
    overlap = client.post(f"/manage/stations/{site['other'].code}/office-hours", data=form, headers=ZH)
    assert overlap.status_code == 422 and "已安排" in overlap.get_data(as_text=True)
    forged = client.post(
        f"/manage/stations/{site['station'].code}/office-hours", data={**form, "official": 999999, "repeat_weeks": 0}
    )
    assert forged.status_code == 422


def test_staff_create_an_officials_account_on_the_units_page(client, site, db):
    login(client, site["staff"])
    page = client.get(f"/manage/units/{site['unit'].id}").get_data(as_text=True)
    assert f"/manage/units/{site['unit'].id}/officials" in page
    missing = client.post(
        f"/manage/units/{site['unit'].id}/officials", data={"name": "李建设", "mobile": "13900002222", "post": ""}
    )
    assert missing.status_code == 422
    assert re.search(r'name="mobile"[^>]*value="13900002222"', missing.get_data(as_text=True))
    resp = client.post(
        f"/manage/units/{site['unit'].id}/officials", data={"name": "李建设", "mobile": "13900002222", "post": "副局长"}
    )
    assert resp.status_code == 303
    fresh()
    heads = [o.post for o in db.session.scalars(sa.select(factories.Official))]
    assert "副局长" in heads


def test_staff_make_a_representative_who_heads_a_unit_an_official(client, site, db):
    rep = factories.representative(stations=[site["station"]], name="王建军")
    elsewhere = factories.unit(region_obj=factories.region("411102", "源汇区", RegionLevel.COUNTY), name="源汇区教育局")
    login(client, site["staff"])
    page = client.get(f"/manage/representatives/{rep.id}").get_data(as_text=True)
    assert f"/manage/representatives/{rep.id}/official" in page
    forged = client.post(f"/manage/representatives/{rep.id}/official", data={"unit": elsewhere.id, "post": "局长"})
    assert forged.status_code == 422
    no_post = client.post(f"/manage/representatives/{rep.id}/official", data={"unit": site["unit"].id, "post": ""})
    assert no_post.status_code == 422
    resp = client.post(
        f"/manage/representatives/{rep.id}/official", data={"unit": site["unit"].id, "post": "项城市住建局副局长"}
    )
    assert resp.status_code == 303
    fresh()
    assert rep.user.official is not None and rep.user.official.unit_id == site["unit"].id
    # Now both: their duty as a representative, and an official's check-in at a station.
    login(client, rep.user)
    station_page = client.get(f"/s/{site['station'].code}").get_data(as_text=True)
    assert f"/s/{site['station'].code}/check-in" in station_page
    assert f"/s/{site['station'].code}/official-check-in" in station_page
    assert check_in(client, site["station"]).status_code == 303


def test_the_station_manager_voids_an_officials_session_and_it_stops_counting(client, site, db):
    """The attendance review lists the officials' sessions of the month; the station's
    manager voids one with a reason (recorded); a manager of another station may not."""
    from models import AuditLog
    from services.officials import record

    manager = factories.user(Role.STATION_MANAGER, managed_stations=[site["station"]])
    stranger = factories.user(Role.STATION_MANAGER, managed_stations=[site["other"]])
    session = factories.official_session(site["official"], site["station"])
    fresh()
    assert record(site["official"], local_today().year).sessions == 1

    login(client, manager)
    page = client.get(f"/manage/stations/{site['station'].code}/attendance", headers=ZH).get_data(as_text=True)
    assert f'id="session-{session.id}"' in page and "张国栋" in page and "作废" in page

    assert client.post(f"/manage/official-sessions/{session.id}/void", data={"reason": ""}).status_code == 303
    fresh()
    assert _db.session.get(OfficialSession, session.id).status == DutyStatus.OPEN  # a reason is required

    done = client.post(f"/manage/official-sessions/{session.id}/void", data={"reason": "误签到，当天未到站"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"#session-{session.id}")
    fresh()
    voided = _db.session.get(OfficialSession, session.id)
    assert voided.status == DutyStatus.VOIDED and voided.review_note == "误签到，当天未到站"
    assert voided.confirmed_by_id == manager.id and voided.checked_out_at is not None
    assert record(site["official"], local_today().year).sessions == 0
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "official.session_voided"))
    assert entry is not None and entry.actor_id == manager.id

    client.post("/logout")
    login(client, stranger)
    again = factories.official_session(site["official"], site["station"], nonce="nonce-second")
    fresh()
    assert client.post(f"/manage/official-sessions/{again.id}/void", data={"reason": "x"}).status_code == 403
