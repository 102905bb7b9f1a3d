"""Booking a visit (预约接待), the service: capacity and its race, one number per slot, the
per-number limits, cancelling, the station calling visits off, the day-before reminder (once),
marking who came, and erasing the personal data after the visit."""

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import AuditLog, Booking, DutySlot, Outbox
from models.enums import BookingStatus, OutboxStatus, Role
from services import bookings, erasure, roster
from services.bookings import BookingInput, BookingRefused, SlotBookable
from services.clock import local_today, utc_at
from services.codes import BOOKING_CODE_LENGTH, TRACKING_CODE_LENGTH, normalize_booking_code, normalize_tracking_code
from services.notifications import BOOKING_CALLED_OFF, BOOKING_REMINDER, BOOKING_REP_CALLED_OFF, BOOKING_REP_REMINDER
from services.outbox import deliver_due
from tests import factories


@pytest.fixture
def setup(db):
    st = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[st], name="王建国")
    rep.user.mobile = "13700000001"
    manager = factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[st])
    slot = factories.slot(st, rep)
    db.session.commit()
    return st, rep, manager, slot


def visit(mobile: str = "13912345678", name: str = "李秀兰", subject: str = "小区加装电梯的事") -> BookingInput:
    return BookingInput(name=name, mobile=mobile, subject=subject, consent=True)


def book(slot: DutySlot, mobile: str = "13912345678", **kw) -> Booking:
    return bookings.book(SlotBookable(slot), visit(mobile), **kw)


def rows(kind: str) -> list[Outbox]:
    from extensions import db

    return list(db.session.scalars(sa.select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


def mobiles(n: int) -> list[str]:
    return [f"1391234{i:04d}" for i in range(n)]


# --- booking --------------------------------------------------------------------------------


def test_a_booking_takes_a_place_and_gets_its_own_kind_of_code(setup):
    _st, rep, _manager, slot = setup
    booking = book(slot, " 139 1234 5678 ")
    assert booking.status == BookingStatus.BOOKED and booking.seat == 1
    assert (booking.day, booking.starts_at, booking.representative_id) == (slot.day, slot.starts_at, rep.id)
    assert booking.mobile == "13912345678" and booking.consent_at is not None
    assert len(booking.code) == BOOKING_CODE_LENGTH != TRACKING_CODE_LENGTH
    # Never mistaken for one another: each normaliser refuses the other's code.
    assert normalize_booking_code(booking.code.lower()) == booking.code
    assert normalize_tracking_code(booking.code) is None
    assert normalize_booking_code("K7M3QXP29D") is None


def test_the_same_submission_key_returns_the_same_booking(setup):
    slot = setup[3]
    first = book(slot, submission_key="k" * 24)
    assert book(slot, submission_key="k" * 24).id == first.id
    assert bookings.places_taken([slot.id]) == {slot.id: 1}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (BookingInput("", "13912345678", "电梯的事情", True), "name_required"),
        (BookingInput("李" * 31, "13912345678", "电梯的事情", True), "name_too_long"),
        (BookingInput("李秀兰", "12345", "电梯的事情", True), "bad_mobile"),
        (BookingInput("李秀兰", "13912345678", "电梯", True), "subject_length"),
        (BookingInput("李秀兰", "13912345678", "电" * 101, True), "subject_length"),
        (BookingInput("李秀兰", "13912345678", "电梯的事情", False), "consent_required"),
    ],
)
def test_bad_input_is_refused_with_a_code(setup, data, code):
    with pytest.raises(BookingRefused) as refused:
        bookings.book(SlotBookable(setup[3]), data)
    assert refused.value.code == code


def test_capacity_comes_from_the_station_unless_the_slot_has_its_own(setup, db):
    st, _rep, manager, slot = setup
    bookings.set_station_capacity(manager, st, 2)
    for mobile in mobiles(2):
        book(slot, mobile)
    with pytest.raises(BookingRefused) as refused:
        book(slot, "13800000009")
    assert refused.value.code == "full"
    # Staff give this slot more places: the next one gets seat 3.
    bookings.set_slot_capacity(manager, slot, 3)
    assert book(slot, "13800000009").seat == 3
    with pytest.raises(BookingRefused, match="bad_capacity"):
        bookings.set_slot_capacity(manager, slot, 51)
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.action.like("booking.%"))).all()
    assert actions == ["booking.station_capacity", "booking.slot_capacity"]


def test_a_slot_with_no_places_or_begun_or_too_far_ahead_takes_no_booking(setup, db):
    st, rep, manager, slot = setup
    bookings.set_slot_capacity(manager, slot, 0)
    with pytest.raises(BookingRefused, match="not_taking"):
        book(slot)
    today = factories.slot(st, rep, day=local_today(), starts_at=time(0, 0), ends_at=time(0, 5))
    with pytest.raises(BookingRefused, match="started"):
        book(today)
    far = factories.slot(st, rep, day=local_today() + timedelta(days=14))
    with pytest.raises(BookingRefused, match="too_far"):
        book(far)
    # The form lists neither; nor the slot without places.
    assert [c.slot.id for c in bookings.choices(st)] == []


def test_choices_show_the_places_left(setup):
    st, _rep, _manager, slot = setup
    for mobile in mobiles(3):
        book(slot, mobile)
    (choice,) = bookings.choices(st)
    assert (choice.slot.id, choice.capacity, choice.left) == (slot.id, 4, 1)


def test_the_database_refuses_a_second_booking_of_the_same_seat(setup, db, monkeypatch):
    """Two residents taking the last place at once: were the lock ever missing, each would
    read the seat as free; the seat index lets only one of them have it."""
    _st, _rep, manager, slot = setup
    bookings.set_slot_capacity(manager, slot, 1)
    book(slot, "13900000001")
    db.session.commit()
    monkeypatch.setattr(bookings, "taken_seats", lambda _bookable: set())  # a stale read
    with pytest.raises(IntegrityError):
        book(slot, "13900000002")
    db.session.rollback()
    assert bookings.places_taken([slot.id]) == {slot.id: 1}


def test_one_number_books_a_slot_once_and_again_after_cancelling(setup, db):
    slot = setup[3]
    first = book(slot)
    with pytest.raises(BookingRefused, match="already_booked"):
        book(slot, "+86 139-1234-5678")
    bookings.cancel(first)
    assert book(slot).seat == 1  # the cancelled booking let go of its seat
    # The database says so too, whatever the service checks.
    db.session.add(
        Booking(
            code="ZZZZ2222",
            station_id=slot.station_id,
            duty_slot_id=slot.id,
            day=slot.day,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            seat=4,
            name="李秀兰",
            mobile="13912345678",
            mobile_digest=bookings.mobile_digest("13912345678"),
            subject="再约一次",
            consent_at=first.consent_at,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("app_config", [{"BOOKINGS_PER_MOBILE_AHEAD": 2, "BOOKINGS_PER_MOBILE_DAY": 3}])
def test_one_number_holds_a_few_bookings_ahead_and_makes_a_few_a_day(setup):
    st, rep, _manager, _slot = setup
    slots = [factories.slot(st, rep, day=local_today() + timedelta(days=d)) for d in (2, 3, 4, 5)]
    one, _two = book(slots[0]), book(slots[1])
    with pytest.raises(BookingRefused) as refused:
        book(slots[2])
    assert refused.value.code == "too_many_ahead" and refused.value.details == {"maximum": 2}
    bookings.cancel(one)
    book(slots[2])  # the third made today
    bookings.cancel(_two)
    with pytest.raises(BookingRefused, match="too_many_today"):
        book(slots[3])
    # Another number is not affected.
    book(slots[3], "13700000000")


# --- cancelling -----------------------------------------------------------------------------


def test_the_resident_cancels_once_and_not_after_the_visit_began(setup, db):
    st, rep, _manager, slot = setup
    booking = book(slot)
    bookings.cancel(booking)
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_at is not None
    with pytest.raises(BookingRefused, match="not_booked"):
        bookings.cancel(booking)
    later = book(slot, "13700000000")
    with pytest.raises(BookingRefused, match="started"):
        bookings.cancel(later, now=utc_at(slot.day, time(9, 30)))


def test_the_station_calls_off_a_slot_and_everyone_booked_hears_it(setup, db):
    st, rep, manager, slot = setup
    booked = [book(slot, mobile) for mobile in mobiles(3)]
    bookings.cancel(booked[2])
    called_off = bookings.call_off_slot(manager, st, slot)
    assert [b.id for b in called_off] == [booked[0].id, booked[1].id]
    assert all(b.status == BookingStatus.CALLED_OFF and b.cancelled_by_id == manager.id for b in called_off)
    assert booked[2].status == BookingStatus.CANCELLED  # already cancelled: not told again
    assert sorted(r.recipient for r in rows(BOOKING_CALLED_OFF)) == mobiles(2)
    assert all(f"/s/{st.code}/book" in r.body for r in rows(BOOKING_CALLED_OFF))
    (to_rep,) = rows(BOOKING_REP_CALLED_OFF)
    assert to_rep.recipient == rep.user.mobile and "2" in to_rep.body
    # The slot takes no more bookings, and there is nothing left to call off.
    assert slot.capacity == 0
    with pytest.raises(BookingRefused, match="nothing_to_cancel"):
        bookings.call_off_slot(manager, st, slot)


def test_removing_a_slot_from_the_roster_calls_its_visits_off(setup, db):
    st, _rep, manager, slot = setup
    booked = [book(slot, mobile) for mobile in mobiles(2)]
    db.session.commit()
    assert roster.remove_slots(manager, st, slot) == 1
    db.session.commit()
    for booking in booked:
        db.session.refresh(booking)
        assert booking.status == BookingStatus.CALLED_OFF and booking.duty_slot_id is None
        assert booking.day == slot.day  # still says what it was for
    assert len(rows(BOOKING_CALLED_OFF)) == 2 and len(rows(BOOKING_REP_CALLED_OFF)) == 1
    # What was booked on the removed slot still shows on the day's list.
    (entry,) = bookings.day_schedule(st, booked[0].day)
    assert entry.slot is None and {b.id for b in entry.bookings} == {b.id for b in booked}


# --- the day-before reminder ------------------------------------------------------------------


def test_the_reminder_goes_out_the_day_before_once(setup, db, app):
    st, rep, _manager, slot = setup
    booked = [book(slot, mobile) for mobile in mobiles(2)]
    db.session.commit()
    before_hour = utc_at(local_today(), time(7, 0))
    assert bookings.queue_reminders(before_hour) == 0
    now = utc_at(local_today(), time(10, 0))
    assert bookings.queue_reminders(now) == 2
    db.session.commit()
    assert bookings.queue_reminders(now + timedelta(minutes=15)) == 0  # the job runs again: nothing new
    db.session.commit()
    reminders = rows(BOOKING_REMINDER)
    assert sorted(r.recipient for r in reminders) == mobiles(2)
    assert all(st.name in r.body and f"/b/{b.code}" in r.body for r, b in zip(reminders, booked, strict=True))
    assert all(r.booking_id in {b.id for b in booked} for r in reminders)
    (to_rep,) = rows(BOOKING_REP_REMINDER)
    assert to_rep.recipient == rep.user.mobile and "2" in to_rep.body
    # A third resident books later that day: they are reminded; the representative not again.
    book(slot, "13700000000")
    db.session.commit()
    assert bookings.queue_reminders(now + timedelta(hours=2)) == 1
    db.session.commit()
    assert len(rows(BOOKING_REMINDER)) == 3 and len(rows(BOOKING_REP_REMINDER)) == 1
    # The outbox sends each once, however often it runs.
    sent = deliver_due(now=now + timedelta(hours=3))
    assert sent["sent"] == 4
    assert deliver_due(now=now + timedelta(hours=4))["sent"] == 0
    assert {r.status for r in rows(BOOKING_REMINDER)} == {OutboxStatus.SENT}


def test_a_cancelled_booking_is_not_reminded_and_its_waiting_reminder_is_held_back(setup, db):
    slot = setup[3]
    kept, dropped = book(slot, "13900000001"), book(slot, "13900000002")
    bookings.cancel(dropped)
    assert bookings.queue_reminders(utc_at(local_today(), time(10, 0))) == 1
    (row,) = rows(BOOKING_REMINDER)
    assert row.booking_id == kept.id
    bookings.cancel(kept)
    db.session.refresh(row)
    assert row.status == OutboxStatus.FAILED and row.last_error == bookings.HELD_CANCELLED


def test_the_booking_reminders_job_is_scheduled(app):
    from services import jobs

    assert "booking-reminders" in jobs.JOBS


# --- on the day --------------------------------------------------------------------------------


def test_marking_who_came_is_recorded_from_the_day_on(setup, db):
    st, rep, manager, slot = setup
    booking = book(slot)
    with pytest.raises(BookingRefused, match="not_yet"):
        bookings.mark(manager, booking, BookingStatus.ATTENDED)
    on_the_day = utc_at(slot.day, time(10, 0))
    bookings.mark(manager, booking, BookingStatus.ATTENDED, now=on_the_day)
    assert booking.status == BookingStatus.ATTENDED and booking.marked_by_id == manager.id
    bookings.mark(rep.user, booking, BookingStatus.NO_SHOW, now=on_the_day)
    assert booking.status == BookingStatus.NO_SHOW
    with pytest.raises(BookingRefused, match="bad_mark"):
        bookings.mark(manager, booking, BookingStatus.CANCELLED, now=on_the_day)
    entries = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "booking.marked")).all()
    assert [(e.actor_id, e.data["after"]) for e in entries] == [(manager.id, "attended"), (rep.user.id, "no_show")]
    # A marked booking still holds its place (nobody books over someone received).
    assert bookings.places_taken([slot.id]) == {slot.id: 1}


def test_the_representative_sees_their_bookings(setup):
    st, rep, _manager, slot = setup
    booking = book(slot)
    other = factories.representative(stations=[st], name="黄春燕")
    book(factories.slot(st, other), "13700000000")
    assert [b.id for b in bookings.rep_bookings(rep, local_today())] == [booking.id]


# --- personal data -------------------------------------------------------------------------------


def test_names_and_numbers_are_erased_a_while_after_the_visit(setup, db, app):
    st, rep, _manager, _slot = setup
    long_ago = local_today() - timedelta(days=400)
    old_slot = factories.slot(st, rep, day=long_ago)
    old = factories.booking(old_slot, status=BookingStatus.ATTENDED, marked_at=utc_at(long_ago, time(10)))
    db.session.add(Outbox(channel="sms", recipient=old.mobile, body="提醒", kind=BOOKING_REMINDER, booking_id=old.id))
    recent = factories.booking(factories.slot(st, rep, day=local_today() - timedelta(days=3)), mobile="13700000000")
    db.session.commit()
    assert erasure.purge(dry_run=True).bookings == 1
    report = erasure.purge()
    assert (report.bookings, report.messages) == (1, 1)
    db.session.refresh(old)
    assert (old.name, old.mobile, old.mobile_digest, old.subject) == (None, None, None, "")
    assert old.personal_data_erased_at is not None and old.status == BookingStatus.ATTENDED
    (row,) = rows(BOOKING_REMINDER)
    assert row.recipient == "139****5678" and row.body == "—" and row.status == OutboxStatus.FAILED
    db.session.refresh(recent)
    assert recent.mobile == "13700000000"
    assert erasure.purge().bookings == 0


def test_a_booking_without_consent_or_contact_is_refused_by_the_database(setup, db):
    slot = setup[3]
    booking = factories.booking(slot)
    booking.consent_at = None
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_day_lists_only_this_station(setup):
    st, rep, _manager, slot = setup
    book(slot)
    other = factories.station(name="别的联络站")
    other_rep = factories.representative(stations=[other])
    book(factories.slot(other, other_rep), "13700000000")
    (entry,) = bookings.day_schedule(st, slot.day)
    assert entry.slot.id == slot.id and len(entry.bookings) == 1 and entry.capacity == 4
    assert bookings.day_schedule(st, date(2000, 1, 1)) == []


def test_a_log_does_not_hand_out_booking_codes():
    from services.privacy import mask_codes

    assert mask_codes("取消请打开 http://x.test/b/K7M3XP29 。") == "取消请打开 http://x.test/b/K7****** 。"
    assert mask_codes("/s/K7M3XP/book") == "/s/K7M3XP/book"  # a station's address is public
