"""Signed-in sessions on the server: started at sign-in, checked on every request, ended
by signing out, a password change, a switch-off, "sign out everywhere", or their limits
(idle and absolute). The browser's cookie carries a random key; the row is stored under
its SHA-256.

Residents never have one: their pages read no session row and write nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from extensions import SQLITE_BUSY_TIMEOUT_MS, db
from models import User, UserSession
from services.audit import log
from services.privacy import mask_ip

# last_seen_at is written at most this often: the idle limit needs no finer clock.
TOUCH_EVERY = timedelta(minutes=1)
TOUCH_WAIT_MS = 200  # how long a page view's last-seen write waits for the lock
# Ended and expired rows of an account are deleted this long after they began.
KEEP_ENDED = timedelta(days=30)
USER_AGENT_MAX = 120

logger = logging.getLogger(__name__)


class Ended(StrEnum):
    """Why a session ended (user_session.revoked_reason)."""

    SIGNED_OUT = "signed_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a reason, not a password)
    PASSWORD_RESET = "password_reset"  # noqa: S105  (an administrator typed one, before links)
    PASSWORD_SET = "password_set"  # noqa: S105  (through a single-use link: services.account_links)
    SWITCHED_OFF = "switched_off"
    EVERYWHERE = "everywhere"
    TOO_MANY_FAILURES = "failures"


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(
            idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            absolute=timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
        )


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(user: User, *, user_agent: str, ip: str | None, now: datetime) -> str:
    """A new session for `user`; returns the key for the cookie (never stored)."""
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            id=key_hash(key),
            user_id=user.id,
            created_at=now,
            authenticated_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:USER_AGENT_MAX],
            ip=mask_ip(ip),
        )
    )
    # Old rows of this account go as it signs in: no job needed, and the table stays small.
    db.session.execute(
        sa.delete(UserSession).where(UserSession.user_id == user.id, UserSession.created_at < now - KEEP_ENDED)
    )
    db.session.flush()
    return key


def is_live(record: UserSession, now: datetime, limits: Limits) -> bool:
    return (
        record.revoked_at is None
        and record.created_at + limits.absolute > now
        and record.last_seen_at + limits.idle > now
    )


def load(key: object, now: datetime, limits: Limits) -> UserSession | None:
    """The live session with this key (whatever the cookie held), its user loaded (one
    primary-key look-up), or None."""
    if not isinstance(key, str) or not key or len(key) > 100:
        return None
    record = db.session.get(UserSession, key_hash(key))
    if record is None or not is_live(record, now, limits):
        return None
    return record


def touch(record: UserSession, now: datetime, *, in_request_transaction: bool) -> None:
    """Note that the session was used, at most once a minute.

    `in_request_transaction`: the request's own transaction may write (a POST on SQLite,
    which holds the write lock already), so the change rides on its commit. Otherwise
    it is written at once on a connection of its own: a page view does not commit, and
    on SQLite its read transaction cannot safely turn into a write. It is bookkeeping:
    if the database is busy the next request tries again."""
    if now - record.last_seen_at < TOUCH_EVERY:
        return
    if in_request_transaction:
        record.last_seen_at = now
        return
    write_aside(
        sa.update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now),
        "session last-seen time",
    )


def write_aside(statement, what: str) -> int | None:
    """Run one bookkeeping UPDATE at once, on a connection of its own, waiting a moment
    for the lock at most: a page view's (or an API read's) transaction only reads, and on
    SQLite it cannot safely turn into a write. The number of rows changed; None when the
    database was busy (the next request tries again)."""
    try:
        with db.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            # Bookkeeping never keeps a page waiting: a moment for the lock, not the 15 s
            # a real write waits (the connection's own wait is put back before it returns).
            conn.exec_driver_sql(
                f"PRAGMA busy_timeout={TOUCH_WAIT_MS}" if sqlite else f"SET LOCAL lock_timeout = {TOUCH_WAIT_MS}"
            )
            try:
                return conn.execute(statement).rowcount
            finally:
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except sa.exc.OperationalError:
        logger.warning("%s not written (database busy)", what)
        return None


def end(record: UserSession, reason: Ended, now: datetime) -> None:
    if record.revoked_at is None:
        record.revoked_at, record.revoked_reason = now, reason.value
        db.session.flush()


def end_all(user: User, reason: Ended, now: datetime, *, keep: UserSession | None = None) -> int:
    """End every live session of `user` (but `keep`); how many ended."""
    stmt = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    result = db.session.execute(
        stmt.values(revoked_at=now, revoked_reason=reason.value).execution_options(synchronize_session="fetch")
    )
    assert isinstance(result, sa.CursorResult)  # what an UPDATE returns; it has the rowcount
    return result.rowcount


def sign_out_everywhere(actor: User, user: User, now: datetime, *, keep: UserSession | None = None) -> int:
    """The person's own "sign out everywhere else" (keep: this session) or an administrator's
    "sign out everywhere" for an account; recorded in the account's history."""
    ended = end_all(user, Ended.EVERYWHERE, now, keep=keep)
    log(actor, "account.signed_out_everywhere", db.session.get_one(User, user.id), sessions=ended)
    db.session.flush()
    return ended


def live_sessions(user: User, now: datetime, limits: Limits) -> list[UserSession]:
    """The account's sessions that still open it, most recently used first."""
    rows = db.session.scalars(
        sa.select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.created_at > now - limits.absolute,
            UserSession.last_seen_at > now - limits.idle,
        )
        .order_by(UserSession.last_seen_at.desc())
    )
    return list(rows)


def needs_password(record: UserSession | None, now: datetime, minutes: int) -> bool:
    """Whether the password must be typed again before a sensitive step (an export,
    contact details in full): the last time it was is more than `minutes` ago."""
    return record is None or record.authenticated_at + timedelta(minutes=minutes) < now


def confirmed(record: UserSession, now: datetime) -> None:
    """The password was typed again in this session."""
    record.authenticated_at = now
    db.session.flush()


# Browsers and apps by a word in their user agent, most specific first.
_APPS = (
    ("MicroMessenger", "WeChat"),
    ("AlipayClient", "Alipay"),
    ("DingTalk", "DingTalk"),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """ "Chrome · Android": enough to recognise one's own phone, nothing more."""
    app = next((name for word, name in _APPS if word in user_agent), "")
    system = next((name for word, name in _SYSTEMS if word in user_agent), "")
    return " · ".join(part for part in (app, system) if part) or (user_agent[:40] if user_agent else "")
