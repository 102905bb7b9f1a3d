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
A concern's tracking page is kept the same way, but a change to one concern must not drop
every page: a commit that touches a `ShownOnTrackingPage` row writes `concern:<id>` to the
page_change journal, which each worker reads with the counter and drops the responses
tagged with it. What else such a page shows (a suggestion it grew into, a unit's name) is
at most the cache's lifetime old.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cachetools import TTLCache
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from extensions import db
from models import CacheStamp, Concern, PageChange, ShownOnStationPage, ShownOnTrackingPage, utcnow
from models.cache import STATION_PAGES

_CHANGED = "station_pages_changed"
_TAGGED = "page_changes_written"  # the tags this transaction has written to the journal
ALL_CONCERNS = "concern:*"  # an UPDATE statement on concerns: which ones is not known
JOURNAL_KEPT = timedelta(hours=1)
_RACE_SECONDS = 60.0  # longer than any request takes to render

Page = tuple[bytes, str]  # the HTML and its ETag
# What views/front.py replays: status line, headers, body, ETag, the route (for metrics).
Kept = tuple[str, list[tuple[str, str]], bytes, str | None, str]

# Set in the WSGI environ by a view whose response may be kept for the front: the generation
# and journal position it was made under, and the journal tags that make it old.
FRONT_KEEPS = "mashang.front_keeps"
FrontMark = tuple[int | None, int | None, frozenset[str]]


def read_generation() -> int:
    return db.session.scalar(sa.select(CacheStamp.value).where(CacheStamp.name == STATION_PAGES)) or 0


def _shown(objects) -> bool:
    return any(isinstance(obj, ShownOnStationPage) for obj in objects)


def _note_flush(session: Session, _context, _instances) -> None:
    if _shown(session.new) or _shown(session.deleted) or _shown(session.dirty):
        session.info[_CHANGED] = True


def concern_tag(concern_id: int) -> str:
    return f"concern:{concern_id}"


def _journal(session: Session, tags: set[str]) -> None:
    """Write the tags this transaction has not written yet, on the connection (inside a flush
    or a commit no new flush may start)."""
    written = session.info.setdefault(_TAGGED, set())
    new = tags - written
    if new:
        now = utcnow()
        session.connection().execute(sa.insert(PageChange), [{"tag": tag, "created_at": now} for tag in sorted(new)])
        written |= new


def _note_tracked(session: Session, _context) -> None:
    # After the flush the new rows have their ids; new, dirty and deleted still say what it wrote.
    inserted = {obj.id for obj in session.new if isinstance(obj, Concern)}
    tags = {
        concern_tag(concern_id)
        for objects in (session.new, session.dirty, session.deleted)
        for obj in objects
        if isinstance(obj, ShownOnTrackingPage)
        and (concern_id := obj.tracked_concern_id()) is not None
        and concern_id not in inserted  # nobody has seen a page of a concern filed now
    }
    if tags:
        _journal(session, tags)


def _note_bulk(state: ORMExecuteState) -> None:
    # An UPDATE or DELETE statement on the models skips the flush.
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None:
        if issubclass(mapper.class_, ShownOnStationPage):
            state.session.info[_CHANGED] = True
        if issubclass(mapper.class_, ShownOnTrackingPage):
            state.session.info[ALL_CONCERNS] = True


def _bump_on_commit(session: Session) -> None:
    # Pending changes are flushed after this hook, so they are looked at too. The counter's
    # row is locked last, only for the commit itself.
    if session.info.pop(ALL_CONCERNS, False):
        _journal(session, {ALL_CONCERNS})
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
    session.info.pop(ALL_CONCERNS, None)
    session.info.pop(_TAGGED, None)


def prune_journal(now=None) -> int:
    """Delete journal rows older than any kept page (the page-changes job)."""
    cutoff = (now or utcnow()) - JOURNAL_KEPT
    result = db.session.execute(sa.delete(PageChange).where(PageChange.created_at < cutoff))
    assert isinstance(result, sa.CursorResult)  # a DELETE's result has the rowcount
    return result.rowcount


_listening = False


def listen() -> None:
    """Watch every session's commits (once per process)."""
    global _listening
    if _listening:
        return
    event.listen(Session, "before_flush", _note_flush)
    event.listen(Session, "after_flush", _note_tracked)
    event.listen(Session, "do_orm_execute", _note_bulk)
    event.listen(Session, "before_commit", _bump_on_commit)
    event.listen(Session, "after_commit", _forget)
    event.listen(Session, "after_soft_rollback", _forget)
    _listening = True


class StationPages:
    """This worker's rendered pages, keyed by (station code, language), and the whole
    responses the front replays, keyed by (path, host, language) and tagged with the journal
    tags that make them old."""

    def __init__(self, ttl: float, check_every: float, maxsize: int = 4096) -> None:
        self._pages: TTLCache[Any, tuple[Page, int | None]] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._responses: TTLCache[Any, tuple[Kept, int | None]] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._tagged: dict[str, set] = {}  # tag → keys of responses (some perhaps gone already)
        self._dropped: dict[str, tuple[int, float]] = {}  # tag → (journal id, when read)
        self._lock = threading.Lock()
        self._check_every = check_every
        self._checked_at = float("-inf")
        self._generation: int | None = None
        self.position: int | None = None  # the last journal row read

    def generation(self) -> int | None:
        """The shared generation, read again (with the journal) when the last look is older
        than a second."""
        now = time.monotonic()
        if now - self._checked_at >= self._check_every:
            current = read_generation()
            changes = self._read_journal()
            with self._lock:
                self._checked_at = now
                if current != self._generation:
                    self._pages.clear()
                    self._responses.clear()
                    self._tagged.clear()
                    self._generation = current
                self._drop_tagged(changes, now)
        return self._generation

    def _read_journal(self) -> list[tuple[int, str]]:
        if self.position is None:  # nothing is kept yet: only where the journal is now matters
            self.position = db.session.scalar(sa.select(sa.func.max(PageChange.id))) or 0
            return []
        return [
            (row.id, row.tag)
            for row in db.session.execute(
                sa.select(PageChange.id, PageChange.tag).where(PageChange.id > self.position).order_by(PageChange.id)
            )
        ]

    def _drop_tagged(self, changes: list[tuple[int, str]], now: float) -> None:
        for row_id, tag in changes:
            for each in list(self._tagged) if tag == ALL_CONCERNS else [tag]:
                for key in self._tagged.pop(each, ()):
                    self._responses.pop(key, None)
            self._dropped[tag] = (row_id, now)
            self.position = max(self.position or 0, row_id)
        for tag in [t for t, (_id, seen) in self._dropped.items() if now - seen > _RACE_SECONDS]:
            del self._dropped[tag]

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

    def put_response(self, key, kept: Kept, mark: FrontMark) -> None:
        """Keep a response made under `mark`, unless the generation has moved since or a
        journal row read since names one of its tags (a concern changed while it rendered)."""
        generation, position, tags = mark
        with self._lock:
            if generation != self._generation:
                return
            if any(self._dropped.get(tag, (-1, 0.0))[0] > (position or 0) for tag in (*tags, ALL_CONCERNS)):
                return
            self._responses[key] = (kept, generation)
            for tag in tags:
                self._tagged.setdefault(tag, set()).add(key)

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
