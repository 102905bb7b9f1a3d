"""Booking a visit with a representative (预约接待).

A resident picks a place in something bookable — a roster slot (排班) or a reception day's
occurrence (选民接待日 …, services.board.Occurrence) — gives a name, a mobile number and a one-line subject, and gets
a booking code; /b/<code> shows the booking and cancels it. The station's overseers and the
slot's representative see the day's bookings in full and mark who came.

What is bookable sits behind `Bookable` (station, day, times, representatives, capacity,
and how a booking points at it and locks it), so a second kind only adds a class.

Capacity holds under any race: the slot's row is locked (PostgreSQL; SQLite's BEGIN
IMMEDIATE serialises writes anyway), and each booking that holds a place takes a seat
number that the database keeps unique per slot (models.booking), so two residents taking
the last place at once cannot both have it. One number books a slot once (a unique index
on the number's digest), holds at most BOOKINGS_PER_MOBILE_AHEAD bookings ahead and makes
at most BOOKINGS_PER_MOBILE_DAY a day.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import Booking, Concern, DutySlot, Outbox, ReceptionDay, Representative, Station, User, utcnow
from models.board import reception_day_representative
from models.enums import BookingStatus, OutboxStatus, ReceptionKind
from services import audit, board, notifications
from services.clock import local_now, local_today, utc_at
from services.codes import new_booking_code
from services.concerns import clean_text
from services.errors import DomainError
from services.limits import BOOKING_SUBJECT_MAX, BOOKING_SUBJECT_MIN, CONTACT_NAME_MAX, SLOT_CAPACITY_MAX
from services.privacy import mask_mobile
from services.resident_mobile import is_mainland_mobile, normalize_mobile

# The statuses that hold a place (models.booking.HOLDS_PLACE says the same to the database).
HOLDING = (BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
MARKS = (BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
# Outbox.last_error of a reminder still waiting when its booking was cancelled.
HELD_CANCELLED = "held back: the booking was cancelled"


class BookingRefused(DomainError):
    """Refusal codes: station_inactive, not_bookable (gone, not open for booking), started,
    too_far, not_taking (capacity 0), full, name_required, name_too_long, bad_mobile,
    subject_length, consent_required, already_booked, too_many_ahead, too_many_today,
    not_booked (cancelled or past), not_yet (marking before the day), bad_mark,
    bad_capacity, nothing_to_cancel, not_this_station."""


# --- what can be booked ----------------------------------------------------------------


class Bookable(Protocol):
    """Something a resident books a place in."""

    @property
    def station(self) -> Station: ...
    @property
    def day(self) -> date: ...
    @property
    def starts_at(self) -> time: ...
    @property
    def ends_at(self) -> time: ...
    @property
    def capacity(self) -> int: ...
    @property
    def representatives(self) -> list[Representative]: ...

    @property
    def key(self) -> str:
        """Its address on the booking form."""
        ...

    def holds(self) -> sa.ColumnElement[bool]:
        """The SQL for "this booking is on me"."""
        ...

    def columns(self) -> dict:
        """What a new booking says about what it booked."""
        ...

    def lock(self) -> None:
        """Serialise bookings of this thing (a row lock on PostgreSQL)."""
        ...


@dataclass(frozen=True)
class SlotBookable:
    """A roster slot: one representative expected at the station, one day, from–to."""

    slot: DutySlot

    @property
    def station(self) -> Station:
        return self.slot.station

    @property
    def day(self) -> date:
        return self.slot.day

    @property
    def starts_at(self) -> time:
        return self.slot.starts_at

    @property
    def ends_at(self) -> time:
        return self.slot.ends_at

    @property
    def capacity(self) -> int:
        return slot_capacity(self.slot)

    @property
    def representatives(self) -> list[Representative]:
        return [self.slot.representative]

    @property
    def key(self) -> str:
        return str(self.slot.id)

    def holds(self) -> sa.ColumnElement[bool]:
        return Booking.duty_slot_id == self.slot.id

    def columns(self) -> dict:
        return {"duty_slot_id": self.slot.id, "representative_id": self.slot.representative_id}

    def lock(self) -> None:
        db.session.execute(sa.select(DutySlot.id).where(DutySlot.id == self.slot.id).with_for_update())


@dataclass(frozen=True)
class ReceptionBookable:
    """A reception day's occurrence (one date of a 选民接待日 …): its representatives receive
    at the station, up to the reception day's capacity. Booked from a representative's page
    (`representative`), the booking is with that one of them."""

    reception_day: ReceptionDay
    day: date
    representative: Representative | None = None

    @property
    def station(self) -> Station:
        return self.reception_day.station

    @property
    def starts_at(self) -> time:
        return self.reception_day.starts_at

    @property
    def ends_at(self) -> time:
        return self.reception_day.ends_at

    @property
    def capacity(self) -> int:
        return self.reception_day.capacity

    @property
    def kind(self) -> ReceptionKind:
        return self.reception_day.kind

    @property
    def representatives(self) -> list[Representative]:
        if self.representative is not None:
            return [self.representative]
        return list(self.reception_day.representatives)

    @property
    def key(self) -> str:
        return reception_key(self.reception_day.id, self.day)

    def holds(self) -> sa.ColumnElement[bool]:
        return sa.and_(Booking.reception_day_id == self.reception_day.id, Booking.day == self.day)

    def columns(self) -> dict:
        reps = self.representatives
        return {"reception_day_id": self.reception_day.id, "representative_id": reps[0].id if len(reps) == 1 else None}

    def lock(self) -> None:
        """Locks the reception day's row, then reads it again: cancelled or ended meanwhile
        (the station's change committed while this waited), the date takes no booking."""
        db.session.execute(sa.select(ReceptionDay.id).where(ReceptionDay.id == self.reception_day.id).with_for_update())
        db.session.refresh(self.reception_day, ["cancelled_at", "ends_on"])
        if board.occurrence_on(self.reception_day, self.day) is None:
            raise BookingRefused("not_bookable")


def reception_key(reception_day_id: int, day: date) -> str:
    return f"r{reception_day_id}:{day.isoformat()}"


def slot_capacity(slot: DutySlot) -> int:
    return slot.capacity if slot.capacity is not None else slot.station.booking_capacity


def starts_utc(bookable: Bookable) -> datetime:
    return utc_at(bookable.day, bookable.starts_at)


def booking_days() -> int:
    return int(current_app.config["BOOKING_DAYS"])


# --- the resident's side ------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A slot or a reception day's occurrence on the booking form, with the places left."""

    bookable: SlotBookable | ReceptionBookable
    capacity: int
    left: int

    @property
    def key(self) -> str:
        return self.bookable.key

    @property
    def slot(self) -> DutySlot | None:
        return self.bookable.slot if isinstance(self.bookable, SlotBookable) else None

    @property
    def day(self) -> date:
        return self.bookable.day


def occurrence_places_taken(reception_day_ids: list[int], first: date, last: date) -> dict[tuple[int, date], int]:
    if not reception_day_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.reception_day_id, Booking.day, sa.func.count())
        .where(
            Booking.reception_day_id.in_(reception_day_ids),
            Booking.day >= first,
            Booking.day <= last,
            Booking.status.in_(HOLDING),
        )
        .group_by(Booking.reception_day_id, Booking.day)
    ).tuples()
    return {(rd_id, day): count for rd_id, day, count in rows if rd_id is not None}


def places_taken(slot_ids: list[int]) -> dict[int, int]:
    if not slot_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.duty_slot_id, sa.func.count())
        .where(Booking.duty_slot_id.in_(slot_ids), Booking.status.in_(HOLDING))
        .group_by(Booking.duty_slot_id)
    ).tuples()
    return {slot_id: count for slot_id, count in rows if slot_id is not None}


def choices(station: Station, now: datetime | None = None, *, rep: Representative | None = None) -> list[Choice]:
    """What a resident may book at `station`: the roster slots and the reception days'
    occurrences from now to BOOKING_DAYS ahead, not yet begun, taking bookings; full ones
    too (shown as full). With `rep`, only what that representative receives in."""
    now = now or utcnow()
    today = local_today(now)
    last = today + timedelta(days=booking_days() - 1)
    query = (
        sa.select(DutySlot)
        .options(joinedload(DutySlot.representative).joinedload(Representative.user))
        .where(DutySlot.station_id == station.id, DutySlot.day >= today, DutySlot.day <= last)
        .order_by(DutySlot.day, DutySlot.starts_at, DutySlot.id)
    )
    if rep is not None:
        query = query.where(DutySlot.representative_id == rep.id)
    slots = [s for s in db.session.scalars(query) if utc_at(s.day, s.starts_at) > now and slot_capacity(s) > 0]
    taken = places_taken([s.id for s in slots])
    found: list[Choice] = [
        Choice(SlotBookable(s), slot_capacity(s), max(slot_capacity(s) - taken.get(s.id, 0), 0)) for s in slots
    ]
    occurrences = [
        o
        for o in board.station_occurrences(station, today, last)
        if o.reception_day.capacity > 0
        and utc_at(o.day, o.starts_at) > now
        and (rep is None or any(r.id == rep.id for r in o.reception_day.representatives))
    ]
    held = occurrence_places_taken(sorted({o.reception_day.id for o in occurrences}), today, last)
    for o in occurrences:
        left = o.reception_day.capacity - held.get((o.reception_day.id, o.day), 0)
        found.append(Choice(ReceptionBookable(o.reception_day, o.day, rep), o.reception_day.capacity, max(left, 0)))
    return sorted(found, key=lambda c: (c.day, c.bookable.starts_at, isinstance(c.bookable, SlotBookable), c.key))


def bookable_slot(station: Station, slot_id: int | None) -> SlotBookable | None:
    """The slot a form names, when it is on this station's roster."""
    slot = db.session.get(DutySlot, slot_id) if slot_id else None
    if slot is None or slot.station_id != station.id:
        return None
    return SlotBookable(slot)


def bookable_by_key(
    key: str | None, *, station: Station | None = None, rep: Representative | None = None
) -> SlotBookable | ReceptionBookable | None:
    """What a form's choice names ("<slot id>", or "r<reception day id>:<yyyy-mm-dd>"): when
    it is at `station` (if given), falls on that date, and (with `rep`) is that
    representative's. None for anything else (a forged or stale form)."""
    raw = (key or "").strip()
    found: SlotBookable | ReceptionBookable | None = None
    if raw.isdigit() and len(raw) < 10:
        slot = db.session.get(DutySlot, int(raw))
        found = SlotBookable(slot) if slot is not None else None
        if found is not None and rep is not None and found.slot.representative_id != rep.id:
            return None
    elif raw.startswith("r"):
        rd_id, _sep, raw_day = raw[1:].partition(":")
        try:
            day, ident = date.fromisoformat(raw_day), int(rd_id)
        except ValueError:
            return None
        reception = db.session.get(ReceptionDay, ident) if 0 < ident < 2**31 else None
        if reception is None or board.occurrence_on(reception, day) is None:
            return None
        if rep is not None and all(r.id != rep.id for r in reception.representatives):
            return None
        found = ReceptionBookable(reception, day, rep)
    if found is None or (station is not None and found.station.id != station.id):
        return None
    return found


@dataclass(frozen=True)
class BookingInput:
    name: str
    mobile: str
    subject: str
    consent: bool


def mobile_digest(mobile: str) -> str:
    """Keyed, so that the table alone does not give the numbers away."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"booking-mobile:{mobile}".encode(), hashlib.sha256).hexdigest()


def find_by_code(code: str) -> Booking | None:
    return db.session.scalar(sa.select(Booking).where(Booking.code == code))


def find_by_submission_key(key: str | None) -> Booking | None:
    if not key:
        return None
    return db.session.scalar(sa.select(Booking).where(Booking.submission_key == key))


def _clean(data: BookingInput) -> tuple[str, str, str]:
    name = clean_text(data.name)
    mobile = normalize_mobile(data.mobile)
    subject = " ".join(clean_text(data.subject).split())  # one line
    if not name:
        raise BookingRefused("name_required")
    if len(name) > CONTACT_NAME_MAX:
        raise BookingRefused("name_too_long")
    if not is_mainland_mobile(mobile):
        raise BookingRefused("bad_mobile")
    if not BOOKING_SUBJECT_MIN <= len(subject) <= BOOKING_SUBJECT_MAX:
        raise BookingRefused("subject_length")
    if not data.consent:
        raise BookingRefused("consent_required")
    return name, mobile, subject


def _check_open(bookable: Bookable, now: datetime) -> None:
    if not bookable.station.is_active:
        raise BookingRefused("station_inactive")
    if starts_utc(bookable) <= now:
        raise BookingRefused("started")
    if bookable.day >= local_today(now) + timedelta(days=booking_days()):
        raise BookingRefused("too_far")
    if bookable.capacity <= 0:
        raise BookingRefused("not_taking")


def _check_number(bookable: Bookable, digest: str, now: datetime) -> None:
    cfg = current_app.config
    twice = db.session.scalar(
        sa.select(Booking.id).where(bookable.holds(), Booking.mobile_digest == digest, Booking.status.in_(HOLDING))
    )
    if twice is not None:
        raise BookingRefused("already_booked")
    ahead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(
            Booking.mobile_digest == digest,
            Booking.status == BookingStatus.BOOKED,
            Booking.day >= local_today(now),
        )
    )
    if (ahead or 0) >= cfg["BOOKINGS_PER_MOBILE_AHEAD"]:
        raise BookingRefused("too_many_ahead", maximum=cfg["BOOKINGS_PER_MOBILE_AHEAD"])
    today = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(Booking.mobile_digest == digest, Booking.created_at > now - timedelta(days=1))
    )
    if (today or 0) >= cfg["BOOKINGS_PER_MOBILE_DAY"]:
        raise BookingRefused("too_many_today")


def taken_seats(bookable: Bookable) -> set[int]:
    return set(db.session.scalars(sa.select(Booking.seat).where(bookable.holds(), Booking.status.in_(HOLDING))))


def book(
    bookable: Bookable, data: BookingInput, *, submission_key: str | None = None, now: datetime | None = None
) -> Booking:
    """Book a place. Returns the booking already made with this submission key (a double
    tap); refuses with BookingRefused otherwise (see its codes). The database's seat index
    refuses (IntegrityError) what a lost race would overbook; the view says "full"."""
    existing = find_by_submission_key(submission_key)
    if existing is not None:
        return existing
    now = now or utcnow()
    _check_open(bookable, now)
    name, mobile, subject = _clean(data)
    bookable.lock()
    digest = mobile_digest(mobile)
    _check_number(bookable, digest, now)
    taken = taken_seats(bookable)
    free = [seat for seat in range(1, bookable.capacity + 1) if seat not in taken]
    if not free:
        raise BookingRefused("full")
    booking = Booking(
        code=_unused_code(),
        submission_key=submission_key or None,
        station_id=bookable.station.id,
        day=bookable.day,
        starts_at=bookable.starts_at,
        ends_at=bookable.ends_at,
        seat=free[0],
        status=BookingStatus.BOOKED,
        name=name,
        mobile=mobile,
        mobile_digest=digest,
        subject=subject,
        consent_at=now,
        created_at=now,
        updated_at=now,
        **bookable.columns(),
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def _unused_code() -> str:
    while True:
        code = new_booking_code()
        if find_by_code(code) is None:
            return code


def has_started(booking: Booking, now: datetime | None = None) -> bool:
    return utc_at(booking.day, booking.starts_at) <= (now or utcnow())


def may_cancel(booking: Booking, now: datetime | None = None) -> bool:
    return booking.status == BookingStatus.BOOKED and not has_started(booking, now)


def _hold_back_reminders(booking: Booking, reason: str) -> None:
    db.session.execute(
        sa.update(Outbox)
        .where(
            Outbox.booking_id == booking.id,
            Outbox.kind == notifications.BOOKING_REMINDER,
            Outbox.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.FAILED, last_error=reason)
        .execution_options(synchronize_session="fetch")
    )


def cancel(booking: Booking, now: datetime | None = None) -> Booking:
    """The resident (whoever holds the code) cancels. Refuses: not_booked (already
    cancelled, called off or marked), started (the visit has begun)."""
    now = now or utcnow()
    if booking.status != BookingStatus.BOOKED:
        raise BookingRefused("not_booked")
    if has_started(booking, now):
        raise BookingRefused("started")
    booking.status, booking.cancelled_at, booking.updated_at = BookingStatus.CANCELLED, now, now
    _hold_back_reminders(booking, HELD_CANCELLED)
    db.session.flush()
    return booking


# --- the station's side ---------------------------------------------------------------------


@dataclass
class SlotDay:
    """One roster slot of a day, or a reception day's occurrence (`reception_day`), or (both
    None) what was booked on a slot or reception day since removed, with its bookings."""

    slot: DutySlot | None
    starts_at: time
    ends_at: time
    representative: Representative | None
    bookings: list[Booking]
    capacity: int | None
    reception_day: ReceptionDay | None = None

    @property
    def held(self) -> int:
        return sum(1 for b in self.bookings if b.status in HOLDING)


def day_schedule(station: Station, day: date) -> list[SlotDay]:
    """The day's roster slots at `station` with their bookings, and the bookings of slots
    removed since, in time order."""
    slots = list(
        db.session.scalars(
            sa.select(DutySlot)
            .options(joinedload(DutySlot.representative).joinedload(Representative.user))
            .where(DutySlot.station_id == station.id, DutySlot.day == day)
            .order_by(DutySlot.starts_at, DutySlot.id)
        )
    )
    bookings = list(
        db.session.scalars(
            sa.select(Booking)
            .options(selectinload(Booking.concern))
            .where(Booking.station_id == station.id, Booking.day == day)
            .order_by(Booking.starts_at, Booking.seat, Booking.id)
        )
    )
    out = [
        SlotDay(s, s.starts_at, s.ends_at, s.representative, [b for b in bookings if b.duty_slot_id == s.id], None)
        for s in slots
    ]
    for entry in out:
        assert entry.slot is not None
        entry.capacity = slot_capacity(entry.slot)
    for o in board.station_occurrences(station, day, day):
        mine = [b for b in bookings if b.reception_day_id == o.reception_day.id]
        reps = o.reception_day.representatives
        out.append(
            SlotDay(
                None,
                o.starts_at,
                o.ends_at,
                reps[0] if len(reps) == 1 else None,
                mine,
                o.reception_day.capacity,
                o.reception_day,
            )
        )
    shown = {b.id for entry in out for b in entry.bookings}
    orphans = [b for b in bookings if b.id not in shown]
    out.sort(key=lambda e: (e.starts_at, e.reception_day is None))
    if orphans:
        out.append(SlotDay(None, orphans[0].starts_at, orphans[-1].ends_at, None, orphans, None))
    return out


def rep_bookings(rep: Representative, first: date, days: int = 7) -> list[Booking]:
    """The visits `rep` receives from `first` for `days` days (what holds a place): those
    booked with them, and a reception day's of theirs booked with none in particular."""
    their_reception_days = sa.select(reception_day_representative.c.reception_day_id).where(
        reception_day_representative.c.representative_id == rep.id
    )
    return list(
        db.session.scalars(
            sa.select(Booking)
            .options(joinedload(Booking.station))
            .where(
                sa.or_(
                    Booking.representative_id == rep.id,
                    sa.and_(Booking.representative_id.is_(None), Booking.reception_day_id.in_(their_reception_days)),
                ),
                Booking.day >= first,
                Booking.day < first + timedelta(days=days),
                Booking.status.in_(HOLDING),
            )
            .order_by(Booking.day, Booking.starts_at, Booking.seat)
        )
    )


def mark(actor: User, booking: Booking, status: BookingStatus, now: datetime | None = None) -> Booking:
    """Staff (or the representative) record whether the resident came. Pressing it again
    changes the mark. Refuses: bad_mark, not_booked (cancelled), not_yet (before the day)."""
    now = now or utcnow()
    if status not in MARKS:
        raise BookingRefused("bad_mark")
    if booking.status not in HOLDING:
        raise BookingRefused("not_booked")
    if booking.day > local_today(now):
        raise BookingRefused("not_yet")
    if booking.status == status:
        return booking
    before = booking.status
    booking.status, booking.marked_at, booking.marked_by_id, booking.updated_at = status, now, actor.id, now
    audit.log(actor, "booking.marked", booking, station=booking.station.code, before=before.value, after=status.value)
    db.session.flush()
    return booking


def set_slot_capacity(actor: User, slot: DutySlot, capacity: int | None) -> None:
    """A slot's own capacity (None: the station's). Places already booked stay booked."""
    if capacity is not None and not 0 <= capacity <= SLOT_CAPACITY_MAX:
        raise BookingRefused("bad_capacity", maximum=SLOT_CAPACITY_MAX)
    if slot.capacity == capacity:
        return
    audit.log(actor, "booking.slot_capacity", slot, station=slot.station.code, before=slot.capacity, after=capacity)
    slot.capacity = capacity
    db.session.flush()


def set_station_capacity(actor: User, station: Station, capacity: int | None) -> None:
    if capacity is None or not 0 <= capacity <= SLOT_CAPACITY_MAX:
        raise BookingRefused("bad_capacity", maximum=SLOT_CAPACITY_MAX)
    if station.booking_capacity == capacity:
        return
    audit.log(actor, "booking.station_capacity", station, before=station.booking_capacity, after=capacity)
    station.booking_capacity = capacity
    db.session.flush()


def _call_off(actor: User | None, bookings: list[Booking], now: datetime) -> list[Booking]:
    """The station calls these visits off: each resident hears it by SMS, the representative
    once per slot (each of a reception day's representatives once per date). Returns the
    bookings called off."""
    live = [b for b in bookings if b.status == BookingStatus.BOOKED]
    for booking in live:
        booking.status, booking.cancelled_at, booking.updated_at = BookingStatus.CALLED_OFF, now, now
        booking.cancelled_by_id = actor.id if actor is not None else None
        _hold_back_reminders(booking, HELD_CANCELLED)
        notifications.queue_booking_called_off(booking)
    by_slot: dict[tuple, list[Booking]] = {}
    for booking in live:
        key = (booking.duty_slot_id, booking.reception_day_id, booking.day, booking.starts_at)
        by_slot.setdefault(key, []).append(booking)
    for group in by_slot.values():
        for rep in _reps_told(group):
            notifications.queue_rep_called_off(group[0], len(group), actor, rep=rep)
    return live


def _reps_told(group: list[Booking]) -> list[Representative]:
    """Who hears about a slot's (an occurrence's) bookings: whoever receives them."""
    return group[0].receivers


def reception_day_called_off(
    actor: User, reception: ReceptionDay, *, after: date | None = None, now: datetime | None = None
) -> list[Booking]:
    """The station cancelled a reception day (`after` None) or ended it after `after`: the
    bookings still to come on the dates it no longer has are called off, and each resident
    is told (services.board calls this)."""
    now = now or utcnow()
    db.session.execute(sa.select(ReceptionDay.id).where(ReceptionDay.id == reception.id).with_for_update())
    query = sa.select(Booking).where(Booking.reception_day_id == reception.id, Booking.status == BookingStatus.BOOKED)
    if after is not None:
        query = query.where(Booking.day > after)
    bookings = [b for b in db.session.scalars(query.order_by(Booking.day, Booking.seat)) if not has_started(b, now)]
    called_off = _call_off(actor, bookings, now)
    if called_off:
        audit.log(
            actor,
            "booking.called_off",
            reception,
            station=reception.station.code,
            n=len(called_off),
            days=sorted({b.day.isoformat() for b in called_off}),
        )
    db.session.flush()
    return called_off


def call_off_slot(actor: User, station: Station, slot: DutySlot, now: datetime | None = None) -> list[Booking]:
    """The manager cancels a slot's bookings (the slot stays on the roster, and takes no
    more: its capacity becomes 0). Refuses: not_this_station, started, nothing_to_cancel."""
    now = now or utcnow()
    if slot.station_id != station.id:
        raise BookingRefused("not_this_station")
    if utc_at(slot.day, slot.starts_at) <= now:
        raise BookingRefused("started")
    bookable = SlotBookable(slot)
    bookable.lock()
    bookings = list(db.session.scalars(sa.select(Booking).where(bookable.holds()).order_by(Booking.seat)))
    called_off = _call_off(actor, bookings, now)
    if not called_off:
        raise BookingRefused("nothing_to_cancel")
    slot.capacity = 0
    audit.log(actor, "booking.called_off", slot, station=station.code, day=slot.day.isoformat(), n=len(called_off))
    db.session.flush()
    return called_off


def slots_removed(actor: User, slots: list[DutySlot], now: datetime | None = None) -> list[Booking]:
    """Before roster slots are removed (services.roster): their bookings are called off,
    and every booking lets go of its slot (it keeps the day and times it was for)."""
    now = now or utcnow()
    ids = [s.id for s in slots]
    if not ids:
        return []
    bookings = list(db.session.scalars(sa.select(Booking).where(Booking.duty_slot_id.in_(ids)).order_by(Booking.id)))
    called_off = _call_off(actor, bookings, now)
    for booking in bookings:
        booking.duty_slot_id = None
    if called_off:
        audit.log(actor, "booking.called_off", None, slots=ids, n=len(called_off))
    db.session.flush()
    return called_off


def link_concern(actor: User, booking: Booking, concern: Concern) -> None:
    """The visit became a concern (filed from the booking by staff or the representative):
    the booking keeps the link, and its page shows the tracking code."""
    if booking.concern_id is not None or booking.station_id != concern.station_id:
        return
    booking.concern_id = concern.id
    audit.log(actor, "booking.concern_filed", booking, station=booking.station.code, concern_id=concern.id)
    db.session.flush()


# --- the day-before reminder (services.jobs: booking-reminders) -------------------------------


def queue_reminders(now: datetime | None = None) -> int:
    """Queue the day-before reminders not queued yet, once REMINDER_HOUR (local) has come:
    each resident booked for tomorrow, and each slot's representative once (with the count).
    A booking is reminded once (`reminded_at`), however often the job runs. Returns how many
    bookings were reminded."""
    now = now or utcnow()
    if local_now(now).hour < current_app.config["BOOKING_REMINDER_HOUR"]:
        return 0
    tomorrow = local_today(now) + timedelta(days=1)
    due = list(
        db.session.scalars(
            sa.select(Booking)
            .options(joinedload(Booking.station), joinedload(Booking.representative).joinedload(Representative.user))
            .where(Booking.day == tomorrow, Booking.status == BookingStatus.BOOKED, Booking.reminded_at.is_(None))
            .order_by(Booking.starts_at, Booking.id)
        )
    )

    def group(booking: Booking) -> tuple[str, int] | None:
        if booking.duty_slot_id is not None:
            return ("slot", booking.duty_slot_id)
        if booking.reception_day_id is not None:
            return ("reception", booking.reception_day_id)
        return None

    told = {
        group(b)
        for b in db.session.scalars(sa.select(Booking).where(Booking.day == tomorrow, Booking.reminded_at.is_not(None)))
    }
    counts: dict[tuple[str, int] | None, int] = {}
    for booking in due:
        counts[group(booking)] = counts.get(group(booking), 0) + 1
    for booking in due:
        notifications.queue_booking_reminder(booking, now)
        booking.reminded_at = now
        key = group(booking)
        if key is not None and key not in told:
            told.add(key)
            for rep in _reps_told([booking]):
                notifications.queue_rep_booking_reminder(booking, counts[key], now, rep=rep)
    db.session.flush()
    return len(due)


# --- personal data (services.erasure) ---------------------------------------------------------


def erase_due(cutoff_day: date, now: datetime, *, dry_run: bool = False, batch: int = 200) -> tuple[int, int]:
    """Up to `batch` bookings whose visit day was before `cutoff_day` lose name, number and
    subject; their SMS rows lose number and text (a waiting one is held back). Returns
    (bookings, messages); `dry_run` counts every booking due and changes nothing."""
    due = sa.and_(Booking.day < cutoff_day, Booking.personal_data_erased_at.is_(None))
    if dry_run:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(due)) or 0, 0
    bookings = list(db.session.scalars(sa.select(Booking).where(due).order_by(Booking.id).limit(batch)))
    if not bookings:
        return 0, 0
    rows = list(
        db.session.scalars(
            sa.select(Outbox).where(
                Outbox.booking_id.in_([b.id for b in bookings]),
                Outbox.channel == "sms",
                Outbox.status != OutboxStatus.SENDING,
            )
        )
    )
    resident_rows = [r for r in rows if any(r.recipient == b.mobile for b in bookings)]
    from services.erasure import HELD_ERASED

    for row in resident_rows:
        if row.status == OutboxStatus.PENDING:
            row.status, row.last_error = OutboxStatus.FAILED, HELD_ERASED
        row.recipient, row.body = mask_mobile(row.recipient), "—"
    for booking in bookings:
        booking.name = booking.mobile = booking.mobile_digest = None
        booking.subject = ""
        booking.personal_data_erased_at = now
    db.session.flush()
    return len(bookings), len(resident_rows)
