"""The check-in POST under load, for bench/run.py (step 6).

K representatives are created in the bench database; each signs in through /login (its
own session cookie) and opens the station page (its CSRF token). Then, in R rounds, every
representative fires A check-ins at once — the first twice with the same nonce (a
double tap), the others with new nonces (a second tap after a reload) — through C
keep-alive connections, a representative's attempts side by side in the queue so they
are in flight together. After each round the database is counted: no 5xx, exactly one
open duty per representative, every acknowledged (303) nonce stored, no representative
acknowledged for two different duties. Between rounds the open duties are closed in the
database, so that the next round can check in again.
"""

from __future__ import annotations

import http.client
import queue
import random
import re
import secrets
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSWORD = "bench-pass-2024"
USERNAME_PREFIX = "bench-checkin-"
INPUT_RE = re.compile(r"<input[^>]*>")
ATTR_RE = re.compile(r'\b(name|value)="([^"]*)"')


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _inputs(html: str, form_action: str | None = None) -> dict[str, str]:
    """name → value of the inputs in the page, or in the form with this action."""
    if form_action is not None:
        start = html.find(f'action="{form_action}"')
        if start < 0:
            return {}
        html = html[start : html.find("</form>", start)]
    found = {}
    for tag in INPUT_RE.findall(html):
        attrs = dict(ATTR_RE.findall(tag))
        if "name" in attrs:
            found.setdefault(attrs["name"], attrs.get("value", ""))
    return found


class Browser:
    """One representative's cookies over one HTTP connection at a time."""

    def __init__(self, port: int):
        self.port = port
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            headers = {"Cookie": self.cookie, "Accept-Language": "zh-CN,zh;q=0.9"}
            body = None
            if form is not None:
                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            jar = SimpleCookie()
            for header in resp.headers.get_all("Set-Cookie") or []:
                jar.load(header)
            self.jar.update({k: m.value for k, m in jar.items()})
            return resp.status, resp.headers, text
        finally:
            conn.close()

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())


@dataclass
class Rep:
    index: int
    rep_id: int
    username: str
    cookie: str = ""
    csrf_token: str = ""


@dataclass
class Attempt:
    rep: Rep
    nonce: str
    result: dict = field(default_factory=dict)


def create_representatives(database_url: str, secret_key: str, k: int) -> list[Rep]:
    """K representatives through the app's own models, with a password that is quick to
    check (the bench measures check-in, not the key-derivation function)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from werkzeug.security import generate_password_hash

    from app import create_app
    from extensions import db
    from models import Representative, User
    from models.enums import RepLevel, Role
    from services.codes import new_rep_code

    tag = secrets.token_hex(2)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": secret_key, "APP_ENV": "production"})
    with app.app_context():
        reps = []
        codes = set(db.session.scalars(sa.select(Representative.code)))
        for i in range(k):
            user = User(
                username=f"{USERNAME_PREFIX}{tag}-{i}",
                display_name=f"压测代表{i}",
                password_hash=password_hash,
                role=Role.REPRESENTATIVE,
            )
            level = list(RepLevel)[i % len(RepLevel)]
            reps.append(Representative(user=user, code=new_rep_code(codes), level=level, occupation="压测"))
        db.session.add_all(reps)
        db.session.commit()
        out = [Rep(index=i, rep_id=r.id, username=r.user.username) for i, r in enumerate(reps)]
        db.engine.dispose()
    return out


def sign_in(port: int, station_code: str, rep: Rep) -> Rep:
    """GET /login, POST /login, GET the station page: a session and its CSRF token."""
    browser = Browser(port)
    status, _, html = browser.request("GET", "/login")
    token = _inputs(html).get("csrf_token", "")
    if status != 200 or not token:
        raise RuntimeError(f"GET /login gave {status} without a CSRF token")
    status, _, _ = browser.request(
        "POST", "/login", {"csrf_token": token, "login": rep.username, "password": PASSWORD, "next": ""}
    )
    if status != 302:
        raise RuntimeError(f"POST /login for {rep.username} gave {status}")
    action = f"/s/{station_code}/check-in"
    status, _, html = browser.request("GET", f"/s/{station_code}")
    form = _inputs(html, action)
    if status != 200 or not form.get("csrf_token"):
        raise RuntimeError(f"the station page shows {rep.username} no check-in form ({status})")
    rep.cookie, rep.csrf_token = browser.cookie, form["csrf_token"]
    return rep


def _post_check_in(conn: http.client.HTTPConnection, port: int, code: str, a: Attempt) -> dict:
    body = urlencode(
        {
            "csrf_token": a.rep.csrf_token,
            "nonce": a.nonce,
            "kiosk_token": "",
            "latitude": "",
            "longitude": "",
            "accuracy": "",
        }
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": a.rep.cookie,
        "Accept-Language": "zh-CN,zh;q=0.9",
        "Referer": f"http://{HOST}:{port}/s/{code}",
    }
    t0 = time.perf_counter()
    conn.request("POST", f"/s/{code}/check-in", body=body, headers=headers)
    resp = conn.getresponse()
    text = resp.read()
    out = {"status": resp.status, "seconds": time.perf_counter() - t0}
    if resp.status >= 400 and resp.status != 409:
        out["body"] = text[:200].decode("utf-8", "replace")
    if (resp.headers.get("Connection") or "").lower() == "close":
        conn.close()
    return out


def fire(port: int, code: str, attempts: list[Attempt], connections: int) -> float:
    """`connections` workers, each with its own keep-alive connection, take attempts from
    one queue in order; all start together. Returns the elapsed seconds."""
    jobs: queue.Queue[Attempt | None] = queue.Queue()
    for a in attempts:
        jobs.put(a)
    for _ in range(connections):
        jobs.put(None)
    barrier = threading.Barrier(connections + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        barrier.wait()
        while (a := jobs.get()) is not None:
            for attempt_no in range(2):
                try:
                    a.result = _post_check_in(conn, port, code, a)
                    break
                except (http.client.HTTPException, OSError) as exc:
                    # A keep-alive connection the server closed: one retry on a new one
                    # (the nonce makes a repeat harmless), then count it as an error.
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=120)
                    a.result = {"status": None, "error": f"{type(exc).__name__}: {exc}", "retried": attempt_no}
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def count_round(engine, reps: list[Rep], attempts: list[Attempt]) -> dict:
    ids = [r.rep_id for r in reps]
    with engine.connect() as conn:
        open_rows = conn.execute(
            sa.text("SELECT representative_id, count(*) FROM duty WHERE status = 'open' GROUP BY representative_id")
        ).all()
        nonces = [a.nonce for a in attempts]
        stored = dict(
            conn.execute(
                sa.select(sa.column("nonce"), sa.column("representative_id"))
                .select_from(sa.table("duty"))
                .where(sa.column("nonce").in_(nonces))
            ).all()
        )
    mine = set(ids)
    open_by_rep = {rep_id: n for rep_id, n in open_rows if rep_id in mine}
    acked: dict[int, set[str]] = {}
    for a in attempts:
        if a.result.get("status") == 303:
            acked.setdefault(a.rep.rep_id, set()).add(a.nonce)
    return {
        "reps_with_one_open_duty": sum(1 for i in ids if open_by_rep.get(i) == 1),
        "reps_with_no_open_duty": sum(1 for i in ids if not open_by_rep.get(i)),
        "reps_with_several_open_duties": sum(1 for i in ids if open_by_rep.get(i, 0) > 1),
        "acknowledged_not_stored": sum(1 for nonces in acked.values() for n in nonces if n not in stored),
        "reps_acknowledged_for_two_duties": sum(1 for nonces in acked.values() if len(nonces) > 1),
        "duplicates": sum(max(0, n - 1) for n in open_by_rep.values())
        + sum(len(nonces) - 1 for nonces in acked.values() if len(nonces) > 1),
    }


def close_open_duties(engine, reps: list[Rep]) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE duty SET status = 'closed', checked_out_at = checked_in_at "
                "WHERE status = 'open' AND representative_id IN (SELECT id FROM representative "
                "WHERE user_id IN (SELECT id FROM user_account WHERE username LIKE :p))"
            ),
            {"p": USERNAME_PREFIX + "%"},
        )


def checkin_load(
    server, database_url: str, env: dict, k: int, attempts_each: int, rounds: int, connections: int, log
) -> dict:
    """Step 6 of bench/run.py on one database; `server` is its running Gunicorn."""
    port = server.port
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        code = conn.scalar(
            sa.text(
                "SELECT code FROM station WHERE is_active AND presence_policy = 'none' AND kind = 'station' "
                "ORDER BY id LIMIT 1"
            )
        )
    if code is None:
        raise RuntimeError("no active station without a presence policy to check in at")

    t0 = time.perf_counter()
    reps = create_representatives(database_url, env["SECRET_KEY"], k)
    with ThreadPoolExecutor(max_workers=16) as pool:
        reps = list(pool.map(lambda r: sign_in(port, code, r), reps))
    prepare_seconds = time.perf_counter() - t0
    log(
        f"  {k} representatives signed in (own session and CSRF token each) in {prepare_seconds:.1f} s, "
        f"station /s/{code}"
    )

    all_attempts: list[Attempt] = []
    per_round = []
    elapsed_total = 0.0
    cpu_before = server.cpu_seconds()
    for r in range(rounds):
        attempts: list[Attempt] = []
        order = reps[:]
        random.shuffle(order)
        for rep in order:
            double_tap = secrets.token_urlsafe(16)
            mine = [Attempt(rep, double_tap), Attempt(rep, double_tap)]
            mine += [Attempt(rep, secrets.token_urlsafe(16)) for _ in range(max(0, attempts_each - 2))]
            random.shuffle(mine)
            attempts += mine  # side by side: in flight together
        elapsed = fire(port, code, attempts, connections)
        elapsed_total += elapsed
        counted = count_round(engine, reps, attempts)
        statuses = Counter(str(a.result.get("status") or "error") for a in attempts)
        counted.update(
            round=r + 1,
            requests=len(attempts),
            elapsed_seconds=round(elapsed, 3),
            requests_per_second=round(len(attempts) / elapsed, 1) if elapsed else None,
            status_counts=dict(statuses),
        )
        per_round.append(counted)
        log(
            f"  check-in round {r + 1}/{rounds}: {len(attempts)} POSTs in {elapsed:.2f} s "
            f"({counted['requests_per_second']} req/s), statuses {dict(statuses)}, "
            f"one open duty each: {counted['reps_with_one_open_duty']}/{k}"
        )
        all_attempts += attempts
        close_open_duties(engine, reps)
    cpu = server.cpu_seconds() - cpu_before
    with engine.connect() as conn:
        refused_kept = conn.scalar(
            sa.select(sa.func.count())
            .select_from(sa.table("check_in_attempt"))
            .where(sa.column("reason") == "already_open", sa.column("representative_id").in_([r.rep_id for r in reps]))
        )
    engine.dispose()

    results = [a.result for a in all_attempts]
    statuses = Counter(str(res.get("status") or "error") for res in results)
    latencies = [res["seconds"] * 1000 for res in results if "seconds" in res]
    samples = [res for res in results if res.get("status") not in (303, 409)][:3]
    return {
        "station": code,
        "representatives": k,
        "attempts_each": attempts_each,
        "rounds": rounds,
        "connections": connections,
        "prepare_seconds": round(prepare_seconds, 1),
        "requests": len(results),
        "elapsed_seconds": round(elapsed_total, 3),
        "requests_per_second": round(len(results) / elapsed_total, 1) if elapsed_total else None,
        "server_cpu_us_per_request": round(cpu / len(results) * 1e6, 1) if results else None,
        "status_counts": dict(statuses),
        "server_errors_5xx": sum(1 for res in results if (res.get("status") or 0) >= 500),
        "connection_errors": sum(1 for res in results if res.get("status") is None),
        "other_statuses": {s: n for s, n in statuses.items() if s not in ("303", "409") and not s.startswith("5")},
        "refusals_kept": refused_kept,
        "reps_with_one_open_duty_every_round": all(c["reps_with_one_open_duty"] == k for c in per_round),
        "reps_with_several_open_duties": sum(c["reps_with_several_open_duties"] for c in per_round),
        "reps_with_no_open_duty": sum(c["reps_with_no_open_duty"] for c in per_round),
        "acknowledged_not_stored": sum(c["acknowledged_not_stored"] for c in per_round),
        "duplicates": sum(c["duplicates"] for c in per_round),
        "latency_ms": {
            "p50": round(_percentile(latencies, 50) or 0, 1),
            "p99": round(_percentile(latencies, 99) or 0, 1),
            "max": round(max(latencies, default=0), 1),
        },
        "per_round": per_round,
        "samples_not_303_or_409": samples,
    }
