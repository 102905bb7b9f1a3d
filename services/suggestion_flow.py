"""Representatives' suggestions (代表建议) and 重落实: the table of their steps
(SUGGESTION_FLOW), one row per SuggestionAction, on the engine of services.workflow, and
the functions that take each step with what it needs.

    draft ──submit──▶ submitted ──register──▶ registered ──assign──▶ assigned ──reply──▶ replied
      (co-signers co-sign)                      (lead unit, co-units,   (co-units give     │
                                                 deadline in working    opinions)          │
                                                 days)                                     │
    replied ──rate_reply (A/B)──▶ implementing ──report_done──▶ done ──rate_result──▶ closed
    replied ──rate_reply_close (C)──▶ closed
    replied ──send_back (dissatisfied, once)──▶ assigned
    draft | submitted ──withdraw──▶ withdrawn;   mark_key / unmark_key (重点建议) keep the status.

A suggestion is not finished when it is answered, only when it is done (A, B: the unit
reports it done and the representative rates the result) or explained (C: closed once the
reply is rated). Who may take a step on which suggestion is services.permissions
(SUGGESTION_STEPS); every step by staff or a unit is also an audit-log entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from extensions import db
from models import (
    Concern,
    Representative,
    Station,
    Suggestion,
    SuggestionCoUnit,
    SuggestionEvent,
    SuggestionSigner,
    Unit,
    User,
    suggestion_concern,
    utcnow,
)
from models.enums import Rating, ReplyClass, Role
from models.enums import SuggestionAction as A
from models.enums import SuggestionStatus as S
from services import audit, notifications, webhooks
from services.clock import local_today
from services.errors import SuggestionRefused, TransitionRefused
from services.notifications import SuggestionNotice
from services.permissions import roles_for, suggestion_permission, suggestion_scope, units_of
from services.workdays import add_working_days
from services.workflow import ActionSpec, Workflow

TITLE_MIN, TITLE_MAX = 4, 100
CONTENT_MIN, CONTENT_MAX = 20, 5000
SIGNERS_MAX = 20
CONCERNS_MAX = 20
CO_UNITS_MAX = 5
DAYS_MAX = 250  # a year of working days
NOTE_MAX = 2000

OPEN_STATUSES = frozenset({S.SUBMITTED, S.REGISTERED, S.ASSIGNED, S.REPLIED, S.IMPLEMENTING, S.DONE})
# Shown on a resident's tracking page once the representative has sent it in.
PUBLIC_STATUSES = OPEN_STATUSES | {S.CLOSED}
# The lead unit owes the reply against due_at.
DEADLINE_STATUSES = frozenset({S.ASSIGNED})


def _carried_out(s: Suggestion) -> bool:
    """An A or B reply: the unit still has to report it done (重落实)."""
    return s.reply_class in (ReplyClass.A, ReplyClass.B)


def _explained(s: Suggestion) -> bool:
    return s.reply_class == ReplyClass.C


def _first_round(s: Suggestion) -> bool:
    return s.rounds == 1


def _has_pending_signers(s: Suggestion) -> bool:
    return any(signer.signed_at is None for signer in s.signers)


def _has_co_units(s: Suggestion) -> bool:
    return bool(s.co_units)


def _not_key(s: Suggestion) -> bool:
    return not s.is_key


def _is_key(s: Suggestion) -> bool:
    return s.is_key


def _step(action: A, sources, target: S | None, **row) -> ActionSpec:
    permission = suggestion_permission(action)
    return ActionSpec(action, frozenset(sources), target, roles_for(permission), permission=permission, **row)


_RATE_RESULT = _l("The unit reported suggestion “%(title)s” done: please rate what was done.")

STEPS = (
    # Filing creates the suggestion (file()), so the engine never takes this step.
    _step(A.FILE, (), S.DRAFT, title=_l("Drafted by the representative")),
    _step(
        A.COSIGN,
        {S.DRAFT},
        None,
        when=_has_pending_signers,
        title=_l("Co-signed"),
        button=_l("Co-sign"),
        done=_l("You co-signed the suggestion."),
    ),
    _step(
        A.SUBMIT,
        {S.DRAFT},
        S.SUBMITTED,
        title=_l("Submitted by the representative"),
        button=_l("Submit to the congress"),
        done=_l("Submitted. Congress staff register it next."),
        notice=SuggestionNotice(
            "suggestion.submitted", staff=_l("A representative submitted suggestion “%(title)s”: please register it.")
        ),
    ),
    _step(
        A.WITHDRAW,
        {S.DRAFT, S.SUBMITTED},
        S.WITHDRAWN,
        title=_l("Withdrawn by the representative"),
        button=_l("Withdraw"),
        danger=True,
        note_label=_l("Why (optional)"),
        done=_l("Withdrawn."),
    ),
    _step(
        A.REGISTER,
        {S.SUBMITTED},
        S.REGISTERED,
        title=_l("Registered by the congress"),
        button=_l("Register"),
        note_label=_l("Note (optional)"),
        done=_l("Registered. Assign it to the handling units next."),
    ),
    _step(
        A.ASSIGN,
        {S.REGISTERED},
        S.ASSIGNED,
        title=_l("Assigned to the handling units"),
        button=_l("Assign to units"),
        note_label=_l("Instructions for the units (optional)"),
        needs="units",
        done=_l("Assigned."),
        notice=SuggestionNotice(
            "suggestion.assigned",
            units=_l("Suggestion “%(title)s” was assigned to your unit: please reply by the deadline."),
        ),
    ),
    _step(
        A.OPINION,
        {S.ASSIGNED},
        None,
        when=_has_co_units,
        note_required=True,
        note_public=False,  # between the units (and staff): the representative reads the reply
        title=_l("Opinion of a co-unit"),
        button=_l("Give your unit's opinion"),
        note_label=_l("Your unit's opinion (the lead unit reads it)"),
        done=_l("Opinion sent to the lead unit."),
        notice=SuggestionNotice("suggestion.opinion", lead=_l("A co-unit gave its opinion on suggestion “%(title)s”.")),
    ),
    _step(
        A.REPLY,
        {S.ASSIGNED},
        S.REPLIED,
        note_required=True,
        title=_l("Replied by the lead unit"),
        button=_l("Send the reply"),
        note_label=_l("The reply (the representative reads it)"),
        needs="reply_class",
        done=_l("Reply sent. The representative rates it next."),
        notice=SuggestionNotice(
            "suggestion.replied",
            author=_l("The lead unit replied to your suggestion “%(title)s”: please rate the reply."),
        ),
    ),
    _step(
        A.SEND_BACK,
        {S.REPLIED},
        S.ASSIGNED,
        when=_first_round,
        note_required=True,
        title=_l("Reply sent back for re-handling"),
        notice=SuggestionNotice(
            "suggestion.sent_back",
            units=_l("The representative was not satisfied with the reply to “%(title)s”: please handle it again."),
        ),
    ),
    _step(A.RATE_REPLY, {S.REPLIED}, S.IMPLEMENTING, when=_carried_out, title=_l("Reply rated by the representative")),
    _step(A.RATE_REPLY_CLOSE, {S.REPLIED}, S.CLOSED, when=_explained, title=_l("Reply rated by the representative")),
    _step(
        A.REPORT_DONE,
        {S.IMPLEMENTING},
        S.DONE,
        note_required=True,
        title=_l("Reported done by the lead unit"),
        button=_l("Report it done"),
        note_label=_l("What was done (the representative reads it)"),
        done=_l("Reported done. The representative rates the result next."),
        notice=SuggestionNotice("suggestion.done", author=_RATE_RESULT),
    ),
    _step(A.RATE_RESULT, {S.DONE}, S.CLOSED, title=_l("Result rated by the representative")),
    _step(
        A.MARK_KEY,
        OPEN_STATUSES,
        None,
        when=_not_key,
        note_public=False,
        title=_l("Marked as a key suggestion (重点建议)"),
        button=_l("Mark as key suggestion"),
        note_label=_l("Why (optional, internal)"),
        done=_l("Marked as a key suggestion: it is on the leadership's list."),
    ),
    _step(
        A.UNMARK_KEY,
        OPEN_STATUSES,
        None,
        when=_is_key,
        note_public=False,
        note_required=True,
        title=_l("No longer a key suggestion"),
        button=_l("Take off the key suggestions"),
        note_label=_l("Why (required, internal)"),
        done=_l("Taken off the key suggestions."),
    ),
)

SUGGESTION_FLOW: Workflow = Workflow(
    "suggestion",
    A,
    STEPS,
    event=SuggestionEvent,
    notify=notifications.queue_for_suggestion,
    publish=webhooks.suggestion_step,
)
TRANSITIONS = SUGGESTION_FLOW.transitions()
# The steps a representative takes by rating (rate()), not by a button.
RATINGS = frozenset({A.RATE_REPLY, A.RATE_REPLY_CLOSE, A.SEND_BACK, A.RATE_RESULT})


def action_title(action: str, for_resident: bool = False) -> str:
    """How an event reads on a timeline."""
    spec = SUGGESTION_FLOW.spec(action)
    return spec.timeline_title(for_resident=for_resident) if spec is not None else str(action)


def by_resident(_action: str) -> bool:
    """No resident acts on a suggestion (the timeline macro asks)."""
    return False


def default_days() -> int:
    """The reply deadline staff are offered when they assign a suggestion, in working days."""
    return current_app.config["SUGGESTION_REPLY_DAYS"]


def is_overdue(s: Suggestion, now: datetime | None = None) -> bool:
    return s.status in DEADLINE_STATUSES and s.due_at is not None and s.due_at < (now or utcnow())


# --- filing --------------------------------------------------------------------------------


@dataclass
class SuggestionInput:
    title: str
    content: str
    station_id: int | None
    signer_ids: list[int]
    concern_ids: list[int]


def stations_of(rep: Representative) -> list[Station]:
    """The stations a representative files from (the suggestion goes to its region's congress)."""
    return [s for s in rep.stations if s.is_active]


def offered_signers(rep: Representative) -> list[Representative]:
    """Whom a representative may invite to co-sign: the other representatives in office
    at their stations, with an account switched on."""
    today = local_today()
    seen: dict[int, Representative] = {}
    for station in stations_of(rep):
        for other in station.representatives:
            if other.id != rep.id and other.user.active and other.serving_on(today):
                seen.setdefault(other.id, other)
    return sorted(seen.values(), key=lambda r: r.id)


def offered_concerns(rep: Representative, limit: int = 50) -> list[Concern]:
    """The residents' concerns a suggestion may grow out of: those this representative took up."""
    return list(
        db.session.scalars(
            sa.select(Concern).where(Concern.assigned_rep_id == rep.id).order_by(Concern.id.desc()).limit(limit)
        )
    )


def file(author: Representative, data: SuggestionInput, *, actor: User, now: datetime | None = None) -> Suggestion:
    """A new suggestion, as a draft: its co-signers are invited (and told) and sign before
    the author submits it. Refuses (SuggestionRefused): title_missing, title_too_long,
    content_too_short, content_too_long, station_required, bad_signer, too_many_signers,
    bad_concern."""
    now = now or utcnow()
    title, content = " ".join((data.title or "").split()), (data.content or "").strip()
    if len(title) < TITLE_MIN:
        raise SuggestionRefused("title_missing", n=TITLE_MIN)
    if len(title) > TITLE_MAX:
        raise SuggestionRefused("title_too_long", n=TITLE_MAX)
    if len(content) < CONTENT_MIN:
        raise SuggestionRefused("content_too_short", n=CONTENT_MIN)
    if len(content) > CONTENT_MAX:
        raise SuggestionRefused("content_too_long", n=CONTENT_MAX)
    stations = {s.id: s for s in stations_of(author)}
    station = stations.get(data.station_id or 0) if len(stations) > 1 else next(iter(stations.values()), None)
    if station is None:
        raise SuggestionRefused("station_required")
    signer_ids = list(dict.fromkeys(data.signer_ids))
    if len(signer_ids) > SIGNERS_MAX:
        raise SuggestionRefused("too_many_signers", n=SIGNERS_MAX)
    offered = {r.id: r for r in offered_signers(author)}
    if any(i not in offered for i in signer_ids):
        raise SuggestionRefused("bad_signer")
    concern_ids = list(dict.fromkeys(data.concern_ids))
    concerns = {c.id: c for c in offered_concerns(author, limit=200)}
    if len(concern_ids) > CONCERNS_MAX or any(i not in concerns for i in concern_ids):
        raise SuggestionRefused("bad_concern")
    suggestion = Suggestion(
        title=title,
        content=content,
        author=author,
        region_id=station.region_id,
        status=S.DRAFT,
        created_at=now,
        updated_at=now,
    )
    suggestion.signers = [SuggestionSigner(representative=offered[i], invited_at=now) for i in signer_ids]
    suggestion.concerns = [concerns[i] for i in concern_ids]
    db.session.add(suggestion)
    db.session.flush()
    spec = SUGGESTION_FLOW[A.FILE]
    event = SUGGESTION_FLOW.record(suggestion, spec, actor=actor, before=None, note="", public=True, now=now)
    event.notified = notifications.queue_for_suggestion(
        suggestion,
        event,
        _Invite(
            SuggestionNotice(
                "suggestion.cosign", signers=_l("A representative invites you to co-sign suggestion “%(title)s”.")
            )
        ),
    )
    return suggestion


@dataclass(frozen=True)
class _Invite:
    """Filing is no engine step; its invitation reads like one's notice."""

    notice: SuggestionNotice


# --- the steps ----------------------------------------------------------------------------


def transition(
    suggestion: Suggestion,
    action: str,
    *,
    role: str,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
    lead_unit: Unit | None = None,
    co_units: list[Unit] | None = None,
    days: int | None = None,
    reply_class: ReplyClass | None = None,
    planned_on: date | None = None,
    now: datetime | None = None,
) -> SuggestionEvent:
    """Every step but filing and rating (rate()) — through SUGGESTION_FLOW's
    engine, with one event, the step's notifications and, for staff and units, an audit
    entry, in the caller's transaction. Refuses with the table's codes (TransitionRefused:
    changed, not_allowed_now, role_not_allowed, note_required) and SuggestionRefused:
    lead_unit_required, bad_co_unit, bad_days (assign); class_required,
    planned_date_required, planned_date_past (reply); already_given (a co-unit's second
    opinion); not_invited (co-signing); note_too_long. The caller rolls back on a refusal."""
    spec = SUGGESTION_FLOW.spec(action)
    if spec is None or spec.action in RATINGS or spec.action == A.FILE:
        raise TransitionRefused("not_allowed_now", status=suggestion.status, action=action)
    if len((note or "").strip()) > NOTE_MAX:
        raise SuggestionRefused("note_too_long", n=NOTE_MAX)
    after: dict = {}

    def guard(spec: ActionSpec, now: datetime) -> None:
        if spec.action == A.ASSIGN:
            if lead_unit is None or not lead_unit.is_active:
                raise SuggestionRefused("lead_unit_required")
            chosen = co_units or []
            if len(chosen) > CO_UNITS_MAX or any(u.id == lead_unit.id or not u.is_active for u in chosen):
                raise SuggestionRefused("bad_co_unit", n=CO_UNITS_MAX)
            if days is None or not 1 <= days <= DAYS_MAX:
                raise SuggestionRefused("bad_days", n=DAYS_MAX)
            after["due"] = add_working_days(now, days)
        elif spec.action == A.REPLY:
            if reply_class is None:
                raise SuggestionRefused("class_required")
            if reply_class == ReplyClass.B and planned_on is None:
                raise SuggestionRefused("planned_date_required")
            if reply_class == ReplyClass.B and planned_on is not None and planned_on < local_today(now):
                raise SuggestionRefused("planned_date_past")
        elif spec.action == A.COSIGN:
            rep = actor.representative
            if rep is None or not any(
                g.representative_id == rep.id and g.signed_at is None for g in suggestion.signers
            ):
                raise SuggestionRefused("not_invited")
        elif spec.action == A.OPINION:
            mine = [c for c in suggestion.co_units if c.unit_id in units_of(actor)]
            if not mine or all(c.opinion is not None for c in mine):
                raise SuggestionRefused("already_given")
            after["co_unit"] = next(c for c in mine if c.opinion is None)

    def effect(spec: ActionSpec, before: S, now: datetime) -> None:
        text = (note or "").strip()
        if spec.action == A.COSIGN:
            rep = actor.representative
            for signer in suggestion.signers:
                if rep is not None and signer.representative_id == rep.id:
                    signer.signed_at = now
        elif spec.action == A.REGISTER:
            suggestion.registered_at = now
        elif spec.action == A.ASSIGN:
            assert lead_unit is not None
            suggestion.lead_unit = lead_unit
            suggestion.co_units = [SuggestionCoUnit(unit=u) for u in co_units or []]
            suggestion.assigned_at = now
            suggestion.due_at, suggestion.due_estimated = after["due"].due_at, after["due"].estimated
        elif spec.action == A.REPLY:
            if suggestion.due_at is not None and now > suggestion.due_at:
                suggestion.was_late = True
            suggestion.reply_class = reply_class
            suggestion.planned_on = planned_on if reply_class == ReplyClass.B else None
            suggestion.replied_at = now
            suggestion.due_at = None
            suggestion.rating_reply = None
        elif spec.action == A.OPINION:
            co: SuggestionCoUnit = after["co_unit"]
            co.opinion, co.opinion_at, co.opinion_by_id = text, now, actor.id
        elif spec.action == A.REPORT_DONE:
            suggestion.done_at = now
        elif spec.action == A.MARK_KEY:
            suggestion.is_key = True
        elif spec.action == A.UNMARK_KEY:
            suggestion.is_key = False
        if spec.target == S.CLOSED:
            suggestion.closed_at = now
        if spec.target == S.WITHDRAWN:
            suggestion.due_at = None

    event = SUGGESTION_FLOW.step(
        suggestion,
        action,
        role=role,
        actor=actor,
        note=note,
        expected_version=expected_version,
        now=now,
        guard=guard,
        effect=effect,
    )
    _audit(actor, suggestion, event)
    return event


def _audit(actor: User, suggestion: Suggestion, event: SuggestionEvent) -> None:
    """Staff and units leave an audit entry besides the event (the representatives' own
    steps are on the suggestion's trail)."""
    if actor.role == Role.REPRESENTATIVE:
        return
    data: dict = {"status": suggestion.status.value}
    if event.action == A.ASSIGN:
        data.update(lead_unit=suggestion.lead_unit_id, co_units=[c.unit_id for c in suggestion.co_units])
    if event.action == A.REPLY and suggestion.reply_class is not None:
        data["class"] = suggestion.reply_class.value
    audit.log(actor, f"suggestion.{event.action}", suggestion, **data)


def rate(
    suggestion: Suggestion,
    rating: Rating,
    *,
    actor: User,
    comment: str = "",
    send_back: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> SuggestionEvent:
    """The author rates the unit's reply (replied) or what was actually done (done, 重落实,
    which closes it). Rated, an A or B reply is then carried out and a C reply closes the
    suggestion; dissatisfied with a reply, the author may instead send it back to the
    units once (`send_back`, with what is missing in `comment`). Refuses:
    send_back_needs_dissatisfied, already_sent_back, and the table's codes."""
    comment = (comment or "").strip()
    if suggestion.status == S.DONE:
        action = A.RATE_RESULT
    elif send_back:
        if rating != Rating.DISSATISFIED:
            raise SuggestionRefused("send_back_needs_dissatisfied")
        if suggestion.rounds > 1:
            raise SuggestionRefused("already_sent_back")
        action = A.SEND_BACK
    else:
        action = A.RATE_REPLY_CLOSE if suggestion.reply_class == ReplyClass.C else A.RATE_REPLY
    note = comment if action == A.SEND_BACK else " · ".join(filter(None, (str(rating.label), comment)))

    def effect(spec: ActionSpec, _before: S, when: datetime) -> None:
        if spec.action == A.RATE_RESULT:
            suggestion.rating_result = rating
        else:
            suggestion.rating_reply = rating
        if spec.action == A.SEND_BACK:
            suggestion.rounds += 1
            due = add_working_days(when, current_app.config["SUGGESTION_REHANDLE_DAYS"])
            suggestion.due_at, suggestion.due_estimated = due.due_at, due.estimated
        if spec.target == S.CLOSED:
            suggestion.closed_at = when

    return SUGGESTION_FLOW.step(
        suggestion,
        action,
        role=actor.role,
        actor=actor,
        note=note,
        expected_version=expected_version,
        now=now,
        effect=effect,
    )


# --- reading ----------------------------------------------------------------------------


def visible(user, *where) -> list[Suggestion]:
    """The suggestions in `user`'s scope, newest first (at most 200: the lists are short)."""
    query = sa.select(Suggestion).where(suggestion_scope(user), *where).order_by(Suggestion.id.desc()).limit(200)
    return list(db.session.scalars(query))


def key_suggestions(user) -> list[Suggestion]:
    """重点建议 in the viewer's scope, for the leadership: open ones first, by deadline."""
    query = (
        sa.select(Suggestion)
        .where(suggestion_scope(user), Suggestion.is_key)
        .order_by((Suggestion.status == S.CLOSED).asc(), Suggestion.due_at.asc().nulls_last(), Suggestion.id)
    )
    return list(db.session.scalars(query))


def grown_from(concern: Concern) -> list[Suggestion]:
    """The suggestions a concern grew into, once sent in (a draft is the representative's)."""
    return list(
        db.session.scalars(
            sa.select(Suggestion)
            .join(suggestion_concern, suggestion_concern.c.suggestion_id == Suggestion.id)
            .where(suggestion_concern.c.concern_id == concern.id, Suggestion.status.in_(PUBLIC_STATUSES))
            .order_by(Suggestion.id)
        )
    )
