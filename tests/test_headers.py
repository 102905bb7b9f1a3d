"""Response headers: no-store on what a signed-in person reads and on the receipt, the
station page keeping its own caching, a Permissions-Policy, HSTS and a Secure language
cookie on an https site, and no software banner from gunicorn."""

import runpy
from pathlib import Path

import pytest

from models.enums import Role
from tests import factories
from tests.helpers import login

ROOT = Path(__file__).resolve().parent.parent
HTTPS = {"PUBLIC_BASE_URL": "https://mashang.example.cn"}


@pytest.fixture
def site(db):
    station = factories.station()
    concern = factories.concern(station, factories.category())
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    rep = factories.representative(stations=[station]).user
    admin = factories.user(Role.ADMIN)
    db.session.commit()
    return {"station": station, "concern": concern, "manager": manager, "rep": rep, "admin": admin}


def test_signed_in_pages_are_never_stored(app, client, site):
    login(client, site["manager"])
    for url in (
        "/manage/",
        "/manage/concerns",
        f"/manage/concerns/{site['concern'].id}",
        f"/manage/stations/{site['station'].code}/attendance",
        "/account/password",
        "/account/sessions",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.headers["Cache-Control"] == "no-store", url
    login(client, site["rep"])
    assert client.get("/me").headers["Cache-Control"] == "no-store"
    login(client, site["admin"])
    assert client.get(f"/admin/users/{site['rep'].id}").headers["Cache-Control"] == "no-store"


def test_the_receipt_is_never_stored(client, site):
    resp = client.get(f"/t/{site['concern'].tracking_code}/receipt")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"


def test_public_pages_keep_their_own_caching(client, site):
    code = site["station"].code
    assert client.get(f"/s/{code}").headers["Cache-Control"] == "private, no-cache"
    assert client.get(f"/s/{code}/qr.svg").headers["Cache-Control"] == "public, max-age=86400"
    static = client.get("/static/style.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    # and a representative signed in on the station page does not change its header
    login(client, site["rep"])
    assert client.get(f"/s/{code}").headers["Cache-Control"] == "private, no-cache"


def test_permissions_policy_allows_the_position_for_check_in_and_nothing_else(client, site):
    policy = client.get(f"/s/{site['station'].code}").headers["Permissions-Policy"]
    rules = dict(part.strip().split("=", 1) for part in policy.split(","))
    assert rules["geolocation"] == "(self)"
    assert rules["camera"] == rules["microphone"] == rules["payment"] == "()"
    assert all(value == "()" for name, value in rules.items() if name != "geolocation")


def test_no_hsts_over_http(client, site):
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.mark.parametrize("app_config", [HTTPS])
def test_hsts_and_a_secure_language_cookie_on_an_https_site(client, site):
    resp = client.get("/", base_url="https://mashang.example.cn")
    assert resp.headers["Strict-Transport-Security"] == f"max-age={365 * 86400}"
    resp = client.get("/lang/en", base_url="https://mashang.example.cn")
    [cookie] = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("lang=")]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_language_cookie_is_not_secure_over_http(client, site):
    [cookie] = [h for h in client.get("/lang/en").headers.getlist("Set-Cookie") if h.startswith("lang=")]
    assert "Secure" not in cookie


def test_gunicorn_sends_no_software_banner(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the settings would set one
    import gunicorn
    import gunicorn.http.wsgi as wsgi

    for module, name in (
        (gunicorn, "SERVER"),
        (gunicorn, "SERVER_SOFTWARE"),
        (wsgi, "SERVER"),
        (wsgi, "SERVER_SOFTWARE"),
    ):
        monkeypatch.setattr(module, name, getattr(module, name))  # put back after the test
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    response = wsgi.Response(req=None, sock=None, cfg=None)
    assert "gunicorn" not in response.version.lower()
    assert "gunicorn" not in wsgi.SERVER_SOFTWARE.lower() and gunicorn.__version__ not in response.version
