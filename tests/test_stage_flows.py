"""The stage steps of a 票决 (services.votes.VOTE_FLOW) and of a 述职 meeting
(services.meetings.MEETING_FLOW) on the workflow engine, walked at random: random steps by
random roles, some from a stale page. The engine refuses exactly what the table forbids
(changed, not_allowed_now, role_not_allowed, in that order), a step taken moves the
status to its row's target, the version on, and leaves one event; a refused one changes
nothing. No status but a final one leaves everybody without a step."""

from datetime import time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extensions import db as _db
from models.enums import BallotRound, MeetingAction, MeetingStatus, RegionLevel, Role, VoteAction, VoteStatus
from services import meetings, votes
from services.clock import local_today
from services.errors import MeetingRefused, TransitionRefused, VoteRefused
from services.workflow import ActionSpec, Workflow
from tests import factories

ROLES = tuple(Role)
# Random steps, leaning towards those that go somewhere: mostly by the roles of the tables,
# mostly from a page that is current, and often the step the table offers now (None).
SOME_ROLE = st.sampled_from((Role.CONGRESS_STAFF, Role.ADMIN, Role.STATION_MANAGER, *ROLES))
STALE = st.sampled_from((False, False, False, False, True))


def _actors(station, rep, unit, region) -> dict[str, object]:
    return {
        Role.REPRESENTATIVE: rep.user,
        Role.STATION_MANAGER: factories.user(Role.STATION_MANAGER, managed_stations=[station]),
        Role.CONGRESS_STAFF: factories.user(Role.CONGRESS_STAFF, region=region),
        Role.UNIT_HANDLER: factories.user(Role.UNIT_HANDLER, unit=unit),
        Role.ADMIN: factories.user(Role.ADMIN),
        Role.OFFICIAL: factories.user(Role.OFFICIAL),
    }


def _expected_refusal(flow: Workflow, record, action, role: str, stale: bool) -> str | None:
    """What the table says of this step now: the engine's code, or None (it may be taken)."""
    if stale:
        return "changed"
    spec = flow.spec(action)
    if spec is None or not spec.applies(record):
        return "not_allowed_now"
    if role not in spec.roles:
        return "role_not_allowed"
    return None


def _trail_is_unbroken(record, first: str, start) -> None:
    moves = record.events
    assert moves[0].action == first and moves[0].from_status is None and moves[0].to_status == start
    for previous, event in zip(moves, moves[1:], strict=False):
        assert event.from_status == previous.to_status
    assert moves[-1].to_status == record.status


def _table_is_live(flow: Workflow, final: frozenset, start) -> None:
    """Every status is reached from the first, and each but the final ones is the source of
    a step somebody may take."""
    reached, todo = {start}, [start]
    while todo:
        status = todo.pop()
        for spec in flow:
            if status in spec.sources and spec.target is not None and spec.target not in reached:
                reached.add(spec.target)
                todo.append(spec.target)
    assert reached == set(type(start))
    for status in reached - final:
        assert any(status in spec.sources and spec.roles for spec in flow), status
    for status in final:
        assert not any(status in spec.sources for spec in flow), status


# --- 票决 ---------------------------------------------------------------------------------------


def test_the_vote_table_reaches_every_stage_and_stops_only_at_the_end():
    _table_is_live(votes.VOTE_FLOW, votes.FINAL, VoteStatus.DRAFT)
    assert {spec.action for spec in votes.VOTE_FLOW if spec.button is not None} == set(VoteAction) - {VoteAction.CREATE}


def _vote_world():
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    township = factories.region("411681001", "花园街道", RegionLevel.TOWNSHIP, parent=county)
    station = factories.station(region=township, name="花园街道联络站")
    reps = [factories.representative(stations=[station], name=f"代表{i}") for i in range(3)]
    unit = factories.unit(region_obj=county)
    actors = _actors(station, reps[0], unit, county)
    first = local_today() + timedelta(days=5)  # comments in 5 days, voting in 15
    vote = votes.create_vote(
        actors[Role.CONGRESS_STAFF],
        county,
        votes.VoteInput(
            title="2026年项城市民生实事项目票决",
            year=2026,
            comments_open_on=first,
            comments_close_on=first + timedelta(days=9),
            voting_opens_on=first + timedelta(days=10),
            voting_closes_on=first + timedelta(days=12),
        ),
    )
    for i in range(2):
        votes.add_project(
            actors[Role.CONGRESS_STAFF],
            vote,
            votes.ProjectInput(title=f"项目{i}", text="说明", budget_yuan=1_000_000, unit=unit),
        )
    return vote, reps, actors


VOTE_STEPS = {
    VoteAction.PUBLISH: votes.publish,
    VoteAction.CLOSE: votes.close_voting,
    VoteAction.RESULTS: votes.publish_results,
    VoteAction.EVALUATION_OPEN: votes.open_evaluation,
    VoteAction.EVALUATION_CLOSE: votes.close_evaluation,
}


def _vote_step(vote, action: VoteAction, actor, expected_version: int | None) -> None:
    if action == VoteAction.CREATE:  # creating is no step of the engine's: it refuses it
        votes.VOTE_FLOW.step(vote, action, role=actor.role, actor=actor, expected_version=expected_version)
    else:
        VOTE_STEPS[action](actor, vote, expected_version=expected_version)


def _wait_until(vote, when: str) -> None:
    """Time passes, until voting opens or is over: the periods come nearer (the same as
    waiting, for the dates); never back."""
    today = local_today()
    target = vote.voting_opens_on if when == "voting" else vote.voting_closes_on + timedelta(days=1)
    days = max((target - today).days, 0)
    for name in ("comments_open_on", "comments_close_on", "voting_opens_on", "voting_closes_on"):
        setattr(vote, name, getattr(vote, name) - timedelta(days=days))
    _db.session.flush()


VOTE_STEP = st.tuples(st.just("step"), st.sampled_from((None, None, None, *VoteAction)), SOME_ROLE, STALE)
VOTE_MOVES = st.one_of(
    VOTE_STEP,
    VOTE_STEP,
    VOTE_STEP,
    st.tuples(st.just("wait"), st.sampled_from(("voting", "voting", "over")), st.just(None), st.just(False)),
    # Staff give a draft new dates (its voting period may have passed before it was announced).
    st.tuples(st.just("redate"), st.none(), st.none(), st.just(False)),
    # Representatives' ballots in the round open now: how many, and all "for" or all "against".
    st.tuples(st.just("ballot"), st.sampled_from((3, 2, 1)), st.sampled_from(("for", "against")), st.just(False)),
)


# The way through every stage: random moves start after some of it, so that each stage is
# walked from, not only the first few.
VOTE_TOUR = (
    ("step", VoteAction.PUBLISH, Role.CONGRESS_STAFF, False),
    ("wait", "voting", None, False),
    ("ballot", 3, "for", False),
    ("step", VoteAction.CLOSE, Role.CONGRESS_STAFF, False),
    ("step", VoteAction.RESULTS, Role.ADMIN, False),
    ("step", VoteAction.EVALUATION_OPEN, Role.CONGRESS_STAFF, False),
    ("ballot", 2, "for", False),
    ("step", VoteAction.EVALUATION_CLOSE, Role.CONGRESS_STAFF, False),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, len(VOTE_TOUR)), st.lists(VOTE_MOVES, min_size=5, max_size=30))
def test_random_vote_steps_keep_to_the_table(db, toured, moves):
    # Made per example, not by a fixture: each example ends with a rollback.
    vote, reps, actors = _vote_world()
    for kind, a, b, stale in (*VOTE_TOUR[:toured], *moves):
        status, version, events = vote.status, vote.version, len(vote.events)
        if kind == "wait":
            _wait_until(vote, a)
            _someone_can_act(vote, actors)
            continue
        if kind == "redate":
            try:
                with _db.session.begin_nested():
                    votes.edit_vote(actors[Role.CONGRESS_STAFF], vote, votes.VoteInput(**_inputs(vote, later=5)))
            except VoteRefused as refused:
                assert refused.code == "voting_started" and vote.status != VoteStatus.DRAFT
            continue
        if kind == "ballot":
            round_ = BallotRound.VOTE if vote.status == VoteStatus.PUBLISHED else BallotRound.EVALUATION
            choice = b if round_ == BallotRound.VOTE else ("satisfied" if b == "for" else "dissatisfied")
            for rep in reps[:a]:
                try:
                    with _db.session.begin_nested():
                        projects = votes.ballot_projects(vote, round_)
                        votes.cast(rep, vote, round_, {p.id: choice for p in projects})
                except VoteRefused:
                    pass
            # A ballot is no step: no event, and the 票决's row is not touched (nothing dates it).
            _db.session.refresh(vote)
            assert (vote.status, vote.version, len(vote.events)) == (status, version, events)
            continue
        offered = [spec.action for spec in votes.VOTE_FLOW if spec.applies(vote)]
        action, role = a or (offered[0] if offered else VoteAction.CLOSE), b
        expected = _expected_refusal(votes.VOTE_FLOW, vote, action, role, stale)
        if expected is None and action == VoteAction.PUBLISH and local_today() > vote.voting_closes_on:
            expected = "voting_over"  # the step's own guard, after the table's
        try:
            with _db.session.begin_nested():
                _vote_step(vote, action, actors[role], version - 1 if stale else version)
        except (TransitionRefused, VoteRefused) as refused:
            assert refused.code == expected, (status, action, role, stale)
            _db.session.refresh(vote)
            assert (vote.status, vote.version, len(vote.events)) == (status, version, events)
            continue
        assert expected is None, (status, action, role, stale, expected)
        spec: ActionSpec = votes.VOTE_FLOW[action]
        assert status in spec.sources and role in spec.roles and vote.status == spec.target
        assert vote.version == version + 1
        assert len(vote.events) == events + 1 and vote.events[-1].action == action
        assert vote.events[-1].actor_id == actors[role].id
        _someone_can_act(vote, actors)
    _trail_is_unbroken(vote, VoteAction.CREATE, VoteStatus.DRAFT)
    assert (vote.status != VoteStatus.DRAFT) == (vote.published_at is not None)
    if vote.status in (VoteStatus.RESULTS, VoteStatus.EVALUATION, VoteStatus.EVALUATED):
        assert all(p.chosen is not None for p in vote.projects)
    _db.session.rollback()


def _someone_can_act(vote, actors) -> None:
    """Nobody is left without a step but at the end: staff have a button, or time brings
    one (voting opens), or a draft whose voting period passed takes new dates first."""
    if votes.is_final(vote):
        assert not votes.steps_for(vote, actors[Role.CONGRESS_STAFF])
        return
    if votes.steps_for(vote, actors[Role.CONGRESS_STAFF]):
        return
    waiting = vote.status == VoteStatus.PUBLISHED and local_today() < vote.voting_opens_on
    assert waiting or vote.status == VoteStatus.DRAFT, vote.status


def test_a_stale_page_is_refused_and_the_current_one_goes_through(db):
    vote, _reps, actors = _vote_world()
    staff = actors[Role.CONGRESS_STAFF]
    shown = vote.version
    votes.edit_vote(staff, vote, votes.VoteInput(**{**_inputs(vote), "title": "2026年项城市民生实事票决"}))
    with pytest.raises(TransitionRefused, match="changed"):
        votes.publish(staff, vote, expected_version=shown)
    assert vote.status == VoteStatus.DRAFT and len(vote.events) == 1
    votes.publish(staff, vote, expected_version=vote.version)
    assert [e.action for e in vote.events] == ["create", "publish"]


def _inputs(vote, later: int | None = None) -> dict:
    """The 票决's form as it stands; `later`: its periods moved to begin that many days from today."""
    shift = timedelta(days=0 if later is None else (local_today() + timedelta(days=later) - vote.comments_open_on).days)
    return {
        "title": vote.title,
        "year": vote.year,
        "comments_open_on": vote.comments_open_on + shift,
        "comments_close_on": vote.comments_close_on + shift,
        "voting_opens_on": vote.voting_opens_on + shift,
        "voting_closes_on": vote.voting_closes_on + shift,
        "threshold_percent": vote.threshold_percent,
    }


# --- 述职 meetings -------------------------------------------------------------------------------


def test_the_meeting_table_reaches_every_status_and_stops_only_at_the_end():
    _table_is_live(meetings.MEETING_FLOW, meetings.FINAL, MeetingStatus.SCHEDULED)


def _meeting_world():
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    station = factories.station(name="莲花街道联络站", region=city)
    rep = factories.representative(stations=[station], name="王建国")
    unit = factories.unit(region_obj=city)
    actors = _actors(station, rep, unit, city)
    day = local_today() + timedelta(days=1)
    meeting = meetings.schedule(actors[Role.STATION_MANAGER], station, rep, day.year - 1, _at(day, 9))
    return meeting, actors


def _at(day, hour: int) -> meetings.When:
    return meetings.When(day, time(hour), time(hour + 2))


MEETING_MOVES = st.one_of(
    st.tuples(
        st.just("step"),
        st.sampled_from(tuple(MeetingAction)),
        SOME_ROLE,
        STALE,
        st.sampled_from((9, 14)),
    ),
    # Time passes: the meeting begins (its window moved to have started an hour ago).
    st.tuples(st.just("begin"), st.none(), st.none(), st.just(False), st.none()),
)


def _meeting_step(meeting, action: MeetingAction, actor, hour: int, expected_version: int) -> None:
    if action == MeetingAction.MOVE:
        meetings.move(actor, meeting, _at(local_today() + timedelta(days=2), hour), expected_version=expected_version)
    elif action == MeetingAction.CANCEL:
        meetings.cancel(actor, meeting, expected_version=expected_version)
    else:  # scheduling makes a meeting: the engine refuses it as a step
        meetings.MEETING_FLOW.step(meeting, action, role=actor.role, actor=actor, expected_version=expected_version)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(MEETING_MOVES, min_size=3, max_size=20))
def test_random_meeting_steps_keep_to_the_table(db, moves):
    meeting, actors = _meeting_world()
    for kind, action, role, stale, hour in moves:
        status, version, events = meeting.status, meeting.version, len(meeting.events)
        if kind == "begin":
            meeting.starts_at = meetings.utcnow().replace(microsecond=0) - timedelta(hours=1)
            meeting.ends_at = meeting.starts_at + timedelta(hours=2)
            _db.session.flush()
            continue
        expected = _expected_refusal(meetings.MEETING_FLOW, meeting, action, role, stale)
        same_window = (
            action == MeetingAction.MOVE and meeting.starts_at == _at(local_today() + timedelta(days=2), hour).utc()[0]
        )
        try:
            with _db.session.begin_nested():
                _meeting_step(meeting, action, actors[role], hour, version - 1 if stale else version)
        except (TransitionRefused, MeetingRefused) as refused:
            assert refused.code == expected, (status, action, role, stale)
            _db.session.refresh(meeting)
            assert (meeting.status, meeting.version, len(meeting.events)) == (status, version, events)
            continue
        assert expected is None, (status, action, role, stale, expected)
        spec: ActionSpec = meetings.MEETING_FLOW[action]
        assert status in spec.sources and role in spec.roles
        if same_window:  # moved to where it is: nothing happened, nothing recorded
            assert (meeting.status, meeting.version, len(meeting.events)) == (status, version, events)
            continue
        assert meeting.status == (spec.target or status)
        assert meeting.version == version + 1
        assert len(meeting.events) == events + 1 and meeting.events[-1].action == action
        if not meetings.is_final(meeting):
            assert meetings.steps_for(meeting, actors[Role.STATION_MANAGER])
    _trail_is_unbroken(meeting, MeetingAction.SCHEDULE, MeetingStatus.SCHEDULED)
    assert (meeting.status == MeetingStatus.CANCELLED) == (meeting.cancelled_at is not None)
    _db.session.rollback()
