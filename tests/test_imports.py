"""Spreadsheet imports (services.imports): reading .xlsx and CSV in the encodings Chinese
offices use, every problem with its row and column, the preview's diff, all-or-nothing
apply, scope, and the audit trail."""

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from models import AuditLog, ImportUpload, Representative, Station, Unit, User
from models.enums import PresencePolicy, RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
from services import imports, refusals
from services.codes import normalize_rep_code
from services.imports import COLUMNS, ImportRefused
from tests import factories


@pytest.fixture
def world(db):
    city = factories.region(code="411600", name="周口市", level=RegionLevel.CITY)
    xc = factories.region(code="411681", name="项城市", parent=city)
    dc = factories.region(code="411625", name="郸城县", parent=city)
    return {
        "city": city,
        "xc": xc,
        "dc": dc,
        "xc_staff": factories.user(Role.CONGRESS_STAFF, region_id=xc.id),
        "dc_staff": factories.user(Role.CONGRESS_STAFF, region_id=dc.id),
        "admin": factories.user(Role.ADMIN),
    }


def headings(kind):
    return [c.heading for c in COLUMNS[kind] if c.in_template]


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode(encoding)


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


STATION_HEAD = ["名称", "类型", "上级联络站", "类别", "行政区划代码", "地址", "纬度", "经度", "进站签到方式"]
REP_HEAD = ["姓名", "手机号", "代表层级", "届次", "任期开始", "任期结束", "联络站"]


def station_sheet(*rows):
    return [STATION_HEAD, *rows]


def upload(actor, kind, content, filename="sheet.csv") -> ImportUpload:
    return imports.store_upload(actor, kind, filename, content)


def problems_of(result):
    """(row, heading, code) for every problem of a preview."""
    return [(row.number, heading, p.code) for row in result.rows for heading, p in row.problems]


# --- reading files -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_excel_writes(world, encoding):
    content = csv_bytes(
        station_sheet(["花园街道联络站", "站", "", "社区", "411681", "莲花大道18号", "", "", ""]), encoding
    )
    result = imports.preview(world["xc_staff"], "stations", content)
    assert result.counts()["created"] == 1
    assert result.rows[0].values.name == "花园街道联络站" and result.rows[0].values.address == "莲花大道18号"


def test_control_characters_are_dropped_and_tabs_separate_pasted_sheets(world):
    content = "名称\t类别\t行政区划代码\n花园\x00站\t社区\t411681\n".encode()
    result = imports.preview(world["admin"], "stations", content)
    assert problems_of(result) == [] and result.rows[0].values.name == "花园站"


def test_xlsx_with_numbers_dates_and_blank_rows(world):
    station = factories.station(region=world["xc"], name="花园街道联络站")
    content = xlsx_bytes(
        [
            REP_HEAD,
            ["李春华", 13800001234, "县", 18, datetime(2021, 10, 1), "2026年9月30日", "花园街道联络站"],
            [None, None, None],
            [
                "  王 芳 ",
                "１３８００００１２３５",
                "county",
                "第18届",
                "2021/10/1",
                (date(2026, 9, 30) - date(1899, 12, 30)).days,
                station.name,
            ],
        ]
    )
    result = imports.preview(world["xc_staff"], "representatives", content)
    assert problems_of(result) == []
    first, second = result.rows
    assert (first.number, second.number) == (2, 4)  # the blank row keeps its number
    assert first.values.mobile == "13800001234" and first.values.term_number == 18
    assert first.values.term_start == date(2021, 10, 1) and first.values.term_end == date(2026, 9, 30)
    assert second.values.name == "王 芳" and second.values.mobile == "13800001235"
    assert second.values.level == RepLevel.COUNTY and second.values.term_end == date(2026, 9, 30)
    assert second.values.stations == [station]
    # A year typed into a number cell is no date (not the 2021st day after 1899-12-30).
    typo = xlsx_bytes([REP_HEAD, ["李春华", 13800001234, "县", 18, 2021, None, station.name]])
    assert problems_of(imports.preview(world["xc_staff"], "representatives", typo)) == [(2, "任期开始", "bad_date")]


def test_the_template_reads_back_and_explains_every_column(world):
    for kind in imports.KINDS:
        workbook = load_workbook(io.BytesIO(imports.template_xlsx(kind)))
        sheet, help_sheet = workbook.worksheets
        assert help_sheet.title == "填写说明"
        assert [c.value for c in sheet[1]] == headings(kind)
        listed = {row[0] for row in help_sheet.iter_rows(min_row=2, values_only=True)}
        assert {c.heading for c in COLUMNS[kind]} <= listed
        table = imports.read_table(imports.template_xlsx(kind))
        assert imports.match_headings(kind, table.headings) and len(table.rows) == 1
        assert imports.read_table(imports.template_csv(kind)).headings == headings(kind)


def test_headings_must_be_the_templates(world, app):
    content = csv_bytes([["名称", "类别", "电邮", "电邮"], ["花园站", "社区", "", ""]])
    with pytest.raises(ImportRefused) as refused:
        imports.preview(world["admin"], "stations", content)
    assert refused.value.code == "bad_headings"
    assert refused.value.details["missing"] == "行政区划代码" and refused.value.details["unknown"] == "电邮、电邮"
    messages = refusals.import_messages(refused.value)
    assert len(messages) == 2 and "行政区划代码" in messages[0] and "电邮" in messages[1]
    # Full-width brackets, a star for "required" and stray spaces are the same heading.
    table = imports.read_table(csv_bytes([["名称*", " 类别 ", "行政区划代码", "签到半径(米)"]]))
    assert set(imports.match_headings("stations", table.headings)) == {"name", "category", "region", "geo_radius_m"}


def test_whole_file_refusals(world, monkeypatch):
    def code(content):
        with pytest.raises(ImportRefused) as refused:
            imports.read_table(content)
        return refused.value.code

    assert code(b"\xd0\xcf\x11\xe0" + b"\0" * 100) == "old_excel"
    assert code(b"PK\x03\x04 not really a zip") == "not_readable"
    assert code(b"\xff\xfe\x00\x00\xff") == "not_readable"
    assert code(b"\n\n ,, \n") == "no_headings"
    assert code(b"x" * (imports.MAX_UPLOAD_BYTES + 1)) == "too_large"
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    assert code(csv_bytes([STATION_HEAD, *[["a"]] * 4])) == "too_many_rows"
    with pytest.raises(ImportRefused) as refused:
        imports.store_upload(world["admin"], "stations", "x.csv", csv_bytes([STATION_HEAD]))
    assert refused.value.code == "no_rows"
    with pytest.raises(ImportRefused):
        imports.store_upload(world["admin"], "regions", "x.csv", csv_bytes([STATION_HEAD, ["a"]]))


# --- every problem, with its row and column --------------------------------------------------------


def test_every_station_problem_is_listed_with_its_row_and_column(world, app):
    factories.station(region=world["xc"], name="已有的站", kind=StationKind.STATION)
    content = csv_bytes(
        station_sheet(
            ["", "站", "", "社区", "411681", "", "", "", ""],  # 2: no name
            ["甲站", "站", "", "菜市场", "999999", "", "", "", ""],  # 3: unknown category, unknown region
            ["乙站", "站", "", "社区", "411625", "", "", "", ""],  # 4: another county
            ["丙站", "站", "", "社区", "411681", "", "north", "", "定位"],  # 5: bad number, geo needs position
            ["丁点", "点", "不存在的站", "社区", "411681", "", "", "", ""],  # 6: unknown parent
            ["戊站", "站", "", "社区", "411681", "", "", "", ""],
            ["戊站", "站", "", "社区", "411681", "", "", "", ""],  # 8: twice in the sheet
            ["己站" * 100, "塔", "", "", "411681", "", "", "", ""],  # 9: too long, unknown kind, no category
        )
    )
    result = imports.preview(world["xc_staff"], "stations", content)
    found = problems_of(result)
    assert (2, "名称", "required") in found
    assert (3, "类别", "unknown_value") in found and (3, "行政区划代码", "unknown_region") in found
    assert (4, "行政区划代码", "out_of_scope") in found
    assert (5, "纬度", "bad_number") in found and (5, "进站签到方式", "geo_needs_position") in found
    assert (6, "上级联络站", "unknown_parent") in found
    assert (8, "名称", "duplicate_in_sheet") in found
    assert (9, "名称", "too_long") in found and (9, "类型", "unknown_value") in found
    assert (9, "类别", "required") in found
    assert result.counts() == {"created": 1, "updated": 0, "unchanged": 0, "error": 7, "rows": 8}
    # Every problem reads as a sentence in Chinese.
    row3 = next(r for r in result.rows if r.number == 3)
    words = [refusals.problem_message(p) for _h, p in row3.problems]
    assert any("菜市场" in w and "社区" in w for w in words)
    assert all(not w.startswith(("unknown", "bad_")) for w in words)


def test_every_representative_problem(world):
    factories.station(region=world["xc"], name="花园站")
    factories.station(region=world["dc"], name="郸城站")
    factories.station(region=world["xc"], name="同名站")
    factories.station(region=world["city"], name="同名站")
    factories.user(Role.STATION_MANAGER, mobile="13900000001")
    content = csv_bytes(
        [
            REP_HEAD,
            ["甲", "13800000001", "县", "", "", "", "花园站"],
            ["乙", "13800000001", "县", "", "", "", "花园站"],  # 3: same mobile as row 2
            ["丙", "13900000001", "县", "", "", "", "花园站"],  # 4: another account's mobile
            ["丁", "12345", "县", "", "", "", "花园站"],  # 5: not a mobile
            ["戊", "13800000005", "部", "x", "2026-01-01", "2025-01-01", "花园站"],  # 6: level, term, dates
            ["己", "13800000006", "县", "", "2021-02-30", "", "郸城站；不存在"],  # 7: bad date, unknown stations
            ["庚", "13800000007", "", "", "", "", ""],  # 8: level and stations required (staff)
            ["辛", "13800000008", "市", "", "", "", "同名站"],  # 9: found in two regions (city staff see both)
        ]
    )
    result = imports.preview(
        factories.user(Role.CONGRESS_STAFF, region_id=world["city"].id), "representatives", content
    )
    found = problems_of(result)
    assert (3, "手机号", "duplicate_in_sheet") in found
    assert (4, "手机号", "mobile_taken") in found
    assert (5, "手机号", "bad_mobile") in found
    assert (6, "代表层级", "unknown_value") in found and (6, "届次", "bad_number") in found
    assert (6, "任期结束", "term_ends_before_start") in found
    assert (7, "任期开始", "bad_date") in found and (7, "联络站", "unknown_station") in found
    assert (8, "代表层级", "required") in found and (8, "联络站", "stations_required") in found
    assert (9, "联络站", "ambiguous_station") in found
    # The county's staff do not see 郸城站: for them it is unknown too.
    xc_result = imports.preview(
        world["xc_staff"], "representatives", csv_bytes([REP_HEAD, ["己", "13800000006", "县", "", "", "", "郸城站"]])
    )
    assert problems_of(xc_result) == [(2, "联络站", "unknown_station")]
    # Written with its region, the name is found.
    fixed = imports.preview(
        world["admin"],
        "representatives",
        csv_bytes([REP_HEAD, ["辛", "13800000008", "市", "", "", "", "411600/同名站"]]),
    )
    assert problems_of(fixed) == []


def test_units_and_categories(world):
    content = csv_bytes(
        [
            ["名称", "类型", "行政区划代码", "上级单位", "接收交办"],
            ["项城市人民政府", "政府", "411681", "", "否"],
            ["项城市住建局", "政府部门", "411681", "项城市人民政府", "是"],
            ["项城市法院", "法院", "411681", "", "也许"],  # 4: yes or no
            ["甲局", "政府部门", "411681", "乙局", ""],
            ["乙局", "政府部门", "411681", "甲局", ""],  # 5-6: a loop
            ["郸城县法院", "法院", "411625", "", ""],  # 7: another county
        ]
    )
    result = imports.preview(world["xc_staff"], "units", content)
    found = problems_of(result)
    assert (4, "接收交办", "unknown_value") in found
    assert (5, "上级单位", "parent_cycle") in found and (6, "上级单位", "parent_cycle") in found
    assert (7, "行政区划代码", "out_of_scope") in found
    assert [r.status for r in result.rows[:2]] == ["created", "created"]
    cats = csv_bytes([["名称", "英文名称", "排序", "默认承办单位"], ["物业管理", "", "99999", "没有这个单位"]])
    staff_result = imports.preview(world["xc_staff"], "categories", cats)
    assert (2, "名称", "out_of_scope") in problems_of(staff_result)
    admin_result = imports.preview(world["admin"], "categories", cats)
    assert problems_of(admin_result) == [(2, "默认承办单位", "unknown_unit"), (2, "排序", "sort_order_out_of_range")]


# --- apply -----------------------------------------------------------------------------------------


def test_stations_with_their_points_are_created_then_reimporting_changes_nothing(world, db):
    staff = world["xc_staff"]
    content = xlsx_bytes(
        station_sheet(
            ["莲花社区联络点", "点", "花园街道联络站", "社区", "411681", "", "", "", ""],
            ["花园街道联络站", "站", "", "社区", "411681", "莲花大道18号", 33.4432, 114.8968, "定位"],
        )
    )
    applied = imports.apply(staff, upload(staff, "stations", content, "stations.xlsx"))
    assert applied.applied and applied.summary["created"] == 2
    db.session.commit()
    station = db.session.scalar(sa.select(Station).where(Station.name == "花园街道联络站"))
    point = db.session.scalar(sa.select(Station).where(Station.name == "莲花社区联络点"))
    assert point.parent is station and point.kind == StationKind.POINT
    assert station.presence_policy == PresencePolicy.GEO and station.latitude == 33.4432
    again = imports.preview(staff, "stations", content)
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 2, "error": 0, "rows": 2}
    second = imports.apply(staff, upload(staff, "stations", content))
    assert second.summary["unchanged"] == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 2
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["station.created", "station.created", "import.applied", "import.applied"]


def test_a_change_is_previewed_field_by_field_and_audited(world, db):
    station = factories.station(region=world["xc"], name="花园街道联络站", category=StationCategory.COMMUNITY)
    staff = world["xc_staff"]
    # Only the columns the sheet has are compared: the phone and hours stay as they are.
    content = csv_bytes(
        [
            ["名称", "类别", "行政区划代码", "地址", "位置"],
            ["花园街道联络站", "产业", "411681", "新址1号", "33.1，114.2"],
        ]
    )
    result = imports.preview(staff, "stations", content)
    assert result.rows[0].status == "updated"
    assert result.rows[0].changes == {
        "类别": ("社区", "产业"),
        "地址": ("项城市莲花大道18号", "新址1号"),
        "纬度": (None, 33.1),
        "经度": (None, 114.2),
    }
    imports.apply(staff, upload(staff, "stations", content))
    assert station.phone == "0394-4321234" and station.category == StationCategory.INDUSTRY
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "station.changed"))
    assert entry.actor_id == staff.id and entry.data["changes"]["address"] == ["项城市莲花大道18号", "新址1号"]
    summary = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "import.applied"))
    assert summary.data["updated"] == 1 and summary.data["kind"] == "stations"


def test_representatives_get_accounts_without_passwords_and_keep_other_counties_stations(world, db):
    here = factories.station(region=world["xc"], name="花园站")
    there = factories.station(region=world["dc"], name="郸城站")
    known = factories.representative([there], name="王建国")
    known.user.mobile = "13800000002"
    staff = world["xc_staff"]
    content = csv_bytes(
        [
            REP_HEAD,
            ["李春华", "13800000001", "县", "18", "2021-10-01", "2026-09-30", "花园站"],
            ["王建国", "13800000002", "市", "", "", "", "花园站"],
        ]
    )
    result = imports.preview(staff, "representatives", content)
    assert [r.status for r in result.rows] == ["created", "updated"]
    assert result.rows[1].changes["联络站"] == ("郸城站", "花园站、郸城站")
    outcome = imports.apply(staff, upload(staff, "representatives", content))
    new = db.session.scalar(sa.select(User).where(User.mobile == "13800000001"))
    assert outcome.summary["new_user_ids"] == [new.id]
    assert new.role == Role.REPRESENTATIVE and not new.has_password and new.representative.stations == [here]
    assert {s.name for s in known.stations} == {"花园站", "郸城站"} and known.level == RepLevel.CITY
    # A new representative gets their own code (代表码); a known one keeps theirs.
    assert new.representative.code and new.representative.code != known.code
    assert normalize_rep_code(new.representative.code) == new.representative.code


def test_all_or_nothing_when_a_late_row_went_wrong_since_the_preview(world, db):
    staff = world["xc_staff"]
    rows = [[f"代表{n}", f"138{n:08d}", "县", "", "", "", "花园站"] for n in range(50)]
    factories.station(region=world["xc"], name="花园站")
    stored = upload(staff, "representatives", csv_bytes([REP_HEAD, *rows]))
    assert imports.preview(staff, "representatives", stored.content).ok
    # Meanwhile someone else took the last row's mobile number.
    factories.user(Role.STATION_MANAGER, mobile="13800000049")
    outcome = imports.apply(staff, stored)
    assert not outcome.applied and problems_of(outcome.preview) == [(51, "手机号", "mobile_taken")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Representative)) == 0
    assert stored.applied_at is None


def test_an_upload_is_applied_once(world, db):
    staff = world["xc_staff"]
    factories.station(region=world["xc"], name="花园站")
    stored = upload(staff, "representatives", csv_bytes([REP_HEAD, ["甲", "13800000001", "县", "", "", "", "花园站"]]))
    first = imports.apply(staff, stored)
    again = imports.apply(staff, stored)
    assert first.applied and not again.applied and again.summary == first.summary
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Representative)) == 1


def test_county_staff_cannot_import_into_another_county(world, db):
    content = csv_bytes([["名称", "类型", "行政区划代码"], ["郸城县法院", "法院", "411625"]])
    staff = world["xc_staff"]
    outcome = imports.apply(staff, upload(staff, "units", content))
    assert not outcome.applied and problems_of(outcome.preview) == [(2, "行政区划代码", "out_of_scope")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0
    # The other county's staff may.
    other = world["dc_staff"]
    assert imports.apply(other, upload(other, "units", content)).applied
    unit = db.session.scalar(sa.select(Unit))
    assert unit.kind == UnitKind.COURT and unit.receives_dispatches


def test_units_under_units_of_the_sheet_and_a_category_with_its_default_unit(world, db):
    admin = world["admin"]
    content = csv_bytes(
        [
            ["名称", "类型", "行政区划代码", "上级单位"],
            ["项城市住建局", "政府部门", "411681", "项城市人民政府"],
            ["项城市人民政府", "政府部门", "411681", ""],
        ]
    )
    assert imports.apply(admin, upload(admin, "units", content)).applied
    dept = db.session.scalar(sa.select(Unit).where(Unit.name == "项城市住建局"))
    assert dept.parent.name == "项城市人民政府"
    cats = csv_bytes([["名称", "英文名称", "排序", "默认承办单位"], ["物业管理", "", "3", "411681/项城市住建局"]])
    assert imports.apply(admin, upload(admin, "categories", cats)).applied
    again = imports.preview(admin, "categories", cats)
    assert again.counts()["unchanged"] == 1


def test_store_upload_keeps_the_bytes_and_their_hash(world):
    content = csv_bytes(station_sheet(["花园站", "站", "", "社区", "411681", "", "", "", ""]))
    stored = upload(world["xc_staff"], "stations", content, "联络站.csv")
    assert stored.content == content and len(stored.sha256) == 64 and stored.filename == "联络站.csv"
    assert imports.upload_of(world["xc_staff"], stored.id) is stored
    assert imports.upload_of(world["dc_staff"], stored.id) is None


def test_the_sample_county_imports_cleanly_and_its_broken_copy_does_not(world, tmp_path, db):
    from devtools import sample_county

    sample_county.ensure_regions()
    files = sample_county.write_sheets(tmp_path, stations=30, representatives=300, units=40)
    for kind in ("townships", "units", "stations", "representatives"):
        outcome = imports.apply(None, imports.store_upload(None, kind, files[kind].name, files[kind].read_bytes()))
        assert outcome.applied, problems_of(outcome.preview)[:5]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Station)) == 30
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Representative)) == 300
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 40
    broken = sample_county.write_sheets(tmp_path, stations=30, representatives=300, units=40, errors=True, ext="csv")
    for kind, at_least in (("townships", 2), ("stations", 4), ("representatives", 7), ("units", 3)):
        result = imports.preview(None, kind, broken[kind].read_bytes())
        assert result.counts()["error"] >= at_least, kind


# --- the command line ------------------------------------------------------------------------------


def test_the_import_command(world, runner, tmp_path, db):
    db.session.commit()  # the command rolls back what it refuses
    sheet = tmp_path / "units.csv"
    sheet.write_bytes(
        csv_bytes([["名称", "类型", "行政区划代码"], ["项城市法院", "法院", "411681"], ["某局", "协会", "999999"]])
    )
    result = runner.invoke(args=["import", "units", str(sheet)])
    assert result.exit_code == 1
    assert "第 3 行 类型" in result.output and "第 3 行 行政区划代码" in result.output and "共 2 行" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0
    sheet.write_bytes(csv_bytes([["名称", "类型", "行政区划代码"], ["项城市法院", "法院", "411681"]]))
    dry = runner.invoke(args=["import", "units", str(sheet), "--dry-run"])
    assert dry.exit_code == 0 and "新增 1" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0
    done = runner.invoke(args=["import", "units", str(sheet)])
    assert done.exit_code == 0 and "新增 1" in done.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 1
    again = runner.invoke(args=["import", "units", str(sheet)])
    assert again.exit_code == 0 and "无变化 1" in again.output
    bad = tmp_path / "old.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    refused = runner.invoke(args=["import", "units", str(bad)])
    assert refused.exit_code == 1 and ".xlsx" in refused.output


def test_the_sample_county_command(world, runner, tmp_path):
    result = runner.invoke(args=["sample-county", str(tmp_path), "--representatives", "20", "--errors", "--csv"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "representatives-errors.csv",
        "representatives.csv",
        "stations-errors.csv",
        "stations.csv",
        "townships-errors.csv",
        "townships.csv",
        "units-errors.csv",
        "units.csv",
    ]


def test_the_sample_sheets_of_a_real_county_bring_its_townships(world, runner, tmp_path, db):
    from models import Region

    assert runner.invoke(args=["sample-county", str(tmp_path), "--county", "999999"]).exit_code != 0
    result = runner.invoke(args=["sample-county", str(tmp_path), "--county", "411681", "--representatives", "20"])
    assert result.exit_code == 0, result.output
    for kind in ("townships", "units", "stations", "representatives"):
        content = (tmp_path / f"{kind}.xlsx").read_bytes()
        outcome = imports.apply(world["xc_staff"], imports.store_upload(world["xc_staff"], kind, kind, content))
        assert outcome.applied, (kind, problems_of(outcome.preview)[:5])
    townships = db.session.scalar(sa.select(sa.func.count()).where(Region.parent_id == world["xc"].id))
    assert townships == 15


TOWNSHIP_HEAD = ["所属县（市、区）代码", "乡镇（街道）代码", "名称"]


def test_townships_are_added_per_county_by_import(world, db):
    from models import Region

    factories.region(code="411681001", name="花园街道", level=RegionLevel.TOWNSHIP, parent=world["xc"])
    content = csv_bytes(
        [
            TOWNSHIP_HEAD,
            ["411681", "411681001", "花园街道"],  # 2: there already: unchanged
            ["411681", "411681002", "水寨街道"],  # 3: new
            ["411681", "411681003000", "东方街道"],  # 4: new, 12 digits
            ["411681", "411625101", "别处镇"],  # 5: another county's code
            ["411625", "411625102", "郸城镇"],  # 6: a county out of scope
            ["411681", "4116810", "短码镇"],  # 7: not a township code
            ["411681", "411681002", "重复街道"],  # 8: code twice in the sheet
            ["411681", "411681004", "水寨街道"],  # 9: name twice under one county
            ["411681", "411681000", "零号镇"],  # 10: 000 is the county itself
        ]
    )
    result = imports.preview(world["xc_staff"], "townships", content)
    found = problems_of(result)
    assert (5, "乡镇（街道）代码", "other_county") in found
    assert (6, "所属县（市、区）代码", "out_of_scope") in found
    assert (7, "乡镇（街道）代码", "bad_township_code") in found
    assert (8, "乡镇（街道）代码", "duplicate_in_sheet") in found
    assert (9, "名称", "duplicate_in_sheet") in found
    assert (10, "乡镇（街道）代码", "not_a_township_code") in found
    assert result.counts() == {"created": 2, "updated": 0, "unchanged": 1, "error": 6, "rows": 9}
    words = [refusals.problem_message(p) for row in result.rows for _h, p in row.problems]
    assert all(not w.startswith(("other_", "bad_", "not_")) for w in words)

    good = csv_bytes([TOWNSHIP_HEAD, ["411681", "411681001", "花园街道办事处"], ["411681", "411681002", "水寨街道"]])
    outcome = imports.apply(world["xc_staff"], upload(world["xc_staff"], "townships", good))
    assert outcome.applied and outcome.summary["created"] == 1 and outcome.summary["updated"] == 1
    names = set(db.session.scalars(sa.select(Region.name).where(Region.parent_id == world["xc"].id)))
    assert names == {"花园街道办事处", "水寨街道"}
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "region.created")) == 1
    again = imports.preview(world["xc_staff"], "townships", good)
    assert again.counts()["unchanged"] == 2
