"""Drafts of laws and regulations put out for comment at the legislative contact points
(基层立法联系点, 立法意见征集).

Congress staff paste a draft's text; `split_text` cuts it into articles on their "第X条"
headings (chapters "第X章" and sections "第X节" stay as headings), and the draft is shown
for checking before it is published. A published draft is open for comment at the contact
points it went to until `closes_at`; from that moment every page treats it as closed
(`effective_status`), and the `close-drafts` job (or the next change of the draft) records
it. A resident comments on one article or on the whole draft and gets a code (/c/<code>)
that lists their comments with the outcome. Staff moderate the comments through
COMMENT_FLOW, a table on services.workflow: accept, merge into another comment (a
duplicate), reject with a reason, and take a decision back.

Everything here flushes, never commits, refuses with DraftRefused (or the engine's
TransitionRefused) and leaves an audit entry ("draft.<what>") for every staff change.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from extensions import db
from models import DraftComment, DraftCommentEvent, DraftItem, DraftLaw, Region, Station, User, utcnow
from models.enums import DraftCommentAction, DraftCommentStatus, DraftItemKind, DraftStatus
from services import audit, notifications
from services.codes import new_comment_code
from services.concerns import bounded_text, clean_text
from services.errors import DraftRefused
from services.limits import (
    CONTACT_NAME_MAX,
    DRAFT_BODY_MAX,
    DRAFT_COMMENT_MAX,
    DRAFT_COMMENT_MIN,
    DRAFT_ITEMS_MAX,
    DRAFT_OPEN_DAYS_MAX,
    DRAFT_REASON_MAX,
    DRAFT_SUMMARY_MAX,
    DRAFT_TEXT_MAX,
    DRAFT_TITLE_MAX,
)
from services.permissions import Permission, covers, manages_region, roles_for
from services.privacy import mask_mobile, mask_name
from services.resident_mobile import is_mainland_mobile, normalize_mobile
from services.workflow import ActionSpec, Workflow

S, A = DraftCommentStatus, DraftCommentAction

# --- splitting the text into articles ------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_KINDS = {"章": DraftItemKind.CHAPTER, "节": DraftItemKind.SECTION, "条": DraftItemKind.ARTICLE}
# A heading at the start of a line: 第一条, 第二十三条, 第一百零五条, 第3条, 第一章 总则.
_HEADING = re.compile(r"^第([零〇一二两三四五六七八九十百千0-9０-９]{1,8})([章节条])(?:\s+|$)?(.*)$")


def chinese_number(text: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 二十三 → 23, 一百零五 → 105, 一百一十 → 110, 两百 → 200,
    also 23 and ２３. ValueError for anything else."""
    if not text:
        raise ValueError(text)
    if text.isdigit():
        return int(text)
    total, digit, last_unit = 0, None, 10_000
    for ch in text:
        if ch in _DIGITS:
            if digit is not None and digit != 0:
                raise ValueError(text)  # two digits in a row: 二三
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit >= last_unit:
                raise ValueError(text)  # 十百, 百百
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            raise ValueError(text)
    total += digit or 0
    if total <= 0:
        raise ValueError(text)
    return total


@dataclass
class Piece:
    """A heading or an article as split from the pasted text."""

    kind: DraftItemKind
    number: int
    label: str
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class SplitText:
    pieces: list[Piece]
    # Text before the first heading (usually the draft's title): not part of any article.
    preamble: str

    @property
    def articles(self) -> list[Piece]:
        return [p for p in self.pieces if p.kind == DraftItemKind.ARTICLE]


def split_text(text: str) -> SplitText:
    """Cut a draft's text on the "第X条" (article), "第X章" (chapter) and "第X节" (section)
    that begin a line; the lines after a heading, up to the next one, are its text (a
    chapter's or section's first line is its title). Refuses with DraftRefused: text_missing,
    text_too_long, no_articles, too_many_items, article_numbers (not 1, 2, 3 … in order:
    `expected`, `found`), chapter_numbers, article_empty (`label`)."""
    text = clean_text(text or "")
    if not text:
        raise DraftRefused("text_missing")
    if len(text) > DRAFT_TEXT_MAX:
        raise DraftRefused("text_too_long", n=DRAFT_TEXT_MAX)
    pieces: list[Piece] = []
    preamble: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        match = _HEADING.match(line)
        number = None
        if match is not None:
            try:
                number = chinese_number(match.group(1))
            except ValueError:
                number = None
        if match is not None and number is not None:
            kind = _KINDS[match.group(2)]
            piece = Piece(kind, number, f"第{match.group(1)}{match.group(2)}")
            rest = match.group(3).strip()
            if rest:
                piece.lines.append(rest)
            pieces.append(piece)
        elif pieces:
            pieces[-1].lines.append(line)
        else:
            preamble.append(line)
    split = SplitText(pieces, "\n".join(preamble))
    _check_numbers(split)
    return split


def _check_numbers(split: SplitText) -> None:
    if not split.articles:
        raise DraftRefused("no_articles")
    if len(split.pieces) > DRAFT_ITEMS_MAX:
        raise DraftRefused("too_many_items", n=DRAFT_ITEMS_MAX)
    for kind, code in ((DraftItemKind.ARTICLE, "article_numbers"), (DraftItemKind.CHAPTER, "chapter_numbers")):
        for expected, piece in enumerate((p for p in split.pieces if p.kind == kind), start=1):
            if piece.number != expected:
                raise DraftRefused(code, expected=expected, found=piece.label)
    for piece in split.articles:
        if not piece.lines:
            raise DraftRefused("article_empty", label=piece.label)


# --- preparing, publishing, closing --------------------------------------------------------


@dataclass(frozen=True)
class DraftInput:
    title: str
    issuing_body: str
    summary: str
    closes_at: datetime | None  # naive UTC
    region: Region | None
    text: str
    all_stations: bool = True
    stations: Sequence[Station] = ()


def contact_points(region: Region) -> list[Station]:
    """The active contact points in `region` and the regions below it, by name."""
    from services.permissions import region_subtree

    return list(
        db.session.scalars(
            sa.select(Station)
            .where(
                Station.is_legislative_point.is_(True),
                Station.is_active.is_(True),
                Station.region_id.in_(region_subtree(region.id)),
            )
            .order_by(Station.name, Station.id)
        )
    )


def _checked(actor: User, data: DraftInput, now: datetime) -> tuple[dict, SplitText]:
    values = {
        "title": bounded_text(data.title, DRAFT_TITLE_MAX, "title", DraftRefused, required=True),
        "issuing_body": bounded_text(data.issuing_body, DRAFT_BODY_MAX, "issuing_body", DraftRefused),
        "summary": bounded_text(data.summary, DRAFT_SUMMARY_MAX, "summary", DraftRefused),
    }
    if data.region is None:
        raise DraftRefused("region_missing")
    if not manages_region(actor, data.region):
        raise DraftRefused("region_out_of_reach")
    if data.closes_at is None:
        raise DraftRefused("closes_missing")
    if data.closes_at <= now:
        raise DraftRefused("closes_in_past")
    if data.closes_at > now + timedelta(days=DRAFT_OPEN_DAYS_MAX):
        raise DraftRefused("closes_too_late", n=DRAFT_OPEN_DAYS_MAX)
    if not data.all_stations:
        if not data.stations:
            raise DraftRefused("stations_missing")
        for station in data.stations:
            if not (station.is_legislative_point and station.is_active and covers(data.region.id, station.region)):
                raise DraftRefused("not_a_contact_point", station=station.name)
    split = split_text(data.text)
    return values, split


def _items(split: SplitText) -> list[DraftItem]:
    return [
        DraftItem(position=i, kind=p.kind, number=p.number, label=p.label, text=p.text)
        for i, p in enumerate(split.pieces, start=1)
    ]


def _snapshot(draft: DraftLaw) -> dict:
    return {
        "title": draft.title,
        "issuing_body": draft.issuing_body,
        "summary_length": len(draft.summary),
        "closes_at": draft.closes_at.isoformat(timespec="minutes"),
        "region": draft.region.name,
        "all_stations": draft.all_stations,
        "stations": sorted(s.name for s in draft.stations),
        "articles": len(draft.articles),
        "text_length": len(draft.source_text),
    }


def create_draft(actor: User, data: DraftInput, *, now: datetime | None = None) -> DraftLaw:
    """A draft being prepared (not shown to residents until published)."""
    now = now or utcnow()
    values, split = _checked(actor, data, now)
    draft = DraftLaw(
        **values,
        region=data.region,
        closes_at=data.closes_at,
        all_stations=data.all_stations,
        stations=[] if data.all_stations else list(data.stations),
        source_text=clean_text(data.text),
        status=DraftStatus.DRAFT,
        created_by_id=actor.id,
        items=_items(split),
    )
    db.session.add(draft)
    db.session.flush()
    audit.log(actor, "draft.created", draft, **_snapshot(draft))
    return draft


def update_draft(actor: User, draft: DraftLaw, data: DraftInput, *, now: datetime | None = None) -> DraftLaw:
    """Change a draft being prepared; once published its text is fixed (comments point at
    its articles), so only a draft still being prepared changes (refused: not_editable)."""
    if draft.status != DraftStatus.DRAFT:
        raise DraftRefused("not_editable")
    now = now or utcnow()
    values, split = _checked(actor, data, now)
    before = _snapshot(draft)
    for name, value in values.items():
        setattr(draft, name, value)
    draft.region = data.region  # type: ignore[assignment]  # checked by _checked
    draft.closes_at = data.closes_at  # type: ignore[assignment]
    draft.all_stations = data.all_stations
    draft.stations = [] if data.all_stations else list(data.stations)
    draft.source_text = clean_text(data.text)
    draft.items.clear()
    db.session.flush()  # the old items go before the new ones take their positions
    draft.items.extend(_items(split))
    db.session.flush()
    audit.log_change(actor, "draft.changed", draft, before, _snapshot(draft))
    return draft


def publish(actor: User, draft: DraftLaw, *, now: datetime | None = None) -> bool:
    """Open it for comment. False (nothing recorded) when it already was: a double tap.
    Refused: closes_in_past (its closing time passed while it was prepared), no_stations
    (no contact point to show it at)."""
    now = now or utcnow()
    if draft.status != DraftStatus.DRAFT:
        return False
    if draft.closes_at <= now:
        raise DraftRefused("closes_in_past")
    if not stations_of(draft):
        raise DraftRefused("no_stations")
    draft.status = DraftStatus.PUBLISHED
    draft.published_at = now
    db.session.flush()
    audit.log(actor, "draft.published", draft, stations=len(stations_of(draft)), closes_at=draft.closes_at.isoformat())
    return True


def close(actor: User | None, draft: DraftLaw, *, now: datetime | None = None) -> bool:
    """Close it for comment now (staff, early; or the job, on time), and queue one SMS to
    each resident who left a number with the link to their comments' page. False when it
    is not open (a double tap, or still being prepared)."""
    now = now or utcnow()
    if draft.status != DraftStatus.PUBLISHED:
        return False
    draft.status = DraftStatus.CLOSED
    draft.closed_at = min(now, draft.closes_at)
    db.session.flush()
    audit.log(actor, "draft.closed", draft, early=now < draft.closes_at)
    # Each resident who left a number hears once where to read what became of their comments.
    numbers = db.session.execute(
        sa.select(DraftComment.code, sa.func.max(DraftComment.mobile))
        .where(DraftComment.draft_law_id == draft.id, DraftComment.mobile.is_not(None))
        .group_by(DraftComment.code)
        .order_by(DraftComment.code)
    ).all()
    for code, mobile in numbers:
        notifications.queue_draft_closed(draft.title, code, mobile, now=now)
    return True


def close_due(now: datetime | None = None) -> int:
    """The job: record as closed every published draft whose closing time has passed."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(DraftLaw).where(DraftLaw.status == DraftStatus.PUBLISHED, DraftLaw.closes_at <= now)
    ).all()
    for draft in due:
        close(None, draft, now=now)
    return len(due)


def effective_status(draft: DraftLaw, now: datetime | None = None) -> DraftStatus:
    """What the draft is now: a published draft past its closing time is closed, whether
    or not a job has recorded it yet."""
    if draft.status == DraftStatus.PUBLISHED and draft.closes_at <= (now or utcnow()):
        return DraftStatus.CLOSED
    return draft.status


def is_open(draft: DraftLaw, now: datetime | None = None) -> bool:
    return effective_status(draft, now) == DraftStatus.PUBLISHED


# --- where a draft is shown --------------------------------------------------------------


def reaches(draft: DraftLaw, station: Station) -> bool:
    """The draft is shown at this station: an active contact point in the draft's region
    (all of them) or among its chosen stations."""
    if not (station.is_legislative_point and station.is_active):
        return False
    if draft.all_stations:
        return covers(draft.region_id, station.region)
    return any(s.id == station.id for s in draft.stations)


def stations_of(draft: DraftLaw) -> list[Station]:
    if draft.all_stations:
        return contact_points(draft.region)
    return [s for s in draft.stations if s.is_legislative_point and s.is_active]


def open_at(station: Station, now: datetime | None = None) -> list[DraftLaw]:
    """The drafts open for comment at a station now, closing soonest first (the station page)."""
    if not station.is_legislative_point:
        return []
    now = now or utcnow()
    from models import draft_law_station

    chosen = sa.select(draft_law_station.c.draft_law_id).where(draft_law_station.c.station_id == station.id)
    return list(
        db.session.scalars(
            sa.select(DraftLaw)
            .where(DraftLaw.status == DraftStatus.PUBLISHED, DraftLaw.closes_at > now)
            .where(
                sa.or_(
                    sa.and_(
                        DraftLaw.all_stations.is_(True),
                        DraftLaw.region_id.in_([r.id for r in station.region.path()]),
                    ),
                    sa.and_(DraftLaw.all_stations.is_(False), DraftLaw.id.in_(chosen)),
                )
            )
            .order_by(DraftLaw.closes_at, DraftLaw.id)
        )
    )


def shown_at(station: Station, draft_id: int) -> DraftLaw | None:
    """A published (open or closed) draft shown at this station, with its text; None for a
    draft being prepared or one that did not go to the station."""
    draft = db.session.scalar(sa.select(DraftLaw).options(selectinload(DraftLaw.items)).where(DraftLaw.id == draft_id))
    if draft is None or draft.status == DraftStatus.DRAFT or not reaches(draft, station):
        return None
    return draft


def article_of(draft: DraftLaw, number: int | None) -> DraftItem | None:
    """The draft's article by its number (第五条: 5), or None."""
    return next((i for i in draft.articles if i.number == number), None)


# --- residents' comments -----------------------------------------------------------------


@dataclass(frozen=True)
class CommentInput:
    content: str
    name: str = ""
    mobile: str = ""
    consent: bool = False


def find_by_submission_key(key: str | None) -> DraftComment | None:
    if not key:
        return None
    return db.session.scalar(sa.select(DraftComment).where(DraftComment.submission_key == key))


def comments_by_code(code: str) -> list[DraftComment]:
    """A resident's comments (their code), oldest first."""
    return list(
        db.session.scalars(
            sa.select(DraftComment)
            .options(selectinload(DraftComment.events), selectinload(DraftComment.item))
            .where(DraftComment.code == code)
            .order_by(DraftComment.id)
        )
    )


def _code_for(draft: DraftLaw, code: str | None) -> str:
    """The resident's code when they come from their comments' page (it must already hold a
    comment on this draft), else a fresh one."""
    if code and db.session.scalar(
        sa.select(DraftComment.id).where(DraftComment.code == code, DraftComment.draft_law_id == draft.id).limit(1)
    ):
        return code
    while True:
        fresh = new_comment_code()
        if not db.session.scalar(sa.select(DraftComment.id).where(DraftComment.code == fresh).limit(1)):
            return fresh


def submit_comment(
    draft: DraftLaw,
    station: Station,
    item: DraftItem | None,
    data: CommentInput,
    *,
    submission_key: str | None = None,
    code: str | None = None,
    now: datetime | None = None,
) -> DraftComment:
    """A resident's comment on `item` (an article of the draft) or on the whole draft (None).
    The comment already made with this submission key comes back (a double tap). Refuses
    with DraftRefused: closed (past the closing time, even before any job recorded it),
    not_here, not_an_article, content_length, name_too_long, bad_mobile, consent_required."""
    existing = find_by_submission_key(submission_key)
    if existing is not None:
        return existing
    now = now or utcnow()
    if not is_open(draft, now):
        raise DraftRefused("closed")
    if not reaches(draft, station):
        raise DraftRefused("not_here")
    if item is not None and (item.draft_law_id != draft.id or item.kind != DraftItemKind.ARTICLE):
        raise DraftRefused("not_an_article")
    content = clean_text(data.content)
    if not DRAFT_COMMENT_MIN <= len(content) <= DRAFT_COMMENT_MAX:
        raise DraftRefused("content_length", min=DRAFT_COMMENT_MIN, max=DRAFT_COMMENT_MAX, n=len(content))
    name = clean_text(data.name)
    mobile = normalize_mobile(data.mobile)
    if len(name) > CONTACT_NAME_MAX:
        raise DraftRefused("name_too_long", n=CONTACT_NAME_MAX)
    if mobile and not is_mainland_mobile(mobile):
        raise DraftRefused("bad_mobile")
    if (name or mobile) and not data.consent:
        raise DraftRefused("consent_required")
    comment = DraftComment(
        draft=draft,
        item=item,
        station=station,
        code=_code_for(draft, code),
        submission_key=submission_key or None,
        content=content,
        name=name or None,
        mobile=mobile or None,
        consent_at=now if (name or mobile) else None,
        status=S.PENDING,
        created_at=now,
        updated_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def masked_contact(comment: DraftComment) -> str:
    """张** · 138****5678, as staff and exports see it."""
    return " · ".join(part for part in (mask_name(comment.name), mask_mobile(comment.mobile)) if part)


# --- moderation: a table on the workflow engine --------------------------------------------


def _spec(action: DraftCommentAction, sources, target: DraftCommentStatus, **row) -> ActionSpec:
    permission = Permission.DRAFT_MODERATE
    return ActionSpec(action, frozenset(sources), target, roles_for(permission), permission=permission, **row)


COMMENT_STEPS = (
    _spec(
        A.ACCEPT,
        {S.PENDING},
        S.ACCEPTED,
        title=_l("Adopted"),
        button=_l("Adopt"),
        done=_l("The comment is adopted."),
    ),
    _spec(
        A.MERGE,
        {S.PENDING},
        S.MERGED,
        title=_l("Merged with a similar comment"),
        button=_l("Merge into"),
        done=_l("The comment is merged into the other one."),
        needs="merge_target",
    ),
    _spec(
        A.REJECT,
        {S.PENDING},
        S.REJECTED,
        title=_l("Not adopted"),
        button=_l("Do not adopt"),
        done=_l("The comment is not adopted; the resident sees the reason."),
        note_required=True,
        note_label=_l("Reason (the resident sees it)"),
        danger=True,
    ),
    _spec(
        A.REOPEN,
        {S.ACCEPTED, S.MERGED, S.REJECTED},
        S.PENDING,
        title=_l("Back to review"),
        button=_l("Undo"),
        done=_l("The comment is waiting for review again."),
        note_public=False,
    ),
)
COMMENT_FLOW: Workflow = Workflow("draft_comment", A, COMMENT_STEPS, event=DraftCommentEvent)


def moderate(
    actor: User,
    comment: DraftComment,
    action: str,
    *,
    role: str,
    note: str = "",
    merge_into: DraftComment | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> DraftCommentEvent:
    """One moderation step (COMMENT_FLOW). Refuses with the engine's TransitionRefused codes
    (changed, not_allowed_now, role_not_allowed, note_required) and DraftRefused:
    reason_too_long; for a merge,
    merge_target_required (none, itself, or a comment of another draft), merge_target_merged
    (it is merged itself: merge into the one it went to), merge_target_rejected; reopening a
    comment others were merged into, or merging or turning it down: has_merged."""
    note = clean_text(note or "")
    if len(note) > DRAFT_REASON_MAX:
        raise DraftRefused("reason_too_long", n=DRAFT_REASON_MAX)

    def guard(spec: ActionSpec, _now: datetime) -> None:
        if spec.action == A.MERGE:
            if merge_into is None or merge_into.id == comment.id or merge_into.draft_law_id != comment.draft_law_id:
                raise DraftRefused("merge_target_required")
            # Read under a row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises anyway):
            # two comments merged into each other at once would leave both merged.
            target_status = db.session.scalar(
                sa.select(DraftComment.status).where(DraftComment.id == merge_into.id).with_for_update()
            )
            if target_status == S.MERGED:
                raise DraftRefused("merge_target_merged")
            if target_status == S.REJECTED:
                raise DraftRefused("merge_target_rejected")
        # Comments merged into this one follow it: it cannot go back, be merged on (a chain)
        # or be turned down under them.
        if spec.action in (A.REOPEN, A.MERGE, A.REJECT) and db.session.scalar(
            sa.select(DraftComment.id).where(DraftComment.merged_into_id == comment.id).limit(1)
        ):
            raise DraftRefused("has_merged")

    def effect(spec: ActionSpec, _before, _now: datetime) -> None:
        comment.merged_into = merge_into if spec.action == A.MERGE else None

    event = COMMENT_FLOW.step(
        comment,
        action,
        role=role,
        actor=actor,
        note=note,
        expected_version=expected_version,
        now=now,
        guard=guard,
        effect=effect,
    )
    audit.log(
        actor,
        f"draft.comment.{action}",
        comment,
        draft=comment.draft_law_id,
        to=str(comment.status),
        merged_into=comment.merged_into_id,
        note_length=len(note),
    )
    return event


def comments_of(
    draft: DraftLaw, *, status: DraftCommentStatus | None = None, item_id: int | None = None
) -> list[DraftComment]:
    """The draft's comments in the order of its text (the whole draft first), then oldest first."""
    query = (
        sa.select(DraftComment)
        .options(selectinload(DraftComment.item), selectinload(DraftComment.station), selectinload(DraftComment.events))
        .outerjoin(DraftItem, DraftItem.id == DraftComment.item_id)
        .where(DraftComment.draft_law_id == draft.id)
        .order_by(sa.func.coalesce(DraftItem.position, 0), DraftComment.id)
    )
    if status is not None:
        query = query.where(DraftComment.status == status)
    if item_id is not None:
        query = query.where(DraftComment.item_id == item_id)
    return list(db.session.scalars(query))


@dataclass
class ArticleSummary:
    """What a contact point sends up about one article (or the whole draft: item None)."""

    item: DraftItem | None
    counts: Counter = field(default_factory=Counter)
    accepted: list[DraftComment] = field(default_factory=list)
    # For each comment, how many comments (on any article) were merged into it.
    merged: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def summary(draft: DraftLaw, comments: list[DraftComment] | None = None) -> list[ArticleSummary]:
    """Per article, in the order of the text (the whole draft first): the comments counted by
    outcome and the accepted ones. Articles nobody commented on are listed too."""
    comments = comments_of(draft) if comments is None else comments
    rows: dict[int | None, ArticleSummary] = {None: ArticleSummary(None)}
    for item in draft.articles:
        rows[item.id] = ArticleSummary(item)
    merged: Counter = Counter(c.merged_into_id for c in comments if c.merged_into_id is not None)
    for comment in comments:
        row = rows.setdefault(comment.item_id, ArticleSummary(comment.item))
        row.counts[comment.status] += 1
        if comment.status == S.ACCEPTED:
            row.accepted.append(comment)
    for row in rows.values():
        row.merged = merged
    return list(rows.values())


def counts_by_status(draft: DraftLaw) -> Counter:
    rows = db.session.execute(
        sa.select(DraftComment.status, sa.func.count())
        .where(DraftComment.draft_law_id == draft.id)
        .group_by(DraftComment.status)
    ).all()
    return Counter({DraftCommentStatus(status): n for status, n in rows})


def drafts_for(user: User) -> list[DraftLaw]:
    """The drafts in the user's reach (the back office's list), newest first."""
    from services.permissions import drafts_clause

    return list(
        db.session.scalars(
            sa.select(DraftLaw)
            .options(selectinload(DraftLaw.region))
            .where(drafts_clause(user))
            .order_by(DraftLaw.created_at.desc(), DraftLaw.id.desc())
        )
    )


def contact_viewed(actor: User, comment: DraftComment) -> tuple[str, str]:
    """A "show in full" of a comment's name and number for the staff who may call the
    resident back: every look is in the audit log."""
    audit.log(actor, "draft.comment.contact_viewed", comment, draft=comment.draft_law_id)
    return comment.name or "", comment.mobile or ""


def erase_contacts_due(cutoff: datetime, *, dry_run: bool = False) -> tuple[int, int]:
    """Erase the names and numbers of the comments on drafts that closed before `cutoff`
    (services.erasure: PERSONAL_DATA_DAYS after closing), and the number and text of the
    SMS that told them the draft closed. Returns (comments that had a name or number, SMS)."""
    from models import Outbox
    from models.enums import OutboxStatus
    from services.erasure import HELD_ERASED

    closed_before = sa.select(DraftLaw.id).where(
        DraftLaw.status != DraftStatus.DRAFT, sa.func.coalesce(DraftLaw.closed_at, DraftLaw.closes_at) < cutoff
    )
    due = sa.and_(
        DraftComment.draft_law_id.in_(closed_before),
        sa.or_(DraftComment.name.is_not(None), DraftComment.mobile.is_not(None)),
    )
    count = db.session.scalar(sa.select(sa.func.count()).select_from(DraftComment).where(due)) or 0
    told = db.session.execute(
        sa.select(DraftComment.code, DraftComment.mobile).where(due, DraftComment.mobile.is_not(None)).distinct()
    ).all()
    rows = [
        row
        for code, mobile in told
        for row in db.session.scalars(
            sa.select(Outbox).where(
                Outbox.kind == notifications.DRAFT_CLOSED,
                Outbox.recipient == mobile,
                Outbox.body.contains(f"/c/{code}"),
                Outbox.status != OutboxStatus.SENDING,  # in a worker's hands: next run
            )
        )
    ]
    if not dry_run:
        for row in rows:
            if row.status == OutboxStatus.PENDING:
                row.status, row.last_error = OutboxStatus.FAILED, HELD_ERASED
            row.recipient, row.body = mask_mobile(row.recipient), "—"
        if count:
            db.session.execute(
                sa.update(DraftComment)
                .where(due)
                .values(name=None, mobile=None)
                .execution_options(synchronize_session=False)
            )
    return count, len(rows)
