"""The anonymous station pages, kept rendered in each worker, and what makes every worker on
every app server drop them when what they show changes.

Most scans are anonymous and see the same page, so each worker keeps a station's page per
language for STATION_PAGE_CACHE_SECONDS. A commit that adds, changes or deletes a row of a
`ShownOnStationPage` model (a duty begun or ended, the roster, the station, its
representatives) bumps one shared counter (`cache_stamp`) in the same transaction; each
worker reads the counter at most every STATION_PAGE_CHECK_SECONDS and drops its pages when
it moved. So a duty started shows on every server within that second; what no commit of
those models changes (the year's figures) is at most the cache's lifetime old.

Beside the pages, each worker keeps the whole responses that views/front.py answers a
repeat cookie-less visit with before Flask is reached; they are dropped with the pages.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa
from cachetools import TTLCache
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from extensions import db
from models import CacheStamp, ShownOnStationPage
from models.cache import STATION_PAGES

_CHANGED = "station_pages_changed"

Page = tuple[bytes, str]  # the HTML and its ETag
# What views/front.py replays: status line, headers, body, ETag, the route (for metrics).
Kept = tuple[str, list[tuple[str, str]], bytes, str | None, str]

# Set in the WSGI environ by a view whose response may be kept for the front: the generation
# it was made under.
FRONT_KEEPS = "mashang.front_keeps"


def read_generation() -> int:
    return db.session.scalar(sa.select(CacheStamp.value).where(CacheStamp.name == STATION_PAGES)) or 0


def _shown(objects) -> bool:
    return any(isinstance(obj, ShownOnStationPage) for obj in objects)


def _note_flush(session: Session, _context, _instances) -> None:
    if _shown(session.new) or _shown(session.deleted) or _shown(session.dirty):
        session.info[_CHANGED] = True


def _note_bulk(state: ORMExecuteState) -> None:
    # An UPDATE or DELETE statement on the models skips the flush.
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and issubclass(mapper.class_, ShownOnStationPage):
        state.session.info[_CHANGED] = True


def _bump_on_commit(session: Session) -> None:
    # Pending changes are flushed after this hook, so they are looked at too. The counter's
    # row is locked last, only for the commit itself.
    if session.info.pop(_CHANGED, False) or _shown(session.new) or _shown(session.deleted) or _shown(session.dirty):
        # On the connection, not the session: no flush may start inside this hook.
        connection = session.connection()
        bumped = connection.execute(
            sa.update(CacheStamp).where(CacheStamp.name == STATION_PAGES).values(value=CacheStamp.value + 1)
        )
        if bumped.rowcount == 0:
            connection.execute(sa.insert(CacheStamp).values(name=STATION_PAGES, value=1))


def _forget(session: Session, *_args) -> None:
    # After a commit the counter has moved already (the commit's own flush, which runs after
    # the hook above, notes again what the hook saw); after a rollback nothing changed.
    session.info.pop(_CHANGED, None)


_listening = False


def listen() -> None:
    """Watch every session's commits (once per process)."""
    global _listening
    if _listening:
        return
    event.listen(Session, "before_flush", _note_flush)
    event.listen(Session, "do_orm_execute", _note_bulk)
    event.listen(Session, "before_commit", _bump_on_commit)
    event.listen(Session, "after_commit", _forget)
    event.listen(Session, "after_soft_rollback", _forget)
    _listening = True


class StationPages:
    """This worker's rendered pages, keyed by (station code, language)."""

    def __init__(self, ttl: float, check_every: float, maxsize: int = 4096) -> None:
        self._pages: TTLCache[Any, tuple[Page, int | None]] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._responses: TTLCache[Any, tuple[Kept, int | None]] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()
        self._check_every = check_every
        self._checked_at = float("-inf")
        self._generation: int | None = None

    def generation(self) -> int | None:
        """The shared generation, read again when the last look is older than a second."""
        now = time.monotonic()
        if now - self._checked_at >= self._check_every:
            current = read_generation()
            with self._lock:
                self._checked_at = now
                if current != self._generation:
                    self._pages.clear()
                    self._responses.clear()
                    self._generation = current
        return self._generation

    def due(self) -> bool:
        """Whether the shared generation should be read again before a kept page is shown."""
        return time.monotonic() - self._checked_at >= self._check_every

    def get(self, key) -> Page | None:
        """The page kept under the generation last read (call generation() first)."""
        with self._lock:
            kept = self._pages.get(key)
            return kept[0] if kept is not None and kept[1] == self._generation else None

    def put(self, key, page: Page, generation: int | None) -> None:
        """Keep a page rendered under `generation`, unless the counter has moved since."""
        with self._lock:
            if generation == self._generation:
                self._pages[key] = (page, generation)

    def response(self, key) -> Kept | None:
        """A whole response kept for the front (call due() first: when it says so, let the
        request through to Flask, which reads the generation)."""
        with self._lock:
            kept = self._responses.get(key)
            return kept[0] if kept is not None and kept[1] == self._generation else None

    def put_response(self, key, kept: Kept, generation: int | None) -> None:
        with self._lock:
            if generation == self._generation:
                self._responses[key] = (kept, generation)

    def forget(self, *codes: str) -> None:
        with self._lock:
            for key in [key for key in list(self._pages.keys()) if key[0] in codes]:
                self._pages.pop(key, None)
            # The front's keys start with the path: /s/<code>… or /r/<code>…
            for key in [key for key in list(self._responses.keys()) if _code_in(key[0]) in codes]:
                self._responses.pop(key, None)


def _code_in(path: str) -> str | None:
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 else None


def pages_of(app) -> StationPages | None:
    """The app's kept pages (made on first use), or None when STATION_PAGE_CACHE_SECONDS is 0."""
    seconds = app.config["STATION_PAGE_CACHE_SECONDS"]
    if seconds <= 0:
        return None
    pages = app.extensions.get("station_pages")
    if pages is None:
        check = app.config["STATION_PAGE_CHECK_SECONDS"]
        pages = app.extensions.setdefault("station_pages", StationPages(ttl=seconds, check_every=check))
    return pages
