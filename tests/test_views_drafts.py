"""Drafts of laws for comment through their pages: the station page's link (only at a
contact point, within its 50 KB, its cache forgotten on publishing), reading and
commenting without an account (a double tap makes one comment, a closed draft takes none
and gives the text back, the form keeps what was typed), the resident's /c/<code> page
(masked, nobody else's comments), and the back office: scope (403), preview, publishing,
moderating, the .xlsx and the printable summary, the full contact on a recorded request,
and the station's flag on its edit screen."""

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from extensions import db as _db
from models import AuditLog, DraftComment, DraftLaw, Station, utcnow
from models.enums import DraftStatus, RegionLevel, Role
from services import drafts
from tests import factories
from tests.helpers import login

PAGE_BUDGET = 50 * 1024


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


@pytest.fixture
def cast(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other = factories.region("411100", "漯河市", RegionLevel.CITY)
    point = factories.station(region=county, name="花园街道联络站", is_legislative_point=True)
    plain = factories.station(region=county, name="莲花街道联络站")
    far = factories.station(region=other, name="漯河联系点", is_legislative_point=True)
    c = {
        "city": city,
        "county": county,
        "other": other,
        "point": point,
        "plain": plain,
        "far": far,
        "staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "staff_far": factories.user(Role.CONGRESS_STAFF, region=other),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[point]),
        "draft": factories.draft_law(city),
    }
    _db.session.commit()
    return c


def comment_form(**kw):
    data = {"content": "建议把登记期限延长到六十日。", "submission_key": "a" * 24}
    data.update(kw)
    return data


# --- residents ------------------------------------------------------------------------------


def test_the_station_page_links_open_drafts_at_a_contact_point_only(client, cast):
    draft = cast["draft"]
    page = client.get(f"/s/{cast['point'].code}")
    html = page.get_data(as_text=True)
    assert f"/s/{cast['point'].code}/drafts/{draft.id}" in html and draft.title in html
    assert len(page.data) <= PAGE_BUDGET
    assert draft.title not in client.get(f"/s/{cast['plain'].code}").get_data(as_text=True)
    assert client.get(f"/s/{cast['plain'].code}/drafts/{draft.id}").status_code == 404
    assert client.get(f"/s/{cast['far'].code}/drafts/{draft.id}").status_code == 404


def test_publishing_shows_on_the_cached_station_page(client, cast, app):
    app.config["STATION_PAGE_CACHE_SECONDS"] = 60
    code = cast["point"].code
    draft = factories.draft_law(cast["city"], published=False, title="周口市物业管理条例（草案）")
    fresh()
    anonymous = app.test_client()
    assert "周口市物业管理条例" not in anonymous.get(f"/s/{code}").get_data(as_text=True)  # now cached
    login(client, cast["staff"])
    assert client.post(f"/manage/drafts/{draft.id}/publish").status_code == 303
    assert "周口市物业管理条例" in anonymous.get(f"/s/{code}").get_data(as_text=True)


def test_a_resident_reads_article_by_article_and_comments(client, cast):
    draft, code = cast["draft"], cast["point"].code
    html = client.get(f"/s/{code}/drafts/{draft.id}").get_data(as_text=True)
    assert "第一章 总则" in html and "第三条" in html
    assert f"/s/{code}/drafts/{draft.id}/comment?article=3" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another host
    form = client.get(f"/s/{code}/drafts/{draft.id}/comment?article=3").get_data(as_text=True)
    assert "养犬人应当办理养犬登记。" in form and 'name="submission_key"' in form
    sent = client.post(
        f"/s/{code}/drafts/{draft.id}/comment?article=3",
        data=comment_form(name="李秀英", mobile="13803941234", consent="y"),
    )
    assert sent.status_code == 303
    fresh()
    mine = _db.session.scalar(sa.select(DraftComment))
    assert sent.headers["Location"].endswith(f"/c/{mine.code}")
    assert mine.item.label == "第三条" and mine.station_id == cast["point"].id
    # A double tap (the same form sent again) is the same comment.
    again = client.post(
        f"/s/{code}/drafts/{draft.id}/comment?article=3",
        data=comment_form(name="李秀英", mobile="13803941234", consent="y"),
    )
    assert again.headers["Location"] == sent.headers["Location"]
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(DraftComment)) == 1
    page = client.get(f"/c/{mine.code}")
    text = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "建议把登记期限延长到六十日。" in text and "138****1234" in text and "李**" in text
    assert "13803941234" not in text and "李秀英" not in text
    assert client.get(f"/c/{mine.code.lower()}").status_code == 301


def test_a_resident_comes_back_with_their_code_and_sees_nobody_elses_comments(client, cast):
    draft, code = cast["draft"], cast["point"].code
    first = drafts.submit_comment(draft, cast["point"], None, drafts.CommentInput("总体赞成这部草案。"))
    stranger = drafts.submit_comment(draft, cast["point"], None, drafts.CommentInput("别人的意见，不应看到。"))
    fresh()
    back = client.get(f"/s/{code}/drafts/{draft.id}?c={first.code}")
    assert back.headers["Cache-Control"] == "no-store"
    assert f"c={first.code}" in back.get_data(as_text=True)
    form = client.get(f"/s/{code}/drafts/{draft.id}/comment?article=1&c={first.code}").get_data(as_text=True)
    assert f'value="{first.code}"' in form
    sent = client.post(
        f"/s/{code}/drafts/{draft.id}/comment?article=1", data=comment_form(code=first.code, content="第一条写得好。")
    )
    assert sent.headers["Location"].endswith(f"/c/{first.code}")
    text = client.get(f"/c/{first.code}").get_data(as_text=True)
    assert "总体赞成这部草案。" in text and "第一条写得好。" in text
    assert "别人的意见" not in text and stranger.code not in text
    assert client.get("/c/ZZZZZZZZZ").status_code == 404


def test_a_bad_comment_comes_back_with_the_text_kept_and_a_chinese_message(client, cast):
    draft, code = cast["draft"], cast["point"].code
    response = client.post(
        f"/s/{code}/drafts/{draft.id}/comment", data=comment_form(content="太短", mobile="12345", name="王")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "太短" in html and 'value="12345"' in html
    assert "请写5至2000个字（现在2个字）" in html
    assert "请填写 11 位大陆手机号" in html and "请勾选同意" in html
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(DraftComment)) == 0
    assert client.get(f"/s/{code}/drafts/{draft.id}/comment?article=99").status_code == 404
    assert client.get(f"/s/{code}/drafts/{draft.id}/comment?article=abc").status_code == 200  # the whole draft


def test_after_the_closing_time_no_comment_is_taken_even_before_the_job(client, cast):
    draft, code = cast["draft"], cast["point"].code
    draft.closes_at = utcnow() - timedelta(minutes=1)  # passed; no job recorded it
    fresh()
    html = client.get(f"/s/{code}/drafts/{draft.id}").get_data(as_text=True)
    assert "征求意见已于" in html and "comment?article" not in html
    assert draft.title not in client.get(f"/s/{code}").get_data(as_text=True)
    response = client.post(f"/s/{code}/drafts/{draft.id}/comment?article=1", data=comment_form())
    assert response.status_code == 410
    assert "建议把登记期限延长到六十日。" in response.get_data(as_text=True)  # to copy
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(DraftComment)) == 0
    assert _db.session.get(DraftLaw, draft.id).status == DraftStatus.PUBLISHED


def test_a_draft_being_prepared_is_not_public(client, cast):
    draft = factories.draft_law(cast["city"], published=False)
    fresh()
    assert client.get(f"/s/{cast['point'].code}/drafts/{draft.id}").status_code == 404
    assert client.post(f"/s/{cast['point'].code}/drafts/{draft.id}/comment", data=comment_form()).status_code == 404


# --- the back office --------------------------------------------------------------------------


def draft_form(**kw):
    data = {
        "title": "周口市物业管理条例（草案）",
        "issuing_body": "周口市人大常委会法制工作委员会",
        "summary": "欢迎提出意见。",
        "closes_on": (utcnow() + timedelta(days=20)).date().isoformat(),
        "closes_time": "18:00",
        "region": "",
        "all_stations": "all",
        "text": "周口市物业管理条例（草案）\n第一章 总则\n"
        "第一条 为了规范物业管理，制定本条例。\n第二条 本条例适用于本市。",
    }
    data.update(kw)
    return data


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/manage/drafts", "get"),
        ("/manage/drafts/new", "get"),
        ("/manage/drafts/{id}", "get"),
        ("/manage/drafts/{id}/comments", "get"),
        ("/manage/drafts/{id}/export.xlsx", "get"),
        ("/manage/drafts/{id}/summary", "get"),
        ("/manage/drafts/{id}/close", "post"),
    ],
)
def test_the_back_office_is_the_regions_staffs(client, cast, path, method):
    url = path.format(id=cast["draft"].id)
    assert getattr(client, method)(url).status_code == 302  # anonymous: sign in first
    login(client, cast["manager"])
    assert getattr(client, method)(url).status_code == 403
    if "{id}" in path:
        login(client, cast["staff_far"])
        assert getattr(client, method)(url).status_code == 403


def test_staff_preview_save_and_publish_a_draft(client, cast):
    login(client, cast["staff"])
    region = str(cast["city"].id)
    preview = client.post("/manage/drafts/new", data=draft_form(region=region, preview="1"))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "预览：共2条" in html and "第一条" in html
    assert "不会收录" in html  # the title line before the first heading
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(DraftLaw)) == 1  # nothing saved
    bad = client.post("/manage/drafts/new", data=draft_form(region=region, text="第一条 甲。\n第三条 丙。", save="1"))
    assert bad.status_code == 422 and "应为第2条" in bad.get_data(as_text=True)
    assert "第三条 丙。" in bad.get_data(as_text=True)  # what was typed is kept
    out = client.post("/manage/drafts/new", data=draft_form(region=str(cast["other"].id), save="1"))
    assert out.status_code == 422
    saved = client.post("/manage/drafts/new", data=draft_form(region=region, save="1"))
    assert saved.status_code == 303
    fresh()
    draft = _db.session.scalar(sa.select(DraftLaw).where(DraftLaw.title == "周口市物业管理条例（草案）"))
    assert draft.status == DraftStatus.DRAFT and len(draft.articles) == 2
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "发布，开始征求意见" in page
    assert client.post(f"/manage/drafts/{draft.id}/publish").status_code == 303
    fresh()
    assert _db.session.get(DraftLaw, draft.id).status == DraftStatus.PUBLISHED
    assert client.get(f"/manage/drafts/{draft.id}/edit").status_code == 303  # its text is fixed now
    assert client.post(f"/manage/drafts/{draft.id}/close").status_code == 303
    fresh()
    assert _db.session.get(DraftLaw, draft.id).status == DraftStatus.CLOSED


def test_staff_moderate_export_and_print(client, cast):
    draft = cast["draft"]
    a = drafts.submit_comment(
        draft,
        cast["point"],
        drafts.article_of(draft, 2),
        drafts.CommentInput("适用范围应包括县城。", name="李秀英", mobile="13803941234", consent=True),
    )
    b = drafts.submit_comment(draft, cast["point"], drafts.article_of(draft, 2), drafts.CommentInput("县城也要管。"))
    c = drafts.submit_comment(draft, cast["point"], None, drafts.CommentInput("买卖二手车请联系。"))
    fresh()
    login(client, cast["staff"])
    url = f"/manage/drafts/{draft.id}/comments"
    listing = client.get(url).get_data(as_text=True)
    assert "适用范围应包括县城。" in listing and "138****1234" in listing and "13803941234" not in listing
    assert client.post(f"{url}/{a.id}", data={"action": "accept", "version": a.version}).status_code == 303
    assert client.post(f"{url}/{b.id}", data={"action": "merge", "merge_into": str(a.id)}).status_code == 303
    no_reason = client.post(f"{url}/{c.id}", data={"action": "reject", "note": ""})
    assert no_reason.status_code == 422 and "请填写理由" in no_reason.get_data(as_text=True)
    assert client.post(f"{url}/{c.id}", data={"action": "reject", "note": "广告。"}).status_code == 303
    stale = client.post(f"{url}/{a.id}", data={"action": "reopen", "version": "1"})
    assert stale.status_code == 303  # flashed: it changed since
    fresh()
    assert [_db.session.get(DraftComment, x.id).status for x in (a, b, c)] == ["accepted", "merged", "rejected"]
    # The resident reads the outcome and the reason.
    client_page = client.get(f"/c/{c.code}").get_data(as_text=True)
    assert "未采纳" in client_page and "广告。" in client_page
    # The full number, once, recorded.
    shown = client.post(f"{url}/{a.id}/contact").get_data(as_text=True)
    assert "13803941234" in shown and "李秀英" in shown
    fresh()
    assert _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "draft.comment.contact_viewed"))
    xlsx = client.get(f"/manage/drafts/{draft.id}/export.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(xlsx.data))
    rows = [[cell.value for cell in row] for row in wb["按条款汇总"].iter_rows(values_only=False)]
    assert ["第二条", 2, 1, 1, 0, 0] in rows
    fresh()
    assert _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "draft.exported"))
    summary = client.get(f"/manage/drafts/{draft.id}/summary").get_data(as_text=True)
    assert "适用范围应包括县城。" in summary and "另有1条相同意见并入" in summary
    assert "买卖二手车" not in summary and "13803941234" not in summary and "@page" not in summary


def test_the_station_edit_screen_marks_a_contact_point_with_a_trace(client, cast):
    staff, station = cast["staff"], cast["plain"]
    login(client, staff)
    form = client.get(f"/manage/stations/{station.code}/edit")
    assert form.status_code == 200 and 'name="is_legislative_point"' in form.get_data(as_text=True)
    data = {
        "name": station.name,
        "kind": "station",
        "category": station.category.value,
        "region": str(station.region_id),
        "address": station.address,
        "opening_hours": station.opening_hours,
        "presence_policy": "none",
        "geo_radius_m": "300",
        "is_legislative_point": "y",
    }
    response = client.post(f"/manage/stations/{station.code}/edit", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    fresh()
    assert _db.session.get(Station, station.id).is_legislative_point is True
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "station.changed"))
    assert entry.data["changes"]["legislative_point"] == [False, True]
