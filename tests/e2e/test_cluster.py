"""The cluster (devtools/cluster.py, `make cluster`): Debian's nginx in front of two app
servers on PostgreSQL and Redis, with the jobs loop. A resident files a concern and follows
it, a representative signs in and checks in — all through nginx, in Chromium — and both
app servers answered; the sign-in limit counts across them (Redis), and a duty started
shows on the station page cached by either within the promised second (the shared counter
in PostgreSQL), long before the cached pages would expire.

It runs in the PostgreSQL pass of the suite (TEST_DATABASE_URL set): the cluster uses the
machine's PostgreSQL and Redis."""

import os
import re
import time

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import PHONE_USER_AGENT, PHONE_VIEWPORT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"),
        reason="the cluster runs on the machine's PostgreSQL and Redis: it is tested in the PostgreSQL pass",
    ),
]

CACHE_SECONDS = 600  # longer than the test: only the shared counter can drop the pages
CHECK_SECONDS = 1
LOGINS_PER_MINUTE = 6


@pytest.fixture(scope="module")
def cluster():
    from devtools.cluster import Cluster

    settings = {
        "STATION_PAGE_CACHE_SECONDS": str(CACHE_SECONDS),
        "STATION_PAGE_CHECK_SECONDS": str(CHECK_SECONDS),
        "LOGIN_RATE_LIMIT": f"{LOGINS_PER_MINUTE} per minute",
    }
    with Cluster(settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def demo(cluster):
    """A station without presence proof, one of its representatives, and a category."""
    engine = sa.create_engine(cluster.env["DATABASE_URL"])
    with engine.connect() as conn:
        code, username, name = conn.execute(
            sa.text(
                "SELECT s.code, u.username, u.display_name FROM station s "
                "JOIN representative_station rs ON rs.station_id = s.id "
                "JOIN representative r ON r.id = rs.representative_id "
                "JOIN user_account u ON u.id = r.user_id "
                "WHERE s.is_active AND s.presence_policy = 'none' AND u.username LIKE 'rep\\_%' "
                "ORDER BY s.id, u.id LIMIT 1"
            )
        ).one()
    engine.dispose()
    return {"code": code, "username": username, "name": name}


def phone(browser):
    return browser.new_context(viewport=PHONE_VIEWPORT, user_agent=PHONE_USER_AGENT, locale="zh-CN")


def test_a_resident_and_a_representative_through_nginx(cluster, demo, browser):
    served: set[str] = set()
    # Both servers keep the anonymous page before the duty begins.
    anonymous = browser.new_context().request
    cached_by: set[str] = set()
    for _ in range(20):
        response = anonymous.get(f"{cluster.url}/s/{demo['code']}")
        assert f"● {demo['name']}" not in response.text()
        cached_by.add(response.headers.get("x-upstream") or "")
    assert cached_by == {"127.0.0.1:8001", "127.0.0.1:8002"}

    resident = phone(browser).new_page()
    resident.on("response", lambda r: served.add(r.headers.get("x-upstream") or ""))
    resident.goto(f"{cluster.url}/s/{demo['code']}")
    resident.goto(f"{cluster.url}/s/{demo['code']}/concern")
    resident.locator('select[name="category"]').select_option(index=1)
    resident.fill('textarea[name="content"]', "小区门口的路灯坏了两个月，晚上出行很不方便，请帮忙联系修理。")
    resident.locator("main form button[type=submit]").last.click()
    resident.wait_for_url(re.compile(r".*/t/[23456789A-HJKMNP-Z]{10}/receipt$"))
    code = re.search(r"/t/([23456789A-HJKMNP-Z]{10})/", resident.url).group(1)
    assert resident.goto(f"{cluster.url}/t/{code}").status == 200

    rep = phone(browser).new_page()
    rep.on("response", lambda r: served.add(r.headers.get("x-upstream") or ""))
    rep.goto(f"{cluster.url}/login")
    rep.fill('input[name="login"]', demo["username"])
    rep.fill('input[name="password"]', "mashang-demo")
    rep.locator("main form button[type=submit]").first.click()
    rep.wait_for_load_state()
    rep.goto(f"{cluster.url}/s/{demo['code']}")
    rep.locator("form.checkin button[type=submit]").click()
    rep.wait_for_url(f"**/s/{demo['code']}")
    assert rep.locator(".duty-panel .ok").count() == 1, rep.content()[:2000]  # on duty here

    # A duty started shows on the anonymous station page, whichever server answers it,
    # within the check's second (and a little for the request itself).
    seen_on: set[str] = set()
    deadline = time.monotonic() + CHECK_SECONDS + 3
    while time.monotonic() < deadline and len(seen_on) < 2:
        response = anonymous.get(f"{cluster.url}/s/{demo['code']}")
        served.add(response.headers.get("x-upstream") or "")
        if f"● {demo['name']}" in response.text():  # the "in the station now" list
            seen_on.add(response.headers["x-upstream"])
        time.sleep(0.3)
    assert seen_on == {"127.0.0.1:8001", "127.0.0.1:8002"}
    assert {"127.0.0.1:8001", "127.0.0.1:8002"} <= served


def test_the_sign_in_limit_counts_across_both_servers(cluster, browser):
    """Wrong passwords from one address, sent again from the form each answer shows (nginx's
    own, looser limit is not reached): the app allows LOGINS_PER_MINUTE a minute in all (a sign-in of the test above
    may already count), not that many per server."""
    page = browser.new_context().new_page()
    page.goto(f"{cluster.url}/login")
    answers = []
    for _ in range(LOGINS_PER_MINUTE + 1):
        page.fill('input[name="login"]', "nobody-here")
        page.fill('input[name="password"]', "wrong-password-1")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.locator("main form button[type=submit]").first.click()
        page.wait_for_load_state()
        answers.append((answer.value.status, answer.value.headers.get("x-upstream"), answer.value.text()))
        if answer.value.status == 429:
            break  # the app's page says to wait: no form on it
    allowed = [upstream for status, upstream, _body in answers if status != 429]
    refused = [(upstream, body) for status, upstream, body in answers if status == 429]
    assert LOGINS_PER_MINUTE - 1 <= len(allowed) <= LOGINS_PER_MINUTE
    assert set(allowed) == {"127.0.0.1:8001", "127.0.0.1:8002"}
    assert len(refused) == 1 and "nginx" not in refused[0][1]  # the app's own page, not nginx's


def test_the_site_speaks_only_modern_tls(cluster, demo):
    """The deployed site's TLS settings (deploy/nginx/mashang.conf) in front of the same app
    servers: TLS 1.2 and 1.3 are spoken, anything older is refused, and the pages come
    through."""
    import socket
    import ssl
    from pathlib import Path
    from urllib.parse import urlsplit

    import requests

    cert = str(Path(cluster.work) / "fullchain.pem")
    port = urlsplit(cluster.tls_url).port

    def handshake(version):
        context = ssl.create_default_context(cafile=cert)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions at all
        context.minimum_version = context.maximum_version = version
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            return tls.version()

    assert handshake(ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            handshake(old)

    page = requests.get(f"{cluster.tls_url}/s/{demo['code']}", verify=cert, timeout=10)
    assert page.status_code == 200 and demo["name"] in page.text
