"""The back office's reference data (/manage/stations, representatives, units, categories):
create, edit and switch off per kind; scope (county staff neither see nor change another
county's records, forged ids are refused); the history shown; and dispatching that
respects a unit's receives_dispatches and offers the category's default unit first."""

import re

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, Category, Representative, Station, Unit, User
from models.enums import ConcernStatus, RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
from tests import factories
from tests.helpers import login


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def audit(action: str) -> list[AuditLog]:
    fresh()
    return list(_db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


@pytest.fixture
def world(db):
    """A city with two counties; a station and a unit in each county; staff of each county,
    of the city, and the admin."""
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    xc = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    lh = factories.region("411627", "太康县", RegionLevel.COUNTY, parent=city)
    xc_station = factories.station(name="项城市花园街道联络站", region=xc, category=StationCategory.COMMUNITY)
    lh_station = factories.station(name="太康县城关联络站", region=lh)
    rep = factories.representative(stations=[xc_station], name="王建军")
    rep_lh = factories.representative(stations=[lh_station], name="李红")
    w = {
        "city": city,
        "xc": xc,
        "lh": lh,
        "xc_station": xc_station,
        "lh_station": lh_station,
        "rep": rep,
        "rep_lh": rep_lh,
        "xc_unit": factories.unit(name="项城市住房和城乡建设局", region_obj=xc),
        "lh_unit": factories.unit(name="太康县住房和城乡建设局", region_obj=lh),
        "xc_staff": factories.user(Role.CONGRESS_STAFF, display_name="项城人大", region=xc),
        "lh_staff": factories.user(Role.CONGRESS_STAFF, display_name="太康人大", region=lh),
        "city_staff": factories.user(Role.CONGRESS_STAFF, display_name="周口人大", region=city),
        "admin": factories.user(Role.ADMIN, display_name="系统管理员"),
        "manager": factories.user(Role.STATION_MANAGER, display_name="站长", managed_stations=[xc_station]),
    }
    _db.session.commit()
    return w


def station_form(in_region, **kw) -> dict:
    data = {
        "name": "项城市莲花街道联络站",
        "kind": "station",
        "category": "community",
        "region": str(in_region.id),
        "parent": "",
        "address": "莲花大道 1 号",
        "phone": "0394-4321000",
        "position": "",
        "latitude": "",
        "longitude": "",
        "opening_hours": "周一至周五 9:00–17:30",
        "presence_policy": "none",
        "geo_radius_m": "300",
        "intro": "",
    }
    data.update(kw)
    return data


def rep_form(stations, **kw) -> dict:
    data = {
        "name": "张秀英",
        "mobile": "13900001111",
        "level": "county",
        "delegation": "",
        "occupation": "社区居委会主任",
        "post": "",
        "term_number": "18",
        "term_start": "2021-10-01",
        "term_end": "2026-09-30",
        "stations": [str(s.id) for s in stations],
        "focus_areas": "",
        "bio": "",
    }
    data.update(kw)
    return data


# --- who may enter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/manage/stations", "/manage/representatives", "/manage/units", "/manage/stations/new"]
)
def test_only_congress_staff_and_the_admin_enter(client, world, url):
    assert client.get(url).status_code == 302  # to sign in
    login(client, world["manager"])
    assert client.get(url).status_code == 403
    login(client, world["xc_staff"])
    assert client.get(url).status_code == 200


def test_categories_are_the_admins(client, world):
    login(client, world["city_staff"])
    assert client.get("/manage/categories").status_code == 403
    assert client.post("/manage/categories/new", data={"name_zh": "新类别"}).status_code == 403
    login(client, world["admin"])
    assert client.get("/manage/categories").status_code == 200


def test_home_links_the_lists_for_those_who_may(client, world):
    login(client, world["xc_staff"])
    page = client.get("/manage").get_data(as_text=True)
    assert "/manage/stations" in page and "/manage/units" in page and "/manage/categories" not in page
    assert f'/manage/stations/{world["xc_station"].code}"' in page  # the station's record
    login(client, world["manager"])
    assert "/manage/units" not in client.get("/manage").get_data(as_text=True)


# --- stations ------------------------------------------------------------------------------------


def test_station_created_edited_and_audited(client, world):
    login(client, world["xc_staff"])
    response = client.post("/manage/stations/new", data=station_form(world["xc"], position="33.4432，114.8968"))
    assert response.status_code == 303
    fresh()
    station = _db.session.scalar(sa.select(Station).where(Station.name == "项城市莲花街道联络站"))
    assert station.latitude == 33.4432 and station.longitude == 114.8968
    assert response.headers["Location"].endswith(f"/manage/stations/{station.code}")
    assert audit("station.created")[0].actor_id == world["xc_staff"].id

    edit = station_form(world["xc"], address="莲花大道 99 号", latitude="33.5", longitude="114.9")
    assert client.post(f"/manage/stations/{station.code}/edit", data=edit).status_code == 303
    changed = audit("station.changed")[0]
    assert changed.data["changes"]["address"] == ["莲花大道 1 号", "莲花大道 99 号"]
    page = client.get(f"/manage/stations/{station.code}").get_data(as_text=True)
    # The history names the field and shows before → after.
    assert "莲花大道 1 号</del>" in page and "莲花大道 99 号</ins>" in page and "项城人大" in page


def test_station_problems_come_back_beside_the_fields_with_what_was_typed(client, world):
    login(client, world["xc_staff"])
    data = station_form(
        world["xc"], name="项城市花园街道联络站", position="north", geo_radius_m="many", intro="保留的介绍"
    )
    response = client.post("/manage/stations/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count('class="errors"') >= 2 and "保留的介绍" in page and 'value="north"' in page
    # What the form cannot read and what the service refuses are shown together.
    data.update(region="", name="项城市新站")
    page = client.post("/manage/stations/new", data=data).get_data(as_text=True)
    for name in ("position", "geo_radius_m", "region"):
        assert f'id="{name}-err"' in page
    # Valid input, a rule of the service: the name is taken in the region.
    response = client.post("/manage/stations/new", data=station_form(world["xc"], name="项城市花园街道联络站"))
    assert response.status_code == 422 and 'id="name-err"' in response.get_data(as_text=True)
    # A point needs its parent station.
    response = client.post("/manage/stations/new", data=station_form(world["xc"], kind="point"))
    assert response.status_code == 422 and 'id="parent-err"' in response.get_data(as_text=True)
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 2


@pytest.mark.parametrize(
    "forged",
    [
        {"region": "lh"},  # another county
        {"region": "99999999999999999999"},
        {"kind": "castle"},
        {"parent": "lh_station", "kind": "point"},
        {"presence_policy": "teleport"},
    ],
)
def test_forged_station_forms_are_refused(client, world, forged):
    login(client, world["xc_staff"])
    values = {key: str(world[v].id) if v in world else v for key, v in forged.items()}
    response = client.post("/manage/stations/new", data=station_form(world["xc"], **values))
    assert response.status_code == 422
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 2


def test_county_staff_neither_see_nor_change_another_countys_station(client, world):
    login(client, world["xc_staff"])
    listing = client.get("/manage/stations").get_data(as_text=True)
    assert "项城市花园街道联络站" in listing and "太康县城关联络站" not in listing
    code = world["lh_station"].code
    assert client.get(f"/manage/stations/{code}").status_code == 403
    assert client.get(f"/manage/stations/{code}/edit").status_code == 403
    assert client.post(f"/manage/stations/{code}/edit", data=station_form(world["lh"])).status_code == 403
    assert client.get("/manage/stations/NOSUCH/edit").status_code == 404
    # The city's staff see both.
    login(client, world["city_staff"])
    listing = client.get("/manage/stations").get_data(as_text=True)
    assert "项城市花园街道联络站" in listing and "太康县城关联络站" in listing


def test_station_list_filters_and_pages(client, world):
    for n in range(4):
        factories.station(name=f"项城市测试站{n}", region=world["xc"], kind=StationKind.STATION)
    world["xc_station"].is_active = False
    _db.session.commit()
    login(client, world["admin"])
    page = client.get("/manage/stations?q=测试站").get_data(as_text=True)
    assert page.count("项城市测试站") == 4
    assert "项城市花园街道联络站" not in client.get("/manage/stations").get_data(as_text=True)  # closed
    assert "项城市花园街道联络站" in client.get("/manage/stations?active=0").get_data(as_text=True)
    assert "太康县城关联络站" not in client.get(f"/manage/stations?region={world['xc'].id}&active=").get_data(
        as_text=True
    )
    # Keyset pages: two at a time, nothing repeated, nothing lost.
    from services import reference_lists

    seen, after = [], None
    while True:
        result = reference_lists.stations_page(
            world["admin"], reference_lists.StationFilter(active=""), after=after, size=2
        )
        seen += [s.id for s in result.rows]
        if result.after is None:
            break
        after = result.after
    assert len(seen) == len(set(seen)) == 6
    # A garbage cursor is the first page.
    assert client.get("/manage/stations?after=abc").status_code == 200


def test_manager_accounts_created_and_attached(client, world):
    login(client, world["xc_staff"])
    code = world["xc_station"].code
    response = client.post(f"/manage/stations/{code}/managers", data={"name": "赵站长", "mobile": "13700002222"})
    assert response.status_code == 303
    fresh()
    user = _db.session.scalar(sa.select(User).where(User.mobile == "13700002222"))
    assert user.role == Role.STATION_MANAGER and not user.has_password
    assert [s.id for s in user.managed_stations] == [world["xc_station"].id]
    assert audit("account.created")[0].actor_id == world["xc_staff"].id
    # Bad input stays in the form, 422.
    response = client.post(f"/manage/stations/{code}/managers", data={"name": "钱站长", "mobile": "12345"})
    assert response.status_code == 422 and 'value="钱站长"' in response.get_data(as_text=True)

    other = factories.station(name="项城市第二联络站", region=world["xc"])
    _db.session.commit()
    response = client.post(f"/manage/stations/{other.code}/managers/add", data={"manager": str(user.id)})
    assert response.status_code == 303
    fresh()
    assert {s.name for s in _db.session.get(User, user.id).managed_stations} == {
        "项城市花园街道联络站",
        "项城市第二联络站",
    }
    # A manager of another county is not offered, and a forged choice is refused.
    lh_manager = factories.user(Role.STATION_MANAGER, managed_stations=[world["lh_station"]])
    _db.session.commit()
    response = client.post(f"/manage/stations/{code}/managers/add", data={"manager": str(lh_manager.id)})
    assert response.status_code == 422
    fresh()
    assert [s.id for s in _db.session.get(User, lh_manager.id).managed_stations] == [world["lh_station"].id]
    # Removing keeps the account.
    response = client.post(f"/manage/stations/{other.code}/managers/{user.id}/remove")
    assert response.status_code == 303
    fresh()
    assert [s.name for s in _db.session.get(User, user.id).managed_stations] == ["项城市花园街道联络站"]
    assert audit("station.manager_removed")


# --- representatives -----------------------------------------------------------------------------


def test_representative_created_with_an_account_without_password(client, world):
    login(client, world["xc_staff"])
    response = client.post("/manage/representatives/new", data=rep_form([world["xc_station"]]))
    assert response.status_code == 303
    fresh()
    rep = _db.session.scalar(sa.select(Representative).join(Representative.user).where(User.mobile == "13900001111"))
    assert rep.term_number == 18 and not rep.user.has_password and rep.level == RepLevel.COUNTY
    page = client.get(f"/manage/representatives/{rep.id}").get_data(as_text=True)
    assert "项城市花园街道联络站" in page and f"/manage/representatives/{rep.id}/report/" in page


def test_representative_forms_refuse_bad_and_forged_input(client, world):
    login(client, world["xc_staff"])
    bad = rep_form([world["xc_station"]], mobile="123", term_number="x", term_end="2020-13-45", bio="保留")
    response = client.post("/manage/representatives/new", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="mobile-err"' not in page or "保留" in page  # form checks first; what was typed stays
    assert "保留" in page and 'id="term_number-err"' in page and 'id="term_end-err"' in page
    for forged in ([world["lh_station"]], []):
        response = client.post("/manage/representatives/new", data=rep_form(forged))
        assert response.status_code == 422
    response = client.post("/manage/representatives/new", data=rep_form([world["xc_station"]], level="emperor"))
    assert response.status_code == 422
    fresh()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Representative)) == 2


def test_county_staff_edit_keeps_the_stations_of_other_regions(client, world):
    rep = world["rep"]
    rep.stations.append(world["lh_station"])
    _db.session.commit()
    login(client, world["xc_staff"])
    page = client.get(f"/manage/representatives/{rep.id}/edit").get_data(as_text=True)
    assert "太康县城关联络站" in page  # named as kept, not offered
    data = rep_form([world["xc_station"]], name="王建军", mobile="13900002222", post="项城市某公司总经理")
    assert client.post(f"/manage/representatives/{rep.id}/edit", data=data).status_code == 303
    fresh()
    rep = _db.session.get(Representative, rep.id)
    assert {s.name for s in rep.stations} == {"项城市花园街道联络站", "太康县城关联络站"}
    assert rep.post == "项城市某公司总经理"
    entry = audit("representative.changed")[0]
    assert "13900002222" not in str(entry.data)  # masked
    history = client.get(f"/manage/representatives/{rep.id}").get_data(as_text=True)
    assert "项城市某公司总经理</ins>" in history


def test_county_staff_cannot_reach_another_countys_representative(client, world):
    login(client, world["xc_staff"])
    listing = client.get("/manage/representatives").get_data(as_text=True)
    assert "王建军" in listing and "李红" not in listing
    rep_id = world["rep_lh"].id
    assert client.get(f"/manage/representatives/{rep_id}").status_code == 403
    assert (
        client.post(f"/manage/representatives/{rep_id}/edit", data=rep_form([world["xc_station"]])).status_code == 403
    )


def test_representatives_found_by_name_or_mobile(client, world):
    world["rep"].user.mobile = "13811112222"
    _db.session.commit()
    login(client, world["city_staff"])
    assert "王建军" in client.get("/manage/representatives?q=138 1111 2222").get_data(as_text=True)
    page = client.get("/manage/representatives?q=李").get_data(as_text=True)
    assert "李红" in page and "王建军" not in page
    page = client.get(f"/manage/representatives?station={world['lh_station'].id}").get_data(as_text=True)
    assert "李红" in page and "王建军" not in page


# --- units ---------------------------------------------------------------------------------------


def unit_form(in_region, **kw) -> dict:
    data = {"name": "项城市水利局", "kind": "government", "region": str(in_region.id), "parent": ""}
    data.update(kw)
    data.setdefault("receives_dispatches", "y")
    return {k: v for k, v in data.items() if v is not None}


def test_unit_created_as_a_department_and_switched_off(client, world):
    login(client, world["xc_staff"])
    data = unit_form(world["xc"], parent=str(world["xc_unit"].id), receives_dispatches=None)
    assert client.post("/manage/units/new", data=data).status_code == 303
    fresh()
    unit = _db.session.scalar(sa.select(Unit).where(Unit.name == "项城市水利局"))
    assert unit.parent_id == world["xc_unit"].id and not unit.receives_dispatches
    page = client.get("/manage/units").get_data(as_text=True)
    assert 'class="depth-1' in page and "太康县" not in page
    assert client.post(f"/manage/units/{unit.id}/active", data={"active": "0"}).status_code == 303
    fresh()
    assert not _db.session.get(Unit, unit.id).is_active
    assert audit("unit.switched_off")
    history = client.get(f"/manage/units/{unit.id}").get_data(as_text=True)
    assert "项城人大" in history and "<del>" in history


def test_unit_scope_and_forged_ids(client, world):
    login(client, world["xc_staff"])
    lh_unit = world["lh_unit"]
    assert client.get(f"/manage/units/{lh_unit.id}").status_code == 403
    assert client.post(f"/manage/units/{lh_unit.id}/active", data={"active": "0"}).status_code == 403
    assert (
        client.post(f"/manage/units/{lh_unit.id}/handlers", data={"name": "x", "mobile": "13700003333"}).status_code
        == 403
    )
    for forged in ({"region": str(world["lh"].id)}, {"parent": str(lh_unit.id)}, {"kind": "army"}):
        assert client.post("/manage/units/new", data=unit_form(world["xc"], **forged)).status_code == 422
    # A unit cannot be put under its own department.
    child = factories.unit(name="项城市住建局房管所", region_obj=world["xc"])
    child.parent = world["xc_unit"]
    _db.session.commit()
    data = unit_form(world["xc"], name="项城市住房和城乡建设局", parent=str(child.id))
    response = client.post(f"/manage/units/{world['xc_unit'].id}/edit", data=data)
    assert response.status_code == 422 and 'id="parent-err"' in response.get_data(as_text=True)
    fresh()
    assert lh_unit.is_active and _db.session.get(Unit, world["xc_unit"].id).parent_id is None


def test_unit_handler_account(client, world):
    login(client, world["xc_staff"])
    unit = world["xc_unit"]
    data = {"name": "住建局办理人", "mobile": "13700004444", "email": "banli@example.cn"}
    assert client.post(f"/manage/units/{unit.id}/handlers", data=data).status_code == 303
    fresh()
    user = _db.session.scalar(sa.select(User).where(User.mobile == "13700004444"))
    assert user.role == Role.UNIT_HANDLER and user.unit_id == unit.id and not user.has_password
    response = client.post(f"/manage/units/{unit.id}/handlers", data={**data, "email": "not-mail"})
    assert response.status_code == 422  # the mobile is taken, the e-mail is bad
    page = response.get_data(as_text=True)
    assert 'id="mobile-err"' in page and 'id="email-err"' in page
    assert "住建局办理人" in client.get(f"/manage/units/{unit.id}").get_data(as_text=True)


# --- categories ----------------------------------------------------------------------------------


def test_category_created_edited_switched_off(client, world):
    login(client, world["admin"])
    data = {
        "name_zh": "生态环境",
        "name_en": "Environment",
        "sort_order": "5",
        "default_unit": str(world["xc_unit"].id),
    }
    assert client.post("/manage/categories/new", data=data).status_code == 303
    fresh()
    category = _db.session.scalar(sa.select(Category).where(Category.name_zh == "生态环境"))
    assert category.default_unit_id == world["xc_unit"].id and category.sort_order == 5
    data.update(sort_order="2", default_unit="")
    assert client.post(f"/manage/categories/{category.id}/edit", data=data).status_code == 303
    assert audit("category.changed")[0].data["changes"]["sort_order"] == [5, 2]
    assert client.post(f"/manage/categories/{category.id}/active", data={"active": "0"}).status_code == 303
    fresh()
    assert not _db.session.get(Category, category.id).is_active
    bad = client.post("/manage/categories/new", data={"name_zh": "", "sort_order": "99999", "default_unit": "7777"})
    assert bad.status_code == 422
    page = client.get(f"/manage/categories/{category.id}/edit").get_data(as_text=True)
    assert "系统管理员" in page and "<del>5</del>" in page


# --- dispatching ---------------------------------------------------------------------------------


def _dispatch_world(world):
    government = world["xc_unit"]
    government.receives_dispatches = False
    department = factories.unit(name="项城市住建局物业科", region_obj=world["xc"])
    department.parent = government
    other = factories.unit(name="项城市城市管理局", region_obj=world["xc"], kind=UnitKind.GOVERNMENT)
    category = factories.category(name_zh="物业管理")
    category.default_unit = department
    concern = factories.concern(world["xc_station"], category, status=ConcernStatus.ACCEPTED, assigned_rep=world["rep"])
    _db.session.commit()
    return government, department, other, concern


def test_dispatch_offers_the_default_unit_first_and_not_the_grouping_body(client, world):
    government, department, other, concern = _dispatch_world(world)
    login(client, world["xc_staff"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    select = page[page.index('<select id="unit"') : page.index("</select>", page.index('<select id="unit"'))]
    options = re.findall(r'<option value="(\d+)"( selected)?', select)
    assert options[0] == (str(department.id), " selected")
    assert str(government.id) not in [value for value, _sel in options]
    assert str(other.id) in [value for value, _sel in options]


def test_dispatch_to_a_unit_that_takes_no_concerns_is_refused(client, world):
    government, department, _other, concern = _dispatch_world(world)
    login(client, world["xc_staff"])
    step = {"action": "dispatch", "version": str(concern.version), "note": ""}
    response = client.post(f"/manage/concerns/{concern.id}/act", data={**step, "unit": str(government.id)})
    assert response.status_code == 409
    fresh()
    assert _db.session.get(type(concern), concern.id).unit_id is None
    # The department below it takes it.
    response = client.post(f"/manage/concerns/{concern.id}/act", data={**step, "unit": str(department.id)})
    assert response.status_code == 302
    fresh()
    assert _db.session.get(type(concern), concern.id).unit_id == department.id


def test_default_unit_out_of_reach_is_not_put_first(client, world):
    _government, _department, _other, concern = _dispatch_world(world)
    concern.category.default_unit = world["lh_unit"]  # another county: not in reach
    _db.session.commit()
    login(client, world["xc_staff"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert str(world["lh_unit"].name) not in page


def test_the_list_filters_offer_the_regions_that_hold_records(client, world):
    empty = factories.region("411628", "鹿邑县", RegionLevel.COUNTY, parent=world["city"])
    fresh()
    login(client, world["admin"])
    page = client.get("/manage/stations").get_data(as_text=True)
    offered = set(re.findall(r'<option value="(\d+)"', page.split('name="region"')[1].split("</select>")[0]))
    assert offered == {str(world["city"].id), str(world["xc"].id), str(world["lh"].id)}
    assert str(empty.id) not in offered
    login(client, world["xc_staff"])
    page = client.get("/manage/units").get_data(as_text=True)
    offered = set(re.findall(r'<option value="(\d+)"', page.split('name="region"')[1].split("</select>")[0]))
    assert offered == {str(world["xc"].id)}
