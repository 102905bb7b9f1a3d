"""The scheduled jobs, and the lock that keeps two machines from running one at once.

Each job is idempotent (a second run finds nothing left to do), so a job that runs on every
machine's schedule is harmless — but never at the same moment: `run(job)` takes the job's
lock first and skips the run when another process holds it. On PostgreSQL the lock is a
session advisory lock on its own connection (the server drops it if the process dies); on
SQLite, which serves one machine, a file lock beside the database does the same.

They run from systemd timers (`flask jobs once NAME`, deploy/systemd/) or from one loop
per machine (`flask jobs run`).
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from extensions import db, sqlite_file


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], str]  # does the work, commits, and says what it did
    about: str


def _outbox() -> str:
    from services.outbox import deliver_due

    counts = deliver_due(limit=500)
    return f"sent {counts['sent']}, retry later {counts['retry']}, failed {counts['failed']}"


def _stale_duties() -> str:
    from services.duty import close_stale

    closed = close_stale()
    db.session.commit()
    return f"closed {len(closed)} stale duties"


def _auto_close() -> str:
    from services.concern_flow import auto_close_due

    closed = auto_close_due()
    db.session.commit()
    return f"closed {closed} unrated concerns"


def _remind() -> str:
    from services import triage

    done = triage.run()
    db.session.commit()
    return f"reminded {done.reminded}, escalated {done.escalated}"


def _booking_reminders() -> str:
    from services import bookings

    reminded = bookings.queue_reminders()
    db.session.commit()
    return f"reminded {reminded} booked visits"


def _close_drafts() -> str:
    from services import drafts

    closed = drafts.close_due()
    db.session.commit()
    return f"closed {closed} drafts for comment"


def _page_changes() -> str:
    from services import page_cache

    pruned = page_cache.prune_journal()
    db.session.commit()
    return f"pruned {pruned} page changes"


def _privacy_purge() -> str:
    from services import erasure

    report = erasure.purge()
    return "erased " + ", ".join(f"{key} {value}" for key, value in report.as_dict().items())


def _idempotency_keys() -> str:
    from services import idempotency

    forgotten = idempotency.purge()
    db.session.commit()
    return f"forgot {forgotten} idempotency keys older than a day"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("outbox", timedelta(minutes=1), _outbox, "send due SMS and e-mail, retry failures"),
        Job("stale-duties", timedelta(minutes=15), _stale_duties, "close duties left open past closing time"),
        Job("remind", timedelta(minutes=15), _remind, "remind before deadlines, escalate past them"),
        Job("booking-reminders", timedelta(minutes=15), _booking_reminders, "remind of tomorrow's booked visits"),
        Job("auto-close", timedelta(hours=1), _auto_close, "close confirmed concerns nobody rated in time"),
        Job("close-drafts", timedelta(minutes=5), _close_drafts, "record drafts of laws past their closing time"),
        Job("page-changes", timedelta(hours=1), _page_changes, "forget which kept pages changed over an hour ago"),
        Job("privacy-purge", timedelta(days=1), _privacy_purge, "erase residents' personal data past its time"),
        Job("idempotency-keys", timedelta(hours=1), _idempotency_keys, "forget API idempotency keys after a day"),
    )
}


def _lock_key(name: str) -> int:
    """A stable 32-bit key for the job (PostgreSQL advisory locks take a bigint)."""
    return zlib.crc32(f"mashang-job:{name}".encode())


@contextlib.contextmanager
def lock(name: str) -> Iterator[bool]:
    """Hold the job's lock for the block; yields False (and holds nothing) when another
    process has it."""
    engine = db.engine
    path = sqlite_file(engine)
    if engine.dialect.name == "sqlite":
        lock_path = (
            Path(f"{path}.job-{name}.lock") if path else Path(tempfile.gettempdir()) / f"mashang-job-{name}.lock"
        )
        with open(lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    key = _lock_key(name)
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        conn.commit()
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


def run(job: Job) -> str | None:
    """Run `job` under its lock: what it did, or None when another process was running it."""
    with lock(job.name) as mine:
        if not mine:
            return None
        try:
            return job.run()
        except Exception:
            db.session.rollback()
            raise
