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
from models import Category, Concern, Unit, utcnow
from models.enums import ConcernAction as A
from models.enums import ConcernStatus
from services import concern_flow as flow
from services import disclosures, exports, inbox, merges, notifications, permissions, public_answers, refusals
from services.clock import end_of_day
from services.codes import normalize_tracking_code
from services.errors import TransitionRefused
from services.permissions import Permission as P
from services.permissions import can
from services.roster import overseen_stations
from services.workdays import add_working_days
from services.workflow import ActionSpec
from views import auth as auth_views
from views.forms.concerns import (
    ConcernCategoryForm,
    ConcernNoteForm,
    ConcernPublicationForm,
    ConcernStepForm,
    ContactExportForm,
)
from views.manage import bp
from views.util import download, get_or_404, require_or_abort

BOX_TITLES = {
    "take": _l("To take up"),
    "supervise": _l("To supervise"),
    "handle": _l("To handle"),
    "all": _l("All"),
}
SORT_TITLES = {"new": _l("Newest first"), "due": _l("Deadline first")}


def _viewable(concern_id: int) -> Concern:
    concern = get_or_404(Concern, concern_id)
    require_or_abort(P.CONCERN_VIEW, concern)
    return concern


def _categories(*, active_only: bool) -> list[Category]:
    query = sa.select(Category).order_by(Category.sort_order, Category.id)
    return list(db.session.scalars(query.where(Category.is_active) if active_only else query))


# --- the inbox ------------------------------------------------------------------------------


@bp.get("/concerns")
@login_required
def concerns():
    require_or_abort(P.CONCERN_INBOX)
    f = inbox.parse_filter(request.args)
    boxes = inbox.boxes_for(current_user)
    if f.box not in boxes or "box" not in request.args:
        f = replace(f, box=boxes[0])
    result = inbox.page(current_user, f, request.args.get("after"))
    stations = overseen_stations(current_user)
    return render_template(
        "manage/concerns.html",
        f=f,
        result=result,
        boxes=[(box, BOX_TITLES[box]) for box in boxes],
        # The order is chosen by links that keep the filter (and a new order starts on page one).
        sorts=[(sort, SORT_TITLES[sort], replace(f, sort=sort).as_args()) for sort in inbox.SORTS],
        stations=stations.stations,
        categories=_categories(active_only=False),  # old concerns keep retired categories
        stages=flow.STAGES,
        status_choices=ConcernStatus.choices(),
        is_overdue=flow.is_overdue,
        after=request.args.get("after"),
        may_export_contacts=may_export_contacts(current_user),
    )


# --- one concern ----------------------------------------------------------------------------


def _choices(concern: Concern, steps: list[ActionSpec]) -> dict:
    """What the step forms offer: the station's representatives, the units that can act
    in the station's region (its own or above), the suggested dispatch deadline."""
    out: dict = {}
    needs = {spec.needs for spec in steps}
    if "representative" in needs and permissions.chooses_taker(current_user):
        out["representatives"] = permissions.takers(concern)
    if "unit" in needs:
        units = db.session.scalars(
            sa.select(Unit).where(permissions.units_in_reach(concern)).order_by(Unit.kind, Unit.name)
        ).all()
        # The category's usual unit first and chosen, when this concern may go to it.
        default = concern.category.default_unit
        if default is not None and permissions.may_dispatch_to(concern, default):
            units = [default, *(u for u in units if u.id != default.id)]
            out["default_unit"] = default
        out["units"] = units
        days = current_app.config["CONCERN_STAGE_DAYS"]["dispatched"]
        suggested = add_working_days(utcnow(), days)
        out["suggested_due"] = suggested
        out["dispatch_days"] = days
    return out


def _may(spec: ActionSpec, concern: Concern) -> bool:
    return spec.applies(concern) and can(current_user, spec.permission, concern)


def render_concern(concern: Concern, *, contact: bool = False, error=None, values=None, status: int = 200):
    # The buttons: the steps the table allows now that this viewer may take, in table order.
    steps = [spec for spec in flow.CONCERN_FLOW if spec.button is not None and _may(spec, concern)]
    may_recategorize = _may(flow.CONCERN_FLOW[A.RECATEGORIZE], concern)
    may_contact = can(current_user, P.CONCERN_VIEW_CONTACT, concern)
    response = make_response(
        render_template(
            "manage/concern.html",
            concern=concern,
            steps=steps,
            forms={
                "step": ConcernStepForm(formdata=None),
                "note": ConcernNoteForm(formdata=None),
                "category": ConcernCategoryForm(formdata=None),
                "publication": ConcernPublicationForm(formdata=None),
            },
            choices=_choices(concern, steps),
            may_note=_may(flow.CONCERN_FLOW[A.NOTE], concern),
            may_contact=may_contact,
            who_saw=disclosures.who_saw(concern) if may_contact else [],
            may_recategorize=may_recategorize,
            may_withhold=_may(flow.CONCERN_FLOW[A.WITHHOLD], concern),
            may_release=_may(flow.CONCERN_FLOW[A.RELEASE], concern),
            listed=public_answers.is_listed(concern),
            not_listed_because=public_answers.NOT_LISTED_BECAUSE.get(public_answers.why_not_listed(concern) or ""),
            categories=_categories(active_only=True) if may_recategorize else [],
            contact=contact,
            overdue=flow.is_overdue(concern),
            awaits_step=concern.status in flow.DEADLINE_STATUSES,
            stages=flow.STAGES,
            done=flow.stage_done(concern.status),
            merged_into=db.session.get(Concern, concern.merged_into_id) if concern.merged_into_id else None,
            merged_here=merges.followers(concern),
            not_reached=notifications.not_reached(concern),
            why_not_sent=notifications.why_not_sent,
            needs_telling=notifications.needs_telling,
            error=error,
            values=values or {},
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


def _refused(concern_id: int, refused: TransitionRefused, where: str, form, context: str | None = None):
    """Roll back, then show the concern as it is now, with the message beside the form the
    viewer used and what they typed still in it."""
    db.session.rollback()
    concern = _viewable(concern_id)
    message = refusals.message(refused, context)
    return render_concern(concern, error=(where, message), values=_as_typed(form), status=409)


def _as_typed(form) -> dict[str, str]:
    """What the viewer sent, as text, to put back into the form they used."""
    return {field.name: field.raw_data[0] if field.raw_data else "" for field in form}


def _due_from_form(form: ConcernStepForm) -> datetime | None:
    """The dispatch deadline chosen as a local date: the end of that day, stored as UTC."""
    form.due.validate(form)
    if form.due.errors:
        raise TransitionRefused("bad_deadline")
    return end_of_day(form.due.data) if form.due.data is not None else None


def _target(spec: ActionSpec, concern: Concern, form: ConcernStepForm) -> dict:
    """The extra the step needs, from the form (services.concern_flow.step_targets checks it)."""
    return flow.step_targets(
        current_user,
        spec,
        concern,
        representative_id=form.representative.data,
        unit_id=form.unit.data,
        merge_code=normalize_tracking_code(form.target.data or "") if spec.needs == "merge_target" else None,
        due_at=_due_from_form(form) if spec.needs == "unit" else None,
    )


@bp.post("/concerns/<int:concern_id>/act")
@login_required
def concern_act(concern_id: int):
    concern = _viewable(concern_id)
    form = ConcernStepForm()
    spec = flow.CONCERN_FLOW.spec(form.action.data or "")
    if spec is None or spec.button is None:
        abort(400)
    require_or_abort(spec.permission, concern)
    try:
        event = flow.transition(
            concern,
            spec.action,
            role=current_user.role,
            actor=current_user,
            note=form.note.data,
            expected_version=form.version.data,
            **_target(spec, concern, form),
        )
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, spec.action, form)
    flash(f"{spec.done} {notifications.told_whom(event.notified)}" if spec.notice else str(spec.done))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/note")
@login_required
def concern_note(concern_id: int):
    concern = _viewable(concern_id)
    require_or_abort(flow.CONCERN_FLOW[A.NOTE].permission, concern)
    form = ConcernNoteForm()
    public = form.visibility.data == "public"
    try:
        flow.add_note(concern, form.note.data, role=current_user.role, actor=current_user, public=public)
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, "note", form)
    flash(_("Reply published on the tracking page.") if public else _("Internal note added."))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/category")
@login_required
def concern_category(concern_id: int):
    concern = _viewable(concern_id)
    require_or_abort(flow.CONCERN_FLOW[A.RECATEGORIZE].permission, concern)
    form = ConcernCategoryForm()
    category = db.session.get(Category, form.category.data or 0)
    try:
        if category is None:
            raise TransitionRefused("bad_category")
        flow.recategorize(
            concern,
            category,
            role=current_user.role,
            actor=current_user,
            expected_version=form.version.data,
        )
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, "category", form)
    flash(_("Category changed."))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/publication")
@login_required
def concern_publication(concern_id: int):
    """Keep the concern off the public answers, with a reason, or put it back."""
    concern = _viewable(concern_id)
    form = ConcernPublicationForm()
    action = A.RELEASE if form.action.data == A.RELEASE else A.WITHHOLD
    require_or_abort(flow.CONCERN_FLOW[action].permission, concern)
    step = public_answers.release if action == A.RELEASE else public_answers.withhold
    try:
        step(
            concern,
            form.reason.data or "",
            role=current_user.role,
            actor=current_user,
            expected_version=form.version.data,
        )
        db.session.commit()
    except TransitionRefused as refused:
        return _refused(concern_id, refused, "publication", form, context=action)
    if action == A.RELEASE:
        flash(_("Put back on the public answers."))
    else:
        flash(_("Kept off the public answers."))
    return redirect(url_for(".concern", concern_id=concern_id))


@bp.post("/concerns/<int:concern_id>/contact")
@login_required
def concern_contact(concern_id: int):
    """Show the full contact details, once, and record that this person looked (the
    password again first, when it was last typed long ago)."""
    concern = _viewable(concern_id)
    require_or_abort(P.CONCERN_VIEW_CONTACT, concern)
    if auth_views.password_needed():
        return auth_views.ask_password(url_for(".concern", concern_id=concern_id), again=True)
    disclosures.contact_viewed(current_user, concern)
    db.session.commit()
    return render_concern(concern, contact=True)


# --- the inbox's exports --------------------------------------------------------------------

CONCERN_EXPORT_TYPES = {"xlsx": exports.XLSX_TYPE, "csv": exports.CSV_TYPE}


@bp.get("/concerns/export.<any(xlsx, csv):fmt>")
@writes_on_get
@login_required
def concerns_export(fmt: str):
    """The inbox, filtered as on screen (the same query arguments), as a file; residents'
    contact details masked."""
    require_or_abort(P.CONCERN_EXPORT)
    if auth_views.password_needed():
        return auth_views.ask_password(request.full_path)
    f = inbox.parse_filter(request.args)
    return _export_response(fmt, f, exports.concern_export(current_user, f, utcnow(), fmt))


def may_export_contacts(user) -> bool:
    """Whether the user's role may see any concern's contact details (each row is still
    checked): the full export is offered only then."""
    return can(user, P.CONCERN_EXPORT) and user.role in permissions.roles_for(P.CONCERN_VIEW_CONTACT)


@bp.route("/concerns/export-contacts", methods=["GET", "POST"])
@login_required
def concerns_export_contacts():
    """The inbox as a file with contact details in full, where the user may see them: only
    with a stated purpose, recorded with the concerns it named."""
    if not may_export_contacts(current_user):
        require_or_abort(P.CONCERN_EXPORT)
        abort(403)
    f = inbox.parse_filter(request.args)
    if auth_views.password_needed():
        # A GET comes back here; a POST shows the form again after the password.
        return auth_views.ask_password(request.full_path if request.method == "GET" else _form_url(f))
    form = ContactExportForm()
    if not form.validate_on_submit():
        return render_template("manage/export_contacts.html", form=form, f=f), 422 if form.errors else 200
    export = exports.concern_export(current_user, f, utcnow(), form.fmt.data, purpose=form.purpose.data)
    return _export_response(form.fmt.data, f, export)


def _form_url(f: inbox.InboxFilter) -> str:
    return url_for(".concerns_export_contacts", **f.as_args())


def _export_response(fmt: str, f: inbox.InboxFilter, export: exports.ConcernExport) -> Response:
    """The finished file, sent in chunks once its audit entry is committed."""
    assert export.file is not None  # concern_export() writes it
    exports.record_concern_export(current_user, f, fmt, export)
    db.session.commit()
    if export.truncated:
        # Shown on the next page the user opens: the download itself cannot carry a message.
        flash(
            _(
                "The export holds only the newest %(n)d concerns. Narrow the filter to export the rest.",
                n=export.rows,
            )
        )
    return download(export.file, CONCERN_EXPORT_TYPES[fmt], exports.concern_filenames(export, fmt))
