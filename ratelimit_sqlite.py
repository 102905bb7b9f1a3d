"""Rate-limit counters in a SQLite file: `sqlite:///path` as RATELIMIT_STORAGE_URI.

`memory://` counts in each gunicorn worker alone, so `make run`'s workers would let
through several times the limit; Redis is what production uses (`redis://…`), and this
is the embedded default between the two: every worker and thread of one machine shares
the file. Fixed windows (Flask-Limiter's default strategy): a counter and when it expires.
The file is its own, apart from the application's database, so a count never waits
behind the application's write lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEMA = "CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"


class SQLiteStorage(Storage):
    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool):
        super().__init__(uri, wrap_exceptions, **options)
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy writes them
        self.path = (uri or "").removeprefix("sqlite:///")
        if not self.path or self.path == uri:
            raise ValueError("sqlite:///path/to/file for the rate-limit counters")
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._local = threading.local()
        with self._connection() as conn:
            conn.execute(SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # One connection per thread (and per process: a forked worker opens its own).
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._connection()
        row = conn.execute(
            "INSERT INTO counter (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "value = CASE WHEN counter.expires <= ? THEN excluded.value ELSE counter.value + excluded.value END, "
            "expires = CASE WHEN counter.expires <= ? THEN excluded.expires ELSE counter.expires END "
            "RETURNING value",
            (key, amount, now + expiry, now, now),
        ).fetchone()
        if int(now) % 97 == 0:  # now and then, forget the windows that have ended
            conn.execute("DELETE FROM counter WHERE expires <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT value FROM counter WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT expires FROM counter WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counter WHERE key = ?", (key,))
