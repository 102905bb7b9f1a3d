"""The 六单制 closed loop: statuses, the stage each one stands at, and the transition
table. This table is the only description of which status may follow which."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from models import Category, Concern, ConcernEvent, ConcernRating, Representative, Unit, User, utcnow
from models.enums import ConcernStatus as S
from models.enums import Rating, Role
from services import notifications
from services.errors import TransitionRefused
from services.workdays import add_working_days, working_days_between

# The six stages, in order, as residents and congresses name them.
STAGES = (
    ("order", _l("Residents raise it"), "群众点单"),
    ("take", _l("A representative takes it up"), "代表定单"),
    ("dispatch", _l("The congress sends it on"), "人大派单"),
    ("handle", _l("The responsible body handles it"), "一府一委两院办单"),
    ("supervise", _l("The representative checks the answer"), "代表督单"),
    ("rate", _l("Residents rate it"), "群众评单"),
)

# The last stage a status has completed.
STAGE_DONE = {
    S.SUBMITTED: 0,
    S.ACCEPTED: 1,
    S.DISPATCHED: 2,
    S.REPLIED: 3,
    S.CONFIRMED: 4,
    S.CLOSED: 5,
}

OPEN_STATUSES = frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.REPLIED, S.CONFIRMED})
FINAL_STATUSES = frozenset({S.CLOSED, S.REJECTED, S.MERGED, S.WITHDRAWN})
# Statuses in which someone on the congress side owes the next step, against a deadline in
# working days (CONCERN_STAGE_DAYS). A confirmed concern waits for the resident instead.
DEADLINE_STATUSES = (S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.REPLIED)


@dataclass(frozen=True)
class Transition:
    to: S
    roles: frozenset[str]  # Role values, plus "resident" and "system"


def _t(to: S, *roles: str) -> Transition:
    return Transition(to, frozenset(roles))


REP, MGR, STAFF, UNIT = Role.REPRESENTATIVE, Role.STATION_MANAGER, Role.CONGRESS_STAFF, Role.UNIT_HANDLER

TRANSITIONS: dict[tuple[S, str], Transition] = {
    (S.SUBMITTED, "accept"): _t(S.ACCEPTED, REP, MGR, STAFF),
    (S.SUBMITTED, "reject"): _t(S.REJECTED, MGR, STAFF),
    (S.SUBMITTED, "merge"): _t(S.MERGED, MGR, STAFF),
    (S.SUBMITTED, "withdraw"): _t(S.WITHDRAWN, "resident"),
    (S.ACCEPTED, "dispatch"): _t(S.DISPATCHED, STAFF),
    (S.ACCEPTED, "resolve"): _t(S.REPLIED, REP, MGR),
    (S.ACCEPTED, "reject"): _t(S.REJECTED, MGR, STAFF),
    (S.DISPATCHED, "reply"): _t(S.REPLIED, UNIT),
    (S.DISPATCHED, "return"): _t(S.ACCEPTED, UNIT),
    (S.REPLIED, "confirm"): _t(S.CONFIRMED, REP, MGR),
    (S.REPLIED, "send_back"): _t(S.DISPATCHED, REP, MGR, STAFF),
    (S.CONFIRMED, "rate"): _t(S.CLOSED, "resident"),
    (S.CONFIRMED, "auto_close"): _t(S.CLOSED, "system"),
    (S.CLOSED, "reopen"): _t(S.DISPATCHED, "resident"),
    # Resolved on the spot, so there is no unit: the round goes back to the representative.
    (S.CLOSED, "reopen_to_rep"): _t(S.ACCEPTED, "resident"),
}


# How each event reads on the public timeline.
ACTION_TITLES = {
    "submit": _l("Filed by the resident"),
    "accept": _l("Taken up by a representative"),
    "resolve": _l("Resolved on the spot"),
    "dispatch": _l("Sent to the handling unit"),
    "reply": _l("Answered by the handling unit"),
    "return": _l("Returned by the handling unit"),
    "confirm": _l("Answer checked by the representative"),
    "send_back": _l("Sent back for further handling"),
    "rate": _l("Rated by the resident"),
    "auto_close": _l("Closed without a rating"),
    "reopen": _l("Reopened after a dissatisfied rating"),
    "reopen_to_rep": _l("Reopened after a dissatisfied rating"),
    "reject": _l("Not accepted"),
    "merge": _l("Merged with a similar concern"),
    "withdraw": _l("Withdrawn by the resident"),
    "recategorize": _l("Category changed"),
    "comment": _l("Reply to the resident"),
    "note": _l("Internal note"),
}


def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))


def stage_done(status: S) -> int | None:
    """Index into STAGES of the last stage completed; None for side exits."""
    return STAGE_DONE.get(status)


# Actions that must say why or what: the resident or the next handler reads the note.
NOTE_REQUIRED = frozenset({"reject", "return", "send_back", "merge", "reply", "resolve"})
NOTE_ROLES = frozenset({REP, MGR, STAFF, UNIT})
RECATEGORIZE_ROLES = frozenset({REP, MGR, STAFF, Role.ADMIN})


def allowed_actions(status: S, role: str) -> list[str]:
    """The actions `role` may take on a concern in `status`, in table order."""
    return [action for (state, action), rule in TRANSITIONS.items() if state == status and role in rule.roles]


def is_overdue(concern: Concern, now: datetime | None = None) -> bool:
    return concern.status in DEADLINE_STATUSES and concern.due_at is not None and concern.due_at < (now or utcnow())


def overdue_clause(now: datetime):
    """The SQL twin of is_overdue, for the inbox and the figures. Written without the list
    of statuses: only open concerns have a deadline (a CHECK constraint says so), and
    PostgreSQL would misjudge the two correlated conditions together by some 20 times."""
    return sa.and_(Concern.due_at < now, Concern.status != S.CONFIRMED)


def stage_deadline(status: S, now: datetime, chosen: datetime | None = None) -> tuple[datetime | None, bool]:
    """The new stage's deadline and whether it is an estimate: counted in working days, the
    one staff chose on dispatch, or the resident's rating window (calendar days)."""
    if status == S.CONFIRMED:
        return now + timedelta(days=current_app.config["CONCERN_RATING_DAYS"]), False
    if chosen is not None:
        return chosen, False
    days = current_app.config["CONCERN_STAGE_DAYS"].get(status.value)
    if days is None:
        return None, False
    deadline = add_working_days(now, days)
    return deadline.due_at, deadline.estimated


def _record(
    concern: Concern, action: str, actor: User | None, before: S, after: S, note: str, public: bool, now: datetime
) -> ConcernEvent:
    """Write the event beside the change and flush both; a concurrent change of the same
    concern (the version check) becomes TransitionRefused("changed")."""
    event = ConcernEvent(
        actor_id=actor.id if actor else None,
        action=action,
        from_status=before,
        to_status=after,
        note=note,
        is_public=public,
        created_at=now,
    )
    concern.events.append(event)
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise TransitionRefused("changed") from exc
    return event


def transition(
    concern: Concern,
    action: str,
    *,
    role: str,
    actor: User | None = None,
    note: str = "",
    public: bool = True,
    expected_version: int | None = None,
    merge_into: Concern | None = None,
    representative: Representative | None = None,
    unit: Unit | None = None,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> ConcernEvent:
    """The only way a concern's status changes. Writes one ConcernEvent, sets the new
    stage's deadline and queues the notifications, all in the caller's transaction.

    accept needs the `representative` who takes it up (定单); dispatch needs the `unit`
    and may carry a `due_at` chosen by staff (派单). Refuses (TransitionRefused) with:
    changed (someone acted first: the version the actor saw is not the current one),
    not_allowed_now, role_not_allowed, note_required, already_reopened,
    merge_target_required, representative_required, unit_required, bad_deadline. The
    caller rolls back on a refusal."""
    if expected_version is not None and concern.version != expected_version:
        raise TransitionRefused("changed", current=concern.status)
    rule = TRANSITIONS.get((concern.status, action))
    if rule is None:
        raise TransitionRefused("not_allowed_now", status=concern.status, action=action)
    if role not in rule.roles:
        raise TransitionRefused("role_not_allowed", role=role, action=action)
    note = (note or "").strip()
    if action in NOTE_REQUIRED and not note:
        raise TransitionRefused("note_required")
    if action in ("reopen", "reopen_to_rep") and concern.rounds > 1:
        raise TransitionRefused("already_reopened")
    if action == "merge" and (merge_into is None or merge_into.id == concern.id or merge_into.status in FINAL_STATUSES):
        raise TransitionRefused("merge_target_required")
    if action == "accept" and (representative is None or not representative.user.active):
        raise TransitionRefused("representative_required")
    if action == "dispatch" and (unit is None or not unit.is_active):
        raise TransitionRefused("unit_required")
    now = now or utcnow()
    if due_at is not None and due_at <= now:
        raise TransitionRefused("bad_deadline")

    # Read everything the change needs before changing anything: a query would flush a
    # half-made change, and a concurrent edit must surface below as "changed".
    due, estimated = stage_deadline(rule.to, now, due_at if action == "dispatch" else None)
    days_to_close = working_days_between(concern.created_at, now) if rule.to == S.CLOSED else None

    before = concern.status
    if before in DEADLINE_STATUSES and concern.due_at is not None and now > concern.due_at:
        concern.was_late = True
    concern.status = rule.to
    concern.updated_at = now
    if action == "accept":
        concern.assigned_rep = representative
    elif action == "dispatch":
        concern.unit = unit
    elif action == "return":
        concern.unit = None  # back with the representative; a later dispatch may pick another unit
    elif action == "merge":
        concern.merged_into_id = merge_into.id
    elif action in ("reopen", "reopen_to_rep"):
        concern.rounds += 1
        concern.closed_at = None
        concern.close_working_days = None
    if rule.to == S.CLOSED:
        concern.closed_at = now
        concern.close_working_days = days_to_close
    concern.due_at, concern.due_estimated = due, estimated
    event = _record(concern, action, actor, before, rule.to, note, public, now)
    notifications.queue_for_event(concern, event)
    return event


def add_note(concern: Concern, text: str, *, role: str, actor: User, public: bool, now: datetime | None = None):
    """A reply to the resident (public, on the tracking page) or an internal note (staff
    only). Not a change of status, but an event on the same trail."""
    text = (text or "").strip()
    if role not in NOTE_ROLES:
        raise TransitionRefused("role_not_allowed", role=role, action="note")
    if not text:
        raise TransitionRefused("note_required")
    now = now or utcnow()
    action = "comment" if public else "note"
    event = _record(concern, action, actor, concern.status, concern.status, text, public, now)
    if public:
        notifications.queue_for_event(concern, event)
    return event


def rate(concern: Concern, unit_rating: Rating, rep_rating: Rating, comment: str = "", now: datetime | None = None):
    """群众评单: the tracking-code holder rates the unit's answer and the representative's
    follow-up, once per round. 不满意 on either sends the concern back for one more round;
    in the second round the rating closes it whatever it says. Refuses: not_allowed_now,
    already_rated."""
    if concern.status != S.CONFIRMED:
        raise TransitionRefused("not_allowed_now", status=concern.status, action="rate")
    if any(r.round == concern.rounds for r in concern.ratings):
        raise TransitionRefused("already_rated")
    now = now or utcnow()
    comment = (comment or "").strip()
    concern.ratings.append(
        ConcernRating(
            round=concern.rounds, rating_unit=unit_rating, rating_rep=rep_rating, comment=comment, created_at=now
        )
    )
    concern.rating_unit, concern.rating_rep, concern.rating_comment = unit_rating, rep_rating, comment or None
    summary = f"{unit_rating.label} / {rep_rating.label}"
    transition(concern, "rate", role="resident", note=summary, now=now)
    dissatisfied = Rating.DISSATISFIED in (unit_rating, rep_rating)
    if dissatisfied and concern.rounds == 1:
        reopen = "reopen" if concern.unit_id is not None else "reopen_to_rep"
        transition(concern, reopen, role="resident", note=comment, now=now)
    return concern


def auto_close_due(now: datetime | None = None) -> int:
    """Close every confirmed concern whose resident did not rate in time (cron)."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Concern).where(Concern.status == S.CONFIRMED, Concern.due_at < now).order_by(Concern.id)
    ).all()
    for concern in due:
        transition(concern, "auto_close", role="system", now=now)
    return len(due)


def recategorize(
    concern: Concern,
    category: Category,
    *,
    role: str,
    actor: User | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ConcernEvent:
    """Change the category, visibly: an event records the old and the new one."""
    if expected_version is not None and concern.version != expected_version:
        raise TransitionRefused("changed", current=concern.status)
    if role not in RECATEGORIZE_ROLES:
        raise TransitionRefused("role_not_allowed", role=role, action="recategorize")
    if concern.status in FINAL_STATUSES:
        raise TransitionRefused("not_allowed_now", status=concern.status, action="recategorize")
    if category.id == concern.category_id or not category.is_active:
        raise TransitionRefused("bad_category")
    now = now or utcnow()
    old = concern.category
    concern.category = category
    concern.updated_at = now
    note = f"{old.name_zh} → {category.name_zh}"
    return _record(concern, "recategorize", actor, concern.status, concern.status, note, True, now)
