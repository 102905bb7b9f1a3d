"""The station's board (公开栏): rules of work, activities with photos, the calendar of
reception days, and a region's notices.

Everything here flushes, never commits, refuses with a BoardRefused code, and leaves an
audit entry ("board.<what>.<action>") in the same transaction. Who may do it is
services.permissions' ("board.manage", "board.notice"); the views ask before calling.

A reception day is a rule stored as data (ReceptionDay: once / weekly / monthly); its
dates are never stored one by one. `occurrences(day, first, last)` lists them, and
`occurrence_on(day, date)` says whether a date is one of them (a booking names a reception
day and a date: that pair is an occurrence's address, `Occurrence.key`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import Activity, ActivityPhoto, Notice, ReceptionDay, Region, Representative, Station, StationRules, User
from models.base import utcnow
from models.board import StoredPhoto
from models.enums import ReceptionKind, Repeat
from services import audit
from services.clock import local_now, local_today
from services.concerns import bounded_text, clean_text
from services.errors import DomainError
from services.limits import (
    ACTIVITY_PHOTOS_MAX,
    ACTIVITY_TEXT_MAX,
    ACTIVITY_TITLE_MAX,
    NOTICE_TEXT_MAX,
    NOTICE_TITLE_MAX,
    RECEPTION_CAPACITY_DEFAULT,
    RECEPTION_NOTE_MAX,
    RULES_MAX,
    SLOT_CAPACITY_MAX,
    THUMB_SIDE,
)
from services.photos import ProcessedPhoto, process_photo
from services.storage import Storage

P = TypeVar("P", bound=StoredPhoto)

# How far ahead the public calendar looks, and how many reception days the station page shows.
CALENDAR_DAYS = 92
STATION_PAGE_RECEPTIONS = 3
STATION_PAGE_ACTIVITIES = 3
STATION_PAGE_NOTICES = 3
BOARD_PAGE_SIZE = 20
# The same activity sent again by the same person within this long is the same activity.
REPEAT_SECONDS = 60


class BoardRefused(DomainError):
    pass


# --- rules of work (工作制度) ---------------------------------------------------------------


def rules_of(station: Station) -> str:
    row = db.session.get(StationRules, station.id)
    return row.text if row is not None else ""


def set_rules(actor: User, station: Station, text: str) -> StationRules:
    """Plain text, line breaks kept; the pages escape it (no HTML)."""
    cleaned = bounded_text(text, RULES_MAX, "rules", BoardRefused)
    row = db.session.get(StationRules, station.id)
    if row is None:
        row = StationRules(station_id=station.id, text="")
        db.session.add(row)
    before = row.text
    row.text = cleaned
    row.updated_by_id = actor.id
    db.session.flush()
    if before != cleaned:
        audit.log(actor, "board.rules.update", station, length=len(cleaned))
    return row


# --- activities (履职活动) and their photos ---------------------------------------------------


@dataclass(frozen=True)
class ActivityInput:
    title: str
    day: date
    text: str


@dataclass(frozen=True)
class BoardPhoto:
    """A photo read for an activity: the stored image and its thumbnail."""

    photo: ProcessedPhoto
    thumb: ProcessedPhoto


def read_photo(
    raw: bytes, *, max_bytes: int, max_pixels: int, max_side: int, max_decode_bytes: int | None
) -> BoardPhoto:
    """Process an uploaded photo exactly as a concern's (services.photos: size limits,
    re-encoding, EXIF stripped), then make its thumbnail from the result. Refuses with
    PhotoRefused. No database: views call it before their transaction."""
    photo = process_photo(
        raw, max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side, max_decode_bytes=max_decode_bytes
    )
    thumb = process_photo(photo.data, max_bytes=len(photo.data) + 1, max_pixels=max_pixels, max_side=THUMB_SIDE)
    return BoardPhoto(photo, thumb)


def _checked(data: ActivityInput) -> ActivityInput:
    title = bounded_text(data.title, ACTIVITY_TITLE_MAX, "title", BoardRefused, required=True)
    text = bounded_text(data.text, ACTIVITY_TEXT_MAX, "text", BoardRefused)
    if data.day is None:
        raise BoardRefused("day_missing")
    return ActivityInput(title, data.day, text)


def stored_photos(photos: Sequence[BoardPhoto], storage: Storage, make: type[P]) -> list[P]:
    """Save each photo and its thumbnail in the store; one row of `make` (a StoredPhoto
    table) for each, not yet attached to anything."""
    rows = []
    for item in photos:
        photo, thumb = item.photo, item.thumb
        row = make()
        row.storage_key = storage.save(photo.data, photo.extension)
        row.thumb_key = storage.save(thumb.data, thumb.extension)
        row.content_type, row.size = photo.content_type, len(photo.data)
        row.width, row.height = photo.width, photo.height
        row.thumb_width, row.thumb_height = thumb.width, thumb.height
        rows.append(row)
    return rows


def _add_photos(activity: Activity, photos: Sequence[BoardPhoto], storage: Storage) -> None:
    if len(activity.photos) + len(photos) > ACTIVITY_PHOTOS_MAX:
        raise BoardRefused("too_many_photos", n=ACTIVITY_PHOTOS_MAX)
    activity.photos.extend(stored_photos(photos, storage, ActivityPhoto))


def create_activity(
    actor: User,
    station: Station,
    data: ActivityInput,
    photos: Sequence[BoardPhoto] = (),
    *,
    storage: Storage,
    publish: bool = False,
) -> Activity:
    data = _checked(data)
    if len(photos) > ACTIVITY_PHOTOS_MAX:
        raise BoardRefused("too_many_photos", n=ACTIVITY_PHOTOS_MAX)
    # A double tap (or the back button and send again) within a minute: the same activity.
    again = db.session.scalar(
        sa.select(Activity)
        .where(
            Activity.station_id == station.id,
            Activity.created_by_id == actor.id,
            Activity.title == data.title,
            Activity.day == data.day,
            Activity.text == data.text,
            Activity.created_at >= utcnow() - timedelta(seconds=REPEAT_SECONDS),
        )
        .limit(1)
    )
    if again is not None:
        return again
    activity = Activity(
        station_id=station.id, station=station, title=data.title, day=data.day, text=data.text, created_by_id=actor.id
    )
    activity.photos = []
    db.session.add(activity)
    _add_photos(activity, photos, storage)
    if publish:
        activity.published_at = utcnow()
    db.session.flush()
    audit.log(actor, "board.activity.create", activity, station=station.code, photos=len(photos), published=publish)
    return activity


def edit_activity(
    actor: User,
    activity: Activity,
    data: ActivityInput,
    photos: Sequence[BoardPhoto] = (),
    *,
    remove: Iterable[int] = (),
    storage: Storage,
) -> list[str]:
    """Change the text, drop the photos whose ids are in `remove`, add `photos`. Returns the
    storage keys of the dropped photos, to delete once the change is committed."""
    data = _checked(data)
    before = {"title": activity.title, "day": activity.day.isoformat(), "text_length": len(activity.text)}
    activity.title, activity.day, activity.text = data.title, data.day, data.text
    dropping = {int(i) for i in remove}
    gone = [p for p in activity.photos if p.id in dropping]
    for photo in gone:
        activity.photos.remove(photo)
    _add_photos(activity, photos, storage)
    db.session.flush()
    after = {"title": activity.title, "day": activity.day.isoformat(), "text_length": len(activity.text)}
    audit.log_change(actor, "board.activity.edit", activity, before, after)
    if gone or photos:
        audit.log(actor, "board.activity.photos", activity, added=len(photos), removed=len(gone))
    return [key for p in gone for key in (p.storage_key, p.thumb_key)]


def publish_activity(actor: User, activity: Activity) -> bool:
    """Show it on the station's page. False (and nothing recorded) when it already was: a
    double tap."""
    if activity.published_at is not None:
        return False
    activity.published_at = utcnow()
    db.session.flush()
    audit.log(actor, "board.activity.publish", activity, station=activity.station.code)
    return True


def unpublish_activity(actor: User, activity: Activity) -> bool:
    """Take it off the public pages (they answer 404); the back office still shows it."""
    if activity.published_at is None:
        return False
    activity.published_at = None
    db.session.flush()
    audit.log(actor, "board.activity.unpublish", activity, station=activity.station.code)
    return True


def activities_of(station: Station) -> list[Activity]:
    """Every activity of the station, published or not, newest first (the back office)."""
    return list(
        db.session.scalars(
            sa.select(Activity)
            .options(selectinload(Activity.photos))
            .where(Activity.station_id == station.id)
            .order_by(Activity.day.desc(), Activity.id.desc())
        )
    )


def published_activities(station: Station, *, limit: int, offset: int = 0) -> list[Activity]:
    return list(
        db.session.scalars(
            sa.select(Activity)
            .options(selectinload(Activity.photos))
            .where(Activity.station_id == station.id, Activity.published_at.is_not(None))
            .order_by(Activity.day.desc(), Activity.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def activity_of(station: Station, activity_id: int, *, published_only: bool) -> Activity | None:
    activity = db.session.scalar(
        sa.select(Activity).options(selectinload(Activity.photos)).where(Activity.id == activity_id)
    )
    if activity is None or activity.station_id != station.id:
        return None
    if published_only and activity.published_at is None:
        return None
    return activity


def photo_by_key(key: str, table: type[P] = ActivityPhoto) -> tuple[P, bool] | None:  # type: ignore[assignment]
    """The photo of `table` (an activity's by default) stored under `key` and whether the
    key is its thumbnail."""
    photo = db.session.scalar(sa.select(table).where(sa.or_(table.storage_key == key, table.thumb_key == key)))
    if photo is None:
        return None
    return photo, photo.thumb_key == key


# --- reception days (接待日) ------------------------------------------------------------------


@dataclass(frozen=True)
class ReceptionInput:
    kind: ReceptionKind
    repeat: Repeat
    starts_on: date
    starts_at: time
    ends_at: time
    representatives: Sequence[Representative]
    weekday: int | None = None
    day_of_month: int | None = None
    ends_on: date | None = None
    note: str = ""
    capacity: int = RECEPTION_CAPACITY_DEFAULT


@dataclass(frozen=True)
class Occurrence:
    """One date of a reception day, with its times. `key` ("<id>:<yyyy-mm-dd>") addresses
    it (a booking, a link)."""

    reception_day: ReceptionDay
    day: date
    starts_at: time
    ends_at: time

    @property
    def key(self) -> str:
        return f"{self.reception_day.id}:{self.day.isoformat()}"

    @property
    def kind(self) -> ReceptionKind:
        return self.reception_day.kind


def _month_day(year: int, month: int, day_of_month: int) -> date:
    """The `day_of_month` of a month; in a month too short for it, the month's last day
    (monthly on the 31st: 28 or 29 February, 30 April)."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def occurrence_days(
    repeat: Repeat,
    starts_on: date,
    first: date,
    last: date,
    *,
    weekday: int | None = None,
    day_of_month: int | None = None,
    ends_on: date | None = None,
) -> list[date]:
    """The dates of a rule between `first` and `last` (both included). Pure: the rule's
    fields only."""
    low = max(first, starts_on)
    high = min(last, ends_on) if ends_on is not None else last
    if repeat == Repeat.ONCE:
        return [starts_on] if first <= starts_on <= last else []
    if low > high:
        return []
    if repeat == Repeat.WEEKLY:
        assert weekday is not None
        day = low + timedelta(days=(weekday - low.weekday()) % 7)
        days = []
        while day <= high:
            days.append(day)
            day += timedelta(days=7)
        return days
    assert day_of_month is not None
    days = []
    year, month = low.year, low.month
    while (year, month) <= (high.year, high.month):
        day = _month_day(year, month, day_of_month)
        if low <= day <= high:
            days.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def occurrences(reception_day: ReceptionDay, first: date, last: date) -> list[Occurrence]:
    """The dates (and times) of a reception day from `first` to `last`, both included; none
    once it is cancelled."""
    if reception_day.cancelled_at is not None:
        return []
    days = occurrence_days(
        reception_day.repeat,
        reception_day.starts_on,
        first,
        last,
        weekday=reception_day.weekday,
        day_of_month=reception_day.day_of_month,
        ends_on=reception_day.ends_on,
    )
    return [Occurrence(reception_day, d, reception_day.starts_at, reception_day.ends_at) for d in days]


def occurrence_on(reception_day: ReceptionDay, day: date) -> Occurrence | None:
    """The occurrence on `day`, or None when the reception day does not fall on it."""
    found = occurrences(reception_day, day, day)
    return found[0] if found else None


def occurrence_by_key(station: Station, key: str) -> Occurrence | None:
    """The occurrence a key ("<id>:<yyyy-mm-dd>") names at this station, or None."""
    raw_id, _sep, raw_day = (key or "").partition(":")
    try:
        day = date.fromisoformat(raw_day)
        ident = int(raw_id)
    except ValueError:
        return None
    found = db.session.get(ReceptionDay, ident) if 0 < ident < 2**31 else None
    if found is None or found.station_id != station.id:
        return None
    return occurrence_on(found, day)


def reception_days_of(station: Station, *, include_cancelled: bool = False) -> list[ReceptionDay]:
    query = (
        sa.select(ReceptionDay)
        .options(selectinload(ReceptionDay.representatives).joinedload(Representative.user))
        .where(ReceptionDay.station_id == station.id)
        .order_by(ReceptionDay.starts_on, ReceptionDay.id)
    )
    if not include_cancelled:
        query = query.where(ReceptionDay.cancelled_at.is_(None))
    return list(db.session.scalars(query))


def station_occurrences(station: Station, first: date, last: date) -> list[Occurrence]:
    """Every occurrence of the station's reception days from `first` to `last`, in order."""
    found = [o for rd in reception_days_of(station) for o in occurrences(rd, first, last)]
    return sorted(found, key=lambda o: (o.day, o.starts_at, o.reception_day.id))


def upcoming(station: Station, *, days: int = CALENDAR_DAYS, limit: int | None = None, now: datetime | None = None):
    """The occurrences still to come (today's until they end), at most `limit`."""
    here = local_now(now)
    today = here.date()
    found = [
        o
        for o in station_occurrences(station, today, today + timedelta(days=days))
        if o.day > today or o.ends_at > here.time()
    ]
    return found[:limit] if limit is not None else found


def _reception_checked(station: Station, data: ReceptionInput, today: date) -> None:
    if data.ends_at <= data.starts_at:
        raise BoardRefused("ends_before_start")
    if data.repeat == Repeat.ONCE:
        if data.starts_on < today:
            raise BoardRefused("in_past")
    elif data.repeat == Repeat.WEEKLY:
        if data.weekday is None or not 0 <= data.weekday <= 6:
            raise BoardRefused("weekday_missing")
    elif data.day_of_month is None or not 1 <= data.day_of_month <= 31:
        raise BoardRefused("day_of_month_missing")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise BoardRefused("ends_on_before_start")
    if not data.representatives:
        raise BoardRefused("representatives_missing")
    own = {r.id for r in station.representatives}
    if any(r.id not in own for r in data.representatives):
        raise BoardRefused("not_station_representative")
    if len(clean_text(data.note or "")) > RECEPTION_NOTE_MAX:
        raise BoardRefused("note_too_long", n=RECEPTION_NOTE_MAX)
    if not 0 <= data.capacity <= SLOT_CAPACITY_MAX:
        raise BoardRefused("bad_capacity", maximum=SLOT_CAPACITY_MAX)


def add_reception_day(
    actor: User, station: Station, data: ReceptionInput, *, today: date | None = None
) -> ReceptionDay:
    _reception_checked(station, data, today or local_today())
    once = data.repeat == Repeat.ONCE
    reception = ReceptionDay(
        station_id=station.id,
        station=station,
        kind=data.kind,
        repeat=data.repeat,
        starts_on=data.starts_on,
        ends_on=None if once else data.ends_on,
        weekday=data.weekday if data.repeat == Repeat.WEEKLY else None,
        day_of_month=data.day_of_month if data.repeat == Repeat.MONTHLY else None,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        note=clean_text(data.note or ""),
        capacity=data.capacity,
        created_by_id=actor.id,
        representatives=list(dict.fromkeys(data.representatives)),
    )
    db.session.add(reception)
    db.session.flush()
    audit.log(
        actor,
        "board.reception.add",
        reception,
        station=station.code,
        kind=data.kind.value,
        repeat=data.repeat.value,
        representatives=[r.id for r in reception.representatives],
    )
    return reception


def cancel_reception_day(actor: User, reception: ReceptionDay) -> bool:
    """Cancel it, every date still to come included. False when it already was."""
    if reception.cancelled_at is not None:
        return False
    reception.cancelled_at = utcnow()
    db.session.flush()
    audit.log(actor, "board.reception.cancel", reception, station=reception.station.code)
    _call_off_bookings(actor, reception, after=None)
    return True


def _call_off_bookings(actor: User, reception: ReceptionDay, *, after: date | None) -> None:
    """The residents booked on the dates a reception day no longer has are told."""
    from services import bookings  # bookings reads the calendar from here

    bookings.reception_day_called_off(actor, reception, after=after)


def end_reception_day(actor: User, reception: ReceptionDay, last_day: date) -> None:
    """A repeating reception day stops after `last_day` (the dates before it stay)."""
    if reception.repeat == Repeat.ONCE:
        raise BoardRefused("not_repeating")
    if reception.cancelled_at is not None:
        raise BoardRefused("cancelled")
    if last_day < reception.starts_on:
        raise BoardRefused("ends_on_before_start")
    before = reception.ends_on
    reception.ends_on = last_day
    db.session.flush()
    audit.log_change(
        actor,
        "board.reception.end",
        reception,
        {"ends_on": before.isoformat() if before else None},
        {"ends_on": last_day.isoformat()},
    )
    _call_off_bookings(actor, reception, after=last_day)


# --- notices (公告) of a region -----------------------------------------------------------------
#
# One record per region, shown on every station of the region and of the regions below it:
# one thing to write, to correct and to withdraw, and a station opened later shows it too.
# (One copy per station would make a withdrawal N changes and miss new stations.)


def publish_notice(actor: User, region: Region, title: str, text: str) -> Notice:
    notice = Notice(
        region_id=region.id,
        region=region,
        title=bounded_text(title, NOTICE_TITLE_MAX, "title", BoardRefused, required=True),
        text=bounded_text(text, NOTICE_TEXT_MAX, "text", BoardRefused),
        created_by_id=actor.id,
        published_at=utcnow(),
    )
    db.session.add(notice)
    db.session.flush()
    audit.log(actor, "board.notice.publish", notice, region=region.code)
    return notice


def withdraw_notice(actor: User, notice: Notice) -> bool:
    if notice.withdrawn_at is not None:
        return False
    notice.withdrawn_at = utcnow()
    notice.withdrawn_by_id = actor.id
    db.session.flush()
    audit.log(actor, "board.notice.withdraw", notice, region=notice.region.code)
    return True


def notices_for(station: Station, *, limit: int | None = STATION_PAGE_NOTICES) -> list[Notice]:
    """The notices in force on a station: of its region and every region above it."""
    query = (
        sa.select(Notice)
        .options(selectinload(Notice.region))
        .where(Notice.region_id.in_([r.id for r in station.region.path()]), Notice.withdrawn_at.is_(None))
        .order_by(Notice.published_at.desc(), Notice.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def notices_in(scope: sa.ColumnElement[bool], *, limit: int = 100) -> list[Notice]:
    """The notices (withdrawn ones too) whose region the scope clause admits (the SQL twin
    of "board.notice", permissions.managed_regions_clause on Notice.region_id)."""
    return list(
        db.session.scalars(
            sa.select(Notice)
            .options(selectinload(Notice.region))
            .where(scope)
            .order_by(Notice.published_at.desc(), Notice.id.desc())
            .limit(limit)
        )
    )


def notice_regions(user: User) -> list[Region]:
    """The regions a user may publish a notice to that have an open station (a notice
    elsewhere would show nowhere): the regions of the stations they oversee and the regions
    above them, within their reach; by code."""
    from services.permissions import Permission, can, overseen_stations_clause

    region_ids = db.session.scalars(
        sa.select(Station.region_id).where(Station.is_active, overseen_stations_clause(user)).distinct()
    ).all()
    found: dict[int, Region] = {}
    for region in db.session.scalars(sa.select(Region).where(Region.id.in_(region_ids))):
        for above in region.path():
            found.setdefault(above.id, above)
    return sorted((r for r in found.values() if can(user, Permission.NOTICE_MANAGE, r)), key=lambda r: r.code)


def stations_under(region: Region) -> list[str]:
    """The codes of the stations a notice of `region` shows on (to forget their cached pages)."""
    from services.permissions import region_subtree

    return list(db.session.scalars(sa.select(Station.code).where(Station.region_id.in_(region_subtree(region.id)))))


# --- the station page's part ---------------------------------------------------------------------


@dataclass(frozen=True)
class BoardSummary:
    receptions: list[Occurrence]
    activities: list[Activity]
    notices: list[Notice]
    has_rules: bool


def summary(station: Station, *, now: datetime | None = None) -> BoardSummary:
    """What the station page shows of the board: the next reception days, the latest
    published activities (their first photo's thumbnail), the notices in force."""
    has_rules = bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StationRules)
            .where(StationRules.station_id == station.id, StationRules.text != "")
        )
    )
    return BoardSummary(
        receptions=upcoming(station, limit=STATION_PAGE_RECEPTIONS, now=now),
        activities=published_activities(station, limit=STATION_PAGE_ACTIVITIES),
        notices=notices_for(station),
        has_rules=has_rules,
    )
