"""Importing a county's representatives on a phone: the sample county's sheet with mistakes
is refused row by row and column by column, the corrected one previews cleanly and is
applied once.

Elements are found by id, class, href and data attributes, never by the Chinese text
(but for the sheet's own column headings, which are a fixed format)."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from extensions import db as _db
from models import Representative
from models.enums import Role
from services import imports
from tests import factories

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass"  # tests/factories.py
SHOTS = Path(__file__).resolve().parents[2] / "shots"
REPRESENTATIVES = 200


@pytest.fixture
def county(app, db, live_server, tmp_path) -> dict:
    from devtools import sample_county

    region = sample_county.ensure_regions()
    factories.user(Role.CONGRESS_STAFF, username="county_staff", region_id=region.id)
    good = sample_county.write_sheets(tmp_path / "good", stations=30, representatives=REPRESENTATIVES, units=40)
    bad = sample_county.write_sheets(
        tmp_path / "bad", stations=30, representatives=REPRESENTATIVES, units=40, errors=True
    )
    for kind in ("units", "stations"):  # what the representatives' sheet refers to
        assert imports.apply(None, imports.store_upload(None, kind, kind, good[kind].read_bytes())).applied
    db.session.commit()
    return {"base": live_server, "good": good["representatives"], "bad": bad["representatives"]}


def _upload(page, base: str, path: Path) -> None:
    page.goto(f"{base}/manage/import?kind=representatives")
    expect(page.locator("input[name=kind][value=representatives]")).to_be_checked()
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.locator("form[enctype] button[type=submit]").click()


def test_errors_by_row_and_column_then_the_corrected_sheet_applied(county, phone_page):
    base = county["base"]
    page = phone_page()
    page.goto(f"{base}/login")
    page.fill("#login", "county_staff")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("form.form button[type=submit]").click()

    _upload(page, base, county["bad"])
    assert "/manage/import/" in page.url
    expect(page.locator("li.count-error.alert strong")).to_have_text("7")
    # Each broken row is listed with the column at fault (devtools/sample_county.break_rows).
    expected = {
        3: "手机号",  # the same mobile as row 2
        4: "手机号",  # too short
        5: "联络站",  # no such station
        6: "任期结束",  # ends before it starts
        7: "任期开始",  # 30 February
        8: "代表层级",  # not a level
        9: "姓名",  # empty
    }
    for row, column in expected.items():
        expect(page.locator(f"#row-{row} li[data-column='{column}']")).to_have_count(1)
    expect(page.locator("form.import-apply")).to_have_count(0)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "import-errors.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    _upload(page, base, county["good"])
    expect(page.locator("li.count-created strong")).to_have_text(str(REPRESENTATIVES))
    expect(page.locator("li.count-error strong")).to_have_text("0")
    page.screenshot(path=str(SHOTS / "import-preview.png"), full_page=True)
    with page.expect_navigation():
        page.locator("form.import-apply button[type=submit]").click()
    expect(page.locator(".import-result li.count-created strong")).to_have_text(str(REPRESENTATIVES))
    expect(page.locator("section.import-invitations")).to_have_attribute("data-new-users", str(REPRESENTATIVES))
    page.screenshot(path=str(SHOTS / "import-result.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Back and apply again (a double tap): the same result, no second import.
    page.go_back()
    if page.locator("form.import-apply").count():
        with page.expect_navigation():
            page.locator("form.import-apply button[type=submit]").click()
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Representative)) == REPRESENTATIVES
