"""/manage/regions: who may open which region, adding townships, renaming and switching off,
refusals beside their field with what was typed kept, forged ids refused."""

import html as html_module
import re

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, Region
from models.enums import RegionLevel, Role
from tests import factories
from tests.helpers import login

EN = {"Accept-Language": "en"}
P, C, K, T = RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def by_code(code: str) -> Region | None:
    fresh()
    return _db.session.scalar(sa.select(Region).where(Region.code == code))


def error_of(html: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errors" id="{field_id}-err"[^>]*>(.*?)</ul>', html, re.S)
    return html_module.unescape(re.sub(r"<[^>]+>", "", match.group(1)).strip()) if match else ""


@pytest.fixture
def world(db):
    henan = factories.region("410000", "河南省", P)
    zhoukou = factories.region("411600", "周口市", C, parent=henan)
    xiangcheng = factories.region("411681", "项城市", K, parent=zhoukou)
    huaiyang = factories.region("411603", "淮阳区", K, parent=zhoukou)
    garden = factories.region("411681001", "花园街道", T, parent=xiangcheng)
    other_town = factories.region("411603001", "城关镇", T, parent=huaiyang)
    w = {
        "henan": henan,
        "zhoukou": zhoukou,
        "xiangcheng": xiangcheng,
        "huaiyang": huaiyang,
        "garden": garden,
        "other_town": other_town,
        "xc_staff": factories.user(Role.CONGRESS_STAFF, region=xiangcheng),
        "zk_staff": factories.user(Role.CONGRESS_STAFF, region=zhoukou),
        "admin": factories.user(Role.ADMIN),
    }
    _db.session.commit()
    return w


def test_anonymous_goes_to_sign_in_and_other_roles_are_refused(client, world):
    assert client.get("/manage/regions").headers["Location"].startswith("/login")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[factories.station(region=world["garden"])])
    login(client, manager)
    assert client.get("/manage/regions").status_code == 403
    assert client.get(f"/manage/regions/{world['xiangcheng'].id}").status_code == 403
    assert client.post(f"/manage/regions/{world['xiangcheng'].id}/townships", data={}).status_code == 403
    assert "/manage/regions" not in client.get("/manage").get_data(as_text=True)


def test_staff_start_at_their_own_region_and_see_only_below_it(client, world):
    login(client, world["xc_staff"])
    assert 'href="/manage/regions"' in client.get("/manage").get_data(as_text=True)
    resp = client.get("/manage/regions")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/manage/regions/{world['xiangcheng'].id}")
    page = client.get(f"/manage/regions/{world['xiangcheng'].id}").get_data(as_text=True)
    assert "花园街道" in page and "城关镇" not in page
    # the city above and the county beside are not theirs, nor is a township there
    for key in ("zhoukou", "huaiyang", "other_town", "henan"):
        assert client.get(f"/manage/regions/{world[key].id}").status_code == 403, key
    assert client.get("/manage/regions/2147483647").status_code == 404
    assert client.get("/manage/regions/99999999999999999999").status_code == 404


def test_search_stays_in_scope(client, world):
    login(client, world["zk_staff"])
    page = client.get("/manage/regions?q=街道").get_data(as_text=True)
    assert "河南省 周口市 项城市 花园街道" in page
    page = client.get("/manage/regions?q=4100").get_data(as_text=True)
    assert "河南省" not in page.split("</form>", 1)[1]  # the province is above their city
    login(client, world["admin"])
    page = client.get("/manage/regions").get_data(as_text=True)
    assert "河南省" in page
    assert "城关镇" in client.get("/manage/regions?q=城关").get_data(as_text=True)


def test_staff_add_a_township_to_their_county(client, world):
    login(client, world["xc_staff"])
    county = world["xiangcheng"]
    resp = client.post(f"/manage/regions/{county.id}/townships", data={"code": "411681100", "name": "南顿镇"})
    assert resp.status_code == 303
    town = by_code("411681100")
    assert town is not None and town.parent_id == county.id and town.level == T
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "region.created"))
    assert entry.actor_id == world["xc_staff"].id and entry.data["changes"]["code"] == [None, "411681100"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "南顿镇" in page


def test_a_forged_parent_is_refused(client, world):
    login(client, world["xc_staff"])
    resp = client.post(
        f"/manage/regions/{world['huaiyang'].id}/townships", data={"code": "411603002", "name": "白楼镇"}
    )
    assert resp.status_code == 403
    assert client.post("/manage/regions/2147483647/townships", data={"code": "1", "name": "x"}).status_code == 404
    assert by_code("411603002") is None


@pytest.mark.parametrize(
    ("code", "name", "field", "words"),
    [
        ("411603001", "新城街道", "code", "starts with this county's code, 411681"),
        ("4116810", "新城街道", "code", "9 digits"),
        ("411681000", "新城街道", "code", "not a township's code"),
        ("411681001", "新城街道", "code", "already used by “花园街道”"),
        ("411681002", "", "name", "Please fill this in."),
        ("411681002", "花园街道", "name", "already the name of another active region"),
    ],
)
def test_refusals_come_back_beside_their_field_with_what_was_typed(client, world, code, name, field, words):
    login(client, world["xc_staff"])
    resp = client.post(
        f"/manage/regions/{world['xiangcheng'].id}/townships", data={"code": code, "name": name}, headers=EN
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert words in error_of(page, field)
    assert f'value="{code}"' in page and (not name or f'value="{name}"' in page)


def test_staff_rename_townships_but_not_counties(client, world):
    login(client, world["xc_staff"])
    garden = world["garden"]
    assert client.post(f"/manage/regions/{world['xiangcheng'].id}/rename", data={"name": "项城区"}).status_code == 403
    assert client.post(f"/manage/regions/{world['other_town'].id}/rename", data={"name": "x"}).status_code == 403
    assert client.post(f"/manage/regions/{garden.id}/rename", data={"name": "花园路街道"}).status_code == 303
    assert by_code("411681001").name == "花园路街道"
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "region.renamed"))
    assert entry.data == {"changes": {"name": ["花园街道", "花园路街道"]}}
    page = client.get(f"/manage/regions/{garden.id}", headers=EN).get_data(as_text=True)
    assert "Renamed" in page and "花园街道 → 花园路街道" in page
    resp = client.post(f"/manage/regions/{garden.id}/rename", data={"name": "长" * 61}, headers=EN)
    assert resp.status_code == 422 and "60 characters" in error_of(resp.get_data(as_text=True), "name")
    login(client, world["admin"])
    assert client.post(f"/manage/regions/{world['xiangcheng'].id}/rename", data={"name": "项城区"}).status_code == 303


def test_switching_off_is_refused_while_in_use_and_says_what(client, world):
    factories.station(region=world["garden"])
    factories.station(region=world["garden"], name="第二联络站")
    login(client, world["xc_staff"])
    garden = world["garden"]
    page = client.get(f"/manage/regions/{garden.id}", headers=EN).get_data(as_text=True)
    assert "active stations 2" in page and f"/manage/regions/{garden.id}/deactivate" not in page
    resp = client.post(f"/manage/regions/{garden.id}/deactivate", headers=EN)
    assert resp.status_code == 422
    assert "still has 2 active stations. Close or move them first." in resp.get_data(as_text=True)
    assert by_code("411681001").is_active


def test_switch_a_township_off_and_on(client, world):
    login(client, world["xc_staff"])
    garden = world["garden"]
    assert client.post(f"/manage/regions/{world['xiangcheng'].id}/deactivate").status_code == 403
    assert client.post(f"/manage/regions/{garden.id}/deactivate").status_code == 303
    assert not by_code("411681001").is_active
    assert client.post(f"/manage/regions/{garden.id}/reactivate").status_code == 303
    assert by_code("411681001").is_active
    actions = _db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["region.deactivated", "region.reactivated"]


def test_posts_need_csrf(client, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, world["xc_staff"])
    garden = world["garden"]
    assert client.post(f"/manage/regions/{garden.id}/deactivate").status_code == 400
    assert client.post(f"/manage/regions/{garden.id}/rename", data={"name": "x"}).status_code == 400
    assert by_code("411681001").is_active and by_code("411681001").name == "花园街道"


def test_the_region_select_of_other_screens(app, world):
    """offer_regions fills a select with the user's regions; picked_region refuses what it
    did not offer."""
    from flask_wtf import FlaskForm

    from views.forms.regions import offer_regions, picked_region, region_field

    class StationForm(FlaskForm):
        region = region_field()

    staff, garden = world["xc_staff"], world["garden"]
    for sent, expected in [
        (str(garden.id), garden),
        (str(world["other_town"].id), None),  # another county's township
        (str(world["zhoukou"].id), None),  # above county level
        ("", None),
        ("99999999999999999999", None),
    ]:
        with app.test_request_context(method="POST", data={"region": sent}, headers=EN):
            form = StationForm()
            offer_regions(form.region, staff)
            assert form.region.choices[1:] == [
                (world["xiangcheng"].id, "河南省 周口市 项城市"),
                (garden.id, "河南省 周口市 项城市 花园街道"),
            ]
            form.validate()
            assert picked_region(form.region, staff) == expected
            assert bool(form.region.errors) is (expected is None)
            if expected is None:
                assert form.region.errors == ["Please choose a region from the list."]
