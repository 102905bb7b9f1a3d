"""The back office's inbox: concerns in the viewer's scope, filtered, newest first or
soonest deadline first, one page at a time by keyset ((created_at, id) or (due_at, id)) so
the first page and the thousandth cost the same; and the counts on the back-office home,
each the size of an inbox filter."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import Concern, Representative, utcnow
from models.enums import ConcernStatus as S
from models.enums import Role
from services import keyset
from services.codes import normalize_tracking_code
from services.concern_flow import (
    DEADLINE_STATUSES,
    FINAL_STATUSES,
    OPEN_STATUSES,
    STAGE_DONE,
    due_within_clause,
    overdue_clause,
)
from services.limits import INBOX_QUERY_MAX
from services.permissions import concern_scope
from services.word_search import contains_word
from services.workdays import add_working_days

PAGE_SIZE = 25
MAX_QUERY_WORDS = 5

# Boxes: ready-made views of the inbox for a role's daily work.
BOXES = ("all", "take", "supervise", "handle")
# Orders: newest first (the default), or soonest deadline first, those without one last.
SORTS = ("new", "due")
# "Due soon" on the home page and in the filter: by the end of this many working days.
DUE_SOON_WORKING_DAYS = 2


@dataclass(frozen=True)
class InboxFilter:
    box: str = "all"
    status: str = ""  # a ConcernStatus value, "open" or "final"; "" for any
    stage: int | None = None  # index into concern_flow.STAGES
    category_id: int | None = None
    station_id: int | None = None
    overdue: bool = False
    due_soon: bool = False  # not overdue yet, due within DUE_SOON_WORKING_DAYS working days
    escalated: bool = False  # its current stage was escalated (services.triage)
    q: str = ""
    sort: str = "new"
    since: datetime | None = None  # filed at or after (the API's filter; naive UTC)

    def words(self) -> list[str]:
        return self.q.split()[:MAX_QUERY_WORDS]

    def as_args(self) -> dict[str, str]:
        """Query-string arguments that rebuild this filter (for links and exports)."""
        args = {
            "box": self.box,
            "status": self.status,
            "stage": "" if self.stage is None else str(self.stage),
            "category": str(self.category_id or ""),
            "station": str(self.station_id or ""),
            "overdue": "1" if self.overdue else "",
            "soon": "1" if self.due_soon else "",
            "escalated": "1" if self.escalated else "",
            "q": self.q,
            "sort": "" if self.sort == "new" else self.sort,
        }
        return {k: v for k, v in args.items() if v}

    def is_filtered(self) -> bool:
        """Anything chosen beyond the box and the order."""
        return bool(set(self.as_args()) - {"box", "sort"})


@dataclass(frozen=True)
class Page:
    concerns: list[Concern]
    next_cursor: str | None


def parse_filter(args) -> InboxFilter:
    """Read a filter from request args; anything malformed is ignored, never an error."""

    def int_arg(name: str) -> int | None:
        value = args.get(name, "")
        return int(value) if value.isdigit() and len(value) < 10 else None

    status = args.get("status", "")
    if status not in {"open", "final"} | {s.value for s in S}:
        status = ""
    stage = int_arg("stage")
    box = args.get("box", "all")
    sort = args.get("sort", "new")
    return InboxFilter(
        box=box if box in BOXES else "all",
        status=status,
        stage=stage if stage is not None and stage in STAGE_DONE.values() else None,
        category_id=int_arg("category"),
        station_id=int_arg("station"),
        overdue=args.get("overdue") in ("1", "on", "true"),
        due_soon=args.get("soon") in ("1", "on", "true"),
        escalated=args.get("escalated") in ("1", "on", "true"),
        q=" ".join(args.get("q", "").split())[:INBOX_QUERY_MAX],
        sort=sort if sort in SORTS else "new",
    )


# The boxes each role sees as tabs above its inbox, in order; the first is where it opens.
ROLE_BOXES = {
    Role.REPRESENTATIVE: ("take", "supervise", "all"),
    Role.UNIT_HANDLER: ("handle", "all"),
}


def boxes_for(user) -> tuple[str, ...]:
    """A representative opens on the concerns to take up, a unit on its work."""
    return ROLE_BOXES.get(user.role, ("all",))


def _box_clause(user, box: str):
    rep: Representative | None = user.representative if user.role == Role.REPRESENTATIVE else None
    if box == "take":
        # Waiting to be taken up at the stations the representative serves.
        station_ids = [s.id for s in rep.stations] if rep else []
        return sa.and_(Concern.status == S.SUBMITTED, Concern.station_id.in_(station_ids))
    if box == "supervise":
        # Taken up by this representative and not yet closed: 督单.
        if rep is None:
            return Concern.status == S.REPLIED
        return sa.and_(Concern.assigned_rep_id == rep.id, Concern.status.in_(OPEN_STATUSES - {S.SUBMITTED}))
    if box == "handle":
        return Concern.status == S.DISPATCHED
    return None


def due_soon_until(now: datetime) -> datetime:
    """The end of the DUE_SOON_WORKING_DAYS-th working day after today (the calendar's)."""
    return add_working_days(now, DUE_SOON_WORKING_DAYS).due_at


def filter_clauses(user, f: InboxFilter, now: datetime | None = None) -> list:
    """The WHERE of the inbox (and of its export): scope first, then the filter."""
    return [concern_scope(user), *_narrowing(user, f, now or utcnow())]


def _narrowing(user, f: InboxFilter, now: datetime) -> list:
    """The filter's clauses, without the scope."""
    clauses = []
    box = _box_clause(user, f.box)
    if box is not None:
        clauses.append(box)
    if f.status == "open":
        clauses.append(Concern.status.in_(OPEN_STATUSES))
    elif f.status == "final":
        clauses.append(Concern.status.in_(FINAL_STATUSES))
    elif f.status:
        clauses.append(Concern.status == S(f.status))
    if f.stage is not None:
        clauses.append(Concern.status.in_([s for s, done in STAGE_DONE.items() if done == f.stage]))
    if f.category_id:
        clauses.append(Concern.category_id == f.category_id)
    if f.station_id:
        clauses.append(Concern.station_id == f.station_id)
    if f.overdue:
        clauses.append(overdue_clause(now))
    if f.due_soon:
        clauses.append(due_within_clause(now, due_soon_until(now)))
    if f.escalated:
        clauses.append(Concern.escalated_at.is_not(None))
    if f.since is not None:
        clauses.append(Concern.created_at >= f.since)
    words = [contains_word(word) for word in f.words()]
    # A tracking code typed or read out (as displayed, any case, full-width) finds its concern too.
    code = normalize_tracking_code(unicodedata.normalize("NFKC", f.q))
    if code is not None:
        clauses.append(sa.or_(Concern.tracking_code == code, sa.and_(*words)))
    else:
        clauses.extend(words)
    return clauses


def encode_cursor(concern: Concern) -> str:
    return keyset.encode(concern.created_at, concern.id)


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    return keyset.decode(cursor)


def encode_due_cursor(concern: Concern) -> str:
    return keyset.encode(concern.due_at, concern.id)


def decode_due_cursor(cursor: str) -> tuple[datetime | None, int] | None:
    return keyset.decode_untimed(cursor)


def _listed(user, f: InboxFilter, now: datetime | None) -> sa.Select:
    """The inbox's concerns under `f`, unordered, with what a row shows loaded."""
    # The query stays on one table; related rows come in a few small queries after it.
    # Joined here, they would be joined to thousands of rows before the scope filter.
    return (
        sa.select(Concern)
        .where(*filter_clauses(user, f, now))
        .options(
            selectinload(Concern.station),
            selectinload(Concern.category),
            selectinload(Concern.assigned_rep).joinedload(Representative.user),
            selectinload(Concern.unit),
        )
    )


def newest_first(user, f: InboxFilter, now: datetime | None = None) -> sa.Select:
    """The inbox's concerns under `f`, newest first, with what a row shows loaded: the
    query behind the pages (the exports read the same clauses as plain columns:
    services.exports.export_query)."""
    return _listed(user, f, now).order_by(Concern.created_at.desc(), Concern.id.desc())


def page(user, f: InboxFilter, cursor: str | None = None, size: int = PAGE_SIZE, now=None) -> Page:
    """One page of the inbox in `f`'s order, after `cursor` (the last row of the page before)."""
    if f.sort == "due":
        return _page_by_deadline(user, f, cursor, size, now)
    query = newest_first(user, f, now)
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        query = query.where(sa.tuple_(Concern.created_at, Concern.id) < sa.tuple_(*map(sa.literal, position)))
    rows = list(db.session.scalars(query.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


def _page_by_deadline(user, f: InboxFilter, cursor: str | None, size: int, now) -> Page:
    """Soonest deadline first, ties by id; then the concerns without a deadline, newest
    (highest id) first. Two queries rather than one ORDER BY ... NULLS LAST: SQLite and
    PostgreSQL put NULLs at opposite ends of an index, and a cursor condition with
    "OR due_at IS NULL" keeps PostgreSQL from starting the index scan at the cursor. Each
    part here is a range of ix_concern_due_id (or of the primary key)."""
    position = decode_due_cursor(cursor) if cursor else None
    base = _listed(user, f, now)
    rows: list[Concern] = []
    if position is None or position[0] is not None:
        dated = base.where(Concern.due_at.is_not(None))
        if position is not None:
            after = sa.tuple_(sa.literal(position[0]), sa.literal(position[1]))
            dated = dated.where(sa.tuple_(Concern.due_at, Concern.id) > after)
        rows = list(db.session.scalars(dated.order_by(Concern.due_at, Concern.id).limit(size + 1)))
    if len(rows) <= size:
        undated = base.where(Concern.due_at.is_(None))
        if position is not None and position[0] is None:
            undated = undated.where(Concern.id < position[1])
        rows += db.session.scalars(undated.order_by(Concern.id.desc()).limit(size + 1 - len(rows)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_due_cursor(rows[-1]) if more and rows else None)


# --- the back-office home's counts --------------------------------------------------------

# Each count on the home page is the size of one inbox filter, and links to it.
HOME_BOXES: dict[str, InboxFilter] = {
    "take": InboxFilter(status=S.SUBMITTED.value),  # 定单: waiting for a representative
    "dispatch": InboxFilter(status=S.ACCEPTED.value),  # 派单
    "handle": InboxFilter(status=S.DISPATCHED.value),  # 办单: at the units
    "overdue": InboxFilter(overdue=True, sort="due"),
    "soon": InboxFilter(due_soon=True, sort="due"),
    "escalated": InboxFilter(escalated=True, sort="due"),
}


def home_counts(user, now: datetime | None = None) -> dict[str, int]:
    """How many concerns each of HOME_BOXES holds in `user`'s scope, in one query: the
    same clauses as the inbox under that filter, so the count and the list agree."""
    now = now or utcnow()
    columns = [
        sa.func.count().filter(sa.and_(sa.true(), *_narrowing(user, f, now))).label(key)
        for key, f in HOME_BOXES.items()
    ]
    # Every box holds only concerns with a step owed (an overdue or escalated one has a
    # deadline, which only open concerns have, and confirmed ones are left out): reading
    # only those keeps the closed majority out of the count.
    query = sa.select(*columns).select_from(Concern).where(concern_scope(user), Concern.status.in_(DEADLINE_STATUSES))
    return dict(db.session.execute(query).one()._mapping)


def count(user, f: InboxFilter) -> int:
    """How many concerns a filter holds; for small boxes (a representative's), not the
    whole inbox of a province."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Concern).where(*filter_clauses(user, f))) or 0
