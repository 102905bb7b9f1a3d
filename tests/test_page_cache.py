"""The anonymous station pages each worker keeps, and the shared counter that makes every
worker on every app server drop them when a commit changes what they show."""

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import CacheStamp, Concern, ConcernEvent, Duty, PageChange, utcnow
from models.cache import STATION_PAGES
from models.enums import ConcernStatus, DutyMethod, DutyStatus
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


# --- the front (views/front.py): a repeat cookie-less visit answered before Flask -----------

FRONT = {"STATION_PAGE_CACHE_SECONDS": 60, "STATION_PAGE_CHECK_SECONDS": 1.0}


@pytest.fixture
def through_flask(app):
    """How many requests reached Flask's own hooks."""
    seen: list[str] = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(request_path()))
    return seen


def request_path() -> str:
    from flask import request

    return request.path


@pytest.fixture
def clock(monkeypatch):
    """page_cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: now[0])
    return now


@pytest.mark.parametrize("app_config", [FRONT])
def test_a_repeat_visit_is_answered_by_the_front_with_the_same_headers(app, cast, through_flask, clock):
    st, _rep = cast
    first = app.test_client().get(f"/s/{st.code}", headers={"X-Request-ID": "a" * 32})
    again = app.test_client().get(f"/s/{st.code}", headers={"X-Request-ID": "b" * 32})
    assert through_flask == [f"/s/{st.code}"]
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["X-Request-ID"] == "b" * 32
    for name in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Vary", "ETag", "Content-Type"):
        assert again.headers[name] == first.headers[name]
    head = app.test_client().head(f"/s/{st.code}")
    assert head.data == b"" and head.headers["Content-Length"] == str(len(first.data))
    assert len(through_flask) == 1


@pytest.mark.parametrize("app_config", [FRONT])
def test_the_front_answers_304_to_the_browser_that_has_the_page(app, cast, through_flask, clock):
    st, _rep = cast
    etag = app.test_client().get(f"/s/{st.code}").headers["ETag"]
    again = app.test_client().get(f"/s/{st.code}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and "Content-Type" not in again.headers
    assert len(through_flask) == 1


@pytest.mark.parametrize("app_config", [FRONT])
def test_a_duty_begun_shows_once_the_check_interval_has_passed(app, cast, through_flask, clock):
    st, rep = cast
    before = app.test_client().get(f"/s/{st.code}").get_data(as_text=True)
    open_duty(st, rep)
    _db.session.commit()
    assert app.test_client().get(f"/s/{st.code}").get_data(as_text=True) == before  # within the promise
    clock[0] += 1.0
    after = app.test_client().get(f"/s/{st.code}").get_data(as_text=True)
    assert "● 李秀英" in after and after != before
    assert app.test_client().get(f"/s/{st.code}").get_data(as_text=True) == after  # kept again
    assert len(through_flask) == 2


@pytest.mark.parametrize("app_config", [FRONT])
def test_each_language_is_kept_apart(app, cast, clock):
    from flask_babel import refresh

    st, _rep = cast
    zh = app.test_client().get(f"/s/{st.code}").get_data(as_text=True)
    refresh()  # the tests' requests share one app context, where Flask-Babel keeps the language
    en_client = app.test_client()
    en_client.set_cookie("lang", "en")
    en = en_client.get(f"/s/{st.code}").get_data(as_text=True)
    by_header = app.test_client().get(f"/s/{st.code}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert en != zh and by_header.get_data(as_text=True) == en
    assert 'lang="en"' in en and 'lang="zh' in zh


@pytest.mark.parametrize("app_config", [FRONT])
def test_a_visitor_with_a_session_or_a_query_goes_through_flask(app, cast, through_flask, clock):
    st, _rep = cast
    app.test_client().get(f"/s/{st.code}")
    with_session = app.test_client()
    with_session.set_cookie("session", "anything")
    with_session.get(f"/s/{st.code}")
    app.test_client().get(f"/s/{st.code}?from=poster")
    app.test_client().get("/s/NOSUCHCODE")
    app.test_client().get("/s/NOSUCHCODE")  # an unknown code is never kept
    assert len(through_flask) == 5


@pytest.mark.parametrize("app_config", [FRONT])
def test_the_printed_codes_images_are_kept_and_dropped_with_the_station(app, cast, through_flask, clock):
    from views.public import forget_station_pages

    st, _rep = cast
    first = app.test_client().get(f"/s/{st.code}/qr.png")
    assert app.test_client().get(f"/s/{st.code}/qr.png").data == first.data
    assert len(through_flask) == 1
    with app.test_request_context():
        forget_station_pages(st.code)
    app.test_client().get(f"/s/{st.code}/qr.png")
    assert len(through_flask) == 2


# --- tracking pages: kept per concern, dropped by the journal (page_change) ----------------


def tags_written() -> list[str]:
    _db.session.commit()
    return list(_db.session.scalars(sa.select(PageChange.tag).order_by(PageChange.id)))


def note(concern, text: str = "已转交住建局") -> None:
    _db.session.add(ConcernEvent(concern=concern, action="note", note=text, is_public=True))


def test_a_commit_on_a_concern_names_it_in_the_journal_and_a_new_one_does_not(app):
    st = factories.station()
    concern = factories.concern(station_obj=st)
    _db.session.commit()
    assert tags_written() == []  # filed: nobody can have kept its page
    note(concern)
    _db.session.commit()
    assert tags_written() == [page_cache.concern_tag(concern.id)]
    note(concern)
    _db.session.flush()
    _db.session.rollback()
    assert tags_written() == [page_cache.concern_tag(concern.id)]
    statement = sa.update(Concern).where(Concern.id == concern.id).values(is_public=True)
    _db.session.execute(statement.execution_options(figures_unaffected=True))  # not a counted column
    _db.session.commit()
    assert tags_written()[-1] == page_cache.ALL_CONCERNS


def test_the_journal_is_pruned_after_an_hour(app):
    concern = factories.concern()
    _db.session.commit()
    note(concern)
    _db.session.commit()
    assert page_cache.prune_journal(now=utcnow()) == 0
    assert page_cache.prune_journal(now=utcnow() + page_cache.JOURNAL_KEPT + timedelta(minutes=1)) == 1


@pytest.fixture
def closed(app):
    st = factories.station()
    concern = factories.concern(station_obj=st, status=ConcernStatus.CLOSED)
    other = factories.concern(station_obj=st, status=ConcernStatus.CLOSED)
    _db.session.commit()
    return concern, other


@pytest.mark.parametrize("app_config", [FRONT])
def test_a_tracking_page_is_kept_until_its_own_concern_changes(app, closed, through_flask, clock):
    concern, other = closed
    path = f"/t/{concern.tracking_code}"
    first = app.test_client().get(path)
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    app.test_client().get(path)
    assert through_flask == [path]
    note(other, "另一件事")  # another concern changes: this page stays
    _db.session.commit()
    clock[0] += 1.0
    app.test_client().get(path)  # through Flask: the journal is read
    app.test_client().get(path)
    assert through_flask == [path, path]
    note(concern, "住建局已回复：本周内修复路灯")
    _db.session.commit()
    assert "本周内修复路灯" not in app.test_client().get(path).get_data(as_text=True)  # within the promise
    clock[0] += 1.0
    assert "本周内修复路灯" in app.test_client().get(path).get_data(as_text=True)
    assert "本周内修复路灯" in app.test_client().get(path).get_data(as_text=True)
    assert len(through_flask) == 3


@pytest.mark.parametrize("app_config", [FRONT])
def test_a_merged_concerns_page_is_dropped_when_the_one_it_follows_changes(app, closed, through_flask, clock):
    root, _other = closed
    follower = factories.concern(station_obj=root.station, status=ConcernStatus.MERGED, merged_into_id=root.id)
    _db.session.commit()
    path = f"/t/{follower.tracking_code}"
    app.test_client().get(path)
    clock[0] += 1.0
    app.test_client().get(path)
    assert len(through_flask) == 2  # the journal was read, and named neither
    note(root, "合并后的答复：已修复")
    _db.session.commit()
    clock[0] += 1.0
    app.test_client().get(path)  # the journal names the root: the follower's page is made again
    app.test_client().get(path)
    assert len(through_flask) == 3


@pytest.mark.parametrize("app_config", [{**FRONT, "WTF_CSRF_ENABLED": True}])
def test_a_tracking_page_with_a_form_on_it_is_never_kept(app, through_flask, clock):
    concern = factories.concern()  # submitted: it can still be withdrawn
    _db.session.commit()
    path = f"/t/{concern.tracking_code}"
    assert "Set-Cookie" in app.test_client().get(path).headers  # the form's token is in a session
    app.test_client().get(path)
    assert through_flask == [path, path]


def test_a_page_rendered_while_its_concern_changed_is_not_kept(app):
    concern = factories.concern()
    _db.session.commit()
    with app.test_request_context():
        pages = page_cache.StationPages(ttl=60, check_every=0)
        generation = pages.generation()
        seen = pages.position
        note(concern)  # committed while the page renders, read before it is kept
        _db.session.commit()
        pages.generation()
        tag = page_cache.concern_tag(concern.id)
        pages.put_response(
            ("/t/X", "", "zh_Hans"), ("200 OK", [], b"old", None, ""), (generation, seen, frozenset({tag}))
        )
        assert pages.response(("/t/X", "", "zh_Hans")) is None
        pages.put_response(
            ("/t/X", "", "zh_Hans"), ("200 OK", [], b"new", None, ""), (generation, pages.position, frozenset({tag}))
        )
        assert pages.response(("/t/X", "", "zh_Hans"))[2] == b"new"
