"""Signed-in sessions kept on the server: a copied cookie dies with the sign-out, every
session has an absolute lifetime besides the idle one, a password change, a switch-off
and "sign out everywhere" end sessions; the password again before exports and contacts
in full; residents' pages read and write no session."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import SESSION_KEY
from extensions import db as _db
from models import AuditLog, User, UserSession, utcnow
from models.enums import Role
from services import sessions
from services.auth import MAX_FAILURES
from tests import factories
from tests.helpers import login

PASSWORD = "secret-pass"  # the factories' password
EN = {"Accept-Language": "en"}


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def records(user) -> list[UserSession]:
    fresh()
    return list(_db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)))


def post_login(client, login_name: str, password: str = PASSWORD, headers=None):
    _db.session.commit()
    return client.post("/login", data={"login": login_name, "password": password}, headers={**EN, **(headers or {})})


def signed_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def copy_cookie(source, target) -> None:
    """What someone who copied the browser's cookie would hold."""
    target.set_cookie("session", source.get_cookie("session").value)


@pytest.fixture
def rep(db):
    user = factories.representative(name="王建国").user
    user.username = "wang_jg"
    db.session.commit()
    return user


@pytest.fixture
def manager(db):
    station = factories.station()
    user = factories.user(Role.STATION_MANAGER, username="xc_manager", managed_stations=[station])
    db.session.commit()
    return user


# --- one sign-in, one record ---------------------------------------------------------------


def test_signing_in_makes_a_record_and_the_cookie_carries_only_its_key(client, rep):
    resp = post_login(client, "wang_jg", headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0"})
    assert resp.status_code == 302
    [record] = records(rep)
    with client.session_transaction() as s:
        key = s[SESSION_KEY]
    assert record.id == sessions.key_hash(key) and key not in record.id  # the key is never stored
    assert record.revoked_at is None and record.ip == "127.0.0.*"
    assert sessions.device_label(record.user_agent) == "Chrome · Android"
    assert signed_in(client)


def test_a_copied_cookie_stops_working_at_sign_out(app, client, rep):
    assert post_login(client, "wang_jg").status_code == 302
    thief = app.test_client()
    copy_cookie(client, thief)
    assert thief.get("/me").status_code == 200  # a copy works as long as the session lives
    client.post("/logout")
    resp = thief.get("/me")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    [record] = records(rep)
    assert record.revoked_reason == sessions.Ended.SIGNED_OUT


def test_a_cookie_without_a_live_record_is_refused(client, rep):
    login(client, rep)
    assert signed_in(client)
    for key in ("not-a-key", "", None, "x" * 500):
        with client.session_transaction() as s:
            s[SESSION_KEY] = key
        assert not signed_in(client)
    # another account's session cannot carry this one's id
    other = factories.user(Role.REPRESENTATIVE)
    other_key = login(client, other)
    with client.session_transaction() as s:
        s["_user_id"] = rep.get_id()
        s[SESSION_KEY] = other_key
    assert not signed_in(client)


@pytest.mark.parametrize("app_config", [{"SESSION_ABSOLUTE_HOURS": 12, "SESSION_IDLE_MINUTES": 120}])
def test_a_session_ends_at_its_absolute_lifetime_however_busy(client, rep):
    now = utcnow()
    login(client, rep, now=now - timedelta(hours=11, minutes=59))
    _db.session.execute(sa.update(UserSession).values(last_seen_at=now - timedelta(seconds=30)))
    fresh()
    assert signed_in(client)
    _db.session.execute(sa.update(UserSession).values(created_at=now - timedelta(hours=12, minutes=1)))
    fresh()
    resp = client.get("/account/password")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 30}])
def test_an_idle_session_is_refused_by_the_server_even_with_a_fresh_cookie(client, rep):
    now = utcnow()
    login(client, rep, now=now - timedelta(minutes=31))
    assert not signed_in(client)  # the cookie's signature is new; the record says idle


def test_last_seen_is_written_at_most_once_a_minute(client, rep):
    login(client, rep)
    [record] = records(rep)
    first = record.last_seen_at
    assert client.get("/me").status_code == 200
    assert records(rep)[0].last_seen_at == first  # used a moment ago: nothing written
    earlier = {"created_at": first - timedelta(minutes=5), "last_seen_at": first - timedelta(minutes=5)}
    _db.session.execute(sa.update(UserSession).values(**earlier))
    fresh()
    assert client.get("/me").status_code == 200  # a page view: written on its own connection
    assert records(rep)[0].last_seen_at > first - timedelta(seconds=5)
    _db.session.execute(sa.update(UserSession).values(last_seen_at=first - timedelta(minutes=5)))
    fresh()
    client.post("/logout")  # a POST: written with the request's own commit
    [record] = records(rep)
    assert record.last_seen_at > first - timedelta(seconds=5) and record.revoked_at is not None


def test_the_station_page_reads_and_writes_no_session_for_residents(client, rep):
    station = factories.station()
    _db.session.commit()
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", seen)
    try:
        assert client.get(f"/s/{station.code}").status_code == 200
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", seen)
    assert statements  # the page was served from the database
    assert not any("user_session" in s for s in statements)
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in statements)


# --- ending sessions -----------------------------------------------------------------------


def test_a_password_change_ends_every_other_session(app, client, rep):
    laptop = app.test_client()
    login(laptop, rep)
    login(client, rep)
    resp = client.post(
        "/account/password", data={"current": PASSWORD, "new": "fresh-password-7", "repeat": "fresh-password-7"}
    )
    assert resp.status_code == 302
    assert signed_in(client) and not signed_in(laptop)
    reasons = sorted(r.revoked_reason or "live" for r in records(rep))
    assert reasons == ["live", sessions.Ended.PASSWORD_CHANGED]


def test_switching_an_account_off_ends_its_sessions(app, client, rep, db):
    admin = factories.user(Role.ADMIN)
    db.session.commit()
    phone = app.test_client()
    login(phone, rep)
    login(client, admin)
    assert client.post(f"/admin/users/{rep.id}/active", data={"active": "0"}).status_code == 303
    assert not signed_in(phone)
    assert [r.revoked_reason for r in records(rep)] == [sessions.Ended.SWITCHED_OFF]
    # switched on again, the old session stays ended
    _db.session.execute(sa.update(User).where(User.id == rep.id).values(active=True))
    fresh()
    assert not signed_in(phone)


def test_an_administrator_signs_an_account_out_everywhere(app, client, rep, db):
    admin = factories.user(Role.ADMIN)
    db.session.commit()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, rep)
    login(laptop, rep)
    login(client, admin)
    page = client.get(f"/admin/users/{rep.id}", headers=EN).text
    assert "Sign out everywhere" in page and "Sessions open now: 2." in page
    resp = client.post(f"/admin/users/{rep.id}/sign-out", headers=EN)
    assert resp.status_code == 303
    assert not signed_in(phone) and not signed_in(laptop) and signed_in(client)
    fresh()
    [entry] = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "account.signed_out_everywhere"))
    assert (entry.actor_id, entry.target_id, entry.data["sessions"]) == (admin.id, rep.id, 2)
    assert "Signed out everywhere" in client.get(f"/admin/users/{rep.id}", headers=EN).text  # in its history
    # and only administrators may
    assert phone.post(f"/admin/users/{rep.id}/sign-out").status_code == 302  # signed out: to the login page
    login(phone, rep)
    assert phone.post(f"/admin/users/{rep.id}/sign-out").status_code == 403


def test_a_person_lists_their_sessions_and_signs_out_everywhere_else(app, client, rep):
    laptop = app.test_client()
    login(laptop, rep)
    login(client, rep)
    page = client.get("/account/sessions", headers=EN)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.text.count("<li>") >= 2 and "this browser" in page.text
    resp = client.post("/account/sessions/end-others", headers=EN)
    assert resp.status_code == 303
    assert signed_in(client) and not signed_in(laptop)
    assert "You are signed in only here." in client.get("/account/sessions", headers=EN).text


# --- the password again before a sensitive step --------------------------------------------


def stale(client, user) -> None:
    """Signed in 20 minutes ago: past REAUTH_MINUTES (15), well within the idle limit."""
    login(client, user, now=utcnow() - timedelta(minutes=20))


def exports_logged() -> int:
    fresh()
    return _db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.action.like("%.exported"))
    )


def test_an_old_sign_in_types_the_password_before_an_export_and_goes_on_to_it(client, manager):
    stale(client, manager)
    resp = client.get("/manage/concerns/export.csv?status=closed")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/account/confirm?next=")
    page = client.get(resp.headers["Location"], headers=EN)
    assert page.status_code == 200 and "Confirm your password" in page.text
    assert 'name="next" value="/manage/concerns/export.csv?status=closed"' in page.text
    assert exports_logged() == 0

    wrong = client.post("/account/confirm", data={"password": "nope", "next": "/manage/concerns/export.csv"})
    assert wrong.status_code == 401
    done = client.post(
        "/account/confirm", data={"password": PASSWORD, "next": "/manage/concerns/export.csv?status=closed"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/manage/concerns/export.csv?status=closed"
    assert client.get(done.headers["Location"]).mimetype == "text/csv"
    assert exports_logged() == 1


def test_a_recent_sign_in_exports_at_once(client, manager):
    login(client, manager)
    assert client.get("/manage/concerns/export.csv").mimetype == "text/csv"
    code = manager.managed_stations[0].code
    assert client.get(f"/manage/stations/{code}/attendance.csv").status_code == 200


def test_the_attendance_export_asks_too(client, manager):
    stale(client, manager)
    code = manager.managed_stations[0].code
    resp = client.get(f"/manage/stations/{code}/attendance.xlsx?month=2026-11")
    assert resp.status_code == 302 and "/account/confirm" in resp.headers["Location"]
    assert exports_logged() == 0


def test_show_in_full_asks_for_the_password_and_then_for_the_button_again(client, manager, db):
    concern = factories.concern(
        manager.managed_stations[0],
        factories.category(),
        contact_name="张三丰",
        contact_mobile="13812345678",
        consent_at=utcnow(),
    )
    db.session.commit()
    stale(client, manager)
    resp = client.post(f"/manage/concerns/{concern.id}/contact", headers=EN)
    assert resp.status_code == 401 and "Confirm your password" in resp.text
    assert "13812345678" not in resp.text and 'name="again" value="1"' in resp.text
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 0
    done = client.post(
        "/account/confirm",
        data={"password": PASSWORD, "next": f"/manage/concerns/{concern.id}", "again": "1"},
        headers=EN,
    )
    assert done.status_code == 303 and done.headers["Location"] == f"/manage/concerns/{concern.id}"
    assert "press the button again" in client.get(done.headers["Location"], headers=EN).text  # the POST is not replayed
    shown = client.post(f"/manage/concerns/{concern.id}/contact")
    assert shown.status_code == 200 and "13812345678" in shown.text


def test_wrong_passwords_at_the_confirmation_end_the_session(client, manager):
    stale(client, manager)
    for _ in range(MAX_FAILURES - 1):
        assert client.post("/account/confirm", data={"password": "nope", "next": "/manage/"}).status_code == 401
    resp = client.post("/account/confirm", data={"password": "nope", "next": "/manage/"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert not signed_in(client)
    assert [r.revoked_reason for r in records(manager)] == [sessions.Ended.TOO_MANY_FAILURES]


def test_the_confirmation_returns_only_to_this_site(client, manager):
    stale(client, manager)
    resp = client.post("/account/confirm", data={"password": PASSWORD, "next": "//evil.example/x"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/manage/"


# --- the pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("203.0.113.45", "203.0.113.*"),
        ("2001:db8:1:2::5", "2001:db8:1::/48"),
        ("::ffff:10.1.2.3", "10.1.2.*"),
        ("", ""),
        ("not an address", ""),
        (None, ""),
    ],
)
def test_addresses_are_kept_masked(address, masked):
    from services.privacy import mask_ip

    assert mask_ip(address) == masked


def test_old_rows_of_an_account_go_when_it_signs_in(client, rep):
    login(client, rep, now=utcnow() - timedelta(days=31))
    login(client, rep)
    assert len(records(rep)) == 1


def test_a_form_sent_after_the_session_ended_signs_in_back_to_its_page(app, db):
    from models.enums import Role
    from tests import factories
    from tests.helpers import login

    manager = factories.user(Role.STATION_MANAGER)
    db.session.commit()
    browser = app.test_client()
    login(browser, manager)
    browser.post("/logout")
    resp = browser.post(
        "/manage/concerns/1/note", data={"note": "x"}, headers={"Referer": "http://localhost/manage/concerns/1"}
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/login?next=/manage/concerns/1")
    elsewhere = browser.post("/manage/concerns/1/note", headers={"Referer": "https://evil.example/x"})
    assert elsewhere.headers["Location"].endswith("/login?next=/")
    page = browser.get("/manage/concerns?box=all")
    assert page.headers["Location"].endswith("/login?next=/manage/concerns?box%3Dall")


def test_a_browser_whose_session_ended_is_anonymous_again(app, db):
    from models.enums import Role
    from tests import factories
    from tests.helpers import login

    manager = factories.user(Role.STATION_MANAGER)
    db.session.commit()
    browser = app.test_client()
    login(browser, manager)
    sessions.end_all(manager, sessions.Ended.EVERYWHERE, utcnow())
    db.session.commit()
    assert browser.get("/manage/").status_code == 302
    with browser.session_transaction() as s:
        assert "_user_id" not in s and "_sk" not in s


@pytest.mark.skipif(
    bool(__import__("os").environ.get("TEST_DATABASE_URL")), reason="SQLite's write lock and busy timeout"
)
def test_a_page_views_last_seen_write_gives_up_at_once_when_the_database_is_busy(app, db, caplog):
    import sqlite3

    manager = factories.user(Role.STATION_MANAGER)
    db.session.commit()
    key = sessions.start(manager, user_agent="pytest", ip="127.0.0.1", now=utcnow())
    db.session.commit()
    record = sessions.load(key, utcnow(), sessions.Limits.from_config(app.config))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    holder = sqlite3.connect(db.engine.url.database)
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with caplog.at_level("WARNING"):
            sessions.touch(record, utcnow() + timedelta(minutes=2), in_request_transaction=False)
        assert "database busy" in caplog.text
        # it waited a moment for the lock, not the 15 s a real write waits
        assert f"PRAGMA busy_timeout={sessions.TOUCH_WAIT_MS}" in statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
        holder.rollback()
        holder.close()
    with db.engine.connect() as conn:  # the pool's connections wait as long as ever for real writes
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
