"""The resident's whole path in a real Chromium shaped like a phone in WeChat:
scan the printed code → station page → concern form → receipt → tracking page,
with JavaScript on and off. The UI is Chinese, so elements are found by href, id and
role, never by English text."""

import io
import re
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import ExifTags, Image
from playwright.sync_api import Locator, Page, expect

from models import Concern
from services.codes import ALPHABET
from services.storage import LocalStorage
from tests import factories

pytestmark = pytest.mark.e2e

PUBLIC_BASE_URL = "http://mashang.test"  # tests/conftest.py base_config
TRACKING_CODE_RE = re.compile(f"^[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}$")
RECEIPT_URL_RE = re.compile(f"/t/([{ALPHABET}]{{10}})/receipt$")

CONTENT = "小区东门口的两盏路灯坏了两个月，晚上老人和孩子出行很不方便，希望尽快修好。"
CONTACT_NAME = "张秀英"
CONTACT_MOBILE = "13912345678"

JS_MODES = [pytest.param(True, id="js-on"), pytest.param(False, id="js-off")]


# --- Data -------------------------------------------------------------------------


@dataclass(frozen=True)
class StationData:
    code: str
    name: str
    category_id: int
    rep_names: tuple[str, ...]


@pytest.fixture
def station_data(app, db) -> StationData:
    """A station with a category and representatives, committed so that the live
    server's own sessions see it. Plain values are kept: the ORM objects expire."""
    station = factories.station(
        name="项城市防水行业人大代表联络站",
        intro="联络站设在防水产业园服务中心一楼，每周二、周四有代表轮流进站接待群众。",
    )
    category = factories.category(name_zh="城乡建设", name_en="Urban and rural")
    factories.category(name_zh="生态环境", name_en="Environment")
    reps = [
        factories.representative(stations=[station], name="李红梅", occupation="项城市第一中学教师"),
        factories.representative(stations=[station], name="王建国", occupation="防水工程企业负责人"),
    ]
    data = StationData(
        code=station.code, name=station.name, category_id=category.id, rep_names=tuple(r.name for r in reps)
    )
    db.session.commit()
    return data


def gps_jpeg(path) -> str:
    """A small JPEG whose EXIF holds a camera name and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (33.0, 26.0, 30.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (114.0, 53.0, 12.25)
    Image.new("RGB", (320, 240), (40, 120, 200)).save(path, "JPEG", exif=exif)
    written = Image.open(path).getexif()
    assert written.get_ifd(ExifTags.IFD.GPSInfo), "the test photo should carry GPS data"
    return str(path)


# --- Page objects -------------------------------------------------------------------


def image_loaded(img: Locator, timeout: float = 10.0) -> int:
    """The image's naturalWidth once it has loaded (0 if it never does). Scrolls it into
    view first, since lazy images load only near the viewport."""
    img.scroll_into_view_if_needed()
    deadline = time.monotonic() + timeout
    while True:
        width = img.evaluate("i => (i.complete ? i.naturalWidth : 0)")
        if width or time.monotonic() > deadline:
            return width
        time.sleep(0.1)


class StationPage:
    def __init__(self, page: Page, code: str):
        self.page, self.code = page, code

    @property
    def concern_link(self) -> Locator:
        return self.page.locator(f'a[href="/s/{self.code}/concern"]')

    @property
    def big_links(self) -> Locator:
        return self.page.locator("nav.actions a.btn.big")

    def file_a_concern(self) -> "ConcernFormPage":
        self.concern_link.tap()
        self.page.wait_for_url(f"**/s/{self.code}/concern")
        return ConcernFormPage(self.page, self.code)


class ConcernFormPage:
    def __init__(self, page: Page, code: str):
        self.page, self.code = page, code
        self.form = page.locator("form#concern-form")
        self.submit_button = self.form.locator("button[type=submit]")

    def fill(
        self,
        *,
        category_id: int | None = None,
        content: str = "",
        photo: str | None = None,
        name: str = "",
        mobile: str = "",
        consent: bool = False,
    ) -> "ConcernFormPage":
        if category_id is not None:
            self.page.select_option("#category", value=str(category_id))
        self.page.fill("#content", content)
        if photo:
            self.page.set_input_files("#photos", photo)
        self.page.fill("#contact_name", name)
        self.page.fill("#contact_mobile", mobile)
        if consent:
            self.page.locator("#consent").tap()
            assert self.page.is_checked("#consent")
        return self

    def submit(self) -> None:
        self.submit_button.tap()

    def submit_expecting_receipt(self) -> "ReceiptPage":
        self.submit()
        self.page.wait_for_url(RECEIPT_URL_RE)
        return ReceiptPage(self.page)

    def error_for(self, field_id: str) -> Locator:
        return self.page.locator(f"#{field_id}-err")


class ReceiptPage:
    def __init__(self, page: Page):
        self.page = page
        match = RECEIPT_URL_RE.search(urlsplit(page.url).path)
        assert match, page.url
        self.code_in_url = match.group(1)

    @property
    def tracking_code(self) -> str:
        return self.page.locator("#tracking-code").inner_text().strip()

    @property
    def qr(self) -> Locator:
        return self.page.locator("img.qr")

    def follow(self) -> "TrackingPage":
        self.page.locator(f'a.btn[href="/t/{self.code_in_url}"]').tap()
        self.page.wait_for_url(f"**/t/{self.code_in_url}")
        return TrackingPage(self.page)


class TrackingPage:
    def __init__(self, page: Page):
        self.page = page

    @property
    def photos(self) -> Locator:
        return self.page.locator(".photos img")


# --- Tests --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredConcern:
    tracking_code: str
    content: str
    contact_name: str | None
    contact_mobile: str | None
    consented: bool
    attachment_keys: tuple[str, ...]


def stored_concerns(db) -> list[StoredConcern]:
    """What the database holds now, read fresh and as plain values. The read ends with a
    rollback: on SQLite a transaction begun outside a request takes the write lock
    (BEGIN IMMEDIATE) and would hold up the live server's next write."""
    db.session.expire_all()
    try:
        return [
            StoredConcern(
                tracking_code=c.tracking_code,
                content=c.content,
                contact_name=c.contact_name,
                contact_mobile=c.contact_mobile,
                consented=c.consent_at is not None,
                attachment_keys=tuple(a.storage_key for a in c.attachments),
            )
            for c in db.session.scalars(sa.select(Concern).order_by(Concern.id))
        ]
    finally:
        db.session.rollback()


@pytest.mark.parametrize("js", JS_MODES)
def test_resident_scans_files_and_tracks(
    js, app, db, live_server, station_data, phone_page, foreign_requests, page_errors, tmp_path
):
    # The printed code: the real decoder reads the PNG the server makes.
    with urllib.request.urlopen(f"{live_server}/s/{station_data.code}/qr.png") as response:
        assert response.headers["Content-Type"] == "image/png"
        png = response.read()
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == [f"{PUBLIC_BASE_URL}/s/{station_data.code}"]

    page = phone_page(java_script_enabled=js)
    response = page.goto(live_server + urlsplit(decoded[0]).path)
    assert response.status == 200

    # 码上见: the station and its representatives.
    station = StationPage(page, station_data.code)
    assert page.locator("main h1").inner_text() == station_data.name
    reps = " ".join(page.locator(".reps .name").all_inner_texts())
    for name in station_data.rep_names:
        assert name in reps, reps

    # 码上办: the form, filled as a resident would, with a geotagged photo.
    form = station.file_a_concern()
    form.fill(
        category_id=station_data.category_id,
        content=CONTENT,
        photo=gps_jpeg(tmp_path / "路灯.jpg"),
        name=CONTACT_NAME,
        mobile=CONTACT_MOBILE,
        consent=True,
    )
    receipt = form.submit_expecting_receipt()

    shown = receipt.tracking_code
    assert TRACKING_CODE_RE.match(shown), shown
    assert shown.replace("-", "") == receipt.code_in_url
    assert image_loaded(receipt.qr) > 0
    with urllib.request.urlopen(f"{live_server}/t/{receipt.code_in_url}/qr.png") as response:
        receipt_qr = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(response.read())))]
    assert receipt_qr == [f"{PUBLIC_BASE_URL}/t/{receipt.code_in_url}"]

    # Tracking: what was written and the photo, never the name or the number.
    tracking = receipt.follow()
    assert CONTENT in page.locator(".quote").inner_text()
    assert tracking.photos.count() == 1
    assert image_loaded(tracking.photos.first) > 0
    html = page.content()
    assert CONTACT_NAME not in html
    assert CONTACT_MOBILE not in html
    assert CONTACT_MOBILE[-8:] not in html

    # Stored exactly once, with the contact kept for staff and the photo stripped of EXIF.
    [concern] = stored_concerns(db)
    assert concern.tracking_code == receipt.code_in_url
    assert concern.content == CONTENT
    assert (concern.contact_name, concern.contact_mobile) == (CONTACT_NAME, CONTACT_MOBILE)
    assert concern.consented
    [key] = concern.attachment_keys
    stored = LocalStorage(app.config["UPLOAD_FOLDER"]).read(key)
    assert stored, "the attachment's file is missing"
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert not image.getexif(), dict(image.getexif())
    assert "exif" not in image.info
    assert b"Exif\x00\x00" not in stored

    assert foreign_requests == []
    assert page_errors == []


@pytest.mark.parametrize("js", JS_MODES)
def test_too_short_content_is_shown_beside_the_field(
    js, db, live_server, station_data, phone_page, foreign_requests, page_errors
):
    page = phone_page(java_script_enabled=js)
    assert page.goto(f"{live_server}/s/{station_data.code}/concern").status == 200
    form = ConcernFormPage(page, station_data.code)
    form.fill(category_id=station_data.category_id, content="路灯坏了", name=CONTACT_NAME, consent=True)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.submit()
    assert posted.value.status == 422
    error = form.error_for("content")
    expect(error).to_be_visible()
    # Measured with its stylesheet applied, on a busy machine too: only once the answer's page
    # is there does "load" mean its load (before, the form's own page had long fired it).
    page.wait_for_load_state("load")
    assert urlsplit(page.url).path == f"/s/{station_data.code}/concern"
    assert error.inner_text().strip()
    # Beside the field: in the same field box, right under the text area.
    box = page.locator(".field.has-error").filter(has=page.locator("#content"))
    assert box.count() == 1
    assert box.locator("#content-err").count() == 1
    # …and tied to it, so a screen reader reads the message with the field.
    described_by = (page.get_attribute("#content", "aria-describedby") or "").split()
    assert "content-err" in described_by, "the text area does not point to its error (aria-describedby)"
    textarea, message = page.locator("#content").bounding_box(), error.bounding_box()
    assert 0 <= message["y"] - (textarea["y"] + textarea["height"]) < 60
    # Only that field is marked, and what was typed is still there.
    assert page.locator(".field.has-error").count() == 1
    assert page.input_value("#contact_name") == CONTACT_NAME
    assert page.input_value("#content") == "路灯坏了"
    assert page.input_value("#category") == str(station_data.category_id)

    assert stored_concerns(db) == []
    assert foreign_requests == []
    assert page_errors == []


@pytest.mark.parametrize("js", JS_MODES)
def test_double_tap_and_resubmit_file_one_concern(
    js, db, live_server, station_data, phone_page, foreign_requests, page_errors
):
    page = phone_page(java_script_enabled=js)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    assert page.goto(f"{live_server}/s/{station_data.code}/concern").status == 200
    form = ConcernFormPage(page, station_data.code)
    form.fill(category_id=station_data.category_id, content=CONTENT)

    form.submit_button.dblclick()  # two clicks as fast as a finger can
    page.wait_for_url(RECEIPT_URL_RE)
    receipt = ReceiptPage(page)

    if js:
        # app.js lets the form go once; the server's key check is the second line.
        assert len(posts) == 1, posts
    assert [c.tracking_code for c in stored_concerns(db)] == [receipt.code_in_url]

    # Back from the receipt and tap again: the server recognises the same concern
    # (the form's key, or the same text from this browser a moment ago).
    page.go_back()
    page.wait_for_url(f"**/s/{station_data.code}/concern")
    assert page.input_value("#content") == CONTENT
    posted = len(posts)
    form.submit()
    page.wait_for_url(RECEIPT_URL_RE)
    assert len(posts) == posted + 1
    assert ReceiptPage(page).code_in_url == receipt.code_in_url
    assert [c.tracking_code for c in stored_concerns(db)] == [receipt.code_in_url]
    assert foreign_requests == []
    assert page_errors == []


def test_station_page_fits_a_360px_phone(live_server, station_data, phone_page, foreign_requests, page_errors):
    page = phone_page(viewport={"width": 360, "height": 740})
    assert page.goto(f"{live_server}/s/{station_data.code}").status == 200

    metrics = page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            clientWidth: document.documentElement.clientWidth,
            bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
            textFonts: Array.from(document.querySelectorAll("main dd, main p.prose, main p.muted, .reps .name"))
                .map(e => [e.className || e.tagName, parseFloat(getComputedStyle(e).fontSize)]),
        })"""
    )
    assert metrics["scrollWidth"] <= 360, metrics
    assert metrics["bodyFont"] >= 16, metrics
    small = [(name, size) for name, size in metrics["textFonts"] if size < 16]
    assert small == [], f"body text under 16px: {small}"

    station = StationPage(page, station_data.code)
    # filing, booking a visit (预约接待), looking up, and the answered concerns (已办结案例)
    assert station.big_links.count() == 4
    assert station.big_links.first.get_attribute("href") == f"/s/{station_data.code}/concern"
    assert station.big_links.nth(1).get_attribute("href") == f"/s/{station_data.code}/book"
    assert station.big_links.last.get_attribute("href") == f"/s/{station_data.code}/answers"
    for i in range(4):
        box = station.big_links.nth(i).bounding_box()
        assert box["height"] >= 44, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    assert foreign_requests == []
    assert page_errors == []


def test_station_page_weighs_at_most_50kb(live_server, station_data, phone_page, foreign_requests, page_errors):
    page = phone_page()
    responses = []
    page.on("response", lambda r: responses.append(r))
    assert page.goto(f"{live_server}/s/{station_data.code}", wait_until="networkidle").status == 200

    sizes = {}
    for response in responses:
        if response.request.resource_type in ("document", "stylesheet", "script"):
            sizes[response.url] = len(response.body())
    assert any(url.endswith(f"/s/{station_data.code}") for url in sizes), sizes
    assert any(url.endswith(".css") for url in sizes), sizes
    total = sum(sizes.values())
    assert total <= 50 * 1024, f"station page loads {total} bytes of HTML+CSS+JS: {sizes}"
    assert foreign_requests == []
    assert page_errors == []
