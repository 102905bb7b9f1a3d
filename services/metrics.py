"""What /metrics reports, in Prometheus's text format.

Counters and histograms are kept per worker process. Under gunicorn several workers serve,
so gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker starts: each worker
then writes its figures to small mmapped files there, a scrape (answered by any one worker)
adds them up, and a worker that exits is marked dead (child_exit) so that its live gauges
drop out. Without that variable (`flask run`, the tests) the figures live in this process.

The figures about the work itself (outbox backlog, open duties, overdue concerns) are read
from the database at scrape time, not on ordinary requests, each query with a short
timeout: a slow database makes the scrape say so (mashang_database_up 0), not hang.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from models import Concern, Duty, Outbox, utcnow
from models.enums import DutyStatus, OutboxStatus
from services.concern_flow import overdue_clause

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter("mashang_http_requests", "Requests answered, by route and status.", ["route", "method", "status"])
# Buckets around the station page's budget (tens of ms) and a photo upload's (seconds).
LATENCY = Histogram(
    "mashang_http_request_duration_seconds",
    "Time to answer a request, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# Kept by the pool's own events: summed over the live workers.
POOL_CHECKED_OUT = Gauge("mashang_db_pool_checked_out", "Database connections in use.", multiprocess_mode="livesum")
POOL_OPEN = Gauge("mashang_db_pool_connections", "Database connections open.", multiprocess_mode="livesum")

UNMATCHED = "<unmatched>"  # a 404 with no route: one label for all, not one per address


def observe(route: str | None, method: str, status: int, seconds: float) -> None:
    route = route or UNMATCHED
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def watch_pool(engine: sa.Engine) -> None:
    """Count the engine's connections as they are opened, lent and given back."""
    if getattr(engine, "_mashang_watched", False):
        return
    engine._mashang_watched = True  # type: ignore[attr-defined]
    sa.event.listen(engine, "connect", lambda *_: POOL_OPEN.inc())
    sa.event.listen(engine, "close", lambda *_: POOL_OPEN.dec())
    sa.event.listen(engine, "close_detached", lambda *_: POOL_OPEN.dec())
    sa.event.listen(engine, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    sa.event.listen(engine, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


class WorkCollector(Collector):
    """The state of the work, read from the database when scraped."""

    def __init__(self, engine: sa.Engine, timeout_s: float) -> None:
        self.engine = engine
        self.timeout_ms = max(int(timeout_s * 1000), 1)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mashang_database_up", "Whether the scrape could read the database.")
        try:
            figures = self._read()
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, text, value in figures:
            yield GaugeMetricFamily(name, text, value=value)
        pool = self.engine.pool
        size = getattr(pool, "size", None)
        if callable(size):
            yield GaugeMetricFamily("mashang_db_pool_size", "Connections the pool keeps (one worker).", value=size())

    def _read(self) -> list[tuple[str, str, float]]:
        now = utcnow()
        count = sa.func.count()
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {self.timeout_ms}")
            try:
                return [
                    (
                        "mashang_outbox_pending",
                        "Notifications waiting to be sent (pending or being sent).",
                        conn.scalar(
                            sa.select(count).where(Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
                        ),
                    ),
                    (
                        "mashang_outbox_failed",
                        "Notifications given up and not yet handled by staff.",
                        conn.scalar(
                            sa.select(count).where(Outbox.status == OutboxStatus.FAILED, Outbox.handled_at.is_(None))
                        ),
                    ),
                    (
                        "mashang_duties_open",
                        "Representatives checked in on duty now.",
                        conn.scalar(sa.select(count).where(Duty.status == DutyStatus.OPEN)),
                    ),
                    (
                        "mashang_concerns_overdue",
                        "Open concerns past their stage's deadline.",
                        conn.scalar(sa.select(count).select_from(Concern).where(overdue_clause(now))),
                    ),
                ]
            finally:
                conn.rollback()


class _ThisProcess(Collector):
    """The default registry's metrics, when there is no multiprocess folder."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


# prometheus_client chose where its figures live when it was imported, as this module was.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render(engine: sa.Engine, *, timeout_s: float) -> bytes:
    registry = CollectorRegistry()
    if MULTIPROCESS:
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(WorkCollector(engine, timeout_s))
    return generate_latest(registry)


def parse_allow(value: str | list | tuple) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_ALLOW: networks, comma- or space-separated ("10.0.0.0/8, ::1"). A bad entry
    stops the app at start rather than quietly opening or closing the door."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    try:
        return [ipaddress.ip_network(item.strip(), strict=False) for item in items]
    except ValueError as exc:
        raise RuntimeError(f"METRICS_ALLOW: {exc}") from None


def may_scrape(
    remote: str | None,
    *,
    allow: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    token: str,
    authorization: str | None,
    forwarded: bool,
) -> bool:
    """A bearer token, when one is configured, opens /metrics from anywhere; otherwise the
    caller's address must be in METRICS_ALLOW. A request that came through a proxy the app
    does not unwrap (X-Forwarded-For while TRUST_PROXY_HOPS is 0) carries the proxy's own
    address, 127.0.0.1 most likely: that is nobody's address, so it is not let in by it."""
    if token and authorization:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if forwarded:
        return False
    try:
        ip = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in allow)
