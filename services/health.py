"""Readiness: is this instance able to serve, not only alive?

`/healthz` answers as long as the process runs and the database answers a SELECT. A
load balancer should send traffic only where `/readyz` is ok: the database file is
where it was, its schema is the one this code expects (Alembic at head) or a newer one
that this code does not know (a release being rolled out: its migrations only add, so the
servers still on the old code keep serving), and a write
would succeed now (no lock held elsewhere, a writable file, not a read-only replica).
Redis, when the rate limiter (or a cache) keeps its counts there, must answer a PING,
and the photo store must be able to take a photo (the storage object's own check()).
Each check is bounded by a short timeout, so a stuck database makes readiness fail
fast rather than hang the probe.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import redis
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from extensions import SQLITE_BUSY_TIMEOUT_MS, db, sqlite_file


@dataclass(frozen=True)
class Schema:
    """This code's migrations: the head it expects and every revision before it."""

    head: str
    older: frozenset[str]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


class Checkable(Protocol):
    def check(self) -> None:
        """Raise when the store cannot take a photo now."""


def readiness(
    head: Schema | None, *, timeout_s: float, store: Checkable | None = None, redis_urls: Iterable[str] = ()
) -> list[Check]:
    """The database's checks, then Redis's and the store's."""
    checks = _database(head, timeout_s)
    checks.extend(_redis(url, timeout_s) for url in dict.fromkeys(redis_urls))
    if store is not None:
        checks.append(_store(store))
    return checks


def redis_urls(settings: Iterable[str | None]) -> list[str]:
    """The settings that name a Redis server (redis:// or rediss://)."""
    return [url for url in settings if url and url.startswith(("redis://", "rediss://"))]


def _redis(url: str, timeout_s: float) -> Check:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        client.ping()
        return Check("redis", True)
    except redis.RedisError as exc:
        return Check("redis", False, _short(exc))
    finally:
        client.close()


def _store(store: Checkable) -> Check:
    try:
        store.check()
        return Check("storage", True)
    except Exception as exc:  # noqa: BLE001  (any backend's failure means not ready, said in its words)
        return Check("storage", False, _short(exc))


def _database(head: Schema | None, timeout_s: float) -> list[Check]:
    """The database's checks in order; later ones are skipped once it cannot be reached."""
    checks: list[Check] = []
    path = sqlite_file(db.engine)
    if path is not None and not os.path.exists(path):
        # The app would not create it (mode=rw), but say plainly what is wrong.
        return [Check("database", False, "database file missing")]
    try:
        with db.engine.connect() as conn:
            checks.append(_schema(conn, head))
            checks.append(_write(conn, timeout_s))
    except sa.exc.SQLAlchemyError as exc:
        checks.insert(0, Check("database", False, _short(exc)))
        return checks
    return [Check("database", True), *checks]


def _schema(conn: sa.Connection, head: Schema | None) -> Check:
    try:
        current = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.SQLAlchemyError:
        conn.rollback()
        return Check("schema", False, "no schema (run flask db upgrade)")
    finally:
        if conn.in_transaction():
            conn.rollback()
    if head is None or current == head.head:
        return Check("schema", True, str(current))
    if current in head.older:
        return Check("schema", False, f"at {current}, code expects {head.head}")
    return Check("schema", True, f"at {current}, newer than this code ({head.head})")


def _write(conn: sa.Connection, timeout_s: float) -> Check:
    """A real write, rolled back: it needs the write lock and a writable database."""
    millis = max(int(timeout_s * 1000), 1)
    sqlite = conn.dialect.name == "sqlite"
    try:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={millis}")
        else:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {millis}")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {millis}")
        conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
        return Check("write", True)
    except sa.exc.SQLAlchemyError as exc:
        return Check("write", False, _short(exc))
    finally:
        conn.rollback()
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            conn.rollback()


def _short(exc: Exception) -> str:
    """The driver's own words, first line: "database is locked", "attempt to write a
    readonly database", "cannot execute UPDATE in a read-only transaction"."""
    original = getattr(exc, "orig", None) or exc
    return str(original).splitlines()[0][:200] if str(original) else type(original).__name__


def migration_head() -> Schema | None:
    """The revision this code's migrations end at and those before it, read once per app."""
    if "mashang.migration_head" not in current_app.extensions:
        migrate = current_app.extensions["migrate"]
        config = migrate.migrate.get_config(directory=migrate.directory)
        scripts = ScriptDirectory.from_config(config)
        head = scripts.get_current_head()
        older = frozenset(s.revision for s in scripts.walk_revisions() if s.revision != head)
        current_app.extensions["mashang.migration_head"] = Schema(head, older) if head else None
    return current_app.extensions["mashang.migration_head"]
