"""Security on the resident's path: headers on every response, nothing from other hosts,
cookies, CSRF, and rate limits that send the form back instead of losing the text."""

import re
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Concern
from services.concerns import ConcernInput, submit_concern
from services.photos import process_photo
from services.storage import LocalStorage
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
TEXT = "小区门口的路灯坏了两个月，晚上出行很不方便。"

RATE_LIMITED = {"RATELIMIT_ENABLED": True, "CONCERN_RATE_LIMIT": "2 per minute", "LOOKUP_RATE_LIMIT": "3 per minute"}
CSRF_ON = {"WTF_CSRF_ENABLED": True}


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def form_data(cat, **overrides) -> dict:
    data = {"category": str(cat.id), "content": TEXT, "submission_key": secrets.token_urlsafe(24)}
    data.update(overrides)
    return data


def post_concern(client, station, data, **kw):
    code = station.code
    # Never hold SQLite's write lock in the test's session while the app writes.
    _db.session.commit()
    return client.post(f"/s/{code}/concern", data=data, content_type="multipart/form-data", **kw)


def textarea_text(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name!r}"
    return match.group(1).strip()


def ip(n: int) -> dict:
    """A distinct client address per test: the memory limiter outlives one app."""
    return {"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250 + 1}"}


@pytest.fixture
def site(db):
    st = factories.station()
    cat = factories.category()
    db.session.commit()
    return st, cat


# --- security headers ------------------------------------------------------------


def check_headers(resp) -> None:
    csp = resp.headers.get("Content-Security-Policy")
    assert csp, "no Content-Security-Policy"
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    assert directives.get("default-src") == ["'self'"]
    for name, sources in directives.items():
        for source in sources:
            assert source in ("'self'", "'none'", "data:"), f"{name} allows {source}"
    assert "*" not in csp
    assert "http" not in csp
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("Referrer-Policy")


@pytest.fixture
def every_kind_of_response(app, client, db):
    st = factories.station()
    cat = factories.category()
    concern = submit_concern(
        st,
        ConcernInput(category_id=cat.id, content=TEXT),
        [process_photo(factories.image_bytes(), max_bytes=8 << 20, max_pixels=50_000_000, max_side=2048)],
        storage=LocalStorage(app.config["UPLOAD_FOLDER"]),
    )
    db.session.commit()
    paths = {
        "home": "/",
        "station": f"/s/{st.code}",
        "form": f"/s/{st.code}/concern",
        "station qr png": f"/s/{st.code}/qr.png",
        "station qr svg": f"/s/{st.code}/qr.svg",
        "poster": f"/s/{st.code}/poster",
        "tracking": f"/t/{concern.tracking_code}",
        "receipt": f"/t/{concern.tracking_code}/receipt",
        "tracking qr": f"/t/{concern.tracking_code}/qr.png",
        "lookup": "/t",
        "media": f"/media/{concern.attachments[0].storage_key}",
        "static css": "/static/style.css",
        "static js": "/static/app.js",
        "healthz": "/healthz",
        "404": "/no/such/page",
        "404 station": "/s/ZZZZZZ",
        "redirect": f"/s/{st.code.lower()}",
        "405": "/healthz",  # POSTed
    }
    _db.session.commit()
    return paths


def test_security_headers_on_every_response(client, every_kind_of_response):
    seen = set()
    for name, path in every_kind_of_response.items():
        resp = client.get(path) if name != "405" else client.post("/healthz")
        seen.add(resp.status_code)
        try:
            check_headers(resp)
        except AssertionError as exc:
            raise AssertionError(f"{name} ({path}, {resp.status_code}): {exc}") from exc
    assert {200, 301, 404, 405} <= seen


def test_media_is_served_as_the_stored_type(client, every_kind_of_response):
    resp = client.get(every_kind_of_response["media"])
    assert resp.status_code == 200
    assert resp.mimetype == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_cannot_be_framed(client, every_kind_of_response):
    for name in ("station", "form", "tracking"):
        resp = client.get(every_kind_of_response[name])
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"] or (
            resp.headers.get("X-Frame-Options") == "DENY"
        )


# --- nothing from another host ---------------------------------------------------

URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")
XML_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def foreign_urls(text: str) -> list[str]:
    found = []
    for match in URL.finditer(text):
        url = match.group(0)
        if url in XML_NAMESPACES:
            continue
        before = text[max(0, match.start() - 8) : match.start()]
        if "xmlns" in before:
            continue
        found.append(url)
    return found


def test_no_template_or_static_file_references_another_host():
    files = [p for folder in ("templates", "static") for p in (ROOT / folder).rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)
    assert any(p.suffix == ".css" for p in files)
    offenders = {}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        urls = foreign_urls(text)
        # CSS may also pull from elsewhere with @import or url(); both must stay local.
        if path.suffix == ".css":
            urls += re.findall(r"@import\s+(?:url\()?['\"]?(?:https?:)?//[^'\")\s]+", text)
        if urls:
            offenders[str(path.relative_to(ROOT))] = urls
    assert not offenders


def test_rendered_pages_reference_no_other_host(client, every_kind_of_response):
    for name in ("home", "station", "form", "tracking", "lookup", "404"):
        html = client.get(every_kind_of_response[name]).get_data(as_text=True)
        assert not foreign_urls(html), f"{name}: {foreign_urls(html)}"
    # The receipt shows the public address of the tracking page: our own host only.
    html = client.get(every_kind_of_response["receipt"]).get_data(as_text=True)
    assert {u.split("/")[2] for u in foreign_urls(html)} <= {"mashang.test"}


# --- cookies ----------------------------------------------------------------------


def session_cookie_header(client, path: str) -> str:
    resp = client.get(path)
    cookies = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies, f"{path} set no session cookie"
    return cookies[0]


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_session_cookie_is_httponly_and_lax(client, site):
    st, _cat = site
    header = session_cookie_header(client, f"/s/{st.code}/concern")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # PUBLIC_BASE_URL is http:// in the tests


@pytest.mark.parametrize("app_config", [{**CSRF_ON, "PUBLIC_BASE_URL": "https://mashang.example"}])
def test_session_cookie_is_secure_behind_https(app, client, site):
    assert app.config["SESSION_COOKIE_SECURE"] is True
    st, _cat = site
    header = session_cookie_header(client, f"/s/{st.code}/concern")
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_session_cookie_of_the_concern_form_is_httponly(client, site):
    st, _cat = site
    resp = client.get(f"/s/{st.code}/concern")  # gives the browser its sender token
    assert resp.status_code == 200
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_language_cookie_is_httponly_and_lax(client, db):
    header = next(h for h in client.get("/lang/en?next=/").headers.getlist("Set-Cookie") if h.startswith("lang="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


# --- CSRF -------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_post_without_csrf_token_is_refused_with_the_text_kept(client, db, site):
    st, cat = site
    client.get(f"/s/{st.code}/concern")  # a session exists, but the token is not sent
    resp = post_concern(client, st, form_data(cat, contact_name="李秀英", consent="y"))
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="concern-form"' in html
    assert textarea_text(html, "content") == TEXT
    assert 'value="李秀英"' in html
    assert 'class="notice"' in html
    # The form that comes back carries a fresh token, so sending it again works.
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token
    assert count(db, Concern) == 0

    again = post_concern(client, st, form_data(cat, csrf_token=token.group(1)))
    assert again.status_code == 303
    assert count(db, Concern) == 1


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_post_with_a_forged_csrf_token_is_refused(client, db, site):
    st, cat = site
    client.get(f"/s/{st.code}/concern")
    resp = post_concern(client, st, form_data(cat, csrf_token="forged"))
    assert resp.status_code == 400
    assert count(db, Concern) == 0


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_post_with_the_token_from_the_form_works(client, db, site):
    st, cat = site
    html = client.get(f"/s/{st.code}/concern").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token, "the form carries a CSRF token"
    resp = post_concern(client, st, form_data(cat, csrf_token=token.group(1)))
    assert resp.status_code == 303
    concern = _db.session.scalars(sa.select(Concern)).one()
    assert resp.headers["Location"].endswith(f"/t/{concern.tracking_code}/receipt")


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_token_from_another_session_is_refused(app, client, db, site):
    st, cat = site
    other = app.test_client()
    html = other.get(f"/s/{st.code}/concern").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.get(f"/s/{st.code}/concern")
    assert post_concern(client, st, form_data(cat, csrf_token=token)).status_code == 400
    assert count(db, Concern) == 0


# --- rate limits --------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_third_submission_in_a_minute_is_429_with_the_form_kept(app, client, db, site):
    st, cat = site
    env = ip(101)
    for n in range(2):
        resp = post_concern(client, st, form_data(cat, content=f"{TEXT}（第{n + 1}件）"), environ_base=env)
        assert resp.status_code == 303
    third = f"{TEXT}（第三件，被限流）"
    resp = post_concern(client, st, form_data(cat, content=third, contact_name="李秀英", consent="y"), environ_base=env)
    assert resp.status_code == 429
    html = resp.get_data(as_text=True)
    assert 'id="concern-form"' in html
    assert textarea_text(html, "content") == third
    assert 'value="李秀英"' in html
    assert 'class="notice"' in html
    assert count(db, Concern) == 2

    # Someone else on another network is not held up.
    other = post_concern(client, st, form_data(cat, content=f"{TEXT}（别处）"), environ_base=ip(102))
    assert other.status_code == 303
    # Looking at the form is not limited.
    assert client.get(f"/s/{st.code}/concern", environ_base=env).status_code == 200


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_rate_limit_notice_in_english(client, db, site):
    st, cat = site
    env = ip(103)
    for n in range(2):
        post_concern(client, st, form_data(cat, content=f"{TEXT} {n}"), environ_base=env)
    resp = post_concern(
        client, st, form_data(cat, content=f"{TEXT} 3"), environ_base=env, headers={"Accept-Language": "en"}
    )
    assert resp.status_code == 429
    assert "Too many submissions" in resp.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_failed_lookups_are_limited_successful_ones_are_not(client, db, site):
    st, cat = site
    concern = factories.concern(st, cat)
    db.session.commit()
    code = concern.tracking_code
    env = ip(104)

    # Many successful look-ups: none of them counts.
    for _ in range(3):
        assert client.get(f"/t/{code}", environ_base=env).status_code == 200
        assert client.get("/t", query_string={"code": code.lower()}, environ_base=env).status_code == 303
        assert client.get(f"/t/{code}/receipt", environ_base=env).status_code == 200

    unknown = "K7M3QXP29D" if code != "K7M3QXP29D" else "K7M3QXP29E"
    for _ in range(3):
        assert client.get("/t", query_string={"code": unknown}, environ_base=env).status_code == 404
    resp = client.get("/t", query_string={"code": unknown}, environ_base=env)
    assert resp.status_code == 429
    assert '<header class="top">' in resp.get_data(as_text=True)
    # Guessing through the tracking URL is the same budget.
    assert client.get(f"/t/{unknown}", environ_base=env).status_code == 429
    # Another address still looks up freely.
    assert client.get("/t", query_string={"code": unknown}, environ_base=ip(105)).status_code == 404
    # ...and the address over its budget still opens a code that exists: only guesses are refused.
    assert client.get(f"/t/{code}", environ_base=env).status_code == 200
    assert client.get("/t", query_string={"code": code}, environ_base=env).status_code == 303


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_failed_tracking_urls_count_towards_the_lookup_limit(client, db):
    env = ip(106)
    codes = ["K7M3QXP29D", "K7M3QXP29E", "K7M3QXP29F"]
    for code in codes:
        assert client.get(f"/t/{code}", environ_base=env).status_code == 404
    assert client.get("/t/K7M3QXP29G", environ_base=env).status_code == 429
