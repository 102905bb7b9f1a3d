"""Commenting on a draft law at a legislative contact point (立法意见征集) in a real Chromium
shaped like a phone in WeChat, with JavaScript on and off: station page → the draft, article
by article → a comment on one article → the resident's comments page → a second comment
under the same code; then the closing time passes, the `close-drafts` job records it, and
the draft's page says so and offers no comment link. The UI is Chinese, so elements are
found by href, id, name and role."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from models import DraftComment, DraftLaw, utcnow
from models.enums import DraftStatus, RegionLevel
from services.codes import ALPHABET
from tests import factories

pytestmark = pytest.mark.e2e

JS_MODES = [pytest.param(True, id="js-on"), pytest.param(False, id="js-off")]
COMMENTS_URL_RE = re.compile(f"/c/([{ALPHABET}]{{9}})$")


@pytest.fixture
def setup(app, db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    station = factories.station(region=city, name="七一路街道基层立法联系点", is_legislative_point=True)
    draft = factories.draft_law(city)
    db.session.commit()
    return station.code, draft.id


@pytest.mark.parametrize("js", JS_MODES)
def test_comment_on_articles_and_see_the_draft_close(js, live_server, phone_page, setup, runner, db, tmp_path):
    code, draft_id = setup
    page = phone_page(java_script_enabled=js)
    page.goto(f"{live_server}/s/{code}")
    page.locator(f'a[href="/s/{code}/drafts/{draft_id}"]').click()
    expect(page.locator("#a3")).to_contain_text("养犬人应当办理养犬登记。")
    page.locator(f'#a3 a[href^="/s/{code}/drafts/{draft_id}/comment?article=3"]').click()
    page.locator("#content").fill("建议登记可以在手机上办理。")
    page.locator("#name").fill("李秀英")
    page.locator("#mobile").fill("138 0394 1234")
    page.locator("#consent").check()
    page.locator('#comment-form button[type="submit"]').click()

    expect(page).to_have_url(COMMENTS_URL_RE)
    comment_code = COMMENTS_URL_RE.search(page.url).group(1)
    body = page.locator("main").inner_text()
    assert "建议登记可以在手机上办理。" in body and "138****1234" in body and "待审核" in body
    assert "13803941234" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # More articles, under the same code.
    page.locator(f'main a.btn[href^="/s/{code}/drafts/{draft_id}?c={comment_code}"]').click()
    page.locator(f'#a1 a[href^="/s/{code}/drafts/{draft_id}/comment?article=1"]').click()
    page.locator("#content").fill("第一条的立法目的写得清楚。")
    page.locator('#comment-form button[type="submit"]').click()
    expect(page).to_have_url(re.compile(f"/c/{comment_code}$"))
    expect(page.locator("main")).to_contain_text("第一条的立法目的写得清楚。")
    page.screenshot(path=str(tmp_path / f"comments-{js}.png"), full_page=True)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).where(DraftComment.code == comment_code)) == 2

    # The closing time passes; the job records it, and the page offers no comment any more.
    db.session.execute(sa.update(DraftLaw).values(closes_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    closed = runner.invoke(args=["jobs", "once", "close-drafts"])
    assert closed.exit_code == 0 and "closed 1" in closed.output
    db.session.commit()
    assert db.session.get(DraftLaw, draft_id).status == DraftStatus.CLOSED
    page.goto(f"{live_server}/s/{code}/drafts/{draft_id}")
    expect(page.locator("main")).to_contain_text("征求意见已于")
    expect(page.locator('a[href*="/comment"]')).to_have_count(0)
