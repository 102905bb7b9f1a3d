"""A representative's on-site duty in a real Chromium shaped like a phone: sign in, open a
station, check in, check out, see it in the performance file; the station tablet's
pairing, its single-use code read from the kiosk page and used to check in (a used or
expired one refused), revoking it;
a location station with the phone's position inside and outside the radius.

The UI is Chinese, so elements are found by form action, href and id, never by text.
Screenshots land in shots/ (git-ignored) for people to look at."""

import io
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from models import Duty, DutySlot, Station, User, utcnow
from models.enums import DutyMethod, DutyStatus, PresencePolicy, RepLevel, Role
from services import kiosk as kiosk_service
from services.clock import local_today
from services.duty import distance_m, kiosk_token, kiosk_window
from tests import factories
from tests.e2e.conftest import PHONE_USER_AGENT, PHONE_VIEWPORT

pytestmark = pytest.mark.e2e

SECRET = "test-secret"  # tests/conftest.py
PUBLIC_BASE_URL = "http://mashang.test"
PASSWORD = "secret-pass"  # tests/factories.py
LAT, LON = 33.4436, 114.8992
TABLET = {"width": 1024, "height": 768}
# The tablet's code changes every 30 seconds; tests that wait for a change shorten it.
SHORT_WINDOW = pytest.mark.parametrize("app_config", [{"KIOSK_WINDOW_SECONDS": 4}], ids=["4s-window"])
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"duty-{name}.png"), full_page=True)


@pytest.fixture
def world(app, db) -> dict:
    """Plain values only: the ORM objects expire once the live server commits."""
    plain = factories.station(name="项城市莲花街道人大代表联络站", closes_at=None)
    other = factories.station(name="项城市防水行业人大代表联络站")
    geo = factories.station(
        name="项城市产业集聚区人大代表联络站",
        latitude=LAT,
        longitude=LON,
        presence_policy=PresencePolicy.GEO,
        geo_radius_m=300,
    )
    kiosk = factories.station(name="安阳市文峰区南关街道人大代表联络站", presence_policy=PresencePolicy.KIOSK)
    rep = factories.representative(stations=[plain, other, geo, kiosk], name="王建国")
    manager = factories.user(Role.STATION_MANAGER, display_name="李娜", managed_stations=[kiosk])
    colleague = factories.representative(stations=[kiosk], name="李红梅", level=RepLevel.CITY)
    today = local_today()
    db.session.add_all(
        [
            DutySlot(station=kiosk, representative=rep, day=today, starts_at=time(9, 0), ends_at=time(12, 0)),
            DutySlot(station=kiosk, representative=colleague, day=today, starts_at=time(14, 0), ends_at=time(17, 30)),
        ]
    )
    data = {
        "plain": plain.code,
        "plain_name": plain.name,
        "other": other.code,
        "geo": geo.code,
        "kiosk": kiosk.code,
        "kiosk_id": kiosk.id,
        "rep": rep.user.username,
        "rep_id": rep.id,
        "manager": manager.username,
        "manager_id": manager.id,
        "colleague": colleague.user.username,
        "colleague_id": colleague.id,
    }
    db.session.commit()
    return data


def phone_context(new_context, **extra) -> BrowserContext:
    return new_context(
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="zh-CN",
        user_agent=PHONE_USER_AGENT,
        **extra,
    )


def sign_in(page: Page, base: str, username: str, *, at: str | None = None) -> None:
    """Sign in on the login page the browser is on (or opens /login first)."""
    if at is None:
        page.goto(f"{base}/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    tap(page, page.locator("form.form button[type=submit]"))


def tap(page: Page, target) -> None:
    """Tap and wait for the page it leads to (the address may stay the same after a POST)."""
    with page.expect_navigation():
        target.tap()


def check_in_button(page: Page, code: str):
    return page.locator(f'form[action="/s/{code}/check-in"] button[type=submit]')


def duties(db, rep_id: int) -> list[Duty]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Duty).where(Duty.representative_id == rep_id).order_by(Duty.id)))


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, f"expected one QR code, read {len(results)}"
    return results[0].text


def shown_code(box) -> tuple[int, str]:
    """The window the tablet shows and the URL its code encodes, read as one: the script
    may swap the code between the two reads, so read again if the window moved meanwhile."""
    for _attempt in range(3):
        window = box.get_attribute("data-window")
        try:
            url = decode_qr(box.locator("svg").screenshot())
        except PlaywrightError:  # the code was swapped while it was being photographed
            continue
        if box.get_attribute("data-window") == window:
            return int(window), url
    raise AssertionError("the tablet's code changed during every read")


# --- sign in, check in, check out -----------------------------------------------------------


def test_check_in_and_out_at_phone_size(live_server, new_context, world, db, foreign_requests, page_errors):
    page = phone_context(new_context).new_page()
    sign_in(page, live_server, world["rep"])
    assert urlsplit(page.url).path == "/me"

    response = page.goto(f"{live_server}/s/{world['plain']}")
    assert response.status == 200
    button = check_in_button(page, world["plain"])
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 300  # a large button on a phone
    shot(page, "01-station-check-in")

    tap(page, button)
    page.wait_for_url(f"**/s/{world['plain']}")
    (duty,) = duties(db, world["rep_id"])
    assert (duty.status, duty.method) == (DutyStatus.OPEN, DutyMethod.QR)
    panel = page.locator("section.duty-panel")
    expect(panel.locator(f'form[action="/duty/{duty.id}/check-out"]')).to_be_visible()
    expect(page.locator("section.onduty")).to_contain_text("王建国")  # 在站
    shot(page, "02-station-on-duty")

    # Scanning another station while on duty: refused, naming the first station, with a way out.
    page.goto(f"{live_server}/s/{world['other']}")
    shot(page, "03-station-on-duty-elsewhere")
    page.goto(f"{live_server}/s/{world['plain']}")  # back where the duty is

    page.fill("#residents_received", "3")
    page.fill("#notes", "接待群众3人，反映小区停车难、路灯不亮。")
    tap(page, panel.locator("button[type=submit]"))
    page.wait_for_url("**/me")
    (duty,) = duties(db, world["rep_id"])
    assert (duty.status, duty.residents_received) == (DutyStatus.CLOSED, 3)
    assert duty.notes == "接待群众3人，反映小区停车难、路灯不亮。"
    first = page.locator("ul.duties li").first
    expect(first).to_contain_text(world["plain_name"])
    expect(first).to_have_class("counted")
    shot(page, "04-me")

    tap(page, page.locator('a[href^="/me/report/"]').first)
    page.wait_for_url("**/me/report/*")
    expect(page.locator("#report-stations tbody")).to_contain_text(world["plain_name"])
    shot(page, "05-report")
    assert foreign_requests == [] and page_errors == []


def test_second_check_in_elsewhere_is_refused_and_offers_check_out(live_server, new_context, world, db):
    context = phone_context(new_context)
    page = context.new_page()
    sign_in(page, live_server, world["rep"])
    # Another station's page, opened in a second tab before checking in at the first.
    stale = context.new_page()
    stale.goto(f"{live_server}/s/{world['other']}")
    page.goto(f"{live_server}/s/{world['plain']}")
    tap(page, check_in_button(page, world["plain"]))
    page.wait_for_url(f"**/s/{world['plain']}")
    (duty,) = duties(db, world["rep_id"])

    tap(stale, check_in_button(stale, world["other"]))
    stale.wait_for_url(f"**/s/{world['other']}/check-in")
    expect(stale.locator("main")).to_contain_text(world["plain_name"])
    checkout = stale.locator(f'form[action="/duty/{duty.id}/check-out"]')
    expect(checkout).to_be_visible()
    shot(stale, "06-already-open")

    # Check out there from here, come back, and check in here.
    stale.fill("#residents_received", "1")
    tap(stale, checkout.locator("button[type=submit]"))
    stale.wait_for_url(f"**/s/{world['other']}")
    tap(stale, check_in_button(stale, world["other"]))
    stale.wait_for_url(f"**/s/{world['other']}")
    assert [(d.status, d.station_id == duty.station_id) for d in duties(db, world["rep_id"])] == [
        (DutyStatus.CLOSED, True),
        (DutyStatus.OPEN, False),
    ]


# --- the station tablet ------------------------------------------------------------------------


def pair_tablet(page: Page, base: str, world: dict, db) -> None:
    """Pair the tablet's browser: a pairing code made as the manager would (the service),
    typed on /kiosk/pair."""
    _pairing, code = kiosk_service.new_pairing(
        db.session.get(User, world["manager_id"]), db.session.get(Station, world["kiosk_id"]), "前台"
    )
    db.session.commit()
    page.goto(f"{base}/kiosk/pair")
    page.fill("#code", code)
    tap(page, page.locator("form.form button[type=submit]"))
    assert urlsplit(page.url).path == f"/kiosk/{world['kiosk']}"


def test_the_manager_pairs_the_tablet_and_a_scanned_code_checks_in_once(live_server, new_context, world, db):
    # The tablet, not paired, says how to pair; the manager makes a code in the back office.
    tablet = new_context(viewport=TABLET, has_touch=True, locale="zh-CN").new_page()
    response = tablet.goto(f"{live_server}/kiosk/{world['kiosk']}")
    assert response.status == 403
    expect(tablet.locator('main a[href="/kiosk/pair"]')).to_be_visible()
    desk = phone_context(new_context).new_page()
    sign_in(desk, live_server, world["manager"])
    desk.goto(f"{live_server}/manage/stations/{world['kiosk']}/tablets")
    desk.fill("#name", "前台平板")
    kiosk = world["kiosk"]
    tap(desk, desk.locator(f'form[action="/manage/stations/{kiosk}/tablets"] button[type=submit]'))
    code = desk.locator("#pairing-code").inner_text()
    shot(desk, "06-pairing-code")

    tap(tablet, tablet.locator('main a[href="/kiosk/pair"]'))
    tablet.fill("#code", code)
    tap(tablet, tablet.locator("form.form button[type=submit]"))
    assert urlsplit(tablet.url).path == f"/kiosk/{world['kiosk']}"
    qr = tablet.locator("#kiosk-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 300 and abs(box["width"] - box["height"]) < 2
    expect(tablet.locator("#kiosk-status .roster-list")).to_contain_text("李红梅")
    first_code = tablet.locator("#kiosk-qr").get_attribute("data-code")

    url = decode_qr(qr.screenshot())
    assert url.startswith(f"{PUBLIC_BASE_URL}/s/{world['kiosk']}?k=")

    # The representative's phone, signed out: scanning leads to sign-in and back, code kept.
    phone = phone_context(new_context).new_page()
    phone.goto(live_server + url.removeprefix(PUBLIC_BASE_URL))
    assert urlsplit(phone.url).path == "/login"
    sign_in(phone, live_server, world["rep"], at="here")
    assert phone.url == live_server + url.removeprefix(PUBLIC_BASE_URL)
    tap(phone, check_in_button(phone, world["kiosk"]))
    phone.wait_for_url(f"**/s/{world['kiosk']}")
    (duty,) = duties(db, world["rep_id"])
    assert (duty.method, duty.status, duty.pending_reason) == (DutyMethod.KIOSK, DutyStatus.OPEN, None)
    assert duty.kiosk_code == url.split("k=")[1]
    expect(phone.locator("section.duty-panel form.checkout")).to_be_visible()

    # The tablet replaces the used code at once (its status poll) and lists who is in.
    expect(tablet.locator("#kiosk-qr")).not_to_have_attribute("data-code", first_code, timeout=10_000)
    assert decode_qr(tablet.locator("#kiosk-qr svg").screenshot()) != url
    expect(tablet.locator("#kiosk-status .onduty-list")).to_contain_text("王建国")
    shot(tablet, "07-kiosk-tablet")

    # A photo of the used code forwarded to a colleague: refused, with the words why.
    colleague = phone_context(new_context).new_page()
    sign_in(colleague, live_server, world["colleague"])
    colleague.goto(live_server + url.removeprefix(PUBLIC_BASE_URL))
    tap(colleague, check_in_button(colleague, world["kiosk"]))
    expect(colleague.locator("main .lead")).to_contain_text("已被用于签到")
    assert duties(db, world["colleague_id"]) == []

    # The tablet's browser opens nothing but the display: the back office wants a sign-in.
    for path in ("/manage/concerns/export.csv", "/me", "/manage/"):
        tablet.goto(f"{live_server}{path}")
        assert urlsplit(tablet.url).path == "/login", path


@SHORT_WINDOW
def test_kiosk_page_swaps_the_code_and_the_list_without_reloading(live_server, new_context, world, db):
    tablet = new_context(viewport={"width": 768, "height": 1024}, has_touch=True, locale="zh-CN").new_page()
    pair_tablet(tablet, live_server, world, db)
    box = tablet.locator("#kiosk-qr")
    first_window, first_url = shown_code(box)
    expect(tablet.locator("#kiosk-progress")).to_be_visible()
    # With JavaScript, the refresh tag stays inside <noscript> as text: the script swaps instead.
    assert tablet.locator('meta[http-equiv="refresh"]').count() == 0
    tablet.evaluate("() => { window.__notReloaded = true; }")
    shot(tablet, "08-kiosk-portrait")

    # Someone checks in meanwhile: the list shows it after the next poll.
    station_rep = factories.representative(name="张秀英")
    db.session.add(
        Duty(
            station_id=world["kiosk_id"],
            representative=station_rep,
            checked_in_at=utcnow(),
            method=DutyMethod.KIOSK,
            nonce="kiosk-page-list-nonce",
        )
    )
    db.session.commit()

    expect(box).to_have_attribute("data-window", str(first_window + 1), timeout=40_000)
    assert tablet.evaluate("() => window.__notReloaded === true")
    second_window, second_url = shown_code(box)
    assert second_window == first_window + 1
    assert second_url != first_url
    station = db.session.get(Station, world["kiosk_id"])
    assert second_url.endswith(f"k={kiosk_token(SECRET, station, first_window + 1)}")
    expect(tablet.locator("#kiosk-status .onduty-list")).to_contain_text("张秀英")


@SHORT_WINDOW
def test_kiosk_page_without_javascript_reloads_after_the_window(live_server, new_context, world, db):
    tablet = new_context(viewport=TABLET, has_touch=True, locale="zh-CN", java_script_enabled=False).new_page()
    pair_tablet(tablet, live_server, world, db)
    refresh = tablet.locator('meta[http-equiv="refresh"]')
    assert refresh.count() == 1
    assert 1 <= int(refresh.get_attribute("content")) <= 4
    first_window = int(tablet.locator("#kiosk-qr").get_attribute("data-window"))
    expect(tablet.locator("#kiosk-qr")).to_have_attribute("data-window", str(first_window + 1), timeout=40_000)
    expect(tablet.locator("#kiosk-progress")).to_be_hidden()


def test_a_revoked_tablet_shows_how_to_pair_again(live_server, new_context, world, db):
    tablet = new_context(viewport=TABLET, has_touch=True, locale="zh-CN").new_page()
    pair_tablet(tablet, live_server, world, db)
    expect(tablet.locator("#kiosk-qr svg")).to_be_visible()
    desk = phone_context(new_context).new_page()
    sign_in(desk, live_server, world["manager"])
    desk.goto(f"{live_server}/manage/stations/{world['kiosk']}/tablets")
    tap(desk, desk.locator('form[action$="/revoke"] button[type=submit]'))
    # The tablet's next poll answers 403 and the script reloads into the page that says so.
    expect(tablet.locator('main a[href="/kiosk/pair"]')).to_be_visible(timeout=15_000)
    expect(tablet.locator("#kiosk-qr")).to_have_count(0)
    shot(tablet, "10-kiosk-revoked")


def test_expired_kiosk_code_is_refused_with_a_message(live_server, new_context, world, db):
    phone = phone_context(new_context).new_page()
    sign_in(phone, live_server, world["rep"])
    old = kiosk_token(SECRET, db.session.get(Station, world["kiosk_id"]), kiosk_window() - 3)
    phone.goto(f"{live_server}/s/{world['kiosk']}?k={old}")
    tap(phone, check_in_button(phone, world["kiosk"]))
    phone.wait_for_url(f"**/s/{world['kiosk']}/check-in")
    expect(phone.locator("main .lead")).to_be_visible()
    pending = phone.locator('form:has(input[name="allow_pending"][value="1"])')
    expect(pending).to_be_visible()
    shot(phone, "09-refused-expired")
    assert duties(db, world["rep_id"]) == []

    # Record it as pending: it is kept for the manager and does not count until confirmed.
    tap(phone, pending.locator("button[type=submit]"))
    phone.wait_for_url(f"**/s/{world['kiosk']}")
    (duty,) = duties(db, world["rep_id"])
    assert (duty.status, duty.pending_reason) == (DutyStatus.OPEN, "kiosk_expired")


# --- a station that asks for the phone's position ---------------------------------------------


@pytest.mark.parametrize(
    ("position", "inside"),
    [
        pytest.param({"latitude": LAT + 0.001, "longitude": LON, "accuracy": 20}, True, id="inside"),
        pytest.param({"latitude": LAT + 0.05, "longitude": LON, "accuracy": 20}, False, id="far-away"),
    ],
)
def test_geo_station_uses_the_phones_position(live_server, new_context, world, db, position, inside):
    context = phone_context(new_context, geolocation=position, permissions=["geolocation"])
    page = context.new_page()
    sign_in(page, live_server, world["rep"])
    page.goto(f"{live_server}/s/{world['geo']}")
    tap(page, check_in_button(page, world["geo"]))
    if inside:
        page.wait_for_url(f"**/s/{world['geo']}")
        (duty,) = duties(db, world["rep_id"])
        assert duty.pending_reason is None and 100 < duty.distance_m < 120
        expect(page.locator("section.duty-panel form.checkout")).to_be_visible()
    else:
        page.wait_for_url(f"**/s/{world['geo']}/check-in")
        far = int(round(distance_m(position["latitude"], position["longitude"], LAT, LON), 1))
        expect(page.locator("main .lead")).to_contain_text(f"{far}")
        expect(page.locator('input[name="allow_pending"]')).to_have_count(1)
        shot(page, "10-refused-too-far")
        assert duties(db, world["rep_id"]) == []
