"""The 六单制 closed loop: statuses, the stage each one stands at, and the table of its
steps (CONCERN_FLOW): one row per ConcernAction, the only description of which status
may follow which, and what each step says, asks for and tells whom. The engine is
services.workflow; who may take a step on which concern is services.permissions."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from extensions import db
from models import Category, Concern, ConcernEvent, ConcernRating, Official, Representative, Unit, User, utcnow
from models.enums import ConcernAction, Rating
from models.enums import ConcernStatus as S
from services import notifications, webhooks
from services.clock import local_today
from services.errors import TransitionRefused
from services.merges import followers, merge_root
from services.notifications import Notice
from services.permissions import (
    Permission,
    chooses_taker,
    concern_permission,
    concern_scope,
    held_for,
    may_dispatch_to,
    may_take_up,
    roles_for,
)
from services.workdays import add_working_days, working_days_between
from services.workflow import RESIDENT, SYSTEM, ActionSpec, Workflow

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


A = ConcernAction
REOPENS = frozenset({A.REOPEN, A.REOPEN_TO_REP})
# The steps that answer the resident: the tracking page shows the latest as "the answer".
ANSWERS = frozenset({A.REPLY, A.RESOLVE, A.OFFICIAL_ANSWER})
# 现场办公: an official at the station takes a concern up, then at once sends it to their own
# unit or answers it; the second step is only ever the one right after the first.
OFFICIAL_STEPS = frozenset({A.OFFICIAL_TAKE, A.OFFICIAL_DISPATCH, A.OFFICIAL_ANSWER})
# While a concern is in one of these, it is with the congress side or the unit, not yet
# waiting for the resident's rating: a second round shows as such on the tracking page.
HANDLING_STATUSES = frozenset({S.ACCEPTED, S.DISPATCHED, S.REPLIED})


def _has_unit(concern: Concern) -> bool:
    return concern.unit_id is not None


def _has_no_unit(concern: Concern) -> bool:
    return concern.unit_id is None


def _final_now(concern: Concern) -> bool:
    """Its status read under a row lock (PostgreSQL): two concerns merged into each other
    at the same moment would leave both merged, with nobody to act."""
    status = db.session.scalar(sa.select(Concern.status).where(Concern.id == concern.id).with_for_update())
    return status in FINAL_STATUSES


def _held_for_rep(concern: Concern) -> bool:
    """Written to one representative (/r/<code>) and not passed to the station yet."""
    return held_for(concern) is not None


def _has_no_followers(concern: Concern) -> bool:
    return not followers(concern)


def _may_rate_merged(concern: Concern) -> bool:
    """The concern it was merged into has an answer for its round, and this one's resident
    has not rated that round yet."""
    root = merge_root(concern)
    answered = root is not concern and root.status in (S.CONFIRMED, S.CLOSED)
    return answered and not any(r.round == root.rounds for r in concern.ratings)


def _just_taken_by_official(concern: Concern) -> bool:
    """The step before was an official's take-up: the second half of 现场办公."""
    return bool(concern.events) and concern.events[-1].action == A.OFFICIAL_TAKE


def _may_be_withheld(concern: Concern) -> bool:
    return concern.is_public and concern.public_withheld_at is None


def _is_withheld(concern: Concern) -> bool:
    return concern.public_withheld_at is not None


def _step(action: A, sources, target: S | None, *, permission: str | None = None, **row) -> ActionSpec:
    """One row; who may take the step comes from services.permissions."""
    permission = permission or concern_permission(action)
    sources = frozenset(sources)
    return ActionSpec(action, sources, target, roles_for(permission), permission=permission, **row)


_PUBLIC_ANSWER = _l("There is an answer to your concern: %(url)s")
_REOPENED_REP = _l("The resident was not satisfied: concern %(code)s is handled again.")
_RETURNED = _l("The handling unit returned concern %(code)s.")

STEPS = (
    # Filing creates the concern (services.concerns), so the engine never takes this step;
    # whoever files holds the tracking code from then on.
    ActionSpec(
        A.SUBMIT,
        frozenset(),
        S.SUBMITTED,
        frozenset({RESIDENT}),
        permission=Permission.CONCERN_FILE,
        title=_l("Filed by the resident"),
    ),
    _step(
        A.ACCEPT,
        {S.SUBMITTED},
        S.ACCEPTED,
        title=_l("Taken up by a representative"),
        button=_l("Take it up"),
        # Staff notes stay inside unless the step is the answer or says why to the resident.
        note_public=False,
        note_label=_l("Note (optional, internal)"),
        done=_l("Taken up."),
        needs="representative",
        notice=Notice(
            "concern.accepted",
            resident=_l("Your concern has been taken up by a representative. Progress: %(url)s"),
            rep=_l("Concern %(code)s has been assigned to you."),
        ),
    ),
    # Written to one representative through their code: they hand it to their station, which
    # then takes it up as any other (its deadline to do so starts again).
    _step(
        A.PASS_TO_STATION,
        {S.SUBMITTED},
        S.SUBMITTED,
        when=_held_for_rep,
        title=_l("Passed to the station by the representative"),
        button=_l("Pass it to the station"),
        note_required=True,
        note_label=_l("Why it goes to the station (the resident reads this)"),
        done=_l("Passed to the station. Its managers and representatives take it from here."),
        notice=Notice(
            "concern.passed",
            managers=_l("Concern %(code)s, written to a representative, was passed to your station."),
        ),
    ),
    _step(
        A.RESOLVE,
        {S.ACCEPTED},
        S.REPLIED,
        title=_l("Resolved on the spot"),
        button=_l("Resolved on the spot"),
        note_required=True,
        note_label=_l("What was done (the resident reads this)"),
        done=_l("Recorded as resolved on the spot. The representative or manager confirms it next."),
        # An answer kept internal (for the representative to check first) is not on the page yet.
        notice=Notice("concern.resolved", resident=_PUBLIC_ANSWER, resident_if_public=True),
    ),
    _step(
        A.DISPATCH,
        {S.ACCEPTED},
        S.DISPATCHED,
        title=_l("Sent to the handling unit"),
        button=_l("Dispatch to a handling unit"),
        note_public=False,
        note_label=_l("Instructions for the unit (optional, internal)"),
        done=_l("Dispatched."),
        needs="unit",
        notice=Notice("concern.dispatched", unit=_l("Concern %(code)s has been sent to your unit.")),
    ),
    _step(
        A.REPLY,
        {S.DISPATCHED},
        S.REPLIED,
        title=_l("Answered by the handling unit"),
        button=_l("Send the answer"),
        note_required=True,
        note_label=_l("The answer (the resident reads this)"),
        done=_l("Answer sent. The representative checks it next."),
        notice=Notice(
            "concern.replied",
            resident=_PUBLIC_ANSWER,
            resident_if_public=True,
            rep=_l("The handling unit answered concern %(code)s: please check the answer."),
        ),
    ),
    _step(
        A.RETURN,
        {S.DISPATCHED},
        S.ACCEPTED,
        title=_l("Returned by the handling unit"),
        button=_l("Return it"),
        note_required=True,
        note_public=False,
        note_label=_l("Why it is returned (internal)"),
        done=_l("Returned to the congress side."),
        # Congress staff dispatched it and decide where it goes next.
        notice=Notice("concern.returned", rep=_RETURNED, dispatcher=_RETURNED, deadline=False),
    ),
    _step(
        A.CONFIRM,
        {S.REPLIED},
        S.CONFIRMED,
        title=_l("Answer checked by the representative"),
        button=_l("Confirm the answer"),
        note_label=_l("Your check of the answer (optional, the resident reads this)"),
        done=_l("Confirmed. The resident is asked to rate it."),
        # A confirmed concern always has its rating deadline.
        notice=Notice("concern.confirmed", resident=_l("Please rate the answer to your concern by %(date)s: %(url)s")),
    ),
    _step(
        A.SEND_BACK,
        {S.REPLIED},
        S.DISPATCHED,
        when=_has_unit,
        title=_l("Sent back for further handling"),
        button=_l("Send back to the unit"),
        note_required=True,
        note_public=False,
        note_label=_l("What is still missing (internal)"),
        done=_l("Sent back to the unit."),
        notice=Notice(
            "concern.sent_back", unit=_l("The answer to concern %(code)s was sent back for further handling.")
        ),
    ),
    # Resolved on the spot, so there is no unit: the representative handles it again.
    _step(
        A.SEND_BACK_TO_REP,
        {S.REPLIED},
        S.ACCEPTED,
        when=_has_no_unit,
        title=_l("Sent back for further handling"),
        button=_l("Send back to the representative"),
        note_required=True,
        note_public=False,
        note_label=_l("What is still missing (internal)"),
        done=_l("Sent back to the representative."),
        notice=Notice(
            "concern.sent_back",
            rep=_l("The answer to concern %(code)s was sent back to you for further handling."),
        ),
    ),
    _step(
        A.REJECT,
        {S.SUBMITTED, S.ACCEPTED},
        S.REJECTED,
        title=_l("Not accepted"),
        button=_l("Do not accept"),
        danger=True,
        note_required=True,
        note_label=_l("Why it is not accepted (the resident reads this)"),
        done=_l("Marked as not accepted. The resident sees your reason."),
        notice=Notice(
            "concern.rejected",
            resident=_l("Your concern was not accepted. Details: %(url)s"),
            resident_with_reason=_l("Your concern was not accepted: %(reason)s Details: %(url)s"),
        ),
    ),
    _step(
        A.MERGE,
        {S.SUBMITTED},
        S.MERGED,
        title=_l("Merged with a similar concern"),
        button=_l("Merge into another concern"),
        note_required=True,
        note_label=_l("Why they are the same (the resident reads this)"),
        done=_l("Merged."),
        needs="merge_target",
        notice=Notice(
            "concern.merged",
            resident=_l("Your concern was merged with a similar one and is handled with it. Progress: %(url)s"),
        ),
    ),
    # Not once other residents' concerns follow it: they would be left with nothing to follow.
    _step(A.WITHDRAW, {S.SUBMITTED}, S.WITHDRAWN, when=_has_no_followers, title=_l("Withdrawn by the resident")),
    _step(A.RATE, {S.CONFIRMED}, S.CLOSED, title=_l("Rated by the resident")),
    _step(A.RATE_MERGED, {S.MERGED}, None, when=_may_rate_merged, title=_l("Rated by the resident")),
    _step(A.AUTO_CLOSE, {S.CONFIRMED}, S.CLOSED, title=_l("Closed without a rating")),
    # Recorded by services.triage, not through the engine: a scheduled mark must not make
    # the version a staff member's open form carries stale. Internal, like its note.
    _step(A.ESCALATE, DEADLINE_STATUSES, None, note_public=False, title=_l("Escalated: past its deadline")),
    _step(
        A.REOPEN,
        {S.CLOSED},
        S.DISPATCHED,
        when=_has_unit,
        title=_l("Reopened after a dissatisfied rating"),
        notice=Notice(
            "concern.reopened",
            rep=_REOPENED_REP,
            unit=_l("The resident was not satisfied: concern %(code)s is sent back to your unit."),
        ),
    ),
    _step(
        A.REOPEN_TO_REP,
        {S.CLOSED},
        S.ACCEPTED,
        when=_has_no_unit,
        title=_l("Reopened after a dissatisfied rating"),
        notice=Notice("concern.reopened", rep=_REOPENED_REP),
    ),
    _step(A.RECATEGORIZE, OPEN_STATUSES, None, title=_l("Category changed")),
    # The public answers (services.public_answers): at any stage, so staff may keep a
    # concern off the list before it closes. The reason stays internal.
    _step(
        A.WITHHOLD,
        S,
        None,
        when=_may_be_withheld,
        note_required=True,
        note_public=False,
        title=_l("Withheld from the public answers"),
    ),
    _step(
        A.RELEASE,
        S,
        None,
        permission=concern_permission(A.WITHHOLD),
        when=_is_withheld,
        note_public=False,
        title=_l("Released to the public answers"),
    ),
    _step(
        A.COMMENT,
        S,
        None,
        permission=concern_permission(A.NOTE),
        note_required=True,
        title=_l("Reply to the resident"),
        notice=Notice("concern.commented", resident=_l("There is a new reply to your concern: %(url)s")),
    ),
    _step(A.NOTE, S, None, note_required=True, note_public=False, title=_l("Internal note")),
    # 现场办公 (services.officials.take_on_site): never a button of its own in the back office.
    _step(
        A.OFFICIAL_TAKE,
        {S.SUBMITTED},
        S.ACCEPTED,
        title=_l("Taken up by an official at the station"),
        note_public=False,
    ),
    _step(
        A.OFFICIAL_DISPATCH,
        {S.ACCEPTED},
        S.DISPATCHED,
        when=_just_taken_by_official,
        title=_l("Sent by the official to their own unit"),
        note_public=False,
        note_label=_l("Instructions for your unit (optional, internal)"),
        done=_l("Taken up and sent to your unit."),
        notice=Notice(
            "concern.dispatched",
            resident=_l("Your concern was taken up at the station by an official and sent to their unit: %(url)s"),
            unit=_l("Concern %(code)s has been sent to your unit."),
        ),
    ),
    _step(
        A.OFFICIAL_ANSWER,
        {S.ACCEPTED},
        S.REPLIED,
        when=_just_taken_by_official,
        title=_l("Answered on the spot by an official"),
        note_required=True,
        note_label=_l("The answer (the resident reads this)"),
        done=_l("Answered on the spot. The station checks the answer next, then the resident rates it."),
        # The official answers for their unit (办单); the station's representative or
        # manager still checks it (代表督单, or sends it back to the unit) before the resident
        # rates it: no step of the loop is skipped because a leader gave the answer.
        notice=Notice("concern.resolved", resident=_PUBLIC_ANSWER),
    ),
)

CONCERN_FLOW: Workflow = Workflow(
    "concern", A, STEPS, event=ConcernEvent, notify=notifications.queue_for_event, publish=webhooks.concern_step
)
# (status, action) → row, for every step that moves the status: read from the table.
TRANSITIONS = CONCERN_FLOW.transitions()


def action_title(action: str, for_resident: bool = False) -> str:
    """How an event reads on a timeline."""
    spec = CONCERN_FLOW.spec(action)
    return spec.timeline_title(for_resident=for_resident) if spec is not None else str(action)


def by_resident(action: str) -> bool:
    """An event of the resident's (filing, rating, withdrawing): shown as theirs when it
    has no actor; one without an actor otherwise is the system's."""
    spec = CONCERN_FLOW.spec(action)
    return spec is not None and spec.by_resident


# Where the resident reads a status otherwise than staff do (the enum's label is the staff's).
RESIDENT_STATUS_LABELS = {S.CONFIRMED: _l("Checked by the representative, waiting for your rating")}


def status_for_resident(status: S) -> str:
    return str(RESIDENT_STATUS_LABELS.get(status, status.label))


def stage_done(status: S) -> int | None:
    """Index into STAGES of the last stage completed; None for side exits."""
    return STAGE_DONE.get(status)


def in_second_round(concern: Concern) -> bool:
    return concern.rounds > 1 and concern.status in HANDLING_STATUSES


def is_overdue(concern: Concern, now: datetime | None = None) -> bool:
    return concern.status in DEADLINE_STATUSES and concern.due_at is not None and concern.due_at < (now or utcnow())


def overdue_clause(now: datetime):
    """The SQL twin of is_overdue, for the inbox and the figures. Written without the list
    of statuses: only open concerns have a deadline (a CHECK constraint says so), and
    PostgreSQL would misjudge the two correlated conditions together by some 20 times."""
    return sa.and_(Concern.due_at < now, Concern.status != S.CONFIRMED)


def due_within_clause(now: datetime, until: datetime):
    """Not yet overdue, due by `until`: the twin of overdue_clause for what is coming."""
    return sa.and_(Concern.due_at >= now, Concern.due_at <= until, Concern.status != S.CONFIRMED)


def awaited_stage(status: S) -> int | None:
    """Index into STAGES of the stage a concern waits for (定单 for a new one), for the
    statuses with a deadline; None otherwise."""
    return STAGE_DONE[status] + 1 if status in DEADLINE_STATUSES else None


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


def step_targets(
    user,
    spec: ActionSpec,
    concern: Concern,
    *,
    representative_id: int | None = None,
    unit_id: int | None = None,
    merge_code: str | None = None,
    due_at: datetime | None = None,
) -> dict:
    """What else a step needs (spec.needs), looked up for `user` and checked against scope:
    what is out of reach counts as not chosen, so the step refuses it with its own code (a
    forged form or an API call offers anyone). The back office's forms and the API both
    call this, then transition() with what it returns."""
    if spec.needs == "representative":
        if not chooses_taker(user):
            return {"representative": user.representative}
        rep = db.session.get(Representative, representative_id or 0)
        return {"representative": rep if may_take_up(concern, rep) else None}
    if spec.needs == "unit":
        unit = db.session.get(Unit, unit_id or 0)
        return {"unit": unit if may_dispatch_to(concern, unit) else None, "due_at": due_at}
    if spec.needs == "merge_target":
        target = None
        if merge_code:
            target = db.session.scalar(
                sa.select(Concern).where(Concern.tracking_code == merge_code, concern_scope(user))
            )
        return {"merge_into": target}
    return {}


def transition(
    concern: Concern,
    action: str,
    *,
    role: str,
    actor: User | None = None,
    note: str = "",
    public: bool | None = None,
    expected_version: int | None = None,
    merge_into: Concern | None = None,
    representative: Representative | None = None,
    unit: Unit | None = None,
    due_at: datetime | None = None,
    official: Official | None = None,
    now: datetime | None = None,
) -> ConcernEvent:
    """The only way a concern's status changes (CONCERN_FLOW's engine). Writes one
    ConcernEvent, sets the new stage's deadline and queues the notifications, all in the
    caller's transaction. The note is public or internal as the step's row says, unless
    `public` says otherwise.

    accept needs the `representative` who takes it up (定单); dispatch needs the `unit`
    and may carry a `due_at` chosen by staff (派单). Refuses (TransitionRefused) with the
    table's codes (changed, not_allowed_now, role_not_allowed, note_required) and with:
    already_reopened, merge_target_required, representative_required, unit_required,
    bad_deadline; the official's steps need the `official` (official_required) and a unit
    the concern may go to (unit_required). The caller rolls back on a refusal."""
    spec = CONCERN_FLOW.spec(action)
    if spec is not None and spec.target is None:
        # Notes and recategorising have functions of their own.
        raise TransitionRefused("not_allowed_now", status=concern.status, action=action)
    after: dict = {}

    def guard(spec: ActionSpec, now: datetime) -> None:
        if spec.action in REOPENS and concern.rounds > 1:
            raise TransitionRefused("already_reopened")
        if spec.action == A.MERGE and (merge_into is None or merge_into.id == concern.id or _final_now(merge_into)):
            raise TransitionRefused("merge_target_required")
        if spec.action == A.ACCEPT:
            if representative is None or not representative.user.active:
                raise TransitionRefused("representative_required")
            if not representative.serving_on(local_today(now)):
                raise TransitionRefused("term_ended", name=representative.name)
            held = held_for(concern)
            if held is not None and representative.id != held:
                assert concern.addressed_rep is not None
                raise TransitionRefused("addressed_to_other", name=concern.addressed_rep.name)
        if spec.action == A.DISPATCH and (unit is None or not unit.is_active):
            raise TransitionRefused("unit_required")
        if spec.action in OFFICIAL_STEPS and (official is None or not official.user.active):
            raise TransitionRefused("official_required")
        if spec.action in (A.OFFICIAL_DISPATCH, A.OFFICIAL_ANSWER):
            assert official is not None
            if not may_dispatch_to(concern, official.unit):
                raise TransitionRefused("unit_required")
        if due_at is not None and due_at <= now:
            raise TransitionRefused("bad_deadline")
        assert spec.target is not None  # the steps that keep the status were refused above
        after["due"] = stage_deadline(spec.target, now, due_at if spec.action == A.DISPATCH else None)
        if spec.target == S.CLOSED:
            after["days_to_close"] = working_days_between(concern.created_at, now)

    def effect(spec: ActionSpec, before: S, now: datetime) -> None:
        if before in DEADLINE_STATUSES and concern.due_at is not None and now > concern.due_at:
            concern.was_late = True
        if spec.action == A.ACCEPT:
            concern.assigned_rep = representative
        elif spec.action == A.PASS_TO_STATION:
            concern.passed_at = now
        elif spec.action == A.DISPATCH:
            concern.unit = unit
        elif spec.action == A.OFFICIAL_TAKE and official is not None:
            # A representative who is also the leader takes it up as themselves.
            rep = official.user.representative
            if rep is not None and rep.serving_on(local_today(now)):
                concern.assigned_rep = rep
        elif spec.action in (A.OFFICIAL_DISPATCH, A.OFFICIAL_ANSWER) and official is not None:
            # Answered on the spot, the answer is still the unit's: a dissatisfied rating
            # sends it back there (REOPEN), not to nobody.
            concern.unit = official.unit
        elif spec.action == A.RETURN:
            concern.unit = None  # back with the representative; a later dispatch may pick another unit
        elif spec.action == A.MERGE and merge_into is not None:
            concern.merged_into_id = merge_into.id
        elif spec.action in REOPENS:
            concern.rounds += 1
            concern.closed_at = None
            concern.close_working_days = None
        if spec.target == S.CLOSED:
            concern.closed_at = now
            concern.close_working_days = after["days_to_close"]
        concern.due_at, concern.due_estimated = after["due"]
        # A new stage, a new deadline: its reminder and escalation are still to come.
        concern.reminded_at = concern.escalated_at = None

    return CONCERN_FLOW.step(
        concern,
        action,
        role=role,
        actor=actor,
        note=note,
        public=public,
        expected_version=expected_version,
        now=now,
        guard=guard,
        effect=effect,
    )


def add_note(concern: Concern, text: str, *, role: str, actor: User, public: bool, now: datetime | None = None):
    """A reply to the resident (public, on the tracking page) or an internal note (staff
    only). Not a change of status, but an event on the same trail."""
    action = A.COMMENT if public else A.NOTE
    return CONCERN_FLOW.step(concern, action, role=role, actor=actor, note=text, now=now)


def rate(concern: Concern, unit_rating: Rating, rep_rating: Rating, comment: str = "", now: datetime | None = None):
    """群众评单: the tracking-code holder rates the unit's answer and the representative's
    follow-up, once per round. 不满意 on either sends the concern back for one more round;
    in the second round the rating closes it whatever it says. Refuses: not_allowed_now,
    already_rated."""
    if concern.status != S.CONFIRMED:
        raise TransitionRefused("not_allowed_now", status=concern.status, action=A.RATE)
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
    transition(concern, A.RATE, role=RESIDENT, note=summary, now=now)
    dissatisfied = Rating.DISSATISFIED in (unit_rating, rep_rating)
    if dissatisfied and concern.rounds == 1:
        reopen = next(action for action in REOPENS if CONCERN_FLOW[action].applies(concern))
        transition(concern, reopen, role=RESIDENT, note=comment, now=now)
    return concern


def rate_merged(
    concern: Concern, unit_rating: Rating, rep_rating: Rating, comment: str = "", now: datetime | None = None
) -> ConcernEvent:
    """群众评单 for a merged concern: its resident rates the answer of the concern theirs was
    merged into, once per round of that one. The rating stays on their own concern (staff
    see it); whether the other concern goes back for another round is its own resident's
    rating. Refuses: not_allowed_now, already_rated."""
    root = merge_root(concern)
    if any(r.round == root.rounds for r in concern.ratings):
        raise TransitionRefused("already_rated")
    comment = (comment or "").strip()

    def effect(_spec: ActionSpec, _before: S, when: datetime) -> None:
        concern.ratings.append(
            ConcernRating(
                round=root.rounds, rating_unit=unit_rating, rating_rep=rep_rating, comment=comment, created_at=when
            )
        )
        concern.rating_unit, concern.rating_rep, concern.rating_comment = unit_rating, rep_rating, comment or None

    summary = f"{unit_rating.label} / {rep_rating.label}"
    return CONCERN_FLOW.step(concern, A.RATE_MERGED, role=RESIDENT, note=summary, now=now, effect=effect)


def withdraw(concern: Concern) -> ConcernEvent:
    """The tracking-code holder withdraws a concern nobody has taken up yet."""
    return transition(concern, A.WITHDRAW, role=RESIDENT)


def auto_close_due(now: datetime | None = None) -> int:
    """Close every confirmed concern whose resident did not rate in time (cron)."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Concern).where(Concern.status == S.CONFIRMED, Concern.due_at < now).order_by(Concern.id)
    ).all()
    for concern in due:
        transition(concern, A.AUTO_CLOSE, role=SYSTEM, now=now)
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
    """Change the category, visibly: an event records the old and the new one. Refuses
    with the table's codes and bad_category."""

    def guard(_spec: ActionSpec, _now: datetime) -> None:
        if category.id == concern.category_id or not category.is_active:
            raise TransitionRefused("bad_category")

    def effect(_spec: ActionSpec, _before: S, _now: datetime) -> None:
        concern.category = category

    note = f"{concern.category.name_zh} → {category.name_zh}"
    return CONCERN_FLOW.step(
        concern,
        A.RECATEGORIZE,
        role=role,
        actor=actor,
        note=note,
        expected_version=expected_version,
        now=now,
        guard=guard,
        effect=effect,
    )
