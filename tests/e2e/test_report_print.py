"""The 述职 report as a representative prints it: /me/report/<year> printed to PDF by
Chromium on A4, read back with poppler's pdftotext and pdfinfo. The page chrome and the
print button stay off the paper; a table longer than a page breaks between rows, never
inside one, and repeats its header."""

import re
import shutil
import subprocess
from datetime import date, time, timedelta

import pytest

from models import Duty
from models.enums import DutyMethod, DutyStatus
from services.clock import utc_at
from tests import factories
from tests.e2e.test_duty_path import sign_in

pytestmark = pytest.mark.e2e

PDFTOTEXT = "/usr/bin/pdftotext"
PDFINFO = "/usr/bin/pdfinfo"
YEAR = 2025
STATIONS = 45  # enough rows for the station table to run onto a second page
A4_POINTS = (595.3, 841.9)  # 210 × 297 mm


@pytest.fixture
def rep_with_a_long_year(app, db) -> dict:
    stations = [factories.station(name=f"项城市第{i:02d}人大代表联络站") for i in range(1, STATIONS + 1)]
    rep = factories.representative(stations=stations[:3], name="王建国")
    for i, station in enumerate(stations):
        start = utc_at(date(YEAR, 1, 6) + timedelta(days=i), time(9, 0))
        db.session.add(
            Duty(
                station=station,
                representative=rep,
                checked_in_at=start,
                checked_out_at=start + timedelta(hours=2),
                method=DutyMethod.QR,
                status=DutyStatus.CLOSED,
                nonce=f"print-{i:04d}",
                residents_received=i % 7,
            )
        )
    data = {"username": rep.user.username, "name": rep.name, "stations": [s.name for s in stations]}
    db.session.commit()
    return data


def poppler(tool: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: `make test` installs poppler-utils.", pytrace=False)
    return tool


def pages_text(pdf_path) -> list[str]:
    info = subprocess.run([poppler(PDFINFO), str(pdf_path)], capture_output=True, check=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    return [
        subprocess.run(
            [poppler(PDFTOTEXT), "-layout", "-enc", "UTF-8", "-f", str(n), "-l", str(n), str(pdf_path), "-"],
            capture_output=True,
            check=True,
        ).stdout.decode()
        for n in range(1, pages + 1)
    ]


def page_sizes(pdf_path) -> set[tuple[float, float]]:
    info = subprocess.run(
        [poppler(PDFINFO), "-f", "1", "-l", "99", str(pdf_path)], capture_output=True, check=True, text=True
    ).stdout
    return {(float(w), float(h)) for w, h in re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", info)}


@pytest.mark.parametrize("java_script", [True, False], ids=["js", "no-js"])
def test_the_annual_report_prints_on_a4_without_the_page_chrome(
    java_script, live_server, rep_with_a_long_year, new_context, tmp_path, foreign_requests, page_errors
):
    context = new_context(viewport={"width": 1280, "height": 900}, has_touch=True, java_script_enabled=java_script)
    page = context.new_page()
    sign_in(page, live_server, rep_with_a_long_year["username"])
    response = page.goto(f"{live_server}/me/report/{YEAR}", wait_until="networkidle")
    assert response.status == 200
    button = page.locator("button.print")
    # Script shows the print button; without it the button stays hidden (the browser prints).
    assert button.is_visible() == java_script
    button_text = button.text_content().strip()
    article = page.locator("article.report").inner_text()
    chrome_texts = [
        t.strip() for t in page.locator(".userbar a, .userbar button, .foot a").all_inner_texts() if t not in article
    ]
    assert len(chrome_texts) >= 3

    page.emulate_media(media="print")
    assert page.locator(".userbar").is_hidden() and button.is_hidden()
    pdf_path = tmp_path / "report.pdf"
    pdf = page.pdf(format="A4", path=str(pdf_path))
    assert pdf.startswith(b"%PDF-")
    assert foreign_requests == [] and page_errors == []

    sizes = page_sizes(pdf_path)
    assert sizes and all(abs(w - A4_POINTS[0]) <= 1.5 and abs(h - A4_POINTS[1]) <= 1.5 for w, h in sizes), sizes
    pages = pages_text(pdf_path)
    assert len(pages) >= 2, "the station table was meant to run onto a second page"
    text = "\n".join(pages)
    assert rep_with_a_long_year["name"] in text
    assert f"{YEAR}" in text
    assert button_text not in text
    for chrome_text in chrome_texts:  # the account bar and the footer are not printed
        assert chrome_text not in text, chrome_text
    # Every station's row is whole on one page: its name and its four figures on one line.
    for name in rep_with_a_long_year["stations"]:
        rows = [line for page_text in pages for line in page_text.splitlines() if line.strip().startswith(name)]
        assert len(rows) == 1 and re.fullmatch(rf"\s*{name}\s+1\s+2\.0\s+\d+\s+0\s*", rows[0]), (name, rows)
    # The table's header repeats on every page the table runs onto: the line above its first row.
    continued = [p for p in pages if any(name in p for name in rep_with_a_long_year["stations"])]
    assert len(continued) >= 2
    headers = {tuple(header_above_rows(p, rep_with_a_long_year["stations"]).split()) for p in continued}
    assert len(headers) == 1, headers


def header_above_rows(page_text: str, names: list[str]) -> str:
    lines = [line for line in page_text.splitlines() if line.strip()]
    first = next(i for i, line in enumerate(lines) if any(re.match(rf"\s*{name}\s+\d", line) for name in names))
    return lines[first - 1]
