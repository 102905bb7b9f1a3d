"""The workflow engine on a second, test-only workflow: a representative's suggestion with
its own statuses, actions, model and events. A new workflow is a table and a model, not a
second copy of the engine the concern loop runs on."""

from datetime import datetime
from enum import StrEnum

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from models import utcnow
from services.concern_flow import CONCERN_FLOW
from services.errors import TransitionRefused
from services.workflow import ActionSpec, Workflow


class SuggestionStatus(StrEnum):
    FILED = "filed"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    DONE = "done"


class SuggestionAction(StrEnum):
    ASSIGN = "assign"
    ANSWER = "answer"
    RATE = "rate"
    NOTE = "note"


class Base(DeclarativeBase):
    pass


class Suggestion(Base):
    __tablename__ = "test_suggestion"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=SuggestionStatus.FILED)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    events: Mapped[list["SuggestionEvent"]] = relationship(order_by="SuggestionEvent.id")
    __mapper_args__ = {"version_id_col": version}


class SuggestionEvent(Base):
    __tablename__ = "test_suggestion_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("test_suggestion.id"))
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    is_public: Mapped[bool]
    created_at: Mapped[datetime]


St, Act = SuggestionStatus, SuggestionAction
STAFF, UNIT, REP = frozenset({"congress_staff"}), frozenset({"unit_handler"}), frozenset({"representative"})
told: list[tuple[str, str]] = []

SUGGESTIONS = Workflow(
    "suggestion",
    Act,
    (
        ActionSpec(Act.ASSIGN, frozenset({St.FILED}), St.ASSIGNED, STAFF, title="Assigned", notice="unit"),
        ActionSpec(Act.ANSWER, frozenset({St.ASSIGNED}), St.ANSWERED, UNIT, title="Answered", note_required=True),
        # 重落实: rated once done, and sent back while it is not.
        ActionSpec(Act.RATE, frozenset({St.ANSWERED}), St.DONE, REP, title="Rated", notice="staff"),
        ActionSpec(Act.NOTE, frozenset(St), None, STAFF | UNIT, title="Note", note_required=True, note_public=False),
    ),
    event=SuggestionEvent,
    notify=lambda record, event, spec: told.append((spec.notice, event.action)),
)


@pytest.fixture
def suggestions(db):
    Base.metadata.create_all(db.engine)
    told.clear()
    yield
    db.session.rollback()
    Base.metadata.drop_all(db.engine)


def _new(db) -> Suggestion:
    suggestion = Suggestion()
    db.session.add(suggestion)
    db.session.flush()
    return suggestion


def test_a_second_workflow_runs_on_the_same_engine_with_its_own_table(db, suggestions):
    assert type(CONCERN_FLOW) is type(SUGGESTIONS)
    s = _new(db)
    assert SUGGESTIONS.allowed_actions(s.status, "congress_staff") == [Act.ASSIGN]
    SUGGESTIONS.step(s, Act.ASSIGN, role="congress_staff")
    SUGGESTIONS.step(s, "answer", role="unit_handler", note="已列入明年计划")
    SUGGESTIONS.step(s, Act.NOTE, role="congress_staff", note="跟踪落实")
    SUGGESTIONS.step(s, Act.RATE, role="representative", note="满意")
    assert s.status == St.DONE
    trail = [(e.action, e.from_status, e.to_status, e.is_public) for e in s.events]
    assert trail == [
        ("assign", "filed", "assigned", True),
        ("answer", "assigned", "answered", True),
        ("note", "answered", "answered", False),
        ("rate", "answered", "done", True),
    ]
    assert told == [("unit", "assign"), ("staff", "rate")]  # only the rows with a notice


@pytest.mark.parametrize(
    ("action", "role", "note", "code"),
    [
        (Act.ANSWER, "unit_handler", "答复", "not_allowed_now"),
        ("fly", "congress_staff", "", "not_allowed_now"),
        (Act.ASSIGN, "unit_handler", "", "role_not_allowed"),
        (Act.NOTE, "congress_staff", "   ", "note_required"),
    ],
)
def test_the_engine_refuses_with_the_tables_codes_and_changes_nothing(db, suggestions, action, role, note, code):
    s = _new(db)
    with pytest.raises(TransitionRefused) as refused:
        SUGGESTIONS.step(s, action, role=role, note=note)
    assert refused.value.code == code
    assert s.status == St.FILED and s.events == []


def test_a_stale_version_is_refused_as_changed(db, suggestions):
    s = _new(db)
    seen = s.version
    SUGGESTIONS.step(s, Act.ASSIGN, role="congress_staff")
    with pytest.raises(TransitionRefused) as refused:
        SUGGESTIONS.step(s, Act.NOTE, role="congress_staff", note="晚了一步", expected_version=seen)
    assert refused.value.code == "changed"


def test_a_table_without_a_row_for_every_action_is_refused():
    with pytest.raises(ValueError, match="rate"):
        Workflow("broken", Act, [spec for spec in SUGGESTIONS if spec.action != Act.RATE], event=SuggestionEvent)


def test_every_concern_action_has_one_row_read_by_the_engine():
    from models.enums import ConcernAction

    assert set(CONCERN_FLOW.table) == set(ConcernAction)
    assert all(isinstance(spec, ActionSpec) for spec in CONCERN_FLOW)
    # every button the back office shows has its note label and its done message
    for spec in CONCERN_FLOW:
        if spec.button is not None:
            assert spec.note_label is not None and spec.done is not None, spec.action
