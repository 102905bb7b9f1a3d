"""An official at the station (领导进站) in a real Chromium shaped like a phone (390 × 844,
WeChat's user agent), with and without JavaScript: a resident sees 本周领导进站 on the
station page; the official signs in, checks in at the station, takes the resident's
concern up and sends it to their unit in one tap; the resident's tracking page shows it
with the unit. Elements are found by form action and href, never by text. Screenshots
land in shots/ (git-ignored)."""

from datetime import time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from models import Concern, ConcernEvent, OfficeHour, OfficialSession
from models.enums import ConcernStatus, DutyStatus, RegionLevel, Role
from services.clock import local_today
from tests import factories
from tests.e2e.conftest import PHONE_USER_AGENT, PHONE_VIEWPORT

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass"  # tests/factories.py
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"official-{name}.png"), full_page=True)


def phone(new_context, *, js: bool) -> BrowserContext:
    return new_context(
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="zh-CN",
        user_agent=PHONE_USER_AGENT,
        java_script_enabled=js,
    )


def tap(page: Page, target) -> None:
    with page.expect_navigation():
        target.tap()


@pytest.fixture
def world(app, db) -> dict:
    county = factories.region("411681", "项城市", RegionLevel.COUNTY)
    station = factories.station(region=county, name="项城市花园街道人大代表联络站", closes_at=None)
    housing = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    factories.user(Role.UNIT_HANDLER, unit=housing, display_name="赵鹏", email="zp@example.org")
    head = factories.official(housing, name="张国栋", post="局长")
    db.session.add(
        OfficeHour(
            station=station,
            official=head,
            day=local_today() + timedelta(days=1),
            starts_at=time(9),
            ends_at=time(11, 30),
        )
    )
    concern = factories.concern(station, content="花园街道老旧小区楼顶漏水，雨天屋里滴水，请尽快维修。")
    data = {
        "station": station.code,
        "username": head.user.username,
        "official_id": head.id,
        "unit_id": housing.id,
        "concern_id": concern.id,
        "tracking": concern.tracking_code,
    }
    db.session.commit()
    return data


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_official_checks_in_and_sends_a_concern_to_their_unit_in_one_step(
    live_server, new_context, world, db, js, foreign_requests, page_errors
):
    suffix = "js" if js else "nojs"
    # The resident sees this week's officials on the station page.
    resident = phone(new_context, js=js).new_page()
    resident.goto(f"{live_server}/s/{world['station']}")
    officials = resident.locator("section.officials")
    expect(officials).to_contain_text("张国栋")
    expect(officials).to_contain_text("局长")
    expect(officials).to_contain_text("09:00–11:30")
    shot(resident, f"01-station-this-weeks-officials-{suffix}")

    # The official signs in and checks in at the station.
    page = phone(new_context, js=js).new_page()
    page.goto(f"{live_server}/login")
    page.fill("#login", world["username"])
    page.fill("#password", PASSWORD)
    tap(page, page.locator("form.form button[type=submit]"))
    assert urlsplit(page.url).path == "/official"
    shot(page, f"02-official-page-not-checked-in-{suffix}")
    page.goto(f"{live_server}/s/{world['station']}")
    button = page.locator(f'form[action="/s/{world["station"]}/official-check-in"] button')
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 300
    shot(page, f"03-station-check-in-{suffix}")
    tap(page, button)
    assert urlsplit(page.url).path == "/official"
    db.session.commit()
    (session,) = db.session.scalars(sa.select(OfficialSession)).all()
    assert session.status == DutyStatus.OPEN

    # The station's new concern, and the one tap that takes it up and sends it to the unit.
    card = page.locator(f"#c{world['concern_id']}")
    expect(card).to_contain_text("楼顶漏水")
    page.locator(f"#c{world['concern_id']} textarea[name=note]").fill("请住建局三日内派人到现场查看。")
    shot(page, f"04-new-concern-{suffix}")
    tap(page, page.locator(f'form[action="/official/concerns/{world["concern_id"]}/dispatch"] button'))
    assert urlsplit(page.url).path == "/official"
    expect(page.locator(".flashes")).to_contain_text(world["tracking"][:4])
    shot(page, f"05-taken-and-sent-{suffix}")

    db.session.commit()
    concern = db.session.get(Concern, world["concern_id"])
    db.session.refresh(concern)
    assert concern.status == ConcernStatus.DISPATCHED and concern.unit_id == world["unit_id"]
    assert concern.due_at is not None
    actions = db.session.scalars(
        sa.select(ConcernEvent.action).where(ConcernEvent.concern_id == concern.id).order_by(ConcernEvent.id)
    ).all()
    assert actions == ["official_take", "official_dispatch"]

    # The resident's tracking page: sent to the handling unit.
    resident.goto(f"{live_server}/t/{world['tracking']}")
    main = resident.locator("main")
    expect(main).to_contain_text("已交承办单位办理")  # the status
    expect(main).to_contain_text("领导干部进站现场接单")  # the take-up on the public timeline
    shot(resident, f"06-tracking-{suffix}")
    assert foreign_requests == [] and page_errors == []
