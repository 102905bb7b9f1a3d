"""Residents' personal data that expire (PIPL): what a concern keeps, and what goes when.

Two ways out, both keeping the anonymous record (station, category, text, statuses, trail,
deadlines, ratings) so that every figure stays as it was:

- the resident asks on the tracking page (`erase_contact`): their name and mobile go at
  once, with the SMS waiting for that number about the concern and, when no other concern
  carries the number, what we knew of it (confirmed, stopped, one-time codes);
- PERSONAL_DATA_DAYS after the concern ended (`purge_batch`, from `flask privacy purge`):
  the same, and the rating comments and the photos' files too.

In both, the name, the number and other personal details (services.redact) are struck out
of the concern's text and its trail's notes, so that the public answers, which hid them by
the contact name, still hide them once that name is gone.

Staff accounts' audit entries are never purged here: they record what staff did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from extensions import db
from models import Concern, ConcernEvent, MobileCode, Outbox, ResidentMobile, utcnow
from models.enums import ConcernStatus, OutboxStatus
from services import audit
from services.clock import local_today
from services.concern_flow import FINAL_STATUSES
from services.errors import ConcernRefused
from services.limits import CONCERN_CONTENT_MAX, CONCERN_CONTENT_MIN
from services.merges import merge_root
from services.privacy import mask_mobile
from services.redact import redact
from services.storage import Storage

BATCH = 200  # concerns per transaction: a province's backlog never holds long locks
# Outbox.last_error of an SMS to a resident that was still waiting when their number went.
HELD_ERASED = "held back: the resident's contact data were erased"
RESIDENT, EXPIRY = "resident", "expiry"


@dataclass
class Erased:
    """What an erasure took away (or, dry, would take), counted."""

    concerns: int = 0
    contacts: int = 0  # concerns that had a name or a mobile
    comments: int = 0  # rating comments
    photos: int = 0  # files deleted from storage
    messages: int = 0  # SMS rows whose number and text went
    numbers: int = 0  # numbers whose record (confirmed, stopped, one-time codes) went
    bookings: int = 0  # booked visits whose name, number and subject went
    project_comments: int = 0  # comments on candidate projects whose name and number went
    draft_contacts: int = 0  # comments on drafts of laws whose name and number went

    def add(self, other: Erased) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def personal_data_days() -> int:
    return int(current_app.config["PERSONAL_DATA_DAYS"])


def ended_at_clause() -> sa.ColumnElement:
    """When an ended concern ended: its closing, or the step that rejected, withdrew or
    merged it (its last step into the status it is in)."""
    final_step = (
        sa.select(sa.func.max(ConcernEvent.created_at))
        .where(ConcernEvent.concern_id == Concern.id, ConcernEvent.to_status == Concern.status)
        .scalar_subquery()
    )
    return sa.case((Concern.status == ConcernStatus.CLOSED, Concern.closed_at), else_=final_step)


def ended_at(concern: Concern) -> datetime | None:
    if concern.status not in FINAL_STATUSES:
        return None
    return db.session.scalar(sa.select(ended_at_clause()).where(Concern.id == concern.id))


def _expired(concern: Concern, cutoff: datetime) -> bool:
    """Ended before `cutoff`; a merged concern also waits for the one it follows, since its
    resident still sees that one's progress and rates its answer."""
    if concern.status != ConcernStatus.MERGED:
        return True  # the query checked it
    root = merge_root(concern)
    for c in (concern, root):
        end = ended_at(c)
        if end is None or end >= cutoff:
            return False
    return True


def _redacted(text: str | None, names: list[str | None], limit: int | None = None) -> str:
    # Markers in the default language: the text is stored, not shown to one reader.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        out = redact(text, names)
    return out[:limit] if limit else out


def _forget_number(mobile: str, concern: Concern, dry_run: bool) -> tuple[int, int]:
    """The SMS rows of this concern to this number lose number and text (a waiting one is
    held back); when no other concern carries the number, what we knew of it goes.
    Returns (messages, numbers)."""
    rows = list(
        db.session.scalars(
            sa.select(Outbox).where(
                Outbox.concern_id == concern.id,
                Outbox.recipient == mobile,
                Outbox.status != OutboxStatus.SENDING,  # in a worker's hands: next run
            )
        )
    )
    others = db.session.scalar(
        sa.select(sa.func.count()).where(Concern.contact_mobile == mobile, Concern.id != concern.id)
    )
    known = []
    if not others:
        known = list(db.session.scalars(sa.select(ResidentMobile).where(ResidentMobile.mobile == mobile)))
    codes = 0 if others else db.session.scalar(sa.select(sa.func.count()).where(MobileCode.mobile == mobile)) or 0
    if not dry_run:
        for row in rows:
            if row.status == OutboxStatus.PENDING:
                row.status, row.last_error = OutboxStatus.FAILED, HELD_ERASED
            row.recipient, row.body = mask_mobile(mobile), "—"
        for found in known:
            db.session.delete(found)
        if codes:
            db.session.execute(sa.delete(MobileCode).where(MobileCode.mobile == mobile))
    return len(rows), 1 if known or codes else 0


def _strike_contact(concern: Concern, dry_run: bool) -> Erased:
    """Name and mobile off the concern, out of its text and notes, and off its SMS."""
    name, mobile = concern.contact_name, concern.contact_mobile
    erased = Erased(contacts=1 if (name or mobile) else 0)
    if mobile:
        erased.messages, erased.numbers = _forget_number(mobile, concern, dry_run)
    if dry_run or not (name or mobile):
        return erased
    names = [name]
    # Within the text's length rule: a marker can be longer, or a little shorter, than what it replaces.
    concern.content = _redacted(concern.content, names, CONCERN_CONTENT_MAX).ljust(CONCERN_CONTENT_MIN, "*")
    for event in concern.events:
        if event.note:
            event.note = _redacted(event.note, names)
    concern.contact_name = concern.contact_mobile = None
    # sha256 of the contact among others: it only finds a form sent twice in a row.
    concern.duplicate_digest = None
    return erased


def erase_contact(concern: Concern, now: datetime | None = None) -> Erased:
    """The tracking-code holder asks for their name and mobile to be erased now. The concern
    goes on anonymously: nobody can call them or text them about it any more. Refuses with
    ConcernRefused: contact_erased (already done), no_contact (there was none)."""
    if concern.contact_erased_at is not None or concern.personal_data_erased_at is not None:
        raise ConcernRefused("contact_erased")
    if not (concern.contact_name or concern.contact_mobile):
        raise ConcernRefused("no_contact")
    now = now or utcnow()
    erased = _strike_contact(concern, dry_run=False)
    concern.contact_erased_at = now
    counted = {key: value for key, value in erased.as_dict().items() if value}
    audit.log(None, "concern.contact_erased", concern, by=RESIDENT, **counted)
    db.session.flush()
    return erased


def _erase_all(concern: Concern, store: Storage, now: datetime, dry_run: bool) -> Erased:
    erased = _strike_contact(concern, dry_run)
    erased.concerns = 1
    comments = [r for r in concern.ratings if r.comment]
    erased.comments = len(comments) or (1 if concern.rating_comment else 0)
    photos = [a for a in concern.attachments if a.erased_at is None]
    erased.photos = len(photos)
    if dry_run:
        return erased
    texts = {r.comment for r in comments} | {concern.rating_comment or ""}
    for event in concern.events:
        # A dissatisfied resident's comment is also the note of the step that reopened it.
        if event.actor_id is None and event.note in texts:
            event.note = ""
    for rating in comments:
        rating.comment = ""
    concern.rating_comment = None
    for photo in photos:
        # The file goes before the row is marked: a failure after it leaves the row to the
        # next run (deleting twice is harmless), never a marked row whose file remains.
        store.delete(photo.storage_key)
        photo.erased_at = now
    concern.personal_data_erased_at = now
    return erased


def due_clause(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        Concern.personal_data_erased_at.is_(None),
        Concern.status.in_(FINAL_STATUSES),
        ended_at_clause() < cutoff,
    )


def purge_batch(
    store: Storage,
    *,
    after_id: int = 0,
    now: datetime | None = None,
    days: int | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> tuple[int | None, Erased]:
    """Erase the personal data of up to `batch` concerns that ended `days` (by default
    PERSONAL_DATA_DAYS) before `now`, in id order after `after_id`. Returns the last id
    looked at (None when there are no more) and the counts. The caller commits each batch
    (and, dry, rolls back nothing: nothing was changed)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=personal_data_days() if days is None else days)
    concerns = list(
        db.session.scalars(
            sa.select(Concern)
            .where(due_clause(cutoff), Concern.id > after_id)
            .order_by(Concern.id)
            .limit(batch)
            .options(selectinload(Concern.ratings), selectinload(Concern.attachments), selectinload(Concern.events))
        )
    )
    total = Erased()
    for concern in concerns:
        if _expired(concern, cutoff):
            total.add(_erase_all(concern, store, now, dry_run))
    if not dry_run:
        db.session.flush()
    return (concerns[-1].id if len(concerns) == batch else None), total


def log_purge(report: Erased, *, days: int, now: datetime) -> None:
    """One audit entry for a whole run: counts only."""
    audit.log(
        None, "privacy.purged", None, days=days, before=(now - timedelta(days=days)).isoformat(), **report.as_dict()
    )


def _purge_bookings(now: datetime, days: int, dry_run: bool, batch: int) -> Erased:
    """Booked visits: `days` after the day of the visit, like a concern after it ended."""
    from services import bookings

    cutoff_day = local_today(now) - timedelta(days=days)
    total = Erased()
    while True:
        done, messages = bookings.erase_due(cutoff_day, now, dry_run=dry_run, batch=batch)
        total.add(Erased(bookings=done, messages=messages))
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        if dry_run or done < batch:
            return total


def _purge_project_comments(now: datetime, days: int, dry_run: bool, batch: int) -> Erased:
    """Residents' comments on candidate projects (services.votes): `days` after they were written."""
    from services import votes

    total = Erased()
    while True:
        done = votes.erase_comment_contacts(now - timedelta(days=days), dry_run=dry_run, batch=batch)
        total.add(Erased(project_comments=done))
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        if dry_run or done < batch:
            return total


def _purge_draft_contacts(now: datetime, days: int, dry_run: bool) -> Erased:
    """Comments on drafts of laws: their name and number `days` after the draft closed, and
    the SMS that told them it closed."""
    from services import drafts

    done, messages = drafts.erase_contacts_due(now - timedelta(days=days), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return Erased(draft_contacts=done, messages=messages)


def purge(*, dry_run: bool = False, batch: int = 200, now: datetime | None = None) -> Erased:
    """Erase everything due now, a batch a transaction (short locks, progress kept); with
    `dry_run`, count it and change nothing. One audit entry reports a real run."""
    from services.storage import configured

    now, days, store = now or utcnow(), personal_data_days(), configured()
    report, after = Erased(), 0
    while True:
        last, counts = purge_batch(store, after_id=after, now=now, days=days, dry_run=dry_run, batch=batch)
        report.add(counts)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        if last is None:
            break
        after = last
    report.add(_purge_bookings(now, days, dry_run, batch))
    report.add(_purge_project_comments(now, days, dry_run, batch))
    report.add(_purge_draft_contacts(now, days, dry_run))
    if not dry_run:
        log_purge(report, days=days, now=now)
        db.session.commit()
    return report
