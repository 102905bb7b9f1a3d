"""No concern is ever stuck: from every state a concern can reach that is not final, someone
in scope has a step they can take (a button they are shown, or the resident's rating and
the scheduled close). Random walks through the whole table, each step taken by someone who
may take it, with the real permissions."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ConcernEvent
from models.enums import ConcernAction as A
from models.enums import ConcernStatus as S
from models.enums import Rating, RegionLevel, Role
from services import concern_flow as flow
from services.permissions import can
from services.workflow import RESIDENT, SYSTEM
from tests import factories


def _world():
    city = factories.region(name="周口市", level=RegionLevel.CITY)
    county = factories.region(name="项城市", parent=city)
    station = factories.station(region=county)
    rep = factories.representative(stations=[station], name="王建国")
    unit = factories.unit(region_obj=county)
    staff = [
        rep.user,
        factories.user(Role.STATION_MANAGER, managed_stations=[station]),
        factories.user(Role.CONGRESS_STAFF, region=city),
        factories.user(Role.UNIT_HANDLER, unit=unit),
        factories.user(Role.ADMIN),
    ]
    concern = factories.concern(station)
    concern.events.append(ConcernEvent(action=A.SUBMIT, to_status=S.SUBMITTED))
    target = factories.concern(station)  # a concern to merge into
    return concern, staff, {"representative": rep, "unit": unit, "merge_into": target}


def _moves(concern, staff):
    """Every (who, step) possible now: staff by the page's buttons, the resident and the system
    by theirs."""
    moves = [
        (user, spec)
        for user in staff
        for spec in flow.CONCERN_FLOW
        if spec.button is not None and spec.applies(concern) and can(user, spec.permission, concern)
    ]
    # Theirs that move the concern on (an escalation only marks it and tells the staff above).
    moves += [
        (who, spec)
        for spec in flow.CONCERN_FLOW
        for who in (RESIDENT, SYSTEM)
        if who in spec.roles and spec.target is not None
    ]
    return [(who, spec) for who, spec in moves if spec.applies(concern)]


def _take(concern, who, spec, extra, pick: int):
    if spec.action == A.RATE:
        ratings = list(Rating)
        flow.rate(concern, ratings[pick % 3], ratings[(pick // 3) % 3], "评价")
    elif spec.action in flow.REOPENS:
        return  # the rating reopens a concern, never the resident alone
    else:
        role = who if isinstance(who, str) else who.role
        actor = None if isinstance(who, str) else who
        kwargs = {"representative": extra["representative"]} if spec.action == A.ACCEPT else {}
        if spec.action == A.DISPATCH:
            kwargs["unit"] = extra["unit"]
        if spec.action == A.MERGE:
            kwargs["merge_into"] = extra["merge_into"]
        flow.transition(concern, spec.action, role=role, actor=actor, note="说明", **kwargs)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=14))
def test_from_every_open_state_someone_in_scope_can_act(db, picks):
    concern, staff, extra = _world()
    trail = [concern.status]
    for pick in picks:
        if concern.status in flow.FINAL_STATUSES:
            break
        moves = [(who, spec) for who, spec in _moves(concern, staff) if spec.action not in flow.REOPENS]
        assert moves, f"stuck in {concern.status} (unit {concern.unit_id}) after {trail}"
        who, spec = moves[pick % len(moves)]
        _take(concern, who, spec, extra, pick)
        trail.append(f"{spec.action}→{concern.status}")
    if concern.status not in flow.FINAL_STATUSES:
        assert [m for m in _moves(concern, staff) if m[1].action not in flow.REOPENS], trail
    db.session.rollback()


@pytest.mark.parametrize("who", [Role.STATION_MANAGER, Role.CONGRESS_STAFF])
def test_an_answer_resolved_on_the_spot_goes_back_to_the_representative(db, who):
    concern, staff, extra = _world()
    rep = extra["representative"]
    flow.transition(concern, A.ACCEPT, role=Role.REPRESENTATIVE, actor=rep.user, representative=rep)
    flow.transition(concern, A.RESOLVE, role=Role.REPRESENTATIVE, actor=rep.user, note="已当场协调解决")
    # the representative does not send back their own answer, and nobody sends it to a unit it never had
    assert not [spec for u, spec in _moves(concern, [rep.user]) if spec.target == S.DISPATCHED]
    supervisor = next(u for u in staff if u.role == who)
    steps = {spec.action for u, spec in _moves(concern, [supervisor])}
    assert A.SEND_BACK not in steps and A.SEND_BACK_TO_REP in steps
    flow.transition(concern, A.SEND_BACK_TO_REP, role=who, actor=supervisor, note="请再核实一次")
    assert concern.status == S.ACCEPTED and concern.unit_id is None and concern.assigned_rep_id == rep.id
    assert {spec.action for u, spec in _moves(concern, [rep.user])} >= {A.RESOLVE}
