"""A region's posters as one document, printed to PDF by Chromium: one A4 page per open
station, each page's QR code carrying that station's current address; and a station's old
and new posters, around a code replacement, read back with zxing-cpp."""

import re
import subprocess

import pytest
import zxingcpp
from PIL import Image

from extensions import db as _db
from models import utcnow
from models.enums import RegionLevel, Role
from services import station_lifecycle as lifecycle
from tests import factories
from tests.e2e.test_duty_path import sign_in

pytestmark = pytest.mark.e2e

BASE = "http://mashang.test"  # PUBLIC_BASE_URL in tests/conftest.py
PDFINFO = "/usr/bin/pdfinfo"
PDFTOPPM = "/usr/bin/pdftoppm"


@pytest.fixture
def county(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    town = factories.region("41168101", "莲花街道", RegionLevel.TOWNSHIP, parent=county)
    stations = [
        factories.station(name="项城市光武街道人大代表联络站", region=county),
        factories.station(name="项城市莲花街道人大代表联络站", region=county),
        factories.station(name="莲花街道阿里社区代表联络站", region=town),
    ]
    closed = factories.station(name="项城市已撤销联络站", region=county)
    staff = factories.user(Role.CONGRESS_STAFF, username="xc_staff_e2e", region=county)
    lifecycle.close_station(staff, closed, note="撤销", successor=stations[0], now=utcnow())
    _db.session.commit()
    return {"region": county, "stations": stations, "staff": staff}


def pdf_pages(path) -> int:
    info = subprocess.run([PDFINFO, str(path)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def page_codes(path, tmp_path) -> list[list[str]]:
    """The QR codes on each page, rendered at 100 dpi."""
    prefix = tmp_path / path.stem
    subprocess.run([PDFTOPPM, "-r", "100", "-png", str(path), str(prefix)], check=True, capture_output=True)
    images = sorted(tmp_path.glob(f"{path.stem}-*.png"))
    return [[r.text for r in zxingcpp.read_barcodes(Image.open(p))] for p in images]


def print_pdf(page, url: str, path) -> None:
    response = page.goto(url, wait_until="networkidle")
    assert response.status == 200
    assert all(page.locator("img.qr").evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"))
    page.pdf(format="A4", print_background=True, path=str(path))


def test_a_regions_posters_print_one_page_per_station_with_their_codes(
    live_server, county, new_context, tmp_path, foreign_requests, page_errors
):
    first, second, third = county["stations"]
    old = second.code
    new = lifecycle.replace_code(county["staff"], second, forward_days=30, reason="海报被涂改", now=utcnow())
    _db.session.commit()

    page = new_context(viewport={"width": 1280, "height": 900}, has_touch=True).new_page()
    sign_in(page, live_server, county["staff"].username)
    path = tmp_path / "region.pdf"
    print_pdf(page, f"{live_server}/manage/regions/{county['region'].id}/posters", path)
    assert "3" in page.locator("#page-count").inner_text()

    assert pdf_pages(path) == 3
    # By region code, then name: 光武 before 莲花 in the county, then the township's station.
    assert page_codes(path, tmp_path) == [[f"{BASE}/s/{first.code}"], [f"{BASE}/s/{new}"], [f"{BASE}/s/{third.code}"]]
    assert old != new
    assert foreign_requests == [] and page_errors == []


def test_an_old_poster_carries_the_old_code_which_leads_to_the_new_one(
    live_server, county, new_context, tmp_path, foreign_requests, page_errors
):
    station = county["stations"][1]
    old = station.code
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    before = tmp_path / "before.pdf"
    print_pdf(page, f"{live_server}/s/{old}/poster", before)

    new = lifecycle.replace_code(county["staff"], station, forward_days=30, reason="假海报", now=utcnow())
    _db.session.commit()
    after = tmp_path / "after.pdf"
    print_pdf(page, f"{live_server}/s/{new}/poster", after)

    assert page_codes(before, tmp_path) == [[f"{BASE}/s/{old}"]]
    assert page_codes(after, tmp_path) == [[f"{BASE}/s/{new}"]]
    # Scanning the old poster (its path on this server) lands on the station's page at the new code.
    response = page.goto(f"{live_server}/s/{old}")
    assert response.status == 200 and page.url.endswith(f"/s/{new}")
    assert station.name in page.locator("h1").inner_text()
    assert foreign_requests == [] and page_errors == []
