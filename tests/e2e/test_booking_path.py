"""Booking a visit (预约接待) in a real Chromium shaped like a phone in WeChat, with JavaScript
on and off: station page → booking form → booking page; the day-before reminder in the
outbox (through the `flask jobs` and `flask outbox` commands); cancelling with the code.
And a reception day (选民接待日) booked from a representative's page, which the station then
cancels: the resident's booking page and the outbox say so.
The UI is Chinese, so elements are found by href, id, name and role."""

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from models import Booking
from models.enums import BookingStatus
from services.codes import ALPHABET
from tests import factories

pytestmark = pytest.mark.e2e

JS_MODES = [pytest.param(True, id="js-on"), pytest.param(False, id="js-off")]
BOOKING_URL_RE = re.compile(f"/b/([{ALPHABET}]{{8}})$")
MOBILE = "13912345678"


@pytest.fixture
def app_config():
    # The reminders go out from this local hour: any hour, so the test runs at any time of day.
    return {"BOOKING_REMINDER_HOUR": 0}


@dataclass(frozen=True)
class Setup:
    station_code: str
    slot_id: int
    rep_code: str
    reception_key: str
    reception_id: int
    manager_id: int


@pytest.fixture
def setup(app, db) -> Setup:
    from datetime import time, timedelta

    from models.enums import ReceptionKind, Repeat, Role
    from services import board
    from services.clock import local_today

    station = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[station], name="王建国")
    li = factories.representative(stations=[station], name="李红梅")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    slot = factories.slot(station, rep)  # tomorrow 9:00–11:00
    day = local_today() + timedelta(days=2)
    reception = board.add_reception_day(
        manager,
        station,
        board.ReceptionInput(
            kind=ReceptionKind.VOTER_RECEPTION,
            repeat=Repeat.ONCE,
            starts_on=day,
            starts_at=time(9),
            ends_at=time(11, 30),
            representatives=[li],
        ),
    )
    db.session.commit()
    return Setup(station.code, slot.id, li.code, f"r{reception.id}:{day.isoformat()}", reception.id, manager.id)


@pytest.mark.parametrize("js", JS_MODES)
def test_book_see_the_reminder_in_the_outbox_and_cancel(js, live_server, phone_page, setup, runner, db, tmp_path):
    page = phone_page(java_script_enabled=js)
    page.goto(f"{live_server}/s/{setup.station_code}")
    page.locator(f'a[href="/s/{setup.station_code}/book"]').click()
    expect(page).to_have_url(re.compile(f"/s/{setup.station_code}/book$"))
    expect(page.locator("text=王建国")).to_be_visible()

    page.locator(f'input[name="slot"][value="{setup.slot_id}"]').check()
    page.locator("#subject").fill("小区加装电梯的事，想当面谈谈")
    page.locator("#name").fill("李秀兰")
    page.locator("#mobile").fill(MOBILE)
    page.locator("#consent").check()
    page.locator('#booking-form button[type="submit"]').click()

    expect(page).to_have_url(BOOKING_URL_RE)
    code = BOOKING_URL_RE.search(page.url).group(1)
    expect(page.locator("#booking-code")).to_have_text(f"{code[:4]}-{code[4:]}")
    body = page.locator("main").inner_text() if page.locator("main").count() else page.content()
    assert "139****5678" in body and MOBILE not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / f"booked-{js}.png"), full_page=True)

    # The day before: the scheduled job queues the reminder; the outbox shows it and sends it.
    db.session.commit()  # the commands run in this test's session: a fresh read
    reminded = runner.invoke(args=["jobs", "once", "booking-reminders"])
    assert reminded.exit_code == 0 and "reminded 1" in reminded.output
    listed = runner.invoke(args=["outbox", "list", "--kind", "booking.reminder"])
    assert listed.exit_code == 0
    (line,) = listed.output.strip().splitlines()
    assert "pending" in line and "139****5678" in line and f"/b/{code[:2]}******" in line
    sent = runner.invoke(args=["outbox", "send"])
    assert sent.exit_code == 0 and "sent 1" in sent.output
    assert "sent" in runner.invoke(args=["outbox", "list", "--kind", "booking.reminder"]).output
    # Running the job again reminds nobody twice.
    assert "reminded 0" in runner.invoke(args=["jobs", "once", "booking-reminders"]).output

    # The resident cannot come after all: cancel with the code.
    page.locator(f'form[action="/b/{code}/cancel"] button').click()
    expect(page).to_have_url(BOOKING_URL_RE)
    expect(page.locator(f'form[action="/b/{code}/cancel"]')).to_have_count(0)
    expect(page.locator("h1")).to_have_class(re.compile("booking-cancelled"))
    db.session.commit()
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == code))
    assert booking is not None and booking.status == BookingStatus.CANCELLED


@pytest.mark.parametrize("js", JS_MODES)
def test_book_a_reception_day_from_a_representatives_page_and_hear_it_called_off(
    js, live_server, phone_page, setup, runner, db, tmp_path
):
    from models import ReceptionDay, User
    from services import board

    page = phone_page(java_script_enabled=js)
    page.goto(f"{live_server}/r/{setup.rep_code}")
    page.locator(f'a[href="/r/{setup.rep_code}/book"]').click()
    expect(page).to_have_url(re.compile(f"/r/{setup.rep_code}/book$"))
    choice = page.locator(f'input[name="slot"][value="{setup.reception_key}"]')
    expect(choice).to_have_count(1)
    expect(page.locator(f'input[name="slot"][value="{setup.slot_id}"]')).to_have_count(0)  # 王建国's, not hers
    assert "选民接待日" in page.locator("#booking-form").inner_text()
    choice.check()
    page.locator("#subject").fill("想当面反映小区停车难")
    page.locator("#name").fill("李秀兰")
    page.locator("#mobile").fill(MOBILE)
    page.locator("#consent").check()
    page.locator('#booking-form button[type="submit"]').click()
    expect(page).to_have_url(BOOKING_URL_RE)
    code = BOOKING_URL_RE.search(page.url).group(1)
    expect(page.locator("main")).to_contain_text("李红梅")
    page.screenshot(path=str(tmp_path / f"reception-booked-{js}.png"), full_page=True)

    # The station cancels the reception day: the resident is told, and the page says so.
    db.session.commit()
    board.cancel_reception_day(db.session.get(User, setup.manager_id), db.session.get(ReceptionDay, setup.reception_id))
    db.session.commit()
    listed = runner.invoke(args=["outbox", "list", "--kind", "booking.called_off"])
    assert listed.exit_code == 0 and "139****5678" in listed.output
    page.reload()
    expect(page.locator(f'form[action="/b/{code}/cancel"]')).to_have_count(0)
    expect(page.locator("h1")).to_have_class(re.compile("booking-called_off"))
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == code))
    assert booking is not None and booking.status == BookingStatus.CALLED_OFF
