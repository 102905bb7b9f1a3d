"""The anonymous station pages each worker keeps, and the shared counter that makes every
worker on every app server drop them when a commit changes what they show."""

import secrets

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import CacheStamp, Duty, utcnow
from models.cache import STATION_PAGES
from models.enums import DutyMethod, DutyStatus
from services import page_cache
from tests import factories


def generation() -> int:
    _db.session.commit()
    return page_cache.read_generation()


def open_duty(station, rep) -> Duty:
    duty = Duty(
        station=station, representative=rep, checked_in_at=utcnow(), method=DutyMethod.QR, nonce=secrets.token_hex(8)
    )
    _db.session.add(duty)
    return duty


@pytest.fixture
def cast(app):
    st = factories.station()
    rep = factories.representative(stations=[st], name="李秀英")
    _db.session.commit()
    return st, rep


def test_a_commit_of_a_shown_row_moves_the_counter(cast):
    st, rep = cast
    before = generation()
    open_duty(st, rep)
    _db.session.commit()
    assert generation() == before + 1


def test_a_rollback_or_an_unrelated_commit_leaves_it(cast):
    st, rep = cast
    before = generation()
    open_duty(st, rep)
    _db.session.flush()
    _db.session.rollback()
    factories.concern(station_obj=st)
    _db.session.commit()
    assert generation() == before


def test_an_update_statement_moves_it_too(cast):
    st, rep = cast
    duty = open_duty(st, rep)
    _db.session.commit()
    before = generation()
    _db.session.execute(sa.update(Duty).where(Duty.id == duty.id).values(status=DutyStatus.CLOSED))
    _db.session.commit()
    assert generation() == before + 1


def test_the_counter_is_made_again_when_its_row_is_missing(cast):
    st, rep = cast
    _db.session.execute(sa.delete(CacheStamp))
    _db.session.commit()
    assert generation() == 0
    open_duty(st, rep)
    _db.session.commit()
    assert _db.session.get(CacheStamp, STATION_PAGES).value == 1


# Two app objects on one database stand for two app servers: each keeps its own pages.
SERVER = {"STATION_PAGE_CACHE_SECONDS": 60, "STATION_PAGE_CHECK_SECONDS": 0.0}


@pytest.mark.parametrize("app_config", [SERVER])
def test_a_duty_begun_elsewhere_shows_on_the_next_look(app, base_config, cast):
    from tests.conftest import make_app

    st, rep = cast
    here = app.test_client()
    other_server = make_app(base_config, **SERVER)
    there = other_server.test_client()
    for client in (here, there):
        assert "李秀英" in client.get(f"/s/{st.code}").get_data(as_text=True)  # cached now
    cached = here.get(f"/s/{st.code}").get_data(as_text=True)

    open_duty(st, rep)  # a check-in through a third server, or a job
    _db.session.commit()

    for client in (here, there):
        page = client.get(f"/s/{st.code}").get_data(as_text=True)
        assert page != cached
        assert "● 李秀英" in page


@pytest.mark.parametrize("app_config", [{"STATION_PAGE_CACHE_SECONDS": 60, "STATION_PAGE_CHECK_SECONDS": 3600}])
def test_between_looks_the_page_is_served_from_memory(client, cast):
    st, rep = cast
    first = client.get(f"/s/{st.code}").get_data(as_text=True)
    open_duty(st, rep)
    _db.session.commit()
    assert client.get(f"/s/{st.code}").get_data(as_text=True) == first  # the promise is the check interval


def test_a_page_rendered_under_an_old_generation_is_not_kept(app):
    with app.test_request_context():
        pages = page_cache.StationPages(ttl=60, check_every=0)
        seen = pages.generation()
        assert seen is not None
        _db.session.merge(CacheStamp(name=STATION_PAGES, value=seen + 5))
        _db.session.commit()
        pages.generation()  # another request saw the counter move
        pages.put(("ABC", "zh_Hans"), (b"old", "etag"), seen)
        assert pages.get(("ABC", "zh_Hans")) is None
