"""民生实事项目代表票决 (services.votes): the secret ballot, who votes, when, the threshold,
the results, the residents' comments, progress reports and the evaluation."""

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from models import (
    AuditLog,
    BallotCast,
    BallotTally,
    Base,
    Outbox,
    ProgressReport,
    ProjectComment,
    ProjectVote,
    Representative,
    VoteProject,
)
from models.enums import BallotRound, Rating, RegionLevel, RepLevel, Role, VoteChoice, VoteStage
from services import votes
from services.board import read_photo
from services.clock import local_today
from services.errors import TransitionRefused, VoteRefused
from services.permissions import can
from services.storage import LocalStorage
from tests import factories

FOR, AGAINST, ABSTAIN = VoteChoice.FOR, VoteChoice.AGAINST, VoteChoice.ABSTAIN


# --- the secrecy of the ballot, in the schema --------------------------------------------------

VOTER_TABLES = {"representative", "user_account"}


def _references(table) -> set[str]:
    return {fk.column.table.name for fk in table.foreign_keys}


def test_no_table_links_a_voter_to_a_choice():
    """Whatever names a voter (a representative or an account) never sits beside a choice,
    and the tally, which holds the choices, names nothing but the project."""
    tables = Base.metadata.tables
    tally = tables["ballot_tally"]
    cast = tables["ballot_cast"]
    # The tally: a counter per (project, round, choice): no voter, no time, no row id.
    assert set(tally.columns.keys()) == {"project_id", "round", "choice", "count"}
    assert _references(tally) == {"vote_project"}
    assert [c.name for c in tally.primary_key.columns] == ["project_id", "round", "choice"]
    assert not any(c.autoincrement is True for c in tally.columns)
    assert not any(isinstance(c.type, sa.DateTime | sa.Date) for c in tally.columns)
    # Who took part: the 票决, the round and the representative, nothing else.
    assert set(cast.columns.keys()) == {"vote_id", "round", "representative_id"}
    assert not any(isinstance(c.type, sa.DateTime | sa.Date) for c in cast.columns)
    # No table holds a choice beside a voter, and none refers to either ballot table.
    for table in tables.values():
        holds_choice = {"choice", "rating"} & set(table.columns.keys())
        if holds_choice and table.name != "concern_rating":  # residents' ratings of concerns
            assert not (_references(table) & VOTER_TABLES), table.name
        assert not ({"ballot_tally", "ballot_cast"} & _references(table)), table.name
    # The project row that the tally names keeps no voter either.
    assert not (_references(tables["vote_project"]) & VOTER_TABLES)


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    township = factories.region("411681001", "花园街道", RegionLevel.TOWNSHIP, parent=county)
    other = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=city)
    station = factories.station(region=township, name="花园街道联络站")
    elsewhere = factories.station(region=other, name="扶沟县联络站")
    reps = [factories.representative(stations=[station], name=f"代表{i}") for i in range(4)]
    unit = factories.unit(region_obj=county)
    staff = factories.user(Role.CONGRESS_STAFF, region=county)
    db.session.flush()
    return {
        "county": county,
        "township": township,
        "other": other,
        "station": station,
        "elsewhere": elsewhere,
        "reps": reps,
        "unit": unit,
        "staff": staff,
    }


def _dates(first_comment: date) -> dict:
    return {
        "comments_open_on": first_comment,
        "comments_close_on": first_comment + timedelta(days=9),
        "voting_opens_on": first_comment + timedelta(days=10),
        "voting_closes_on": first_comment + timedelta(days=12),
    }


def make_vote(world, *, stage: str = "voting", projects: int = 2, threshold: int = 50, year: int = 2026) -> ProjectVote:
    """A 票决 of the county whose periods put it, today, in `stage`."""
    today = local_today()
    first = {
        "comments": today - timedelta(days=1),
        "voting": today - timedelta(days=11),
        "over": today - timedelta(days=20),
        "later": today + timedelta(days=5),
    }[stage]
    vote = votes.create_vote(
        world["staff"],
        world["county"],
        votes.VoteInput(
            title=f"{year}年项城市民生实事项目票决", year=year, threshold_percent=threshold, **_dates(first)
        ),
    )
    for i in range(projects):
        votes.add_project(
            world["staff"],
            vote,
            votes.ProjectInput(title=f"项目{i}", text="说明", budget_yuan=1_000_000, unit=world["unit"]),
        )
    return vote


def published(world, **kw) -> ProjectVote:
    vote = make_vote(world, **kw)
    votes.publish(world["staff"], vote)
    return vote


def ballot(vote, *choices) -> dict[int, str]:
    return {p.id: str(c) for p, c in zip(vote.projects, choices, strict=True)}


def tally(vote) -> dict[tuple[str, str], int]:
    return {(r.project.title, c): n for r in votes.results(vote) for c, n in r.counts.items()}


# --- creating, announcing ---------------------------------------------------------------------


def test_a_vote_takes_the_level_of_its_region_and_each_staff_change_is_recorded(world, db):
    vote = make_vote(world)
    assert vote.level == RepLevel.COUNTY
    assert votes.stage(vote) == VoteStage.DRAFT
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["vote.create", "vote.project.add", "vote.project.add"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": " "}, "title_missing"),
        ({"year": 1999}, "bad_year"),
        ({"threshold_percent": 100}, "bad_threshold"),
        ({"comments_close_on": date(2026, 2, 28)}, "comments_period"),
        ({"voting_opens_on": date(2026, 3, 5)}, "voting_before_comments"),
        ({"voting_closes_on": date(2026, 3, 10)}, "voting_period"),
    ],
)
def test_a_vote_refuses_bad_values(world, change, code):
    data = {
        "title": "票决",
        "year": 2026,
        "comments_open_on": date(2026, 3, 1),
        "comments_close_on": date(2026, 3, 10),
        "voting_opens_on": date(2026, 3, 11),
        "voting_closes_on": date(2026, 3, 12),
        **change,
    }
    with pytest.raises(VoteRefused) as refused:
        votes.create_vote(world["staff"], world["county"], votes.VoteInput(**data))
    assert refused.value.code == code


def test_one_vote_a_year_per_region(world):
    make_vote(world)
    with pytest.raises(VoteRefused, match="year_taken"):
        make_vote(world)


def test_the_lead_unit_is_of_the_region(world):
    vote = make_vote(world, projects=0)
    far = factories.unit(region_obj=world["other"])
    with pytest.raises(VoteRefused, match="unit_elsewhere"):
        votes.add_project(world["staff"], vote, votes.ProjectInput("项目", "", 1, far))


def test_announcing_needs_candidates_then_freezes_them_and_tells_the_voters(world, db):
    empty = make_vote(world, projects=0)
    with pytest.raises(VoteRefused, match="no_projects"):
        votes.publish(world["staff"], empty)
    votes.add_project(world["staff"], empty, votes.ProjectInput("项目", "", 1, world["unit"]))
    told = votes.publish(world["staff"], empty)
    assert len(told) == 4 and all(row.kind == "vote.ballot_open" for row in told)
    with pytest.raises(VoteRefused, match="published"):
        votes.add_project(world["staff"], empty, votes.ProjectInput("又一个", "", 1, world["unit"]))
    with pytest.raises(VoteRefused, match="published"):
        votes.remove_project(world["staff"], empty.projects[0])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BallotTally)) == 3  # for, against, abstain


# --- who votes ----------------------------------------------------------------------------------


def test_eligible_are_the_representatives_of_the_level_in_office_in_the_region(world, db):
    vote = published(world)
    reps = world["reps"]
    city_rep = factories.representative(stations=[world["station"]], level=RepLevel.CITY, name="市代表")
    outsider = factories.representative(stations=[world["elsewhere"]], name="外县代表")
    retired = factories.representative(stations=[world["station"]], name="届满代表")
    retired.term_end = local_today() - timedelta(days=1)
    not_yet = factories.representative(stations=[world["station"]], name="新代表")
    not_yet.term_start = local_today() + timedelta(days=1)
    switched_off = factories.representative(stations=[world["station"]], name="停用代表")
    switched_off.user.active = False
    db.session.flush()
    assert [r.id for r in votes.eligible(vote)] == [r.id for r in reps]
    for rep in reps:
        assert can(rep.user, "vote.cast", vote)
    for rep in (city_rep, outsider, retired, not_yet, switched_off):
        assert not can(rep.user, "vote.cast", vote), rep.name
        with pytest.raises(VoteRefused, match="not_eligible"):
            votes.cast(rep, vote, BallotRound.VOTE, ballot(vote, FOR, FOR))
    assert votes.eligible_count(vote) == 4


# --- when ---------------------------------------------------------------------------------------


def test_the_ballot_is_open_only_in_its_period(world, db):
    rep = world["reps"][0]
    for stage, code in (("comments", "not_open_yet"), ("later", "not_open_yet"), ("over", "round_closed")):
        vote = published(world, stage="voting" if stage == "over" else stage)
        if stage == "over":  # the period passed without the staff closing it
            today = local_today()
            vote.comments_open_on, vote.comments_close_on = today - timedelta(days=5), today - timedelta(days=4)
            vote.voting_opens_on = vote.voting_closes_on = today - timedelta(days=1)
            assert votes.stage(vote) == VoteStage.COUNTING
        with pytest.raises(VoteRefused, match=code):
            votes.cast(rep, vote, BallotRound.VOTE, ballot(vote, FOR, FOR))
        db.session.delete(vote)
        db.session.flush()
    draft = make_vote(world)
    with pytest.raises(VoteRefused, match="not_open_yet"):
        votes.cast(rep, draft, BallotRound.VOTE, ballot(draft, FOR, FOR))


def test_no_ballot_after_closing(world):
    vote = published(world)
    votes.cast(world["reps"][0], vote, BallotRound.VOTE, ballot(vote, FOR, AGAINST))
    votes.close_voting(world["staff"], vote)
    assert vote.eligible_count == 4
    with pytest.raises(VoteRefused, match="round_closed"):
        votes.cast(world["reps"][1], vote, BallotRound.VOTE, ballot(vote, FOR, FOR))
    with pytest.raises(TransitionRefused, match="not_allowed_now"):  # VOTE_FLOW: closed is past closing
        votes.close_voting(world["staff"], vote)


# --- one ballot each, whole and final -----------------------------------------------------------


def test_a_ballot_counts_once_and_needs_a_choice_for_every_candidate(world, db):
    vote = published(world)
    rep = world["reps"][0]
    with pytest.raises(VoteRefused, match="incomplete"):
        votes.cast(rep, vote, BallotRound.VOTE, {vote.projects[0].id: "for"})
    with pytest.raises(VoteRefused, match="incomplete"):
        votes.cast(rep, vote, BallotRound.VOTE, ballot(vote, FOR, "maybe"))
    assert not votes.has_cast(rep, vote, BallotRound.VOTE)
    votes.cast(rep, vote, BallotRound.VOTE, ballot(vote, FOR, ABSTAIN))
    assert votes.has_cast(rep, vote, BallotRound.VOTE)
    with pytest.raises(VoteRefused, match="already_cast"):
        votes.cast(rep, vote, BallotRound.VOTE, ballot(vote, AGAINST, AGAINST))
    assert tally(vote) == {
        ("项目0", "for"): 1,
        ("项目0", "against"): 0,
        ("项目0", "abstain"): 0,
        ("项目1", "for"): 0,
        ("项目1", "against"): 0,
        ("项目1", "abstain"): 1,
    }
    # No audit entry, outbox row or anything else timed records a ballot.
    assert not db.session.scalars(sa.select(AuditLog).where(AuditLog.action.like("vote.cast%"))).all()


def test_a_ballot_cast_twice_at_the_same_instant_counts_once(app, db, world):
    vote = published(world)
    rep_id, vote_id = world["reps"][0].id, vote.id
    choices = ballot(vote, FOR, AGAINST)
    db.session.commit()
    threads_n = 6
    barrier = threading.Barrier(threads_n)
    results: list[str] = [""] * threads_n

    def work(i: int) -> None:
        with app.test_request_context("/me/votes/1", method="POST"):
            from extensions import db as thread_db

            barrier.wait()
            try:
                rep = thread_db.session.get(Representative, rep_id)
                found = thread_db.session.get(ProjectVote, vote_id)
                votes.cast(rep, found, BallotRound.VOTE, choices)
                thread_db.session.commit()
                results[i] = "ok"
            except VoteRefused as refused:
                thread_db.session.rollback()
                results[i] = refused.code
            except Exception as exc:  # the test says which, and fails
                thread_db.session.rollback()
                results[i] = f"error {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["already_cast"] * (threads_n - 1) + ["ok"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BallotCast)) == 1
    rows = db.session.execute(
        sa.select(BallotTally.choice, sa.func.sum(BallotTally.count)).group_by(BallotTally.choice)
    ).all()
    counts = {choice: total for choice, total in rows}
    assert counts == {"for": 1, "against": 1, "abstain": 0}


# --- the threshold and the results ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("for_votes", "eligible", "percent", "chosen"),
    [(3, 4, 50, True), (2, 4, 50, False), (3, 5, 50, True), (2, 5, 50, False), (4, 5, 75, True), (3, 4, 75, False)],
)
def test_the_threshold_is_more_than_the_share_of_the_eligible(for_votes, eligible, percent, chosen):
    assert votes.passes(for_votes, eligible, percent) is chosen


def test_results_count_against_the_eligible_not_the_voters(world):
    vote = published(world)
    a, b, c, _d = world["reps"]  # 4 eligible; the fourth does not vote
    votes.cast(a, vote, BallotRound.VOTE, ballot(vote, FOR, FOR))
    votes.cast(b, vote, BallotRound.VOTE, ballot(vote, FOR, FOR))
    votes.cast(c, vote, BallotRound.VOTE, ballot(vote, FOR, AGAINST))
    with pytest.raises(TransitionRefused, match="not_allowed_now"):  # VOTE_FLOW: not closed yet
        votes.publish_results(world["staff"], vote)
    votes.close_voting(world["staff"], vote)
    votes.publish_results(world["staff"], vote)
    first, second = vote.projects
    # 项目0: 3 of 4 for (> 50 %); 项目1: 2 of 4 for, not more than half of the eligible.
    assert (first.chosen, second.chosen) == (True, False)
    found = {r.project.title: (r.count("for"), r.count("against"), r.count("abstain")) for r in votes.results(vote)}
    assert found == {"项目0": (3, 0, 0), "项目1": (2, 1, 0)}
    assert votes.stage(vote) == VoteStage.RESULTS
    with pytest.raises(TransitionRefused, match="not_allowed_now"):
        votes.publish_results(world["staff"], vote)


# --- residents' comments ---------------------------------------------------------------------------


def test_residents_comment_through_a_station_of_the_region_while_comments_are_open(world, db):
    vote = published(world, stage="comments")
    project = vote.projects[0]
    row = votes.comment(
        world["station"],
        project,
        votes.CommentInput("希望优先改造老旧小区的雨污管网。", "张三", "13812345678", consent=True),
    )
    assert row.consent_at is not None and votes.signed(row) == "张*"
    again = votes.comment(world["station"], project, votes.CommentInput("希望优先改造老旧小区的雨污管网。"))
    assert again.id == row.id  # the same comment sent twice
    with pytest.raises(VoteRefused, match="not_this_station"):
        votes.comment(world["elsewhere"], project, votes.CommentInput("外县的意见"))
    with pytest.raises(VoteRefused, match="consent_required"):
        votes.comment(world["station"], project, votes.CommentInput("意见", "", "13812345678"))
    with pytest.raises(VoteRefused, match="bad_mobile"):
        votes.comment(world["station"], project, votes.CommentInput("意见", "", "12345", consent=True))
    voting = published(world, stage="voting", year=2025)
    with pytest.raises(VoteRefused, match="comments_closed"):
        votes.comment(world["station"], voting.projects[0], votes.CommentInput("太晚了"))


def test_the_names_and_numbers_given_with_comments_expire(world, db, app):
    from services import erasure

    vote = published(world, stage="comments")
    data = votes.CommentInput("希望增加公交班次。", "张三", "13812345678", consent=True)
    row = votes.comment(world["station"], vote.projects[0], data)
    db.session.commit()
    later = row.created_at + timedelta(days=erasure.personal_data_days() + 1)
    assert erasure.purge(dry_run=True, now=later).project_comments == 1
    assert erasure.purge(now=row.created_at + timedelta(days=1)).project_comments == 0
    assert erasure.purge(now=later).project_comments == 1
    db.session.refresh(row)
    assert (row.contact_name, row.contact_mobile, row.text) == (None, None, "希望增加公交班次。")


def test_staff_hide_a_comment_with_a_reason(world, db):
    vote = published(world, stage="comments")
    row = votes.comment(world["station"], vote.projects[0], votes.CommentInput("广告：低价出售建材"))
    with pytest.raises(VoteRefused, match="reason_missing"):
        votes.hide_comment(world["staff"], row, " ")
    assert votes.hide_comment(world["staff"], row, "与项目无关的广告")
    assert not votes.hide_comment(world["staff"], row, "again")
    assert votes.comments_of(vote.projects[0], public=True) == []
    assert votes.comments_of(vote.projects[0], public=False) == [row]
    assert db.session.scalar(sa.select(AuditLog.action).order_by(AuditLog.id.desc()).limit(1)) == "vote.comment.hide"


# --- progress reports --------------------------------------------------------------------------------


def _decided(world) -> ProjectVote:
    vote = published(world)
    for rep in world["reps"]:
        votes.cast(rep, vote, BallotRound.VOTE, ballot(vote, FOR, AGAINST))
    votes.close_voting(world["staff"], vote)
    votes.publish_results(world["staff"], vote)
    return vote


def test_only_the_lead_unit_reports_progress_and_only_on_a_chosen_project(world, tmp_path):
    vote = _decided(world)
    chosen, dropped = vote.projects
    handler = factories.user(Role.UNIT_HANDLER, unit=world["unit"])
    other_handler = factories.user(Role.UNIT_HANDLER, unit=factories.unit(region_obj=world["county"]))
    assert can(handler, "vote.progress", chosen)
    assert not can(other_handler, "vote.progress", chosen)
    assert not can(world["staff"], "vote.progress", chosen)
    assert not can(world["reps"][0].user, "vote.progress", chosen)
    storage = LocalStorage(str(tmp_path))
    photo = read_photo(factories.image_bytes(), max_bytes=10**6, max_pixels=10**7, max_side=2000, max_decode_bytes=None)
    report = votes.add_progress(
        handler, chosen, votes.ProgressInput("管网改造完成一期。", 40), [photo], storage=storage
    )
    assert report.percent == 40 and len(report.photos) == 1
    assert votes.progress_photo_public(report.photos[0].thumb_key) == "image/jpeg"
    with pytest.raises(VoteRefused, match="not_chosen"):
        votes.add_progress(handler, dropped, votes.ProgressInput("未入选", 10), storage=storage)
    with pytest.raises(VoteRefused, match="bad_percent"):
        votes.add_progress(handler, chosen, votes.ProgressInput("超过", 101), storage=storage)
    with pytest.raises(VoteRefused, match="too_many_photos"):
        votes.add_progress(handler, chosen, votes.ProgressInput("照片太多", 50), [photo] * 7, storage=storage)
    assert votes.unit_projects(world["unit"].id) == [chosen]


# --- the evaluation -------------------------------------------------------------------------------------


def test_each_eligible_representative_rates_each_chosen_project_once(world, db):
    vote = _decided(world)
    a, b = world["reps"][:2]
    chosen_only = {vote.projects[0].id: str(Rating.SATISFIED)}
    with pytest.raises(VoteRefused, match="not_open_yet|round_closed"):
        votes.cast(a, vote, BallotRound.EVALUATION, chosen_only)
    votes.open_evaluation(world["staff"], vote)
    with pytest.raises(VoteRefused, match="not_on_ballot"):  # the project not chosen is not on it
        votes.cast(a, vote, BallotRound.EVALUATION, {**chosen_only, vote.projects[1].id: "satisfied"})
    with pytest.raises(VoteRefused, match="incomplete"):
        votes.cast(a, vote, BallotRound.EVALUATION, {vote.projects[0].id: "for"})
    votes.cast(a, vote, BallotRound.EVALUATION, chosen_only)
    votes.cast(b, vote, BallotRound.EVALUATION, {vote.projects[0].id: str(Rating.DISSATISFIED)})
    with pytest.raises(VoteRefused, match="already_cast"):
        votes.cast(a, vote, BallotRound.EVALUATION, chosen_only)
    votes.close_evaluation(world["staff"], vote)
    with pytest.raises(VoteRefused, match="round_closed"):
        votes.cast(world["reps"][2], vote, BallotRound.EVALUATION, chosen_only)
    (result,) = votes.evaluation_results(vote)
    assert result.counts == {"satisfied": 1, "basically_satisfied": 0, "dissatisfied": 1}
    assert vote.evaluation_eligible_count == 4
    # The vote's own ballot was not touched by the evaluation.
    assert votes.results(vote)[0].count("for") == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgressReport)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectComment)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VoteProject)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 8  # told twice, 4 each
    (figures,) = votes.figures(sa.true())
    assert (figures.eligible, figures.cast, figures.chosen, figures.rated) == (4, 4, 1, 2)
    assert figures.satisfied_share == 0.5
