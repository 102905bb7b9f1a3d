"""A 述职 meeting in a real Chromium: the station manager schedules it in the back office,
the day comes, the screen at the meeting shows the code, residents' phones (JavaScript on
and off) scan it and rate, the screen counts them, and the representative's annual report
shows the result. The UI is Chinese, so elements are found by form action, href, name and id."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from models import MeetingRating, ReportMeeting, utcnow
from models.enums import Role
from services.clock import local_today
from tests import factories
from tests.e2e.test_duty_path import phone_context, sign_in, tap

pytestmark = pytest.mark.e2e

PUBLIC_BASE_URL = "http://mashang.test"


@pytest.fixture
def world(app, db) -> dict:
    """Plain values only: the ORM objects expire once the live server commits."""
    station = factories.station(name="项城市防水行业人大代表联络站")
    rep = factories.representative(stations=[station], name="王建国")
    manager = factories.user(Role.STATION_MANAGER, display_name="李娜", managed_stations=[station])
    db.session.commit()
    return {"station": station.code, "rep": rep.user.username, "rep_id": rep.id, "manager": manager.username}


def test_schedule_show_rate_and_read_the_result(db, live_server, world, new_context, foreign_requests, page_errors):
    office = phone_context(new_context).new_page()
    sign_in(office, live_server, world["manager"])
    office.goto(f"{live_server}/manage/stations/{world['station']}/meetings")
    day = local_today() + timedelta(days=1)
    office.select_option("#representative", str(world["rep_id"]))
    office.fill("#year", str(day.year))
    office.fill("#day", day.isoformat())
    office.fill("#starts_at", "14:30")
    office.fill("#ends_at", "16:30")
    tap(office, office.locator("#meeting-form button[type=submit]"))
    expect(office.locator("#meeting-list li")).to_have_count(1)

    # The day comes: the window opens now (the meeting as scheduled, brought forward in time).
    db.session.rollback()
    meeting = db.session.scalar(sa.select(ReportMeeting))
    meeting.starts_at, meeting.ends_at = utcnow() - timedelta(minutes=5), utcnow() + timedelta(hours=2)
    code = meeting.code
    db.session.commit()

    office.goto(f"{live_server}/m/{code}/screen")
    expect(office.locator(".url")).to_have_text(f"{PUBLIC_BASE_URL}/m/{code}")

    for js, rating in ((True, "satisfied"), (False, "basically_satisfied")):
        resident = phone_context(new_context, java_script_enabled=js).new_page()
        resident.goto(f"{live_server}/m/{code}")
        resident.locator(f'input[name="rating"][value="{rating}"]').check()
        resident.locator("#comment").fill("希望多来社区<b>看看</b>")
        tap(resident, resident.locator("#meeting-rate-form button[type=submit]"))
        expect(resident.locator("#rated")).to_be_visible()
        expect(resident.locator("#meeting-rate-form")).to_have_count(0)
        assert resident.evaluate("document.documentElement.scrollWidth") <= 390
        # Back and send again: still one rating from this phone.
        resident.go_back()
        if resident.locator("#meeting-rate-form").count():
            resident.locator(f'input[name="rating"][value="{rating}"]').check()
            tap(resident, resident.locator("#meeting-rate-form button[type=submit]"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingRating)) == 2

    office.goto(f"{live_server}/m/{code}/screen")
    expect(office.locator("#count")).to_contain_text("2")

    rep = phone_context(new_context).new_page()
    sign_in(rep, live_server, world["rep"])
    rep.goto(f"{live_server}/me/report/{day.year}")
    expect(rep.locator("#meeting-ratings tbody td").first).to_have_text("1")
    expect(rep.locator("#meeting-comments li")).to_have_count(2)
    assert "<b>看看</b>" in rep.locator("#meeting-comments").inner_text()
    assert foreign_requests == [] and page_errors == []
