"""The 六单制 closed loop: statuses, the stage each one stands at, and the transition
table. This table is the only description of which status may follow which."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from models.enums import ConcernStatus as S
from models.enums import Role

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
