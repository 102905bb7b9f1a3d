"""Malformed input at the edge: each case the probe found gives a clear 4xx or a sensible
default, never a 500 (the route-table fuzz in test_fuzz_routes.py sweeps the rest)."""

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Duty, DutySlot
from models.base import ID_MAX
from models.enums import PresencePolicy, Role
from services import clock, inbox, public_answers, roster
from services.duty import distance_m
from services.roster import RosterRefused
from tests import factories
from tests.helpers import login
from views.forms.duty import _coordinate
from views.util import int_or_none

HUGE = "99999999999999999999"


@pytest.fixture
def cast(db):
    st = factories.station(latitude=33.4436, longitude=114.8992, presence_policy=PresencePolicy.GEO, geo_radius_m=300)
    rep = factories.representative(stations=[st])
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[st])
    admin = factories.user(Role.ADMIN)
    concern = factories.concern(station_obj=st)
    db.session.commit()
    return {"station": st, "rep": rep, "manager": manager, "admin": admin, "concern": concern}


@pytest.mark.parametrize(
    "url",
    [
        f"/manage/concerns/{HUGE}",
        f"/manage/concerns/{ID_MAX + 1}",
        f"/admin/users/{HUGE}",
        f"/manage/representatives/{HUGE}/report/2026",
    ],
)
def test_ids_past_the_database_range_are_404(client, cast, url):
    login(client, cast["admin"])
    assert client.get(url).status_code == 404


def test_the_largest_id_still_reaches_the_view(client, cast):
    login(client, cast["admin"])
    assert client.get(f"/manage/concerns/{ID_MAX}").status_code == 404  # no such row: the view's 404
    assert client.get(f"/manage/concerns/{cast['concern'].id}").status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", HUGE, f"20260101000000000000-{HUGE}", "none-" + HUGE])
def test_cursors_past_the_range_start_from_the_top(client, cast, cursor):
    login(client, cast["admin"])
    assert client.get("/manage/concerns", query_string={"after": cursor}).status_code == 200
    assert client.get("/manage/concerns", query_string={"after": cursor, "sort": "due"}).status_code == 200
    assert client.get("/admin/users", query_string={"before": cursor}).status_code == 200
    assert client.get("/manage/not-notified", query_string={"before": cursor}).status_code == 200
    assert client.get(f"/s/{cast['station'].code}/answers", query_string={"after": cursor}).status_code == 200


def test_cursor_decoders_refuse_ids_no_row_can_have():
    assert inbox.decode_cursor(f"20260101000000000000-{ID_MAX + 1}") is None
    assert inbox.decode_due_cursor(f"none-{ID_MAX + 1}") is None
    assert public_answers.decode_cursor(f"20260101000000000000-{ID_MAX + 1}") is None
    assert inbox.decode_cursor(f"20260101000000000000-{ID_MAX}") is not None


@pytest.mark.parametrize("value", [HUGE, str(ID_MAX + 1), str(-ID_MAX - 1)])
def test_int_or_none_refuses_numbers_no_id_can_be(value):
    assert int_or_none(value) is None
    assert int_or_none("42") == 42


@pytest.mark.parametrize("year", ["0", "10000", "99999", "-2026", HUGE])
def test_me_with_a_year_off_the_calendar_shows_this_year(client, cast, year):
    login(client, cast["rep"].user)
    resp = client.get("/me", query_string={"year": year})
    assert resp.status_code == 200
    assert str(clock.local_today().year) in resp.get_data(as_text=True)


@pytest.mark.parametrize("year", ["0", "10000", "99999", HUGE])
def test_a_report_for_a_year_off_the_calendar_is_404(client, cast, year):
    login(client, cast["rep"].user)
    assert client.get(f"/me/report/{year}").status_code == 404
    login(client, cast["manager"])
    assert client.get(f"/manage/representatives/{cast['rep'].id}/report/{year}").status_code == 404


def test_a_report_for_a_negative_year_is_404(client, cast):
    login(client, cast["rep"].user)
    assert client.get("/me/report/-2026").status_code == 404


@pytest.mark.parametrize("day", [date(9999, 12, 20), date(2100, 1, 4), date(1, 1, 1)])
def test_the_roster_refuses_days_off_the_calendar(cast, day):
    with pytest.raises(RosterRefused) as refused:
        roster.add_slots(cast["manager"], cast["station"], cast["rep"], day, time(9), time(12), repeat_weeks=12)
    assert refused.value.code == "out_of_range"


def test_a_roster_repeated_past_year_9999_is_refused_beside_the_date(client, cast):
    login(client, cast["manager"])
    resp = client.post(
        f"/manage/stations/{cast['station'].code}/roster",
        data={
            "representative": str(cast["rep"].id),
            "day": "9999-12-20",
            "starts_at": "09:00",
            "ends_at": "12:00",
            "repeat_weeks": "12",
        },
    )
    assert resp.status_code == 422
    assert "2099" in resp.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(DutySlot)) == 0


@pytest.mark.parametrize(
    ("lat", "lng"),
    [("1000", "114.9"), ("33.4", "1e6"), ("91", "0"), ("-90.0001", "0"), ("nan", "inf"), ("1e309", "1")],
)
def test_a_check_in_position_outside_the_globe_is_no_position(client, cast, lat, lng):
    login(client, cast["rep"].user)
    resp = client.post(
        f"/s/{cast['station'].code}/check-in",
        data={"nonce": "geo-nonce-0001", "latitude": lat, "longitude": lng, "accuracy": "10"},
    )
    # Treated as no position: the geo station offers a check-in pending review.
    assert resp.status_code == 422
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Duty)) == 0


def test_coordinates_keep_to_the_globe():
    assert _coordinate("90", 90) == 90.0
    assert _coordinate("90.5", 90) is None
    assert _coordinate("-180", 180) == -180.0
    assert _coordinate("nan", 90) is None


def test_distance_of_antipodes_does_not_fail():
    assert distance_m(0, 0, 0, 180) == pytest.approx(20_015_086, rel=1e-3)
    assert distance_m(90, 0, -90, 0) == pytest.approx(20_015_086, rel=1e-3)


def test_a_roster_day_within_the_calendar_still_works(cast):
    day = clock.local_today() + timedelta(days=2)
    assert len(roster.add_slots(cast["manager"], cast["station"], cast["rep"], day, time(9), time(12))) == 1


def test_nul_bytes_are_dropped_from_the_query_and_forms(client, cast):
    """PostgreSQL refuses NUL in any text column: the values reach the views without them."""
    resp = client.post("/login", data={"login": "nobody\x00", "password": "x"})
    assert resp.status_code < 500 and resp.status_code != 302  # a wrong password, said so
    login(client, cast["admin"])
    page = client.get("/manage/concerns", query_string={"q": "路\x00灯"})
    assert page.status_code == 200
    assert 'value="路灯"' in page.get_data(as_text=True)


def test_a_nul_byte_in_the_path_is_404(client, cast):
    login(client, cast["manager"])
    assert client.get("/manage/stations/%00/roster").status_code == 404
    assert client.get(f"/s/{cast['station'].code}%00").status_code == 404
