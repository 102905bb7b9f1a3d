"""代表码 in a real Chromium shaped like a phone in WeChat: read the code off a
representative's printed card, open their page, write to them and follow the concern,
with JavaScript on and off. Elements are found by href, id and role, never by English text."""

import io
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from models import Concern
from tests import factories
from tests.e2e.test_resident_path import (
    CONTENT,
    PUBLIC_BASE_URL,
    RECEIPT_URL_RE,
    TRACKING_CODE_RE,
    ConcernFormPage,
    ReceiptPage,
)

pytestmark = pytest.mark.e2e

JS_MODES = [pytest.param(True, id="js-on"), pytest.param(False, id="js-off")]


@dataclass(frozen=True)
class RepData:
    code: str
    name: str
    station_code: str
    station_name: str
    category_id: int


@pytest.fixture
def rep_data(app, db) -> RepData:
    station = factories.station(name="项城市花园街道人大代表联络站")
    category = factories.category(name_zh="城乡建设", name_en="Urban and rural")
    rep = factories.representative(stations=[station], name="刘桂兰", occupation="社区党支部书记")
    factories.representative(stations=[station], name="赵明")
    data = RepData(rep.code, rep.name, station.code, station.name, category.id)
    db.session.commit()
    return data


def card_qr_url(page) -> str:
    """The address in the first card's code, read off the rendered card as a phone camera
    would read the printed one."""
    qr = page.locator(".rep-card img.qr").first
    qr.scroll_into_view_if_needed()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=qr.element_handle())
    shot = qr.screenshot()
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))][0]


@pytest.mark.parametrize("js", JS_MODES)
def test_resident_scans_a_card_writes_to_the_representative_and_follows_it(
    js, db, live_server, rep_data, phone_page, foreign_requests, page_errors
):
    page = phone_page(java_script_enabled=js)
    assert page.goto(f"{live_server}/r/{rep_data.code}/card").status == 200
    assert page.locator(".rep-card").count() == 10
    url = card_qr_url(page)
    assert url == f"{PUBLIC_BASE_URL}/r/{rep_data.code}"

    # Their page: who, where, and the button to write to them.
    assert page.goto(live_server + urlsplit(url).path).status == 200
    assert page.locator("main h1").inner_text() == rep_data.name
    assert page.locator(f'a[href="/s/{rep_data.station_code}"]').count() >= 1
    page.locator(f'a[href="/r/{rep_data.code}/concern"]').tap()
    page.wait_for_url(f"**/r/{rep_data.code}/concern")
    assert rep_data.name in page.locator("main h1").inner_text()

    # The station's form, as anywhere else.
    form = ConcernFormPage(page, rep_data.station_code)
    form.fill(category_id=rep_data.category_id, content=CONTENT)
    form.submit()
    page.wait_for_url(RECEIPT_URL_RE)
    receipt = ReceiptPage(page)
    assert TRACKING_CODE_RE.match(receipt.tracking_code)

    # Following it: the tracking page says whom it was written to, and links to them.
    receipt.follow()
    assert CONTENT in page.locator(".quote").inner_text()
    addressed = page.locator("p.addressed")
    assert rep_data.name in addressed.inner_text()
    assert addressed.locator(f'a[href="/r/{rep_data.code}"]').count() == 1

    db.session.expire_all()
    try:
        [concern] = db.session.scalars(sa.select(Concern)).all()
        assert concern.tracking_code == receipt.code_in_url
        assert concern.addressed_rep.code == rep_data.code and concern.passed_at is None
        assert concern.station.code == rep_data.station_code
    finally:
        db.session.rollback()
    assert foreign_requests == [] and page_errors == []


def test_the_representative_page_fits_a_phone_and_weighs_little(
    live_server, rep_data, phone_page, foreign_requests, page_errors
):
    page = phone_page(java_script_enabled=False, viewport={"width": 360, "height": 740})
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.request.resource_type != "image" else None)
    assert page.goto(f"{live_server}/r/{rep_data.code}", wait_until="networkidle").status == 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert sum(sizes) <= 50_000, sizes
    assert foreign_requests == [] and page_errors == []
