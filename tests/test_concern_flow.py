"""The 六单制 state machine: the transition table is the only way a status changes."""

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ConcernEvent, ConcernRating, utcnow
from models.enums import ConcernStatus as S
from models.enums import Rating, Role
from services import concern_flow as flow
from services.errors import TransitionRefused
from tests import factories

ROLES = [r.value for r in Role] + ["resident", "system"]
ACTIONS = sorted({action for _state, action in flow.TRANSITIONS} | {"fly", "approve"})


def _new_concern(db):
    concern = factories.concern()
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    db.session.flush()
    return concern


@pytest.fixture
def people(db):
    """Who a concern can be given to: a representative (定单) and a handling unit (派单)."""
    return {"representative": factories.representative(), "unit": factories.unit()}


def _to(concern, people, *steps):
    for action, role in steps:
        flow.transition(concern, action, role=role, note="说明", **people)


def test_the_happy_loop_runs_from_submitted_to_closed_with_one_event_per_step(db, people):
    concern = _new_concern(db)
    steps = [
        ("accept", Role.REPRESENTATIVE, S.ACCEPTED),
        ("dispatch", Role.CONGRESS_STAFF, S.DISPATCHED),
        ("reply", Role.UNIT_HANDLER, S.REPLIED),
        ("confirm", Role.REPRESENTATIVE, S.CONFIRMED),
        ("rate", "resident", S.CLOSED),
    ]
    for action, role, expected in steps:
        event = flow.transition(concern, action, role=role, note="好", **people)
        assert concern.status == expected and event.to_status == expected
    assert concern.closed_at is not None
    assert [e.to_status for e in concern.events] == [S.SUBMITTED] + [s[2] for s in steps]


@pytest.mark.parametrize(
    ("status", "action", "role", "code"),
    [
        (S.SUBMITTED, "reply", Role.UNIT_HANDLER, "not_allowed_now"),
        (S.CLOSED, "accept", Role.REPRESENTATIVE, "not_allowed_now"),
        (S.SUBMITTED, "accept", Role.UNIT_HANDLER, "role_not_allowed"),
        (S.ACCEPTED, "dispatch", Role.REPRESENTATIVE, "role_not_allowed"),
        (S.SUBMITTED, "withdraw", Role.STATION_MANAGER, "role_not_allowed"),
    ],
)
def test_refusals_say_why_and_change_nothing(db, status, action, role, code):
    concern = _new_concern(db)
    concern.status = status
    db.session.flush()
    version = concern.version
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, action, role=role)
    assert refused.value.code == code
    assert concern.status == status and concern.version == version and len(concern.events) == 1


def test_reasons_are_required_where_someone_reads_them(db):
    concern = _new_concern(db)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "reject", role=Role.STATION_MANAGER, note="   ")
    assert refused.value.code == "note_required"
    flow.transition(concern, "reject", role=Role.STATION_MANAGER, note="不属于人大代表联络站受理范围")
    assert concern.status == S.REJECTED


def test_a_dissatisfied_resident_reopens_once(db):
    concern = _new_concern(db)
    concern.status, concern.due_at, concern.unit = S.CLOSED, None, factories.unit()  # a unit to go back to
    db.session.flush()
    flow.transition(concern, "reopen", role="resident")
    assert concern.status == S.DISPATCHED and concern.rounds == 2 and concern.closed_at is None
    concern.status, concern.due_at = S.CLOSED, None
    db.session.flush()
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "reopen", role="resident")
    assert refused.value.code == "already_reopened"


def test_acting_on_an_outdated_page_is_refused_as_changed(db, people):
    concern = _new_concern(db)
    seen = concern.version
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE, **people)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "reject", role=Role.STATION_MANAGER, note="重复", expected_version=seen)
    assert refused.value.code == "changed"
    assert concern.status == S.ACCEPTED


@pytest.mark.parametrize("events_loaded", [True, False])
def test_a_concurrent_change_in_the_database_is_caught_at_flush(app, db, people, events_loaded):
    """This request loaded the concern; someone else changed it before this one wrote. (The
    back office's page does not load the events: loading them to add one flushes first.)"""
    import sqlalchemy as sa

    from models import Concern

    concern = _new_concern(db)
    db.session.commit()
    assert concern.status == S.SUBMITTED
    if events_loaded:
        assert concern.events
    else:
        db.session.expire(concern, ["events"])
    db.session.expunge(concern)  # keep what was read, without a snapshot held open
    db.session.commit()
    with db.engine.begin() as conn:  # someone else acts first
        conn.execute(sa.update(Concern).where(Concern.id == concern.id).values(version=Concern.version + 1))
    db.session.add(concern)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "accept", role=Role.REPRESENTATIVE, **people)
    assert refused.value.code == "changed"
    db.session.rollback()


def test_recategorizing_is_an_event_too(db):
    concern = _new_concern(db)
    other = factories.category(name_zh="交通出行", name_en="Transport")
    old = concern.category.name_zh
    event = flow.recategorize(concern, other, role=Role.STATION_MANAGER, actor=None)
    assert concern.category_id == other.id
    assert event.action == "recategorize" and old in event.note and "交通出行" in event.note
    with pytest.raises(TransitionRefused) as refused:
        flow.recategorize(concern, other, role=Role.STATION_MANAGER, actor=None)
    assert refused.value.code == "bad_category"
    with pytest.raises(TransitionRefused) as refused:
        flow.recategorize(concern, factories.category(), role=Role.UNIT_HANDLER, actor=None)
    assert refused.value.code == "role_not_allowed"


def test_allowed_actions_follow_the_table():
    submitted = ["accept", "pass_to_station", "reject", "merge"]
    assert flow.CONCERN_FLOW.allowed_actions(S.SUBMITTED, Role.STATION_MANAGER) == submitted
    assert flow.CONCERN_FLOW.allowed_actions(S.DISPATCHED, Role.UNIT_HANDLER) == ["reply", "return"]
    assert flow.CONCERN_FLOW.allowed_actions(S.CLOSED, Role.ADMIN) == []
    assert flow.CONCERN_FLOW.allowed_actions(S.CLOSED, "resident") == ["reopen", "reopen_to_rep"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ROLES)), max_size=25))
def test_random_actions_never_leave_the_table_and_leave_an_unbroken_trail(db, steps):
    # Made per example, not by a fixture: each example ends with a rollback.
    concern = _new_concern(db)
    people = {"representative": factories.representative(), "unit": factories.unit()}
    for action, role in steps:
        before = concern.status
        try:
            flow.transition(concern, action, role=role, note="说明", **people)
        except TransitionRefused:
            assert concern.status == before
            continue
        rule = flow.TRANSITIONS[(before, action)]
        assert role in rule.roles and concern.status == rule.target
    events = [e for e in concern.events if e.action != "recategorize"]
    # Every event starts where the previous one ended: nothing changed a status off the record.
    for previous, event in zip(events, events[1:], strict=False):
        assert event.from_status == previous.to_status
        assert (event.from_status, event.action) in flow.TRANSITIONS
    assert events[-1].to_status == concern.status
    if concern.status == S.CLOSED:
        assert concern.closed_at is not None and events[0].to_status == S.SUBMITTED
    db.session.rollback()


def test_merging_names_the_concern_it_joins(db):
    original, duplicate = _new_concern(db), _new_concern(db)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(duplicate, "merge", role=Role.STATION_MANAGER, note="同一问题")
    assert refused.value.code == "merge_target_required"
    flow.transition(duplicate, "merge", role=Role.STATION_MANAGER, note="同一问题", merge_into=original)
    assert duplicate.status == S.MERGED and duplicate.merged_into_id == original.id


def test_taking_up_and_dispatching_name_who_and_where(db, people):
    concern = _new_concern(db)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "accept", role=Role.STATION_MANAGER)
    assert refused.value.code == "representative_required"
    flow.transition(concern, "accept", role=Role.STATION_MANAGER, representative=people["representative"])
    assert concern.assigned_rep_id == people["representative"].id
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF)
    assert refused.value.code == "unit_required"
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, unit=people["unit"], due_at=datetime(2020, 1, 1))
    assert refused.value.code == "bad_deadline"
    chosen = utcnow() + timedelta(days=40)
    flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, unit=people["unit"], due_at=chosen)
    assert concern.unit_id == people["unit"].id and concern.due_at == chosen
    flow.transition(concern, "return", role=Role.UNIT_HANDLER, note="不属于本单位职责")
    assert concern.status == S.ACCEPTED and concern.unit_id is None


def test_each_stage_gets_a_deadline_in_working_days_and_lateness_is_remembered(db, people):
    concern = _new_concern(db)
    # Filed on the Tuesday before National Day 2026 (1–7 October off, Saturday 10th worked).
    filed = datetime(2026, 9, 29, 2, 0)  # 10:00 in China
    concern.created_at = filed
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE, now=filed, **people)
    # accepted: 3 working days → 30 Sep, 8 Oct, 9 Oct; due at the end of 9 October, China time
    assert concern.due_at == datetime(2026, 10, 9, 15, 59, 59) and not concern.due_estimated
    assert not flow.is_overdue(concern, now=datetime(2026, 10, 9, 15, 0))
    assert flow.is_overdue(concern, now=datetime(2026, 10, 9, 16, 0))
    flow.transition(concern, "dispatch", role=Role.CONGRESS_STAFF, now=datetime(2026, 10, 12, 1, 0), **people)
    assert concern.was_late
    flow.transition(concern, "reply", role=Role.UNIT_HANDLER, note="已修复", now=datetime(2026, 10, 13, 1, 0))
    flow.transition(concern, "confirm", role=Role.REPRESENTATIVE, now=datetime(2026, 10, 13, 2, 0))
    assert concern.due_at == datetime(2026, 10, 20, 2, 0)  # rating window: calendar days
    assert not flow.is_overdue(concern, now=datetime(2026, 12, 1))  # the resident is never "overdue"
    flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED, now=datetime(2026, 10, 14, 2, 0))
    # 30 Sep, 8, 9, 10 (make-up Saturday), 12, 13, 14 October
    assert concern.status == S.CLOSED and concern.close_working_days == 7 and concern.due_at is None


def test_a_deadline_in_a_year_the_calendar_does_not_know_is_marked_estimated(db, people):
    concern = _new_concern(db)
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE, now=datetime(2031, 3, 3, 2, 0), **people)
    assert concern.due_estimated


def test_dissatisfied_rating_sends_it_back_once_then_closes_for_good(db, people):
    concern = _new_concern(db)
    _to(concern, people, ("accept", Role.REPRESENTATIVE), ("dispatch", Role.CONGRESS_STAFF))
    _to(concern, people, ("reply", Role.UNIT_HANDLER), ("confirm", Role.REPRESENTATIVE))
    flow.rate(concern, Rating.DISSATISFIED, Rating.BASICALLY_SATISFIED, "路灯还是不亮")
    assert concern.status == S.DISPATCHED and concern.rounds == 2
    assert [e.action for e in concern.events][-2:] == ["rate", "reopen"]
    with pytest.raises(TransitionRefused) as refused:
        flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    assert refused.value.code == "not_allowed_now"
    _to(concern, people, ("reply", Role.UNIT_HANDLER), ("confirm", Role.REPRESENTATIVE))
    flow.rate(concern, Rating.DISSATISFIED, Rating.DISSATISFIED)
    assert concern.status == S.CLOSED and [r.round for r in concern.ratings] == [1, 2]
    with pytest.raises(TransitionRefused) as refused:
        flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    assert refused.value.code == "not_allowed_now"


def test_a_concern_resolved_on_the_spot_goes_back_to_its_representative(db, people):
    concern = _new_concern(db)
    _to(concern, people, ("accept", Role.REPRESENTATIVE), ("resolve", Role.REPRESENTATIVE))
    _to(concern, people, ("confirm", Role.STATION_MANAGER))
    flow.rate(concern, Rating.SATISFIED, Rating.DISSATISFIED)
    assert concern.status == S.ACCEPTED and concern.events[-1].action == "reopen_to_rep"


def test_one_rating_per_round(db, people):
    concern = _new_concern(db)
    _to(concern, people, ("accept", Role.REPRESENTATIVE), ("resolve", Role.REPRESENTATIVE))
    _to(concern, people, ("confirm", Role.REPRESENTATIVE))
    concern.ratings.append(ConcernRating(round=1, rating_unit=Rating.SATISFIED, rating_rep=Rating.SATISFIED))
    with pytest.raises(TransitionRefused) as refused:
        flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    assert refused.value.code == "already_rated"


def test_unrated_concerns_close_by_themselves_after_the_rating_window(db, people):
    waiting, fresh = _new_concern(db), _new_concern(db)
    long_ago = utcnow() - timedelta(days=30)
    for concern, when in ((waiting, long_ago), (fresh, utcnow())):
        for action, role in (("accept", Role.REPRESENTATIVE), ("resolve", Role.REPRESENTATIVE)):
            flow.transition(concern, action, role=role, note="说明", now=when, **people)
        flow.transition(concern, "confirm", role=Role.REPRESENTATIVE, now=when)
    assert flow.auto_close_due() == 1
    assert waiting.status == S.CLOSED and waiting.events[-1].action == "auto_close"
    assert fresh.status == S.CONFIRMED


def test_notes_are_events_that_change_no_status(db, people):
    concern = _new_concern(db)
    note = flow.add_note(concern, "已电话联系群众", role=Role.STATION_MANAGER, actor=None, public=False)
    reply = flow.add_note(concern, "我们已安排代表跟进", role=Role.STATION_MANAGER, actor=None, public=True)
    assert (note.action, note.is_public, reply.action, reply.is_public) == ("note", False, "comment", True)
    assert concern.status == S.SUBMITTED and note.from_status == note.to_status == S.SUBMITTED
    with pytest.raises(TransitionRefused) as refused:
        flow.add_note(concern, "  ", role=Role.STATION_MANAGER, actor=None, public=False)
    assert refused.value.code == "note_required"
