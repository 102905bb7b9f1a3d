"""The station's board in a real Chromium shaped like a phone (390 × 844, WeChat): the manager
signs in, publishes an activity with a photo from the station's board page, and a resident
scanning the station's code sees it on the station page (its thumbnail loaded from this
server), opens it, and finds the photo; with JavaScript on and off. The UI is Chinese, so
elements are found by form action, href and id. Screenshots land in shots/ (git-ignored)."""

from datetime import date, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import Page, expect

from models import Activity
from models.enums import ReceptionKind, Repeat, Role
from services import board
from services.clock import local_today
from tests import factories
from tests.e2e.test_duty_path import phone_context, sign_in, tap

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "shots"
TITLE = "代表走进防水企业开展专题调研"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"board-{name}.png"), full_page=True)


@pytest.fixture
def world(app, db) -> dict:
    station = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[station], name="王建国")
    manager = factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[station])
    board.add_reception_day(
        manager,
        station,
        board.ReceptionInput(
            ReceptionKind.VOTER_RECEPTION, Repeat.MONTHLY, local_today(), time(9), time(11, 30), [rep], day_of_month=15
        ),
    )
    values = {"code": station.code, "manager": manager.username}
    db.session.commit()
    return values


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_manager_publishes_an_activity_with_a_photo_and_residents_see_it(
    js, db, live_server, world, new_context, foreign_requests, page_errors, tmp_path
):
    code = world["code"]
    photo = tmp_path / "调研.jpg"
    Image.new("RGB", (1600, 1200), (40, 110, 170)).save(photo, "JPEG")

    manager = phone_context(new_context, java_script_enabled=js).new_page()
    sign_in(manager, live_server, world["manager"])
    assert manager.goto(f"{live_server}/manage/stations/{code}/board").status == 200
    shot(manager, f"manage-{'js' if js else 'nojs'}")
    tap(manager, manager.locator(f'a[href="/manage/stations/{code}/board/activities/new"]'))
    manager.fill("#title", TITLE)
    manager.fill("#day", date(2026, 11, 20).isoformat())
    manager.fill("#text", "走访企业8家，收集意见建议12条。")
    manager.set_input_files("#photos", str(photo))
    shot(manager, f"new-{'js' if js else 'nojs'}")
    tap(manager, manager.locator("#publish"))
    expect(manager.locator(".flashes")).to_be_visible()
    assert "/board/activities/" in manager.url
    [activity] = _activities(db)
    assert activity.title == TITLE and activity.published_at is not None and len(activity.photos) == 1
    shot(manager, f"published-{'js' if js else 'nojs'}")

    resident = phone_context(new_context, java_script_enabled=js).new_page()
    assert resident.goto(f"{live_server}/s/{code}").status == 200
    link = resident.locator(f'a[href="/s/{code}/board/{activity.id}"]')
    expect(link).to_contain_text(TITLE)
    thumb = link.locator("img")
    expect(thumb).to_have_attribute("loading", "lazy")
    thumb.scroll_into_view_if_needed()
    resident.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert resident.evaluate("document.documentElement.scrollWidth") <= 390
    shot(resident, f"station-{'js' if js else 'nojs'}")
    tap(resident, link)
    expect(resident.locator("h1")).to_have_text(TITLE)
    full = resident.locator(f'a[href="/media/{activity.photos[0].storage_key}"]')
    expect(full).to_have_count(1)
    shot(resident, f"activity-{'js' if js else 'nojs'}")
    assert foreign_requests == []
    assert page_errors == []


def _activities(db) -> list[Activity]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Activity)))
