"""民生实事项目代表票决: a region's congress staff put the year's candidate projects to its
representatives; residents comment on them through any station of the region; the
representatives of the region's congress level vote by secret ballot; the result is
published with its counts; the chosen projects' lead units report their progress; at year
end the representatives rate each chosen project, by secret ballot too.

Everything here flushes, never commits, and refuses with a VoteRefused code (or, for a
stage step, the engine's TransitionRefused). Every staff change leaves an audit entry
("vote.<what>") in the same transaction. Who may do what is services.permissions'
("vote.manage", "vote.cast", "vote.progress").

The stages staff move a 票决 through are VOTE_FLOW, a table on services.workflow, with the
status, version and events (ProjectVoteEvent) of the other workflows:

    draft ──publish──▶ published ──close──▶ closed ──results──▶ results
      (comments and voting follow        (from the first      │
       from the dates: stage())           day of voting)      └─evaluation_open (something chosen)─▶ evaluation
                                                                                    ──evaluation_close──▶ evaluated

A ballot is secret by construction (models.votes): casting writes one BallotCast row (that
this representative took part in this round; its primary key makes it once) and adds one
to a BallotTally counter per project (what was chosen), in one transaction. Neither keeps
a time, the tally keeps no voter and no row id: the two can never be joined again, which
is also why a ballot is final as soon as it is cast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from extensions import db
from models import (
    BallotCast,
    BallotTally,
    ProgressPhoto,
    ProgressReport,
    ProjectComment,
    ProjectVote,
    ProjectVoteEvent,
    Region,
    Representative,
    Station,
    Unit,
    User,
    VoteProject,
    utcnow,
)
from models.enums import BallotRound, Rating, RegionLevel, RepLevel, VoteAction, VoteChoice, VoteStage, VoteStatus
from services import audit, notifications
from services.board import BoardPhoto, stored_photos
from services.clock import local_today
from services.concerns import bounded_text, clean_text
from services.errors import VoteRefused
from services.limits import (
    CONTACT_NAME_MAX,
    PROGRESS_PHOTOS_MAX,
    PROGRESS_TEXT_MAX,
    PROJECT_COMMENT_MAX,
    PROJECT_TEXT_MAX,
    PROJECT_TITLE_MAX,
    VOTE_TITLE_MAX,
)
from services.permissions import Permission, can, covers, eligible_clause, eligible_voter, roles_for
from services.privacy import mask_mobile, mask_name
from services.resident_mobile import is_mainland_mobile, normalize_mobile
from services.storage import Storage
from services.workflow import ActionSpec, Workflow

S, A = VoteStatus, VoteAction

# The congress that votes in a region: the region's own.
LEVEL_OF_REGION = {
    RegionLevel.PROVINCE: RepLevel.PROVINCIAL,
    RegionLevel.CITY: RepLevel.CITY,
    RegionLevel.COUNTY: RepLevel.COUNTY,
    RegionLevel.TOWNSHIP: RepLevel.TOWNSHIP,
}
CHOICES: dict[BallotRound, tuple[str, ...]] = {
    BallotRound.VOTE: tuple(VoteChoice),
    BallotRound.EVALUATION: tuple(Rating),
}
# The same comment sent again from the same station within this long is the same comment.
REPEAT_SECONDS = 60
COMMENTS_SHOWN = 50


def _text(value: str | None, limit: int, code: str, *, required: bool = False) -> str:
    return bounded_text(value, limit, code, VoteRefused, required=required)


def _values(data) -> dict:
    """A checked input's fields by name: they are the columns' names."""
    return {f.name: getattr(data, f.name) for f in fields(data)}


# --- where a 票决 stands ------------------------------------------------------------------------


# The stages past announcing are the stored status; an announced one's follows from its dates.
_STAGE_OF_STATUS = {
    S.DRAFT: VoteStage.DRAFT,
    S.CLOSED: VoteStage.CLOSED,
    S.RESULTS: VoteStage.RESULTS,
    S.EVALUATION: VoteStage.EVALUATION,
    S.EVALUATED: VoteStage.EVALUATED,
}


def stage(vote: ProjectVote, today: date | None = None) -> VoteStage:
    if vote.status in _STAGE_OF_STATUS:
        return _STAGE_OF_STATUS[vote.status]
    today = today or local_today()
    if today < vote.comments_open_on:
        return VoteStage.ANNOUNCED
    if today <= vote.comments_close_on:
        return VoteStage.COMMENTS
    if today < vote.voting_opens_on:
        return VoteStage.ANNOUNCED
    if today <= vote.voting_closes_on:
        return VoteStage.VOTING
    return VoteStage.COUNTING


def comments_open(vote: ProjectVote, today: date | None = None) -> bool:
    return stage(vote, today) == VoteStage.COMMENTS


def round_open(vote: ProjectVote, round_: BallotRound, today: date | None = None) -> bool:
    return stage(vote, today) == (VoteStage.VOTING if round_ == BallotRound.VOTE else VoteStage.EVALUATION)


# --- staff: the 票决 and its candidates ----------------------------------------------------------


@dataclass(frozen=True)
class VoteInput:
    title: str
    year: int
    comments_open_on: date
    comments_close_on: date
    voting_opens_on: date
    voting_closes_on: date
    threshold_percent: int = 50


def _checked_vote(data: VoteInput) -> VoteInput:
    title = _text(data.title, VOTE_TITLE_MAX, "title", required=True)
    if not 2000 <= data.year <= 2100:
        raise VoteRefused("bad_year")
    days = (data.comments_open_on, data.comments_close_on, data.voting_opens_on, data.voting_closes_on)
    if any(d is None for d in days):
        raise VoteRefused("dates_missing")
    if data.comments_close_on < data.comments_open_on:
        raise VoteRefused("comments_period")
    if data.voting_opens_on < data.comments_close_on:
        raise VoteRefused("voting_before_comments")
    if data.voting_closes_on < data.voting_opens_on:
        raise VoteRefused("voting_period")
    if not 1 <= data.threshold_percent <= 99:
        raise VoteRefused("bad_threshold")
    return VoteInput(title, data.year, *days, threshold_percent=data.threshold_percent)


def _vote_fields(vote: ProjectVote) -> dict:
    return {
        "title": vote.title,
        "year": vote.year,
        "comments": f"{vote.comments_open_on}–{vote.comments_close_on}",
        "voting": f"{vote.voting_opens_on}–{vote.voting_closes_on}",
        "threshold_percent": vote.threshold_percent,
    }


def create_vote(actor: User, region: Region, data: VoteInput) -> ProjectVote:
    data = _checked_vote(data)
    taken = db.session.scalar(
        sa.select(ProjectVote.id).where(ProjectVote.region_id == region.id, ProjectVote.year == data.year)
    )
    if taken is not None:
        raise VoteRefused("year_taken", year=data.year)
    now = utcnow()
    vote = ProjectVote(
        region=region,
        level=LEVEL_OF_REGION[region.level],
        created_by_id=actor.id,
        status=S.DRAFT,
        created_at=now,
        updated_at=now,
        **_values(data),
    )
    db.session.add(vote)
    db.session.flush()
    VOTE_FLOW.record(vote, VOTE_FLOW[A.CREATE], actor=actor, before=None, note="", public=True, now=now)
    audit.log(actor, "vote.create", vote, region=region.code, **_vote_fields(vote))
    return vote


def edit_vote(actor: User, vote: ProjectVote, data: VoteInput) -> None:
    """Its title, periods and threshold: until voting opens (the periods are announced;
    the threshold must be known before anyone votes)."""
    data = _checked_vote(data)
    if vote.status not in (S.DRAFT, S.PUBLISHED) or (
        vote.status == S.PUBLISHED and local_today() >= vote.voting_opens_on
    ):
        raise VoteRefused("voting_started")
    if vote.status != S.DRAFT and data.year != vote.year:
        raise VoteRefused("published")
    if data.year != vote.year:
        taken = db.session.scalar(
            sa.select(ProjectVote.id).where(
                ProjectVote.region_id == vote.region_id, ProjectVote.year == data.year, ProjectVote.id != vote.id
            )
        )
        if taken is not None:
            raise VoteRefused("year_taken", year=data.year)
    before = _vote_fields(vote)
    for name, value in _values(data).items():
        setattr(vote, name, value)
    db.session.flush()
    audit.log_change(actor, "vote.edit", vote, before, _vote_fields(vote))


@dataclass(frozen=True)
class ProjectInput:
    title: str
    text: str
    budget_yuan: int
    unit: Unit | None
    region: Region | None = None


def _checked_project(vote: ProjectVote, data: ProjectInput) -> ProjectInput:
    title = _text(data.title, PROJECT_TITLE_MAX, "title", required=True)
    text = _text(data.text, PROJECT_TEXT_MAX, "text")
    if data.budget_yuan < 0:
        raise VoteRefused("bad_budget")
    if data.unit is None or not data.unit.is_active:
        raise VoteRefused("unit_missing")
    if not covers(vote.region_id, data.unit.region):
        raise VoteRefused("unit_elsewhere")
    if data.region is not None and not covers(vote.region_id, data.region):
        raise VoteRefused("region_elsewhere")
    return ProjectInput(title, text, data.budget_yuan, data.unit, data.region)


def _draft(vote: ProjectVote) -> None:
    if vote.status != S.DRAFT:
        raise VoteRefused("published")


def _project_fields(project: VoteProject) -> dict:
    return {
        "title": project.title,
        "text_length": len(project.text),
        "budget_yuan": project.budget_yuan,
        "unit": project.unit.name,
        "region": project.region.name if project.region else None,
    }


def add_project(actor: User, vote: ProjectVote, data: ProjectInput) -> VoteProject:
    """A candidate: only while the 票决 is a draft (the ballot lists what was announced)."""
    _draft(vote)
    data = _checked_project(vote, data)
    position = max((p.position for p in vote.projects), default=0) + 1
    project = VoteProject(vote=vote, position=position, **_values(data))
    db.session.add(project)
    db.session.flush()
    audit.log(actor, "vote.project.add", project, vote=vote.id, **_project_fields(project))
    return project


def edit_project(actor: User, project: VoteProject, data: ProjectInput) -> None:
    _draft(project.vote)
    data = _checked_project(project.vote, data)
    before = _project_fields(project)
    for name, value in _values(data).items():
        setattr(project, name, value)
    db.session.flush()
    audit.log_change(actor, "vote.project.edit", project, before, _project_fields(project))


def remove_project(actor: User, project: VoteProject) -> None:
    vote = project.vote
    _draft(vote)
    audit.log(actor, "vote.project.remove", project, vote=vote.id, title=project.title)
    vote.projects.remove(project)
    db.session.flush()


def _lock(vote: ProjectVote) -> None:
    """Casting and the stage steps take the 票决's row in turn: no ballot lands after the
    close, and a step reads the current version."""
    db.session.execute(sa.select(ProjectVote.id).where(ProjectVote.id == vote.id).with_for_update())
    db.session.refresh(vote)


def _open_tallies(projects: Iterable[VoteProject], round_: BallotRound) -> None:
    for project in projects:
        for choice in CHOICES[round_]:
            db.session.add(BallotTally(project_id=project.id, round=round_, choice=str(choice), count=0))


# --- the stages: a table on the workflow engine ----------------------------------------------


def _voting_begun(vote: ProjectVote) -> bool:
    """Closing is possible from the first day of voting (everyone voted, or the period is over)."""
    return local_today() >= vote.voting_opens_on


def _something_chosen(vote: ProjectVote) -> bool:
    return any(p.chosen for p in vote.projects)


def _stage_step(action: VoteAction, sources, target: VoteStatus, **row) -> ActionSpec:
    permission = Permission.VOTE_MANAGE
    return ActionSpec(action, frozenset(sources), target, roles_for(permission), permission=permission, **row)


VOTE_STEPS = (
    # create_vote() makes the draft: the engine never takes this step.
    _stage_step(A.CREATE, (), S.DRAFT, title=_l("Saved as a draft")),
    _stage_step(
        A.PUBLISH,
        {S.DRAFT},
        S.PUBLISHED,
        title=_l("Announced"),
        button=_l("Announce the vote"),
        done=_l("The vote is announced: the candidates are public."),
        notice=BallotRound.VOTE,
    ),
    _stage_step(
        A.CLOSE,
        {S.PUBLISHED},
        S.CLOSED,
        when=_voting_begun,
        title=_l("Voting closed"),
        button=_l("Close the voting"),
        done=_l("Voting is closed."),
    ),
    _stage_step(
        A.RESULTS,
        {S.CLOSED},
        S.RESULTS,
        title=_l("Results published"),
        button=_l("Publish the results"),
        done=_l("The results are published."),
    ),
    _stage_step(
        A.EVALUATION_OPEN,
        {S.RESULTS},
        S.EVALUATION,
        when=_something_chosen,
        title=_l("Satisfaction evaluation opened"),
        button=_l("Open the satisfaction evaluation"),
        done=_l("The satisfaction evaluation is open."),
        notice=BallotRound.EVALUATION,
    ),
    _stage_step(
        A.EVALUATION_CLOSE,
        {S.EVALUATION},
        S.EVALUATED,
        title=_l("Satisfaction evaluation closed"),
        button=_l("Close the satisfaction evaluation"),
        done=_l("The satisfaction evaluation is closed."),
    ),
)


def _tell_voters(vote: ProjectVote, _event: ProjectVoteEvent, spec: ActionSpec) -> list:
    """A round opens (spec.notice): each eligible representative hears when and where."""
    return notifications.queue_ballot_open(vote, eligible(vote), spec.notice)


VOTE_FLOW: Workflow = Workflow("project_vote", A, VOTE_STEPS, event=ProjectVoteEvent, notify=_tell_voters)
# A 票决 with nothing chosen is over once its results are out: there is nothing to evaluate.
FINAL = frozenset({S.EVALUATED})


def is_final(vote: ProjectVote) -> bool:
    return vote.status in FINAL or (vote.status == S.RESULTS and not _something_chosen(vote))


def action_title(action: str, for_resident: bool = False) -> str:
    """How a step reads on the 票决's timeline."""
    spec = VOTE_FLOW.spec(action)
    return spec.timeline_title(for_resident=for_resident) if spec is not None else str(action)


def by_resident(_action: str) -> bool:
    """No resident takes a stage step (the timeline macro asks)."""
    return False


def steps_for(vote: ProjectVote, user) -> list[ActionSpec]:
    """The buttons `user` sees on the 票决's page: the steps possible now, in table order."""
    return [
        spec
        for spec in VOTE_FLOW
        if spec.button is not None and spec.applies(vote) and can(user, spec.permission, vote)
    ]


def _step(actor: User, vote: ProjectVote, action: VoteAction, *, expected_version: int | None, guard=None, effect=None):
    """One stage step through VOTE_FLOW, on the locked row: the table's refusals
    (changed, not_allowed_now, role_not_allowed), the event, the notifications."""
    _lock(vote)
    return VOTE_FLOW.step(
        vote, action, role=actor.role, actor=actor, expected_version=expected_version, guard=guard, effect=effect
    )


def publish(actor: User, vote: ProjectVote, *, expected_version: int | None = None) -> list:
    """Announce it: the candidates and the periods go public, the ballot's counters start at
    zero, and each eligible representative is told when to vote. Returns the messages.
    Refuses: no_projects, voting_over, and the table's codes."""

    def guard(_spec: ActionSpec, now: datetime) -> None:
        if not vote.projects:
            raise VoteRefused("no_projects")
        if local_today(now) > vote.voting_closes_on:
            raise VoteRefused("voting_over")

    def effect(_spec: ActionSpec, _before, now: datetime) -> None:
        vote.published_at = now
        _open_tallies(vote.projects, BallotRound.VOTE)

    event = _step(actor, vote, A.PUBLISH, expected_version=expected_version, guard=guard, effect=effect)
    audit.log(actor, "vote.publish", vote, projects=len(vote.projects), told=len(event.notified))
    return event.notified


def eligible(vote: ProjectVote, day: date | None = None) -> list[Representative]:
    """The representatives who vote (eligible_clause), by name."""
    return list(
        db.session.scalars(
            sa.select(Representative).where(eligible_clause(vote, day or local_today())).order_by(Representative.id)
        )
    )


def eligible_count(vote: ProjectVote, day: date | None = None) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Representative).where(eligible_clause(vote, day or local_today()))
        )
        or 0
    )


def cast_count(vote: ProjectVote, round_: BallotRound) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(BallotCast)
            .where(BallotCast.vote_id == vote.id, BallotCast.round == round_)
        )
        or 0
    )


def close_voting(actor: User, vote: ProjectVote, *, expected_version: int | None = None) -> None:
    """No ballot any more: from the first day of voting on (when everyone has voted, or
    the period is over). The number of eligible representatives is fixed now: the
    threshold counts against it."""
    counted: list[int] = []

    def guard(_spec: ActionSpec, _now: datetime) -> None:
        counted.append(eligible_count(vote))  # a query: before anything changes

    def effect(_spec: ActionSpec, _before, now: datetime) -> None:
        vote.closed_at, vote.eligible_count = now, counted[0]

    _step(actor, vote, A.CLOSE, expected_version=expected_version, guard=guard, effect=effect)
    audit.log(actor, "vote.close", vote, eligible=vote.eligible_count, cast=cast_count(vote, BallotRound.VOTE))


# --- the ballot ------------------------------------------------------------------------------------


def has_cast(rep: Representative, vote: ProjectVote, round_: BallotRound) -> bool:
    return db.session.get(BallotCast, {"vote_id": vote.id, "round": round_, "representative_id": rep.id}) is not None


def ballot_projects(vote: ProjectVote, round_: BallotRound) -> list[VoteProject]:
    """What a ballot of the round lists: every candidate; the chosen ones to rate."""
    if round_ == BallotRound.VOTE:
        return list(vote.projects)
    return [p for p in vote.projects if p.chosen]


def cast(rep: Representative, vote: ProjectVote, round_: BallotRound, choices: Mapping[int, str]) -> None:
    """Cast the representative's whole ballot of the round: one choice for each project of
    it. Once: a second ballot (a double tap, a second phone) is refused, even at the same
    instant (BallotCast's primary key). Nothing says afterwards what this representative
    chose, so nothing can change it."""
    _lock(vote)
    if not round_open(vote, round_):
        today = local_today()
        early = vote.status == S.DRAFT or (
            round_ == BallotRound.VOTE and vote.status == S.PUBLISHED and today < vote.voting_opens_on
        )
        raise VoteRefused("not_open_yet" if early else "round_closed")
    if not eligible_voter(rep, vote, local_today()):
        raise VoteRefused("not_eligible")
    projects = ballot_projects(vote, round_)
    allowed = set(CHOICES[round_])
    picked = {p.id: choices.get(p.id) for p in projects}
    if any(choice not in allowed for choice in picked.values()):
        raise VoteRefused("incomplete", missing=sum(1 for c in picked.values() if c not in allowed))
    if set(choices) - set(picked):
        raise VoteRefused("not_on_ballot")
    try:
        with db.session.begin_nested():
            db.session.add(BallotCast(vote_id=vote.id, round=round_, representative_id=rep.id))
            db.session.flush()
    except IntegrityError:
        raise VoteRefused("already_cast") from None
    for project_id, choice in picked.items():
        counted = db.session.execute(
            sa.update(BallotTally)
            .where(BallotTally.project_id == project_id, BallotTally.round == round_, BallotTally.choice == str(choice))
            .values(count=BallotTally.count + 1)
        )
        if counted.rowcount != 1:  # type: ignore[attr-defined]
            raise VoteRefused("not_on_ballot")


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    project: VoteProject
    counts: dict[str, int]
    chosen: bool | None = None  # the vote's outcome (None for an evaluation)

    def count(self, choice: str) -> int:
        return self.counts.get(str(choice), 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def passes(for_votes: int, eligible_total: int, threshold_percent: int) -> bool:
    """The threshold: more than `threshold_percent` per cent of the eligible
    representatives voted for it."""
    return for_votes * 100 > threshold_percent * eligible_total


def _counts(projects: Sequence[VoteProject], round_: BallotRound) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {p.id: {} for p in projects}
    if not projects:
        return found
    rows = db.session.execute(
        sa.select(BallotTally.project_id, BallotTally.choice, BallotTally.count).where(
            BallotTally.project_id.in_(found), BallotTally.round == round_
        )
    )
    for project_id, choice, count in rows:
        found[project_id][choice] = count
    return found


def results(vote: ProjectVote) -> list[Result]:
    """The counts of each candidate, and whether it passes the threshold (once closed)."""
    counts = _counts(vote.projects, BallotRound.VOTE)
    out = []
    for project in vote.projects:
        tally = counts[project.id]
        chosen = (
            passes(tally.get(VoteChoice.FOR, 0), vote.eligible_count, vote.threshold_percent)
            if vote.eligible_count is not None
            else None
        )
        out.append(Result(project, tally, chosen))
    return out


def evaluation_results(vote: ProjectVote) -> list[Result]:
    projects = ballot_projects(vote, BallotRound.EVALUATION)
    counts = _counts(projects, BallotRound.EVALUATION)
    return [Result(p, counts[p.id]) for p in projects]


def publish_results(actor: User, vote: ProjectVote, *, expected_version: int | None = None) -> None:
    """Publish the outcome with its counts: on the 票决's page and every station of the region."""
    found: list[Result] = []

    def guard(_spec: ActionSpec, _now: datetime) -> None:
        found.extend(results(vote))  # the tally's queries, before anything changes

    def effect(_spec: ActionSpec, _before, now: datetime) -> None:
        for result in found:
            result.project.chosen = bool(result.chosen)
        vote.results_published_at = now

    _step(actor, vote, A.RESULTS, expected_version=expected_version, guard=guard, effect=effect)
    audit.log(
        actor,
        "vote.results",
        vote,
        chosen=[r.project.id for r in found if r.chosen],
        eligible=vote.eligible_count,
    )


def open_evaluation(actor: User, vote: ProjectVote, *, expected_version: int | None = None) -> list:
    """Year end: each eligible representative rates each chosen project once (only when
    something was chosen: the table's `when`)."""
    chosen: list[VoteProject] = []

    def effect(_spec: ActionSpec, _before, now: datetime) -> None:
        vote.evaluation_opened_at = now
        chosen.extend(ballot_projects(vote, BallotRound.EVALUATION))
        _open_tallies(chosen, BallotRound.EVALUATION)

    event = _step(actor, vote, A.EVALUATION_OPEN, expected_version=expected_version, effect=effect)
    audit.log(actor, "vote.evaluation.open", vote, projects=len(chosen), told=len(event.notified))
    return event.notified


def close_evaluation(actor: User, vote: ProjectVote, *, expected_version: int | None = None) -> None:
    counted: list[int] = []

    def guard(_spec: ActionSpec, _now: datetime) -> None:
        counted.append(eligible_count(vote))

    def effect(_spec: ActionSpec, _before, now: datetime) -> None:
        vote.evaluation_closed_at, vote.evaluation_eligible_count = now, counted[0]

    _step(actor, vote, A.EVALUATION_CLOSE, expected_version=expected_version, guard=guard, effect=effect)
    audit.log(
        actor,
        "vote.evaluation.close",
        vote,
        eligible=vote.evaluation_eligible_count,
        cast=cast_count(vote, BallotRound.EVALUATION),
    )


@dataclass(frozen=True)
class VoteFigures:
    """One 票决 on the figures page: turnout, what was chosen, how satisfied the
    representatives were with the chosen projects (all projects' ratings added up)."""

    vote: ProjectVote
    eligible: int
    cast: int
    chosen: int
    rated: int
    ratings: dict[str, int]

    @property
    def satisfied_share(self) -> float | None:
        """Satisfied and basically satisfied, of every rating given."""
        total = sum(self.ratings.values())
        if not total:
            return None
        return (self.ratings.get(Rating.SATISFIED, 0) + self.ratings.get(Rating.BASICALLY_SATISFIED, 0)) / total


def figures(clause: sa.ColumnElement[bool]) -> list[VoteFigures]:
    """The decided 票决 of the regions `clause` (managed_regions_clause on
    ProjectVote.region_id) lets the viewer see, newest year first."""
    out = []
    for vote in votes_in_reach(clause):
        if vote.results_published_at is None or vote.eligible_count is None:
            continue
        ratings: dict[str, int] = {str(c): 0 for c in Rating}
        for result in evaluation_results(vote):
            for choice, n in result.counts.items():
                ratings[choice] = ratings.get(choice, 0) + n
        out.append(
            VoteFigures(
                vote=vote,
                eligible=vote.eligible_count,
                cast=cast_count(vote, BallotRound.VOTE),
                chosen=sum(1 for p in vote.projects if p.chosen),
                rated=cast_count(vote, BallotRound.EVALUATION),
                ratings=ratings,
            )
        )
    return out


# --- residents' comments -------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentInput:
    text: str
    contact_name: str = ""
    contact_mobile: str = ""
    consent: bool = False


def comment(station: Station, project: VoteProject, data: CommentInput) -> ProjectComment:
    """A resident's comment, through a station of the 票决's region, while comments are open."""
    vote = project.vote
    if not station.is_active or not covers(vote.region_id, station.region):
        raise VoteRefused("not_this_station")
    if not comments_open(vote):
        raise VoteRefused("comments_closed")
    text = _text(data.text, PROJECT_COMMENT_MAX, "comment", required=True)
    name = clean_text(data.contact_name)
    if len(name) > CONTACT_NAME_MAX:
        raise VoteRefused("name_too_long", n=CONTACT_NAME_MAX)
    mobile = normalize_mobile(data.contact_mobile)
    if mobile and not is_mainland_mobile(mobile):
        raise VoteRefused("bad_mobile")
    if (name or mobile) and not data.consent:
        raise VoteRefused("consent_required")
    again = db.session.scalar(
        sa.select(ProjectComment)
        .where(
            ProjectComment.project_id == project.id,
            ProjectComment.station_id == station.id,
            ProjectComment.text == text,
            ProjectComment.created_at >= utcnow() - timedelta(seconds=REPEAT_SECONDS),
        )
        .limit(1)
    )
    if again is not None:  # a double tap, or the back button and send again
        return again
    now = utcnow()
    row = ProjectComment(
        project=project,
        station_id=station.id,
        text=text,
        contact_name=name or None,
        contact_mobile=mobile or None,
        consent_at=now if (name or mobile) else None,
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def hide_comment(actor: User, row: ProjectComment, reason: str) -> bool:
    """Off the public pages, with the reason; the back office still shows it. False when it
    already was (a double tap)."""
    reason = _text(reason, 200, "reason", required=True)
    if row.hidden_at is not None:
        return False
    row.hidden_at, row.hidden_reason, row.hidden_by_id = utcnow(), reason, actor.id
    db.session.flush()
    audit.log(actor, "vote.comment.hide", row, project=row.project_id, reason=reason)
    return True


def erase_comment_contacts(cutoff: datetime, *, dry_run: bool = False, batch: int = 200) -> int:
    """Up to `batch` comments written before `cutoff` lose the name and number given with
    them (services.erasure, PERSONAL_DATA_DAYS); the comment stays. `dry_run` counts them all."""
    due = sa.and_(
        ProjectComment.created_at < cutoff,
        sa.or_(ProjectComment.contact_name.is_not(None), ProjectComment.contact_mobile.is_not(None)),
    )
    if dry_run:
        return db.session.scalar(sa.select(sa.func.count()).select_from(ProjectComment).where(due)) or 0
    rows = list(db.session.scalars(sa.select(ProjectComment).where(due).order_by(ProjectComment.id).limit(batch)))
    for row in rows:
        row.contact_name = row.contact_mobile = None
    db.session.flush()
    return len(rows)


def comments_of(project: VoteProject, *, public: bool) -> list[ProjectComment]:
    query = sa.select(ProjectComment).where(ProjectComment.project_id == project.id)
    if public:
        query = query.where(ProjectComment.hidden_at.is_(None))
    return list(
        db.session.scalars(query.order_by(ProjectComment.id.desc()).limit(None if not public else COMMENTS_SHOWN))
    )


def comment_counts(vote: ProjectVote) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(ProjectComment.project_id, sa.func.count())
        .where(ProjectComment.project_id.in_([p.id for p in vote.projects]), ProjectComment.hidden_at.is_(None))
        .group_by(ProjectComment.project_id)
    )
    return {project_id: n for project_id, n in rows}


def signed(row: ProjectComment) -> str:
    """Who wrote it, as the public pages show it: a masked name, or a masked number."""
    if row.contact_name:
        return mask_name(row.contact_name)
    if row.contact_mobile:
        return mask_mobile(row.contact_mobile)
    return ""


# --- progress reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressInput:
    text: str
    percent: int


def add_progress(
    actor: User, project: VoteProject, data: ProgressInput, photos: Sequence[BoardPhoto] = (), *, storage: Storage
) -> ProgressReport:
    """The lead unit reports how a chosen project is going: public at once."""
    if not project.chosen or project.vote.results_published_at is None:
        raise VoteRefused("not_chosen")
    text = _text(data.text, PROGRESS_TEXT_MAX, "text", required=True)
    if not 0 <= data.percent <= 100:
        raise VoteRefused("bad_percent")
    if len(photos) > PROGRESS_PHOTOS_MAX:
        raise VoteRefused("too_many_photos", n=PROGRESS_PHOTOS_MAX)
    report = ProgressReport(project=project, text=text, percent=data.percent, created_by_id=actor.id)
    report.photos = stored_photos(photos, storage, ProgressPhoto)
    db.session.add(report)
    db.session.flush()
    audit.log(actor, "vote.progress.add", report, project=project.id, percent=data.percent, photos=len(photos))
    return report


def progress_photo_public(key: str) -> str | None:
    """The type of a progress report's photo (or thumbnail) under `key`: all are public."""
    from services.board import photo_by_key

    found = photo_by_key(key, ProgressPhoto)
    return found[0].content_type if found is not None else None


# --- lists ---------------------------------------------------------------------------------------


def votes_in_reach(clause: sa.ColumnElement[bool]) -> list[ProjectVote]:
    """The 票决 of the regions `clause` (permissions.managed_regions_clause on
    ProjectVote.region_id) lets a staff member manage, newest year first."""
    return list(
        db.session.scalars(
            sa.select(ProjectVote)
            .options(selectinload(ProjectVote.projects))
            .where(clause)
            .order_by(ProjectVote.year.desc(), ProjectVote.id.desc())
        )
    )


def votes_for_station(station: Station) -> list[ProjectVote]:
    """The published 票决 of the station's region and the regions above it."""
    return list(
        db.session.scalars(
            sa.select(ProjectVote)
            .options(selectinload(ProjectVote.projects))
            .where(
                ProjectVote.region_id.in_([r.id for r in station.region.path()]),
                ProjectVote.published_at.is_not(None),
            )
            .order_by(ProjectVote.year.desc(), ProjectVote.id.desc())
        )
    )


@dataclass(frozen=True)
class StationVote:
    vote: ProjectVote
    stage: VoteStage
    chosen: list[VoteProject]


def station_votes(station: Station, *, limit: int = 2) -> list[StationVote]:
    """The station page's part: the latest published 票决 of its region (and above), where
    each stands, and the projects chosen once the results are out."""
    found = votes_for_station(station)[:limit]
    return [StationVote(v, stage(v), [p for p in v.projects if p.chosen]) for v in found]


def public_project(station: Station, project_id: int) -> VoteProject | None:
    project = db.session.get(VoteProject, project_id)
    if project is None or project.vote.published_at is None or not covers(project.vote.region_id, station.region):
        return None
    return project


def votes_for_rep(rep: Representative) -> list[ProjectVote]:
    """The published 票决 of the regions the representative's stations are in (and above),
    whether or not they may vote in each (the page says)."""
    regions = {r.id for s in rep.stations for r in s.region.path()}
    return list(
        db.session.scalars(
            sa.select(ProjectVote)
            .options(selectinload(ProjectVote.projects))
            .where(ProjectVote.region_id.in_(regions), ProjectVote.published_at.is_not(None))
            .order_by(ProjectVote.year.desc(), ProjectVote.id.desc())
        )
    )


def unit_projects(unit_id: int) -> list[VoteProject]:
    """The chosen projects a unit leads: its progress reports are due on these."""
    return list(
        db.session.scalars(
            sa.select(VoteProject)
            .join(ProjectVote)
            .where(
                VoteProject.unit_id == unit_id,
                VoteProject.chosen.is_(True),
                ProjectVote.results_published_at.is_not(None),
            )
            .order_by(ProjectVote.year.desc(), VoteProject.position)
        )
    )


def parse_choices(form: Mapping[str, str], projects: Sequence[VoteProject]) -> dict[int, str]:
    """The ballot form's fields "p<id>" → {project id: choice}; anything else is ignored."""
    return {p.id: form[f"p{p.id}"] for p in projects if form.get(f"p{p.id}")}
