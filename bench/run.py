"""The benchmark behind DESIGN.md's budgets. It prints figures; it asserts nothing.

One run, per database (SQLite always, PostgreSQL when BENCH_DATABASE_URL is set):

1. gunicorn with the production settings and the same gunicorn.conf.py as `make run`, on a
   fresh database (migrated, demo data loaded), rate limiting off;
2. beside it, for the whole run, a second gunicorn with the same settings serving
   bench/hello_app.py, the bare Flask "hello" yardstick;
3. wrk at 64 connections on both, in the same run: requests/s, p99 and the ratio;
4. the station page's weight: HTML plus the CSS and JS it links;
5. N concurrent submissions of the concern form from N separate residents, then double
   taps, then a count in the database;
6. the check-in POST (bench/checkin.py): K signed-in representatives, several check-ins
   each at once (double taps and new nonces) over 64 connections, then a count in the
   database: no 5xx, one open duty per representative, no duplicate;
7. concerns with photos (bench/photos.py): P residents each send three 12-megapixel JPEGs
   at once, then a count in the database; and, once per run, the worst-case photos each
   decoded in a fresh process, their peak memory printed;
8. spreadsheet imports (bench/imports.py): 135 stations and 9,700 representatives, preview
   and apply timed on SQLite and, with BENCH_DATABASE_URL, on PostgreSQL;
9. the inbox's export at its limit (bench/exports.py): 50,000 concerns as .xlsx and as
   CSV, seconds and peak memory, on the same databases;
10. with BENCH_DATABASE_URL, the inbox (word search included) at DESIGN.md's scale
   (bench/inbox.py).

The figures end up in a table and in bench/out/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from form_post import concern_fields, new_boundary, post_form
from memory import TARGET_GROWTH
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"

# Each page's requests/s beside the bare "hello" route's (issue 17): the printed codes'
# pages and image at 90 %, a concern's tracking page (per concern, no shared copy) at 80 %.
# The API's read is printed beside them, with no target.
PAGES = {
    "station": ("station page", 0.90),
    "rep": ("representative's page", 0.90),
    "qr": ("station's QR image", 0.90),
    "tracking": ("tracking page", 0.80),
    "api": ("API: one station", None),
}
TARGET_P99_MS = 100.0
SIZE_BUDGET = 50 * 1000  # bytes; "50 KB", read strictly

# An empty ACCESS_LOG switches gunicorn's access log off (gunicorn.conf.py): production
# sites log at the reverse proxy, and both servers here are measured alike.
ACCESS_LOG = ""


# --- small helpers ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def median_of(values) -> float | None:
    present = sorted(v for v in values if v is not None)
    if not present:
        return None
    mid = len(present) // 2
    return present[mid] if len(present) % 2 else (present[mid - 1] + present[mid]) / 2


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def http_get(port: int, path: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


# --- gunicorn ----------------------------------------------------------------------------


class Gunicorn:
    """One gunicorn master, started with the project's gunicorn.conf.py and --bind."""

    def __init__(self, name: str, app_spec: str, env: dict, port: int, log_path: Path, workdir: Path):
        self.name, self.app_spec, self.env, self.port, self.log_path = name, app_spec, env, port, log_path
        # gunicorn 27 gives every instance of a user the same control socket by default;
        # our own keeps `make run` (or another bench) and this one from taking over each other's.
        self.control_socket = workdir / f"{name}.ctl"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, ready_path: str) -> None:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        cmd = [
            str(BIN / "gunicorn"),
            "--config",
            str(GUNICORN_CONF),
            "--bind",
            f"{HOST}:{self.port}",
            "--control-socket",
            str(self.control_socket),
            self.app_spec,
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.name}) exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _, _ = http_get(self.port, ready_path, timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn ({self.name}) not ready after 60 s:\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            hint = ""
            if "Handling signal" in self.log_tail(40):
                hint = " It was sent a signal from outside the bench (another process stopping gunicorn?): run again."
            raise RuntimeError(f"gunicorn ({self.name}) is gone (exit {code}).{hint} Its log ends:\n{self.log_tail(4)}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the server has answered what an earlier load left queued (its CPU all
        but still), so that a round measures only its own requests: right after the API's
        round its workers were still busy a fraction of a second, in the next route's p99."""
        deadline = time.monotonic() + timeout
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.cpu_seconds()
            if now - last < 0.01:
                return
            last = now

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (Linux /proc)."""
        if self.proc is None:
            return 0.0
        pids = [self.proc.pid]
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(c) for c in (task / "children").read_text().split()]
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
                if pid == self.proc.pid:
                    # Workers already replaced (max_requests) and reaped by the master: their CPU
                    # is in the master's cutime and cstime, or it would vanish from the sum.
                    ticks += int(fields[13]) + int(fields[14])
            except (OSError, IndexError, ValueError):
                pass
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_counts(self) -> dict:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "database_is_locked": text.count("database is locked"),
            "worker_timeouts": text.count("WORKER TIMEOUT"),
            "log_file": str(self.log_path),
        }


def gunicorn_settings(env: dict) -> dict:
    """What gunicorn.conf.py resolves to under this environment."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        conf = runpy.run_path(str(GUNICORN_CONF))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    settings = {k: conf[k] for k in ("worker_class", "workers", "threads", "keepalive", "timeout", "reuse_port")}
    # With a socket per worker, whether the kernel hands a leaving worker's queued connections
    # to the others (deploy/README.md) or resets them (wrk's socket errors at a replacement).
    migrate = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    settings["tcp_migrate_req"] = migrate.read_text().strip() if migrate.exists() else "n/a"
    return settings


def production_env(database_url: str, port: int, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("BIND", "DATABASE_URL")}
    env.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        PUBLIC_BASE_URL=f"http://{HOST}:{port}",
        RATELIMIT_ENABLED="false",
        ACCESS_LOG=ACCESS_LOG,
        UPLOAD_FOLDER=str(workdir / "uploads"),
        QRCODE_FOLDER=str(workdir / "qrcodes"),
        FLASK_APP="app:create_app",
        PYTHONUNBUFFERED="1",
    )
    return env


# --- databases ---------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # "sqlite" or "postgresql"
    url: str  # what the app gets as DATABASE_URL
    cleanup: object = None  # callable or None
    label: str = ""


def sqlite_database(workdir: Path) -> Database:
    path = workdir / "bench.sqlite3"
    return Database("sqlite", f"sqlite:///{path}", None, str(path))


def postgres_database(raw_url: str, keep: bool) -> Database:
    """A fresh schema in the named database (created when missing); dropped afterwards."""
    url = make_url(raw_url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if url.database in (None, "", "test"):
        raise SystemExit(f"BENCH_DATABASE_URL must name its own database, not {url.database!r} (the tests use 'test').")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
        if not exists:
            log(f"creating PostgreSQL database {url.database!r}")
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()

    schema = f"bench_{datetime.now(UTC):%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    app_url = url.update_query_dict({"options": f"-csearch_path={schema}"})

    def drop():
        if keep:
            log(f"kept PostgreSQL schema {schema} in {url.database}")
            return
        eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        eng.dispose()

    label = f"{url.render_as_string(hide_password=True)} (schema {schema})"
    return Database("postgresql", app_url.render_as_string(hide_password=False), drop, label)


def prepare_database(db: Database, env: dict) -> dict:
    """Migrate, load the demo data, and fall back to a few stations of our own."""
    for args in (["db", "upgrade"], ["seed-demo"]):
        # The demo data refuses production (its accounts share a published password): the
        # throw-away benchmark database loads it as development; the server runs as production.
        run_env = {**env, "APP_ENV": "development"} if args[0] == "seed-demo" else env
        done = subprocess.run(
            [str(BIN / "flask"), *args], cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        if args[0] == "seed-demo":
            seed_output = done.stdout.strip().splitlines()[-1:] or [""]
    engine = sa.create_engine(db.url)
    with engine.connect() as conn:
        stations = conn.scalar(sa.text("SELECT count(*) FROM station WHERE is_active"))
        categories = conn.scalar(sa.text("SELECT count(*) FROM category WHERE is_active"))
    engine.dispose()
    source = "flask seed-demo"
    if not stations or not categories:
        log("flask seed-demo loaded no station or category (devtools/demo_data/ empty?): seeding our own")
        seed_own(db.url, env)
        source = "bench fallback seed (seed-demo loaded nothing)"
    engine = sa.create_engine(db.url)
    with engine.connect() as conn:
        counts = {
            t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("station", "representative", "category", "concern")
        }
        row = conn.execute(
            sa.text(
                "SELECT s.code, s.name, count(rs.representative_id) AS reps FROM station s "
                "LEFT JOIN representative_station rs ON rs.station_id = s.id WHERE s.is_active "
                "GROUP BY s.id, s.code, s.name ORDER BY count(rs.representative_id) DESC, s.id LIMIT 1"
            )
        ).one()
        # The busiest station's first representative with a code: their page (代表码) is the
        # other printed page a resident scans.
        rep_code = conn.scalar(
            sa.text(
                "SELECT r.code FROM representative r JOIN representative_station rs ON rs.representative_id = r.id "
                "JOIN station s ON s.id = rs.station_id WHERE s.code = :code AND r.code IS NOT NULL "
                "ORDER BY r.id LIMIT 1"
            ),
            {"code": row.code},
        )
        # The concern with the longest public timeline: a resident following it.
        tracking = conn.scalar(
            sa.text(
                "SELECT c.tracking_code FROM concern c JOIN concern_event e ON e.concern_id = c.id "
                "WHERE e.is_public GROUP BY c.id, c.tracking_code ORDER BY count(*) DESC, c.id LIMIT 1"
            )
        )
    engine.dispose()
    return {
        "tracking": tracking,
        "source": source,
        "seed_output": seed_output[0],
        "counts": counts,
        "station": row.code,
        "name": row.name,
        "rep": rep_code,
    }


def seed_own(database_url: str, env: dict) -> None:
    """A few stations, representatives and categories through the app's own models."""
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from extensions import db
    from models import Category, Region, Representative, Station, User
    from models.enums import RegionLevel, RepLevel, Role, StationCategory, StationKind
    from services.codes import new_rep_code, new_station_code

    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": env["SECRET_KEY"], "APP_ENV": "production", "TESTING": False}
    )
    with app.app_context():
        henan = Region(code="410000", name="河南省", level=RegionLevel.PROVINCE)
        zhoukou = Region(code="411600", name="周口市", level=RegionLevel.CITY, parent=henan)
        xiangcheng = Region(code="411681", name="项城市", level=RegionLevel.COUNTY, parent=zhoukou)
        db.session.add_all([henan, zhoukou, xiangcheng])
        main = Station(
            code=new_station_code(),
            name="项城市莲花街道人大代表联络站",
            kind=StationKind.STATION,
            category=StationCategory.COMMUNITY,
            region=xiangcheng,
            address="项城市莲花大道18号",
            opening_hours="周一至周五 9:00–17:30",
            phone="0394-4321234",
            intro="联络站每月15日为代表集中接待日，群众可扫码反映意见建议，也可到站当面反映。",
        )
        other = Station(
            code=new_station_code(),
            name="项城市防水行业人大代表联络站",
            kind=StationKind.STATION,
            category=StationCategory.INDUSTRY,
            region=xiangcheng,
        )
        db.session.add_all([main, other])
        people = [
            ("王建国", RepLevel.PROVINCIAL, "防水工程企业负责人"),
            ("李秀兰", RepLevel.CITY, "社区党委书记"),
            ("张伟", RepLevel.COUNTY, "小学教师"),
            ("刘芳", RepLevel.COUNTY, "个体工商户"),
            ("陈明", RepLevel.TOWNSHIP, "村委会主任"),
        ]
        for i, (name, level, job) in enumerate(people):
            user = User(username=f"bench-rep-{i}", display_name=name, password_hash="!", role=Role.REPRESENTATIVE)
            db.session.add(Representative(user=user, code=new_rep_code(), level=level, occupation=job, stations=[main]))
        for i, (code, zh, en) in enumerate(
            [
                ("urban", "城乡建设", "Urban and rural development"),
                ("transport", "交通出行", "Transport"),
                ("education", "教育卫生", "Education and health"),
                ("livelihood", "民生保障", "Livelihood"),
            ]
        ):
            db.session.add(Category(code=code, name_zh=zh, name_en=en, sort_order=i))
        db.session.commit()
        db.engine.dispose()


# --- wrk ---------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def run_wrk(url: str, seconds: int, connections: int, threads: int, server: Gunicorn | None = None) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    cpu_before = server.cpu_seconds() if server else 0.0
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    cpu = server.cpu_seconds() - cpu_before if server else None
    result: dict = {"url": url, "command": " ".join(cmd), "server_cpu_seconds": cpu}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        result["rps"] = float(m.group(1))
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M):
            result[f"p{pct}_ms"] = _ms(m.group(1), m.group(2))
    if m := re.search(r"(\d+) requests in", out):
        result["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non_2xx_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(map(int, m.groups())) if m else 0
    if m:
        # Which: read errors and timeouts come from connections a replaced worker closed.
        result["socket_error_kinds"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True)
        )
    if cpu is not None and result.get("requests"):
        # CPU the server spent per request: unlike req/s, barely moved by other load on the machine.
        result["server_cpu_us_per_request"] = round(cpu / result["requests"] * 1e6, 1)
    if "rps" not in result:
        result["raw"] = out[-2000:]
    return result


# --- the station page's weight -----------------------------------------------------------


class AssetParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.all_refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and "stylesheet" in (a.get("rel") or "").lower().split() and a.get("href"):
            self.stylesheets.append(a["href"])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("link", "script", "img", "iframe", "source"):
                self.all_refs.append(a[key])


def page_weight(port: int, path: str) -> dict:
    status, _, html = http_get(port, path)
    parser = AssetParser()
    parser.feed(html.decode("utf-8", "replace"))
    base = f"http://{HOST}:{port}{path}"
    files = [{"url": path, "kind": "html", "status": status, "bytes": len(html)}]
    for kind, refs in (("css", parser.stylesheets), ("js", parser.scripts)):
        for ref in refs:
            absolute = urlsplit(urljoin(base, ref))
            if absolute.netloc != f"{HOST}:{port}":
                files.append({"url": ref, "kind": kind, "status": None, "bytes": None, "external": True})
                continue
            st, _, body = http_get(port, absolute.path + (f"?{absolute.query}" if absolute.query else ""))
            files.append({"url": absolute.path, "kind": kind, "status": st, "bytes": len(body)})
    external = [r for r in parser.all_refs if urlsplit(urljoin(base, r)).netloc not in ("", f"{HOST}:{port}")]
    total = sum(f["bytes"] or 0 for f in files)
    return {"files": files, "total_bytes": total, "budget_bytes": SIZE_BUDGET, "external_refs": external}


# --- concurrent writes -------------------------------------------------------------------


class FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.categories: list[str] = []
        self._in_category = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._in_category = a.get("name") == "category"
        elif tag == "option" and self._in_category and (a.get("value") or "").strip():
            self.categories.append(a["value"])

    def handle_endtag(self, tag):
        if tag == "select":
            self._in_category = False


@dataclass
class Resident:
    index: int
    cookie: str
    csrf_token: str
    submission_key: str
    category: str
    content: str
    result: dict = field(default_factory=dict)


def open_form(port: int, code: str, index: int, run_tag: str) -> Resident:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", f"/s/{code}/concern", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        if resp.status != 200:
            raise RuntimeError(f"GET /s/{code}/concern gave {resp.status}")
        jar = SimpleCookie()
        for header in resp.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    finally:
        conn.close()
    form = FormParser()
    form.feed(body)
    if not form.inputs.get("csrf_token") or not form.inputs.get("submission_key") or not form.categories:
        raise RuntimeError("the concern form lacks csrf_token, submission_key or a category")
    content = (
        "小区东门外的路灯已经坏了两个多月，晚上出行很不方便，老人孩子容易摔倒，希望尽快修好。"
        f"（压测{run_tag}第{index}号）"
    )
    return Resident(
        index=index,
        cookie="; ".join(f"{k}={m.value}" for k, m in jar.items()),
        csrf_token=form.inputs["csrf_token"],
        submission_key=form.inputs["submission_key"],
        category=form.categories[index % len(form.categories)],
        content=content,
    )


def multipart(fields: list[tuple[str, str]], boundary: str) -> bytes:
    """What a browser sends for this form, an empty file input included."""
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode()


def post_concern(port: int, code: str, r: Resident) -> dict:
    boundary = new_boundary()
    body = multipart(concern_fields(r), boundary)
    return post_form(port, f"/s/{code}/concern", r.cookie, boundary, body)


def fire_at_once(port: int, code: str, residents: list[Resident]) -> tuple[list[dict], float]:
    """One thread per resident, all released together by a barrier."""
    results: list[dict] = [{} for _ in residents]
    barrier = threading.Barrier(len(residents) + 1)

    def worker(i: int, r: Resident):
        barrier.wait()
        results[i] = post_concern(port, code, r)

    threading.stack_size(512 * 1024)
    threads = [threading.Thread(target=worker, args=(i, r), daemon=True) for i, r in enumerate(residents)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return results, time.perf_counter() - t0


def concurrent_writes(server: Gunicorn, code: str, db: Database, n: int, double_taps: int) -> dict:
    port = server.port
    run_tag = secrets.token_hex(3)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        residents = list(pool.map(lambda i: open_form(port, code, i, run_tag), range(n)))
    prepare_seconds = time.perf_counter() - t0
    log(f"  {n} residents hold a form (each its own session cookie) in {prepare_seconds:.1f} s; firing all at once")

    engine = sa.create_engine(db.url)
    with engine.connect() as conn:
        rows_before = conn.scalar(sa.text("SELECT count(*) FROM concern"))

    cpu_before = server.cpu_seconds()
    results, elapsed = fire_at_once(port, code, residents)
    write_cpu = server.cpu_seconds() - cpu_before
    for r, res in zip(residents, results, strict=True):
        r.result = res
    statuses = Counter(str(res["status"]) if res["status"] is not None else "error" for res in results)
    acked = [r for r in residents if r.result.get("code")]
    server_errors = sum(1 for res in results if res["status"] is not None and res["status"] >= 500)
    latencies = [res["seconds"] * 1000 for res in results]

    # Double taps: the very same request again (same key, same pre-submit cookie), all at once.
    taps = random.sample(acked, min(double_taps, len(acked)))
    tap_results, tap_elapsed = fire_at_once(port, code, taps) if taps else ([], 0.0)
    same = sum(1 for r, res in zip(taps, tap_results, strict=True) if res.get("code") == r.result["code"])
    tap_statuses = Counter(str(res["status"]) if res["status"] is not None else "error" for res in tap_results)

    marker = f"%（压测{run_tag}第%"
    with engine.connect() as conn:
        rows_after = conn.scalar(sa.text("SELECT count(*) FROM concern"))
        stored = conn.execute(
            sa.text("SELECT tracking_code, submission_key, content FROM concern WHERE content LIKE :m"), {"m": marker}
        ).all()
        events = conn.scalar(
            sa.text(
                "SELECT count(*) FROM concern_event e JOIN concern c ON c.id = e.concern_id WHERE c.content LIKE :m"
            ),
            {"m": marker},
        )
    engine.dispose()

    by_code = Counter(row.tracking_code for row in stored)
    by_key = Counter(row.submission_key for row in stored)
    by_content = Counter(row.content for row in stored)
    key_of_code = {row.tracking_code: row.submission_key for row in stored}
    acked_codes = {r.result["code"] for r in acked}
    acked_keys = {r.submission_key for r in acked}
    stored_once = sum(1 for r in acked if by_code.get(r.result["code"]) == 1)
    wrong_row = sum(1 for r in acked if key_of_code.get(r.result["code"], r.submission_key) != r.submission_key)
    duplicates = sum(c - 1 for c in by_content.values() if c > 1) + sum(c - 1 for c in by_key.values() if c > 1)
    unacked_stored = sum(1 for row in stored if row.submission_key not in acked_keys)
    errors = Counter(res.get("error", "").split(":")[0] for res in results if res.get("error"))
    samples = [res for res in results if res["status"] not in (303,)][:3]

    return {
        "n": n,
        "prepare_seconds": round(prepare_seconds, 2),
        "acknowledged": len(acked),
        "distinct_acknowledged": len(acked_keys),
        "distinct_tracking_codes": len(acked_codes),
        "status_counts": dict(statuses),
        "server_errors_5xx": server_errors,
        "other_statuses": {k: v for k, v in statuses.items() if k != "303" and not k.startswith("5")},
        "connection_errors": dict(errors),
        "rows_in_db": len(stored),
        "rows_added_total": rows_after - rows_before,
        "events_in_db": events,
        "acknowledged_stored_once": stored_once,
        "acknowledged_missing": sum(1 for r in acked if r.result["code"] not in by_code),
        "acknowledged_wrong_row": wrong_row,
        "duplicates": duplicates,
        "stored_not_acknowledged": unacked_stored,
        "rows_equal_acknowledged": len(stored) == len(acked_keys),
        "elapsed_seconds": round(elapsed, 3),
        "submissions_per_second": round(len(acked) / elapsed, 1) if elapsed else None,
        "server_cpu_ms_per_submission": round(write_cpu / n * 1000, 2),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) or 0, 1),
            "p99": round(percentile(latencies, 99) or 0, 1),
            "max": round(max(latencies, default=0), 1),
        },
        "double_taps": {
            "sent": len(taps),
            "same_tracking_code": same,
            "status_counts": dict(tap_statuses),
            "elapsed_seconds": round(tap_elapsed, 3),
        },
        "samples_not_303": samples,
    }


# --- one database, start to finish -------------------------------------------------------


def bench_database(db: Database, args, hello: Gunicorn, workdir: Path) -> dict:
    """Steps 1, 3, 4 and 5 on one database. A failing step ends this database's run; the
    figures measured before it are kept, and the error is reported beside them."""
    log(f"== {db.kind}: {db.label}")
    port = free_port()
    env = production_env(db.url, port, workdir)
    result: dict = {"database": db.label, "port": port}
    app = Gunicorn(f"app-{db.kind}", "app:create_app()", env, port, OUT / f"gunicorn-{db.kind}.log", workdir)
    try:
        seed = result["seed"] = prepare_database(db, env)
        log(f"  {seed['source']}: {seed['counts']}; station /s/{seed['station']} ({seed['name']})")
        app.start("/healthz")
        station_path = f"/s/{seed['station']}"
        pages = {"station": station_path}
        if seed["rep"]:
            pages["rep"] = f"/r/{seed['rep']}"
        pages["qr"] = f"{station_path}/qr.png"
        if seed["tracking"]:
            pages["tracking"] = f"/t/{seed['tracking']}"
        pages["api"] = f"/api/v1/stations/{seed['station']}"
        for path in pages.values():
            status, _, _ = http_get(port, path)
            if status != 200:
                raise RuntimeError(f"GET {path} gave {status}; server log ends:\n{app.log_tail(6)}")

        targets = {"bare": (f"http://{HOST}:{hello.port}/", hello)}
        targets.update({name: (f"http://{HOST}:{port}{path}", app) for name, path in pages.items()})
        log(f"  warm-up {args.warmup} s each")
        for url, _server in targets.values():
            run_wrk(url, args.warmup, args.connections, args.wrk_threads)
        # Alternating rounds, the best of each kept: other load on the machine only ever
        # lowers a figure, so the best round is the one it disturbed least.
        rounds: dict[str, list[dict]] = {name: [] for name in targets}
        for i in range(args.rounds):
            order = list(targets) if i % 2 == 0 else list(reversed(targets))
            for name in order:
                url, server = targets[name]
                log(f"  round {i + 1}/{args.rounds}: wrk {args.duration} s, {args.connections} connections, {name}")
                for each in {s for _url, s in targets.values()}:
                    each.settle()
                measured = run_wrk(url, args.duration, args.connections, args.wrk_threads, server)
                server.check_alive()
                if "rps" not in measured:
                    raise RuntimeError(f"wrk gave no figures: {measured.get('raw', '')}")
                rounds[name].append(measured)
        best = {name: max(rounds[name], key=lambda m: m["rps"]) for name in rounds}
        cpu = {name: median_of(m.get("server_cpu_us_per_request") for m in rounds[name]) for name in rounds}
        bare = best["bare"]
        result["throughput"] = {
            **best,
            "rounds": rounds,
            **{f"{name}_cpu_us": cpu[name] for name in rounds},
        }
        for name in pages:
            result["throughput"][f"{name}_ratio"] = best[name]["rps"] / bare["rps"]
            result["throughput"][f"{name}_cpu_ratio"] = cpu["bare"] / cpu[name] if cpu["bare"] and cpu[name] else None
        # The names the report (and earlier reports) read for the station page.
        result["throughput"]["ratio"] = result["throughput"]["station_ratio"]
        result["throughput"]["cpu_ratio"] = result["throughput"]["station_cpu_ratio"]
        log("  " + ", ".join(f"{name} {best[name].get('rps')} req/s" for name in rounds))

        result["size"] = page_weight(port, station_path)
        log(f"  station page weight {result['size']['total_bytes']} B")
        if "rep" in pages:
            result["rep_size"] = page_weight(port, pages["rep"])
            log(f"  representative's page weight {result['rep_size']['total_bytes']} B")

        if args.memory:
            from memory import memory_growth  # bench/memory.py, beside this script

            def start_server(overrides: dict) -> Gunicorn:
                mem_port = free_port()
                server = Gunicorn(
                    f"memory-{db.kind}",
                    "app:create_app()",
                    {**production_env(db.url, mem_port, workdir), **overrides},
                    mem_port,
                    OUT / f"gunicorn-memory-{db.kind}.log",
                    workdir,
                )
                server.start("/healthz")
                return server

            mixed = [*pages.values(), "/static/style.css", f"{station_path}/concern", "/s/NOSUCHCODE", "/healthz"]
            result["memory"] = memory_growth(start_server, HOST, mixed, workdir, log)
            m = result["memory"]
            log(f"  memory: {m['rss_kib_after_first']:,} -> {m['rss_kib_after_all']:,} KiB ({m['growth']:+.1%})")

        log(f"  concurrent writes: {args.submissions} residents")
        result["writes"] = concurrent_writes(app, seed["station"], db, args.submissions, args.double_taps)
        w = result["writes"]
        app.check_alive()
        log(f"  {w['acknowledged']}/{w['n']} acknowledged in {w['elapsed_seconds']} s, statuses {w['status_counts']}")

        if args.photo_residents > 0:
            from photos import photo_load  # bench/photos.py, beside this script

            log(f"  photos: {args.photo_residents} residents x {args.photos_each} photos of 12 MP, all at once")
            result["photos"] = photo_load(
                app,
                db.url,
                seed["station"],
                residents=args.photo_residents,
                photos_each=args.photos_each,
                open_form=open_form,
                log=log,
            )
            app.check_alive()
            p = result["photos"]
            log(f"  photos: {p['acknowledged']}/{p['residents']} acknowledged in {p['elapsed_seconds']} s")

        if args.checkin_reps > 0:
            from checkin import checkin_load  # bench/checkin.py, beside this script

            log(f"  check-in load: {args.checkin_reps} representatives x {args.checkin_attempts} taps")
            result["checkins"] = checkin_load(
                app,
                db.url,
                env,
                k=args.checkin_reps,
                attempts_each=args.checkin_attempts,
                rounds=args.checkin_rounds,
                connections=args.connections,
                log=log,
            )
            app.check_alive()
            c = result["checkins"]
            log(f"  check-in: {c['requests_per_second']} req/s, statuses {c['status_counts']}")
    except (RuntimeError, sa.exc.SQLAlchemyError, OSError, subprocess.SubprocessError) as exc:
        log(f"{db.kind} run failed: {exc}")
        result["error"] = str(exc)
    finally:
        app.stop()
        result["server_log"] = app.log_counts()
    return result


# --- report ------------------------------------------------------------------------------


def _num(v, fmt="{:,.0f}") -> str:
    return "—" if v is None else fmt.format(v)


def _dig(node, path: str):
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _counts(statuses, errors) -> str:
    parts = [f"{k}:{v}" for k, v in sorted({**(statuses or {}), **(errors or {})}.items())]
    return ", ".join(parts) or "none"


def table(report: dict) -> str:
    """The figures side by side, one column per database, the target on the right."""
    runs, meta = report["runs"], report["meta"]
    kinds = list(runs)
    lines: list[str] = []

    def row(label: str, cell, target: str = "", check=None) -> None:
        """cell(run) gives the text; check(run) gives True/False/None for ok/MISS/nothing."""
        cells = []
        for k in kinds:
            text = cell(runs[k])
            verdict = check(runs[k]) if check else None
            cells.append(text + ("" if verdict is None else (" ok" if verdict else " MISS")))
        lines.append(f"  {label:<31}" + "".join(f"{c:>19}" for c in cells) + (f"   {target}" if target else ""))

    def field(path: str, fmt: str = "{:,.0f}"):
        return lambda run: _num(_dig(run, path), fmt)

    def pair(a: str, b: str, fmt: str = "{:,.0f}"):
        return lambda run: f"{_num(_dig(run, a), fmt)} / {_num(_dig(run, b), fmt)}"

    def within(path: str, test):
        return lambda run: None if _dig(run, path) is None else test(_dig(run, path))

    g = meta["gunicorn"]
    lines += [
        "=" * 100,
        f"码上 Mashang benchmark  {meta['started']}  ({meta['cpus']} CPUs, Python {meta['python']})",
        f"gunicorn.conf.py: {g['worker_class']}, {g['workers']} workers x {g['threads']} threads, "
        f"keepalive {g['keepalive']} s; reuse_port {g.get('reuse_port')} "
        f"(net.ipv4.tcp_migrate_req={g.get('tcp_migrate_req')}); APP_ENV=production; ACCESS_LOG={ACCESS_LOG}",
        "Rate limiting OFF (RATELIMIT_ENABLED=false): the form's limit (10/min per address) would "
        "otherwise answer this load with 429.",
        f"wrk -t{meta['wrk_threads']} -c{meta['connections']} -d{meta['duration']}s --latency after "
        f"{meta['warmup']} s of warm-up; {meta['rounds']} alternating rounds per route, the best shown",
        "",
        f"  {'':<31}" + "".join(f"{k:>19}" for k in kinds) + "   target",
        "Throughput",
    ]

    def per_round(name: str):
        return lambda run: " ".join(_num(m.get("rps")) for m in (_dig(run, f"throughput.rounds.{name}") or []))

    row('bare "hello" req/s', field("throughput.bare.rps"))
    row("  each round", per_round("bare"))
    row("  p50 / p99 ms", pair("throughput.bare.p50_ms", "throughput.bare.p99_ms", "{:.1f}"))
    row("  server CPU us/req", field("throughput.bare_cpu_us"))
    for name, (title, target) in PAGES.items():
        row(f"{title} req/s", field(f"throughput.{name}.rps"))
        row("  each round", per_round(name))
        row(
            "  / bare",
            field(f"throughput.{name}_ratio", "{:.1%}"),
            f">= {target:.0%}" if target else "(no target)",
            within(f"throughput.{name}_ratio", lambda r, t=target: r >= t) if target else None,
        )
        row(
            "  p50 / p99 ms",
            pair(f"throughput.{name}.p50_ms", f"throughput.{name}.p99_ms", "{:.1f}"),
            f"p99 <= {TARGET_P99_MS:.0f} ms",
            within(f"throughput.{name}.p99_ms", lambda p: p <= TARGET_P99_MS),
        )
        row("  server CPU us/req", field(f"throughput.{name}_cpu_us"))
        row("  ratio predicted by CPU", field(f"throughput.{name}_cpu_ratio", "{:.1%}"), "(steadier on a busy machine)")
        row(
            "  non-2xx / socket errors",
            pair(f"throughput.{name}.non_2xx_3xx", f"throughput.{name}.socket_errors"),
            "0 / 0",
            within(f"throughput.{name}", lambda t: t.get("non_2xx_3xx") == 0 and t.get("socket_errors") == 0),
        )

    lines.append("Size of the station page")
    files = _dig(runs[kinds[0]], "size.files") or []
    for i, f in enumerate(files):

        def size(run, i=i):
            mine = _dig(run, "size.files") or []
            return _num(mine[i]["bytes"], "{:,} B") if i < len(mine) else "—"

        row(f"  {f['kind']} {f['url']}"[:31], size)
    row(
        "total",
        field("size.total_bytes", "{:,} B"),
        f"<= {SIZE_BUDGET:,} B",
        within("size.total_bytes", lambda t: t <= SIZE_BUDGET),
    )
    row(
        "representative's page, total",
        field("rep_size.total_bytes", "{:,} B"),
        f"<= {SIZE_BUDGET:,} B",
        within("rep_size.total_bytes", lambda t: t <= SIZE_BUDGET),
    )
    row("references to other hosts", lambda run: _num(len(_dig(run, "size.external_refs") or [])), "0")

    lines.append("Memory of one worker (mixed requests, worker recycling off)")
    row(
        "RSS after 1,000 / all, KiB",
        pair("memory.rss_kib_after_first", "memory.rss_kib_after_all"),
    )
    row("  requests in all", field("memory.requests"), ">= 100,000")
    row(
        "  growth",
        field("memory.growth", "{:+.1%}"),
        f"<= {TARGET_GROWTH:.0%}",
        within("memory.growth", lambda g: g <= TARGET_GROWTH),
    )

    n = meta["submissions"]
    lines.append(f"Concurrent writes (N={n} residents, all released at once)")
    row("acknowledged (303 to receipt)", field("writes.acknowledged"), f"= {n}")
    row("5xx responses", field("writes.server_errors_5xx"), "0")
    row(
        "other statuses / conn. errors",
        lambda run: _counts(_dig(run, "writes.other_statuses"), _dig(run, "writes.connection_errors")),
        "none",
    )
    row("rows in DB", field("writes.rows_in_db"), "= acknowledged")
    row("acknowledged, stored once", field("writes.acknowledged_stored_once"), "= acknowledged")
    row("duplicates", field("writes.duplicates"), "0")
    row("stored, not acknowledged", field("writes.stored_not_acknowledged"), "0")
    row("double taps: same code / sent", pair("writes.double_taps.same_tracking_code", "writes.double_taps.sent"))
    row("elapsed", field("writes.elapsed_seconds", "{:.2f} s"))
    row("submissions/s", field("writes.submissions_per_second", "{:,.1f}"))
    row("server CPU ms / submission", field("writes.server_cpu_ms_per_submission", "{:.1f}"))
    row("latency p50 / p99 ms", pair("writes.latency_ms.p50", "writes.latency_ms.p99"))
    row(
        "server log: tracebacks / locked",
        pair("server_log.tracebacks", "server_log.database_is_locked"),
        '0 / 0 ("database is locked")',
    )
    pn, pe = meta.get("photo_residents"), meta.get("photos_each")
    lines.append(f"Concerns with photos ({pn} residents x {pe} photos of 4000 x 3000 JPEG, all at once)")
    row("acknowledged (303 to receipt)", field("photos.acknowledged"), f"= {pn}")
    row("stored once, with every photo", field("photos.acknowledged_with_all_photos"), "= acknowledged")
    row("duplicates", field("photos.duplicates"), "0", within("photos.duplicates", lambda n: n == 0))
    row(
        "5xx responses (503 busy)",
        pair("photos.server_errors_5xx", "photos.busy_503"),
        "0",
        within("photos.server_errors_5xx", lambda n: n == 0),
    )
    row("elapsed / slowest", pair("photos.elapsed_seconds", "photos.latency_ms.max", "{:,.1f}"), "(s / ms)")
    row("server CPU ms / photo", field("photos.server_cpu_ms_per_photo", "{:,.0f}"))
    lines.append(
        f"Check-in POST ({meta.get('checkin_reps')} signed-in representatives x {meta.get('checkin_attempts')} taps "
        f"at once, {meta.get('checkin_rounds')} rounds, {meta['connections']} connections)"
    )
    row("check-in POST req/s", field("checkins.requests_per_second"))
    row('  beside bare "hello" req/s', field("throughput.bare.rps"), "(same run)")
    row(
        "  check-in / bare",
        lambda run: _num(
            (_dig(run, "checkins.requests_per_second") or 0) / _dig(run, "throughput.bare.rps")
            if _dig(run, "checkins.requests_per_second") and _dig(run, "throughput.bare.rps")
            else None,
            "{:.1%}",
        ),
    )
    row(
        "statuses (303 in / 409 refused)",
        lambda run: _counts(_dig(run, "checkins.status_counts"), None),
    )
    row(
        "5xx responses",
        field("checkins.server_errors_5xx"),
        "0",
        within("checkins.server_errors_5xx", lambda n: n == 0),
    )
    row(
        "one open duty per rep, each round",
        lambda run: {True: "yes", False: "no", None: "—"}[_dig(run, "checkins.reps_with_one_open_duty_every_round")],
        "yes",
    )
    row(
        "reps with >1 open duty",
        field("checkins.reps_with_several_open_duties"),
        "0",
        within("checkins.reps_with_several_open_duties", lambda n: n == 0),
    )
    row("duplicates", field("checkins.duplicates"), "0", within("checkins.duplicates", lambda n: n == 0))
    row("acknowledged, not stored", field("checkins.acknowledged_not_stored"), "0")
    row("refusals kept (= 409s)", field("checkins.refusals_kept"))
    row("latency p50 / p99 ms", pair("checkins.latency_ms.p50", "checkins.latency_ms.p99"))
    row("server CPU us / check-in", field("checkins.server_cpu_us_per_request"))
    for k in kinds:
        if runs[k].get("error"):
            lines.append(f"  {k} FAILED: " + runs[k]["error"].replace("\n", "\n    "))
    lines.append("=" * 100)
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=500, help="concurrent concern submissions (N)")
    parser.add_argument("--double-taps", type=int, default=50, help="acknowledged submissions sent again")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk measurement")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk warm-up on each route")
    parser.add_argument("--rounds", type=int, default=2, help="alternating wrk rounds per route; the best is kept")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--checkin-reps", type=int, default=200, help="representatives checking in (K); 0: skip")
    parser.add_argument("--checkin-attempts", type=int, default=4, help="check-ins per representative at once")
    parser.add_argument("--checkin-rounds", type=int, default=3, help="rounds of the check-in load")
    parser.add_argument("--photo-residents", type=int, default=20, help="residents sending photos at once; 0: skip")
    parser.add_argument("--photos-each", type=int, default=3, help="12-megapixel photos each resident sends")
    parser.add_argument("--no-photo-memory", action="store_true", help="skip decoding the worst-case photos")
    parser.add_argument("--no-imports", action="store_true", help="skip the spreadsheet imports (bench/imports.py)")
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip the worker memory step (bench/memory.py)"
    )
    parser.add_argument("--no-exports", action="store_true", help="skip the 50,000-row exports (bench/exports.py)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and the PostgreSQL schema")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale step (bench/inbox.py)")
    parser.add_argument("--scale-runs", type=int, default=15, help="EXPLAIN ANALYZE runs per scale case")
    parser.add_argument("--scale-duties", type=int, default=None, help="duty rows at scale (default 1,000,000)")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk, or `make bench` does it)", file=sys.stderr)
        return 2
    # SIGTERM ends the run like Ctrl-C: through the finally blocks that stop gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="mashang-bench-"))
    hello_env = production_env("sqlite://", 0, workdir)
    report = {
        "meta": {
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "gunicorn": gunicorn_settings(hello_env),
            "connections": args.connections,
            "wrk_threads": args.wrk_threads,
            "duration": args.duration,
            "submissions": args.submissions,
            "checkin_reps": args.checkin_reps,
            "checkin_attempts": args.checkin_attempts,
            "checkin_rounds": args.checkin_rounds,
            "photo_residents": args.photo_residents,
            "photos_each": args.photos_each,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "rate_limit": "disabled (RATELIMIT_ENABLED=false)",
            "access_log": ACCESS_LOG,
            "targets": {
                "ratios": {name: target for name, (_title, target) in PAGES.items()},
                "p99_ms": TARGET_P99_MS,
                "size_bytes": SIZE_BUDGET,
                "memory_growth": TARGET_GROWTH,
            },
        },
        "runs": {},
    }
    hello = Gunicorn("hello", "bench.hello_app:app", hello_env, free_port(), OUT / "gunicorn-hello.log", workdir)
    databases = [sqlite_database(workdir)]
    cleanups = []
    try:
        hello.start("/")
        log(f'bare "hello" app on port {hello.port}; working in {workdir}')
        if os.environ.get("BENCH_DATABASE_URL"):
            pg = postgres_database(os.environ["BENCH_DATABASE_URL"], args.keep)
            databases.append(pg)
            cleanups.append(pg.cleanup)
        for db in databases:
            report["runs"][db.kind] = bench_database(db, args, hello, workdir)
        if not args.no_photo_memory:
            from photos import photo_memory

            log("photo decode: the worst-case images, one fresh process each")
            report["photo_memory"] = photo_memory(workdir, log)
        if not args.no_imports:
            from imports import imports_bench  # bench/imports.py, beside this script

            report["imports"] = imports_bench(os.environ.get("BENCH_DATABASE_URL"), log)
        if not args.no_exports:
            from exports import exports_bench  # bench/exports.py, beside this script

            report["exports"] = exports_bench(os.environ.get("BENCH_DATABASE_URL"), log)
        if os.environ.get("BENCH_DATABASE_URL") and not args.no_scale:
            from inbox import scale_bench  # bench/inbox.py, beside this script

            log("scale: the inbox and the station page at DESIGN.md's sizes (PostgreSQL)")
            report["scale"] = scale_bench(
                os.environ["BENCH_DATABASE_URL"], runs=args.scale_runs, duties=args.scale_duties
            )
    except KeyboardInterrupt:
        log("interrupted: stopping gunicorn, no figures written")
        return 130
    finally:
        hello.stop()
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # a cleanup failure must not hide the figures
                log(f"cleanup failed: {exc}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report["meta"]["finished"] = datetime.now().astimezone().isoformat(timespec="seconds")
    print()
    print(table(report))
    if "photo_memory" in report:
        from photos import memory_table

        print(memory_table(report["photo_memory"]))
    if "imports" in report:
        from imports import table as imports_table

        print(imports_table(report["imports"]))
    if "exports" in report:
        from exports import table as exports_table

        print(exports_table(report["exports"]))
    if "scale" in report:
        from inbox import table as scale_table

        print(scale_table(report["scale"]))
    (OUT / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    print(f"JSON: {(OUT / 'latest.json').relative_to(ROOT)}; gunicorn logs: bench/out/gunicorn-*.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
