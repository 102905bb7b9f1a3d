"""Booking a reception day through the pages: the station's form offers it with its kind,
a representative's page books with them (their slots and reception days only), forged keys
are refused, the day list shows it, and cancelling the reception day tells the residents."""

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from models import Booking
from models.enums import BookingStatus, ReceptionKind, Repeat, Role
from services import board
from services.clock import local_today
from tests import factories
from tests.helpers import login


@pytest.fixture
def world(db):
    st = factories.station(name="项城市防水行业人大代表联络站")
    wang = factories.representative(stations=[st], name="王建国")
    li = factories.representative(stations=[st], name="李红梅")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[st])
    other = factories.station(name="漯河食品产业联络站")
    day = local_today() + timedelta(days=1)
    rd = board.add_reception_day(
        manager,
        st,
        board.ReceptionInput(
            kind=ReceptionKind.VOTER_RECEPTION,
            repeat=Repeat.ONCE,
            starts_on=day,
            starts_at=time(9),
            ends_at=time(11),
            representatives=[li],
            capacity=2,
        ),
    )
    w = {
        "st": st,
        "wang": wang,
        "li": li,
        "manager": manager,
        "rd": rd,
        "day": day,
        "slot": factories.slot(st, wang, day=day, starts_at=time(14), ends_at=time(16)),
        "other": other,
        "other_manager": factories.user(Role.STATION_MANAGER, managed_stations=[other]),
    }
    db.session.commit()
    return w


def form(key: str, **kw) -> dict:
    data = {
        "slot": key,
        "name": "李秀兰",
        "mobile": "139 1234 5678",
        "subject": "小区加装电梯的事",
        "consent": "y",
        "submission_key": "key-" + "y" * 20,
    }
    data.update(kw)
    return data


def key(w) -> str:
    return f"r{w['rd'].id}:{w['day'].isoformat()}"


def all_bookings(db) -> list[Booking]:
    db.session.commit()
    return list(db.session.scalars(sa.select(Booking).order_by(Booking.id)))


def test_the_station_form_offers_the_reception_day_with_its_kind_and_books_it(client, world, db):
    st = world["st"]
    page = client.get(f"/s/{st.code}/book")
    assert page.status_code == 200
    assert f'value="{key(world)}"' in page.text and f'value="{world["slot"].id}"' in page.text
    assert ("选民接待日" in page.text or "Voter reception day" in page.text) and "李红梅" in page.text
    response = client.post(f"/s/{st.code}/book", data=form(key(world)))
    assert response.status_code == 303
    (booking,) = all_bookings(db)
    assert (booking.reception_day_id, booking.day, booking.representative_id) == (
        world["rd"].id,
        world["day"],
        world["li"].id,
    )
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200 and "李红梅" in shown.text


@pytest.mark.parametrize(
    "forged",
    ["r999999:2030-01-01", "r{id}:1999-01-01", "r{id}:not-a-date", "r{id}", "rx:y", "99999999999999", "<script>"],
)
def test_a_forged_or_stale_key_is_refused_with_everything_typed(client, world, db, forged):
    st = world["st"]
    response = client.post(f"/s/{st.code}/book", data=form(forged.format(id=world["rd"].id)))
    assert response.status_code == 422 and 'value="李秀兰"' in response.text
    assert all_bookings(db) == []


def test_another_stations_reception_day_is_refused(client, world, db):
    response = client.post(f"/s/{world['other'].code}/book", data=form(key(world)))
    assert response.status_code == 422
    assert all_bookings(db) == []


def test_a_full_reception_day_is_shown_full_and_refused(client, world, db):
    st = world["st"]
    for n in range(2):
        mobile = f"1390000000{n}"
        client.post(f"/s/{st.code}/book", data=form(key(world), mobile=mobile, submission_key=f"k{n}" + "z" * 20))
    page = client.get(f"/s/{st.code}/book")
    assert re.search(rf'value="{re.escape(key(world))}"\s+disabled', page.text)
    response = client.post(f"/s/{st.code}/book", data=form(key(world), submission_key="third" + "z" * 20))
    assert response.status_code == 422
    assert len(all_bookings(db)) == 2


def test_a_representatives_page_books_with_them(client, world, db):
    li = world["li"]
    assert f'href="/r/{li.code}/book"' in client.get(f"/r/{li.code}").text
    page = client.get(f"/r/{li.code}/book")
    assert page.status_code == 200 and f'value="{key(world)}"' in page.text
    assert f'value="{world["slot"].id}"' not in page.text  # 王建国's slot is not hers
    # 王建国's slot, forged onto her form, is refused.
    refused = client.post(f"/r/{li.code}/book", data=form(str(world["slot"].id)))
    assert refused.status_code == 422 and all_bookings(db) == []
    response = client.post(f"/r/{li.code}/book", data=form(key(world)))
    assert response.status_code == 303
    (booking,) = all_bookings(db)
    assert booking.reception_day_id == world["rd"].id and booking.representative_id == li.id
    wang_page = client.get(f"/r/{world['wang'].code}/book")
    assert f'value="{world["slot"].id}"' in wang_page.text and key(world) not in wang_page.text


def test_a_representative_whose_term_ended_offers_nothing_to_book(client, world, db):
    li = world["li"]
    li.term_end = local_today() - timedelta(days=1)
    db.session.commit()
    page = client.get(f"/r/{li.code}/book")
    assert page.status_code == 200 and key(world) not in page.text
    assert client.post(f"/r/{li.code}/book", data=form(key(world))).status_code == 422
    assert all_bookings(db) == []


def test_the_day_list_shows_the_reception_day_to_its_station_only(client, world, db):
    client.post(f"/s/{world['st'].code}/book", data=form(key(world)))
    login(client, world["manager"])
    page = client.get(f"/manage/stations/{world['st'].code}/bookings?day={world['day'].isoformat()}")
    assert page.status_code == 200 and "13912345678" in page.text
    assert "选民接待日" in page.text or "Voter reception day" in page.text
    client.post("/logout")
    login(client, world["other_manager"])
    assert client.get(f"/manage/stations/{world['st'].code}/bookings").status_code in (403, 404)


def test_cancelling_the_reception_day_on_the_board_calls_off_its_bookings(client, world, db):
    client.post(f"/s/{world['st'].code}/book", data=form(key(world)))
    login(client, world["manager"])
    page = client.get(f"/manage/stations/{world['st'].code}/board")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    data = {"csrf_token": token.group(1)} if token else {}
    response = client.post(f"/manage/stations/{world['st'].code}/board/receptions/{world['rd'].id}/cancel", data=data)
    assert response.status_code == 303
    (booking,) = all_bookings(db)
    assert booking.status == BookingStatus.CALLED_OFF
