"""services.triage and `flask concerns remind`: reminders a working day before a stage's
deadline, escalations past it, each once per stage."""

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from models import Concern, ConcernEvent, Outbox, utcnow
from models.enums import ConcernStatus as S
from models.enums import OutboxStatus, RegionLevel, Role
from services import concern_flow as flow
from services import triage
from services.clock import end_of_day, utc_at
from services.codes import format_tracking_code
from services.notifications import ESCALATION, REMINDER, UNREACHABLE
from tests import factories


@pytest.fixture
def world(db):
    """A station in 项城市 (county) under 周口市 (city): a manager, two representatives, a
    unit with two handlers, county staff and city staff (with a retired colleague)."""
    city = factories.region(name="周口市", level=RegionLevel.CITY)
    county = factories.region(name="项城市", parent=city)
    station = factories.station(region=county, name="莲花社区联络站")
    rep = factories.representative(stations=[station], name="王建国")
    rep.user.email = "rep@example.org"
    unit = factories.unit(region_obj=county, name="项城市住建局")
    w = {
        "city": city,
        "county": county,
        "station": station,
        "rep": rep,
        "unit": unit,
        "manager": factories.user(
            Role.STATION_MANAGER, managed_stations=[station], display_name="李站长", email="li@example.org"
        ),
        "handlers": [
            factories.user(Role.UNIT_HANDLER, unit=unit, display_name="张科长", email="zhang@example.org"),
            factories.user(Role.UNIT_HANDLER, unit=unit, display_name="赵干事", mobile="13900139001"),
        ],
        "county_staff": factories.user(
            Role.CONGRESS_STAFF, region=county, display_name="县工委", email="county@example.org"
        ),
        "city_staff": factories.user(Role.CONGRESS_STAFF, region=city, display_name="市工委", mobile="13700137000"),
    }
    factories.user(Role.CONGRESS_STAFF, region=city, display_name="退休", email="old@example.org", active=False)
    return w


def concern_at(w, status: S, due_at, **kw) -> Concern:
    if status in (S.ACCEPTED, S.DISPATCHED, S.REPLIED):
        kw.setdefault("assigned_rep", w["rep"])
    if status in (S.DISPATCHED, S.REPLIED):
        kw.setdefault("unit", w["unit"])
    return factories.concern(w["station"], status=status, due_at=due_at, **kw)


def outbox(db, kind: str | None = None) -> list[Outbox]:
    db.session.flush()
    query = sa.select(Outbox).order_by(Outbox.id)
    if kind:
        query = query.where(Outbox.kind == kind)
    return list(db.session.scalars(query))


def recipients(rows) -> set[str]:
    return {row.recipient for row in rows}


# A Friday morning; the deadline at the end of the next Monday.
FRIDAY = utc_at(date(2025, 11, 14), time(9))
MONDAY_DUE = end_of_day(date(2025, 11, 17))


@pytest.mark.parametrize(
    ("status", "told"),
    [
        (S.SUBMITTED, {"li@example.org"}),  # 定单: the station's managers
        (S.ACCEPTED, {"rep@example.org", "county@example.org"}),  # 派单: the taker and the nearest staff
        (S.DISPATCHED, {"zhang@example.org", "13900139001"}),  # 办单: the unit's handlers
        (S.REPLIED, {"rep@example.org"}),  # 督单: the representative
    ],
)
def test_a_reminder_goes_once_to_whoever_must_act_in_the_stage(db, world, status, told):
    concern = concern_at(world, status, MONDAY_DUE)
    done = triage.run(FRIDAY)
    rows = outbox(db, REMINDER)
    assert (done.reminded, done.escalated, done.messages) == (1, 0, len(told))
    assert recipients(rows) == told
    stage = flow.STAGES[flow.awaited_stage(status)][2]
    for row in rows:
        text = row.body
        assert text.startswith("提醒：")  # staff read Chinese, whatever the job's locale
        assert format_tracking_code(concern.tracking_code) in text and stage in text and "2025-11-17 23:59" in text
        assert row.concern_id == concern.id and row.status == OutboxStatus.PENDING
    assert concern.reminded_at == FRIDAY and concern.escalated_at is None
    # Again, later the same day and on Saturday: nothing new.
    assert triage.run(FRIDAY + timedelta(hours=3)).messages == 0
    assert triage.run(FRIDAY + timedelta(days=1)).messages == 0
    assert len(outbox(db, REMINDER)) == len(told)


def test_a_reminder_waits_for_the_last_working_day_before_the_deadline(db, world):
    # Due Monday: not on Thursday, on Friday (not on Sunday, a weekday count's "one day before").
    monday = concern_at(world, S.SUBMITTED, MONDAY_DUE)
    assert triage.run(utc_at(date(2025, 11, 13), time(17))).reminded == 0
    assert triage.run(utc_at(date(2025, 11, 14), time(0, 5))).reminded == 1
    assert monday.reminded_at is not None
    # Due the Thursday after the National Day holiday (1–8 October 2025): the working day
    # before it is Tuesday 30 September, a week earlier; on a weekday count it would be the 8th.
    after_holiday = concern_at(world, S.SUBMITTED, end_of_day(date(2025, 10, 9)))
    assert triage.run(utc_at(date(2025, 9, 29), time(9))).reminded == 0
    assert triage.run(utc_at(date(2025, 9, 30), time(9))).reminded == 1
    assert after_holiday.reminded_at is not None
    # Due Monday 29 September, after the make-up working Sunday 28th: reminded on that Sunday.
    makeup = concern_at(world, S.SUBMITTED, end_of_day(date(2025, 9, 29)))
    assert triage.run(utc_at(date(2025, 9, 27), time(9))).reminded == 0
    assert triage.run(utc_at(date(2025, 9, 28), time(9))).reminded == 1
    assert makeup.reminded_at is not None


def test_finished_and_rating_stages_are_not_reminded(db, world):
    concern_at(world, S.CONFIRMED, MONDAY_DUE)  # the resident's rating window, not staff's
    factories.concern(world["station"], status=S.CLOSED)
    done = triage.run(FRIDAY)
    assert (done.reminded, done.escalated, done.messages) == (0, 0, 0)


def test_an_overdue_stage_is_escalated_once_to_the_nearest_staff_with_an_internal_event(db, world, client):
    concern = concern_at(world, S.SUBMITTED, utcnow() - timedelta(hours=1))
    version = concern.version
    done = triage.run()
    assert (done.escalated, done.reminded) == (1, 0)
    rows = outbox(db, ESCALATION)
    assert recipients(rows) == {"county@example.org"}  # not the city: the county is nearer
    assert "莲花社区联络站" in rows[0].body and "代表定单" in rows[0].body and "超期" in rows[0].body
    assert concern.escalated_at is not None
    # Neither the version a staff member's open form carries nor the update time moved.
    db.session.commit()
    db.session.expire_all()
    concern = db.session.get(Concern, concern.id)
    assert concern.version == version
    event = db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == concern.id)).one()
    assert (event.action, event.is_public, event.actor_id) == ("escalate", False, None)
    assert "县工委" in event.note
    # Once: the next runs add nothing.
    assert triage.run().messages == 0 and triage.run(utcnow() + timedelta(days=3)).escalated == 0
    assert len(outbox(db, ESCALATION)) == 1
    # The concern's page shows the mark and the trail to staff; the tracking page shows neither.
    from tests.helpers import login

    login(client, world["manager"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert "badge escalated" in page and "县工委" in page
    public = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "县工委" not in public


def test_a_dispatch_overdue_goes_above_the_staff_who_had_to_dispatch(db, world):
    concern_at(world, S.ACCEPTED, utcnow() - timedelta(hours=1))
    triage.run()
    # 派单 is the county staff's step: the city staff above are told (the retired one not).
    assert recipients(outbox(db, ESCALATION)) == {"13700137000"}


def test_with_nobody_above_the_escalation_shows_as_not_notified(db, world, client):
    world["county_staff"].active = False
    world["city_staff"].role = Role.ADMIN  # no congress staff over the station any more
    concern = concern_at(world, S.DISPATCHED, utcnow() - timedelta(hours=1))
    done = triage.run()
    assert (done.escalated, done.messages, done.unreachable) == (1, 1, 1)
    row = outbox(db, ESCALATION)[0]
    assert row.channel == UNREACHABLE and row.status == OutboxStatus.FAILED
    assert "莲花社区联络站" in row.recipient
    event = db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == concern.id)).one()
    assert "县工委" not in event.note and "市工委" not in event.note
    from tests.helpers import login

    login(client, world["manager"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert row.recipient in page  # under "Not notified", like any staff member who could not be told


def test_a_stage_without_anyone_to_remind_shows_as_not_notified(db, world):
    for handler in world["handlers"]:
        handler.active = False
    concern_at(world, S.DISPATCHED, MONDAY_DUE)
    done = triage.run(FRIDAY)
    assert (done.reminded, done.unreachable) == (1, 1)
    assert "项城市住建局" in outbox(db, REMINDER)[0].recipient


def test_the_next_stage_is_reminded_and_escalated_again(db, world):
    concern = concern_at(world, S.ACCEPTED, utcnow() - timedelta(hours=1))
    assert triage.run().escalated == 1
    flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, actor=world["county_staff"], unit=world["unit"])
    assert concern.escalated_at is None and concern.reminded_at is None
    # The unit's deadline: reminded the working day before, escalated once it has passed.
    before = concern.due_at - timedelta(hours=12)
    assert triage.run(before).reminded == 1
    assert triage.run(concern.due_at + timedelta(minutes=1)).escalated == 1
    assert triage.run(concern.due_at + timedelta(days=1)).escalated == 0
    kinds = [row.kind for row in outbox(db) if row.kind in (REMINDER, ESCALATION)]
    assert kinds.count(ESCALATION) == 2  # the accepted stage's (the city) and the dispatched one's (the county)
    assert kinds.count(REMINDER) == 2  # the unit's two handlers


def test_a_step_taken_since_the_run_read_the_concern_is_not_marked(db, world):
    concern = concern_at(world, S.SUBMITTED, utcnow() - timedelta(hours=1))
    # Another process moves it on (same stage deadline no longer): the claim fails.
    moved = sa.update(Concern).where(Concern.id == concern.id).values(status=S.ACCEPTED, due_at=MONDAY_DUE)
    # this run still sees it submitted; the other process's figures are not what is tested
    db.session.execute(moved.execution_options(synchronize_session=False, figures_unaffected=True))
    assert triage._claim(concern, Concern.escalated_at, utcnow()) is False


def test_flask_concerns_remind_prints_counts_and_is_idempotent(db, world, runner):
    concern_at(world, S.SUBMITTED, utcnow() - timedelta(hours=1))
    concern_at(world, S.DISPATCHED, utcnow() - timedelta(hours=2))
    db.session.commit()
    result = runner.invoke(args=["concerns", "remind"])
    assert result.exit_code == 0, result.output
    assert "escalated 2 concerns" in result.output and "2 messages queued" in result.output
    assert len(outbox(db, ESCALATION)) == 2
    again = runner.invoke(args=["concerns", "remind"])
    assert "Reminded 0, escalated 0 concerns; 0 messages queued" in again.output
    assert len(outbox(db, ESCALATION)) == 2
