"""Filing a concern (码上办) and reading it back by its tracking code."""

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from extensions import db
from models import Attachment, Category, Concern, ConcernEvent, Representative, Station, utcnow
from models.enums import ConcernAction, ConcernSource, ConcernStatus
from services import notifications, webhooks
from services.clock import local_today
from services.codes import new_tracking_code
from services.concern_flow import stage_deadline
from services.duty import duty_for_new_concern
from services.errors import ConcernRefused, DomainError
from services.limits import CONCERN_CONTENT_MAX, CONCERN_CONTENT_MIN, CONTACT_NAME_MAX, PHOTOS_MAX
from services.photos import ProcessedPhoto
from services.redact import redact

# Where the number rules live; imported here too, as other modules expect them here.
from services.resident_mobile import is_mainland_mobile, normalize_mobile
from services.storage import Storage


def clean_text(raw: str) -> str:
    """Trimmed text without control characters (NUL and friends break PostgreSQL and
    terminals); line breaks and tabs stay, Windows line ends become plain ones."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def bounded_text(value: str | None, limit: int, code: str, kind: type[DomainError], *, required: bool = False) -> str:
    """`clean_text`, refused as `kind("<code>_missing")` when required and empty and as
    `kind("<code>_too_long", n=limit)` past `limit` characters."""
    cleaned = clean_text(value or "")
    if required and not cleaned:
        raise kind(f"{code}_missing")
    if len(cleaned) > limit:
        raise kind(f"{code}_too_long", n=limit)
    return cleaned


@dataclass(frozen=True)
class ConcernInput:
    category_id: int
    content: str
    contact_name: str = ""
    contact_mobile: str = ""
    anonymous: bool = False
    public: bool = False
    consent: bool = False


def find_by_submission_key(key: str) -> Concern | None:
    if not key:
        return None
    return db.session.scalar(sa.select(Concern).where(Concern.submission_key == key))


def find_by_tracking_code(code: str) -> Concern | None:
    return db.session.scalar(sa.select(Concern).where(Concern.tracking_code == code))


# A form sent again from the same browser this soon is the same concern (the window the
# browser's own "recent" list used to keep, now in the database so parallel sends see it).
DUPLICATE_WINDOW = timedelta(minutes=30)


def duplicate_digest(
    station: Station,
    data: ConcernInput,
    name: str,
    mobile: str,
    photos: list[ProcessedPhoto],
    sender: str,
    to: Representative | None = None,
) -> str:
    """Everything the resident chose: the same text sent again with another category, other
    photos, another choice to publish or to another representative is a new concern, never
    swallowed by the first."""
    parts = (
        str(station.id) if to is None else f"{station.id}>{to.id}",
        data.content.strip(),
        name,
        mobile,
        str(data.category_id),
        str(data.anonymous),
        str(data.public),
        *(hashlib.sha256(photo.data).hexdigest() for photo in photos),
        sender,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _recent_duplicate(digest: str, now: datetime) -> Concern | None:
    """The concern this digest made within the window, after taking the digest's lock:
    SQLite's BEGIN IMMEDIATE already serialises every write; on PostgreSQL a transaction
    advisory lock on the digest makes two parallel sends wait for each other, so the
    second sees the first's row once it commits."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(int(digest[:15], 16))))
    return db.session.scalar(
        sa.select(Concern)
        .where(Concern.duplicate_digest == digest, Concern.created_at >= now - DUPLICATE_WINDOW)
        .order_by(Concern.id)
        .limit(1)
    )


def submit_concern(
    station: Station,
    data: ConcernInput,
    photos: list[ProcessedPhoto],
    *,
    storage: Storage,
    submission_key: str | None = None,
    sender: str | None = None,
    source: ConcernSource = ConcernSource.QR,
    to: Representative | None = None,
    now: datetime | None = None,
) -> Concern:
    """File a concern at a station; `to`: written to that representative (/r/<code>), whose
    station `station` is, so that it waits for them (services.permissions.held_for).
    Returns the concern already made with this submission key, or with the same text and
    contact from the same `sender` (an opaque token of the browser) within
    DUPLICATE_WINDOW; refuses with ConcernRefused(code) otherwise."""
    existing = find_by_submission_key(submission_key or "")
    if existing is not None:
        return existing

    if not station.is_active:
        raise ConcernRefused("station_inactive")
    if to is not None:
        if not to.serving_on(local_today(now)):
            raise ConcernRefused("rep_not_serving", name=to.name)
        if not to.user.active:
            raise ConcernRefused("rep_unavailable", name=to.name)
        if not any(s.id == station.id for s in to.stations):
            raise ConcernRefused("rep_not_at_station")
    category = db.session.get(Category, data.category_id)
    if category is None or not category.is_active:
        raise ConcernRefused("bad_category")
    content = clean_text(data.content)
    if not CONCERN_CONTENT_MIN <= len(content) <= CONCERN_CONTENT_MAX:
        raise ConcernRefused("content_length")
    name = clean_text(data.contact_name)
    mobile = normalize_mobile(data.contact_mobile)
    if len(name) > CONTACT_NAME_MAX:
        raise ConcernRefused("name_too_long")
    if mobile and not is_mainland_mobile(mobile):
        raise ConcernRefused("bad_mobile")
    if data.anonymous and (name or mobile):
        raise ConcernRefused("anonymous_with_contact")
    if (name or mobile) and not data.consent:
        raise ConcernRefused("consent_required")
    if len(photos) > PHOTOS_MAX:
        raise ConcernRefused("too_many_photos")

    now = now or utcnow()
    digest = duplicate_digest(station, data, name, mobile, photos, sender, to) if sender else None
    if digest is not None:
        earlier = _recent_duplicate(digest, now)
        if earlier is not None:
            return earlier
    on_duty = duty_for_new_concern(station)
    due_at, due_estimated = stage_deadline(ConcernStatus.SUBMITTED, now)
    concern = Concern(
        tracking_code=_unused_tracking_code(),
        submission_key=submission_key or None,
        duplicate_digest=digest,
        station=station,
        addressed_rep=to,
        category=category,
        content=content,
        contact_name=name or None,
        contact_mobile=mobile or None,
        is_anonymous=data.anonymous,
        is_public=data.public,
        consent_at=now if (name or mobile) else None,
        status=ConcernStatus.SUBMITTED,
        source=source,
        duty_id=on_duty.id if on_duty else None,
        due_at=due_at,
        due_estimated=due_estimated,
        created_at=now,
        updated_at=now,
    )
    filed = ConcernEvent(action=ConcernAction.SUBMIT, to_status=ConcernStatus.SUBMITTED, is_public=True, created_at=now)
    concern.events.append(filed)
    for photo in photos:
        key = storage.save(photo.data, photo.extension)
        concern.attachments.append(
            Attachment(
                storage_key=key,
                content_type=photo.content_type,
                size=len(photo.data),
                width=photo.width,
                height=photo.height,
                created_at=now,
            )
        )
    db.session.add(concern)
    db.session.flush()
    if to is not None:
        notifications.queue_written_to_rep(concern)
    # Filing is no step of the engine (it creates the concern): its webhook is queued here.
    webhooks.concern_created(concern, filed)
    return concern


def _unused_tracking_code() -> str:
    # ~49 random bits: a clash is astronomically rare, but checking costs one indexed read.
    while True:
        code = new_tracking_code()
        if find_by_tracking_code(code) is None:
            return code


@dataclass(frozen=True)
class SharedEvent:
    """An event of the concern a merged one follows, as its resident reads it."""

    id: int
    action: str
    created_at: datetime
    note: str
    is_public: bool = True


# Of the concern a merged one follows, its resident reads every step and the notes that
# answer it: the answer, the representative's check, why it was not accepted. Replies
# addressed to the other resident and their own steps (filing, rating, the comment that
# reopened it) stay theirs.
SHARED_NOTES = frozenset({ConcernAction.REPLY, ConcernAction.RESOLVE, ConcernAction.CONFIRM, ConcernAction.REJECT})
NOT_SHARED = frozenset(
    {
        ConcernAction.SUBMIT,
        ConcernAction.RATE,
        ConcernAction.RATE_MERGED,
        ConcernAction.WITHDRAW,
        ConcernAction.COMMENT,
    }
)


def shared_events(followed: Concern) -> list[SharedEvent]:
    """What a merged concern's resident reads of `followed`'s trail, the other resident's
    personal details removed from the notes."""
    return [
        SharedEvent(
            e.id,
            e.action,
            e.created_at,
            redact(e.note, [followed.contact_name]) if e.action in SHARED_NOTES and e.is_public else "",
        )
        for e in public_events(followed)
        if e.action not in NOT_SHARED
    ]


def public_events(concern: Concern) -> list[ConcernEvent]:
    """What the tracking page shows: every change of status (so the resident sees each
    step) and public replies. An internal event's note stays inside (track.html)."""
    return [e for e in concern.events if e.is_public or e.from_status != e.to_status]
