"""The whole closed loop (六单制) in a real Chromium, across five roles in one run:
a resident files a concern from the station page → a representative takes it up on their
phone → congress staff dispatch it at a desk → the unit answers → the representative
confirms → the resident rates it. Then once more, taken up by the station manager for a
colleague, with 不满意: it goes back for a second round, and the second rating closes it.

Elements are found by form action, name and class, never by the Chinese text.
Screenshots land in shots/ (git-ignored) for people to look at."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from models import Concern, Outbox
from models.enums import ConcernStatus, OutboxStatus, RegionLevel, Role
from services.resident_mobile import DEFERRED, SUPERSEDED
from tests import factories
from tests.e2e.conftest import PHONE_USER_AGENT, PHONE_VIEWPORT

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass"  # tests/factories.py
DESK = {"width": 1280, "height": 860}
SHOTS = Path(__file__).resolve().parents[2] / "shots"
RECEIPT_RE = re.compile(r"/t/([A-Z0-9]+)/receipt")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"loop-{name}.png"), full_page=True)


@pytest.fixture
def world(app, db) -> dict:
    """Plain values only: the ORM objects expire once the live server commits."""
    city = factories.region(name="漯河市", level=RegionLevel.CITY)
    county = factories.region(name="源汇区", parent=city)
    station = factories.station(region=county, name="漯河市源汇区马路街街道人大代表联络站")
    category = factories.category(name_zh="城乡建设", name_en="Urban and rural")
    rep = factories.representative(stations=[station], name="王建国")
    colleague = factories.representative(stations=[station], name="黄春燕")
    unit = factories.unit(region_obj=county, name="源汇区住房和城乡建设局")
    factories.user(Role.UNIT_HANDLER, username="yh_housing", unit=unit, display_name="住建局张科长")
    factories.user(Role.CONGRESS_STAFF, username="lh_staff", region=city, display_name="市人大代表工委刘洋")
    factories.user(Role.STATION_MANAGER, username="mlj_manager", managed_stations=[station], display_name="李站长")
    rep.user.username, colleague.user.username = "rep_wang", "rep_huang"
    db.session.commit()
    return {"station": station.code, "category": category.id, "unit": unit.id, "colleague": colleague.id}


@pytest.fixture
def as_role(new_context, live_server):
    """as_role(username | None, desk=False) → a page in its own context, signed in."""

    def make(username: str | None, desk: bool = False) -> Page:
        if desk:
            context = new_context(viewport=DESK)
        else:
            context = new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True, user_agent=PHONE_USER_AGENT)
        page = context.new_page()
        if username:
            page.goto(f"{live_server}/login")
            page.fill("#login", username)
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.locator("form.form button[type=submit]").click()
        return page

    return make


def file_concern(page: Page, base: str, world: dict, content: str) -> str:
    page.goto(f"{base}/s/{world['station']}/concern")
    page.select_option("#category", value=str(world["category"]))
    page.fill("#content", content)
    page.fill("#contact_name", "张三丰")
    page.fill("#contact_mobile", "13812341234")
    page.locator("#consent").check()
    with page.expect_navigation():
        page.locator("form#concern-form button[type=submit]").click()
    match = RECEIPT_RE.search(page.url)
    assert match, page.url
    return match.group(1)


def open_concern(page: Page, base: str, code: str, box: str = "all") -> None:
    page.goto(f"{base}/manage/concerns?box={box}")
    link = page.locator("ul.inbox a.row-link", has=page.locator(".code-small", has_text=code[:4]))
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    expect(page.locator("p.kicker .mono")).to_contain_text(code[:4])


def press(page: Page, action: str, note: str = "", **fields: str) -> None:
    """Open the action's panel (if closed), fill it and submit it."""
    panel = page.locator(f"details.act-{action}")
    expect(panel).to_have_count(1)
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    for name, value in fields.items():
        control = panel.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value=value)
        else:
            control.fill(value)
    if note:
        panel.locator("textarea[name=note]").fill(note)
    with page.expect_navigation():
        panel.locator("button[type=submit]").click()
    expect(page.locator(".flashes")).to_be_visible()


def buttons(page: Page) -> set[str]:
    return set(page.locator("details.act input[name=action]").evaluate_all("es => es.map(e => e.value)"))


def rate(page: Page, base: str, code: str, unit: str, rep: str, comment: str = "") -> None:
    page.goto(f"{base}/t/{code}")
    form = page.locator("form#rate-form")
    form.locator(f"input[name=unit_rating][value={unit}]").check()
    form.locator(f"input[name=rep_rating][value={rep}]").check()
    if comment:
        form.locator("textarea[name=comment]").fill(comment)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def status_of(db, code: str) -> Concern:
    db.session.commit()
    db.session.expire_all()
    return db.session.scalar(sa.select(Concern).where(Concern.tracking_code == code))


def test_the_closed_loop_across_five_roles(world, as_role, live_server, db):
    base = live_server
    resident = as_role(None)
    rep = as_role("rep_wang")
    staff = as_role("lh_staff", desk=True)
    unit = as_role("yh_housing", desk=True)
    manager = as_role("mlj_manager")

    # 群众点单
    code = file_concern(resident, base, world, "马路街老旧小区的路灯坏了两个月，晚上出行很不方便，请尽快修复。")
    shot(resident, "1-receipt")

    # 代表定单: on the phone, from the box of concerns to take up
    open_concern(rep, base, code, box="take")
    assert buttons(rep) == {"accept"}
    expect(rep.locator("dd .mono")).to_contain_text("138****1234")  # masked
    shot(rep, "2-rep-take")
    press(rep, "accept")
    assert status_of(db, code).status == ConcernStatus.ACCEPTED

    # 人大派单: at a desk
    open_concern(staff, base, code)
    assert buttons(staff) == {"dispatch", "reject"}
    shot(staff, "3-staff-dispatch")
    press(staff, "dispatch", note="请一周内修复并答复群众", unit=str(world["unit"]))
    assert status_of(db, code).status == ConcernStatus.DISPATCHED

    # 一府一委两院办单
    open_concern(unit, base, code, box="handle")
    assert buttons(unit) == {"reply", "return"}
    press(unit, "reply", note="已更换路灯灯头6个，线路已检修，现已全部点亮。")
    shot(unit, "4-unit-replied")

    # 代表督单
    open_concern(rep, base, code, box="supervise")
    assert buttons(rep) == {"confirm", "send_back"}
    press(rep, "confirm", note="已到现场查看，路灯正常。")
    shot(rep, "5-rep-confirmed")

    # 群众评单
    rate(resident, base, code, "satisfied", "satisfied", "谢谢代表和住建局！")
    concern = status_of(db, code)
    assert concern.status == ConcernStatus.CLOSED and concern.rating_unit == "satisfied"
    shot(resident, "6-resident-closed")
    assert [e.action for e in concern.events] == ["submit", "accept", "dispatch", "reply", "confirm", "rate"]

    # Once more: the station manager assigns a colleague, and the resident is not satisfied.
    code = file_concern(resident, base, world, "马路街菜市场门口下水道堵塞，雨天污水漫到路面，影响摊贩和行人。")
    open_concern(manager, base, code)
    assert buttons(manager) == {"accept", "reject", "merge"}
    press(manager, "accept", representative=str(world["colleague"]))
    open_concern(staff, base, code)
    press(staff, "dispatch", unit=str(world["unit"]))
    open_concern(unit, base, code)
    press(unit, "reply", note="已疏通下水道。")
    open_concern(manager, base, code)  # the manager confirms for the station
    press(manager, "confirm")
    rate(resident, base, code, "dissatisfied", "basically_satisfied", "下雨后又堵了，没有根治。")
    concern = status_of(db, code)
    assert concern.status == ConcernStatus.DISPATCHED and concern.rounds == 2
    shot(resident, "7-resident-dissatisfied")

    open_concern(unit, base, code)
    expect(unit.locator(".badge.round")).to_be_visible()
    press(unit, "reply", note="已更换排水管道，彻底解决堵塞。")
    open_concern(manager, base, code)
    press(manager, "confirm", note="雨后复查，排水正常。")
    rate(resident, base, code, "basically_satisfied", "satisfied")
    concern = status_of(db, code)
    assert concern.status == ConcernStatus.CLOSED and [r.round for r in concern.ratings] == [1, 2]
    shot(resident, "8-resident-second-round-closed")
    shot(staff, "9-staff-after")

    # The resident was told by SMS along the way (the outbox, not sent in this test).
    texts = db.session.scalars(sa.select(Outbox).where(Outbox.recipient == "13812341234")).all()
    assert len(texts) >= 4
    # Nobody confirmed the number (/my), so it gets one SMS a day: each concern's latest news
    # waits for a morning of its own, older news about the same concern is replaced.
    waiting = [t for t in texts if t.status == OutboxStatus.PENDING and t.last_error == DEFERRED]
    assert waiting and len({t.concern_id for t in waiting}) == len(waiting)
    assert len({t.next_attempt_at for t in waiting}) == len(waiting)
    assert {t.last_error for t in texts if t.status == OutboxStatus.FAILED} <= {SUPERSEDED}
