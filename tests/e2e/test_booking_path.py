"""Booking a visit (预约接待) in a real Chromium shaped like a phone in WeChat, with JavaScript
on and off: station page → booking form → booking page; the day-before reminder in the
outbox (through the `flask jobs` and `flask outbox` commands); cancelling with the code.
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


@pytest.fixture
def setup(app, db) -> Setup:
    station = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[station], name="王建国")
    slot = factories.slot(station, rep)  # tomorrow 9:00–11:00
    db.session.commit()
    return Setup(station.code, slot.id)


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
