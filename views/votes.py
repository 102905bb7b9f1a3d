"""民生实事项目票决 for representatives and residents.

/me/votes: a representative's 票决 and their ballot (the vote on the candidates, then the
year-end evaluation of the chosen ones), cast whole, once, from the phone.
/s/<code>/projects and /s/<code>/projects/<id>: the region's candidates, results and
progress on any station's page, and the residents' comments while they are open."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db, limiter
from models import ProjectVote
from models.enums import BallotRound, Rating, VoteChoice
from services import refusals
from services import votes as vote_service
from services.clock import local_today
from services.codes import normalize_station_code
from services.errors import VoteRefused
from services.permissions import Permission as P
from services.permissions import can, eligible_voter
from views.duty import my_rep
from views.forms import ButtonForm
from views.forms.votes import CommentForm
from views.manage.board import _no_store
from views.public import _canonical, _station_for
from views.public_board import public_page
from views.util import get_or_404

bp = Blueprint("votes", __name__)

ROUND_CHOICES = {BallotRound.VOTE: list(VoteChoice), BallotRound.EVALUATION: list(Rating)}


# --- a representative's ballot ---------------------------------------------------------------------


def _open_round(vote: ProjectVote) -> BallotRound | None:
    for round_ in BallotRound:
        if vote_service.round_open(vote, round_):
            return round_
    return None


@bp.get("/me/votes")
@login_required
def my_votes():
    rep = my_rep()
    if rep is None:
        abort(403)
    today = local_today()
    rows = []
    for vote in vote_service.votes_for_rep(rep):
        round_ = _open_round(vote)
        rows.append(
            {
                "vote": vote,
                "stage": vote_service.stage(vote, today),
                "eligible": eligible_voter(rep, vote, today),
                "round": round_,
                "cast": round_ is not None and vote_service.has_cast(rep, vote, round_),
            }
        )
    return _no_store(render_template("votes/mine.html", rows=rows))


def _ballot_page(vote: ProjectVote, round_: BallotRound | None, *, chosen=None, status: int = 200):
    rep = my_rep()
    return _no_store(
        render_template(
            "votes/ballot.html",
            vote=vote,
            round=round_,
            stage=vote_service.stage(vote),
            projects=vote_service.ballot_projects(vote, round_) if round_ else [],
            choices=ROUND_CHOICES[round_] if round_ else [],
            chosen=chosen or {},
            eligible=rep is not None and eligible_voter(rep, vote, local_today()),
            cast=rep is not None and round_ is not None and vote_service.has_cast(rep, vote, round_),
            results=vote_service.results(vote) if vote.results_published_at else [],
            form=ButtonForm(formdata=None),
        ),
        status,
    )


def _rep_vote(vote_id: int) -> ProjectVote:
    if my_rep() is None:
        abort(403)
    vote = get_or_404(ProjectVote, vote_id)
    if vote.published_at is None:
        abort(404)
    return vote


@bp.get("/me/votes/<int:vote_id>")
@login_required
def ballot(vote_id: int):
    vote = _rep_vote(vote_id)
    return _ballot_page(vote, _open_round(vote))


@bp.post("/me/votes/<int:vote_id>/<any(vote, evaluation):round_name>")
@login_required
def cast(vote_id: int, round_name: str):
    vote = _rep_vote(vote_id)
    round_ = BallotRound(round_name)
    rep = my_rep()
    assert rep is not None
    projects = vote_service.ballot_projects(vote, round_)
    chosen = vote_service.parse_choices(request.form, projects)
    if not ButtonForm().validate():
        return _ballot_page(vote, _open_round(vote), chosen=chosen, status=400)
    if not can(current_user, P.VOTE_CAST, vote):
        return _refused(vote, VoteRefused("not_eligible"), chosen)
    try:
        vote_service.cast(rep, vote, round_, chosen)
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        return _refused(get_or_404(ProjectVote, vote_id), refused, chosen)
    flash(_("Your ballot is cast. Thank you."))
    return redirect(url_for("votes.ballot", vote_id=vote_id), 303)


def _refused(vote: ProjectVote, refused: VoteRefused, chosen):
    flash(refusals.message(refused))
    return _ballot_page(vote, _open_round(vote), chosen=chosen, status=409 if refused.code == "already_cast" else 422)


# --- the public pages ----------------------------------------------------------------------------------


@bp.get("/s/<code>/projects")
def projects(code: str):
    if (moved := _canonical(code, normalize_station_code, "votes.projects")) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    assert st is not None
    found = vote_service.votes_for_station(st)
    return public_page(
        "votes/projects.html",
        station=st,
        votes=[
            {
                "vote": v,
                "stage": vote_service.stage(v),
                "results": {r.project.id: r for r in vote_service.results(v)} if v.results_published_at else {},
                "comments": vote_service.comment_counts(v),
            }
            for v in found
        ],
    )


def _project_page(st, project, form: CommentForm, status: int = 200):
    vote = project.vote
    result = None
    if vote.results_published_at:
        result = next(r for r in vote_service.results(vote) if r.project.id == project.id)
    evaluation = None
    if vote.evaluation_closed_at:
        evaluation = next((r for r in vote_service.evaluation_results(vote) if r.project.id == project.id), None)
    return public_page(
        "votes/project.html",
        status=status,
        station=st,
        project=project,
        vote=vote,
        stage=vote_service.stage(vote),
        open=vote_service.comments_open(vote),
        result=result,
        evaluation=evaluation,
        form=form,
        comments=vote_service.comments_of(project, public=True),
        signed=vote_service.signed,
    )


def _station_project(code: str, project_id: int):
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return None, None, instead
    assert st is not None
    project = vote_service.public_project(st, project_id)
    if project is None:
        abort(404)
    return st, project, None


@bp.get("/s/<code>/projects/<int:project_id>")
def project(code: str, project_id: int):
    if (moved := _canonical(code, normalize_station_code, "votes.project", project_id=project_id)) is not None:
        return moved
    st, found, instead = _station_project(code, project_id)
    if instead is not None:
        return instead
    return _project_page(st, found, CommentForm(formdata=None))


@bp.post("/s/<code>/projects/<int:project_id>")
@limiter.shared_limit(lambda: current_app.config["CONCERN_RATE_LIMIT"], scope="project-comment", methods=["POST"])
def comment(code: str, project_id: int):
    st, found, instead = _station_project(code, project_id)
    if instead is not None:
        return instead
    form = CommentForm()
    if not form.validate():
        return _project_page(st, found, form, status=422)
    if form.homepage.data:  # a bot: thanked, and nothing kept
        return redirect(url_for("votes.project", code=st.code, project_id=project_id, sent=1) + "#comments-h", 303)
    data = vote_service.CommentInput(
        text=form.text.data or "",
        contact_name=form.contact_name.data or "",
        contact_mobile=form.contact_mobile.data or "",
        consent=bool(form.consent.data),
    )
    try:
        vote_service.comment(st, found, data)
        db.session.commit()
    except VoteRefused as refused:
        db.session.rollback()
        field, message = refusals.explain(refused)
        target = getattr(form, field) if field and hasattr(form, field) else form.text
        target.errors = [*target.errors, message]
        return _project_page(st, found, form, status=422)
    return redirect(url_for("votes.project", code=st.code, project_id=project_id, sent=1) + "#comments-h", 303)
