"""An invitation followed in a real Chromium shaped like a phone, without JavaScript: the
administrator creates the account (no password field) and the invitation goes out; the
person opens the link from the SMS, sets a password, is signed in, and later signs in with
the mobile number; the link then no longer works; "forgot password" from the sign-in page.

Elements are found by name, action and href, never by text (the UI is Chinese)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from models import Outbox, User
from models.enums import Role
from tests import factories
from tests.e2e.conftest import PHONE_USER_AGENT, PHONE_VIEWPORT

pytestmark = pytest.mark.e2e

PASSWORD = "secret-pass"  # tests/factories.py
CHOSEN = "liu-guilan-2026"
TOKEN_RE = re.compile(r"http://mashang\.test(/account/set-password/[A-Za-z0-9_\-]{43})")
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"account-{name}.png"), full_page=True)


def phone(new_context, js: bool = False):
    return new_context(
        viewport=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        user_agent=PHONE_USER_AGENT,
        java_script_enabled=js,
    )


def sms_links(db) -> list[str]:
    db.session.commit()
    db.session.expire_all()
    return [TOKEN_RE.search(row.body).group(1) for row in db.session.scalars(sa.select(Outbox).order_by(Outbox.id))]


@pytest.fixture
def world(app, db) -> dict:
    station = factories.station(name="项城市莲花街道人大代表联络站")
    factories.user(Role.ADMIN, username="root", display_name="系统管理员")
    db.session.commit()
    return {"station_id": station.id}


def test_an_invitation_from_creation_to_sign_in(live_server, new_context, world, db, foreign_requests, page_errors):
    office = phone(new_context, js=True).new_page()
    office.goto(f"{live_server}/login")
    office.fill('input[name="login"]', "root")
    office.fill('input[name="password"]', PASSWORD)
    office.locator('form[method="post"] button[type="submit"]').click()
    office.wait_for_url("**/manage/")
    office.goto(f"{live_server}/admin/users/new?role=representative")
    assert office.locator('input[type="password"]').count() == 0
    office.fill('input[name="username"]', "rep_liugl")
    office.fill('input[name="display_name"]', "刘桂兰")
    office.fill('input[name="mobile"]', "137 0000 1234")
    office.select_option('select[name="level"]', "county")
    office.select_option('select[name="stations"]', str(world["station_id"]))
    office.locator("form.user-form button[type=submit]").click()
    office.wait_for_url(re.compile(r".*/admin/users/\d+$"))
    expect(office.locator(".account-state form[action$='/invite']")).to_be_visible()  # "send again"
    shot(office, "01-admin-created")

    [path] = sms_links(db)
    person = phone(new_context).new_page()
    response = person.goto(live_server + path)
    assert response.status == 200 and response.headers["cache-control"] == "no-store"
    expect(person.locator("dl.facts")).to_contain_text("刘桂兰")
    expect(person.locator("dl.facts")).to_contain_text("13700001234")
    shot(person, "02-set-password")
    person.fill('input[name="new"]', CHOSEN)
    person.fill('input[name="repeat"]', CHOSEN + "x")  # a slip: the form comes back
    person.locator("form.form button[type=submit]").click()
    expect(person.locator("#repeat-err")).to_be_visible()
    person.fill('input[name="new"]', CHOSEN)
    person.fill('input[name="repeat"]', CHOSEN)
    person.locator("form.form button[type=submit]").click()
    person.wait_for_url("**/me")
    shot(person, "03-signed-in")

    # Signed out, the person signs in again with the mobile number and the password.
    person.locator('form[action="/logout"] button').first.click()
    person.goto(f"{live_server}/login")
    person.fill('input[name="login"]', "13700001234")
    person.fill('input[name="password"]', CHOSEN)
    person.locator('form[method="post"] button[type="submit"]').click()
    person.wait_for_url("**/me")

    # The link worked once.
    response = person.goto(live_server + path)
    assert response.status == 410
    expect(person.locator('a[href="/login/forgot"]')).to_be_visible()
    shot(person, "04-link-used")

    # "Forgot password", from the sign-in page of another phone.
    other = phone(new_context).new_page()
    other.goto(f"{live_server}/login")
    other.locator('a[href="/login/forgot"]').click()
    other.fill('input[name="login"]', "13700001234")
    other.locator("form.form button[type=submit]").click()
    other.wait_for_url("**/login/forgot/sent")
    shot(other, "05-forgot-sent")
    [_, reset] = sms_links(db)
    assert urlsplit(other.url).path == "/login/forgot/sent" and reset != path
    db.session.expire_all()
    assert db.session.scalar(sa.select(User).where(User.username == "rep_liugl")).has_password
    assert foreign_requests == [] and page_errors == []
