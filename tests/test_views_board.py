"""The station's board through its pages: who may publish (a manager of another station, a
manager or staff of another region: 403), a bad photo's clear message with the typed text
kept, unpublish → 404, the station page showing the next reception days within its 50 KB,
the cached station page forgotten on a change, notices, forged forms, escaped text."""

import io
import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Activity, ActivityPhoto, AuditLog, Notice, ReceptionDay
from models.enums import ReceptionKind, RegionLevel, Repeat, Role
from services import board
from services.clock import local_today
from services.storage import LocalStorage
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
    a = factories.station(name="莲花街道联络站", region=county)
    b = factories.station(name="光武街道联络站", region=county)
    far = factories.station(name="漯河食品产业联络站", region=other)
    people = {
        "city": city,
        "county": county,
        "other": other,
        "a": a,
        "b": b,
        "far": far,
        "rep": factories.representative(stations=[a], name="王建国"),
        "rep_far": factories.representative(stations=[far], name="孙志强"),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[a]),
        "manager_b": factories.user(Role.STATION_MANAGER, managed_stations=[b]),
        "manager_far": factories.user(Role.STATION_MANAGER, managed_stations=[far]),
        "staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "staff_far": factories.user(Role.CONGRESS_STAFF, region=other),
    }
    _db.session.commit()
    return people


def activity_form(**kw):
    data = {"title": "代表进站接待群众", "day": "2026-11-20", "text": "接待群众12人，收集意见5条。", "publish": "1"}
    data.update(kw)
    return data


def new_activity(client, code, **kw):
    return client.post(f"/manage/stations/{code}/board/activities/new", data=activity_form(**kw))


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager_b", "manager_far", "staff_far"])
def test_others_get_403_on_every_board_screen(client, cast, who):
    """A manager of another station (same region), of a station in another region, and the
    congress staff of another region."""
    login(client, cast[who])
    code = cast["a"].code
    activity = board.create_activity(
        cast["manager"], cast["a"], board.ActivityInput("t", date(2026, 11, 20), ""), storage=None
    )  # no photos: no store needed
    rd = board.add_reception_day(
        cast["manager"],
        cast["a"],
        board.ReceptionInput(
            ReceptionKind.VOTER_RECEPTION,
            Repeat.MONTHLY,
            local_today(),
            time(9),
            time(11),
            [cast["rep"]],
            day_of_month=15,
        ),
    )
    fresh()
    assert client.get(f"/manage/stations/{code}/board").status_code == 403
    assert new_activity(client, code).status_code == 403
    assert client.get(f"/manage/stations/{code}/board/activities/{activity.id}").status_code == 403
    assert client.post(f"/manage/stations/{code}/board/activities/{activity.id}/unpublish").status_code == 403
    assert client.post(f"/manage/stations/{code}/board/rules", data={"text": "x"}).status_code == 403
    assert client.post(f"/manage/stations/{code}/board/receptions/{rd.id}/cancel").status_code == 403
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1
    assert _db.session.get(ReceptionDay, rd.id).cancelled_at is None


def test_anonymous_is_sent_to_sign_in(client, cast):
    response = client.get(f"/manage/stations/{cast['a'].code}/board")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_regions_staff_may_publish_on_a_station(client, cast):
    login(client, cast["staff"])
    assert new_activity(client, cast["a"].code).status_code == 303


def test_an_activity_of_another_station_is_not_found_under_this_one(client, cast):
    data = board.ActivityInput("B", date(2026, 11, 20), "")
    other = board.create_activity(cast["manager_b"], cast["b"], data, storage=None)
    fresh()
    login(client, cast["manager"])
    assert client.get(f"/manage/stations/{cast['a'].code}/board/activities/{other.id}").status_code == 404
    assert client.post(f"/manage/stations/{cast['a'].code}/board/activities/{other.id}/unpublish").status_code == 404


# --- activities, photos --------------------------------------------------------------------------


def test_publish_an_activity_with_a_photo_and_see_it(client, cast, app):
    login(client, cast["manager"])
    code = cast["a"].code
    response = client.post(
        f"/manage/stations/{code}/board/activities/new",
        data={**activity_form(), "photos": [(io.BytesIO(factories.image_bytes(size=(800, 600))), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    fresh()
    activity = _db.session.scalars(sa.select(Activity)).one()
    photo = activity.photos[0]
    page = client.get(f"/s/{code}").get_data(as_text=True)
    assert "代表进站接待群众" in page
    assert f"/media/{photo.thumb_key}" in page and 'loading="lazy"' in page
    assert f"/media/{photo.storage_key}" not in page  # the full photo only on the activity's page
    one = client.get(f"/s/{code}/board/{activity.id}")
    assert one.status_code == 200 and f"/media/{photo.storage_key}" in one.get_data(as_text=True)
    thumb = client.get(f"/media/{photo.thumb_key}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert len(thumb.data) < 15 * 1024
    # An activity can be taken down: its photos are not kept for good in browsers.
    assert thumb.headers["Cache-Control"] == "private, max-age=3600"


def test_a_bad_file_gives_a_clear_message_and_keeps_the_typed_text(client, cast):
    login(client, cast["manager"])
    response = client.post(
        f"/manage/stations/{cast['a'].code}/board/activities/new",
        data={
            **activity_form(title="<script>alert(1)</script>标题"),
            "photos": [(io.BytesIO(b"not a photo"), "x.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # services.refusals' words (Chinese once the catalogue is compiled)
    assert "“x.jpg”无法识别为照片。" in page or "“x.jpg” is not a photo we can read." in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in page and "<script>alert(1)" not in page
    assert "接待群众12人，收集意见5条。" in page
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_seven_photos_are_refused_with_the_text_kept(client, cast):
    login(client, cast["manager"])
    files = [(io.BytesIO(factories.image_bytes()), f"p{i}.jpg") for i in range(7)]
    response = client.post(
        f"/manage/stations/{cast['a'].code}/board/activities/new",
        data={**activity_form(), "photos": files},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "接待群众12人" in page and "6" in page
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ActivityPhoto)) == 0


def test_unpublished_is_404_publicly_and_still_seen_by_the_manager(client, cast, tmp_path, app):
    store = LocalStorage(app.config["UPLOAD_FOLDER"])
    photo = board.read_photo(
        factories.image_bytes(), max_bytes=10**7, max_pixels=10**8, max_side=2048, max_decode_bytes=None
    )
    activity = board.create_activity(
        cast["manager"],
        cast["a"],
        board.ActivityInput("草稿活动", date(2026, 11, 20), ""),
        [photo],
        storage=store,
        publish=True,
    )
    fresh()
    code, key = cast["a"].code, activity.photos[0].storage_key
    assert client.get(f"/s/{code}/board/{activity.id}").status_code == 200
    login(client, cast["manager"])
    assert client.post(f"/manage/stations/{code}/board/activities/{activity.id}/unpublish").status_code == 303
    assert client.get(f"/media/{key}").status_code == 200  # the manager still sees it
    assert "草稿活动" in client.get(f"/manage/stations/{code}/board").get_data(as_text=True)
    client.post("/logout")
    anonymous = client.application.test_client()
    assert anonymous.get(f"/s/{code}/board/{activity.id}").status_code == 404
    assert anonymous.get(f"/media/{key}").status_code == 404
    assert "草稿活动" not in anonymous.get(f"/s/{code}").get_data(as_text=True)
    assert "草稿活动" not in anonymous.get(f"/s/{code}/board").get_data(as_text=True)
    fresh()
    codes = list(_db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))
    assert codes == ["board.activity.create", "board.activity.unpublish"]


def test_a_change_on_the_board_shows_on_the_cached_station_page(client, cast, app):
    app.config["STATION_PAGE_CACHE_SECONDS"] = 60
    code = cast["a"].code
    anonymous = app.test_client()
    assert "缓存里的活动" not in anonymous.get(f"/s/{code}").get_data(as_text=True)  # now cached
    login(client, cast["manager"])
    assert new_activity(client, code, title="缓存里的活动").status_code == 303
    assert "缓存里的活动" in anonymous.get(f"/s/{code}").get_data(as_text=True)


# --- rules, reception days, the station page ---------------------------------------------------------


def test_rules_are_shown_escaped_with_their_line_breaks(client, cast):
    login(client, cast["manager"])
    code = cast["a"].code
    response = client.post(f"/manage/stations/{code}/board/rules", data={"text": "一、<b>每月</b>进站\n二、接待"})
    assert response.status_code == 303
    page = client.get(f"/s/{code}/rules").get_data(as_text=True)
    assert "一、&lt;b&gt;每月&lt;/b&gt;进站\n二、接待" in page
    assert f"/s/{code}/rules" in client.get(f"/s/{code}").get_data(as_text=True)


def reception_form(cast, **kw):
    data = {
        "kind": "voter_reception",
        "repeat": "monthly",
        "starts_on": local_today().isoformat(),
        "day_of_month": "15",
        "weekday": "0",
        "starts_at": "09:00",
        "ends_at": "11:30",
        "representatives": [str(cast["rep"].id)],
        "note": "二楼接待室",
    }
    data.update(kw)
    return data


def test_the_station_page_shows_the_next_reception_days_and_stays_within_50_kb(client, cast):
    login(client, cast["manager"])
    code = cast["a"].code
    assert client.post(f"/manage/stations/{code}/board/receptions", data=reception_form(cast)).status_code == 303
    # A busy board: many activities with photos, notices, long texts.
    for i in range(12):
        assert new_activity(client, code, title=f"活动{i}" + "长" * 90, text="字" * 4000).status_code == 303
    fresh()
    board.publish_notice(cast["staff"], cast["city"], "公告" * 40, "内容" * 400)
    fresh()
    anonymous = client.application.test_client()
    page = anonymous.get(f"/s/{code}")
    html = page.get_data(as_text=True)
    assert len(page.data) <= PAGE_BUDGET, len(page.data)
    first = board.upcoming(cast["a"], limit=3)
    assert first and all(f"{o.day.month}/{o.day.day}" in html for o in first)
    assert "王建国" in html and "09:00–11:30" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another host
    calendar = anonymous.get(f"/s/{code}/calendar").get_data(as_text=True)
    assert calendar.count("09:00–11:30") >= 3


def test_a_forged_representative_is_refused_and_the_form_kept(client, cast):
    login(client, cast["manager"])
    code = cast["a"].code
    response = client.post(
        f"/manage/stations/{code}/board/receptions",
        data=reception_form(cast, representatives=[str(cast["rep_far"].id)], note="保留的备注"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "保留的备注" in page
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ReceptionDay)) == 0


def test_a_reception_day_ending_before_it_starts_is_refused(client, cast):
    login(client, cast["manager"])
    response = client.post(
        f"/manage/stations/{cast['a'].code}/board/receptions", data=reception_form(cast, ends_at="08:00")
    )
    assert response.status_code == 422


def test_cancel_and_end_a_reception_day(client, cast):
    login(client, cast["manager"])
    code = cast["a"].code
    client.post(f"/manage/stations/{code}/board/receptions", data=reception_form(cast))
    fresh()
    rd = _db.session.scalars(sa.select(ReceptionDay)).one()
    last = local_today() + timedelta(days=40)
    ended = client.post(f"/manage/stations/{code}/board/receptions/{rd.id}/end", data={"ends_on": last.isoformat()})
    assert ended.status_code == 303
    fresh()
    assert _db.session.get(ReceptionDay, rd.id).ends_on == last
    assert client.post(f"/manage/stations/{code}/board/receptions/{rd.id}/cancel").status_code == 303
    assert client.post(f"/manage/stations/{code}/board/receptions/{rd.id}/cancel").status_code == 303  # double tap
    fresh()
    actions = list(_db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["board.reception.add", "board.reception.end", "board.reception.cancel"]
    assert "09:00–11:30" not in client.application.test_client().get(f"/s/{code}").get_data(as_text=True)


# --- notices ---------------------------------------------------------------------------------------


def test_staff_publish_a_notice_to_every_station_of_their_region_and_withdraw_it(client, cast):
    login(client, cast["staff"])
    page = client.get("/manage/notices").get_data(as_text=True)
    # The regions with stations in reach: 周口市 and 项城市, not 漯河市.
    assert f'value="{cast["city"].id}"' in page and f'value="{cast["county"].id}"' in page
    assert f'value="{cast["other"].id}"' not in page
    response = client.post(
        "/manage/notices", data={"region": str(cast["county"].id), "title": "春节接待安排", "text": "暂停接待一周。"}
    )
    assert response.status_code == 303
    anonymous = client.application.test_client()
    assert "春节接待安排" in anonymous.get(f"/s/{cast['a'].code}").get_data(as_text=True)
    assert "春节接待安排" in anonymous.get(f"/s/{cast['b'].code}").get_data(as_text=True)
    assert "春节接待安排" not in anonymous.get(f"/s/{cast['far'].code}").get_data(as_text=True)
    fresh()
    notice = _db.session.scalars(sa.select(Notice)).one()
    assert client.post(f"/manage/notices/{notice.id}/withdraw").status_code == 303
    assert "春节接待安排" not in anonymous.get(f"/s/{cast['a'].code}").get_data(as_text=True)


def test_notices_are_not_for_station_managers_nor_other_regions(client, cast):
    login(client, cast["manager"])
    assert client.get("/manage/notices").status_code == 403
    login(client, cast["staff_far"])
    # A region outside their reach is not among the choices: refused beside the field.
    response = client.post("/manage/notices", data={"region": str(cast["county"].id), "title": "伪造", "text": ""})
    assert response.status_code == 422 and "伪造" in response.get_data(as_text=True)
    huge = client.post("/manage/notices", data={"region": "9" * 20, "title": "伪造", "text": ""})
    assert huge.status_code == 422
    notice = board.publish_notice(cast["staff"], cast["city"], "周口公告", "")
    fresh()
    assert client.post(f"/manage/notices/{notice.id}/withdraw").status_code == 403
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1


def test_the_public_board_pages_and_their_bad_addresses(client, cast):
    code = cast["a"].code
    data = board.ActivityInput("公开的活动", date(2026, 11, 20), "")
    for _ in range(board.BOARD_PAGE_SIZE + 1):
        data = board.ActivityInput(data.title + "。", data.day, "")
        board.create_activity(cast["manager"], cast["a"], data, storage=None, publish=True)
    fresh()
    first = client.get(f"/s/{code}/board").get_data(as_text=True)
    assert first.count(f'href="/s/{code}/board/') == board.BOARD_PAGE_SIZE and "?page=2" in first
    assert client.get(f"/s/{code}/board?page=2").get_data(as_text=True).count(f'href="/s/{code}/board/') == 1
    assert client.get(f"/s/{code}/board?page=3").status_code == 404
    assert client.get(f"/s/{code}/board?page=abc").status_code == 404
    assert client.get(f"/s/{code.lower()}/board?page=2").status_code == 301
    assert client.get(f"/s/{code}/board/2147483647").status_code == 404
    assert client.get(f"/s/{code}/rules").status_code == 200  # none yet: says so
    assert client.get(f"/s/{code}/calendar").status_code == 200
    assert client.get("/s/ZZZZZZ/board").status_code == 404
