"""Representatives' suggestions (代表建议, 重落实) on the workflow engine: the table is the
only way a status changes, every step leaves one event, refusals carry codes."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import AuditLog, Outbox, Suggestion, SuggestionEvent, utcnow
from models.enums import Rating, ReplyClass, Role
from models.enums import SuggestionAction as A
from models.enums import SuggestionStatus as S
from services import suggestion_flow as flow
from services.errors import SuggestionRefused, TransitionRefused
from services.suggestion_flow import SuggestionInput
from tests import factories


def _world(db):
    station = factories.station()
    author = factories.representative(stations=[station], name="王建国")
    cosigner = factories.representative(stations=[station], name="黄春燕")
    lead = factories.unit(region_obj=station.region)
    co = factories.unit(region_obj=station.region)
    return {
        "station": station,
        "author": author,
        "cosigner": cosigner,
        "lead": lead,
        "co": co,
        "staff": factories.user(Role.CONGRESS_STAFF, region=station.region, email="staff@example.org"),
        "lead_handler": factories.user(Role.UNIT_HANDLER, unit=lead, email="lead@example.org"),
        "co_handler": factories.user(Role.UNIT_HANDLER, unit=co, email="co@example.org"),
        "concern": factories.concern(station, assigned_rep=author),
    }


@pytest.fixture
def w(db):
    return _world(db)


def _file(w, **kw) -> Suggestion:
    data = SuggestionInput(
        title=kw.get("title", "关于老旧小区雨水管网改造的建议"),
        content=kw.get("content", "花园街道多个老旧小区雨水管网老化堵塞，每逢大雨积水严重，建议纳入年度改造计划。"),
        station_id=None,
        signer_ids=kw.get("signers", [w["cosigner"].id]),
        concern_ids=kw.get("concerns", [w["concern"].id]),
    )
    return flow.file(w["author"], data, actor=w["author"].user)


def _assign(w, s, days=60):
    flow.transition(s, A.SUBMIT, role=Role.REPRESENTATIVE, actor=w["author"].user)
    flow.transition(s, A.REGISTER, role=Role.CONGRESS_STAFF, actor=w["staff"])
    flow.transition(
        s, A.ASSIGN, role=Role.CONGRESS_STAFF, actor=w["staff"], lead_unit=w["lead"], co_units=[w["co"]], days=days
    )


def _reply(w, s, cls=ReplyClass.A, planned_on=None):
    flow.transition(
        s,
        A.REPLY,
        role=Role.UNIT_HANDLER,
        actor=w["lead_handler"],
        note="已列入年度计划",
        reply_class=cls,
        planned_on=planned_on,
    )


def test_an_a_reply_is_finished_only_when_done_and_rated(w):
    s = _file(w)
    assert s.status == S.DRAFT and s.concerns == [w["concern"]]
    with pytest.raises(SuggestionRefused) as refused:  # the author is no co-signer
        flow.transition(s, A.COSIGN, role=Role.REPRESENTATIVE, actor=w["author"].user)
    assert refused.value.code == "not_invited"
    flow.transition(s, A.COSIGN, role=Role.REPRESENTATIVE, actor=w["cosigner"].user)
    assert s.signers[0].signed_at is not None
    _assign(w, s)
    assert s.status == S.ASSIGNED and s.due_at is not None and s.lead_unit == w["lead"]
    flow.transition(s, A.OPINION, role=Role.UNIT_HANDLER, actor=w["co_handler"], note="同意，配合做好资金保障")
    assert s.co_units[0].opinion == "同意，配合做好资金保障"
    _reply(w, s)
    assert s.status == S.REPLIED and s.reply_class == ReplyClass.A and s.due_at is None
    flow.rate(s, Rating.SATISFIED, actor=w["author"].user)
    assert s.status == S.IMPLEMENTING  # answered is not finished (重落实)
    flow.transition(s, A.REPORT_DONE, role=Role.UNIT_HANDLER, actor=w["lead_handler"], note="管网已改造完成")
    flow.rate(s, Rating.BASICALLY_SATISFIED, actor=w["author"].user)
    assert s.status == S.CLOSED and s.closed_at is not None
    assert (s.rating_reply, s.rating_result) == (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)
    actions = [e.action for e in s.events]
    assert actions == [
        "file",
        "cosign",
        "submit",
        "register",
        "assign",
        "opinion",
        "reply",
        "rate_reply",
        "report_done",
        "rate_result",
    ]
    # One trail: each status-changing event starts where the previous one ended.
    moves = [e for e in s.events if flow.SUGGESTION_FLOW[e.action].target is not None]
    for previous, event in zip(moves, moves[1:], strict=False):
        assert event.from_status == previous.to_status


def test_a_c_reply_closes_once_rated(w):
    s = _file(w)
    _assign(w, s)
    _reply(w, s, ReplyClass.C)
    flow.rate(s, Rating.BASICALLY_SATISFIED, actor=w["author"].user)
    assert s.status == S.CLOSED and s.rating_result is None


def test_a_b_reply_needs_a_planned_date_not_in_the_past(w):
    s = _file(w)
    _assign(w, s)
    with pytest.raises(SuggestionRefused) as refused:
        _reply(w, s, ReplyClass.B)
    assert refused.value.code == "planned_date_required" and s.status == S.ASSIGNED
    with pytest.raises(SuggestionRefused) as refused:
        _reply(w, s, ReplyClass.B, planned_on=date(2020, 1, 1))
    assert refused.value.code == "planned_date_past"
    _reply(w, s, ReplyClass.B, planned_on=date.today() + timedelta(days=90))
    assert s.planned_on is not None and s.status == S.REPLIED


def test_a_dissatisfied_representative_sends_the_reply_back_once(w):
    s = _file(w)
    _assign(w, s)
    _reply(w, s)
    with pytest.raises(SuggestionRefused) as refused:
        flow.rate(s, Rating.SATISFIED, actor=w["author"].user, send_back=True)
    assert refused.value.code == "send_back_needs_dissatisfied"
    flow.rate(s, Rating.DISSATISFIED, actor=w["author"].user, comment="未说明资金来源", send_back=True)
    assert s.status == S.ASSIGNED and s.rounds == 2 and s.due_at is not None
    _reply(w, s)
    with pytest.raises(SuggestionRefused) as refused:
        flow.rate(s, Rating.DISSATISFIED, actor=w["author"].user, send_back=True)
    assert refused.value.code == "already_sent_back"
    flow.rate(s, Rating.DISSATISFIED, actor=w["author"].user)
    assert s.status == S.IMPLEMENTING and s.rating_reply == Rating.DISSATISFIED


def test_a_late_reply_is_remembered(w):
    s = _file(w)
    _assign(w, s, days=1)
    flow.transition(
        s,
        A.REPLY,
        role=Role.UNIT_HANDLER,
        actor=w["lead_handler"],
        note="答复",
        reply_class=ReplyClass.A,
        now=utcnow() + timedelta(days=30),
    )
    assert s.was_late


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"title": "短"}, "title_missing"),
        ({"title": "题" * 101}, "title_too_long"),
        ({"content": "太短"}, "content_too_short"),
        ({"signers": [999_999]}, "bad_signer"),
        ({"concerns": [999_999]}, "bad_concern"),
    ],
)
def test_filing_refuses_with_a_code(w, changes, code):
    with pytest.raises(SuggestionRefused) as refused:
        _file(w, **changes)
    assert refused.value.code == code


def test_a_concern_of_another_representative_cannot_be_linked(w):
    other = factories.concern(w["station"], assigned_rep=w["cosigner"])
    with pytest.raises(SuggestionRefused) as refused:
        _file(w, concerns=[other.id])
    assert refused.value.code == "bad_concern"


def test_assigning_needs_a_lead_unit_and_a_sensible_deadline(w):
    s = _file(w)
    flow.transition(s, A.SUBMIT, role=Role.REPRESENTATIVE, actor=w["author"].user)
    flow.transition(s, A.REGISTER, role=Role.CONGRESS_STAFF, actor=w["staff"])
    for kw, code in (
        ({"lead_unit": None, "days": 60}, "lead_unit_required"),
        ({"lead_unit": w["lead"], "days": 0}, "bad_days"),
        ({"lead_unit": w["lead"], "co_units": [w["lead"]], "days": 60}, "bad_co_unit"),
    ):
        with pytest.raises(SuggestionRefused) as refused:
            flow.transition(s, A.ASSIGN, role=Role.CONGRESS_STAFF, actor=w["staff"], **kw)
        assert refused.value.code == code and s.status == S.REGISTERED


def test_the_table_refuses_steps_out_of_place_and_roles_out_of_turn(w):
    s = _file(w)
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(s, A.REGISTER, role=Role.CONGRESS_STAFF, actor=w["staff"])
    assert refused.value.code == "not_allowed_now"
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(s, A.SUBMIT, role=Role.UNIT_HANDLER, actor=w["lead_handler"])
    assert refused.value.code == "role_not_allowed"
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(s, A.SUBMIT, role=Role.REPRESENTATIVE, actor=w["author"].user, expected_version=s.version - 1)
    assert refused.value.code == "changed"


def test_a_co_unit_gives_one_opinion(w):
    s = _file(w)
    _assign(w, s)
    flow.transition(s, A.OPINION, role=Role.UNIT_HANDLER, actor=w["co_handler"], note="同意")
    with pytest.raises(SuggestionRefused) as refused:
        flow.transition(s, A.OPINION, role=Role.UNIT_HANDLER, actor=w["co_handler"], note="再说一次")
    assert refused.value.code == "already_given"


def test_key_marks_are_events_and_audit_entries(db, w):
    s = _file(w)
    flow.transition(s, A.SUBMIT, role=Role.REPRESENTATIVE, actor=w["author"].user)
    flow.transition(s, A.MARK_KEY, role=Role.CONGRESS_STAFF, actor=w["staff"], note="涉及民生重点")
    assert s.is_key and s.status == S.SUBMITTED
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(s, A.MARK_KEY, role=Role.CONGRESS_STAFF, actor=w["staff"])
    assert refused.value.code == "not_allowed_now"
    assert flow.key_suggestions(w["staff"]) == [s]
    with pytest.raises(TransitionRefused) as refused:
        flow.transition(s, A.UNMARK_KEY, role=Role.CONGRESS_STAFF, actor=w["staff"])
    assert refused.value.code == "note_required"
    flow.transition(s, A.UNMARK_KEY, role=Role.CONGRESS_STAFF, actor=w["staff"], note="已合并办理")
    assert not s.is_key and flow.key_suggestions(w["staff"]) == []
    logged = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.target_type == "suggestion")).all()
    assert logged == ["suggestion.mark_key", "suggestion.unmark_key"]
    marks = [e for e in s.events if e.action in ("mark_key", "unmark_key")]
    assert [e.is_public for e in marks] == [False, False]


def test_notifications_go_through_the_outbox(db, w):
    s = _file(w)
    invited = db.session.scalars(sa.select(Outbox).where(Outbox.kind == "suggestion.cosign")).all()
    assert len(invited) == 1 and "关于老旧小区" in invited[0].body
    _assign(w, s)
    assigned = db.session.scalars(sa.select(Outbox.recipient).where(Outbox.kind == "suggestion.assigned")).all()
    assert sorted(assigned) == ["co@example.org", "lead@example.org"]
    _reply(w, s)
    replied = db.session.scalars(sa.select(Outbox).where(Outbox.kind == "suggestion.replied")).all()
    assert len(replied) == 1  # the author, who has no e-mail: by SMS, or a row never sent


def test_the_tracking_page_sees_the_suggestion_once_sent_in(w):
    s = _file(w)
    assert flow.grown_from(w["concern"]) == []  # a draft is the representative's own
    flow.transition(s, A.SUBMIT, role=Role.REPRESENTATIVE, actor=w["author"].user)
    assert flow.grown_from(w["concern"]) == [s]


def test_allowed_actions_follow_the_table():
    assert flow.SUGGESTION_FLOW.allowed_actions(S.DRAFT, Role.REPRESENTATIVE) == ["submit", "withdraw"]
    assert flow.SUGGESTION_FLOW.allowed_actions(S.ASSIGNED, Role.UNIT_HANDLER) == ["reply"]
    assert flow.SUGGESTION_FLOW.allowed_actions(S.REPLIED, Role.REPRESENTATIVE) == [
        "send_back",
        "rate_reply",
        "rate_reply_close",
    ]
    assert flow.SUGGESTION_FLOW.allowed_actions(S.CLOSED, Role.CONGRESS_STAFF) == []


ROLES = [Role.REPRESENTATIVE, Role.CONGRESS_STAFF, Role.UNIT_HANDLER, Role.ADMIN]
STEPS = sorted(
    {action for _status, action in flow.TRANSITIONS} | {"mark_key", "unmark_key", "opinion", "cosign", "fly"}
)


def _take(w, s, action: str, role: str):
    actor = {
        Role.REPRESENTATIVE: w["author"].user,
        Role.CONGRESS_STAFF: w["staff"],
        Role.UNIT_HANDLER: w["lead_handler"],
        Role.ADMIN: w["staff"],
    }[role]
    if action == "cosign" and role == Role.REPRESENTATIVE:
        actor = w["cosigner"].user  # the one invited
    if action in ("rate_reply", "rate_reply_close", "send_back"):
        rating = Rating.DISSATISFIED if action == "send_back" else Rating.SATISFIED
        if role != Role.REPRESENTATIVE:
            raise TransitionRefused("role_not_allowed")
        return flow.rate(s, rating, actor=actor, comment="说明", send_back=action == "send_back")
    if action == "rate_result":
        if role != Role.REPRESENTATIVE:
            raise TransitionRefused("role_not_allowed")
        return flow.rate(s, Rating.SATISFIED, actor=actor)
    return flow.transition(
        s,
        action,
        role=role,
        actor=actor,
        note="说明",
        lead_unit=w["lead"],
        co_units=[w["co"]],
        days=30,
        reply_class=ReplyClass.B,
        planned_on=date.today() + timedelta(days=60),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(STEPS), st.sampled_from(ROLES)), max_size=25))
def test_random_steps_never_leave_the_table_and_leave_an_unbroken_trail(db, steps):
    # Made per example, not by a fixture: each example ends with a rollback.
    w = _world(db)
    s = _file(w)
    for action, role in steps:
        before, events = s.status, len(s.events)
        try:
            event = _take(w, s, action, role)
        except (TransitionRefused, SuggestionRefused):
            assert s.status == before and len(s.events) == events
            continue
        # A rating is the reply's or the result's as the status says (flow.rate).
        spec = flow.SUGGESTION_FLOW[event.action]
        assert role in spec.roles and len(s.events) == events + 1
        if spec.target is not None:
            assert (before, spec.action) in flow.TRANSITIONS and s.status == spec.target
    # The steps that keep the status (co-signing, opinions, key marks) are events too, not moves.
    moves = [e for e in s.events if flow.SUGGESTION_FLOW[e.action].target is not None]
    assert moves[0].action == "file" and moves[0].to_status == S.DRAFT
    for previous, event in zip(moves, moves[1:], strict=False):
        assert event.from_status == previous.to_status
        assert (event.from_status, event.action) in flow.TRANSITIONS
    assert moves[-1].to_status == s.status
    if s.status == S.CLOSED:
        assert s.closed_at is not None and s.replied_at is not None
        # 重落实: an A or B reply closes only through a rated result
        assert (s.reply_class == ReplyClass.C) == (s.rating_result is None)
    db.session.rollback()


def test_events_share_the_concern_events_columns():
    from models import ConcernEvent

    shared = {"id", "actor_id", "action", "from_status", "to_status", "note", "is_public", "created_at"}
    assert shared <= set(ConcernEvent.__table__.c.keys()) and shared <= set(SuggestionEvent.__table__.c.keys())
