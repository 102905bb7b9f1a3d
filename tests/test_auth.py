"""Signing in and out: login names and mobile numbers, lockout, the IP rate limit, safe
`next` redirects, session cookies and idle expiry, changing one's own password."""

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner
from werkzeug.security import check_password_hash

from extensions import db as _db
from models import AuditLog, User, utcnow
from models.enums import RegionLevel, Role
from services import auth as auth_service
from services.auth import LOCK_MINUTES, MAX_FAILURES, AuthRefused
from tests import factories

PASSWORD = "secret-pass"  # the factories' password
NEW = "fresh-password-7"
EN = {"Accept-Language": "en"}


def fresh() -> None:
    """End the test's own transaction (a SQLite reader keeps its snapshot) and forget
    what it loaded, so the next read sees what the app committed."""
    _db.session.commit()
    _db.session.expire_all()


def fetch(user_id: int) -> User:
    fresh()
    return _db.session.get(User, user_id)


def post_login(client, login: str, password: str, **kw):
    _db.session.commit()
    return client.post("/login", data={"login": login, "password": password, **kw.pop("data", {})}, headers=EN, **kw)


def signed_in(client) -> bool:
    """Whether the client's session is signed in: the password page needs it."""
    return client.get("/account/password").status_code == 200


def ip(n: int) -> dict:
    """A client address of its own: the memory limiter outlives one app."""
    return {"REMOTE_ADDR": f"10.77.{n // 250}.{n % 250 + 1}"}


@pytest.fixture
def rep(db):
    user = factories.representative(name="王建国").user
    user.username = "wang_jg"
    user.mobile = "13812345678"
    db.session.commit()
    return user


@pytest.fixture
def manager(db):
    user = factories.user(Role.STATION_MANAGER, username="xc_manager", managed_stations=[factories.station()])
    db.session.commit()
    return user


# --- signing in ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login",
    [
        "wang_jg",
        "WANG_JG",
        "  wang_jg ",
        "ｗａｎｇ＿ｊｇ",
        "13812345678",
        "138 1234 5678",
        "+86 138-1234-5678",
        "008613812345678",
    ],
)
def test_sign_in_by_username_or_mobile(client, rep, login):
    resp = post_login(client, login, PASSWORD)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"] == "/me"  # a representative's home: their performance file
    assert signed_in(client)
    user = fetch(rep.id)
    assert user.last_login_at is not None and user.failed_logins == 0


def test_other_roles_land_on_their_home(client, manager, db):
    resp = post_login(client, "xc_manager", PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/manage/"  # the back office
    handler = factories.user(Role.UNIT_HANDLER, username="xc_court", unit=factories.unit())
    db.session.commit()
    resp = post_login(client.application.test_client(), "xc_court", PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/manage/concerns"  # the unit's inbox
    assert handler.id


def test_login_page_when_already_signed_in_goes_home(client, rep):
    post_login(client, "wang_jg", PASSWORD)
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/me"


def test_wrong_password_is_refused_and_counted(client, rep):
    resp = post_login(client, "wang_jg", "wrong-password")
    assert resp.status_code == 401
    assert "The username, mobile number or password is not right." in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert fetch(rep.id).failed_logins == 1
    post_login(client, "13812345678", "wrong-again")
    assert fetch(rep.id).failed_logins == 2
    # a success resets the count
    assert post_login(client, "wang_jg", PASSWORD).status_code == 302
    assert fetch(rep.id).failed_logins == 0


def test_unknown_login_reads_like_a_wrong_password(client, rep):
    resp = post_login(client, "nobody_here", PASSWORD)
    assert resp.status_code == 401
    assert "The username, mobile number or password is not right." in resp.get_data(as_text=True)
    resp = post_login(client, "13900000000", PASSWORD)
    assert resp.status_code == 401
    assert fetch(rep.id).failed_logins == 0


def test_empty_form_shows_field_errors(client, rep):
    resp = post_login(client, "", "")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="login-err"' in html and 'id="password-err"' in html


def test_the_fifth_failure_locks_the_account(client, rep):
    for attempt in range(1, MAX_FAILURES):
        resp = post_login(client, "wang_jg", f"wrong-{attempt}")
        assert fetch(rep.id).failed_logins == attempt
    resp = post_login(client, "wang_jg", "wrong-5")
    assert resp.status_code == 401
    assert "The username, mobile number or password is not right." in resp.get_data(as_text=True)
    user = fetch(rep.id)
    expected = utcnow() + timedelta(minutes=LOCK_MINUTES)
    assert abs(user.locked_until - expected) < timedelta(seconds=30)
    [entry] = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "account.locked")).all()
    assert entry.target_id == rep.id and entry.actor_id is None

    # the right password is refused while locked, by username and by mobile
    for login in ("wang_jg", "138 1234 5678"):
        resp = post_login(client, login, PASSWORD)
        assert resp.status_code == 401 and "password is not right" in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert fetch(rep.id).locked_until == user.locked_until  # refusals while locked do not extend it


def test_the_lock_ends_after_lock_minutes(app, rep):
    start = utcnow()
    for n in range(MAX_FAILURES):
        with pytest.raises(AuthRefused) as refused:
            auth_service.authenticate("wang_jg", f"wrong-{n}", now=start)
    assert refused.value.code == "bad_credentials" and refused.value.details["reason"] == "locked"
    assert rep.locked_until == start + timedelta(minutes=LOCK_MINUTES)

    almost = start + timedelta(minutes=LOCK_MINUTES) - timedelta(seconds=1)
    with pytest.raises(AuthRefused) as refused:
        auth_service.authenticate("wang_jg", PASSWORD, now=almost)
    assert refused.value.code == "bad_credentials" and refused.value.details["reason"] == "locked"

    later = start + timedelta(minutes=LOCK_MINUTES, seconds=1)
    user = auth_service.authenticate("wang_jg", PASSWORD, now=later)
    assert user.id == rep.id and user.locked_until is None and user.failed_logins == 0
    assert user.last_login_at == later


def test_after_a_lock_ends_the_count_starts_again(app, rep):
    start = utcnow()
    for n in range(MAX_FAILURES):
        with pytest.raises(AuthRefused):
            auth_service.authenticate("wang_jg", f"wrong-{n}", now=start)
    later = start + timedelta(minutes=LOCK_MINUTES + 1)
    with pytest.raises(AuthRefused) as refused:
        auth_service.authenticate("wang_jg", "wrong-again", now=later)
    assert refused.value.code == "bad_credentials"
    assert rep.failed_logins == 1


def test_a_switched_off_account_cannot_sign_in(client, rep):
    rep.active = False
    _db.session.commit()
    resp = post_login(client, "wang_jg", PASSWORD)
    assert resp.status_code == 401
    assert "The username, mobile number or password is not right." in resp.get_data(as_text=True)
    assert not signed_in(client)
    with pytest.raises(AuthRefused) as refused:
        auth_service.authenticate("wang_jg", PASSWORD)
    assert refused.value.details["reason"] == "inactive"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_sign_in_page_answers_alike_whatever_the_account(client, db, rep, lang):
    """Unknown account, wrong password, locked (right password) and switched off (right
    password): the same status and the same page, so nobody learns which accounts exist."""
    other = factories.representative(name="李四").user
    other.username = "wang_jh"  # as long as wang_jg: the echoed login changes nothing else
    db.session.commit()
    headers = {"Accept-Language": lang}

    def attempt(login: str, password: str):
        db.session.commit()
        resp = client.post("/login", data={"login": login, "password": password}, headers=headers)
        return resp.status_code, resp.get_data(as_text=True).replace(login, "LOGIN")

    unknown = attempt("nobody1", PASSWORD)
    wrong = attempt("wang_jg", "wrong-password")
    for n in range(MAX_FAILURES):
        attempt("wang_jg", f"wrong-{n}")
    assert fetch(rep.id).locked_until is not None
    locked = attempt("wang_jg", PASSWORD)
    other = fetch(other.id)
    other.active = False
    db.session.commit()
    switched_off = attempt("wang_jh", PASSWORD)
    assert unknown[0] == wrong[0] == locked[0] == switched_off[0] == 401
    assert unknown[1] == wrong[1] == locked[1] == switched_off[1]


def test_refusals_cost_a_password_check_whatever_the_account(app, rep, monkeypatch):
    """Timing says nothing either: the locked, switched-off and unknown cases check a
    password hash as a wrong password does."""
    checked = []
    real = auth_service.check_password_hash
    monkeypatch.setattr(auth_service, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    rep.locked_until = utcnow() + timedelta(minutes=5)
    for login in ("wang_jg", "nobody1"):
        with pytest.raises(AuthRefused):
            auth_service.authenticate(login, PASSWORD)
    assert len(checked) == 2


def test_passwords_are_hashed_with_scrypt(app):
    hashed = auth_service.hash_password("a-long-password-1")
    assert hashed.startswith("scrypt:") and "a-long-password-1" not in hashed
    assert check_password_hash(hashed, "a-long-password-1")


# --- IP rate limit ---------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_login_posts_are_rate_limited_per_address(client, rep):
    addr = ip(1)
    for n in range(3):
        assert post_login(client, "nobody", f"guess-{n}", environ_base=addr).status_code == 401
    resp = post_login(client, "wang_jg", PASSWORD, environ_base=addr)
    assert resp.status_code == 429
    assert "Too many attempts from this network" in resp.get_data(as_text=True)
    assert not signed_in(client)
    # the form itself still opens, and another address may still sign in
    assert client.get("/login", environ_base=addr).status_code == 200
    assert post_login(client, "wang_jg", PASSWORD, environ_base=ip(2)).status_code == 302


# --- next ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/s/ABCD2345", "/s/ABCD2345"),
        ("/x?y=1", "/x?y=1"),
        ("//evil.example", "/me"),
        ("//evil.example/path", "/me"),
        ("https://evil.example", "/me"),
        ("http://evil.example/me", "/me"),
        ("/\\evil.example", "/me"),
        ("\\\\evil.example", "/me"),
        ("javascript:alert(1)", "/me"),
        ("evil.example", "/me"),
        ("", "/me"),
    ],
)
def test_next_stays_on_this_site(client, rep, target, expected):
    resp = post_login(client, "wang_jg", PASSWORD, data={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == expected


def test_next_from_the_query_string(client, rep):
    _db.session.commit()
    resp = client.post("/login?next=/account/password", data={"login": "wang_jg", "password": PASSWORD})
    assert resp.headers["Location"] == "/account/password"
    # a page that needs sign-in sends there with next, and the login form keeps it
    client.post("/logout")
    resp = client.get("/account/password")
    assert resp.status_code == 302 and "/login?next=" in resp.headers["Location"]
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/account/password"' in html


def test_signing_in_from_a_station_page_comes_back_to_it(client, rep):
    station = factories.station()
    rep.representative.stations.append(station)
    _db.session.commit()
    page = client.get(f"/s/{station.code}").get_data(as_text=True)
    link = re.search(r'href="(/login\?next=[^"]+)"', page)
    assert link, "the sign-in link keeps where the person was"
    form = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="next" value="/s/{station.code}"' in form
    assert "/login?next=" not in form  # the sign-in page links to itself without a way back to itself
    resp = post_login(client, "wang_jg", PASSWORD, data={"next": f"/s/{station.code}"})
    assert resp.headers["Location"] == f"/s/{station.code}"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r/evil.example"])
def test_next_with_control_characters_stays_on_this_site(client, rep, target):
    resp = post_login(client, "wang_jg", PASSWORD, data={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/me"


# --- session cookie --------------------------------------------------------------------


def session_cookie_header(resp) -> str:
    [header] = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return header


def test_session_cookie_flags_over_http(client, rep, app):
    assert app.config["PUBLIC_BASE_URL"].startswith("http://")
    header = session_cookie_header(post_login(client, "wang_jg", PASSWORD))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


@pytest.mark.parametrize("app_config", [{"PUBLIC_BASE_URL": "https://mashang.example.cn"}])
def test_session_cookie_is_secure_when_the_site_is_https(client, rep):
    header = session_cookie_header(post_login(client, "wang_jg", PASSWORD, base_url="https://mashang.example.cn"))
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 30}])
def test_the_session_is_permanent_with_the_idle_lifetime(client, rep, app):
    assert app.permanent_session_lifetime == timedelta(minutes=30)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    assert app.config["SESSION_REFRESH_EACH_REQUEST"]  # every request pushes the end back
    assert app.session_interface.get_signing_serializer(app) is not None
    resp = post_login(client, "wang_jg", PASSWORD)
    header = session_cookie_header(resp)
    expires = re.search(r"Expires=([^;]+)", header).group(1)
    from email.utils import parsedate_to_datetime

    remaining = parsedate_to_datetime(expires).replace(tzinfo=None) - utcnow()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30, seconds=5)
    with client.session_transaction() as s:
        assert s.permanent


def sign_in_at(client, monkeypatch, seconds_ago: int) -> None:
    """Sign in with the session cookie's signature dated `seconds_ago` in the past."""
    stamp = int(time.time()) - seconds_ago
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: stamp)
        assert post_login(client, "wang_jg", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 30}])
def test_an_idle_session_expires(client, rep, monkeypatch):
    sign_in_at(client, monkeypatch, seconds_ago=31 * 60)
    # the browser would have dropped the cookie; the server refuses it anyway
    resp = client.get("/account/password")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 30}])
def test_a_session_in_use_stays_signed_in(client, rep, monkeypatch):
    sign_in_at(client, monkeypatch, seconds_ago=29 * 60)
    assert signed_in(client)  # and this request re-signed the cookie with a fresh time
    with client.session_transaction() as s:
        assert s.get("_user_id") == rep.get_id()


def test_a_forged_session_is_refused(client, rep, app):
    from flask.sessions import SecureCookieSessionInterface

    class OtherKey:
        secret_key = "not-the-secret"
        config = app.config

    forged = SecureCookieSessionInterface().get_signing_serializer(OtherKey()).dumps({"_user_id": rep.get_id()})
    client.set_cookie("session", forged)
    assert not signed_in(client)


# --- sign out --------------------------------------------------------------------------


def test_sign_out_is_a_post(client, rep):
    post_login(client, "wang_jg", PASSWORD)
    assert client.get("/logout").status_code == 405
    assert signed_in(client)
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert not signed_in(client)


def csrf_token_of(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_sign_out_needs_the_csrf_token(client, rep):
    html = client.get("/login").get_data(as_text=True)
    resp = post_login(client, "wang_jg", PASSWORD, data={"csrf_token": csrf_token_of(html)})
    assert resp.status_code == 302
    page = client.get("/account/password").get_data(as_text=True)
    assert 'action="/logout"' in page

    assert client.post("/logout").status_code == 400  # a cross-site form cannot sign you out
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert signed_in(client)

    assert client.post("/logout", data={"csrf_token": csrf_token_of(page)}).status_code == 302
    assert not signed_in(client)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_sign_in_needs_the_csrf_token(client, rep):
    assert post_login(client, "wang_jg", PASSWORD).status_code == 400
    assert not signed_in(client)
    assert fetch(rep.id).failed_logins == 0


# --- changing one's own password -------------------------------------------------------


def change(client, current: str, new: str, repeat: str | None = None):
    _db.session.commit()
    return client.post(
        "/account/password",
        data={"current": current, "new": new, "repeat": new if repeat is None else repeat},
        headers=EN,
    )


def error_of(html: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field_id}-err"[^>]*>(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def test_password_page_needs_sign_in(client, rep):
    resp = client.get("/account/password")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert client.post("/account/password", data={"current": PASSWORD, "new": NEW, "repeat": NEW}).status_code == 302
    assert check_password_hash(fetch(rep.id).password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "repeat", "field", "message"),
    [
        ("not-my-password", NEW, None, "current", "The current password is not right."),
        (PASSWORD, "short-1", None, "new", "The password is too short: at least 10 characters."),
        (PASSWORD, "12345678901", None, "new", "too simple"),
        (PASSWORD, "abababababab", None, "new", "too simple"),
        (PASSWORD, "wang_jg-2024!", None, "new", "too simple"),  # contains the username
        (PASSWORD, NEW, "fresh-password-8", "repeat", "The two new passwords are not the same."),
    ],
)
def test_change_password_refusals(client, rep, current, new, repeat, field, message):
    post_login(client, "wang_jg", PASSWORD)
    resp = change(client, current, new, repeat)
    assert resp.status_code == 422
    assert message in error_of(resp.get_data(as_text=True), field)
    user = fetch(rep.id)
    assert check_password_hash(user.password_hash, PASSWORD) and user.session_version == 0
    assert signed_in(client)


def test_change_password_ends_the_other_sessions(app, client, rep):
    phone, laptop = client, app.test_client()
    assert post_login(laptop, "wang_jg", PASSWORD).status_code == 302
    assert post_login(phone, "wang_jg", PASSWORD).status_code == 302
    assert signed_in(laptop) and signed_in(phone)

    resp = change(phone, PASSWORD, NEW)
    assert resp.status_code == 302 and resp.headers["Location"] == "/me"
    user = fetch(rep.id)
    assert check_password_hash(user.password_hash, NEW) and user.session_version == 1

    assert signed_in(phone)  # the session that changed it stays signed in
    resp = laptop.get("/account/password")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert laptop.get("/me").status_code == 302

    # the old password no longer works, the new one does
    assert post_login(laptop, "wang_jg", PASSWORD).status_code == 401
    assert post_login(laptop, "wang_jg", NEW).status_code == 302

    [entry] = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "account.password_changed")).all()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (rep.id, "user", rep.id)


def test_a_session_of_an_older_version_is_refused(client, rep):
    with client.session_transaction() as s:
        s["_user_id"] = f"{rep.id}.{rep.session_version + 1}"
    assert not signed_in(client)
    for bad in ("garbage", f"{rep.id}", f"{rep.id}.x", "", "999999.0"):
        with client.session_transaction() as s:
            s["_user_id"] = bad
        assert not signed_in(client)


# --- the service, directly ---------------------------------------------------------------


def test_find_by_login(app, rep):
    assert auth_service.find_by_login("wang_jg").id == rep.id
    assert auth_service.find_by_login("＋８６ １３８１２３４５６７８").id == rep.id
    assert auth_service.find_by_login("") is None
    assert auth_service.find_by_login("   ") is None
    assert auth_service.find_by_login("wang") is None


def test_parallel_failures_are_all_counted(app, rep, db):
    """A guess checked against a copy of the row read before other guesses were counted
    still adds one to the database's count, not to its stale copy."""
    user = db.session.get(User, rep.id)
    db.session.expunge(user)
    db.session.commit()
    with db.engine.begin() as conn:  # three other guesses, counted meanwhile
        conn.execute(sa.update(User.__table__).where(User.__table__.c.id == rep.id).values(failed_logins=3))
    stale = db.session.merge(user, load=False)
    assert stale.failed_logins == 0
    with pytest.raises(AuthRefused) as refused:
        auth_service.authenticate("wang_jg", "wrong-a")
    assert refused.value.code == "bad_credentials"
    db.session.commit()
    assert fetch(rep.id).failed_logins == 4


def test_create_user_refusal_codes(app, db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    unit = factories.unit()
    unit_off = factories.unit()
    unit_off.is_active = False
    station = factories.station()
    factories.user(Role.ADMIN, username="taken", mobile="13900000001")
    good = {"actor": None, "username": "fresh_one", "display_name": "李娜", "password": "correct-horse-7"}
    cases = [
        ({"username": ""}, "bad_username"),
        ({"username": "1abc"}, "bad_username"),
        ({"username": "王建国"}, "bad_username"),
        ({"username": "a" * 41}, "bad_username"),
        ({"username": "Taken"}, "username_taken"),
        ({"mobile": "1234"}, "bad_mobile"),
        ({"mobile": "139 0000 0001"}, "mobile_taken"),
        ({"display_name": " "}, "display_name_required"),
        ({"display_name": "名" * 61}, "display_name_too_long"),
        ({"password": "short"}, "password_too_short"),
        ({"password": "fresh_one-123"}, "password_too_simple"),
        ({"role": "emperor"}, "bad_role"),
        ({"role": Role.CONGRESS_STAFF}, "region_required"),
        ({"role": Role.UNIT_HANDLER}, "unit_required"),
        ({"role": Role.UNIT_HANDLER, "unit": unit_off}, "unit_inactive"),
        ({"role": Role.STATION_MANAGER}, "stations_required"),
        ({"role": Role.REPRESENTATIVE}, "level_required"),
        ({"role": Role.REPRESENTATIVE, "rep_level": "galactic"}, "bad_level"),
        ({"role": Role.REPRESENTATIVE, "rep_level": "county", "occupation": "x" * 121}, "occupation_too_long"),
        ({"role": Role.REPRESENTATIVE, "rep_level": "county", "delegation": "x" * 81}, "delegation_too_long"),
        ({"role": Role.ADMIN, "region": city}, "scope_not_for_role"),
        ({"role": Role.STATION_MANAGER, "stations": [station], "unit": unit}, "scope_not_for_role"),
        ({"role": Role.CONGRESS_STAFF, "region": city, "stations": [station]}, "scope_not_for_role"),
        ({"role": Role.ADMIN, "rep_level": "county"}, "scope_not_for_role"),
    ]
    for overrides, code in cases:
        kw = {**good, "role": Role.ADMIN, **overrides}
        with pytest.raises(AuthRefused) as refused:
            auth_service.create_user(**kw)
        assert refused.value.code == code, (overrides, refused.value.code)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_create_user_lists_every_problem(app, db):
    factories.user(Role.ADMIN, username="taken")
    with pytest.raises(AuthRefused) as refused:
        auth_service.create_user(
            actor=None,
            username="taken",
            display_name="",
            password="123",
            role=Role.REPRESENTATIVE,
            mobile="123",
            rep_level="galactic",
            occupation="x" * 121,
        )
    codes = [code for code, _details in refused.value.details["problems"]]
    assert refused.value.code == codes[0] == "username_taken"
    assert codes == [
        "username_taken",
        "bad_mobile",
        "display_name_required",
        "password_too_short",
        "bad_level",
        "occupation_too_long",
    ]


# --- accounts with no password yet (invited, not set) ----------------------------------


def test_an_account_with_no_password_is_refused_like_a_wrong_password(db, monkeypatch):
    user = factories.user(Role.REPRESENTATIVE, username="newcomer", password_hash="")
    db.session.commit()
    checked = []
    real = auth_service.check_password_hash
    monkeypatch.setattr(auth_service, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    for password in ("", "anything-at-all-1"):
        with pytest.raises(AuthRefused) as refused:
            auth_service.authenticate("newcomer", password)
        assert refused.value.code == "bad_credentials" and refused.value.details["reason"] == "no_password"
    # the same work as for a wrong password (a hash checked), and nothing counted against it
    assert checked == [auth_service._DUMMY_HASH] * 2
    assert fetch(user.id).failed_logins == 0
    with pytest.raises(AuthRefused) as refused:
        auth_service.change_password(user, "", NEW)
    assert refused.value.code == "wrong_password"


def test_create_user_without_a_password(db):
    user = auth_service.create_user(actor=None, username="invitee", display_name="张三", role="admin")
    assert user.password_hash == "" and not user.has_password
    with pytest.raises(AuthRefused) as refused:
        auth_service.create_user(actor=None, username="weak_one", display_name="李四", role="admin", password="short")
    assert refused.value.code == "password_too_short"
