"""The public answers in a real Chromium shaped like a phone, JavaScript off: from the
station page to the list, a search, the older page and one whole item, at 360 px wide,
nothing from another host."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from extensions import db as _db
from models import utcnow
from tests import factories
from tests.test_public_answers import closed

pytestmark = pytest.mark.e2e

NARROW = {"width": 360, "height": 740}


def test_a_resident_reads_the_answers_without_javascript(live_server, phone_page, foreign_requests, page_errors):
    station = factories.station()
    start = utcnow() - timedelta(days=3)
    for i in range(12):
        topic = "路灯" if i % 2 else "积水"
        content = f"第{i:02d}件：小区门口{topic}问题反映了很久，电话13812345678，希望尽快解决。" + "说明" * 80
        closed(station, content=content, now=start + timedelta(minutes=i))
    _db.session.commit()

    page = phone_page(java_script_enabled=False, viewport=NARROW)
    page.goto(f"{live_server}/s/{station.code}")
    page.locator(f'a[href="/s/{station.code}/answers"]').click()
    expect(page.locator("ol.answers > li")).to_have_count(10)
    assert "13812345678" not in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], width

    page.locator('a[rel="next"]').click()
    expect(page.locator("ol.answers > li")).to_have_count(2)

    page.fill("#q", "积水")
    page.locator('form[role="search"] button[type="submit"]').click()
    expect(page.locator("ol.answers > li")).to_have_count(6)
    page.locator("ol.answers > li a").first.click()
    expect(page.locator("article.answers")).to_contain_text("第10件")
    assert not foreign_requests and not page_errors
