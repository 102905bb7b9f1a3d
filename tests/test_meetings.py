"""述职 meetings (services.meetings): scheduling, moving and cancelling before the start
(each in the audit log, the representative told through the outbox), the rating window,
one rating per token, the signed cookie's token, the results beside the report and the
figures per region."""

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, MeetingRating, Outbox, ReportMeeting
from models.enums import Rating, RegionLevel, Role
from services import meetings
from services.clock import local_today, utc_at
from services.errors import MeetingRefused, TransitionRefused
from services.figures import Period
from tests import factories

SECRET = "test-secret"


def actions() -> list[str]:
    return list(_db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))


@pytest.fixture
def cast(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other = factories.region("411100", "漯河市", RegionLevel.CITY)
    a = factories.station(name="莲花街道联络站", region=county)
    far = factories.station(name="漯河食品产业联络站", region=other)
    rep = factories.representative(stations=[a], name="王建国")
    rep_far = factories.representative(stations=[far], name="孙志强")
    rep.user.email = "wang@example.cn"
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[a])
    staff = factories.user(Role.CONGRESS_STAFF, region=city)
    _db.session.flush()
    return {"city": city, "county": county, "a": a, "far": far, "rep": rep, "rep_far": rep_far,
            "manager": manager, "staff": staff}  # fmt: skip


def tomorrow_at(start: int, end: int) -> meetings.When:
    day = local_today() + timedelta(days=1)
    return meetings.When(day, time(start), time(end))


# --- scheduling ---------------------------------------------------------------------------------


def test_scheduling_records_it_and_tells_the_representative(cast):
    meeting = meetings.schedule(cast["manager"], cast["a"], cast["rep"], 2025, tomorrow_at(14, 17))
    assert len(meeting.code) == 8
    assert meeting.starts_at == utc_at(local_today() + timedelta(days=1), time(14))
    assert meetings.phase(meeting) == "not_open"
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "meeting.scheduled"))
    assert entry.target_id == meeting.id and entry.data["year"] == 2025 and entry.data["station"] == cast["a"].code
    told = _db.session.scalars(sa.select(Outbox).where(Outbox.kind == "meeting.news")).all()
    assert [row.recipient for row in told] == ["wang@example.cn"]
    assert "莲花街道联络站" in told[0].body and "2025" in told[0].body


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"rep": "rep_far"}, "not_station_representative"),
        ({"year": 1999}, "bad_year"),
        ({"year": local_today().year + 2}, "bad_year"),
        ({"when": meetings.When(local_today() - timedelta(days=1), time(9), time(10))}, "in_past"),
        ({"when": tomorrow_at(15, 14)}, "ends_before_start"),
        ({"when": meetings.When(local_today() + timedelta(days=1), time(6), time(23))}, "too_long"),
    ],
)
def test_scheduling_refuses_with_a_code(cast, change, code):
    rep = cast[change.get("rep", "rep")]
    with pytest.raises(MeetingRefused) as refused:
        when = change.get("when", tomorrow_at(9, 11))
        meetings.schedule(cast["manager"], cast["a"], rep, change.get("year", 2025), when)
    assert refused.value.code == code
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ReportMeeting)) == 0
    assert "meeting.scheduled" not in actions()


def test_a_closed_station_holds_no_meeting(cast):
    cast["a"].is_active = False
    with pytest.raises(MeetingRefused) as refused:
        meetings.schedule(cast["manager"], cast["a"], cast["rep"], 2025, tomorrow_at(9, 11))
    assert refused.value.code == "station_inactive"


def test_moving_before_the_start_records_the_change(cast):
    meeting = meetings.schedule(cast["staff"], cast["a"], cast["rep"], 2025, tomorrow_at(9, 11))
    old_start = meeting.starts_at
    meetings.move(cast["manager"], meeting, tomorrow_at(14, 16))
    assert meeting.starts_at == old_start + timedelta(hours=5)
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "meeting.moved"))
    assert entry.data["changes"]["starts_at"] == [old_start.isoformat(), meeting.starts_at.isoformat()]
    assert entry.actor_id == cast["manager"].id
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Outbox).where(Outbox.kind == "meeting.news")) == 2


def test_moving_to_the_same_time_records_nothing(cast):
    meeting = meetings.schedule(cast["staff"], cast["a"], cast["rep"], 2025, tomorrow_at(9, 11))
    meetings.move(cast["manager"], meeting, tomorrow_at(9, 11))
    assert "meeting.moved" not in actions()


def test_once_begun_a_meeting_is_neither_moved_nor_cancelled(cast):
    meeting = factories.meeting(cast["a"], cast["rep"], starts_in_minutes=-5)
    for attempt in (
        lambda: meetings.move(cast["manager"], meeting, tomorrow_at(9, 11)),
        lambda: meetings.cancel(cast["manager"], meeting),
    ):
        with pytest.raises(TransitionRefused) as refused:  # MEETING_FLOW's `when`: not begun
            attempt()
        assert refused.value.code == "not_allowed_now"
    assert meeting.cancelled_at is None


def test_cancelling_keeps_the_row_and_refuses_a_second_time(cast):
    meeting = meetings.schedule(cast["staff"], cast["a"], cast["rep"], 2025, tomorrow_at(9, 11))
    meetings.cancel(cast["manager"], meeting)
    assert meeting.cancelled_by_id == cast["manager"].id and meetings.phase(meeting) == "cancelled"
    assert actions() == ["meeting.scheduled", "meeting.cancelled"]
    with pytest.raises(TransitionRefused) as refused:  # MEETING_FLOW: nothing leaves cancelled
        meetings.cancel(cast["manager"], meeting)
    assert refused.value.code == "not_allowed_now"
    with pytest.raises(TransitionRefused):
        meetings.move(cast["manager"], meeting, tomorrow_at(10, 12))


# --- rating ----------------------------------------------------------------------------------


def rate(meeting, token="tok-1", rating="satisfied", comment="", now=None):
    return meetings.rate(meeting, token, rating, comment, secret=SECRET, now=now)


def count_ratings() -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(MeetingRating))


def test_ratings_are_taken_only_within_the_window(cast):
    meeting = factories.meeting(cast["a"], cast["rep"], starts_in_minutes=60, minutes=60)
    before = meeting.starts_at - timedelta(seconds=1)
    with pytest.raises(MeetingRefused) as refused:
        rate(meeting, now=before)
    assert refused.value.code == "not_open"
    with pytest.raises(MeetingRefused) as refused:
        rate(meeting, now=meeting.ends_at)
    assert refused.value.code == "closed"
    assert count_ratings() == 0
    rate(meeting, now=meeting.starts_at)
    rate(meeting, token="tok-2", now=meeting.ends_at - timedelta(seconds=1))
    assert count_ratings() == 2


def test_a_cancelled_meeting_takes_no_rating(cast):
    meeting = factories.meeting(cast["a"], cast["rep"], cancelled_at=datetime(2026, 1, 1))
    with pytest.raises(MeetingRefused) as refused:
        rate(meeting)
    assert refused.value.code == "cancelled"
    assert count_ratings() == 0


def test_one_token_rates_once(cast):
    meeting = factories.meeting(cast["a"], cast["rep"])
    first = rate(meeting, rating="satisfied")
    again = rate(meeting, rating="dissatisfied", comment="再来一次")
    assert again.id == first.id and again.rating == Rating.SATISFIED
    assert count_ratings() == 1


def test_the_database_refuses_the_same_token_twice(cast):
    meeting = factories.meeting(cast["a"], cast["rep"])
    rate(meeting)
    digest = meetings.token_hash("tok-1", SECRET)
    _db.session.add(MeetingRating(meeting_id=meeting.id, rating=Rating.SATISFIED, token_hash=digest))
    with pytest.raises(sa.exc.IntegrityError):
        _db.session.flush()
    _db.session.rollback()


@pytest.mark.parametrize(
    ("token", "rating", "comment", "code"),
    [
        (None, "satisfied", "", "no_cookie"),
        ("t", "excellent", "", "bad_rating"),
        ("t", "satisfied", "长" * 301, "comment_too_long"),
    ],
)
def test_a_bad_rating_is_refused(cast, token, rating, comment, code):
    meeting = factories.meeting(cast["a"], cast["rep"])
    with pytest.raises(MeetingRefused) as refused:
        meetings.rate(meeting, token, rating, comment, secret=SECRET)
    assert refused.value.code == code
    assert count_ratings() == 0


def test_the_cookie_names_its_meeting_and_cannot_be_forged(cast):
    meeting = factories.meeting(cast["a"], cast["rep"])
    other = factories.meeting(cast["a"], cast["rep"])
    value = meetings.issue_token(meeting, SECRET)
    token = meetings.read_token(meeting, value, SECRET)
    assert token and meetings.read_token(meeting, value, SECRET) == token
    assert meetings.read_token(other, value, SECRET) is None  # another meeting's cookie
    assert meetings.read_token(meeting, value, "another-secret") is None
    assert meetings.read_token(meeting, value[:-2] + "xx", SECRET) is None
    assert meetings.read_token(meeting, None, SECRET) is None
    assert meetings.issue_token(meeting, SECRET) != value  # a fresh token each time


# --- results --------------------------------------------------------------------------------


def test_the_report_holds_each_meetings_results_and_comments(cast):
    held = factories.meeting(cast["a"], cast["rep"], year=2025)
    for i, rating in enumerate(["satisfied", "satisfied", "basically_satisfied", "dissatisfied"]):
        rate(held, token=f"t{i}", rating=rating, comment="<b>路灯</b>" if i == 3 else "")
    factories.meeting(cast["a"], cast["rep"], year=2025, cancelled_at=datetime(2026, 1, 1))
    factories.meeting(cast["a"], cast["rep"], year=2024)
    entries = meetings.report_meetings(cast["rep"], 2025)
    assert [e.meeting.id for e in entries] == [held.id]
    r = entries[0].results
    assert r.counts == {Rating.SATISFIED: 2, Rating.BASICALLY_SATISFIED: 1, Rating.DISSATISFIED: 1}
    assert r.total == 4 and r.satisfaction == 0.75
    assert [c.comment for c in entries[0].comments] == ["<b>路灯</b>"]
    assert meetings.overall(entries).total == 4
    assert meetings.Results().satisfaction is None


def test_figures_count_meetings_held_per_region_in_scope(cast):
    held = factories.meeting(cast["a"], cast["rep"])
    rate(held, token="x", rating="satisfied")
    rate(held, token="y", rating="dissatisfied")
    factories.meeting(cast["a"], cast["rep"], starts_in_minutes=60 * 24)  # to come: not held yet
    factories.meeting(cast["a"], cast["rep"], starts_in_minutes=-600, cancelled_at=datetime(2026, 1, 1))
    far = factories.meeting(cast["far"], cast["rep_far"])
    rate(far, token="z")
    today = local_today()
    period = Period(date(today.year, 1, 1), date(today.year, 12, 31))
    rows, total = meetings.by_region(cast["staff"], period)
    assert [(r.name, r.held, r.ratings, r.satisfied) for r in rows] == [("项城市", 1, 2, 1)]
    assert rows[0].satisfaction == 0.5 and total.held == 1
    admin = factories.user(Role.ADMIN)
    rows, total = meetings.by_region(admin, period)
    assert sorted(r.name for r in rows) == ["漯河市", "项城市"] and total.ratings == 3
    manager_of_far = factories.user(Role.STATION_MANAGER, managed_stations=[cast["far"]])
    assert [r.name for r in meetings.by_region(manager_of_far, period)[0]] == ["漯河市"]
