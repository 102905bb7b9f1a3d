"""A workflow as data: each action one row (ActionSpec), one engine for all of them.

A workflow is a record with a status, a version (the mapper's version_id_col) and a list
of events, plus a table of its actions. The engine checks an action against the table
(refusing with a code), changes the status, writes the event beside the change and hands
it to the workflow's notifier and publisher, all in the caller's transaction. The concern loop
(services.concern_flow) is one such table; another workflow is another table and model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from models import utcnow
from services.errors import TransitionRefused

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)

# Who acts without an account: the holder of a tracking code, and the scheduled jobs.
RESIDENT = "resident"
SYSTEM = "system"


@dataclass(frozen=True)
class ActionSpec(Generic[S, A]):
    """Everything about one action: the statuses it may be taken from (none: never through
    the engine, as filing, which creates the record) and the status it leads to (None: the
    status stays, as for a note or a change of category)."""

    action: A
    sources: frozenset[S]
    target: S | None
    roles: frozenset[str]  # who may press it (before scope, which permissions.can checks)
    title: Any  # on the staff timeline (a lazy string)
    resident_title: Any = None  # on the resident's timeline, when it reads differently
    permission: str = ""  # the permissions.py action that decides scope
    note_required: bool = False
    note_public: bool = True  # whether the note is public unless the actor says otherwise
    note_label: Any = None
    button: Any = None  # None: not a button in the back office
    done: Any = None  # the message after pressing it
    danger: bool = False
    needs: str | None = None  # what else its form asks for: "representative", "unit", "merge_target"
    notice: Any = None  # what it tells whom (the workflow's notifier reads it)
    # What else must hold of the record, beyond its status (e.g. "it has a unit to go back to").
    when: Callable[[Any], bool] | None = None

    def allows(self, status: S) -> bool:
        return status in self.sources

    def applies(self, record) -> bool:
        """Whether this step can be taken on `record` now: its status, and `when`."""
        return self.allows(record.status) and (self.when is None or self.when(record))

    def timeline_title(self, *, for_resident: bool = False) -> str:
        return str(self.resident_title if for_resident and self.resident_title is not None else self.title)

    @property
    def by_resident(self) -> bool:
        return RESIDENT in self.roles


class Record(Protocol):
    status: Any
    version: int
    updated_at: datetime
    events: Any


@dataclass
class Workflow(Generic[S, A]):
    """The engine over one table. `event` builds an event row from its fields; `notify`
    queues what an event's spec.notice says (rows added to the session, sent later)."""

    name: str
    actions: type[A]
    specs: Iterable[ActionSpec[S, A]]
    event: Callable[..., Any]
    notify: Callable[[Any, Any, ActionSpec[S, A]], Any] | None = None
    # Told of every step (not only those with a notice): the webhooks other systems
    # subscribe to (services.webhooks), queued in the same transaction.
    publish: Callable[[Any, Any, ActionSpec[S, A]], Any] | None = None
    table: dict[A, ActionSpec[S, A]] = field(init=False)

    def __post_init__(self) -> None:
        self.table = {spec.action: spec for spec in self.specs}
        missing = set(self.actions) - set(self.table)
        if missing:
            raise ValueError(f"{self.name}: no row for {sorted(missing)}")

    def spec(self, action: str) -> ActionSpec[S, A] | None:
        return self.table.get(action)  # type: ignore[call-overload]  # a str finds the StrEnum key

    def __getitem__(self, action: A) -> ActionSpec[S, A]:
        return self.table[action]

    def __iter__(self):
        return iter(self.table.values())

    def transitions(self) -> dict[tuple[S, A], ActionSpec[S, A]]:
        """(status, action) → spec for every action that moves the status."""
        return {
            (source, spec.action): spec
            for spec in self.table.values()
            if spec.target is not None
            for source in spec.sources
        }

    def allowed_actions(self, status: S, role: str) -> list[A]:
        """The status-changing actions `role` may take in `status` (before any `when`), in
        table order."""
        return [
            spec.action
            for spec in self.table.values()
            if spec.target is not None and status in spec.sources and role in spec.roles
        ]

    def check(self, record: Record, action: str, *, role: str, note: str, expected_version: int | None):
        """The table's refusals, in this order: changed (the version the actor saw is not the
        current one), not_allowed_now, role_not_allowed, note_required."""
        if expected_version is not None and record.version != expected_version:
            raise TransitionRefused("changed", current=record.status)
        spec = self.spec(action)
        if spec is None or not spec.applies(record):
            raise TransitionRefused("not_allowed_now", status=record.status, action=action)
        if role not in spec.roles:
            raise TransitionRefused("role_not_allowed", role=role, action=action)
        if spec.note_required and not note:
            raise TransitionRefused("note_required")
        return spec

    def record(self, record: Record, spec: ActionSpec[S, A], *, actor, before, note: str, public: bool, now: datetime):
        """Write the event beside the change and flush both; a concurrent change of the same
        record (the version check) becomes TransitionRefused("changed")."""
        event = self.event(
            actor_id=actor.id if actor is not None else None,
            action=spec.action,
            from_status=before,
            to_status=record.status,
            note=note,
            is_public=public,
            created_at=now,
        )
        try:
            record.events.append(event)  # loading the events flushes the change first
            db.session.flush()
        except StaleDataError as exc:
            raise TransitionRefused("changed") from exc
        return event

    def step(
        self,
        record: Record,
        action: str,
        *,
        role: str,
        actor=None,
        note: str = "",
        public: bool | None = None,
        expected_version: int | None = None,
        now: datetime | None = None,
        guard: Callable[[ActionSpec[S, A], datetime], Any] | None = None,
        effect: Callable[[ActionSpec[S, A], Any, datetime], None] | None = None,
    ):
        """The only way such a record's status changes. `guard(spec, now)` refuses what the
        table cannot say and reads what the change needs, before anything changes (a query
        would flush a half-made change); `effect(spec, before, now)` makes the rest of the
        change once the status is set. The caller rolls back on a refusal."""
        note = (note or "").strip()
        spec = self.check(record, action, role=role, note=note, expected_version=expected_version)
        now = now or utcnow()
        if guard is not None:
            guard(spec, now)
        before = record.status
        if spec.target is not None:
            record.status = spec.target
        record.updated_at = now
        if effect is not None:
            try:
                effect(spec, before, now)  # a query in it flushes the change
            except StaleDataError as exc:
                raise TransitionRefused("changed") from exc
        event = self.record(
            record,
            spec,
            actor=actor,
            before=before,
            note=note,
            public=spec.note_public if public is None else public,
            now=now,
        )
        # What the step queued, kept on the event for this request: the view says who was told.
        event.notified = []
        if self.notify is not None and spec.notice is not None:
            event.notified = self.notify(record, event, spec) or []
        if self.publish is not None:
            self.publish(record, event, spec)
        return event
