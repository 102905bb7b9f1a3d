"""A station's printed codes through its life: the closed station's page, a replaced code's
forwarding and its end, the back-office screens (who may, forged forms), a region's posters,
and `flask make-qrcodes`. QR images are read back with zxing-cpp."""

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from extensions import db as _db
from models import AuditLog, Concern, Station, StationCodeAlias, utcnow
from models.enums import RegionLevel, Role, StationKind
from services import station_lifecycle as lifecycle
from services.clock import to_local
from tests import factories
from tests.helpers import login

BASE = "http://mashang.test"  # PUBLIC_BASE_URL in tests/conftest.py


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.fixture
def cast(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other_county = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=city)
    other_city = factories.region("411100", "漯河市", RegionLevel.CITY)
    a = factories.station(name="莲花街道人大代表联络站", region=county)
    b = factories.station(name="光武街道人大代表联络站", region=county)
    c = factories.station(name="扶沟县城关镇联络站", region=other_county)
    far = factories.station(name="漯河食品产业联络站", region=other_city)
    people = {
        "city": city,
        "county": county,
        "other_county": other_county,
        "a": a,
        "b": b,
        "c": c,
        "far": far,
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[a]),
        "other_manager": factories.user(Role.STATION_MANAGER, managed_stations=[b]),
        "staff": factories.user(Role.CONGRESS_STAFF, region=county),
        "city_staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "other_staff": factories.user(Role.CONGRESS_STAFF, region=other_county),
        "admin": factories.user(Role.ADMIN),
        "category": factories.category(),
    }
    _db.session.commit()
    return people


def close(station, *, note="联络站已撤销", successor=None, actor=None):
    actor = actor or factories.user(Role.ADMIN)
    lifecycle.close_station(actor, station, note=note, successor=successor, now=utcnow())
    _db.session.commit()


def concern_form(cast, content="小区门口的路灯坏了两个月，晚上出行很不方便。"):
    return {
        "category": str(cast["category"].id),
        "content": content,
        "anonymous": "y",
        "consent": "y",
        "submission_key": "k" * 24,
    }


# --- a closed station's page ---------------------------------------------------------------------


def test_a_closed_stations_page_says_since_when_the_note_and_links_the_successor(client, cast):
    a, b = cast["a"], cast["b"]
    close(a, note="已与光武街道联络站合并办公", successor=b)
    response = client.get(f"/s/{a.code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert a.name in html
    assert "已与光武街道联络站合并办公" in html
    # The day in the station's time zone: from 16:00 UTC it is the next day there.
    assert to_local(a.closed_at).strftime("%Y-%m-%d") in html
    assert f'href="/s/{b.code}"' in html
    assert "<script" not in html
    assert len(response.data) < 50_000
    assert 'action="/t"' in html  # existing concerns can still be followed


def test_without_a_successor_the_page_offers_the_tracking_box(client, cast):
    close(cast["a"], note="请到镇人大办公室反映")
    html = client.get(f"/s/{cast['a'].code}").get_data(as_text=True)
    assert "请到镇人大办公室反映" in html
    assert 'action="/t"' in html
    assert not re.search(r'href="/s/[A-Z0-9]+"', html)


def test_the_page_follows_a_closed_successor_to_the_open_one(client, cast):
    a, b, c = cast["a"], cast["b"], cast["c"]
    close(a, successor=b)
    close(b, successor=c)
    html = client.get(f"/s/{a.code}").get_data(as_text=True)
    assert f'href="/s/{c.code}"' in html
    assert f'href="/s/{b.code}"' not in html


def test_the_concern_form_of_a_closed_station_files_nothing_and_shows_the_text_back(client, cast, db):
    a = cast["a"]
    close(a, successor=cast["b"])
    assert client.get(f"/s/{a.code}/concern").status_code == 200
    typed = "小区门口的路灯坏了两个月，晚上出行很不方便，请尽快维修。"
    response = client.post(f"/s/{a.code}/concern", data=concern_form(cast, typed))
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert typed in html
    assert f'href="/s/{cast["b"].code}"' in html
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 0


def test_concerns_filed_before_closing_keep_their_tracking_page(client, cast):
    concern = factories.concern(cast["a"])
    _db.session.commit()
    close(cast["a"])
    assert client.get(f"/t/{concern.tracking_code}").status_code == 200


def test_a_closed_stations_qr_image_is_still_served_but_no_poster_is_printed(client, cast):
    a = cast["a"]
    close(a)
    image = client.get(f"/s/{a.code}/qr.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert decode(image.data) == [f"{BASE}/s/{a.code}"]
    assert client.get(f"/s/{a.code}/poster").status_code == 410
    assert client.get(f"/s/{a.code}/answers").status_code == 200  # the closed page, not a 404


def test_an_unknown_code_is_still_a_404(client, cast):
    assert client.get("/s/ZZZZZZ").status_code == 404


@pytest.mark.parametrize("app_config", [{"STATION_PAGE_CACHE_SECONDS": 60}])
def test_closing_in_the_back_office_drops_the_cached_page(client, cast):
    a = cast["a"]
    assert "联络站已撤销" not in client.get(f"/s/{a.code}").get_data(as_text=True)  # cached now
    staff_client = client.application.test_client()
    login(staff_client, cast["staff"])
    response = staff_client.post(f"/manage/stations/{a.code}/close", data={"note": "联络站已撤销", "successor": ""})
    assert response.status_code == 303
    assert "联络站已撤销" in client.get(f"/s/{a.code}").get_data(as_text=True)


# --- replacing the code ----------------------------------------------------------------------------


def test_replacing_asks_to_confirm_then_lands_on_the_new_poster(client, cast, db):
    a = cast["a"]
    old = a.code
    login(client, cast["manager"])
    page = client.get(f"/manage/stations/{old}/code")
    assert page.status_code == 200 and old in page.get_data(as_text=True)

    asked = client.post(f"/manage/stations/{old}/code", data={"forward_days": "14", "reason": "海报被涂改"})
    assert asked.status_code == 200
    assert 'name="confirm" value="1"' in asked.get_data(as_text=True)
    fresh()
    assert db.session.get(Station, a.id).code == old  # nothing yet

    done = client.post(
        f"/manage/stations/{old}/code", data={"forward_days": "14", "reason": "海报被涂改", "confirm": "1"}
    )
    assert done.status_code == 303
    fresh()
    new = db.session.get(Station, a.id).code
    assert new != old
    assert urlsplit(done.headers["Location"]).path == f"/s/{new}/poster"
    alias = db.session.scalar(sa.select(StationCodeAlias).where(StationCodeAlias.code == old))
    assert alias.station_id == a.id and alias.reason == "海报被涂改"
    assert alias.forward_until - alias.retired_at == timedelta(days=14)
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "station.code_replaced")) is not None
    poster = client.get(f"/s/{new}/poster")
    assert poster.status_code == 200 and f"{BASE}/s/{new}" in poster.get_data(as_text=True)
    listing = client.get(f"/manage/stations/{new}/code").get_data(as_text=True)
    assert f'id="alias-{old}"' in listing


def test_an_old_code_forwards_every_address_within_the_period(client, cast):
    a = cast["a"]
    old = a.code
    new = lifecycle.replace_code(cast["manager"], a, forward_days=30, reason="x", now=utcnow())
    _db.session.commit()
    for path in ("", "/concern", "/qr.png", "/qr.svg", "/poster", "/answers?q=%E8%B7%AF%E7%81%AF"):
        response = client.get(f"/s/{old}{path}")
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith(f"/s/{new}{path}"), (path, response.headers["Location"])
    # A concern typed on a page opened before the change is sent on, body and all.
    posted = client.post(f"/s/{old}/concern", data=concern_form(cast))
    assert posted.status_code == 307
    assert posted.headers["Location"].endswith(f"/s/{new}/concern")
    # Following the old poster's image leads to the new code's image.
    image = client.get(f"/s/{old}/qr.png", follow_redirects=True)
    assert decode(image.data) == [f"{BASE}/s/{new}"]


def test_after_the_period_the_old_code_says_the_poster_is_not_in_use_without_a_link(client, cast):
    a = cast["a"]
    old = a.code
    new = lifecycle.replace_code(cast["manager"], a, forward_days=0, reason="假海报", now=utcnow())
    _db.session.commit()
    for path in ("", "/concern", "/qr.png"):
        response = client.get(f"/s/{old}{path}")
        assert response.status_code == 410, path
        html = response.get_data(as_text=True)
        assert a.name in html
        assert new not in html
    posted = client.post(f"/s/{old}/concern", data=concern_form(cast))
    assert posted.status_code == 410
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 0


def test_a_paired_tablet_follows_the_new_code_and_a_stranger_learns_nothing(client, cast, db):
    from services import kiosk as kiosk_service

    a = cast["a"]
    old = a.code
    _pairing, code = kiosk_service.new_pairing(cast["manager"], a, "前台")
    _device, token = kiosk_service.pair(code)
    new = lifecycle.replace_code(cast["manager"], a, forward_days=0, reason="x", now=utcnow())
    db.session.commit()
    assert client.get(f"/kiosk/{old}").status_code == 404
    client.set_cookie("kiosk_device", token, path="/kiosk")
    moved = client.get(f"/kiosk/{old}")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/kiosk/{new}")


@pytest.mark.parametrize(
    "data",
    [
        {"forward_days": "-1", "reason": "涂改"},
        {"forward_days": "99999999999999999999", "reason": "涂改"},
        {"forward_days": "三十", "reason": "涂改"},
        {"forward_days": "30", "reason": ""},
        {"forward_days": "30", "reason": "字" * 201, "confirm": "1"},
    ],
)
def test_bad_replacement_forms_come_back_with_what_was_typed(client, cast, db, data):
    a = cast["a"]
    old = a.code
    login(client, cast["manager"])
    response = client.post(f"/manage/stations/{old}/code", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    if data["reason"]:
        assert data["reason"] in html
    assert 'class="errors"' in html
    fresh()
    assert db.session.get(Station, a.id).code == old


# --- closing in the back office --------------------------------------------------------------------


def test_staff_close_with_a_successor_and_reopen(client, cast, db):
    a, b = cast["a"], cast["b"]
    login(client, cast["staff"])
    form = client.get(f"/manage/stations/{a.code}/close").get_data(as_text=True)
    assert f'value="{b.id}"' in form
    assert f'value="{cast["far"].id}"' not in form  # another city's station is not offered
    response = client.post(f"/manage/stations/{a.code}/close", data={"note": "", "successor": str(b.id)})
    assert response.status_code == 303
    fresh()
    st = db.session.get(Station, a.id)
    assert not st.is_active and st.successor_id == b.id and st.closed_at is not None
    response = client.post(f"/manage/stations/{a.code}/reopen")
    assert response.status_code == 303
    fresh()
    assert db.session.get(Station, a.id).is_active
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {"station.closed", "station.reopened"} <= actions


@pytest.mark.parametrize(
    ("successor", "note"),
    [
        ("far", "迁址"),  # a station outside the staff member's county: a forged form
        ("99999999999999999999", "迁址"),
        ("abc", "迁址"),
        ("self", "迁址"),
        ("", ""),  # neither a successor nor a note
        ("", "字" * 201),
    ],
)
def test_forged_or_incomplete_close_forms_are_refused_and_kept(client, cast, db, successor, note):
    a = cast["a"]
    value = {"far": str(cast["far"].id), "self": str(a.id)}.get(successor, successor)
    login(client, cast["staff"])
    response = client.post(f"/manage/stations/{a.code}/close", data={"note": note, "successor": value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="errors"' in html or 'class="flashes"' in html
    if note:
        assert note in html
    fresh()
    assert db.session.get(Station, a.id).is_active


def test_who_may_open_the_lifecycle_pages(client, cast):
    a = cast["a"]
    expected = {
        # who: (code page, close page)
        "manager": (200, 403),
        "other_manager": (403, 403),
        "staff": (200, 200),
        "city_staff": (200, 200),
        "other_staff": (403, 403),
        "admin": (200, 200),
    }
    for who, (code_status, close_status) in expected.items():
        c = client.application.test_client()
        login(c, cast[who])
        assert c.get(f"/manage/stations/{a.code}/code").status_code == code_status, who
        assert c.get(f"/manage/stations/{a.code}/close").status_code == close_status, who
        closing = c.post(f"/manage/stations/{a.code}/close", data={"note": "x"})
        # The first who may closes it (303); the next ones are told it is closed already (422).
        assert (closing.status_code == 403) is (close_status == 403), (who, closing.status_code)
    fresh()
    assert not _db.session.get(Station, a.id).is_active  # closed by the first who may
    anonymous = client.application.test_client()
    assert anonymous.get(f"/manage/stations/{a.code}/code").status_code == 302


def test_the_station_head_links_the_pages_for_those_who_may(client, cast):
    a = cast["a"]
    login(client, cast["manager"])
    html = client.get(f"/manage/stations/{a.code}/roster").get_data(as_text=True)
    assert f"/manage/stations/{a.code}/code" in html
    assert f"/manage/stations/{a.code}/close" not in html
    staff = client.application.test_client()
    login(staff, cast["staff"])
    html = staff.get(f"/manage/stations/{a.code}/roster").get_data(as_text=True)
    assert f"/manage/stations/{a.code}/close" in html


# --- a region's posters ----------------------------------------------------------------------------


def test_region_posters_one_sheet_per_open_station_in_scope(client, cast):
    close(cast["b"])
    point = factories.station(name="阿里社区联络点", region=cast["county"], kind=StationKind.POINT, parent=cast["a"])
    _db.session.commit()
    login(client, cast["city_staff"])
    html = client.get(f"/manage/regions/{cast['city'].id}/posters").get_data(as_text=True)
    assert html.count('<article class="sheet">') == 3  # a, the point, c (b is closed)
    for st in (cast["a"], point, cast["c"]):
        assert f"/s/{st.code}/qr.svg" in html
    assert cast["b"].code not in html and cast["far"].code not in html
    assert 'id="page-count"' in html
    points = client.get(f"/manage/regions/{cast['city'].id}/posters?kind=point").get_data(as_text=True)
    assert points.count('<article class="sheet">') == 1 and point.code in points
    assert client.get(f"/manage/regions/{cast['city'].id}/posters?kind=bogus").status_code == 400


def test_region_posters_scope(client, cast):
    city, county = cast["city"], cast["county"]
    checks = [
        ("staff", county, 200),
        ("staff", city, 403),  # above the county staff's own region
        ("other_staff", county, 403),
        ("manager", county, 403),
        ("admin", city, 200),
    ]
    for who, region, status in checks:
        c = client.application.test_client()
        login(c, cast[who])
        assert c.get(f"/manage/regions/{region.id}/posters").status_code == status, (who, region.name)
    c = client.application.test_client()
    login(c, cast["admin"])
    assert c.get("/manage/regions/999999/posters").status_code == 404
    assert c.get("/manage/regions/99999999999999999999/posters").status_code == 404


def test_the_home_lists_regions_for_staff_only(client, cast):
    login(client, cast["city_staff"])
    html = client.get("/manage/").get_data(as_text=True)
    assert f"/manage/regions/{cast['city'].id}/posters" in html
    assert f"/manage/regions/{cast['county'].id}/posters" in html
    manager = client.application.test_client()
    login(manager, cast["manager"])
    assert "/manage/regions/" not in manager.get("/manage/").get_data(as_text=True)


# --- flask make-qrcodes ----------------------------------------------------------------------------


def test_make_qrcodes_writes_the_new_codes_and_removes_the_replaced_ones(app, db, cast, runner, tmp_path):
    a = cast["a"]
    old = a.code
    assert runner.invoke(args=["make-qrcodes", "--out", str(tmp_path)]).exit_code == 0
    assert (tmp_path / f"{old}.png").exists()
    new = lifecycle.replace_code(cast["manager"], a, forward_days=30, reason="x", now=utcnow())
    db.session.commit()
    result = runner.invoke(args=["make-qrcodes", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / f"{old}.png").exists() and not (tmp_path / f"{old}.svg").exists()
    assert decode((tmp_path / f"{new}.png").read_bytes()) == [f"{BASE}/s/{new}"]
