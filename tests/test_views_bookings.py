"""Booking a visit (预约接待), through the pages: the resident's form and booking page, the
limits on both, the day's list in the back office and who may act on it, the representative's
page, and a concern filed from a visit."""

import re
import threading
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from models import Booking, Concern, Outbox
from models.enums import BookingStatus, ConcernSource, Role
from services.clock import local_today
from services.notifications import BOOKING_CALLED_OFF
from tests import factories
from tests.helpers import login


@pytest.fixture
def world(db):
    st = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[st], name="王建国")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[st])
    other_station = factories.station(name="漯河食品产业联络站")
    other_rep = factories.representative(stations=[other_station], name="孙志强")
    w = {
        "station": st,
        "rep": rep,
        "manager": manager,
        "slot": factories.slot(st, rep),
        "other_station": other_station,
        "other_slot": factories.slot(other_station, other_rep),
        "other_manager": factories.user(Role.STATION_MANAGER, managed_stations=[other_station]),
        "other_rep": other_rep,
        "category": factories.category(),
    }
    db.session.commit()
    return w


def form(slot_obj, **kw) -> dict:
    data = {
        "slot": str(slot_obj.id),
        "name": "李秀兰",
        "mobile": "139 1234 5678",
        "subject": "小区加装电梯的事",
        "consent": "y",
        "submission_key": "key-" + "x" * 20,
    }
    data.update(kw)
    return data


def all_bookings(db) -> list[Booking]:
    db.session.commit()  # a fresh read: the requests committed in their own sessions
    return list(db.session.scalars(sa.select(Booking).order_by(Booking.id)))


def code_from(response) -> str:
    return response.headers["Location"].rsplit("/", 1)[1]


def today_booking(world, db, rep_key="rep", station_key="station", mobile="13912345678"):
    """A booking on a slot that began today (so that it can be marked)."""
    slot = factories.slot(world[station_key], world[rep_key], day=local_today(), starts_at=time(0), ends_at=time(0, 5))
    booking = factories.booking(slot, mobile=mobile)
    db.session.commit()
    return booking


# --- the resident -------------------------------------------------------------------------


def test_the_station_page_links_to_booking_and_a_resident_books(client, world, db):
    st = world["station"]
    assert f'href="/s/{st.code}/book"' in client.get(f"/s/{st.code}").text
    page = client.get(f"/s/{st.code}/book")
    assert page.status_code == 200 and "王建国" in page.text and 'name="slot"' in page.text
    response = client.post(f"/s/{st.code}/book", data=form(world["slot"]))
    assert response.status_code == 303
    code = code_from(response)
    (booking,) = all_bookings(db)
    assert booking.code == code and booking.mobile == "13912345678"
    shown = client.get(f"/b/{code}")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    # The resident's own page masks their name and number.
    assert "139****5678" in shown.text and "13912345678" not in shown.text and "李秀兰" not in shown.text
    assert "小区加装电梯的事" in shown.text and "王建国" in shown.text
    assert f'action="/b/{code}/cancel"' in shown.text


def test_a_double_tap_makes_one_booking(client, world, db):
    st = world["station"]
    first = client.post(f"/s/{st.code}/book", data=form(world["slot"]))
    second = client.post(f"/s/{st.code}/book", data=form(world["slot"]))
    assert second.status_code == 303 and code_from(first) == code_from(second)
    assert len(all_bookings(db)) == 1


def test_bad_input_comes_back_with_everything_typed(client, world, db):
    st = world["station"]
    response = client.post(
        f"/s/{st.code}/book", data=form(world["slot"], mobile="12345", subject="<script>alert(1)</script>想谈谈")
    )
    assert response.status_code == 422
    assert "11-digit" in response.text or "11 位" in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;想谈谈" in response.text and "<script>alert(1)" not in response.text
    assert 'value="李秀兰"' in response.text
    assert all_bookings(db) == []


def test_script_in_the_subject_is_shown_as_text(client, world, db):
    st = world["station"]
    response = client.post(f"/s/{st.code}/book", data=form(world["slot"], subject="<b>电梯</b>的事"))
    page = client.get(f"/b/{code_from(response)}")
    assert "&lt;b&gt;电梯&lt;/b&gt;的事" in page.text


def test_another_stations_slot_or_a_forged_one_is_refused(client, world, db):
    st = world["station"]
    for forged in (str(world["other_slot"].id), "99999999999999999999", "abc"):
        response = client.post(f"/s/{st.code}/book", data=form(world["slot"], slot=forged))
        assert response.status_code == 422
    assert all_bookings(db) == []


def test_a_full_slot_is_shown_full_and_refused(client, world, db):
    st, slot = world["station"], world["slot"]
    slot.capacity = 1
    factories.booking(slot, mobile="13700000000")
    db.session.commit()
    page = client.get(f"/s/{st.code}/book")
    assert re.search(rf'value="{slot.id}" disabled', page.text)
    response = client.post(f"/s/{st.code}/book", data=form(slot))
    assert response.status_code == 422 and len(all_bookings(db)) == 1


def test_two_residents_taking_the_last_place_at_once_get_it_once(app, world, db):
    st, slot = world["station"], world["slot"]
    slot.capacity = 1
    db.session.commit()
    url = f"/s/{st.code}/book"
    forms = [form(slot, mobile=f"1390000000{i}", submission_key=f"key-{i}" + "y" * 20) for i in range(4)]
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(url, data=forms[i]).status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [303, 422, 422, 422]
    assert [b.seat for b in all_bookings(db)] == [1]


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "BOOKING_RATE_LIMIT": "2 per minute"}])
def test_bookings_from_one_address_are_limited(client, world):
    st = world["station"]
    for i in range(2):
        response = client.post(f"/s/{st.code}/book", data=form(world["slot"], subject=f"第{i}件事情"))
        assert response.status_code in (303, 422)
    assert client.post(f"/s/{st.code}/book", data=form(world["slot"])).status_code == 429
    assert client.get(f"/s/{st.code}/book").status_code == 200  # reading the form is not limited


@pytest.mark.parametrize("app_config", [{"BOOKINGS_PER_MOBILE_AHEAD": 1}])
def test_one_number_is_limited_and_told_why(client, world, db):
    st, rep = world["station"], world["rep"]
    later = factories.slot(st, rep, day=local_today() + timedelta(days=3))
    db.session.commit()
    assert client.post(f"/s/{st.code}/book", data=form(world["slot"])).status_code == 303
    again = client.post(f"/s/{st.code}/book", data=form(later, submission_key="other-" + "z" * 20))
    assert again.status_code == 422 and len(all_bookings(db)) == 1


def test_the_resident_cancels_with_the_code_and_a_second_tap_is_harmless(client, world, db):
    booking = factories.booking(world["slot"])
    db.session.commit()
    response = client.post(f"/b/{booking.code}/cancel")
    assert response.status_code == 303
    (found,) = all_bookings(db)
    assert found.status == BookingStatus.CANCELLED
    again = client.post(f"/b/{booking.code}/cancel", follow_redirects=True)
    assert again.status_code == 200 and "Cancel this booking" not in again.text and "取消这次预约" not in again.text


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "LOOKUP_RATE_LIMIT": "3 per minute"}])
def test_booking_codes_are_looked_up_only_for_their_own_booking(client, world, db):
    booking = factories.booking(world["slot"])
    db.session.commit()
    spaced = f"{booking.code[:4].lower()}-{booking.code[4:].lower()}"
    moved = client.get(f"/b/{spaced}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/b/{booking.code}")
    other = booking.code[:-1] + ("3" if booking.code.endswith("2") else "2")  # not this booking's code
    assert client.post(f"/b/{other}/cancel").status_code in (404, 429)
    for _ in range(2):
        assert client.get("/b/ZZZZ2222").status_code == 404
    assert client.get("/b/ZZZZ3333").status_code == 429  # guessing codes is stopped
    assert client.get(f"/b/{booking.code}").status_code == 200  # a valid code always opens
    assert client.get("/b/not-a-code").status_code in (404, 429)


# --- the station ----------------------------------------------------------------------------


def test_the_manager_sees_the_days_bookings_in_full_and_others_do_not(client, world, db):
    booking = factories.booking(world["slot"])
    db.session.commit()
    url = f"/manage/stations/{world['station'].code}/bookings?day={booking.day.isoformat()}"
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    login(client, world["manager"])
    page = client.get(url)
    assert page.status_code == 200 and "13912345678" in page.text and "李秀兰" in page.text
    login(client, world["other_manager"])
    assert client.get(url).status_code == 403
    staff = factories.user(Role.CONGRESS_STAFF, region=world["station"].region)
    login(client, staff)
    page = client.get(url)
    assert page.status_code == 200 and "13912345678" not in page.text and "139****5678" in page.text


def test_marking_who_came_other_stations_manager_gets_403(client, world, db):
    booking = today_booking(world, db)
    login(client, world["other_manager"])
    assert client.post(f"/manage/bookings/{booking.id}/mark", data={"status": "attended"}).status_code == 403
    login(client, world["other_rep"].user)
    assert client.post(f"/manage/bookings/{booking.id}/mark", data={"status": "attended"}).status_code == 403
    assert all_bookings(db)[0].status == BookingStatus.BOOKED
    login(client, world["manager"])
    assert client.post(f"/manage/bookings/{booking.id}/mark", data={"status": "attended"}).status_code == 303
    assert all_bookings(db)[0].status == BookingStatus.ATTENDED
    forged = client.post(f"/manage/bookings/{booking.id}/mark", data={"status": "cancelled"}, follow_redirects=True)
    assert forged.status_code == 200 and all_bookings(db)[0].status == BookingStatus.ATTENDED


def test_the_representative_sees_and_marks_their_own_on_their_page(client, world, db):
    booking = today_booking(world, db)
    login(client, world["rep"].user)
    page = client.get("/me")
    assert page.status_code == 200 and "13912345678" in page.text and "小区加装电梯的事" in page.text
    response = client.post(f"/manage/bookings/{booking.id}/mark?next=/me", data={"status": "no_show"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/me")
    assert all_bookings(db)[0].status == BookingStatus.NO_SHOW


def test_the_manager_sets_places_and_calls_a_slot_off(client, world, db):
    st, slot = world["station"], world["slot"]
    factories.booking(slot, mobile="13900000001")
    factories.booking(slot, mobile="13900000002", seat=2)
    db.session.commit()
    login(client, world["other_manager"])
    assert client.post(f"/manage/stations/{st.code}/slots/{slot.id}/call-off").status_code == 403
    login(client, world["manager"])
    capacity_url = f"/manage/stations/{st.code}/slots/{slot.id}/capacity"
    assert client.post(capacity_url, data={"capacity": "6"}).status_code == 303
    db.session.commit()
    db.session.refresh(slot)
    assert slot.capacity == 6
    bad = client.post(capacity_url, data={"capacity": "-3"})
    assert bad.status_code == 303
    db.session.commit()
    db.session.refresh(slot)
    assert slot.capacity == 6
    other = world["other_slot"]
    assert client.post(f"/manage/stations/{st.code}/slots/{other.id}/call-off").status_code == 404
    assert client.post(f"/manage/stations/{st.code}/slots/{slot.id}/call-off").status_code == 303
    assert {b.status for b in all_bookings(db)} == {BookingStatus.CALLED_OFF}
    told = db.session.scalars(sa.select(Outbox.recipient).where(Outbox.kind == BOOKING_CALLED_OFF)).all()
    assert sorted(told) == ["13900000001", "13900000002"]
    assert client.post(f"/manage/stations/{st.code}/booking-capacity", data={"capacity": "2"}).status_code == 303
    db.session.commit()
    db.session.refresh(st)
    assert st.booking_capacity == 2


def test_a_visit_becomes_a_concern_and_keeps_the_link(client, world, db):
    booking = today_booking(world, db)
    st = world["station"]
    # A resident with the booking code gets no prefilled contact.
    assert "13912345678" not in client.get(f"/s/{st.code}/concern?booking={booking.code}").text
    login(client, world["manager"])
    page = client.get(f"/s/{st.code}/concern?booking={booking.code}")
    assert 'value="13912345678"' in page.text and 'value="李秀兰"' in page.text and "小区加装电梯的事" in page.text
    response = client.post(
        f"/s/{st.code}/concern",
        data={
            "category": str(world["category"].id),
            "content": "小区加装电梯的事，一楼住户不同意，希望协调。",
            "contact_name": "李秀兰",
            "contact_mobile": "13912345678",
            "consent": "y",
            "submission_key": "concern-" + "q" * 20,
            "booking": booking.code,
        },
    )
    assert response.status_code == 303
    db.session.commit()
    concern = db.session.scalar(sa.select(Concern))
    assert concern.source == ConcernSource.WALK_IN
    assert all_bookings(db)[0].concern_id == concern.id
    assert concern.tracking_code in client.get(f"/b/{booking.code}").text


def test_a_day_out_of_range_shows_today(client, world):
    login(client, world["manager"])
    for day in ("9999-12-31", "0001-01-01", "2026-02-30", "<script>"):
        page = client.get(f"/manage/stations/{world['station'].code}/bookings?day={day}")
        assert page.status_code == 200 and local_today().isoformat() in page.text


def test_a_closed_station_takes_no_booking(client, world, db):
    st = world["station"]
    st.is_active = False
    db.session.commit()
    assert client.get(f"/s/{st.code}/book").status_code == 200  # the closed station's page
    assert client.post(f"/s/{st.code}/book", data=form(world["slot"])).status_code == 410
    assert all_bookings(db) == []
