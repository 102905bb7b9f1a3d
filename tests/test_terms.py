"""Terms of office (换届): a representative whose term has ended keeps their record but no
longer checks in, takes up concerns, or shows as a station's representative."""

from datetime import date, time, timedelta

import pytest

from extensions import db as _db
from models import Duty
from models.enums import ConcernAction, ConcernStatus, RepLevel, Role
from services import clock, concern_flow, reference
from services import duty as duty_service
from services import roster as roster_service
from services.duty import Proof
from services.errors import CheckInRefused, TransitionRefused
from services.permissions import Permission as P
from services.permissions import can, concern_permission, takers
from services.roster import RosterRefused
from services.stations import representatives_in_order
from tests import factories
from tests.helpers import login

SECRET = "test-secret"


@pytest.fixture
def world(db):
    station = factories.station(name="花园街道联络站")
    today = clock.local_today()
    ended = factories.representative([station], name="李离任")
    ended.term_number, ended.term_start, ended.term_end = 17, date(2016, 10, 1), today - timedelta(days=1)
    serving = factories.representative([station], name="王在任")
    serving.term_number, serving.term_start, serving.term_end = (
        18,
        today - timedelta(days=400),
        today + timedelta(days=900),
    )
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    _db.session.flush()
    return {"station": station, "ended": ended, "serving": serving, "manager": manager}


def test_ended_term_cannot_check_in(world):
    with pytest.raises(CheckInRefused) as refused:
        duty_service.check_in(world["ended"], world["station"], nonce="nonce-0001", proof=Proof(), secret=SECRET)
    assert refused.value.code == "term_ended"
    assert not can(world["ended"].user, P.DUTY_CHECK_IN, world["station"])
    assert can(world["serving"].user, P.DUTY_CHECK_IN, world["station"])
    duty = duty_service.check_in(world["serving"], world["station"], nonce="nonce-0002", proof=Proof(), secret=SECRET)
    assert isinstance(duty, Duty)


def test_ended_term_cannot_take_up_a_concern(world):
    concern = factories.concern(world["station"])
    accept = concern_permission(ConcernAction.ACCEPT)
    assert not can(world["ended"].user, accept, concern)
    assert can(world["serving"].user, accept, concern)
    assert world["ended"] not in takers(concern) and world["serving"] in takers(concern)
    with pytest.raises(TransitionRefused) as refused:
        concern_flow.transition(
            concern,
            ConcernAction.ACCEPT,
            role=Role.STATION_MANAGER,
            actor=world["manager"],
            representative=world["ended"],
        )
    assert refused.value.code == "term_ended"
    assert concern.status == ConcernStatus.SUBMITTED


def test_ended_term_not_listed_at_the_station_nor_rostered_past_it(world):
    assert representatives_in_order(world["station"]) == [world["serving"]]
    with pytest.raises(RosterRefused) as refused:
        roster_service.add_slots(
            world["manager"],
            world["station"],
            world["ended"],
            clock.local_today() + timedelta(days=2),
            time(9),
            time(11),
        )
    assert refused.value.code == "term_ended"


def test_pages_for_an_ended_term(client, world):
    station, ended = world["station"], world["ended"]
    _db.session.commit()
    page = client.get(f"/s/{station.code}").get_data(as_text=True)
    assert "王在任" in page and "李离任" not in page
    login(client, ended.user)
    page = client.get(f"/s/{station.code}").get_data(as_text=True)
    assert "/check-in" not in page  # no check-in button, a note instead
    # Their own file and annual report stay theirs to read.
    assert client.get("/me").status_code == 200
    year = clock.local_today().year
    assert client.get(f"/me/report/{year}").status_code == 200
    login(client, world["serving"].user)
    assert "/check-in" in client.get(f"/s/{station.code}").get_data(as_text=True)


def test_re_election_keeps_one_record(world):
    ended = world["ended"]
    rep_id = ended.id
    today = clock.local_today()
    values = reference.RepresentativeValues(
        name="李离任",
        mobile="13900001111",
        level=RepLevel.COUNTY,
        stations=list(ended.stations),
        term_number=18,
        term_start=today,
        term_end=today + timedelta(days=5 * 365),
    )
    rep = reference.save_representative(None, ended, values)
    assert rep.id == rep_id and rep in representatives_in_order(world["station"])
    duty = duty_service.check_in(rep, world["station"], nonce="nonce-0003", proof=Proof(), secret=SECRET)
    assert duty.representative_id == rep_id
