"""The A4 poster a station manager prints: /s/<code>/poster printed to PDF by Chromium,
from a desktop and from a phone, must be one page whose QR code still scans."""

import io
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest
import zxingcpp
from PIL import Image

from models.enums import RegionLevel
from tests import factories

pytestmark = pytest.mark.e2e

PUBLIC_BASE_URL = "http://mashang.test"  # tests/conftest.py base_config
SLOGAN = "码上见、码上办"
PDFTOPPM = "/usr/bin/pdftoppm"
PDFTOTEXT = "/usr/bin/pdftotext"
DPI = 150
A4_PIXELS = (round(210 / 25.4 * DPI), round(297 / 25.4 * DPI))  # 1240 × 1754

try:
    import pypdf
except ImportError:  # not a dependency of the project; used when someone has it
    pypdf = None


@dataclass(frozen=True)
class PosterStation:
    code: str
    name: str

    @property
    def url(self) -> str:
        return f"{PUBLIC_BASE_URL}/s/{self.code}"


@pytest.fixture(params=["typical", "long-name"])
def poster_station(request, app, db) -> PosterStation:
    if request.param == "typical":
        station = factories.station(name="项城市防水行业人大代表联络站")
    else:
        # The longest kind of name and region path we expect, and long opening hours:
        # the poster must still fit on one sheet.
        province = factories.region(name="河南省", level=RegionLevel.PROVINCE)
        city = factories.region(name="周口市", level=RegionLevel.CITY, parent=province)
        county = factories.region(name="项城市", level=RegionLevel.COUNTY, parent=city)
        town = factories.region(name="莲花街道", level=RegionLevel.TOWNSHIP, parent=county)
        station = factories.station(
            name="河南省周口市项城市莲花街道办事处防水产业园区人大代表联络站（基层立法联系点）",
            region=town,
            opening_hours="周一至周五 上午 8:30–12:00，下午 14:30–17:30；节假日由值班代表轮流接待",
        )
    data = PosterStation(code=station.code, name=station.name)
    db.session.commit()
    return data


@dataclass(frozen=True)
class PrintedPoster:
    pdf: bytes
    toolbar_texts: list[str]


@pytest.fixture(params=["desktop", "phone"])
def printed_poster(
    request, live_server, poster_station, new_context, phone, foreign_requests, page_errors
) -> PrintedPoster:
    """The poster as Chromium prints it: from a desktop browser, and from a phone-sized
    context with print media emulated (what Share → Print does)."""
    context = new_context(viewport={"width": 1280, "height": 900}) if request.param == "desktop" else phone()
    page = context.new_page()
    response = page.goto(f"{live_server}/s/{poster_station.code}/poster", wait_until="networkidle")
    assert response.status == 200
    assert page.locator("img.qr").evaluate("i => i.complete && i.naturalWidth") > 0
    toolbar_texts = [t.strip() for t in page.locator(".toolbar > *").all_inner_texts() if t.strip()]
    assert toolbar_texts, "the poster's toolbar has no text to look for"

    if request.param == "phone":
        page.emulate_media(media="print")
        assert page.locator(".toolbar").is_hidden(), "the toolbar shows in print"
        assert page.locator(".sheet h1").inner_text() == poster_station.name
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-")
    assert foreign_requests == []
    assert page_errors == []
    return PrintedPoster(pdf=pdf, toolbar_texts=toolbar_texts)


def page_count(pdf: bytes) -> int:
    if pypdf is not None:
        return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    # Chromium writes plain page objects: count /Type /Page, not /Type /Pages.
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def pdf_text(pdf: bytes, tmp_path) -> str:
    """The PDF's text, by pypdf when installed, else by poppler's pdftotext (the same
    Debian package as pdftoppm). Skips only the text checks when neither is there."""
    if pypdf is not None:
        return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    if shutil.which(PDFTOTEXT) is None:
        pytest.skip("neither pypdf nor pdftotext is installed: the poster's text cannot be read back")
    path = tmp_path / "poster.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def squeeze(text: str) -> str:
    """Text without whitespace: PDF extraction breaks lines and spaces spaced letters."""
    return re.sub(r"\s+", "", text)


def render_pages(pdf: bytes, tmp_path) -> list:
    if shutil.which(PDFTOPPM) is None:
        pytest.fail(
            f"{PDFTOPPM} is missing: `make test` installs poppler-utils, which renders the printed poster.",
            pytrace=False,
        )
    path = tmp_path / "poster.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [PDFTOPPM, "-r", str(DPI), "-png", str(path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    return sorted(tmp_path.glob("page*.png"))


def test_poster_prints_on_one_a4_page_whose_code_scans(printed_poster, poster_station, tmp_path):
    assert page_count(printed_poster.pdf) == 1

    pages = render_pages(printed_poster.pdf, tmp_path)
    assert len(pages) == 1, pages
    image = Image.open(pages[0])
    assert abs(image.width - A4_PIXELS[0]) <= 2 and abs(image.height - A4_PIXELS[1]) <= 2, image.size
    decoded = [r.text for r in zxingcpp.read_barcodes(image)]
    assert decoded == [poster_station.url]


def test_poster_text_has_the_station_and_slogan_but_not_the_toolbar(printed_poster, poster_station, tmp_path):
    text = squeeze(pdf_text(printed_poster.pdf, tmp_path))
    assert squeeze(poster_station.name) in text
    assert SLOGAN in text
    assert poster_station.url in text
    for toolbar_text in printed_poster.toolbar_texts:
        assert squeeze(toolbar_text) not in text, f"the toolbar was printed: {toolbar_text!r}"
