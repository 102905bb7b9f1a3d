"""The back office's inbox: concerns in the viewer's scope, filtered, newest first, one
page at a time by keyset (created_at, id) so the first page and the thousandth cost the
same."""

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
from services.codes import normalize_tracking_code
from services.concern_flow import FINAL_STATUSES, OPEN_STATUSES, STAGE_DONE, overdue_clause
from services.limits import INBOX_QUERY_MAX
from services.permissions import concern_scope

PAGE_SIZE = 25
MAX_QUERY_WORDS = 5

# Boxes: ready-made views of the inbox for a role's daily work.
BOXES = ("all", "take", "supervise", "handle")


@dataclass(frozen=True)
class InboxFilter:
    box: str = "all"
    status: str = ""  # a ConcernStatus value, "open" or "final"; "" for any
    stage: int | None = None  # index into concern_flow.STAGES
    category_id: int | None = None
    station_id: int | None = None
    overdue: bool = False
    q: str = ""

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
            "q": self.q,
        }
        return {k: v for k, v in args.items() if v}

    def is_filtered(self) -> bool:
        """Anything chosen beyond the box."""
        return len(self.as_args()) > 1


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
    return InboxFilter(
        box=box if box in BOXES else "all",
        status=status,
        stage=stage if stage is not None and stage in STAGE_DONE.values() else None,
        category_id=int_arg("category"),
        station_id=int_arg("station"),
        overdue=args.get("overdue") in ("1", "on", "true"),
        q=" ".join(args.get("q", "").split())[:INBOX_QUERY_MAX],
    )


# The boxes each role sees as tabs above its inbox, in order; the first is where it opens.
ROLE_BOXES = {
    Role.REPRESENTATIVE: ("take", "supervise", "all"),
    Role.UNIT_HANDLER: ("handle", "all"),
}


def boxes_for(user) -> tuple[str, ...]:
    """A representative opens on the concerns to take up, a unit on its work."""
    return ROLE_BOXES.get(user.role, ("all",))


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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


def filter_clauses(user, f: InboxFilter, now: datetime | None = None) -> list:
    """The WHERE of the inbox (and of its export): scope first, then the filter."""
    clauses = [concern_scope(user)]
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
        clauses.append(overdue_clause(now or utcnow()))
    words = [Concern.content.ilike(f"%{_escape_like(word)}%", escape="\\") for word in f.words()]
    # A tracking code typed or read out (as displayed, any case, full-width) finds its concern too.
    code = normalize_tracking_code(unicodedata.normalize("NFKC", f.q))
    if code is not None:
        clauses.append(sa.or_(Concern.tracking_code == code, sa.and_(*words)))
    else:
        clauses.extend(words)
    return clauses


def encode_cursor(concern: Concern) -> str:
    return f"{concern.created_at.strftime('%Y%m%d%H%M%S%f')}-{concern.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    stamp, _, ident = (cursor or "").partition("-")
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f"), int(ident)
    except ValueError:
        return None


def newest_first(user, f: InboxFilter, now: datetime | None = None) -> sa.Select:
    """The inbox's concerns under `f`, newest first, with what a row shows loaded: the
    query behind both the pages and the exports."""
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
        .order_by(Concern.created_at.desc(), Concern.id.desc())
    )


def page(user, f: InboxFilter, cursor: str | None = None, size: int = PAGE_SIZE, now=None) -> Page:
    """One page of the inbox, newest first, after `cursor` (the last row of the page before)."""
    query = newest_first(user, f, now)
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        query = query.where(sa.tuple_(Concern.created_at, Concern.id) < sa.tuple_(*map(sa.literal, position)))
    rows = list(db.session.scalars(query.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1]) if more and rows else None)


def count(user, f: InboxFilter) -> int:
    """How many concerns a filter holds; for small boxes (a representative's), not the
    whole inbox of a province."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Concern).where(*filter_clauses(user, f))) or 0
