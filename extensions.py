"""Extensions, created unbound here and bound to the app in create_app()."""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

import ratelimit_sqlite  # noqa: F401  (registers the sqlite:// storage for the limiter)
from models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
SQLITE_BUSY_TIMEOUT_MS = 15000


def sqlite_file(engine) -> str | None:
    """The absolute path of a file-based SQLite database; None for anything else."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database or ""
    if name in ("", ":memory:") or name.startswith("file:"):
        return None
    return os.path.abspath(name)


def create_sqlite_file(engine) -> None:
    """Make the empty database file `flask db upgrade` then fills: the only place a
    database file is ever created (the app opens it read-write, never create)."""
    path = sqlite_file(engine)
    if path is not None and not os.path.exists(path):
        sqlite3.connect(path).close()


def configure_sqlite(engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE for every transaction that may write.

    A deferred SQLite transaction that reads and then writes cannot wait for the
    write lock and fails with "database is locked" under load, busy timeout or not.
    So transactions outside a GET/HEAD request take the write lock up front; page
    views stay deferred and never block each other, and so do the reads a POST makes
    inside reads_only() before it writes.
    """
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    path = sqlite_file(engine)
    if path is not None:

        @event.listens_for(engine, "do_connect")
        def _open_existing(_dialect, _record, cargs, cparams):
            # SQLite creates a missing file on open: a moved or mistyped database would
            # come up empty and the service would run on it. mode=rw makes it an error.
            cargs[0] = f"file:{quote(path)}?mode=rw"
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if takes_write_lock() else "BEGIN")


def takes_write_lock() -> bool:
    """Whether a transaction begun now, on SQLite, takes the write lock up front: outside a
    GET/HEAD request (or in a GET marked writes_on_get), and in CLI commands and workers."""
    from flask import current_app, g, has_app_context, has_request_context, request

    if has_request_context():
        view = current_app.view_functions.get(request.endpoint or "")  # None: no route matched
        reading = request.method in ("GET", "HEAD") and not getattr(view, "writes_on_get", False)
        return not (reading or g.get("reads_only", False))
    # CLI commands and workers write; a test's own session mostly reads, and
    # must not hold the write lock while the app under test serves a POST.
    return not (has_app_context() and not current_app.config["SQLITE_IMMEDIATE_OUTSIDE_REQUESTS"])


# The key of the signed-in session's server-side record, in Flask's signed session cookie.
SESSION_KEY = "_sk"


@login_manager.user_loader
def load_user(user_id: str):
    """The account of this request's session. The cookie names the account ("<user id>.
    <session version>") and carries the key of a server-side session record, which must be
    live (not ended, within the idle and absolute limits) and the account's own."""
    from flask import current_app, g, session

    from models import utcnow
    from services import sessions

    def forget() -> None:
        # The sign-in is over: the browser is anonymous again (the cached station page,
        # no session look-up on every later request).
        session.pop("_user_id", None)
        session.pop(SESSION_KEY, None)

    uid, _, version = user_id.partition(".")
    if not uid.isdigit() or not version.isdigit():
        forget()
        return None
    now = utcnow()
    record = sessions.load(session.get(SESSION_KEY), now, sessions.Limits.from_config(current_app.config))
    if record is None or record.user_id != int(uid):
        forget()
        return None
    user = record.user
    if user.session_version != int(version) or not user.active:
        forget()
        return None
    on_sqlite = db.engine.dialect.name == "sqlite"
    sessions.touch(record, now, in_request_transaction=on_sqlite and takes_write_lock())
    g.user_session = record
    return user


@contextmanager
def reads_only() -> Iterator[None]:
    """A transaction that only reads, ended when the block ends, in a request that writes
    later. On SQLite it takes no write lock: a POST that reads, then does something slow
    without the database (decoding photos), then writes, holds the lock for the write only.
    Objects loaded inside are expired afterwards (the transaction is rolled back)."""
    from flask import g

    if db.session().in_transaction():
        db.session.rollback()  # a transaction begun before would carry on with its lock
    g.reads_only = True
    try:
        yield
    finally:
        g.reads_only = False
        db.session.rollback()


def writes_on_get(view):
    """Mark a GET view that writes (an export that records itself), so that on SQLite
    it takes the write lock up front like a POST."""
    view.writes_on_get = True
    return view
