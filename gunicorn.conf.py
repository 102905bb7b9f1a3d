"""gunicorn settings for `make run`, `make bench` and production (override by environment).

A worker restart (a deploy's HUP, its memory grown too large, a crash) costs the clients little:
the stopping worker finishes the requests it has (graceful_timeout), answers a request
already arriving on a kept-alive connection with "Connection: close", and closes its idle
kept-alive connections; a client that reuses one of those at that moment gets a closed
connection and sends again on a new one, as browsers do (and nginx, for GETs, with
proxy_next_upstream). bench/worker_restart.py measures it.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# One worker per core this server may use (its threads wait on the database and the network
# for it). More processes than cores let the kernel park a worker holding requests behind the
# others: a bare "hello" route on 2 cores at 64 connections had p99 at 150-470 ms in half the
# runs with 5 workers, 22-29 ms in every run with 2, at the same requests/s.
usable_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
workers = int(os.environ.get("WEB_CONCURRENCY", usable_cores))
# Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads new
# connections over them: on one shared socket, a worker awake in its poller accepts whatever
# arrives, and kept-alive connections then stay with it (64 of wrk's 64 connections were seen
# on one of five workers, the other four idle): the concern form at 64 connections went from
# 102 to 195 requests/s; the kept pages, which cost less than a bare route, about alike.
# GUNICORN_REUSE_PORT=0 shares one socket; so does a single worker, whose socket would close
# with it (the master's stays open while a worker is replaced).
reuse_port = workers > 1 and os.environ.get("GUNICORN_REUSE_PORT", "1") != "0"
# Threads: a slow upload or a slow phone holds a thread, not a whole worker; kept-alive
# connections wait in the worker's poller without holding a thread.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Longer than a person's pause between taps (so the next tap reuses the connection),
# short enough that idle connections do not pile up.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
timeout = 30
# Photos arrive over slow mobile lines; a stopping worker lets the requests it has finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# A worker is replaced when its resident memory has grown past this many MiB (0: never):
# decoding large photos can leave a heap that is not given back, the one reason to replace a
# healthy worker (about 140 MiB after a day's mix of requests, bench/memory.py). Looked at
# every MEMORY_CHECK_EVERY requests in post_request below.
max_worker_memory_mib = int(os.environ.get("GUNICORN_MAX_WORKER_MEMORY_MB", 512))
MEMORY_CHECK_EVERY = 100
# Replacing after a number of requests instead (GUNICORN_MAX_REQUESTS, 0: never, the default)
# costs a busy server for nothing: the leaving worker's kept-alive connections all come back
# at once on the workers still there, and the new one gets none of them until they close (2
# workers at 64 connections: 11,000 requests/s fell to 7,000, p99 1.1 s, then to 3,400).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
# The workers' heartbeat files on tmpfs: a slow disk must not make the master think a
# busy worker hung and kill it with its requests (gunicorn's advice for containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# ACCESS_LOG="" switches the access log off (it costs a fifth of a bare request).
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"

# The Server header names no software or version ("gunicorn/27.0.1" by default): gunicorn
# always sends one and takes it from these module values, read when a response is made.
import gunicorn  # noqa: E402
import gunicorn.http.wsgi  # noqa: E402

gunicorn.SERVER = gunicorn.http.wsgi.SERVER = "mashang"
gunicorn.SERVER_SOFTWARE = gunicorn.http.wsgi.SERVER_SOFTWARE = "mashang"

# --- Observability (README, "Observability") ---------------------------------------------
# Every worker's request figures go to files in one folder, which a scrape of /metrics adds
# up: prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is first imported, so it is
# set here, in the master, before any worker loads the app. The folder is emptied at start
# (figures of a previous run would be counted again) and a worker's live gauges are let go
# when it exits.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from gunicorn.glogging import Logger  # noqa: E402

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mashang-metrics-")


def _refuse_a_taken_address(server):
    """With reuse_port the master binds nothing and each worker binds with SO_REUSEPORT, which
    would share the port silently with another server still running there (an old one, a
    second `make run`): refuse to start instead, as a plain bind would."""
    import socket

    for address in server.cfg.address if server.cfg.reuse_port else ():
        if not isinstance(address, tuple):
            continue  # a Unix socket: gunicorn binds it once, and refuses a taken one itself
        host, port = address[0], address[1]
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: TIME_WAIT is no owner
            try:
                probe.bind((host, port))
            except OSError as error:
                server.log.error("Cannot listen at %s:%s: %s (another server is running there?)", host, port, error)
                raise SystemExit(1) from error


def on_starting(server):
    _refuse_a_taken_address(server)
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # only the figures' files, whatever else is there
        stale.unlink(missing_ok=True)


def post_worker_init(worker):
    """Before a new worker takes connections, it answers the residents' pages once
    (app.warm_up): a replaced worker's first requests are not the ones that pay for its cold
    start. A bare app (bench/hello_app.py) has nothing to warm."""
    warm_up = getattr(worker.wsgi, "extensions", {}).get("warm_up")
    if warm_up:
        warm_up()


def _resident_mib() -> float | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: no replacement by memory
        return None


def post_request(worker, _req, _environ, _resp):
    """Replace this worker, after the requests it holds, once its memory has grown past
    max_worker_memory_mib (as max_requests would, by its `alive` flag)."""
    if not max_worker_memory_mib or worker.nr % MEMORY_CHECK_EVERY or not worker.alive:
        return
    resident = _resident_mib()
    if resident is not None and resident > max_worker_memory_mib:
        worker.log.info("Replacing worker: %.0f MiB resident, over %d MiB", resident, max_worker_memory_mib)
        worker.alive = False


def worker_exit(_server, _worker):
    """A leaving worker skips the collection of its whole heap at interpreter exit: about a
    second of CPU (more on a loaded machine) before the master sees it gone and starts the
    next one, while the others carry its share. Nothing is left to collect that matters:
    its requests are answered and its connections closed."""
    import gc

    gc.freeze()


def child_exit(_server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class MashangLogger(Logger):
    """gunicorn's own lines in LOG_FORMAT (json or text), and an access line with the app's
    request id and route, the path's codes masked, no query string, the address cut short."""

    def setup(self, cfg):
        super().setup(cfg)
        from services import logs

        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter(logs.env_format()))

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        from services import logs

        path = logs.safe_path(environ.get("PATH_INFO", ""))
        status = getattr(resp, "status_code", None)
        fields = {
            "request_id": environ.get("mashang.request_id"),
            "method": environ.get("REQUEST_METHOD"),
            "path": path,
            "route": environ.get("mashang.route"),
            "status": status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote": logs.safe_remote(environ.get("REMOTE_ADDR")),
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], path, status, extra=fields)
        except Exception:  # noqa: BLE001  (as gunicorn's own: a log line never fails a request)
            self.error("access log line failed")


logger_class = MashangLogger
