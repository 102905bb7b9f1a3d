"""Reference data (services.reference): the rules forms and imports share, scope, audit."""

from datetime import date

import pytest
import sqlalchemy as sa

from models import AuditLog
from models.enums import PresencePolicy, RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
from services import reference
from services.reference import ReferenceRefused
from tests import factories


@pytest.fixture
def counties(db):
    city = factories.region(code="411600", name="周口市", level=RegionLevel.CITY)
    xc = factories.region(code="411681", name="项城市", parent=city)
    lh = factories.region(code="411625", name="郸城县", parent=city)
    return city, xc, lh


def _staff(region):
    return factories.user(Role.CONGRESS_STAFF, region_id=region.id)


def _codes(problems):
    return [(p.field, p.code) for p in problems]


def test_station_created_with_a_code_and_audited(db, counties):
    _city, xc, _lh = counties
    staff = _staff(xc)
    values = reference.StationValues(name=" 花园街道联络站 ", category=StationCategory.COMMUNITY, region=xc)
    station = reference.save_station(staff, None, values)
    assert station.name == "花园街道联络站" and len(station.code) == 6 and station.is_active
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "station.created"))
    assert entry.actor_id == staff.id and entry.target_id == station.id
    assert entry.data["region"] == "411681 项城市"


def test_station_change_records_before_and_after_only_for_changed_fields(db, counties):
    _city, xc, _lh = counties
    station = factories.station(region=xc, name="花园街道联络站")
    values = reference.StationValues(
        name="花园街道联络站",
        category=station.category,
        region=xc,
        address="新地址 1 号",
        phone=station.phone,
        opening_hours=station.opening_hours,
    )
    reference.save_station(None, station, values)
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "station.changed"))
    assert entry.data["changes"] == {"address": ["项城市莲花大道18号", "新地址 1 号"]}
    # Saving the same values again changes nothing and writes nothing.
    reference.save_station(None, station, values)
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "station.changed")) == 1


def test_station_rules(db, counties):
    _city, xc, lh = counties
    factories.station(region=xc, name="花园街道联络站")
    staff = _staff(xc)
    values = reference.StationValues(
        name="花园街道联络站",
        category=StationCategory.COMMUNITY,
        region=xc,
        kind=StationKind.POINT,
        latitude=33.4,
        presence_policy=PresencePolicy.GEO,
        geo_radius_m=10,
    )
    problems = _codes(reference.check_station(staff, None, values))
    assert ("name", "station_name_taken") in problems
    assert ("parent", "parent_required") in problems
    assert ("latitude", "position_incomplete") in problems
    assert ("geo_radius_m", "radius_out_of_range") in problems
    other = reference.StationValues(name="别的站", category=StationCategory.COMMUNITY, region=lh)
    assert _codes(reference.check_station(staff, None, other)) == [("region", "out_of_scope")]
    with pytest.raises(ReferenceRefused) as refused:
        reference.save_station(staff, None, other)
    assert refused.value.code == "out_of_scope"


def test_pasted_positions():
    assert reference.parse_position("33.4432, 114.8968") == (33.4432, 114.8968)
    assert reference.parse_position("33.4432，114.8968") == (33.4432, 114.8968)
    assert reference.parse_position("33.4432 114.8968") == (33.4432, 114.8968)
    assert reference.parse_position("north") is None


def test_representative_created_without_a_password_and_found_by_mobile(db, counties):
    _city, xc, _lh = counties
    station = factories.station(region=xc, name="花园街道联络站")
    values = reference.RepresentativeValues(
        name="李春华",
        mobile="138 0000 1234",
        level=RepLevel.COUNTY,
        stations=[station],
        term_number=18,
        term_start=date(2021, 10, 1),
        term_end=date(2026, 9, 30),
    )
    rep = reference.save_representative(_staff(xc), None, values)
    assert rep.user.mobile == "13800001234" and not rep.user.has_password and rep.user.role == Role.REPRESENTATIVE
    assert reference.representative_by_mobile("13800001234") is rep
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "representative.created"))
    assert entry.data["mobile"] != "13800001234"  # masked


def test_representative_rules(db, counties):
    _city, xc, lh = counties
    factories.user(Role.STATION_MANAGER, mobile="13800001234")
    elsewhere = factories.station(region=lh, name="郸城站")
    values = reference.RepresentativeValues(
        name="",
        mobile="13800001234",
        level=RepLevel.COUNTY,
        stations=[elsewhere],
        term_start=date(2026, 1, 1),
        term_end=date(2025, 1, 1),
        term_number=0,
    )
    problems = _codes(reference.check_representative(_staff(xc), None, values))
    assert problems == [
        ("name", "required"),
        ("mobile", "mobile_taken"),
        ("term_number", "term_number_out_of_range"),
        ("term_end", "term_ends_before_start"),
        ("stations", "out_of_scope"),
    ]


def test_county_staff_edit_keeps_the_city_stations(db, counties):
    _city, xc, lh = counties
    here, there = factories.station(region=xc, name="花园站"), factories.station(region=lh, name="郸城站")
    rep = factories.representative([here, there])
    rep.user.mobile = "13800001235"
    values = reference.RepresentativeValues(name="王建国", mobile="13800001235", level=RepLevel.COUNTY, stations=[here])
    reference.save_representative(_staff(xc), rep, values, keep_other_stations=True)
    assert {s.name for s in rep.stations} == {"花园站", "郸城站"}


def test_unit_rules_and_switching_off(db, counties):
    city, xc, _lh = counties
    gov = reference.save_unit(
        None, None, reference.UnitValues(name="项城市人民政府", kind=UnitKind.GOVERNMENT, region=xc)
    )
    dept = reference.save_unit(
        None, None, reference.UnitValues(name="项城市住建局", kind=UnitKind.GOVERNMENT, region=xc, parent=gov)
    )
    cycle = reference.UnitValues(name="项城市人民政府", kind=UnitKind.GOVERNMENT, region=xc, parent=dept)
    assert _codes(reference.check_unit(None, gov, cycle)) == [("parent", "parent_cycle")]
    again = reference.UnitValues(name="项城市住建局", kind=UnitKind.GOVERNMENT, region=xc)
    assert _codes(reference.check_unit(None, None, again)) == [("name", "unit_name_taken")]
    staff = _staff(xc)
    assert reference.set_active(staff, dept, False) and not dept.is_active
    assert not reference.set_active(staff, dept, False)
    city_unit = factories.unit(region_obj=city)
    with pytest.raises(ReferenceRefused):
        reference.set_active(staff, city_unit, False)


def test_categories_are_the_admins(db, counties):
    _city, xc, _lh = counties
    admin = factories.user(Role.ADMIN)
    category = reference.save_category(admin, None, reference.CategoryValues(name_zh="物业管理", sort_order=3))
    assert category.name_en == "物业管理" and category.code
    assert _codes(reference.check_category(_staff(xc), None, reference.CategoryValues(name_zh="交通"))) == [
        ("name_zh", "out_of_scope")
    ]
    assert _codes(reference.check_category(admin, None, reference.CategoryValues(name_zh="物业管理"))) == [
        ("name_zh", "category_name_taken")
    ]


def test_accounts_for_managers_and_handlers_have_no_password(db, counties):
    _city, xc, lh = counties
    staff = _staff(xc)
    station = factories.station(region=xc, name="花园街道联络站")
    unit = factories.unit(region_obj=xc)
    manager = reference.create_account(staff, Role.STATION_MANAGER, "赵站长", "137 0000 1111", stations=[station])
    assert manager.username == "m13700001111" and not manager.has_password and manager.managed_stations == [station]
    handler = reference.create_account(staff, Role.UNIT_HANDLER, "钱办理", "13700002222", "qian@example.cn", unit=unit)
    assert handler.unit is unit and handler.email == "qian@example.cn" and not handler.has_password
    entries = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "account.created")).all()
    assert len(entries) == 2 and all("13700001111" not in str(e.data) for e in entries)
    problems = reference.check_account(
        staff, Role.UNIT_HANDLER, "", "13700002222", "nope", unit=factories.unit(region_obj=lh)
    )
    assert _codes(problems) == [
        ("name", "required"),
        ("mobile", "mobile_taken"),
        ("email", "bad_email"),
        ("unit", "out_of_scope"),
    ]
    assert _codes(reference.check_account(staff, Role.ADMIN, "某", "13700003333", None)) == [
        ("role", "role_not_for_account")
    ]


def test_managers_added_and_removed_within_scope(db, counties):
    _city, xc, lh = counties
    station = factories.station(region=xc, name="花园街道联络站")
    elsewhere = factories.station(region=lh, name="郸城站")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[])
    staff = _staff(xc)
    assert reference.add_manager(staff, station, manager) and not reference.add_manager(staff, station, manager)
    with pytest.raises(ReferenceRefused) as refused:
        reference.add_manager(staff, elsewhere, manager)
    assert refused.value.code == "out_of_scope"
    with pytest.raises(ReferenceRefused) as refused:
        reference.add_manager(staff, station, factories.user(Role.REPRESENTATIVE))
    assert refused.value.code == "not_a_manager"
    assert reference.remove_manager(staff, station, manager) and manager.managed_stations == []
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.target_type == "station")).all()
    assert sorted(actions) == ["station.manager_added", "station.manager_removed"]
