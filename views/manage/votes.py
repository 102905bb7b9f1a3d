"""民生实事项目票决 in the back office: congress staff make a region's 票决, list its candidates,
announce it, close the voting, publish the results, open and close the year-end
evaluation, and hide residents' comments; a lead unit's handler reports a chosen
project's progress. Each view: load → permission → validate → one service call → commit."""

from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from models import ProjectComment, ProjectVote, Region, Unit, VoteProject
from models.enums import BallotRound, VoteAction
from services import board as board_service
from services import refusals
from services import votes as vote_service
from services.errors import DomainError, VoteRefused
from services.limits import PROGRESS_PHOTOS_MAX
from services.permissions import Permission as P
from services.permissions import managed_regions_clause, region_subtree
from services.storage import StorageUnavailable
from services.storage import configured as configured_storage
from views.forms import ButtonForm, StepForm
from views.forms.votes import HideCommentForm, ProgressForm, ProjectForm, VoteForm
from views.manage import bp
from views.manage.board import _no_store, _refused_on, forget_station_pages, read_photos
from views.util import get_or_404, require_or_abort

# Each stage step's service function; its button, message and who may press it are
# VOTE_FLOW's row.
STEPS = {
    VoteAction.PUBLISH: vote_service.publish,
    VoteAction.CLOSE: vote_service.close_voting,
    VoteAction.RESULTS: vote_service.publish_results,
    VoteAction.EVALUATION_OPEN: vote_service.open_evaluation,
    VoteAction.EVALUATION_CLOSE: vote_service.close_evaluation,
}


def _vote(vote_id: int) -> ProjectVote:
    vote = get_or_404(ProjectVote, vote_id)
    require_or_abort(P.VOTE_MANAGE, vote)
    return vote


def _project(project_id: int) -> VoteProject:
    project = get_or_404(VoteProject, project_id)
    require_or_abort(P.VOTE_MANAGE, project)
    return project


def _forget(vote: ProjectVote) -> None:
    forget_station_pages(*board_service.stations_under(vote.region))


# --- the list, and a new 票决 ----------------------------------------------------------------------


def _vote_form(form: VoteForm | None = None) -> VoteForm:
    form = form or VoteForm()
    form.region.choices = [(r.id, f"{r.name} ({r.code})") for r in board_service.notice_regions(current_user)]
    return form


def _vote_input(form: VoteForm) -> vote_service.VoteInput:
    return vote_service.VoteInput(
        title=form.title.data or "",
        year=form.year.data or 0,
        comments_open_on=form.comments_open_on.data,
        comments_close_on=form.comments_close_on.data,
        voting_opens_on=form.voting_opens_on.data,
        voting_closes_on=form.voting_closes_on.data,
        threshold_percent=form.threshold_percent.data or 0,
    )


def _votes_page(form: VoteForm, status: int = 200):
    return _no_store(
        render_template(
            "manage/votes.html",
            form=form,
            votes=vote_service.votes_in_reach(managed_regions_clause(current_user, ProjectVote.region_id)),
            stage=vote_service.stage,
        ),
        status,
    )


@bp.get("/votes")
@login_required
def votes():
    require_or_abort(P.VOTE_MANAGE)
    return _votes_page(_vote_form(VoteForm(formdata=None)))


@bp.post("/votes")
@login_required
def vote_create():
    require_or_abort(P.VOTE_MANAGE)
    form = _vote_form()
    if not form.validate():
        return _votes_page(form, status=422)
    offered = {value for value, _label in form.region.choices}
    region = db.session.get(Region, form.region.data) if form.region.data in offered else None
    if region is None:
        form.region.errors = [_("Please choose a region.")]
        return _votes_page(form, status=422)
    require_or_abort(P.VOTE_MANAGE, region)
    try:
        vote = vote_service.create_vote(current_user, region, _vote_input(form))
        vote_id = vote.id
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _votes_page(_vote_form(form), status=422)
    flash(_("The vote is saved as a draft. Add its candidate projects, then announce it."))
    return redirect(url_for("manage.vote", vote_id=vote_id), 303)


# --- one 票决 ---------------------------------------------------------------------------------------


def _project_form(vote: ProjectVote, form: ProjectForm | None = None) -> ProjectForm:
    form = form or ProjectForm()
    units = db.session.scalars(
        db.select(Unit)
        .where(Unit.is_active, Unit.region_id.in_(region_subtree(vote.region_id)))
        .order_by(Unit.region_id, Unit.name)
    )
    form.unit.choices = [("", _("Please choose"))] + [(u.id, u.name) for u in units]
    regions = db.session.scalars(
        db.select(Region).where(Region.id.in_(region_subtree(vote.region_id)), Region.is_active).order_by(Region.code)
    )
    form.region.choices = [("", _("The whole region"))] + [(r.id, r.name) for r in regions]
    return form


def _project_input(vote: ProjectVote, form: ProjectForm) -> vote_service.ProjectInput:
    offered_units = {value for value, _label in form.unit.choices if value}
    offered_regions = {value for value, _label in form.region.choices if value}
    unit = db.session.get(Unit, form.unit.data) if form.unit.data in offered_units else None
    region = db.session.get(Region, form.region.data) if form.region.data in offered_regions else None
    budget = form.budget.data if form.budget.data is not None else Decimal(-1)
    return vote_service.ProjectInput(
        title=form.title.data or "",
        text=form.text.data or "",
        budget_yuan=int(budget * 10000),
        unit=unit,
        region=region,
    )


def _vote_page(
    vote: ProjectVote, *, form: VoteForm | None = None, project_form: ProjectForm | None = None, status: int = 200
):
    if form is None:
        form = VoteForm(formdata=None, obj=vote)
    results = vote_service.results(vote) if vote.published_at is not None else []
    return _no_store(
        render_template(
            "manage/vote.html",
            vote=vote,
            stage=vote_service.stage(vote),
            form=form,
            project_form=project_form or _project_form(vote, ProjectForm(formdata=None)),
            results=results,
            evaluation=vote_service.evaluation_results(vote) if vote.evaluation_opened_at else [],
            eligible=vote.eligible_count if vote.closed_at else vote_service.eligible_count(vote),
            cast=vote_service.cast_count(vote, BallotRound.VOTE),
            evaluated=vote_service.cast_count(vote, BallotRound.EVALUATION),
            comments=vote_service.comment_counts(vote),
            steps=vote_service.steps_for(vote, current_user),
            step_form=StepForm(formdata=None, version=vote.version),
        ),
        status,
    )


@bp.get("/votes/<int:vote_id>")
@login_required
def vote(vote_id: int):
    return _vote_page(_vote(vote_id))


@bp.post("/votes/<int:vote_id>")
@login_required
def vote_edit(vote_id: int):
    vote = _vote(vote_id)
    form = VoteForm()
    form.region.data = vote.region_id  # not asked again: a 票决 stays in its region
    if not form.validate():
        return _vote_page(vote, form=form, status=422)
    try:
        vote_service.edit_vote(current_user, vote, _vote_input(form))
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _vote_page(_vote(vote_id), form=form, status=422)
    _forget(vote)
    flash(_("The vote is saved."))
    return redirect(url_for("manage.vote", vote_id=vote_id), 303)


@bp.post("/votes/<int:vote_id>/<any(publish, close, results, evaluation_open, evaluation_close):step>")
@login_required
def vote_step(vote_id: int, step: str):
    vote = _vote(vote_id)
    form = StepForm()
    if not form.validate():
        abort(400)
    spec = vote_service.VOTE_FLOW[VoteAction(step)]
    try:
        STEPS[spec.action](current_user, vote, expected_version=form.version.data)
        db.session.commit()
    except DomainError as refused:  # the table's (TransitionRefused) or the step's own (VoteRefused)
        db.session.rollback()
        flash(refusals.message(refused, refusals.VOTE))
        return redirect(url_for("manage.vote", vote_id=vote_id), 303)
    _forget(vote)
    flash(str(spec.done))
    return redirect(url_for("manage.vote", vote_id=vote_id), 303)


# --- candidates --------------------------------------------------------------------------------------


@bp.post("/votes/<int:vote_id>/projects")
@login_required
def project_add(vote_id: int):
    vote = _vote(vote_id)
    form = _project_form(vote)
    if not form.validate():
        return _vote_page(vote, project_form=form, status=422)
    try:
        vote_service.add_project(current_user, vote, _project_input(vote, form))
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _vote_page(_vote(vote_id), project_form=form, status=422)
    flash(_("The candidate is added."))
    return redirect(url_for("manage.vote", vote_id=vote_id) + "#projects-h", 303)


def _project_page(project: VoteProject, form: ProjectForm, status: int = 200):
    return _no_store(
        render_template(
            "manage/vote_project.html",
            project=project,
            vote=project.vote,
            form=form,
            comments=vote_service.comments_of(project, public=False),
            hide_form=HideCommentForm(formdata=None),
            button=ButtonForm(formdata=None),
            signed=vote_service.signed,
        ),
        status,
    )


@bp.route("/votes/projects/<int:project_id>", methods=["GET", "POST"])
@login_required
def project_edit(project_id: int):
    project = _project(project_id)
    if request.method == "GET":
        form = _project_form(project.vote, ProjectForm(formdata=None, obj=project))
        form.budget.data = Decimal(project.budget_yuan) / 10000
        form.unit.data, form.region.data = project.unit_id, project.region_id
        return _project_page(project, form)
    form = _project_form(project.vote)
    if not form.validate():
        return _project_page(project, form, status=422)
    try:
        vote_service.edit_project(current_user, project, _project_input(project.vote, form))
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _project_page(_project(project_id), form, status=422)
    flash(_("The candidate is saved."))
    return redirect(url_for("manage.project_edit", project_id=project_id), 303)


@bp.post("/votes/projects/<int:project_id>/remove")
@login_required
def project_remove(project_id: int):
    project = _project(project_id)
    vote_id = project.vote_id
    if not ButtonForm().validate():
        abort(400)
    try:
        vote_service.remove_project(current_user, project)
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("manage.project_edit", project_id=project_id), 303)
    flash(_("The candidate is removed."))
    return redirect(url_for("manage.vote", vote_id=vote_id) + "#projects-h", 303)


@bp.post("/votes/comments/<int:comment_id>/hide")
@login_required
def comment_hide(comment_id: int):
    row = get_or_404(ProjectComment, comment_id)
    require_or_abort(P.VOTE_MANAGE, row)
    form = HideCommentForm()
    if not form.validate():
        flash(_("Please give the reason."))
        return redirect(url_for("manage.project_edit", project_id=row.project_id) + "#comments-h", 303)
    try:
        changed = vote_service.hide_comment(current_user, row, form.reason.data or "")
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("manage.project_edit", project_id=row.project_id) + "#comments-h", 303)
    if changed:
        flash(_("The comment is hidden from the public pages."))
    return redirect(url_for("manage.project_edit", project_id=row.project_id) + "#comments-h", 303)


# --- the lead unit: progress reports ---------------------------------------------------------------------


@bp.get("/projects")
@login_required
def unit_projects():
    require_or_abort(P.VOTE_PROGRESS)
    found = vote_service.unit_projects(current_user.unit_id)
    return _no_store(render_template("manage/unit_projects.html", projects=found))


def _progress_page(project: VoteProject, form: ProgressForm, status: int = 200):
    return _no_store(render_template("manage/progress.html", project=project, form=form), status)


@bp.route("/projects/<int:project_id>/progress", methods=["GET", "POST"])
@login_required
def progress(project_id: int):
    project = get_or_404(VoteProject, project_id)
    require_or_abort(P.VOTE_PROGRESS, project)
    if not project.chosen:
        abort(404)
    if request.method == "GET":
        return _progress_page(project, ProgressForm(formdata=None))
    form = ProgressForm()
    valid = form.validate()
    photos = read_photos(form, PROGRESS_PHOTOS_MAX)
    if not valid or form.photos.errors:
        return _progress_page(project, form, status=422)
    data = vote_service.ProgressInput(text=form.text.data or "", percent=form.percent.data or 0)
    try:
        vote_service.add_progress(current_user, project, data, photos, storage=configured_storage())
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _progress_page(get_or_404(VoteProject, project_id), form, status=422)
    except (StorageUnavailable, SQLAlchemyError) as exc:
        db.session.rollback()
        current_app.logger.warning("votes: a progress report could not be saved: %s", exc)
        flash(_("The report could not be saved just now. Please send it again in a moment."))
        return _progress_page(get_or_404(VoteProject, project_id), form, status=503)
    _forget(project.vote)
    flash(_("The progress report is published."))
    return redirect(url_for("manage.progress", project_id=project_id), 303)
