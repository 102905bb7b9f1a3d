"""The 六单制 state machine: the transition table is the only way a status changes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ConcernEvent
from models.enums import ConcernStatus as S
from models.enums import Role
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


def test_the_happy_loop_runs_from_submitted_to_closed_with_one_event_per_step(db):
    concern = _new_concern(db)
    steps = [
        ("accept", Role.REPRESENTATIVE, S.ACCEPTED),
        ("dispatch", Role.CONGRESS_STAFF, S.DISPATCHED),
        ("reply", Role.UNIT_HANDLER, S.REPLIED),
        ("confirm", Role.REPRESENTATIVE, S.CONFIRMED),
        ("rate", "resident", S.CLOSED),
    ]
    for action, role, expected in steps:
        event = flow.transition(concern, action, role=role, note="好")
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
    concern.status = S.CLOSED
    db.session.flush()
    flow.transition(concern, "reopen", role="resident")
    assert concern.status == S.DISPATCHED and concern.rounds == 2 and concern.closed_at is None
    concern.status = S.CLOSED
    db.session.flush()
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "reopen", role="resident")
    assert refused.value.code == "already_reopened"


def test_acting_on_an_outdated_page_is_refused_as_changed(db):
    concern = _new_concern(db)
    seen = concern.version
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "reject", role=Role.STATION_MANAGER, note="重复", expected_version=seen)
    assert refused.value.code == "changed"
    assert concern.status == S.ACCEPTED


def test_a_concurrent_change_in_the_database_is_caught_at_flush(app, db):
    """This request loaded the concern; someone else changed it before this one wrote."""
    import sqlalchemy as sa

    from models import Concern

    concern = _new_concern(db)
    db.session.commit()
    assert concern.status == S.SUBMITTED and concern.events  # loaded, as a view would
    db.session.expunge(concern)  # keep what was read, without a snapshot held open
    db.session.commit()
    with db.engine.begin() as conn:  # someone else acts first
        conn.execute(sa.update(Concern).where(Concern.id == concern.id).values(version=Concern.version + 1))
    db.session.add(concern)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(concern, "accept", role=Role.REPRESENTATIVE)
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
    assert flow.allowed_actions(S.SUBMITTED, Role.STATION_MANAGER) == ["accept", "reject", "merge"]
    assert flow.allowed_actions(S.DISPATCHED, Role.UNIT_HANDLER) == ["reply", "return"]
    assert flow.allowed_actions(S.CLOSED, Role.ADMIN) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ROLES)), max_size=25))
def test_random_actions_never_leave_the_table_and_leave_an_unbroken_trail(db, steps):
    concern = _new_concern(db)
    for action, role in steps:
        before = concern.status
        try:
            flow.transition(concern, action, role=role, note="说明")
        except TransitionRefused:
            assert concern.status == before
            continue
        rule = flow.TRANSITIONS[(before, action)]
        assert role in rule.roles and concern.status == rule.to
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
