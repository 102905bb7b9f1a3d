"""民生实事项目票决 in a real Chromium shaped like a phone, with JavaScript on and off: a resident
scanning a station's code comments on a candidate while comments are open (the name shown
masked); a representative signs in, opens /me/votes, reads that the ballot is final and casts
a choice for every candidate, and the page then says it is cast. Screenshots land in shots/."""

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from models import BallotCast, ProjectComment, ProjectVote
from models.enums import RegionLevel, Role
from services import votes
from services.clock import local_today
from tests import factories
from tests.e2e.test_duty_path import phone_context, sign_in, tap

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "shots"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"votes-{name}.png"), full_page=True)


def _vote(staff, county, unit, *, year: int, first_comment_day) -> ProjectVote:
    vote = votes.create_vote(
        staff,
        county,
        votes.VoteInput(
            title=f"{year}年项城市民生实事项目代表票决",
            year=year,
            comments_open_on=first_comment_day,
            comments_close_on=first_comment_day + timedelta(days=9),
            voting_opens_on=first_comment_day + timedelta(days=10),
            voting_closes_on=first_comment_day + timedelta(days=12),
        ),
    )
    for title in ("社区嵌入式养老服务站建设", "城乡公交线路延伸"):
        votes.add_project(staff, vote, votes.ProjectInput(title, "说明", 15_000_000, unit))
    votes.publish(staff, vote)
    return vote


@pytest.fixture
def world(app, db) -> dict:
    county = factories.region("411681", "项城市", RegionLevel.COUNTY)
    station = factories.station(region=county, name="项城市花园街道人大代表联络站")
    rep = factories.representative(stations=[station], name="张秀云")
    unit = factories.unit(region_obj=county, name="项城市民政局")
    staff = factories.user(Role.CONGRESS_STAFF, region=county)
    today = local_today()
    commenting = _vote(staff, county, unit, year=today.year + 1, first_comment_day=today)
    voting = _vote(staff, county, unit, year=today.year, first_comment_day=today - timedelta(days=10))
    values = {
        "code": station.code,
        "rep": rep.user.username,
        "project": commenting.projects[0].id,
        "voting": voting.id,
        "candidates": [p.id for p in voting.projects],
    }
    db.session.commit()
    return values


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_resident_comments_and_a_representative_casts_a_final_ballot(
    js, db, live_server, world, new_context, foreign_requests, page_errors
):
    tag = "js" if js else "nojs"
    code = world["code"]
    resident = phone_context(new_context, java_script_enabled=js).new_page()
    assert resident.goto(f"{live_server}/s/{code}").status == 200
    tap(resident, resident.locator(f'a[href="/s/{code}/projects"]'))
    tap(resident, resident.locator(f'a[href="/s/{code}/projects/{world["project"]}"]').first)
    resident.fill("#text", "希望养老服务站优先建在老年人多的小区。")
    resident.fill("#contact_name", "李建华")
    resident.check("#consent")
    shot(resident, f"comment-{tag}")
    tap(resident, resident.locator("form.form button[type=submit]"))
    expect(resident.locator("#comments-h")).to_be_visible()
    expect(resident.locator(".comments")).to_contain_text("李**")
    expect(resident.locator(".comments")).not_to_contain_text("李建华")
    assert resident.evaluate("document.documentElement.scrollWidth") <= 390
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectComment)) == 1

    rep = phone_context(new_context, java_script_enabled=js).new_page()
    sign_in(rep, live_server, world["rep"])
    assert rep.goto(f"{live_server}/me/votes").status == 200
    tap(rep, rep.locator(f'a.btn[href="/me/votes/{world["voting"]}"]'))
    expect(rep.locator("form.ballot .notice")).to_be_visible()
    first, second = world["candidates"]
    rep.check(f'input[name="p{first}"][value="for"]')
    rep.check(f'input[name="p{second}"][value="abstain"]')
    shot(rep, f"ballot-{tag}")
    tap(rep, rep.locator("form.ballot button[type=submit]"))
    expect(rep.locator("form.ballot")).to_have_count(0)
    expect(rep.locator(".notice.soft")).to_be_visible()
    assert rep.evaluate("document.documentElement.scrollWidth") <= 390
    shot(rep, f"cast-{tag}")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BallotCast)) == 1
    assert foreign_requests == []
    assert page_errors == []
