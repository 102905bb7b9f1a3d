"""Booking a reception day's occurrence (选民接待日 …), the second kind of bookable thing:
its capacity and race, one number per occurrence, the same limits, the reminder (once, to
each of its representatives), the station cancelling or ending the reception day (everyone
booked hears it), marking, the day list, the form's keys and the erasure."""

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Booking, Outbox, ReceptionDay
from models.enums import BookingStatus, OutboxStatus, ReceptionKind, Repeat, Role
from services import board, bookings, erasure
from services.bookings import BookingInput, BookingRefused, ReceptionBookable, SlotBookable
from services.clock import local_today, utc_at
from services.notifications import BOOKING_CALLED_OFF, BOOKING_REMINDER, BOOKING_REP_CALLED_OFF, BOOKING_REP_REMINDER
from services.permissions import P, can
from tests import factories

TOMORROW = timedelta(days=1)


@pytest.fixture
def cast(db):
    st = factories.station(name="项城市防水行业人大代表联络站")
    wang = factories.representative(stations=[st], name="王建国")
    li = factories.representative(stations=[st], name="李红梅")
    wang.user.mobile, li.user.mobile = "13700000001", "13700000002"
    manager = factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[st])
    db.session.commit()
    return {"st": st, "wang": wang, "li": li, "manager": manager}


def weekly(cast, *, capacity: int = 3, reps=None, first: date | None = None) -> ReceptionDay:
    """选民接待日 every week on tomorrow's weekday, 9:00–11:30, from tomorrow."""
    first = first or local_today() + TOMORROW
    data = board.ReceptionInput(
        kind=ReceptionKind.VOTER_RECEPTION,
        repeat=Repeat.WEEKLY,
        starts_on=first,
        weekday=first.weekday(),
        starts_at=time(9),
        ends_at=time(11, 30),
        representatives=reps or [cast["wang"], cast["li"]],
        capacity=capacity,
    )
    return board.add_reception_day(cast["manager"], cast["st"], data)


def visit(mobile: str = "13912345678") -> BookingInput:
    return BookingInput(name="李秀兰", mobile=mobile, subject="小区加装电梯的事", consent=True)


def book(rd: ReceptionDay, day: date, mobile: str = "13912345678", rep=None) -> Booking:
    return bookings.book(ReceptionBookable(rd, day, rep), visit(mobile))


def rows(kind: str) -> list[Outbox]:
    from extensions import db

    return list(db.session.scalars(sa.select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


def test_an_occurrence_is_booked_up_to_the_reception_days_capacity(cast, db):
    rd = weekly(cast, capacity=2)
    day = local_today() + TOMORROW
    first, second = book(rd, day, "13900000001"), book(rd, day, "13900000002")
    assert (first.reception_day_id, first.day, first.duty_slot_id, first.seat, second.seat) == (rd.id, day, None, 1, 2)
    assert (first.starts_at, first.ends_at) == (time(9), time(11, 30))
    assert first.representative_id is None  # two representatives receive: the booking is with the day
    with pytest.raises(BookingRefused) as refused:
        book(rd, day, "13900000003")
    assert refused.value.code == "full"
    # The next week's date is another occurrence, with its own places.
    assert book(rd, day + timedelta(days=7), "13900000003").seat == 1


def test_booked_from_a_representatives_page_it_is_with_that_representative(cast):
    rd = weekly(cast)
    booking = book(rd, local_today() + TOMORROW, rep=cast["li"])
    assert booking.representative_id == cast["li"].id


def test_each_representative_of_the_day_receives_a_visit_booked_with_none_in_particular(cast, db):
    """A visit booked on the reception day (not through one representative's page) is with
    every representative of that day: each sees it on /me and may mark it; a visit booked
    with one of them is theirs alone, and a representative not on the day sees neither."""
    other = factories.representative(stations=[cast["st"]], name="赵晓东")
    rd = weekly(cast)
    day = local_today() + TOMORROW
    anyone = book(rd, day)
    with_li = book(rd, day, mobile="13912340000", rep=cast["li"])
    db.session.commit()

    def seen_by(rep):
        return {b.id for b in bookings.rep_bookings(rep, local_today())}

    assert seen_by(cast["wang"]) == {anyone.id}
    assert seen_by(cast["li"]) == {anyone.id, with_li.id}
    assert seen_by(other) == set()
    assert can(cast["wang"].user, P.BOOKING_MARK, anyone) and can(cast["li"].user, P.BOOKING_MARK, anyone)
    assert not can(cast["wang"].user, P.BOOKING_MARK, with_li)
    assert not can(other.user, P.BOOKING_MARK, anyone)


def test_a_reception_day_with_no_places_or_a_date_it_does_not_have_takes_no_booking(cast, db):
    rd = weekly(cast, capacity=0)
    with pytest.raises(BookingRefused) as refused:
        book(rd, local_today() + TOMORROW)
    assert refused.value.code == "not_taking"
    # The form's key names only the dates the reception day has, at its station.
    day = local_today() + TOMORROW
    assert bookings.bookable_by_key(f"r{rd.id}:{day.isoformat()}", station=cast["st"]) is not None
    assert bookings.bookable_by_key(f"r{rd.id}:{(day + TOMORROW).isoformat()}") is None
    assert bookings.bookable_by_key(f"r{rd.id}:not-a-day") is None
    assert bookings.bookable_by_key("r99999:2026-01-01") is None
    assert bookings.bookable_by_key(f"r{rd.id}:{day.isoformat()}", station=factories.station(name="别的站")) is None
    outsider = factories.representative(name="赵外站")
    assert bookings.bookable_by_key(f"r{rd.id}:{day.isoformat()}", rep=outsider) is None
    assert bookings.bookable_by_key(f"r{rd.id}:{day.isoformat()}", rep=cast["wang"]) is not None


def test_the_database_refuses_a_second_booking_of_the_same_seat_of_an_occurrence(cast, db, monkeypatch):
    """Two residents taking the last place at once: a stale read of the seats still cannot
    give both the place (the occurrence's seat index)."""
    rd = weekly(cast, capacity=1)
    day = local_today() + TOMORROW
    book(rd, day, "13900000001")
    db.session.commit()
    monkeypatch.setattr(bookings, "taken_seats", lambda _bookable: set())
    with pytest.raises(IntegrityError):
        book(rd, day, "13900000002")
    db.session.rollback()
    # The same seat on another occurrence, or on a roster slot, is another place.
    assert book(rd, day + timedelta(days=7), "13900000002").seat == 1


def test_one_number_books_an_occurrence_once(cast, db, monkeypatch):
    rd = weekly(cast)
    day = local_today() + TOMORROW
    first = book(rd, day)
    with pytest.raises(BookingRefused) as refused:
        book(rd, day)
    assert refused.value.code == "already_booked"
    db.session.commit()
    # Past the service's check (a race), the database still refuses the second one.
    monkeypatch.setattr(bookings, "_check_number", lambda *a: None)
    with pytest.raises(IntegrityError):
        book(rd, day)
    db.session.rollback()
    monkeypatch.undo()
    bookings.cancel(db.session.get(Booking, first.id))
    assert book(rd, day).status == BookingStatus.BOOKED  # after cancelling, again


def test_the_per_number_limits_count_reception_day_bookings_too(cast, app):
    app.config["BOOKINGS_PER_MOBILE_AHEAD"] = 2
    rd = weekly(cast)
    day = local_today() + TOMORROW
    book(rd, day)
    bookings.book(SlotBookable(factories.slot(cast["st"], cast["wang"], day=day + TOMORROW)), visit())
    with pytest.raises(BookingRefused) as refused:
        book(rd, day + timedelta(days=7))
    assert refused.value.code == "too_many_ahead"


def test_the_booking_form_offers_slots_and_reception_days(cast, db):
    rd = weekly(cast, capacity=2)
    day = local_today() + TOMORROW
    slot = factories.slot(cast["st"], cast["wang"], day=day, starts_at=time(14), ends_at=time(16))
    book(rd, day)
    offered = bookings.choices(cast["st"])
    first = offered[0]
    assert isinstance(first.bookable, ReceptionBookable) and (first.key, first.left) == (f"r{rd.id}:{day}", 1)
    assert any(c.slot is not None and c.slot.id == slot.id for c in offered)
    # A representative's own: their slots and the reception days where they receive.
    zhao = factories.representative(stations=[cast["st"]], name="赵六")
    factories.slot(cast["st"], zhao, day=day)
    mine = bookings.choices(cast["st"], rep=zhao)
    assert [c.slot is not None for c in mine] == [True]
    li_offered = bookings.choices(cast["st"], rep=cast["li"])
    assert li_offered and all(isinstance(c.bookable, ReceptionBookable) for c in li_offered)
    # Cancelled: no longer offered.
    board.cancel_reception_day(cast["manager"], rd)
    assert all(c.slot is not None for c in bookings.choices(cast["st"]))


def test_cancelling_the_reception_day_calls_off_every_booking_and_tells_everyone(cast, db):
    rd = weekly(cast)
    day = local_today() + TOMORROW
    booked = [book(rd, day, "13900000001"), book(rd, day, "13900000002"), book(rd, day + timedelta(days=7))]
    db.session.commit()
    assert board.cancel_reception_day(cast["manager"], rd) is True
    db.session.commit()
    for b in booked:
        db.session.refresh(b)
    assert {b.status for b in booked} == {BookingStatus.CALLED_OFF}
    assert sorted(r.recipient for r in rows(BOOKING_CALLED_OFF)) == ["13900000001", "13900000002", "13912345678"]
    # Each representative once per date.
    told = rows(BOOKING_REP_CALLED_OFF)
    assert len(told) == 4 and {r.recipient for r in told} == {"13700000001", "13700000002"}
    assert board.cancel_reception_day(cast["manager"], rd) is False
    assert len(rows(BOOKING_CALLED_OFF)) == 3  # a double tap tells nobody again


def test_ending_a_reception_day_calls_off_only_the_dates_it_no_longer_has(cast, db):
    rd = weekly(cast)
    day = local_today() + TOMORROW
    kept, dropped = book(rd, day, "13900000001"), book(rd, day + timedelta(days=7), "13900000002")
    board.end_reception_day(cast["manager"], rd, day)
    assert (kept.status, dropped.status) == (BookingStatus.BOOKED, BookingStatus.CALLED_OFF)
    assert [r.recipient for r in rows(BOOKING_CALLED_OFF)] == ["13900000002"]


def test_the_reminder_goes_out_the_day_before_once_to_the_resident_and_each_representative(cast, db):
    rd = weekly(cast)
    day = local_today() + TOMORROW
    book(rd, day, "13900000001"), book(rd, day, "13900000002")
    db.session.commit()
    now = utc_at(local_today(), time(10, 0))
    assert bookings.queue_reminders(now) == 2
    db.session.commit()
    assert bookings.queue_reminders(now + timedelta(minutes=15)) == 0
    assert sorted(r.recipient for r in rows(BOOKING_REMINDER)) == ["13900000001", "13900000002"]
    to_reps = rows(BOOKING_REP_REMINDER)
    assert sorted(r.recipient for r in to_reps) == ["13700000001", "13700000002"]
    assert all("2" in r.body for r in to_reps)
    # A later booking: its resident is reminded, the representatives not again.
    book(rd, day, "13900000003")
    assert bookings.queue_reminders(now + timedelta(hours=1)) == 1
    assert len(rows(BOOKING_REP_REMINDER)) == 2


def test_the_day_list_shows_the_occurrence_and_staff_mark_who_came(cast, db):
    rd = weekly(cast, first=local_today())
    day = local_today() + timedelta(days=7)
    booking = book(rd, day)
    entries = bookings.day_schedule(cast["st"], day)
    (entry,) = [e for e in entries if e.reception_day is not None]
    assert (entry.reception_day.id, entry.capacity, [b.id for b in entry.bookings]) == (rd.id, 3, [booking.id])
    with pytest.raises(BookingRefused) as refused:
        bookings.mark(cast["manager"], booking, BookingStatus.ATTENDED, now=utc_at(local_today(), time(12)))
    assert refused.value.code == "not_yet"
    bookings.mark(cast["manager"], booking, BookingStatus.NO_SHOW, now=utc_at(day, time(12)))
    assert booking.status == BookingStatus.NO_SHOW and booking.marked_by_id == cast["manager"].id


def test_a_live_booking_is_on_exactly_one_thing(cast, db):
    rd = weekly(cast)
    booking = book(rd, local_today() + TOMORROW)
    db.session.commit()
    booking.duty_slot_id = factories.slot(cast["st"], cast["wang"]).id
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    booking = db.session.get(Booking, booking.id)
    booking.reception_day_id = None
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_names_and_numbers_of_reception_day_bookings_are_erased_after_the_visit(cast, db):
    long_ago = local_today() - timedelta(days=400)
    rd = weekly(cast, first=long_ago)
    old = Booking(
        code="ABCDEFGHJK",
        station_id=cast["st"].id,
        reception_day_id=rd.id,
        day=long_ago,
        starts_at=time(9),
        ends_at=time(11, 30),
        seat=1,
        status=BookingStatus.ATTENDED,
        marked_at=utc_at(long_ago, time(10)),
        name="李秀兰",
        mobile="13912345678",
        mobile_digest=bookings.mobile_digest("13912345678"),
        subject="小区加装电梯的事",
        consent_at=utc_at(long_ago, time(8)),
    )
    db.session.add(old)
    db.session.flush()
    db.session.add(Outbox(channel="sms", recipient=old.mobile, body="提醒", kind=BOOKING_REMINDER, booking_id=old.id))
    db.session.commit()
    report = erasure.purge()
    assert (report.bookings, report.messages) == (1, 1)
    db.session.refresh(old)
    assert (old.name, old.mobile, old.subject, old.reception_day_id) == (None, None, "", rd.id)
    (row,) = rows(BOOKING_REMINDER)
    assert row.recipient == "139****5678" and row.status == OutboxStatus.FAILED


def test_a_reception_day_cancelled_while_the_form_was_open_takes_no_booking(cast, db):
    """The resident's request had its occurrence in hand when the station cancelled the day
    (another session): once it holds the lock it reads the day again and is refused."""
    rd = weekly(cast)
    day = local_today() + TOMORROW
    occurrence = ReceptionBookable(rd, day)
    db.session.commit()
    cancelled = sa.update(ReceptionDay).where(ReceptionDay.id == rd.id).values(cancelled_at=utc_at(day, time(0)))
    db.session.execute(cancelled)
    with pytest.raises(BookingRefused) as refused:
        bookings.book(occurrence, visit())
    assert refused.value.code == "not_bookable"
