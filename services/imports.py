"""Bulk import of reference data from a spreadsheet, with a preview before anything is saved.

Four kinds: stations, representatives (with the stations they serve at), handling units and
categories, from .xlsx or CSV (UTF-8 with or without a BOM, or GB18030 as Excel in China
saves it). The column headings are a fixed format in Chinese whatever language the person
reads the site in (as the exports are); `template_xlsx` writes a sheet to fill in.

    read_table   the file → its rows, or ImportRefused for the file as a whole
    preview      rows → each one created / updated (the fields that change) / unchanged /
                 error (every problem, with its row number and column heading)
    apply        the same again, then all or nothing: services.reference's save_* for each
                 new or changed row (audited as a change by hand) and one "import.applied"

A row is matched to what is stored by its natural key: a station by its region and name, a
representative by their mobile number, a unit by its region and name, a category by its
name. So importing the same sheet again changes nothing. A column left out of the sheet
leaves that field as it is. Scope is the rows' own: services.reference checks each row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import contains_eager, selectinload

from extensions import db
from models import Category, ImportUpload, Region, Representative, Station, Unit, User, utcnow
from models.enums import PresencePolicy, RepLevel, Role, StationCategory, StationKind, UnitKind
from services import reference, regions
from services.audit import log
from services.concerns import clean_text
from services.errors import DomainError
from services.permissions import Permission, can, manages_region, overseen_stations_clause, region_subtree
from services.privacy import mask_mobile
from services.reference import Problem, Taken
from services.resident_mobile import is_mainland_mobile, normalize_mobile
from services.workdays import FIRST_YEAR, LAST_YEAR, parse_date

KINDS = ("townships", "stations", "representatives", "units", "categories")
MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_ROWS = 20_000
BATCH_ROWS = 500  # rows saved with one flush
XLSX_MAGIC = b"PK\x03\x04"
OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97–2003): openpyxl cannot read it
INSTRUCTIONS_SHEET = "填写说明"


class ImportRefused(DomainError):
    """The file as a whole cannot be read as the kind's sheet. Row problems are not
    refusals: they are listed in the preview."""


def permission_for(kind: str) -> str:
    """Categories are the whole service's (the admin's); the rest congress staff import too."""
    return Permission.IMPORT_CATEGORIES if kind == "categories" else Permission.IMPORT_REFERENCE


def may_import(user, kind: str) -> bool:
    return kind in KINDS and can(user, permission_for(kind))


# --- the columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # the field it fills (services.reference's name), or a key of its own
    heading: str
    required: bool = False
    note: str = ""
    allowed: tuple[str, ...] = ()  # the words shown as allowed values (more are accepted)
    example: str = ""
    in_template: bool = True


YES_NO = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False, "true": True, "false": False}
YES_NO.update({"1": True, "0": False})

# Each enum: the words accepted for it (the first one is the one written back); the stored
# value is accepted too.
STATION_KIND_WORDS = {
    StationKind.STATION: ("站", "联络站"),
    StationKind.POINT: ("点", "联络点"),
    StationKind.POST: ("岗", "代表岗"),
}
STATION_CATEGORY_WORDS = {
    StationCategory.COMMUNITY: ("社区",),
    StationCategory.INDUSTRY: ("产业",),
    StationCategory.ENTERPRISE: ("企业",),
    StationCategory.OUT_OF_TOWN: ("驻外",),
    StationCategory.LEGISLATIVE: ("基层立法联系点", "立法联系点"),
}
PRESENCE_WORDS = {
    PresencePolicy.NONE: ("不需证明", "无", "不需要"),
    PresencePolicy.GEO: ("定位",),
    PresencePolicy.KIOSK: ("站内平板", "平板"),
}
LEVEL_WORDS = {
    RepLevel.NATIONAL: ("全国", "全国人大代表"),
    RepLevel.PROVINCIAL: ("省", "省人大代表"),
    RepLevel.CITY: ("市", "市人大代表"),
    RepLevel.COUNTY: ("县", "县人大代表", "区", "县（区）"),
    RepLevel.TOWNSHIP: ("乡", "乡镇人大代表", "镇", "乡镇"),
}
UNIT_KIND_WORDS = {
    UnitKind.GOVERNMENT: ("政府部门", "政府"),
    UnitKind.SUPERVISION: ("监察委员会", "监委"),
    UnitKind.COURT: ("法院",),
    UnitKind.PROCURATORATE: ("检察院",),
    UnitKind.OTHER: ("其他",),
}


def _words(table: dict) -> tuple[str, ...]:
    return tuple(words[0] for words in table.values())


def _fold(text: str) -> str:
    """How two spellings of one word are compared: full-width forms folded (NFKC), no spaces,
    case ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


_LOOKUPS: dict[int, dict[str, Any]] = {}


def _enum_lookup(table: dict) -> dict[str, Any]:
    """Folded word → member; made once per table (the tables are module constants)."""
    if id(table) in _LOOKUPS:
        return _LOOKUPS[id(table)]
    found: dict[str, Any] = {}
    _LOOKUPS[id(table)] = found
    for member, words in table.items():
        found[_fold(member.value)] = member
        for word in words:
            found[_fold(word)] = member
    return found


SEPARATORS = "、;；,，\n"
REF_HINT = "行政区划代码/名称"

COLUMNS: dict[str, tuple[Column, ...]] = {
    "townships": (
        Column("parent", "所属县（市、区）代码", True, "乡镇（街道）所属县级行政区划的6位代码。", example="411681"),
        Column(
            "code",
            "乡镇（街道）代码",
            True,
            "统计用区划代码：9位（或12位、末3位为000），前6位是所属县的代码。",
            example="411681001",
        ),
        Column("name", "名称", True, "同一县内不能重名。", example="花园街道"),
    ),
    "stations": (
        Column(
            "name", "名称", True, "联络站（点、岗）的全称；同一行政区划内不能重名。", example="花园街道人大代表联络站"
        ),
        Column("kind", "类型", False, "不填为“站”。", _words(STATION_KIND_WORDS), "站"),
        Column(
            "parent",
            "上级联络站",
            False,
            "类型为点或岗时必填：所属联络站的名称（本表中的或已有的）；重名时写成“行政区划代码/名称”。",
        ),
        Column("category", "类别", True, "", _words(STATION_CATEGORY_WORDS), "社区"),
        Column("region", "行政区划代码", True, "所在县（市、区）或乡镇（街道）的行政区划代码。", example="411681"),
        Column("address", "地址", example="莲花大道18号"),
        Column("phone", "电话", example="0394-4321234"),
        Column("latitude", "纬度", False, "数字，如 33.4432；与经度同填或同不填。", example="33.4432"),
        Column("longitude", "经度", False, "数字，如 114.8968。", example="114.8968"),
        Column(
            "position",
            "位置",
            False,
            "可代替纬度、经度两列：从地图应用复制的“纬度, 经度”，如 33.4432, 114.8968。",
            in_template=False,
        ),
        Column("opening_hours", "开放时间", example="周一至周五 9:00—17:30"),
        Column(
            "presence_policy",
            "进站签到方式",
            False,
            "代表进站签到时需要的证明；不填为“不需证明”；“定位”需要填写位置。",
            _words(PRESENCE_WORDS),
            "定位",
        ),
        Column(
            "geo_radius_m",
            "签到半径（米）",
            False,
            "定位签到时离联络站的最远距离，50～5000，不填为300。",
            example="300",
        ),
        Column("intro", "简介"),
    ),
    "representatives": (
        Column("name", "姓名", True, example="李春华"),
        Column("mobile", "手机号", True, "11位手机号，代表用它登录；同一手机号只能有一位代表。", example="13800001234"),
        Column("level", "代表层级", True, "", _words(LEVEL_WORDS), "县"),
        Column("delegation", "代表团或选区", example="花园街道选区"),
        Column("occupation", "职业", example="教师"),
        Column("post", "职务", example="花园小学校长"),
        Column("term_number", "届次", False, "数字，如 18（也可写“第18届”）。", example="18"),
        Column(
            "term_start", "任期开始", False, "日期，如 2021-10-01、2021/10/1 或 2021年10月1日。", example="2021-10-01"
        ),
        Column("term_end", "任期结束", False, "日期，不能早于任期开始。", example="2026-09-30"),
        Column(
            "stations",
            "联络站",
            False,
            "代表进站的联络站名称，多个用“、”或“；”分隔；重名时写成“行政区划代码/名称”。人大工作人员导入时必填。",
            example="花园街道人大代表联络站",
        ),
        Column("bio", "简介"),
        Column("focus_areas", "关注领域", example="教育、养老"),
    ),
    "units": (
        Column("name", "名称", True, "同一行政区划内不能重名。", example="项城市住房和城乡建设局"),
        Column("kind", "类型", True, "一府一委两院。", _words(UNIT_KIND_WORDS), "政府部门"),
        Column("region", "行政区划代码", True, example="411681"),
        Column("parent", "上级单位", False, "上级单位的名称（本表中的或已有的）；重名时写成“行政区划代码/名称”。"),
        Column("receives_dispatches", "接收交办", False, "是否可以向它交办群众诉求；不填为“是”。", ("是", "否"), "是"),
    ),
    "categories": (
        Column("name_zh", "名称", True, "群众提交诉求时看到的类别名称。", example="物业管理"),
        Column("name_en", "英文名称", False, "不填则与名称相同。", example="Property management"),
        Column("sort_order", "排序", False, "数字，小的排在前面；-9999～9999。", example="10"),
        Column(
            "default_unit",
            "默认承办单位",
            False,
            "写成“行政区划代码/单位名称”。",
            example="411681/项城市住房和城乡建设局",
        ),
    ),
}
SHEET_TITLES = {
    "townships": "乡镇街道",
    "stations": "联络站",
    "representatives": "代表",
    "units": "承办单位",
    "categories": "问题类别",
}
# A problem of a field (services.reference's names) is shown under its column.
FIELD_COLUMN = {"region": "region", "latitude": "latitude", "longitude": "longitude"}


def heading_of(kind: str, key: str) -> str:
    for column in COLUMNS[kind]:
        if column.key == key:
            return column.heading
    return ""


def _heading_key(text: str) -> str:
    return _fold(text).rstrip("*")


# --- reading a file ------------------------------------------------------------------------------


@dataclass
class Table:
    headings: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as the spreadsheet shows it, cells)


def _empty(cells: Iterable[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    # openpyxl raises many kinds of error on a damaged or forged file: each means "unreadable".
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise ImportRefused("not_readable") from exc
    try:
        sheets = [ws for ws in workbook.worksheets if ws.title != INSTRUCTIONS_SHEET] or workbook.worksheets
        cells = sheets[0].iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(cells)
            except StopIteration:
                break
            except Exception as exc:
                raise ImportRefused("not_readable") from exc
            number += 1
            yield number, list(values)
    finally:
        workbook.close()


def decode_text(content: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without a BOM), or GB18030 (a superset of GBK),
    which Excel on a Chinese Windows writes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused("not_readable")


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = decode_text(content)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            yield number, list(values)
    except csv.Error as exc:
        raise ImportRefused("not_readable") from exc


def read_table(content: bytes) -> Table:
    """The heading row and the non-empty rows after it. ImportRefused: too_large,
    old_excel, not_readable, too_many_rows, no_headings."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportRefused("too_large", mb=MAX_UPLOAD_MB)
    if content.startswith(OLD_EXCEL_MAGIC):
        raise ImportRefused("old_excel")
    source = _xlsx_rows(content) if content.startswith(XLSX_MAGIC) else _csv_rows(content)
    headings: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in source:
        if _empty(cells):
            continue
        if headings is None:
            headings = [_cell_text(c) for c in cells]
            while headings and not headings[-1]:
                headings.pop()  # spreadsheets keep empty columns at the end
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportRefused("too_many_rows", max=MAX_ROWS)
        rows.append((number, cells))
    if headings is None:
        raise ImportRefused("no_headings")
    return Table(headings, rows)


def match_headings(kind: str, headings: list[str]) -> dict[str, int]:
    """Column key → its index in the row. ImportRefused("bad_headings") names the required
    headings missing, the unknown ones and any written twice."""
    known = {_heading_key(c.heading): c for c in COLUMNS[kind]}
    found: dict[str, int] = {}
    unknown: list[str] = []
    twice: list[str] = []
    for index, heading in enumerate(headings):
        if not heading:
            continue
        column = known.get(_heading_key(heading))
        if column is None:
            unknown.append(heading)
        elif column.key in found:
            twice.append(heading)
        else:
            found[column.key] = index
    missing = [c.heading for c in COLUMNS[kind] if c.required and c.key not in found]
    if missing or unknown or twice:
        raise ImportRefused(
            "bad_headings",
            missing="、".join(missing),
            unknown="、".join(unknown),
            twice="、".join(twice),
            expected="、".join(c.heading for c in COLUMNS[kind] if c.in_template),
        )
    return found


# --- cells ---------------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\r]")


def _cell_text(value: Any) -> str:
    """A cell as text: trimmed (full-width spaces too), numbers without a spurious ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if _CONTROL.search(text):
        text = clean_text(text)  # NUL and friends: PostgreSQL refuses them
    return text.strip()


def _token(text: str) -> str:
    """A value chosen from a list or a number: full-width forms folded, spaces gone."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


EXCEL_EPOCH = date(1899, 12, 30)
SERIAL_FIRST = (date(FIRST_YEAR, 1, 1) - EXCEL_EPOCH).days
SERIAL_LAST = (date(LAST_YEAR + 1, 1, 1) - EXCEL_EPOCH).days


class Cells:
    """One row's cells by column key, and the problems found reading them."""

    def __init__(self, kind: str, number: int, cells: list[Any], index: dict[str, int]):
        self.kind, self.number, self.cells, self.index = kind, number, cells, index
        self.problems: list[tuple[str, Problem]] = []  # (column key, problem)

    def has(self, key: str) -> bool:
        return key in self.index

    def raw(self, key: str) -> Any:
        i = self.index.get(key)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def text(self, key: str) -> str:
        return _cell_text(self.raw(key))

    def problem(self, key: str, code: str, **details) -> None:
        self.problems.append((key, Problem(key, code, details)))

    def required(self, key: str) -> bool:
        if self.text(key):
            return True
        self.problem(key, "required")
        return False

    def choice(self, key: str, table: dict, default=None):
        text = self.text(key)
        if not text:
            return default
        member = _enum_lookup(table).get(_fold(text))
        if member is None:
            self.problem(key, "unknown_value", value=text, allowed="、".join(_words(table)))
            return default
        return member

    def integer(self, key: str, default: int | None = None, *, strip: str = "") -> int | None:
        text = _token(self.text(key)).strip(strip)
        if not text:
            return default
        if re.fullmatch(r"-?\d{1,9}", text):
            return int(text)
        self.problem(key, "bad_number", value=self.text(key))
        return default

    def decimal(self, key: str) -> float | None:
        text = _token(self.text(key))
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or len(text) > 20:
            self.problem(key, "bad_number", value=self.text(key))
            return None
        return value

    def day(self, key: str) -> date | None:
        value = self.raw(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A date cell Excel kept as its serial number; the years parse_date accepts.
            if SERIAL_FIRST <= value < SERIAL_LAST:
                return EXCEL_EPOCH + timedelta(days=int(value))
            self.problem(key, "bad_date", value=self.text(key))
            return None
        text = self.text(key)
        if not text:
            return None
        found = parse_date(_token(text))
        if found is None:
            self.problem(key, "bad_date", value=text)
        return found

    def yes_no(self, key: str, default: bool) -> bool:
        text = self.text(key)
        if not text:
            return default
        value = YES_NO.get(_fold(text))
        if value is None:
            self.problem(key, "unknown_value", value=text, allowed="是、否")
            return default
        return value


def _names(text: str) -> list[str]:
    parts = re.split(f"[{re.escape(SEPARATORS)}]", text)
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


# --- the rows and what they would do -------------------------------------------------------------


@dataclass
class Row:
    number: int
    label: str  # what the row is, for people: a name, with its region or masked mobile
    values: Any = None
    existing: Any = None
    problems: list[tuple[str, Problem]] = field(default_factory=list)  # (column heading, problem)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # heading → (before, after)
    placeholder: Any = None  # the unsaved row other rows of the sheet point to (a parent)
    saved: Any = None
    depth: int = 0

    @property
    def status(self) -> str:
        if self.problems:
            return "error"
        if self.existing is None:
            return "created"
        return "updated" if self.changes else "unchanged"


@dataclass
class Preview:
    kind: str
    rows: list[Row]

    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            counts[row.status] += 1
        counts["rows"] = len(self.rows)
        return counts

    @property
    def ok(self) -> bool:
        return all(not row.problems for row in self.rows)

    def with_status(self, status: str) -> list[Row]:
        return [row for row in self.rows if row.status == status]

    def problem_count(self) -> int:
        return sum(len(row.problems) for row in self.rows)


class Places:
    """Regions by code, read once for the codes a sheet uses."""

    def __init__(self, codes: Iterable[str]):
        wanted = sorted({_token(c) for c in codes if c})
        self.by_code: dict[str, Region] = {}
        for chunk in _chunks(wanted):
            for region in db.session.scalars(sa.select(Region).where(Region.code.in_(chunk))):
                self.by_code[region.code] = region

    def region(self, cells: Cells, key: str = "region") -> Region | None:
        text = _token(cells.text(key))
        if not text:
            cells.problem(key, "required")
            return None
        region = self.by_code.get(text)
        if region is None:
            cells.problem(key, "unknown_region", value=cells.text(key))
        return region


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Named:
    """Rows found by name, as a sheet refers to them: "名称", or "行政区划代码/名称" (or the
    region's name before the slash) where one name is used in two regions."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[Any]] = defaultdict(list)

    def add(self, obj: Any) -> None:
        entries = self.by_name[_fold(obj.name)]
        if not any(e is obj for e in entries):
            entries.append(obj)

    def find(self, text: str, near: Region | None = None) -> tuple[Any | None, str | None]:
        """(the row, None), or (None, "unknown" | "ambiguous")."""
        place, _slash, name = text.rpartition("/")
        candidates = self.by_name.get(_fold(name), [])
        if place:
            folded = _fold(place)
            candidates = [c for c in candidates if folded in (_fold(c.region.code), _fold(c.region.name))]
        if len(candidates) > 1 and near is not None:
            same_region = [c for c in candidates if c.region is near]
            candidates = same_region or candidates
        if not candidates:
            return None, "unknown"
        if len(candidates) > 1:
            return None, "ambiguous"
        return candidates[0], None


def _in_scope_stations(actor: User | None) -> list[Station]:
    query = sa.select(Station).where(Station.is_active.is_(True))
    if actor is not None:
        query = query.where(overseen_stations_clause(actor))
    return list(db.session.scalars(query))


def _in_scope_units(actor: User | None) -> list[Unit]:
    query = sa.select(Unit)
    if actor is not None and actor.role != Role.ADMIN:
        if actor.role != Role.CONGRESS_STAFF or actor.region_id is None:
            return []
        query = query.where(Unit.region_id.in_(region_subtree(actor.region_id)))
    return list(db.session.scalars(query))


def _finish(kind: str, row: Row, cells: Cells, problems: list[Problem]) -> None:
    """The row's reading problems and its check's, each under its column heading."""
    seen: set[tuple[str, str]] = set()
    for key, problem in [*cells.problems, *((p.field, p) for p in problems)]:
        key = "position" if key in ("latitude", "longitude") and cells.has("position") else key
        heading = heading_of(kind, key) or heading_of(kind, "name") or heading_of(kind, "name_zh")
        if (heading, problem.code) in seen:
            continue  # reading and checking may both find an empty required cell
        seen.add((heading, problem.code))
        row.problems.append((heading, problem))


def _diff(kind: str, before: dict, after: dict) -> dict[str, tuple[Any, Any]]:
    return {
        heading_of(kind, key) or key: (before.get(key), value)
        for key, value in after.items()
        if before.get(key) != value
    }


def _shown(value: Any) -> Any:
    """A snapshot's value as the sheet writes it: enums by their Chinese word, lists joined."""
    for table in (STATION_KIND_WORDS, STATION_CATEGORY_WORDS, PRESENCE_WORDS, LEVEL_WORDS, UNIT_KIND_WORDS):
        for member, words in table.items():
            if value == member.value:
                return words[0]
    if isinstance(value, list):
        return "、".join(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _duplicate(seen: dict, key: Any, row: Row, cells: Cells, column: str) -> bool:
    if key in seen:
        cells.problem(column, "duplicate_in_sheet", row=seen[key])
        return True
    seen[key] = row.number
    return False


# stations


def _station_rows(actor: User | None, table: Table, index: dict[str, int], taken: Taken) -> list[Row]:
    kind = "stations"
    all_cells = [Cells(kind, number, cells, index) for number, cells in table.rows]
    places = Places(c.text("region") for c in all_cells)
    existing: dict[tuple[int, str], Station] = {}
    named = Named()
    for station in _in_scope_stations(actor):
        named.add(station)
    for cells in all_cells:
        region = places.by_code.get(_token(cells.text("region")))
        if region is not None and cells.text("name"):
            key = (region.id, cells.text("name"))
            station_id = taken.station_names.get(key)
            if station_id is not None:
                existing[key] = db.session.get(Station, station_id)  # type: ignore[assignment]
    rows: list[Row] = []
    seen: dict = {}
    pending: list[tuple[Row, Cells, str]] = []
    for cells in all_cells:
        name = cells.text("name")
        region = places.region(cells)
        row = Row(cells.number, f"{name} · {region.name}" if region is not None else name)
        current = existing.get((region.id, name)) if region is not None else None
        row.existing = current
        if region is not None and name:
            _duplicate(seen, (region.id, name), row, cells, "name")

        def keep(key: str, default: Any, current=current) -> Any:
            return getattr(current, key) if current is not None else default

        values = reference.StationValues(
            name=name,
            category=cells.choice("category", STATION_CATEGORY_WORDS) or keep("category", StationCategory.COMMUNITY),
            region=region,
            kind=cells.choice("kind", STATION_KIND_WORDS, StationKind.STATION)
            if cells.has("kind")
            else keep("kind", StationKind.STATION),
        )
        if not cells.text("category"):
            cells.problem("category", "required")
        for text_key in ("address", "phone", "opening_hours", "intro"):
            setattr(values, text_key, cells.text(text_key) if cells.has(text_key) else keep(text_key, ""))
        values.presence_policy = (
            cells.choice("presence_policy", PRESENCE_WORDS, PresencePolicy.NONE)
            if cells.has("presence_policy")
            else keep("presence_policy", PresencePolicy.NONE)
        )
        radius = cells.integer("geo_radius_m") if cells.has("geo_radius_m") else None
        values.geo_radius_m = radius if radius is not None else keep("geo_radius_m", 300)
        if cells.has("position") and cells.text("position"):
            position = reference.parse_position(unicodedata.normalize("NFKC", cells.text("position")))
            if position is None:
                cells.problem("position", "bad_position")
            else:
                values.latitude, values.longitude = position
        elif cells.has("latitude") or cells.has("longitude") or cells.has("position"):
            values.latitude, values.longitude = cells.decimal("latitude"), cells.decimal("longitude")
        else:
            values.latitude, values.longitude = keep("latitude", None), keep("longitude", None)
        row.values = values
        if values.kind == StationKind.STATION and region is not None and name:
            # Points and posts of the sheet may belong to it before it is saved.
            row.placeholder = current or Station(name=name, region=region, kind=StationKind.STATION, is_active=True)
            named.add(row.placeholder)
        parent_text = cells.text("parent") if cells.has("parent") else ""
        if not cells.has("parent") and current is not None:
            values.parent = current.parent
        pending.append((row, cells, parent_text))
        rows.append(row)
    for row, cells, parent_text in pending:
        values = row.values
        if parent_text and values.kind != StationKind.STATION:
            found, trouble = named.find(parent_text, values.region)
            if trouble:
                cells.problem("parent", f"{trouble}_parent", value=parent_text)
            values.parent = found
            row.depth = 1
        problems = reference.check_station(actor, row.existing, values, taken=taken)
        _finish(kind, row, cells, problems)
        if not row.problems and row.existing is not None:
            row.changes = _diff(kind, reference.station_snapshot(row.existing), reference.station_snapshot(values))
    return rows


# representatives


def _representative_rows(actor: User | None, table: Table, index: dict[str, int], taken: Taken) -> list[Row]:
    kind = "representatives"
    all_cells = [Cells(kind, number, cells, index) for number, cells in table.rows]
    # Only numbers that can be stored can be found; being digits, they are safe to write into
    # the query itself, which lets PostgreSQL plan each chunk with its values (a prepared
    # statement of 500 parameters was planned as a scan, 0.1 s a chunk).
    mobiles = sorted({m for c in all_cells if is_mainland_mobile(m := normalize_mobile(c.text("mobile")))})
    existing: dict[str, Representative] = {}
    for chunk in _chunks(mobiles):
        listed: sa.BindParameter[list[str]] = sa.bindparam("mobiles", chunk, expanding=True, literal_execute=True)
        for rep in db.session.scalars(
            sa.select(Representative)
            .join(Representative.user)
            .where(User.mobile.in_(listed))
            # One join: the user row is the one the mobile number was found on.
            .options(contains_eager(Representative.user), selectinload(Representative.stations))
        ):
            existing[rep.user.mobile or ""] = rep
    named = Named()
    if "stations" in index:
        for station in _in_scope_stations(actor):
            named.add(station)
    rows: list[Row] = []
    seen: dict = {}
    for cells in all_cells:
        mobile = normalize_mobile(cells.text("mobile"))
        name = cells.text("name")
        row = Row(cells.number, f"{name} · {mask_mobile(mobile) or ''}".strip(" ·"))
        current = existing.get(mobile) if mobile else None
        row.existing = current
        if mobile:
            _duplicate(seen, mobile, row, cells, "mobile")
        cells.required("level")

        def keep(key: str, default: Any, current=current) -> Any:
            return getattr(current, key) if current is not None else default

        values = reference.RepresentativeValues(
            name=name,
            mobile=mobile,
            level=cells.choice("level", LEVEL_WORDS) or keep("level", RepLevel.COUNTY),
        )
        for text_key in ("delegation", "occupation", "post", "bio", "focus_areas"):
            setattr(values, text_key, cells.text(text_key) if cells.has(text_key) else keep(text_key, ""))
        values.term_number = (
            cells.integer("term_number", strip="第届") if cells.has("term_number") else keep("term_number", None)
        )
        values.term_start = cells.day("term_start") if cells.has("term_start") else keep("term_start", None)
        values.term_end = cells.day("term_end") if cells.has("term_end") else keep("term_end", None)
        stations: list[Station] = []
        if cells.has("stations"):
            for token in _names(cells.text("stations")):
                found, trouble = named.find(token)
                if trouble:
                    cells.problem("stations", f"{trouble}_station", station=token)
                elif found is not None:
                    stations.append(found)
        else:
            stations = list(keep("stations", []))
        values.stations = stations
        row.values = values
        problems = reference.check_representative(actor, current, values, taken=taken)
        if any(key == "stations" for key, _p in cells.problems):
            # Its stations were written but not found: that says it already.
            problems = [p for p in problems if p.code != "stations_required"]
        _finish(kind, row, cells, problems)
        if not row.problems and current is not None:
            after = reference.representative_snapshot(None, values)
            after["stations"] = sorted(s.name for s in _stations_after(actor, current, values))
            row.changes = _diff(kind, reference.representative_snapshot(current), after)
        rows.append(row)
    return rows


def _stations_after(actor: User | None, rep: Representative, values: reference.RepresentativeValues) -> list[Station]:
    """The sheet's stations, and those outside the importer's scope that the save keeps."""
    from services.permissions import manages_region

    kept = [s for s in rep.stations if actor is not None and not manages_region(actor, s.region)]
    return list(dict.fromkeys([*values.stations, *kept]))


# units


def _unit_rows(actor: User | None, table: Table, index: dict[str, int], taken: Taken) -> list[Row]:
    kind = "units"
    all_cells = [Cells(kind, number, cells, index) for number, cells in table.rows]
    places = Places(c.text("region") for c in all_cells)
    named = Named()
    for unit in _in_scope_units(actor):
        named.add(unit)
    rows: list[Row] = []
    seen: dict = {}
    pending: list[tuple[Row, Cells, str]] = []
    for cells in all_cells:
        name = cells.text("name")
        region = places.region(cells)
        row = Row(cells.number, f"{name} · {region.name}" if region is not None else name)
        current = None
        if region is not None and name:
            unit_id = taken.unit_names.get((region.id, name))
            current = db.session.get(Unit, unit_id) if unit_id is not None else None
            _duplicate(seen, (region.id, name), row, cells, "name")
        row.existing = current
        if not cells.text("kind"):
            cells.problem("kind", "required")
        values = reference.UnitValues(
            name=name,
            kind=cells.choice("kind", UNIT_KIND_WORDS) or (current.kind if current else UnitKind.OTHER),
            region=region,
            parent=current.parent if current is not None and not cells.has("parent") else None,
            receives_dispatches=cells.yes_no("receives_dispatches", current.receives_dispatches if current else True)
            if cells.has("receives_dispatches")
            else (current.receives_dispatches if current else True),
        )
        row.values = values
        if region is not None and name:
            row.placeholder = current or Unit(
                name=name, kind=values.kind, region=region, is_active=True, receives_dispatches=True
            )
            named.add(row.placeholder)
        pending.append((row, cells, cells.text("parent") if cells.has("parent") else ""))
        rows.append(row)
    by_placeholder = {id(row.placeholder): row for row in rows if row.placeholder is not None}
    for row, cells, parent_text in pending:
        if parent_text:
            found, trouble = named.find(parent_text, row.values.region)
            if trouble:
                cells.problem("parent", f"{trouble}_parent", value=parent_text)
            row.values.parent = found
            if row.placeholder is not None and found is not None and row.placeholder.id is None:
                row.placeholder.parent = found  # for the cycle check below
    for row, cells, _parent_text in pending:
        # Parents of the sheet are saved before their departments; a loop of new units is refused.
        depth, node, steps = 0, row.values.parent, set()
        while node is not None and id(node) in by_placeholder:
            if id(node) in steps or node is row.placeholder:
                cells.problem("parent", "parent_cycle")
                break
            steps.add(id(node))
            depth += 1
            node = by_placeholder[id(node)].values.parent
        row.depth = depth
        problems = reference.check_unit(actor, row.existing, row.values, taken=taken)
        _finish(kind, row, cells, problems)
        if not row.problems and row.existing is not None:
            row.changes = _diff(kind, reference.unit_snapshot(row.existing), reference.unit_snapshot(row.values))
    return rows


# townships (乡镇、街道): the official list stops at counties; each county adds its own

# A region's refusal (services.regions) is shown under this column.
TOWNSHIP_FIELD = {"parent_inactive": "parent", "no_townships_here": "parent", "name_required": "name"}


def _township_rows(actor: User | None, table: Table, index: dict[str, int], taken: Taken) -> list[Row]:
    kind = "townships"
    all_cells = [Cells(kind, number, cells, index) for number, cells in table.rows]
    places = Places(c.text("parent") for c in all_cells)
    rows: list[Row] = []
    seen_codes: dict = {}
    seen_names: dict = {}
    for cells in all_cells:
        code, name = _token(cells.text("code")), cells.text("name")
        parent = places.region(cells, "parent")
        row = Row(cells.number, f"{name} · {code}")
        rows.append(row)
        row.values = (parent, code, name)
        if not code:
            cells.problem("code", "required")
        else:
            _duplicate(seen_codes, code, row, cells, "code")
        if parent is not None and name:
            _duplicate(seen_names, (parent.id, name), row, cells, "name")
        if parent is not None and actor is not None and not manages_region(actor, parent):
            cells.problem("parent", "out_of_scope")
        elif parent is not None and code:
            existing = regions.township_by_code(code)
            row.existing = existing
            try:
                if existing is None:
                    regions.check_township(parent, code, name)
                elif existing.parent_id != parent.id:
                    cells.problem("code", "code_taken", region_code=existing.code, name=existing.name)
                elif existing.name != name:
                    regions.check_name(name, parent, other_than=existing)
                    row.changes = {heading_of(kind, "name"): (existing.name, name)}
            except regions.RegionRefused as refused:
                key = TOWNSHIP_FIELD.get(refused.code, "name" if refused.code.startswith("name") else "code")
                cells.problem(key, refused.code, **refused.details)
        _finish(kind, row, cells, [])
    return rows


# categories


def _category_rows(actor: User | None, table: Table, index: dict[str, int], taken: Taken) -> list[Row]:
    kind = "categories"
    all_cells = [Cells(kind, number, cells, index) for number, cells in table.rows]
    named = Named()
    if "default_unit" in index:
        for unit in db.session.scalars(sa.select(Unit).where(Unit.is_active.is_(True))):
            named.add(unit)
    rows: list[Row] = []
    seen: dict = {}
    for cells in all_cells:
        name = cells.text("name_zh")
        row = Row(cells.number, name)
        category_id = taken.category_names.get(name) if name else None
        current = db.session.get(Category, category_id) if category_id is not None else None
        row.existing = current
        if name:
            _duplicate(seen, name, row, cells, "name_zh")
        values = reference.CategoryValues(name_zh=name)
        name_en = cells.text("name_en") if cells.has("name_en") else ""
        # An empty English name is the Chinese one (as a new category gets it).
        values.name_en = name_en or (current.name_en if current is not None else "")
        order = cells.integer("sort_order") if cells.has("sort_order") else None
        values.sort_order = order if order is not None else (current.sort_order if current else 0)
        if cells.has("default_unit"):
            text = cells.text("default_unit")
            if text:
                found, trouble = named.find(text)
                if trouble:
                    cells.problem("default_unit", f"{trouble}_unit", value=text)
                values.default_unit = found
        elif current is not None:
            values.default_unit = current.default_unit
        row.values = values
        problems = reference.check_category(actor, current, values, taken=taken)
        _finish(kind, row, cells, problems)
        if not row.problems and current is not None:
            after = reference.category_snapshot(values)
            after["name_en"] = values.name_en or values.name_zh
            row.changes = _diff(kind, reference.category_snapshot(current), after)
        rows.append(row)
    return rows


BUILDERS = {
    "townships": _township_rows,
    "stations": _station_rows,
    "representatives": _representative_rows,
    "units": _unit_rows,
    "categories": _category_rows,
}


def preview(actor: User | None, kind: str, content: bytes, *, taken: Taken | None = None) -> Preview:
    """What importing `content` would do; nothing is written. `actor` None: the system
    (the command line), whose scope is everything."""
    if kind not in KINDS:
        raise ImportRefused("unknown_kind")
    table = read_table(content)
    index = match_headings(kind, table.headings)
    if not table.rows:
        raise ImportRefused("no_rows")
    db.session.flush()  # the caller's pending changes count: they are what is stored
    # The whole preview reads; nothing it makes up (a parent of the sheet) is to be saved.
    with db.session.no_autoflush:
        rows = BUILDERS[kind](actor, table, index, taken or Taken.load())
    for row in rows:
        row.changes = {heading: (_shown(a), _shown(b)) for heading, (a, b) in row.changes.items()}
    return Preview(kind, rows)


# --- apply ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    preview: Preview
    applied: bool
    summary: dict


def _resolved(obj: Any, rows_by_placeholder: dict[int, Row]) -> Any:
    """A parent made up for the preview → the row saved for it."""
    row = rows_by_placeholder.get(id(obj))
    if row is not None and row.saved is not None:
        return row.saved
    return obj


def apply(actor: User | None, upload: ImportUpload) -> Outcome:
    """Check the upload's rows again (things may have changed since the preview) and, if
    none has a problem, save every new or changed row: all or nothing, in the caller's
    transaction (a refused save is a bug: the caller rolls back). An upload already applied
    is not applied again: its outcome is returned."""
    locked = db.session.scalar(sa.select(ImportUpload).where(ImportUpload.id == upload.id).with_for_update())
    assert locked is not None
    if locked.applied_at is not None:
        return Outcome(Preview(locked.kind, []), False, dict(locked.summary))
    taken = Taken.load()
    result = preview(actor, locked.kind, locked.content, taken=taken)
    if not result.ok:
        return Outcome(result, False, {})
    counts = result.counts()
    placeholders = {id(row.placeholder): row for row in result.rows if row.placeholder is not None}
    new_rows: list[Row] = []
    batch = reference.Batch()
    depth = 0
    for row in sorted(result.rows, key=lambda r: r.depth):  # stable: the sheet's order otherwise
        if row.depth != depth or len(batch.pending) >= BATCH_ROWS:
            batch.flush()  # parents before their children; memory in bounds
            depth = row.depth
        if row.status == "unchanged":
            row.saved = row.existing
            continue
        values = row.values
        if locked.kind == "townships":
            parent, code, name = values
            if row.existing is None:
                row.saved = regions.add_township(actor, parent, code, name)
            else:
                row.saved = regions.rename(actor, row.existing, name)
        elif locked.kind == "stations":
            values.parent = _resolved(values.parent, placeholders) if values.parent is not None else None
            row.saved = reference.save_station(actor, row.existing, values, taken=taken, batch=batch)
        elif locked.kind == "representatives":
            row.saved = reference.save_representative(
                actor, row.existing, values, keep_other_stations=True, taken=taken, batch=batch
            )
            if row.existing is None:
                new_rows.append(row)
        elif locked.kind == "units":
            values.parent = _resolved(values.parent, placeholders) if values.parent is not None else None
            row.saved = reference.save_unit(actor, row.existing, values, taken=taken, batch=batch)
        else:
            row.saved = reference.save_category(actor, row.existing, values, taken=taken, batch=batch)
    batch.flush()
    new_user_ids = [row.saved.user_id for row in new_rows]
    summary = {
        "kind": locked.kind,
        "rows": counts["rows"],
        "created": counts["created"],
        "updated": counts["updated"],
        "unchanged": counts["unchanged"],
        "new_user_ids": new_user_ids,
    }
    locked.applied_at = utcnow()
    locked.summary = summary
    log(
        actor,
        "import.applied",
        locked,
        kind=locked.kind,
        filename=locked.filename,
        rows=counts["rows"],
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
    )
    db.session.flush()
    return Outcome(result, True, summary)


# --- uploads -------------------------------------------------------------------------------------


def store_upload(actor: User | None, kind: str, filename: str, content: bytes) -> ImportUpload:
    """Keep an uploaded sheet for its preview and apply. The file as a whole is checked
    here (ImportRefused: size, format, headings, no rows); its rows on the preview."""
    if kind not in KINDS:
        raise ImportRefused("unknown_kind")
    table = read_table(content)
    match_headings(kind, table.headings)
    if not table.rows:
        raise ImportRefused("no_rows")
    upload = ImportUpload(
        kind=kind,
        filename=(filename or "")[:200],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        created_by_id=actor.id if actor is not None else None,
        summary={},
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def upload_of(user: User, upload_id: int) -> ImportUpload | None:
    """An upload, for whoever uploaded it only."""
    upload = db.session.get(ImportUpload, upload_id)
    if upload is None or upload.created_by_id != user.id:
        return None
    return upload


def recent_uploads(user: User, limit: int = 10) -> list[ImportUpload]:
    return list(
        db.session.scalars(
            sa.select(ImportUpload)
            .where(ImportUpload.created_by_id == user.id)
            .order_by(ImportUpload.id.desc())
            .limit(limit)
        )
    )


# --- templates to fill in ------------------------------------------------------------------------


def _example(kind: str, column: Column, region_code: str) -> str:
    if column.key in ("region",):
        return region_code
    if column.key == "default_unit":
        return f"{region_code}/项城市住房和城乡建设局"
    return column.example


def template_rows(kind: str, region_code: str = "411681") -> tuple[list[str], list[str]]:
    columns = [c for c in COLUMNS[kind] if c.in_template]
    return [c.heading for c in columns], [_example(kind, c, region_code) for c in columns]


def template_xlsx(kind: str, region_code: str = "411681") -> bytes:
    """The sheet to fill in: the headings, one example row; a second sheet 填写说明 lists
    every column, whether it is required, and its allowed values."""
    from services import xlsx  # the exports' sheet layout: bold frozen headings
    from services.exports import xlsx_bytes

    headings, example = template_rows(kind, region_code)
    book = xlsx.Workbook(f"{SHEET_TITLES[kind]}导入模板")
    book.sheet(SHEET_TITLES[kind], headings, [example], [max(12, len(h) * 2 + 4) for h in headings])
    help_rows: list[list] = [
        [
            c.heading,
            "必填" if c.required else "选填",
            "、".join(c.allowed),
            c.note,
        ]
        for c in COLUMNS[kind]
    ]
    help_rows.append([])
    help_rows.append(["说明", "", "", "第1行是列名，请勿修改；第2行是示例，导入前请删除或改成真实内容。"])
    help_rows.append(["", "", "", f"每个文件最多 {MAX_ROWS} 行、{MAX_UPLOAD_MB} MB；也可另存为 CSV（UTF-8 或 GBK）。"])
    help_rows.append(["", "", "", "已有的记录按名称（代表按手机号）找到并更新；表中没有的列保持原样。"])
    book.sheet(INSTRUCTIONS_SHEET, ("列名", "是否必填", "可填写的值", "说明"), help_rows, (16, 10, 36, 70))
    return xlsx_bytes(book)


def template_csv(kind: str, region_code: str = "411681") -> bytes:
    from services.exports import _csv_bytes  # UTF-8 with a BOM, as Excel reads Chinese

    headings, example = template_rows(kind, region_code)
    return _csv_bytes(headings, [example])


def template_filename(kind: str, ext: str) -> str:
    return f"{SHEET_TITLES[kind]}导入模板.{ext}"


def rows_xlsx(kind: str, rows: list[list[Any]]) -> bytes:
    """A sheet of the kind's template headings and `rows` (devtools and tests write with it)."""
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(SHEET_TITLES[kind])
    ws.append([c.heading for c in COLUMNS[kind] if c.in_template])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
