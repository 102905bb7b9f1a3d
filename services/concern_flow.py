"""The 六单制 closed loop: statuses, the stage each one stands at, and the transition
table. This table is the only description of which status may follow which."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from extensions import db
from models import Category, Concern, ConcernEvent, User, utcnow
from models.enums import ConcernStatus as S
from models.enums import Role
from services.errors import TransitionRefused

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
    "reject": _l("Not accepted"),
    "merge": _l("Merged with a similar concern"),
    "withdraw": _l("Withdrawn by the resident"),
    "recategorize": _l("Category changed"),
}


def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))


def stage_done(status: S) -> int | None:
    """Index into STAGES of the last stage completed; None for side exits."""
    return STAGE_DONE.get(status)


# Actions that must say why: the resident or the next handler reads the reason.
NOTE_REQUIRED = frozenset({"reject", "return", "send_back", "merge"})
RECATEGORIZE_ROLES = frozenset({REP, MGR, STAFF, Role.ADMIN})


def allowed_actions(status: S, role: str) -> list[str]:
    """The actions `role` may take on a concern in `status`, in table order."""
    return [action for (state, action), rule in TRANSITIONS.items() if state == status and role in rule.roles]


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
    now: datetime | None = None,
) -> ConcernEvent:
    """The only way a concern's status changes. Writes one ConcernEvent in the same
    transaction. Refuses (TransitionRefused) with: changed (someone acted first: the
    version the actor saw is not the current one), not_allowed_now, role_not_allowed,
    note_required, already_reopened, merge_target_required. The caller rolls back on a
    refusal."""
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
    if action == "reopen" and concern.rounds > 1:
        raise TransitionRefused("already_reopened")
    if action == "merge" and (merge_into is None or merge_into.id == concern.id):
        raise TransitionRefused("merge_target_required")

    now = now or utcnow()
    before = concern.status
    concern.status = rule.to
    concern.updated_at = now
    if rule.to == S.CLOSED:
        concern.closed_at = now
    if action == "reopen":
        concern.rounds += 1
        concern.closed_at = None
    if action == "merge":
        concern.merged_into_id = merge_into.id
    return _record(concern, action, actor, before, rule.to, note, public, now)


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
