"""Public answers (已办结案例): the closed concerns whose residents agreed to publish them,
per station and per representative, as anyone may read them — the text with personal
details taken out (services.redact), the public answer, the time taken and the ratings.

What is listed: status closed (answered, checked and rated, or closed unrated when the
rating window passed), `is_public` (the resident's 同意公开展示) and not withheld by
staff. A concern reopened after a dissatisfied rating leaves the list until it closes
again. Never shown: contact details, photos, internal notes, rating comments.

Staff keep an item off the list with a reason (withhold) and put it back (release):
steps of the concern's trail (concern_flow's WITHHOLD and RELEASE rows), internal."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from extensions import db
from models import Concern, ConcernEvent, ConcernRating, Representative, Station, User
from models.enums import ConcernAction as A
from models.enums import ConcernStatus as S
from services import keyset
from services.concern_flow import ANSWERS, CONCERN_FLOW
from services.concerns import clean_text
from services.errors import TransitionRefused
from services.limits import PUBLIC_QUERY_MAX, WITHHOLD_REASON_MAX
from services.redact import redact
from services.workflow import ActionSpec

PAGE_SIZE = 10
# A search reads the text as published (redacted): rows whose match was a phone number or
# a name are dropped after the query. At most this many rows are read per page.
SCAN_BATCH = 40
SCAN_BATCHES = 5


def listed_clause() -> sa.ColumnElement[bool]:
    """The SQL of "on the public list"; is_listed is its twin."""
    return sa.and_(Concern.status == S.CLOSED, Concern.is_public, Concern.public_withheld_at.is_(None))


def is_listed(concern: Concern) -> bool:
    return concern.status == S.CLOSED and concern.is_public and concern.public_withheld_at is None


# Why a concern is not on the list, for the back office.
NOT_LISTED_BECAUSE = {
    "not_agreed": _l("The resident did not agree to publish it."),
    "withheld": _l("Withheld by staff."),
    "not_closed": _l("It will be listed once it is closed."),
    "not_answered": _l("It ended without an answer (not accepted, merged or withdrawn), so it is not listed."),
}


def why_not_listed(concern: Concern) -> str | None:
    """A key of NOT_LISTED_BECAUSE, or None when the concern is listed."""
    if not concern.is_public:
        return "not_agreed"
    if concern.public_withheld_at is not None:
        return "withheld"
    if concern.status in (S.REJECTED, S.MERGED, S.WITHDRAWN):
        return "not_answered"
    if concern.status != S.CLOSED:
        return "not_closed"
    return None


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicAnswer:
    """One item as the public reads it: nothing here is personal."""

    id: int
    category: object  # Category, shown by its display name
    text: str  # redacted
    answer: str  # redacted; the latest public answer
    answered_at: datetime | None
    check: str  # redacted; the representative's public check of the answer, if any
    closed_at: datetime
    working_days: int | None
    first_rating: ConcernRating | None
    final_rating: ConcernRating | None  # None when the same as the first, or never rated
    rounds: int


@dataclass(frozen=True)
class AnswerPage:
    items: list[PublicAnswer]
    next_cursor: str | None


def clean_query(raw: str | None) -> str:
    """A search word as typed: control characters out, spaces collapsed, clipped."""
    text = unicodedata.normalize("NFKC", clean_text(raw or ""))
    return " ".join(text.split())[:PUBLIC_QUERY_MAX]


def encode_cursor(concern: Concern) -> str:
    return keyset.encode(concern.closed_at, concern.id)


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    return keyset.decode(cursor)


def _query(station: Station, rep: Representative | None, q: str) -> sa.Select:
    query = sa.select(Concern).where(Concern.station_id == station.id, listed_clause())
    if rep is not None:
        query = query.where(Concern.assigned_rep_id == rep.id)
    for word in q.split():
        query = query.where(keyset.contains(Concern.content, word))
    return query.order_by(Concern.closed_at.desc(), Concern.id.desc())


def _published_text(concern: Concern) -> str:
    return redact(concern.content, [concern.contact_name])


def _matches(concern: Concern, q: str) -> bool:
    """The words are in the text as published, not only in a phone number or a name the
    public does not see: a search must not tell whose concern this is."""
    text = _published_text(concern).casefold()
    return all(word.casefold() in text for word in q.split())


def page(
    station: Station,
    *,
    rep: Representative | None = None,
    q: str = "",
    cursor: str | None = None,
    size: int = PAGE_SIZE,
) -> AnswerPage:
    """One page of a station's (or one of its representatives') public answers, newest
    closed first, after `cursor` (where the page before stopped; a malformed one is the
    first page)."""
    q = clean_query(q)
    query = _query(station, rep, q)
    position = decode_cursor(cursor)

    def rows_after(limit: int) -> list[Concern]:
        after = query
        if position is not None:
            after = query.where(sa.tuple_(Concern.closed_at, Concern.id) < sa.tuple_(*map(sa.literal, position)))
        return list(db.session.scalars(after.limit(limit)))

    if not q:
        rows = rows_after(size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return AnswerPage(_items(rows), encode_cursor(rows[-1]) if more else None)

    kept: list[Concern] = []
    for _batch in range(SCAN_BATCHES):
        rows = rows_after(SCAN_BATCH)
        for i, row in enumerate(rows):
            if len(kept) == size:
                # Page full: another match in this batch says there is more; none and the
                # end of the rows says there is not; otherwise the next page will tell.
                rest = rows[i:]
                more = any(_matches(r, q) for r in rest) or len(rows) == SCAN_BATCH
                return AnswerPage(_items(kept), encode_cursor(kept[-1]) if more else None)
            position = (row.closed_at, row.id)  # type: ignore[assignment]
            if _matches(row, q):
                kept.append(row)
        if len(rows) < SCAN_BATCH:
            return AnswerPage(_items(kept), None)
    # Read as far as one page may: the next page goes on from the last row read.
    assert position is not None
    return AnswerPage(_items(kept), keyset.encode(*position))


def item(station: Station, concern_id: int) -> PublicAnswer | None:
    """One listed item of the station, or None (not there, not listed: the same to the public)."""
    concern = db.session.scalar(
        sa.select(Concern).where(Concern.id == concern_id, Concern.station_id == station.id, listed_clause())
    )
    return _items([concern])[0] if concern is not None else None


def _items(concerns: list[Concern]) -> list[PublicAnswer]:
    """What each item shows, in two more queries for the whole page."""
    ids = [c.id for c in concerns]
    if not ids:
        return []
    events = db.session.scalars(
        sa.select(ConcernEvent)
        .where(
            ConcernEvent.concern_id.in_(ids),
            ConcernEvent.is_public,
            ConcernEvent.action.in_([*ANSWERS, A.CONFIRM]),
        )
        .order_by(ConcernEvent.id)
    ).all()
    ratings = db.session.scalars(
        sa.select(ConcernRating).where(ConcernRating.concern_id.in_(ids)).order_by(ConcernRating.round)
    ).all()
    answer_of: dict[int, ConcernEvent] = {}
    check_of: dict[int, ConcernEvent] = {}
    for event in events:  # in order: the latest wins
        if event.action in ANSWERS and event.note:
            answer_of[event.concern_id] = event
        elif event.action == A.CONFIRM:
            check_of[event.concern_id] = event
    ratings_of: dict[int, list[ConcernRating]] = {}
    for rating in ratings:
        ratings_of.setdefault(rating.concern_id, []).append(rating)

    items = []
    for c in concerns:
        names = [c.contact_name]
        answer, check = answer_of.get(c.id), check_of.get(c.id)
        # A check from before the latest answer checked an answer that was redone.
        if check is not None and answer is not None and check.id < answer.id:
            check = None
        rated = ratings_of.get(c.id, [])
        first = rated[0] if rated else None
        final = rated[-1] if len(rated) > 1 else None
        if final is not None and first is not None and _same(first, final):
            final = None
        assert c.closed_at is not None
        items.append(
            PublicAnswer(
                id=c.id,
                category=c.category,
                text=redact(c.content, names),
                answer=redact(answer.note, names) if answer else "",
                answered_at=answer.created_at if answer else None,
                check=redact(check.note, names) if check and check.note else "",
                closed_at=c.closed_at,
                working_days=c.close_working_days,
                first_rating=first,
                final_rating=final,
                rounds=c.rounds,
            )
        )
    return items


def _same(a: ConcernRating, b: ConcernRating) -> bool:
    return a.rating_unit == b.rating_unit and a.rating_rep == b.rating_rep


def representatives_with_answers(station: Station) -> set[int]:
    """The ids of the representatives who took up something on the station's list."""
    query = sa.select(Concern.assigned_rep_id).where(
        Concern.station_id == station.id, listed_clause(), Concern.assigned_rep_id.is_not(None)
    )
    return set(db.session.scalars(query.distinct()))


def count(station: Station, rep: Representative | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(Concern).where(Concern.station_id == station.id, listed_clause())
    if rep is not None:
        query = query.where(Concern.assigned_rep_id == rep.id)
    return db.session.scalar(query) or 0


# --- withholding, by staff ------------------------------------------------------------------


def withhold(
    concern: Concern,
    reason: str,
    *,
    role: str,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ConcernEvent:
    """Keep a concern the resident agreed to publish off the public answers, with the
    reason (internal, on the trail). Refuses with the table's codes (not_allowed_now when
    it was not agreed to or is already withheld, note_required without a reason) and
    reason_too_long."""
    reason = clean_text(reason)
    if len(reason) > WITHHOLD_REASON_MAX:
        raise TransitionRefused("reason_too_long")

    def effect(_spec: ActionSpec, _before: S, at: datetime) -> None:
        concern.public_withheld_at = at
        concern.public_withheld_reason = reason

    return CONCERN_FLOW.step(
        concern,
        A.WITHHOLD,
        role=role,
        actor=actor,
        note=reason,
        expected_version=expected_version,
        now=now,
        effect=effect,
    )


def release(
    concern: Concern,
    note: str = "",
    *,
    role: str,
    actor: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ConcernEvent:
    """Put a withheld concern back on the public answers (listed again once closed).
    Refuses with the table's codes: not_allowed_now when it is not withheld."""
    note = clean_text(note)[:WITHHOLD_REASON_MAX]

    def effect(_spec: ActionSpec, _before: S, _at: datetime) -> None:
        concern.public_withheld_at = None
        concern.public_withheld_reason = None

    return CONCERN_FLOW.step(
        concern, A.RELEASE, role=role, actor=actor, note=note, expected_version=expected_version, now=now, effect=effect
    )
