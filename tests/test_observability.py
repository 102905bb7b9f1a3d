"""Observability: JSON log lines without personal data, the request id from the proxy to
the error page, /metrics and who may read it, readiness with Redis and the photo store,
and gunicorn's workers adding up their figures."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app

from app import create_app
from extensions import db as _db
from models import utcnow
from services import logs, metrics
from services.storage import LocalStorage
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(scope="module")
def json_app(_schema, base_config):
    """An app logging JSON, with a route that logs and one that fails."""
    app = create_app({**base_config, "LOG_FORMAT": "json", "PROPAGATE_EXCEPTIONS": False})

    @app.get("/_test/log/<code>")
    def log_something(code):
        current_app.logger.warning("resident 13812345678 asked about the concern")
        return "ok"

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("boom")

    yield app
    with app.app_context():
        _db.engine.dispose()
    logs.unconfigure()  # the other tests' apps leave logging to pytest


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --- logs ---------------------------------------------------------------------------------


def test_a_log_line_is_one_json_object_with_the_request_and_no_personal_data(json_app, capsys):
    client = json_app.test_client()
    resp = client.get(
        "/_test/log/MTPAC87VX3?code=123456",
        headers={"X-Request-ID": "f3a9c2"},
        environ_base={"REMOTE_ADDR": "203.0.113.45"},
    )
    assert resp.status_code == 200
    [line] = [e for e in json_lines(capsys.readouterr().err) if e["logger"] == "app"]
    assert set(line) == {"time", "level", "logger", "message", "request_id", "method", "path", "remote"}
    assert line["level"] == "warning"
    assert line["request_id"] == "f3a9c2"
    assert line["method"] == "GET"
    assert line["path"] == "/_test/log/MT********"  # the tracking code masked, no query string
    assert line["remote"] == "203.0.113.*"
    assert line["message"] == "resident 138****5678 asked about the concern"
    assert "123456" not in json.dumps(line) and "13812345678" not in json.dumps(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_text_lines_in_development_json_in_production(base_config):
    assert logs.default_format("development") == "text"
    assert logs.default_format("production") == "json"
    with pytest.raises(ValueError, match="json or text"):
        logs.formatter("xml")


# --- the request id -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
        ("3b1f6a52-9e0c-4c1e-9d0e-6f1b2a7c8d9e", True),  # a UUID
        ("x" * 65, False),
        ("abc def", False),
        ('a","level":"error', False),  # a forged log field
        ("", False),
    ],
)
def test_the_request_id_comes_back_in_the_header(client, db, given, kept):
    resp = client.get("/healthz", headers={"X-Request-ID": given})
    rid = resp.headers["X-Request-ID"]
    if kept:
        assert rid == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", rid)


def test_the_500_page_shows_the_request_id_that_the_log_lines_carry(json_app, capsys):
    resp = json_app.test_client().get("/_test/boom", headers={"X-Request-ID": "req-500-abc"})
    assert resp.status_code == 500
    assert resp.headers["X-Request-ID"] == "req-500-abc"
    page = resp.get_data(as_text=True)
    assert "req-500-abc" in page and "Traceback" not in page
    [line] = [e for e in json_lines(capsys.readouterr().err) if e["level"] == "error"]
    assert line["request_id"] == "req-500-abc"
    assert "RuntimeError: boom" in line["exception"]  # the trace is in the log, not on the page


def test_a_404_page_shows_a_request_id_too(client, db):
    resp = client.get("/no/such/page", headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 404
    assert resp.headers["X-Request-ID"] in resp.get_data(as_text=True)


# --- /metrics -------------------------------------------------------------------------------


def sample(text: str, name: str, **labels) -> float:
    """One sample's value from Prometheus's text format (0 when it is not there)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', metric))
        if metric.split("{")[0] == name and found == {k: str(v) for k, v in labels.items()}:
            return float(value)
    return 0.0


def test_metrics_count_requests_by_route_and_read_the_work_from_the_database(client, db):
    station = factories.station()
    factories.concern(station, due_at=utcnow() - timedelta(days=1))  # overdue
    factories.concern(station, due_at=utcnow() + timedelta(days=3))
    db.session.commit()
    before = client.get("/metrics").get_data(as_text=True)
    client.get(f"/s/{station.code}")
    client.get("/s/NOSUCHCODE")
    client.get("/really/not/here")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain; version=0.0.4")
    text = resp.get_data(as_text=True)

    def grew(name, **labels):
        return sample(text, name, **labels) - sample(before, name, **labels)

    # By the route's rule, not the address: every station's page is one series.
    assert grew("mashang_http_requests_total", route="/s/<code>", method="GET", status=200) == 1
    assert grew("mashang_http_requests_total", route="/s/<code>", method="GET", status=404) == 1
    assert grew("mashang_http_requests_total", route="<unmatched>", method="GET", status=404) == 1
    assert station.code not in text
    assert grew("mashang_http_request_duration_seconds_count", route="/s/<code>") == 2
    assert sample(text, "mashang_http_request_duration_seconds_bucket", route="/s/<code>", le="+Inf") >= 2
    assert sample(text, "mashang_database_up") == 1
    assert sample(text, "mashang_concerns_overdue") == 1
    assert sample(text, "mashang_duties_open") == 0
    assert sample(text, "mashang_outbox_pending") >= 0 and "mashang_outbox_failed " in text
    assert "mashang_db_pool_checked_out " in text and "mashang_db_pool_connections " in text


def test_metrics_read_the_outbox_and_open_duties(client, db):
    from models import Duty, Outbox
    from models.enums import DutyMethod, OutboxStatus

    rep = factories.representative(stations=[station := factories.station()])
    db.session.add(
        Duty(representative=rep, station=station, checked_in_at=utcnow(), method=DutyMethod.KIOSK, nonce="n1")
    )
    for status in (OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SENT):
        db.session.add(Outbox(channel="sms", recipient="13800000000", body="x", status=status))
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "mashang_outbox_pending") == 2
    assert sample(text, "mashang_outbox_failed") == 1
    assert sample(text, "mashang_duties_open") == 1


@pytest.mark.parametrize(
    ("remote", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("203.0.113.9", {}, False),
        ("10.1.2.3", {}, False),
        # Through a proxy the app does not unwrap: the proxy's 127.0.0.1 is nobody's address.
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, False),
        ("203.0.113.9", {"Authorization": "Bearer s3cret-scrape-token"}, True),
        ("203.0.113.9", {"Authorization": "Bearer wrong"}, False),
        ("203.0.113.9", {"Authorization": "s3cret-scrape-token"}, False),
    ],
)
def test_metrics_are_for_the_monitoring_only(app, client, db, remote, headers, allowed):
    app.config["METRICS_TOKEN"] = "s3cret-scrape-token"
    resp = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert resp.status_code == (200 if allowed else 404)
    assert ("mashang_http_requests_total" in resp.get_data(as_text=True)) is allowed


def test_metrics_allow_takes_networks_and_refuses_nonsense(base_config):
    allow = metrics.parse_allow("10.0.0.0/8, 192.168.1.7 ::1")
    assert metrics.may_scrape("10.20.30.40", allow=allow, token="", authorization=None, forwarded=False)
    assert metrics.may_scrape("::ffff:10.0.0.1", allow=allow, token="", authorization=None, forwarded=False)
    assert not metrics.may_scrape("192.168.1.8", allow=allow, token="", authorization=None, forwarded=False)
    # No token configured: an empty bearer opens nothing.
    assert not metrics.may_scrape("8.8.8.8", allow=allow, token="", authorization="Bearer ", forwarded=False)
    with pytest.raises(RuntimeError, match="METRICS_ALLOW"):
        create_app({**base_config, "METRICS_ALLOW": "10.0.0.0/8, everyone"})


# --- readiness: Redis and the store ----------------------------------------------------------


@pytest.mark.parametrize(
    ("app_config", "ready", "detail"),
    [
        ({"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, True, "ok"),
        ({"RATELIMIT_STORAGE_URI": CLOSED_PORT}, False, "Connection refused"),
    ],
    ids=["redis-up", "redis-down"],
)
def test_readyz_pings_redis_when_the_limiter_uses_it(client, db, app_config, ready, detail):
    started = time.monotonic()
    resp = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert resp.status_code == (200 if ready else 503), resp.get_json()
    assert detail in resp.get_json()["checks"]["redis"]
    assert client.get("/healthz").status_code == 200  # alive all the same


def test_readyz_has_no_redis_check_without_redis(client, db):
    assert "redis" not in client.get("/readyz").get_json()["checks"]


def test_readyz_503_when_the_photo_store_cannot_take_a_file(app, client, db, tmp_path):
    (tmp_path / "a-file").write_text("")
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "a-file" / "uploads")
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["storage"] != "ok"


def test_the_local_store_check_leaves_nothing_behind(tmp_path):
    LocalStorage(str(tmp_path / "photos")).check()
    assert list((tmp_path / "photos").iterdir()) == []


# --- under gunicorn ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5)  # noqa: S310


@contextlib.contextmanager
def _gunicorn(database_url: str, tmp_path, **settings: str):
    """gunicorn with the project's gunicorn.conf.py, production settings and `settings` on a
    free port: yields its base URL and the file its log goes to."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "APP_ENV": "production",  # json lines by default
        "BIND": f"127.0.0.1:{port}",
        "GUNICORN_KEEPALIVE": "0",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        **settings,
    }
    env.pop("LOG_FORMAT", None)
    log = open(tmp_path / "stderr", "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,  # the access lines
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((tmp_path / "stderr").read_text()) from None
                time.sleep(0.2)
        yield base, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.seek(0)


def test_gunicorn_workers_add_up_their_figures_and_log_json_access_lines(app, db, database_url, tmp_path):
    db.session.commit()
    with _gunicorn(database_url, tmp_path, WEB_CONCURRENCY="2", GUNICORN_THREADS="1") as (base, log):
        for _ in range(30):
            assert _get(f"{base}/healthz", {"X-Request-ID": "soak-1"}).headers["X-Request-ID"] == "soak-1"
        text = _get(f"{base}/metrics").read().decode()
        # Every request counted, whichever of the two workers answered it (31 /healthz so far).
        assert sample(text, "mashang_http_requests_total", route="/healthz", method="GET", status=200) >= 31
        assert sample(text, "mashang_database_up") == 1
    access = [e for e in json_lines(log.read()) if e["logger"] == "gunicorn.access"]
    line = next(e for e in access if e.get("request_id") == "soak-1")
    assert line["route"] == "/healthz" and line["status"] == 200 and line["path"] == "/healthz"
    assert line["remote"] == "127.0.0.*" and isinstance(line["duration_ms"], float)


@pytest.mark.parametrize(("limit_mib", "replaced"), [("1", True), ("0", False)])
def test_a_worker_grown_past_its_memory_limit_is_replaced_without_losing_a_request(
    app, db, database_url, tmp_path, limit_mib, replaced
):
    """gunicorn.conf.py replaces a worker by its memory, looked at every hundred requests
    (no worker stays under 1 MiB; 0 means never), not after a number of requests."""
    db.session.commit()
    with _gunicorn(
        database_url, tmp_path, WEB_CONCURRENCY="1", GUNICORN_THREADS="1", GUNICORN_MAX_WORKER_MEMORY_MB=limit_mib
    ) as (base, log):
        statuses = [_get(f"{base}/healthz").status for _ in range(150)]
    assert statuses == [200] * 150
    lines = [e["message"] for e in json_lines(log.read()) if e["logger"] == "gunicorn.error"]
    memory = [m for m in lines if m.startswith("Replacing worker:")]
    booted = [m for m in lines if m.startswith("Booting worker")]
    if replaced:
        assert memory and memory[0].endswith("over 1 MiB") and len(booted) >= 2, lines
    else:
        assert not memory and len(booted) == 1, lines


def test_gunicorn_refuses_an_address_another_server_listens_at(tmp_path):
    """Each worker binds with SO_REUSEPORT (gunicorn.conf.py), which alone would share the
    port with the server already there: the master refuses to start instead."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "SECRET_KEY": "test-secret",
            "BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Cannot listen at 127.0.0.1:{port}" in done.stdout + done.stderr
