"""services.officials and the official's session in services.duty: officials at the station
(领导干部代表 / 国家机关负责人进站) — who is one, office hours, check-in with the same
presence proof as a duty, and 现场办公: taken up and sent to the official's unit, or
answered on the spot, in one request and two events."""

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from models import ConcernEvent, Outbox, User
from models.enums import ConcernAction as A
from models.enums import ConcernStatus, DutyMethod, DutyStatus, PresencePolicy, Rating, RegionLevel, Role
from services import concern_flow, reference
from services import duty as duty_service
from services.clock import utc_at
from services.duty import Proof, check_in_official, check_out_official, kiosk_token, kiosk_window
from services.errors import CheckInRefused, TransitionRefused
from services.officials import (
    OfficialRefused,
    add_hours,
    appoint,
    hours_ahead,
    on_site_now,
    record,
    remove_hours,
    take_on_site,
)
from services.reference import ReferenceRefused
from services.roster import RosterRefused
from services.workdays import add_working_days
from tests import factories

SECRET = "test-secret"
LAT, LON = 33.4436, 114.8992
NOW = datetime(2024, 5, 10, 2, 0, 0)  # naive UTC: Friday 10:00 in China


@pytest.fixture
def site(db):
    county = factories.region("411681", "项城市", RegionLevel.COUNTY)
    station = factories.station(region=county, name="花园街道联络站", latitude=LAT, longitude=LON)
    other = factories.station(region=county, name="南顿镇联络站")
    housing = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    handler = factories.user(Role.UNIT_HANDLER, unit=housing, email="handler@example.org")
    head = factories.official(housing, name="张国栋", post="局长")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    db.session.commit()
    return {
        "station": station,
        "other": other,
        "unit": housing,
        "handler": handler,
        "official": head,
        "manager": manager,
    }


def checked_in(site, station=None, nonce="nonce-official-1", now=NOW):
    return check_in_official(
        site["official"], station or site["station"], nonce=nonce, proof=Proof(), secret=SECRET, now=now
    )


# --- who is an official ------------------------------------------------------------------


def test_staff_create_an_officials_account_with_post_and_unit(site, db):
    staff = factories.user(Role.CONGRESS_STAFF, region=site["unit"].region)
    user = reference.create_account(
        staff, Role.OFFICIAL, "李建设", "13900001111", None, unit=site["unit"], post="副局长"
    )
    assert user.role == Role.OFFICIAL and user.password_hash == ""  # an invitation sets it
    assert user.official.unit is site["unit"] and user.official.post == "副局长"
    assert user.username.startswith("o")


def test_an_officials_account_needs_a_post_and_a_unit(site):
    problems = reference.check_account(None, Role.OFFICIAL, "李建设", "13900001112", None, unit=site["unit"])
    assert [(p.field, p.code) for p in problems] == [("post", "required")]
    problems = reference.check_account(None, Role.OFFICIAL, "李建设", "13900001112", None, post="局长")
    assert [(p.field, p.code) for p in problems] == [("unit", "required")]
    with pytest.raises(ReferenceRefused):
        reference.create_account(None, Role.OFFICIAL, "李建设", "13900001112", None, unit=site["unit"], post=" ")


def test_a_representative_who_leads_a_unit_is_given_the_profile(site):
    rep = factories.representative(stations=[site["station"]], name="王建军")
    official = appoint(None, rep.user, site["unit"], "  项城市住房和城乡建设局党组书记 ")
    assert rep.user.official is official and official.post == "项城市住房和城乡建设局党组书记"
    with pytest.raises(OfficialRefused) as again:
        appoint(None, rep.user, site["unit"], "局长")
    assert again.value.code == "already_official"
    handler = site["handler"]
    with pytest.raises(OfficialRefused) as not_one:
        appoint(None, handler, site["unit"], "局长")
    assert not_one.value.code == "not_an_official"


# --- office hours ----------------------------------------------------------------------------


def test_weekly_office_hours_share_a_series_and_show_as_this_weeks(site, db):
    staff = factories.user(Role.CONGRESS_STAFF, region=site["unit"].region)
    hours = add_hours(
        staff, site["station"], site["official"], date(2024, 5, 15), time(9), time(11, 30), repeat_weeks=3, now=NOW
    )
    assert [h.day for h in hours] == [date(2024, 5, 15) + timedelta(weeks=w) for w in range(4)]
    assert len({h.series for h in hours}) == 1 and hours[0].series
    week = hours_ahead(site["station"], date(2024, 5, 10))
    assert [(h.day, h.official.name) for h in week] == [(date(2024, 5, 15), "张国栋")]
    assert hours_ahead(site["other"], date(2024, 5, 10)) == []
    assert remove_hours(staff, site["station"], hours[1], whole_series=True, now=NOW) == 4


def test_office_hours_refuse_overlap_the_past_and_an_official_from_elsewhere(site, db):
    staff = factories.user(Role.CONGRESS_STAFF, region=site["unit"].region)
    add_hours(staff, site["station"], site["official"], date(2024, 5, 15), time(9), time(11), now=NOW)
    with pytest.raises(OfficialRefused) as overlap:
        add_hours(staff, site["other"], site["official"], date(2024, 5, 15), time(10), time(12), now=NOW)
    assert overlap.value.code == "overlap"
    with pytest.raises(RosterRefused) as past:
        add_hours(staff, site["station"], site["official"], date(2024, 5, 9), time(9), time(11), now=NOW)
    assert past.value.code == "in_the_past"
    with pytest.raises(RosterRefused) as backwards:
        add_hours(staff, site["station"], site["official"], date(2024, 5, 16), time(11), time(9), now=NOW)
    assert backwards.value.code == "end_before_start"
    elsewhere = factories.region("411102", "源汇区", RegionLevel.COUNTY)
    stranger = factories.official(factories.unit(region_obj=elsewhere), name="孙立")
    with pytest.raises(OfficialRefused) as far:
        add_hours(staff, site["station"], stranger, date(2024, 5, 16), time(9), time(11), now=NOW)
    assert far.value.code == "not_an_official"


# --- check in and out: the duty's presence proof ---------------------------------------------


def test_an_official_checks_in_and_out_and_a_repeated_nonce_returns_the_same_session(site, db):
    session = checked_in(site)
    assert session.status == DutyStatus.OPEN and session.method == DutyMethod.QR
    assert checked_in(site) is session
    assert [s.official.name for s in on_site_now(site["station"])] == ["张国栋"]
    with pytest.raises(CheckInRefused) as twice:
        checked_in(site, site["other"], nonce="nonce-official-2")
    assert twice.value.code == "already_open" and twice.value.details["session"] is session
    check_out_official(site["official"], session, residents_received=3, notes="接待3人", now=NOW + timedelta(hours=2))
    assert session.status == DutyStatus.CLOSED and session.residents_received == 3
    assert on_site_now(site["station"]) == []


def test_the_stations_presence_policy_holds_for_officials_too(site, db):
    station = site["station"]
    station.presence_policy = PresencePolicy.GEO
    far = Proof(latitude=LAT + 0.05, longitude=LON)
    with pytest.raises(CheckInRefused) as too_far:
        check_in_official(site["official"], station, nonce="nonce-geo-1", proof=far, secret=SECRET, now=NOW)
    assert too_far.value.code == "too_far"
    with pytest.raises(CheckInRefused) as nowhere:
        check_in_official(site["official"], station, nonce="nonce-geo-2", proof=Proof(), secret=SECRET, now=NOW)
    assert nowhere.value.code == "location_unavailable"
    near = Proof(latitude=LAT + 0.0005, longitude=LON)
    session = check_in_official(site["official"], station, nonce="nonce-geo-3", proof=near, secret=SECRET, now=NOW)
    assert session.distance_m is not None and session.distance_m < station.geo_radius_m


def test_a_tablet_code_checks_in_one_person_whether_representative_or_official(site, db):
    station = site["station"]
    station.presence_policy = PresencePolicy.KIOSK
    rep = factories.representative(stations=[station])
    token = kiosk_token(SECRET, station, kiosk_window(NOW))
    session = check_in_official(
        site["official"], station, nonce="nonce-kiosk-1", proof=Proof(kiosk_token=token), secret=SECRET, now=NOW
    )
    assert session.method == DutyMethod.KIOSK and session.kiosk_code == token
    with pytest.raises(CheckInRefused) as used:
        duty_service.check_in(
            rep, station, nonce="nonce-kiosk-2", proof=Proof(kiosk_token=token), secret=SECRET, now=NOW
        )
    assert used.value.code == "kiosk_used"
    assert duty_service.current_kiosk_code(SECRET, station, kiosk_window(NOW))[0] != token


# --- 现场办公: one request, two events ---------------------------------------------------------


def test_taken_up_and_sent_to_the_officials_unit_in_one_step(site, db):
    session = checked_in(site)
    concern = factories.concern(site["station"], contact_mobile="13800001234", consent_at=NOW)
    taken, sent = take_on_site(site["official"], session, concern, note="三日内到现场查看", now=NOW)
    assert (taken.action, taken.from_status, taken.to_status) == (
        "official_take",
        ConcernStatus.SUBMITTED,
        ConcernStatus.ACCEPTED,
    )
    assert (sent.action, sent.from_status, sent.to_status) == (
        "official_dispatch",
        ConcernStatus.ACCEPTED,
        ConcernStatus.DISPATCHED,
    )
    assert taken.actor_id == sent.actor_id == site["official"].user_id
    assert sent.note == "三日内到现场查看" and not sent.is_public
    assert concern.status == ConcernStatus.DISPATCHED and concern.unit is site["unit"]
    # The unit's deadline, as for any dispatch: the working-day calendar from now.
    assert concern.due_at == add_working_days(NOW, 15).due_at
    db.session.commit()
    told = db.session.scalars(sa.select(Outbox).where(Outbox.concern_id == concern.id)).all()
    assert {row.kind for row in told} == {"concern.dispatched"}
    assert any(row.recipient == "handler@example.org" for row in told)  # the unit's handler
    assert any(row.channel == "sms" for row in told)  # and the resident
    # The official's record keeps the session and the concern taken in it.
    year = record(site["official"], 2024, now=NOW + timedelta(hours=1))
    assert year.sessions == 1 and year.taken == 1
    assert year.lines[0].concerns[0].concern_id == concern.id


def test_answered_on_the_spot_and_the_resident_rates_it(site, db):
    session = checked_in(site)
    concern = factories.concern(site["station"])
    taken, answered = take_on_site(site["official"], session, concern, answer="已安排维修队今天下午更换路灯。", now=NOW)
    assert [taken.action, answered.action] == ["official_take", "official_answer"]
    assert answered.is_public and answered.note == "已安排维修队今天下午更换路灯。"
    # 代表督单 is not skipped: the station's manager checks the official's answer first.
    assert concern.status == ConcernStatus.REPLIED and concern.unit is site["unit"]
    concern_flow.transition(concern, A.CONFIRM, role=Role.STATION_MANAGER, actor=site["manager"], now=NOW)
    assert concern.status == ConcernStatus.CONFIRMED and concern.due_at is not None  # the rating window
    concern_flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED, now=NOW + timedelta(hours=3))
    assert concern.status == ConcernStatus.CLOSED


def test_the_station_sends_an_officials_answer_back_to_their_unit(site, db):
    concern = factories.concern(site["station"])
    take_on_site(site["official"], checked_in(site), concern, answer="已经处理。", now=NOW)
    concern_flow.transition(
        concern, A.SEND_BACK, role=Role.STATION_MANAGER, actor=site["manager"], note="还没修好", now=NOW
    )
    assert concern.status == ConcernStatus.DISPATCHED and concern.unit is site["unit"]


def test_a_dissatisfied_rating_of_an_answer_on_the_spot_goes_to_the_officials_unit(site, db):
    concern = factories.concern(site["station"])
    take_on_site(site["official"], checked_in(site), concern, answer="已经处理。", now=NOW)
    concern_flow.transition(concern, A.CONFIRM, role=Role.STATION_MANAGER, actor=site["manager"], now=NOW)
    concern_flow.rate(concern, Rating.DISSATISFIED, Rating.SATISFIED, now=NOW + timedelta(hours=3))
    assert concern.status == ConcernStatus.DISPATCHED and concern.unit is site["unit"]


def test_refused_when_not_checked_in_or_at_another_station(site, db):
    concern = factories.concern(site["station"])
    with pytest.raises(OfficialRefused) as nowhere:
        take_on_site(site["official"], None, concern, now=NOW)
    assert nowhere.value.code == "not_checked_in"
    elsewhere = checked_in(site, site["other"])
    with pytest.raises(OfficialRefused) as other:
        take_on_site(site["official"], elsewhere, concern, now=NOW)
    assert other.value.code == "other_station"
    check_out_official(site["official"], elsewhere, residents_received=0, now=NOW)
    with pytest.raises(OfficialRefused) as closed:
        take_on_site(site["official"], elsewhere, concern, now=NOW)
    assert closed.value.code == "not_checked_in"
    assert concern.status == ConcernStatus.SUBMITTED and concern.events == []


def test_refused_in_the_wrong_state_and_without_an_answer(site, db):
    session = checked_in(site)
    taken_by_rep = factories.concern(site["station"], status=ConcernStatus.ACCEPTED)
    with pytest.raises(TransitionRefused) as state:
        take_on_site(site["official"], session, taken_by_rep, now=NOW)
    assert state.value.code == "not_allowed_now"
    fresh = factories.concern(site["station"])
    with pytest.raises(TransitionRefused) as blank:
        take_on_site(site["official"], session, fresh, answer="   ", now=NOW)
    assert blank.value.code == "note_required"
    with pytest.raises(TransitionRefused) as stale:
        take_on_site(site["official"], session, fresh, expected_version=fresh.version + 1, now=NOW)
    assert stale.value.code == "changed"


def test_the_second_steps_apply_only_right_after_an_officials_take_up(site, db):
    """official_dispatch is no back door to dispatching any accepted concern."""
    concern = factories.concern(site["station"], status=ConcernStatus.ACCEPTED)
    with pytest.raises(TransitionRefused) as refused:
        concern_flow.transition(
            concern, "official_dispatch", role=Role.OFFICIAL, actor=site["official"].user, official=site["official"]
        )
    assert refused.value.code == "not_allowed_now"


def test_a_representative_who_is_an_official_takes_it_up_as_themselves(site, db):
    rep = factories.representative(stations=[site["station"]], name="王建军")
    official = appoint(None, rep.user, site["unit"], "项城市住房和城乡建设局副局长")
    session = check_in_official(official, site["station"], nonce="nonce-rep-off", proof=Proof(), secret=SECRET, now=NOW)
    concern = factories.concern(site["station"])
    take_on_site(official, session, concern, now=NOW)
    assert concern.assigned_rep is rep and concern.unit is site["unit"]
    events = db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == concern.id)).all()
    assert [e.action for e in events] == ["official_take", "official_dispatch"]


def test_an_open_session_left_past_closing_time_closes_by_itself(site, db):
    site["station"].closes_at = time(17, 30)
    session = checked_in(site, now=utc_at(date(2024, 5, 10), time(9)))
    duty_service.close_stale(now=utc_at(date(2024, 5, 11), time(9)))
    assert session.status == DutyStatus.AUTO_CLOSED
    assert session.checked_out_at == utc_at(date(2024, 5, 10), time(17, 30))


def test_an_official_has_no_role_in_the_loop_beyond_the_station(site, db):
    user = db.session.get(User, site["official"].user_id)
    assert user.role == Role.OFFICIAL
    assert concern_flow.CONCERN_FLOW.allowed_actions(ConcernStatus.SUBMITTED, Role.OFFICIAL) == ["official_take"]
    assert set(concern_flow.CONCERN_FLOW.allowed_actions(ConcernStatus.ACCEPTED, Role.OFFICIAL)) == {
        "official_dispatch",
        "official_answer",
    }
