"""The concern inbox and a concern's page in the back office: 定单, 派单, 办单, 督单.

The same pages serve every role; what each viewer sees and may press follows
services.permissions (scope) and services.concern_flow (the transition table)."""

from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db, writes_on_get
from models import Category, Concern, Representative, Unit, utcnow
from models.enums import ConcernStatus, Role
from services import concern_flow as flow
from services import exports, inbox
from services.audit import log
from services.clock import end_of_day
from services.codes import normalize_tracking_code
from services.errors import TransitionRefused
from services.permissions import can, concern_scope
from services.roster import overseen_stations
from services.workdays import add_working_days
from views.manage import bp
from views.util import get_or_404, int_or_none, require_or_abort

# Boxes each role sees as tabs above its inbox, in order.
ROLE_BOXES = {
    Role.REPRESENTATIVE: ("take", "supervise", "all"),
    Role.UNIT_HANDLER: ("handle", "all"),
}
BOX_TITLES = {
    "take": _l("To take up"),
    "supervise": _l("To supervise"),
    "handle": _l("To handle"),
    "all": _l("All"),
}

# What each button says, in the order the table lists them.
ACTION_BUTTONS = {
    "accept": _l("Take it up"),
    "resolve": _l("Resolved on the spot"),
    "dispatch": _l("Dispatch to a handling unit"),
    "reply": _l("Send the answer"),
    "return": _l("Return it"),
    "confirm": _l("Confirm the answer"),
    "send_back": _l("Send back to the unit"),
    "reject": _l("Do not accept"),
    "merge": _l("Merge into another concern"),
}
# The note each action asks for, and whether the resident reads it on the tracking page.
ACTION_NOTES = {
    "accept": (_l("Note (optional)"), True),
    "resolve": (_l("What was done (the resident reads this)"), True),
    "dispatch": (_l("Instructions for the unit (optional, internal)"), False),
    "reply": (_l("The answer (the resident reads this)"), True),
    "return": (_l("Why it is returned (internal)"), False),
    "confirm": (_l("Your check of the answer (optional, the resident reads this)"), True),
    "send_back": (_l("What is still missing (internal)"), False),
    "reject": (_l("Why it is not accepted (the resident reads this)"), True),
    "merge": (_l("Why they are the same (the resident reads this)"), True),
}
DONE_MESSAGES = {
    "accept": _l("Taken up."),
    "resolve": _l("Recorded as resolved on the spot. The representative or manager confirms it next."),
    "dispatch": _l("Dispatched. The unit has been notified."),
    "reply": _l("Answer sent. The representative checks it next."),
    "return": _l("Returned to the congress side."),
    "confirm": _l("Confirmed. The resident is asked to rate it."),
    "send_back": _l("Sent back to the unit."),
    "reject": _l("Marked as not accepted. The resident sees your reason."),
    "merge": _l("Merged."),
}
REFUSALS = {
    "changed": _l(
        "This concern changed after you opened it (a colleague acted, or the button was pressed twice). "
        "Here is where it stands now; what you typed has not been applied."
    ),
    "not_allowed_now": _l("This step is not possible at the concern's current stage."),
    "role_not_allowed": _l("Your role cannot take this step."),
    "note_required": _l("Please write the text this step needs."),
    "already_reopened": _l("This concern has already been reopened once."),
    "merge_target_required": _l("Give the tracking code of another open concern in your care to merge into."),
    "representative_required": _l("Please choose the representative who takes it up."),
    "unit_required": _l("Please choose a handling unit."),
    "bad_deadline": _l("The deadline must be a day in the future."),
    "bad_category": _l("Please choose a different, active category."),
}
NOTE_MAX = 2000


def _viewable(concern_id: int) -> Concern:
    concern = get_or_404(Concern, concern_id)
    require_or_abort("concern.view", concern)
    return concern


def _categories(*, active_only: bool) -> list[Category]:
    query = sa.select(Category).order_by(Category.sort_order, Category.id)
    return list(db.session.scalars(query.where(Category.is_active) if active_only else query))


def _boxes() -> tuple[str, ...]:
    return ROLE_BOXES.get(current_user.role, ("all",))


# --- the inbox ------------------------------------------------------------------------------


@bp.get("/concerns")
@login_required
def concerns():
    require_or_abort("concern.inbox")
    f = inbox.parse_filter(request.args)
    if f.box not in _boxes() or "box" not in request.args:
        f = replace(f, box=_boxes()[0])
    result = inbox.page(current_user, f, request.args.get("after"))
    stations = overseen_stations(current_user)
    return render_template(
        "manage/concerns.html",
        f=f,
        result=result,
        boxes=[(box, BOX_TITLES[box]) for box in _boxes()],
        stations=stations.stations,
        categories=_categories(active_only=False),  # old concerns keep retired categories
        stages=flow.STAGES,
        status_choices=ConcernStatus.choices(),
        is_overdue=flow.is_overdue,
        after=request.args.get("after"),
    )


# --- one concern ----------------------------------------------------------------------------


def _unit_regions(concern: Concern) -> set[int]:
    """A concern goes to a unit of its station's region or of a region above it."""
    return {r.id for r in concern.station.region.path()}


def _choices(concern: Concern, actions: list[str]) -> dict:
    """What the action forms offer: the station's representatives, the units that can act
    in the station's region (its own or above), the suggested dispatch deadline."""
    out: dict = {}
    if "accept" in actions and current_user.role != Role.REPRESENTATIVE:
        out["representatives"] = [r for r in concern.station.representatives if r.user.active]
    if "dispatch" in actions:
        out["units"] = db.session.scalars(
            sa.select(Unit)
            .where(Unit.region_id.in_(_unit_regions(concern)), Unit.is_active)
            .order_by(Unit.kind, Unit.name)
        ).all()
        days = current_app.config["CONCERN_STAGE_DAYS"]["dispatched"]
        suggested = add_working_days(utcnow(), days)
        out["suggested_due"] = suggested
        out["dispatch_days"] = days
    return out


def render_concern(concern: Concern, *, contact: bool = False, error=None, values=None, status: int = 200):
    role = current_user.role
    actions = [a for a in flow.allowed_actions(concern.status, role) if can(current_user, f"concern.{a}", concern)]
    may_recategorize = can(current_user, "concern.recategorize", concern) and concern.status not in flow.FINAL_STATUSES
    response = make_response(
        render_template(
            "manage/concern.html",
            concern=concern,
            actions=actions,
            buttons=ACTION_BUTTONS,
            notes=ACTION_NOTES,
            note_required=flow.NOTE_REQUIRED,
            choices=_choices(concern, actions),
            may_note=can(current_user, "concern.note", concern),
            may_contact=can(current_user, "concern.view_contact", concern),
            may_recategorize=may_recategorize,
            categories=_categories(active_only=True) if may_recategorize else [],
            contact=contact,
            overdue=flow.is_overdue(concern),
            stages=flow.STAGES,
            done=flow.stage_done(concern.status),
            merged_into=db.session.get(Concern, concern.merged_into_id) if concern.merged_into_id else None,
            error=error,
            values=values or {},
            note_max=NOTE_MAX,
        ),
        status,
    )
    if contact:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/concerns/<int:concern_id>")
@login_required
def concern(concern_id: int):
    return render_concern(_viewable(concern_id))


def _refused(concern_id: int, refused: TransitionRefused, where: str):
    """Roll back, then show the concern as it is now, with the message beside the form the
    viewer used and what they typed still in it."""
    db.session.rollback()
    concern = _viewable(concern_id)
    message = REFUSALS.get(refused.code, REFUSALS["not_allowed_now"])
    return render_concern(concern, error=(where, message), values=request.form, status=409)


def _note() -> str:
    return (request.form.get("note") or "").strip()[:NOTE_MAX]


def _due_from_form() -> datetime | None:
    """The dispatch deadline chosen as a local date: the end of that day, stored as UTC."""
    raw = (request.form.get("due") or "").strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise TransitionRefused("bad_deadline") from None
    return end_of_day(day)


def _target(action: str, concern: Concern) -> dict:
    """The extra the transition needs, read from the form and checked against scope."""
    form = request.form
    if action == "accept":
        if current_user.role == Role.REPRESENTATIVE:
            return {"representative": current_user.representative}
        rep = db.session.get(Representative, int_or_none(form.get("representative")) or 0)
        if rep is not None and rep not in concern.station.representatives:
            rep = None  # a forged form: only the station's own representatives
        return {"representative": rep}
    if action == "dispatch":
        unit = db.session.get(Unit, int_or_none(form.get("unit")) or 0)
        in_reach = unit is not None and unit.region_id in _unit_regions(concern)
        return {"unit": unit if in_reach else None, "due_at": _due_from_form()}
    if action == "merge":
        code = normalize_tracking_code(form.get("target", ""))
        target = db.session.scalar(sa.select(Concern).where(Concern.tracking_code == code, concern_scope(current_user)))
        return {"merge_into": target}
    return {}


@bp.post("/concerns/<int:concern_id>/act")
@login_required
def concern_act(concern_id: int):
    concern = _viewable(concern_id)
    action = request.form.get("action", "")
    if action not in ACTION_BUTTONS:
        abort(400)
    require_or_abort(f"concern.{action}", concern)
    try:
        flow.transition(
            concern,
            action,
            role=current_user.role,
            actor=current_user,
            note=_note(),
            public=ACTION_NOTES[action][1],
            expected_version=int_or_none(request.form.get("version")),
            **_target(action, concern),
        )
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, action)
    flash(str(DONE_MESSAGES[action]))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/note")
@login_required
def concern_note(concern_id: int):
    concern = _viewable(concern_id)
    require_or_abort("concern.note", concern)
    public = request.form.get("visibility") == "public"
    try:
        flow.add_note(concern, _note(), role=current_user.role, actor=current_user, public=public)
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, "note")
    flash(_("Reply published on the tracking page.") if public else _("Internal note added."))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/category")
@login_required
def concern_category(concern_id: int):
    concern = _viewable(concern_id)
    require_or_abort("concern.recategorize", concern)
    category = db.session.get(Category, int_or_none(request.form.get("category")) or 0)
    try:
        if category is None:
            raise TransitionRefused("bad_category")
        flow.recategorize(
            concern,
            category,
            role=current_user.role,
            actor=current_user,
            expected_version=int_or_none(request.form.get("version")),
        )
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, "category")
    flash(_("Category changed."))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/contact")
@login_required
def concern_contact(concern_id: int):
    """Show the full contact details, once, and record that this person looked."""
    concern = _viewable(concern_id)
    require_or_abort("concern.view_contact", concern)
    log(current_user, "concern.contact_viewed", concern, tracking_code=concern.tracking_code)
    db.session.commit()
    return render_concern(concern, contact=True)


# --- the inbox's exports --------------------------------------------------------------------

CONCERN_EXPORT_TYPES = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", exports.concerns_xlsx),
    "csv": ("text/csv; charset=utf-8", exports.concerns_csv),
}


@bp.get("/concerns/export.<any(xlsx, csv):fmt>")
@writes_on_get
@login_required
def concerns_export(fmt: str):
    """The inbox, filtered as on screen (the same query arguments), as a file."""
    require_or_abort("concern.export")
    f = inbox.parse_filter(request.args)
    export = exports.concern_export(current_user, f, utcnow())
    mimetype, build = CONCERN_EXPORT_TYPES[fmt]
    body = build(export, f)
    exports.record_concern_export(current_user, f, fmt, export)
    db.session.commit()
    if export.truncated:
        # Shown on the next page the user opens: the download itself cannot carry a message.
        flash(
            _(
                "The export holds only the newest %(n)d concerns. Narrow the filter to export the rest.",
                n=len(export.rows),
            )
        )
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = exports.content_disposition(*exports.concern_filenames(export, fmt))
    response.headers["Cache-Control"] = "private, no-store"
    return response
