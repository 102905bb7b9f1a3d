"""民生实事项目票决 through its pages: staff make and announce a vote; residents read and
comment through a station of the region (not another); a representative casts a whole
ballot once from /me/votes, is told it is final, and the second try is refused; the
results show on the station page; only the lead unit reports progress."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, BallotCast, ProgressReport, ProjectComment, ProjectVote
from models.enums import BallotRound, RegionLevel, Role
from services import votes
from services.clock import local_today
from tests import factories
from tests.helpers import login


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


@pytest.fixture
def cast(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=city)
    a = factories.station(name="莲花街道联络站", region=county)
    far = factories.station(name="扶沟县联络站", region=other)
    unit = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    people = {
        "county": county,
        "a": a,
        "far": far,
        "unit": unit,
        "reps": [factories.representative(stations=[a], name=f"代表{i}") for i in range(3)],
        "rep_far": factories.representative(stations=[far], name="孙志强"),
        "staff": factories.user(Role.CONGRESS_STAFF, region=county),
        "staff_far": factories.user(Role.CONGRESS_STAFF, region=other),
        "handler": factories.user(Role.UNIT_HANDLER, unit=unit),
        "handler_other": factories.user(Role.UNIT_HANDLER, unit=factories.unit(region_obj=county)),
    }
    _db.session.commit()
    return people


def _vote_form(first, **kw) -> dict:
    data = {
        "title": "2026年项城市民生实事项目票决",
        "year": str(first.year),
        "comments_open_on": first.isoformat(),
        "comments_close_on": (first + timedelta(days=9)).isoformat(),
        "voting_opens_on": (first + timedelta(days=10)).isoformat(),
        "voting_closes_on": (first + timedelta(days=12)).isoformat(),
        "threshold_percent": "50",
    }
    data.update(kw)
    return data


def _make(client, cast, *, first) -> ProjectVote:
    login(client, cast["staff"])
    response = client.post("/manage/votes", data={"region": str(cast["county"].id), **_vote_form(first)})
    assert response.status_code == 303, response.text
    fresh()
    vote = _db.session.scalar(sa.select(ProjectVote))
    for title in ("老旧小区雨污分流改造", "城区公厕提质"):
        response = client.post(
            f"/manage/votes/{vote.id}/projects",
            data={"title": title, "text": "说明", "budget": "1200.5", "unit": str(cast["unit"].id), "region": ""},
        )
        assert response.status_code == 303, response.text
    assert client.post(f"/manage/votes/{vote.id}/publish").status_code == 303
    fresh()
    return _db.session.get(ProjectVote, vote.id)


def test_staff_make_and_announce_a_vote_and_each_step_is_recorded(client, cast):
    vote = _make(client, cast, first=local_today())
    assert vote.published_at is not None and [p.budget_yuan for p in vote.projects] == [12_005_000, 12_005_000]
    actions = _db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["vote.create", "vote.project.add", "vote.project.add", "vote.publish"]
    page = client.get(f"/manage/votes/{vote.id}").text
    assert "老旧小区雨污分流改造" in page and "1200.5万元" in page
    # announced: the candidates no longer change
    response = client.post(
        f"/manage/votes/{vote.id}/projects",
        data={"title": "又一个", "budget": "1", "unit": str(cast["unit"].id)},
    )
    assert response.status_code == 422 and "不能再增加" in response.text


def test_the_steps_are_the_tables_and_a_stale_page_is_refused(client, cast):
    """The page offers the steps VOTE_FLOW allows now, each form with the version shown; a
    second press from a page shown before the first (two tabs, a double tap) is refused."""
    vote = _make(client, cast, first=local_today() - timedelta(days=10))  # voting opens today
    page = client.get(f"/manage/votes/{vote.id}").text
    assert f"/manage/votes/{vote.id}/close" in page and f"/manage/votes/{vote.id}/publish" not in page
    assert f'name="version" value="{vote.version}"' in page
    shown = vote.version
    assert client.post(f"/manage/votes/{vote.id}/close", data={"version": shown}).status_code == 303
    assert client.post(f"/manage/votes/{vote.id}/results", data={"version": shown}).status_code == 303
    fresh()
    vote = _db.session.get(ProjectVote, vote.id)
    assert vote.status == "closed" and vote.results_published_at is None
    assert [e.action for e in vote.events] == ["create", "publish", "close"]
    assert f"/manage/votes/{vote.id}/results" in client.get(f"/manage/votes/{vote.id}").text


def test_a_bad_period_is_said_beside_its_field_and_the_form_keeps_what_was_typed(client, cast):
    login(client, cast["staff"])
    first = local_today()
    data = {"region": str(cast["county"].id), **_vote_form(first)}
    data["voting_opens_on"] = (first + timedelta(days=3)).isoformat()
    response = client.post("/manage/votes", data=data)
    assert response.status_code == 422
    assert "投票开始日期不能早于意见征集的最后一天" in response.text
    assert "2026年项城市民生实事项目票决" in response.text


def test_staff_of_another_region_may_not_open_it(client, cast):
    vote = _make(client, cast, first=local_today())
    login(client, cast["staff_far"])
    assert client.get(f"/manage/votes/{vote.id}").status_code == 403
    assert client.post(f"/manage/votes/{vote.id}/close").status_code == 403


def test_residents_comment_through_a_station_of_the_region(app, cast):
    staff_client, client = app.test_client(), app.test_client()
    vote = _make(staff_client, cast, first=local_today())
    project = vote.projects[0]
    page = client.get(f"/s/{cast['a'].code}/projects")
    assert page.status_code == 200 and "老旧小区雨污分流改造" in page.text
    url = f"/s/{cast['a'].code}/projects/{project.id}"
    # a number without consent: said beside the box, the text kept
    response = client.post(url, data={"text": "希望先改造东关社区。", "contact_mobile": "13812345678"})
    assert response.status_code == 422 and "希望先改造东关社区。" in response.text
    response = client.post(
        url,
        data={"text": "希望先改造东关社区。", "contact_name": "张三", "contact_mobile": "13812345678", "consent": "y"},
    )
    assert response.status_code == 303
    page = client.get(url).text
    assert "希望先改造东关社区。" in page and "张*" in page and "13812345678" not in page and "张三" not in page
    # a station of another county: not this vote's
    assert client.get(f"/s/{cast['far'].code}/projects/{project.id}").status_code == 404
    assert "老旧小区" not in client.get(f"/s/{cast['far'].code}/projects").text
    # staff hide it with a reason
    fresh()
    comment = _db.session.scalar(sa.select(ProjectComment))
    assert staff_client.post(f"/manage/votes/comments/{comment.id}/hide", data={"reason": "重复"}).status_code == 303
    assert "希望先改造东关社区。" not in client.get(url).text


def _voting(client, cast) -> ProjectVote:
    return _make(client, cast, first=local_today() - timedelta(days=10))


def test_a_representative_casts_a_whole_ballot_once_and_is_told_it_is_final(client, cast):
    vote = _voting(client, cast)
    rep = cast["reps"][0]
    login(client, rep.user)
    listing = client.get("/me/votes").text
    assert vote.title in listing
    page = client.get(f"/me/votes/{vote.id}").text
    assert "不能更改" in page or "cannot be changed" in page
    first, second = vote.projects
    # one choice missing: refused, nothing cast, the choice made kept
    response = client.post(f"/me/votes/{vote.id}/vote", data={f"p{first.id}": "for"})
    assert response.status_code == 422 and 'value="for" checked' in response.text
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(BallotCast)) == 0
    response = client.post(f"/me/votes/{vote.id}/vote", data={f"p{first.id}": "for", f"p{second.id}": "against"})
    assert response.status_code == 303
    again = client.post(f"/me/votes/{vote.id}/vote", data={f"p{first.id}": "against", f"p{second.id}": "against"})
    assert again.status_code == 409
    fresh()
    assert [(r.count("for"), r.count("against")) for r in votes.results(vote)] == [(1, 0), (0, 1)]


def test_a_representative_elsewhere_cannot_vote(client, cast):
    vote = _voting(client, cast)
    login(client, cast["rep_far"].user)
    assert client.get(f"/me/votes/{vote.id}").status_code == 200
    first, second = vote.projects
    response = client.post(f"/me/votes/{vote.id}/vote", data={f"p{first.id}": "for", f"p{second.id}": "for"})
    assert response.status_code == 422
    login(client, cast["staff"])
    assert client.get("/me/votes").status_code == 403


def test_results_on_the_station_page_and_progress_by_the_lead_unit_only(client, cast, app):
    anon = app.test_client()
    vote = _voting(client, cast)
    first, second = vote.projects
    for rep in cast["reps"]:
        votes.cast(rep, vote, BallotRound.VOTE, {first.id: "for", second.id: "against"})
    fresh()
    login(client, cast["staff"])
    assert client.post(f"/manage/votes/{vote.id}/close").status_code == 303
    assert client.post(f"/manage/votes/{vote.id}/results").status_code == 303
    station_page = anon.get(f"/s/{cast['a'].code}").text
    assert "老旧小区雨污分流改造" in station_page
    projects_page = anon.get(f"/s/{cast['a'].code}/projects").text
    assert "赞成3票" in projects_page
    # progress: the other unit's handler is refused, the lead unit's posts with a photo
    url = f"/manage/projects/{first.id}/progress"
    login(client, cast["handler_other"])
    assert client.get(url).status_code == 403
    login(client, cast["handler"])
    assert "老旧小区雨污分流改造" in client.get("/manage/projects").text
    photo = (io.BytesIO(factories.image_bytes()), "site.jpg")
    response = client.post(
        url,
        data={"text": "一期管网已完工。", "percent": "40", "photos": [photo]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.text
    assert client.get(f"/manage/projects/{second.id}/progress").status_code == 404  # not chosen
    # the figures page shows the decided vote (3 of 3 cast, 1 chosen) to its region's staff
    login(client, cast["staff"])
    figures = client.get("/manage/figures").text
    assert vote.title in figures and "1 / 2" in figures
    login(client, cast["staff_far"])
    assert vote.title not in client.get("/manage/figures").text
    fresh()
    report = _db.session.scalar(sa.select(ProgressReport))
    assert report.percent == 40 and len(report.photos) == 1
    page = anon.get(f"/s/{cast['a'].code}/projects/{first.id}").text
    assert "一期管网已完工。" in page
    assert anon.get(f"/media/{report.photos[0].thumb_key}").status_code == 200
