"""What a worker restart costs the clients: gunicorn serves the app on a fresh SQLite
database, C clients request the station page for D seconds, pausing up to --think between requests (each on its
own keep-alive connection, as a phone's browser or nginx's upstream keep-alive does),
and one worker gets SIGTERM a third of the way in (what a deploy, a worker's memory limit or an
OOM-kill does). It prints how many requests failed and how many of the connections
saw a failure.

    .venv/bin/python bench/worker_restart.py [--connections 32] [--duration 9] [--retry]

`--retry` counts a failure on a reused connection as retried once on a new one, as
browsers do for a connection the server closed (RFC 9112 §9.3.1) — what a user sees.
Environment for gunicorn.conf.py (WEB_CONCURRENCY, GUNICORN_THREADS, …) is passed through.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=9.0)
    parser.add_argument("--retry", action="store_true")
    parser.add_argument("--think", type=float, default=0.5, help="seconds between a client's requests (at most)")
    parser.add_argument("--path", default=None, help="default: the first demo station's page")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mashang-restart-"))
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "development",  # seed-demo refuses production; the settings that matter are gunicorn's
        "SECRET_KEY": secrets.token_hex(16),
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "RATELIMIT_ENABLED": "false",
        "RATELIMIT_STORAGE_URI": "memory://",
        "ACCESS_LOG": "",
        "BIND": f"{HOST}:{port}",
        "FLASK_APP": "app:create_app",
        "UPLOAD_FOLDER": str(work / "uploads"),
        "QRCODE_FOLDER": str(work / "qrcodes"),
    }
    for cmd in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([BIN / "flask", *cmd], env=env, cwd=ROOT, check=True, capture_output=True)
    code = subprocess.run(
        [BIN / "python", "-c", "from app import create_app;from extensions import db;from models import Station;"
         "import sqlalchemy as sa\napp=create_app()\nwith app.app_context(): "
         "print(db.session.scalar(sa.select(Station.code).order_by(Station.id).limit(1)))"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    path = args.path or f"/s/{code}"

    log = open(work / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [BIN / "gunicorn", "--config", "gunicorn.conf.py", "app:create_app()"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        workers = children(server.pid)
        stop = time.monotonic() + args.duration
        outcomes: Counter[str] = Counter()
        hurt: set[int] = set()
        lock = threading.Lock()

        def client(n: int) -> None:
            conn, used = None, False
            while time.monotonic() < stop:
                for attempt in (1, 2):
                    if conn is None:
                        conn, used = http.client.HTTPConnection(HOST, port, timeout=35), False
                    try:
                        conn.request("GET", path)
                        resp = conn.getresponse()
                        resp.read()
                        result = "ok" if resp.status == 200 else f"status {resp.status}"
                        used = True
                        if resp.getheader("Connection", "").lower() == "close":
                            conn.close()
                            conn = None
                    except (OSError, http.client.HTTPException) as exc:
                        conn.close()
                        conn = None
                        if args.retry and used and attempt == 1:
                            with lock:
                                outcomes["retried"] += 1
                            continue
                        result = type(exc).__name__
                    break
                with lock:
                    outcomes[result] += 1
                    if result != "ok":
                        hurt.add(n)
                time.sleep(random.uniform(0, args.think))  # a person reading, then tapping

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.connections)]
        for t in threads:
            t.start()
        time.sleep(args.duration / 3)
        victim = workers[0]
        os.kill(victim, signal.SIGTERM)
        for t in threads:
            t.join()
        total = sum(v for k, v in outcomes.items() if k != "retried")
        failed = total - outcomes["ok"]
        print(
            f"workers {len(workers)}, SIGTERM to {victim}; {total} requests, {failed} failed "
            f"({100 * failed / max(total, 1):.2f} %); connections hurt {len(hurt)}/{args.connections} "
            f"({100 * len(hurt) / args.connections:.0f} %); {dict(outcomes)}"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
