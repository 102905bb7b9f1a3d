"""The audit log, read: the administrator's filters (person, action, object, time), pages
newest first by keyset (services.keyset), each entry in words, and the rows an export holds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import AuditLog, User
from models.base import ID_MAX
from services import keyset
from services.clock import day_start, to_local
from services.errors import DomainError
from services.figures import FIRST_YEAR, LAST_YEAR

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000
TEXT_MAX = 60
# The word that finds the entries no person made (the scheduled jobs, residents' own steps).
SYSTEM_WORDS = frozenset({"system", "系统"})
_ACTION = re.compile(r"^[a-z0-9_.]{1,60}$")
_TYPE = re.compile(r"^[a-z_]{1,30}$")


class AuditFilterRefused(DomainError):
    pass


@dataclass
class AuditFilter:
    who: str = ""  # a username, or part of a display name; "system" for none
    action: str = ""  # a prefix: "account." or "concern.contact_viewed"
    target_type: str = ""
    target_id: int | None = None
    since: date | None = None  # local days, both included
    until: date | None = None

    def as_args(self) -> dict[str, str]:
        args = {
            "who": self.who,
            "action": self.action,
            "type": self.target_type,
            "id": str(self.target_id) if self.target_id is not None else "",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in args.items() if v}


@dataclass
class Parsed:
    filter: AuditFilter
    problems: dict[str, str] = field(default_factory=dict)  # field → refusal code


def _day(raw: str) -> date:
    # Past the years the service can hold records for, a day is a typing mistake (and
    # 9999-12-31 has no day after it to bound the range with).
    day = date.fromisoformat(raw)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(raw)
    return day


def parse_filter(args) -> Parsed:
    """The filter from query arguments; each bad value is left out and named in `problems`
    (field → code: too_long, bad_action, bad_type, bad_id, bad_day, bad_range)."""
    f, problems = AuditFilter(), {}
    text = {key: " ".join((args.get(key) or "").split()) for key in ("who", "action", "type", "id", "since", "until")}
    for key, value in text.items():
        if len(value) > TEXT_MAX:
            problems[key] = "too_long"
            text[key] = ""
    f.who = text["who"]
    if text["action"]:
        if _ACTION.match(text["action"].lower()):
            f.action = text["action"].lower()
        else:
            problems["action"] = "bad_action"
    if text["type"]:
        if _TYPE.match(text["type"].lower()):
            f.target_type = text["type"].lower()
        else:
            problems["type"] = "bad_type"
    if text["id"]:
        if text["id"].isdigit() and len(text["id"]) <= 10 and int(text["id"]) <= ID_MAX:
            f.target_id = int(text["id"])
        else:
            problems["id"] = "bad_id"
    for key in ("since", "until"):
        if text[key]:
            try:
                setattr(f, key, _day(text[key]))
            except ValueError:
                problems[key] = "bad_day"
    if f.since and f.until and f.since > f.until:
        problems["until"] = "bad_range"
        f.until = None
    return Parsed(f, problems)


def _where(f: AuditFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.who:
        if f.who.lower() in SYSTEM_WORDS:
            where.append(AuditLog.actor_id.is_(None))
        else:
            people = sa.select(User.id).where(
                sa.or_(sa.func.lower(User.username) == f.who.lower(), keyset.contains(User.display_name, f.who))
            )
            where.append(AuditLog.actor_id.in_(people))
    if f.action:
        where.append(AuditLog.action.startswith(f.action, autoescape=True))
    if f.target_type:
        where.append(AuditLog.target_type == f.target_type)
    if f.target_id is not None:
        where.append(AuditLog.target_id == f.target_id)
    if f.since:
        where.append(AuditLog.created_at >= day_start(f.since))
    if f.until:
        where.append(AuditLog.created_at < day_start(date.fromordinal(f.until.toordinal() + 1)))
    return where


def newest_first(f: AuditFilter) -> sa.Select:
    return (
        sa.select(AuditLog)
        .where(*_where(f))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .options(selectinload(AuditLog.actor))
    )


@dataclass
class Page:
    entries: list[AuditLog]
    next_cursor: str | None


def page(f: AuditFilter, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """One page after `cursor` (the last entry of the page before); a bad cursor is page one."""
    query = newest_first(f)
    position = keyset.decode(cursor) if cursor else None
    if position is not None:
        query = query.where(sa.tuple_(AuditLog.created_at, AuditLog.id) < sa.tuple_(*map(sa.literal, position)))
    rows = list(db.session.scalars(query.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, keyset.encode(rows[-1].created_at, rows[-1].id) if more and rows else None)


# --- an entry in words ---------------------------------------------------------------


def plain(value) -> str:
    """A stored value as a reader reads it: text as is, lists joined, the rest as JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, str):
        return value or "—"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass
class Line:
    key: str
    value: str = ""
    before: str | None = None  # a change: before → after (value)


def lines(entry: AuditLog) -> list[Line]:
    """data as "key: value", and data["changes"] (services.audit.log_change) as
    "field: before → after"."""
    data: dict = entry.data or {}
    out: list[Line] = []
    changes = data.get("changes")
    if isinstance(changes, dict):
        for key, pair in changes.items():
            if isinstance(pair, list) and len(pair) == 2:
                out.append(Line(str(key), plain(pair[1]), plain(pair[0])))
            else:
                out.append(Line(str(key), plain(pair)))
    for key, value in data.items():
        if key == "changes" and isinstance(changes, dict):
            continue
        out.append(Line(str(key), plain(value)))
    return out


def line_text(line: Line) -> str:
    return f"{line.key}: {line.before} → {line.value}" if line.before is not None else f"{line.key}: {line.value}"


def actor_text(entry: AuditLog) -> str:
    if entry.actor is None:
        return "系统"
    return f"{entry.actor.display_name}（{entry.actor.username}）"


def target_text(entry: AuditLog) -> str:
    if not entry.target_type:
        return ""
    return f"{entry.target_type} #{entry.target_id}" if entry.target_id is not None else entry.target_type


# --- the export ------------------------------------------------------------------------

EXPORT_HEADERS = ("时间", "操作人", "操作", "对象", "内容")
EXPORT_WIDTHS = (17, 24, 30, 20, 80)


@dataclass
class AuditExport:
    rows: list[list]
    truncated: bool
    made_at: datetime


def export(f: AuditFilter, now: datetime, limit: int = EXPORT_LIMIT) -> AuditExport:
    """The filtered entries, newest first, up to `limit`, one row each."""
    rows: list[list] = []
    truncated = False
    result = db.session.scalars(newest_first(f).limit(limit + 1).execution_options(yield_per=1000))
    try:
        for entry in result:
            if len(rows) == limit:
                truncated = True
                break
            rows.append(
                [
                    to_local(entry.created_at).replace(tzinfo=None),
                    actor_text(entry),
                    entry.action,
                    target_text(entry),
                    "；".join(line_text(line) for line in lines(entry)),
                ]
            )
    finally:
        result.close()
    return AuditExport(rows, truncated, now)
