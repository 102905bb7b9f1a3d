"""`make soak`: a steady load against `make cluster` while faults strike, then a count of
what was kept. Residents file concerns (some with a photo) and look them up, representatives
check in and out, staff take concerns up, dispatch and answer them; meanwhile one app server is killed with SIGKILL
and started again, PostgreSQL is restarted, Redis is restarted, and the S3 photo store stops answering for 30 s.

Every request a client saw acknowledged (a concern's receipt, a check-in's redirect) must be
in the database exactly once; a request that got no answer (a dropped connection) is sent
again with the same submission key or nonce, as a browser would, and must not be doubled;
no outbox row is sent twice; every error a client saw was a status with a page, not a
stack trace. Prints the figures; exits 1 when anything was lost or doubled.

    python -m devtools.soak [--minutes 30]        # make soak; SOAK_MINUTES=3 in CI
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
import sqlalchemy as sa
from PIL import Image

from devtools.cluster import APP_PORTS, Cluster

INPUT_RE = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
# How this machine (Debian's packages) restarts its PostgreSQL and Redis.
PG_RESTART = os.environ.get("SOAK_PG_RESTART", "/usr/bin/pg_ctlcluster 15 main restart").split()
REDIS_RESTART = os.environ.get("SOAK_REDIS_RESTART", "/usr/sbin/service redis-server restart").split()
OPTION_RE = re.compile(r'<select[^>]*name="category".*?<option value="(\d+)"', re.S)
CONCERN_LINK_RE = re.compile(r'href="/manage/concerns/(\d+)"')
ACT_FORM_RE = re.compile(r'<form[^>]*action="/manage/concerns/\d+/act"[^>]*>(.*?)</form>', re.S)
SELECT_RE = re.compile(r'<select[^>]*name="([^"]+)"[^>]*>.*?<option value="(\d+)"', re.S)
# The steps the staff clients take, the furthest first: answer, dispatch, take up.
STAFF_STEPS = ("reply", "dispatch", "accept")
# Who moves concerns: the county's congress staff (take up, dispatch) and a handling unit (answer).
STAFF = ("xc_staff", "zk_staff", "xc_housing")


@dataclass
class Figures:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    errors_in_fault: int = 0
    errors_outside: int = 0
    tracebacks: list[str] = field(default_factory=list)
    no_answer: int = 0
    concerns_acknowledged: dict[str, str] = field(default_factory=dict)  # marker → tracking code
    concerns_sent: set[str] = field(default_factory=set)
    with_photo: set[str] = field(default_factory=set)  # markers sent with a photo
    duties_acknowledged: set[str] = field(default_factory=set)  # nonces
    checkouts: int = 0
    steps_acknowledged: list[tuple[int, str]] = field(default_factory=list)  # (concern id, action)
    faults: list[tuple[str, float, float]] = field(default_factory=list)
    in_fault: bool = False

    def record(self, response: Any, started: float) -> None:
        with self.lock:
            self.requests += 1
            if response is None:
                self.no_answer += 1
                return
            self.latencies.append(time.monotonic() - started)
            if response.status_code >= 500:
                if self.in_fault:
                    self.errors_in_fault += 1
                else:
                    self.errors_outside += 1
            if "Traceback (most recent call last)" in response.text:
                self.tracebacks.append(response.url)


def _fields(html: str, action_part: str) -> dict[str, str]:
    """The inputs with a value of the form posting to `action_part` (a form without an
    action posts to its own page: the first such is taken when none names it)."""
    forms = list(re.finditer(r'<form[^>]*method="post"[^>]*>', html))
    named = [f for f in forms if re.search(rf'action="[^"]*{re.escape(action_part)}', f.group(0))]
    chosen = named or [f for f in forms if "action=" not in f.group(0)]
    if not chosen:
        return {}
    start = chosen[0].start()
    return dict(INPUT_RE.findall(html[start : html.find("</form>", start)]))


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (random.randrange(256), 90, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


class Soak:
    def __init__(self, cluster: Cluster, minutes: float, seed: int = 2026):
        self.cluster = cluster
        self.url = cluster.url
        self.seconds = minutes * 60
        self.figures = Figures()
        self.stop = threading.Event()
        self.random = random.Random(seed)
        engine = sa.create_engine(cluster.env["DATABASE_URL"])
        with engine.connect() as conn:
            self.stations = [
                row[0] for row in conn.execute(sa.text("SELECT code FROM station WHERE is_active ORDER BY id"))
            ]
            self.reps = conn.execute(
                sa.text(
                    "SELECT DISTINCT ON (u.id) u.username, s.code FROM user_account u "
                    "JOIN representative r ON r.user_id = u.id "
                    "JOIN representative_station rs ON rs.representative_id = r.id "
                    "JOIN station s ON s.id = rs.station_id "
                    "WHERE s.is_active AND s.presence_policy = 'none' AND u.username LIKE 'rep\\_%' ORDER BY u.id"
                )
            ).all()
        engine.dispose()

    # --- what the clients do ------------------------------------------------------------

    def _send(self, session: requests.Session, method: str, path: str, **kw) -> Any:
        started = time.monotonic()
        try:
            response = session.request(method, self.url + path, timeout=30, allow_redirects=False, **kw)
        except requests.RequestException:
            response = None
        self.figures.record(response, started)
        return response

    def resident(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            code = self.random.choice(self.stations)
            form = self._send(session, "GET", f"/s/{code}/concern")
            if form is None or form.status_code != 200:
                time.sleep(1)
                continue
            fields = _fields(form.text, "/concern")
            category = OPTION_RE.search(form.text)
            marker = f"soak-{uuid.uuid4().hex[:12]}"
            data = {
                **fields,
                "category": category.group(1) if category else "",
                "content": f"小区门口的路灯坏了，晚上出行很不方便，请帮忙联系修理。{marker}",
                "anonymous": "y",
            }
            files = {"photos": ("photo.jpg", _photo(), "image/jpeg")} if self.random.random() < 0.3 else None
            with self.figures.lock:
                self.figures.concerns_sent.add(marker)
                if files:
                    self.figures.with_photo.add(marker)
            for _attempt in range(5):  # no answer: send the same form again, as a browser would
                answer = self._send(session, "POST", f"/s/{code}/concern", data=data, files=files)
                receipt = re.search(r"/t/([A-Z0-9]+)/receipt", answer.headers.get("Location", "")) if answer else None
                if answer is not None and answer.status_code == 303 and receipt is not None:
                    tracking = receipt.group(1)
                    with self.figures.lock:
                        self.figures.concerns_acknowledged[marker] = tracking
                    self._send(session, "GET", f"/t/{tracking}")
                    break
                if answer is not None and answer.status_code < 500:
                    break  # refused with a page (a limit, a closed station): not acknowledged
                time.sleep(1)
            time.sleep(self.random.uniform(0.2, 0.8))

    def representative(self, username: str, code: str) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            page = self._send(session, "GET", "/login")
            if page is None or page.status_code != 200:
                time.sleep(1)
                continue
            fields = _fields(page.text, "/login")
            login = self._send(
                session, "POST", "/login", data={**fields, "login": username, "password": "mashang-demo"}
            )
            if login is None or login.status_code != 302 and login.status_code != 303:
                time.sleep(2)
                continue
            while not self.stop.is_set():
                station = self._send(session, "GET", f"/s/{code}")
                if station is None or station.status_code != 200:
                    time.sleep(1)
                    continue
                if "/check-out" in station.text:
                    action = re.search(r'action="(/duty/\d+/check-out)"', station.text)
                    if action:
                        data = {**_fields(station.text, action.group(1)), "residents_received": "1", "notes": ""}
                        done = self._send(session, "POST", action.group(1), data=data)
                        if done is not None and done.status_code == 303:
                            with self.figures.lock:
                                self.figures.checkouts += 1
                elif "/check-in" in station.text:
                    fields = _fields(station.text, "/check-in")
                    for _attempt in range(5):
                        answer = self._send(session, "POST", f"/s/{code}/check-in", data=fields)
                        if answer is not None and answer.status_code == 303:
                            with self.figures.lock:
                                self.figures.duties_acknowledged.add(fields.get("nonce", ""))
                            break
                        if answer is not None and answer.status_code < 500:
                            break
                        time.sleep(1)
                elif "/login" in station.text and "duty-panel" not in station.text:
                    break  # signed out (a restart ended nothing, but say the truth): sign in again
                time.sleep(self.random.uniform(1, 3))

    def staff(self, username: str) -> None:
        """Sign in and move the concerns in reach one step on (take up, dispatch, answer),
        sending a step again with the same version when no answer came."""
        session = requests.Session()
        while not self.stop.is_set():
            page = self._send(session, "GET", "/login")
            if page is None or page.status_code != 200:
                time.sleep(1)
                continue
            data = {**_fields(page.text, "/login"), "login": username, "password": "mashang-demo"}
            signed_in = self._send(session, "POST", "/login", data=data)
            if signed_in is not None and signed_in.status_code in (302, 303):
                break
            time.sleep(2)
        while not self.stop.is_set():
            inbox = self._send(session, "GET", "/manage/concerns")
            ids = sorted(set(CONCERN_LINK_RE.findall(inbox.text))) if inbox is not None and inbox.ok else []
            if ids:
                self._step(session, self.random.choice(ids))
            time.sleep(self.random.uniform(0.5, 2))

    def _step(self, session: requests.Session, concern_id: str) -> None:
        page = self._send(session, "GET", f"/manage/concerns/{concern_id}")
        if page is None or page.status_code != 200:
            return
        forms = {}
        for match in ACT_FORM_RE.finditer(page.text):
            body = match.group(1)
            fields = dict(INPUT_RE.findall(body))
            if fields.get("action") in STAFF_STEPS:
                for name, option in SELECT_RE.findall(body):
                    fields[name] = option
                forms[fields["action"]] = fields
        chosen = next((forms[action] for action in STAFF_STEPS if action in forms), None)
        if chosen is None:
            return
        data = {**chosen, "note": "已按程序办理。soak"}
        for _attempt in range(5):
            answer = self._send(session, "POST", f"/manage/concerns/{concern_id}/act", data=data)
            moved_to = answer.headers.get("Location", "") if answer is not None else ""
            if answer is not None and answer.status_code in (302, 303) and moved_to.endswith(f"/concerns/{concern_id}"):
                with self.figures.lock:
                    self.figures.steps_acknowledged.append((int(concern_id), chosen["action"]))
                return
            if answer is not None and answer.status_code < 500:
                return  # refused with a page: someone moved it first, or the retry found it done
            time.sleep(1)

    # --- faults -------------------------------------------------------------------------

    def _fault(self, name: str, action) -> None:
        self.figures.in_fault = True
        started = time.monotonic()
        try:
            action()
        finally:
            time.sleep(5)  # the recovery counts as the fault's time
            self.figures.in_fault = False
            self.figures.faults.append((name, started, time.monotonic()))
            print(f"  fault: {name} ({time.monotonic() - started:.0f} s)", flush=True)

    def kill_app_server(self) -> None:
        name = f"app-{APP_PORTS[0]}"
        self.cluster.kill(name)  # the master and its workers, mid-request
        time.sleep(2)
        self.cluster.restart(name)

    def store_unreachable(self) -> None:
        """The S3 server stops answering for 30 s (frozen: connections hang, nothing is lost)."""
        process = self.cluster.processes["s3"]
        os.kill(process.pid, signal.SIGSTOP)
        try:
            time.sleep(30)
        finally:
            os.kill(process.pid, signal.SIGCONT)

    @staticmethod
    def restart_postgresql() -> None:
        subprocess.run(PG_RESTART, check=True, timeout=120)  # noqa: S603

    @staticmethod
    def restart_redis() -> None:
        subprocess.run(REDIS_RESTART, check=True, timeout=60, capture_output=True)  # noqa: S603

    # --- the run ------------------------------------------------------------------------

    def run(self) -> int:
        threads = [threading.Thread(target=self.resident, daemon=True) for _ in range(4)]
        threads += [threading.Thread(target=self.representative, args=rep, daemon=True) for rep in self.reps[:4]]
        threads += [threading.Thread(target=self.staff, args=(name,), daemon=True) for name in STAFF]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        self.began_at = datetime.now(UTC).replace(tzinfo=None)  # events are stored in naive UTC
        schedule = [
            (0.2, "app server killed (SIGKILL) and started again", self.kill_app_server),
            (0.4, "PostgreSQL restarted", self.restart_postgresql),
            (0.6, "Redis restarted", self.restart_redis),
            (0.8, "photo store unreachable for 30 s", self.store_unreachable),
        ]
        for at, name, action in schedule:
            while time.monotonic() - began < at * self.seconds:
                time.sleep(0.5)
            self._fault(name, action)
        while time.monotonic() - began < self.seconds:
            time.sleep(0.5)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=40)
        time.sleep(3)
        return self.report()

    def report(self) -> int:
        f = self.figures
        engine = sa.create_engine(self.cluster.env["DATABASE_URL"])
        with engine.connect() as conn:
            stored: dict[str, int] = dict(
                conn.execute(
                    sa.text(
                        "SELECT substring(content from 'soak-[0-9a-f]{12}') AS marker, count(*) FROM concern "
                        "WHERE content LIKE '%soak-%' GROUP BY marker"
                    )
                )
                .tuples()
                .all()
            )
            tracking = {
                row[0]: row[1]
                for row in conn.execute(
                    sa.text(
                        "SELECT substring(content from 'soak-[0-9a-f]{12}'), tracking_code FROM concern "
                        "WHERE content LIKE '%soak-%'"
                    )
                )
            }
            doubled_duties = conn.execute(
                sa.text("SELECT count(*) FROM (SELECT nonce FROM duty GROUP BY nonce HAVING count(*) > 1) d")
            ).scalar()
            open_twice = conn.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT representative_id FROM duty WHERE status = 'open' "
                    "GROUP BY representative_id HAVING count(*) > 1) d"
                )
            ).scalar()
            duties_found = set(
                conn.execute(
                    sa.text("SELECT nonce FROM duty WHERE nonce = ANY(:n)"), {"n": list(f.duties_acknowledged)}
                )
                .scalars()
                .all()
            )
            steps = (
                conn.execute(
                    sa.text(
                        "SELECT concern_id, action, count(*) FROM concern_event "
                        "WHERE created_at >= :began AND action IN ('accept', 'dispatch', 'reply') "
                        "GROUP BY concern_id, action"
                    ),
                    {"began": self.began_at},
                )
                .tuples()
                .all()
            )
            photos: dict[str, int] = dict(
                conn.execute(
                    sa.text(
                        "SELECT substring(c.content from 'soak-[0-9a-f]{12}'), count(a.id) FROM concern c "
                        "LEFT JOIN attachment a ON a.concern_id = c.id WHERE c.content LIKE '%soak-%' GROUP BY 1"
                    )
                )
                .tuples()
                .all()
            )
        engine.dispose()
        # The log sender writes a line per delivery: a row delivered twice shows twice.
        delivered = re.findall(r"outbox (\d+) (?:sms|email) to", (self.cluster.work / "jobs.log").read_text())
        sent_twice = len(delivered) - len(set(delivered))
        lost = [m for m, code in f.concerns_acknowledged.items() if tracking.get(m) != code]
        doubled = [m for m, n in stored.items() if n > 1]
        lost_duties = f.duties_acknowledged - duties_found
        lost_photos = [m for m in f.with_photo if m in f.concerns_acknowledged and not photos.get(m)]
        # No step is sent back in the soak, so each concern (the demo's too) takes each step at
        # most once while it runs.
        step_counts = {(concern_id, action): n for concern_id, action, n in steps}
        steps_doubled = sum(1 for n in step_counts.values() if n > 1)
        steps_lost = [step for step in f.steps_acknowledged if step not in step_counts]
        latencies = sorted(f.latencies)
        p50 = statistics.median(latencies) if latencies else 0
        p99 = (
            latencies[int(len(latencies) * 0.99) - 1] if len(latencies) >= 100 else (latencies[-1] if latencies else 0)
        )
        print()
        print(f"soak: {self.seconds / 60:.0f} minutes, faults: {', '.join(name for name, _s, _e in f.faults)}")
        print(f"  requests                    {f.requests:>8}")
        print(f"  without an answer           {f.no_answer:>8}  (sent again with the same key)")
        print(f"  concerns sent               {len(f.concerns_sent):>8}")
        print(f"  concerns acknowledged       {len(f.concerns_acknowledged):>8}")
        print(f"  concerns stored             {len(stored):>8}  ({sum(photos.values())} photos)")
        print(f"  acknowledged, photo lost    {len(lost_photos):>8}")
        print(f"  lost                        {len(lost):>8}")
        print(f"  duplicated                  {len(doubled):>8}")
        print(f"  check-ins acknowledged      {len(f.duties_acknowledged):>8}")
        print(
            f"  check-ins lost / doubled    {len(lost_duties):>8} / {doubled_duties} (two open at once: {open_twice})"
        )
        print(f"  check-outs                  {f.checkouts:>8}")
        taken = {a: sum(1 for _c, action in f.steps_acknowledged if action == a) for a in STAFF_STEPS}
        print(
            f"  staff steps acknowledged    {len(f.steps_acknowledged):>8}"
            f"  (taken up {taken['accept']}, dispatched {taken['dispatch']}, answered {taken['reply']})"
        )
        print(f"  steps lost / doubled        {len(steps_lost):>8} / {steps_doubled}")
        print(f"  outbox rows sent twice      {sent_twice:>8}")
        print(f"  5xx during faults           {f.errors_in_fault:>8}")
        print(f"  5xx outside faults          {f.errors_outside:>8}")
        print(f"  stack traces shown          {len(f.tracebacks):>8}")
        print(f"  latency p50 / p99 (s)       {p50:>8.3f} / {p99:.3f}")
        bad = (
            lost or doubled or lost_photos or lost_duties or doubled_duties or open_twice or sent_twice or f.tracebacks
        )
        bad = bad or steps_lost or steps_doubled
        bad = bad or f.errors_outside
        print("soak: " + ("FAILED" if bad else "ok: nothing lost, nothing doubled"))
        return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    args = parser.parse_args()
    # Every simulated client comes from 127.0.0.1: the per-address limits (nginx's and the
    # app's) would stop the load itself, so they are lifted; the cluster test checks them.
    unlimited = "100000 per minute"
    settings = {name: unlimited for name in ("CONCERN_RATE_LIMIT", "LOOKUP_RATE_LIMIT", "LOGIN_RATE_LIMIT")}
    cluster = Cluster(settings=settings, limits=False)
    print(f"soak: starting the cluster (logs in {cluster.work})", flush=True)
    with cluster:
        code = Soak(cluster, args.minutes).run()
    sys.exit(code)


if __name__ == "__main__":
    main()
