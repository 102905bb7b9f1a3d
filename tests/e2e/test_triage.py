"""Triage on a narrow phone with JavaScript off: the back-office home's counts lead to
their lists, and the inbox switches to the deadline order and pages in it.

Elements are found by class, href and name, never by the Chinese text."""

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from models import utcnow
from models.enums import ConcernStatus, RegionLevel, Role
from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass"  # tests/factories.py
NARROW = {"width": 360, "height": 740}
SHOTS = Path(__file__).resolve().parents[2] / "shots"


@pytest.fixture
def base(app, db, live_server) -> str:
    city = factories.region(name="漯河市", level=RegionLevel.CITY)
    county = factories.region(name="源汇区", parent=city)
    station = factories.station(region=county, name="漯河市源汇区马路街街道人大代表联络站")
    factories.user(Role.STATION_MANAGER, username="triage_mgr", managed_stations=[station])
    now = utcnow()
    for n in range(30):
        factories.concern(
            station,
            status=ConcernStatus.SUBMITTED,
            due_at=now + timedelta(days=n % 5) - timedelta(hours=2),
            content=f"第{n:02d}号：小区门口的路灯坏了两个月，晚上出行很不方便。",
        )
    db.session.commit()
    return live_server


def test_counts_lead_to_their_lists_and_the_deadline_order_pages(base, phone_page):
    page = phone_page(java_script_enabled=False, viewport=NARROW)
    page.goto(f"{base}/login")
    page.fill("#login", "triage_mgr")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("form.form button[type=submit]").click()
    page.goto(f"{base}/manage/")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "triage-home.png"), full_page=True)
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    take = page.locator("li.count-take a")
    expect(take.locator("strong")).to_have_text("30")
    overdue = page.locator("li.count-overdue a strong").inner_text()
    with page.expect_navigation():
        page.locator("li.count-overdue a").click()
    expect(page.locator("ul.inbox > li")).to_have_count(int(overdue))
    # The order links keep the filter; the deadline order pages with its own cursor.
    page.goto(f"{base}/manage/concerns")
    with page.expect_navigation():
        page.locator("nav.sorts a[href*='sort=due']").click()
    expect(page.locator("ul.inbox > li")).to_have_count(25)
    page.screenshot(path=str(SHOTS / "triage-inbox-due.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    with page.expect_navigation():
        page.locator("nav.pager a[href*='after=']").click()
    assert "sort=due" in page.url
    expect(page.locator("ul.inbox > li")).to_have_count(5)
