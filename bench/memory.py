"""A worker's resident memory after 1,000 and after 100,000 mixed requests (issue 17: a leak
shows as growth; the target is within 10 %).

One gunicorn worker (so that it sees every request) with worker recycling off
(GUNICORN_MAX_REQUESTS=0), the same gunicorn.conf.py otherwise. The mix is what a day's
visitors ask for: the printed pages and images, a tracking page, the API, the form (a new
session each time), a static file, an unknown code. Its RSS is read from /proc after the
first 1,000 and again once wrk has sent at least 100,000 in all.
"""

from __future__ import annotations

import http.client
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

FIRST = 1_000
ALL = 100_000
TARGET_GROWTH = 0.10
CHUNK_SECONDS = 10


def rss_kib(pid: int) -> int:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return int(match.group(1))


def worker_pids(master_pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{master_pid}/task").glob("*"):
        pids += [int(c) for c in (task / "children").read_text().split()]
    return pids


def _send(host: str, port: int, paths: list[str], count: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        for i in range(count):
            conn.request("GET", paths[i % len(paths)])
            response = conn.getresponse()
            response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
    finally:
        conn.close()
    return statuses


def memory_growth(start_server: Callable[[dict], object], host: str, paths: list[str], workdir: Path, log) -> dict:
    """`start_server(env_overrides)` gives a started bench.run.Gunicorn; it is stopped here."""
    server = start_server({"WEB_CONCURRENCY": "1", "GUNICORN_MAX_REQUESTS": "0"})
    try:
        [worker] = worker_pids(server.proc.pid)
        statuses = _send(host, server.port, paths, FIRST)
        after_first = rss_kib(worker)
        log(f"  memory: worker RSS {after_first:,} KiB after {FIRST:,} requests; wrk to {ALL:,}")
        script = workdir / "mixed.lua"
        quoted = ", ".join(f'"{p}"' for p in paths)
        script.write_text(
            f"paths = {{{quoted}}}\ni = 0\n"
            "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
        )
        sent = FIRST
        while sent < ALL:
            out = subprocess.run(
                ["wrk", "-t2", "-c16", f"-d{CHUNK_SECONDS}s", "-s", str(script), f"http://{host}:{server.port}/"],
                capture_output=True,
                text=True,
                timeout=CHUNK_SECONDS + 60,
            ).stdout
            match = re.search(r"(\d+) requests in", out)
            if match is None:
                raise RuntimeError(f"wrk gave no count: {out[-500:]}")
            sent += int(match.group(1))
            server.check_alive()
        if worker_pids(server.proc.pid) != [worker]:
            raise RuntimeError("the worker was replaced during the run: its memory cannot be compared")
        after_all = rss_kib(worker)
    finally:
        server.stop()
    growth = after_all / after_first - 1
    return {
        "requests": sent,
        "first_requests": FIRST,
        "first_statuses": statuses,
        "rss_kib_after_first": after_first,
        "rss_kib_after_all": after_all,
        "growth": growth,
        "paths": paths,
    }
