"""A county of its own making, as import sheets: the stations of its townships and their
liaison points, its representatives and its handling units, written as the import
templates (services.imports) would be filled in, .xlsx or CSV.

`ensure_regions()` adds the made-up regions (样本市, 样本县 and its townships, under codes
no real region uses) so that the sheets import; `write_sheets(folder, ...)` writes them,
and with `errors=True` a copy with deliberate mistakes in a few rows of each sheet (what
the preview must list). Used by `flask sample-county`, tests/e2e and bench/imports.py.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from extensions import db
from models import Region
from models.enums import RegionLevel
from services.imports import COLUMNS, rows_xlsx

CITY_CODE, CITY_NAME = "419900", "样本市"
COUNTY_CODE, COUNTY_NAME = "419901", "样本县"
TOWNSHIPS = (
    "城关镇",
    "东关镇",
    "南顿镇",
    "孙店镇",
    "李寨镇",
    "贾岭镇",
    "高寺镇",
    "新桥镇",
    "付集镇",
    "官会镇",
    "丁集镇",
    "郑郭镇",
    "秣陵镇",
    "王明口镇",
    "范集镇",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "建国春华秀英志强丽娟明军红梅海燕晓东桂兰玉兰文杰国庆德胜淑珍卫东小平金凤立新保国振华"
VILLAGE_FIRST = "东西南北前后大小新老上下高低"
VILLAGE_SECOND = "王李张刘陈杨赵黄周吴庄营集楼寨店桥湾岗庙"
OCCUPATIONS = ("教师", "医生", "村党支部书记", "企业负责人", "农民", "个体工商户", "社区主任", "律师", "工人")
DEPARTMENTS = (
    "发展和改革委员会",
    "教育局",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源局",
    "生态环境分局",
    "住房和城乡建设局",
    "交通运输局",
    "水利局",
    "农业农村局",
    "商务局",
    "文化广电和旅游局",
    "卫生健康委员会",
    "应急管理局",
    "市场监督管理局",
    "城市管理局",
    "医疗保障局",
    "信访局",
    "林业局",
    "供销合作社",
    "退役军人事务局",
    "统计局",
    "审计局",
    "乡村振兴局",
)


@dataclass(frozen=True)
class County:
    """The county the sheets are for: the made-up one, or a real one of the regions list."""

    code: str = COUNTY_CODE
    name: str = COUNTY_NAME

    def township_code(self, n: int) -> str:
        return f"{self.code}{n + 1:03d}"


SAMPLE = County()


# The current term: county and township congresses elected in 2021, serving until the new
# ones meet after the 2026 elections.
TERM_START, TERM_END = "2021-10-01", "2027-01-31"


def ensure_regions() -> Region:
    """The made-up city, county and townships, added when missing; returns the county."""

    def region(code: str, name: str, level: RegionLevel, parent: Region | None) -> Region:
        found = db.session.scalar(sa.select(Region).where(Region.code == code))
        if found is None:
            found = Region(code=code, name=name, level=level, parent=parent, is_active=True)
            db.session.add(found)
            db.session.flush()
        return found

    city = region(CITY_CODE, CITY_NAME, RegionLevel.CITY, None)
    county = region(COUNTY_CODE, COUNTY_NAME, RegionLevel.COUNTY, city)
    for n, name in enumerate(TOWNSHIPS):
        region(SAMPLE.township_code(n), name, RegionLevel.TOWNSHIP, county)
    return county


def _villages(count: int) -> list[str]:
    names = [f"{a}{b}" for a in VILLAGE_FIRST for b in VILLAGE_SECOND]
    return [f"{names[n % len(names)]}{'' if n < len(names) else n // len(names) + 1}村" for n in range(count)]


def station_rows(count: int, county: County = SAMPLE) -> list[dict[str, str]]:
    """One station in each township (and the county's own), then liaison points under them."""
    rows: list[dict[str, str]] = []
    heads = min(count, len(TOWNSHIPS) + 1)
    rows.append(
        {
            "name": f"{county.name}人大代表之家",
            "kind": "站",
            "category": "社区",
            "region": county.code,
            "address": f"{county.name}人民路1号",
            "phone": "0394-5000001",
            "latitude": "33.4432",
            "longitude": "114.8968",
            "opening_hours": "周一至周五 9:00—17:30",
            "presence_policy": "定位",
            "geo_radius_m": "300",
        }
    )
    for n in range(heads - 1):
        rows.append(
            {
                "name": f"{TOWNSHIPS[n]}人大代表联络站",
                "kind": "站",
                "category": "社区",
                "region": county.township_code(n),
                "address": f"{county.name}{TOWNSHIPS[n]}政府院内",
                "phone": f"0394-50{n + 10:05d}",
                "latitude": f"{33.3 + n / 100:.4f}",
                "longitude": f"{114.8 + n / 100:.4f}",
                "opening_hours": "周一至周五 9:00—17:00",
                "presence_policy": "不需证明",
            }
        )
    for n, village in enumerate(_villages(count - heads)):
        township = n % (heads - 1) if heads > 1 else None
        parent = rows[township + 1] if township is not None else rows[0]
        rows.append(
            {
                "name": f"{village}人大代表联络点",
                "kind": "点",
                "parent": parent["name"],
                "category": "社区" if n % 7 else "产业",
                "region": parent["region"],
                "address": f"{village}村委会",
                "opening_hours": "每月5日、15日、25日 9:00—11:30",
            }
        )
    return rows


def representative_rows(count: int, stations: list[dict[str, str]], seed: int = 2026) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        level = "乡" if n % 3 else ("县" if n % 9 else "市")
        serving = [stations[n % len(stations)]["name"]]
        if n % 5 == 0 and len(stations) > 1:
            serving.append(stations[(n * 7 + 1) % len(stations)]["name"])
        rows.append(
            {
                "name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
                "mobile": f"199{n:08d}",
                "level": level,
                "delegation": f"{TOWNSHIPS[n % len(TOWNSHIPS)]}选区",
                "occupation": rng.choice(OCCUPATIONS),
                "term_number": "12" if level == "乡" else "18",
                "term_start": TERM_START,
                "term_end": TERM_END,
                "stations": "、".join(dict.fromkeys(serving)),
                "focus_areas": rng.choice(("教育、养老", "乡村振兴", "生态环境", "道路交通", "医疗卫生")),
            }
        )
    return rows


def township_rows(county: County = SAMPLE) -> list[dict[str, str]]:
    return [{"parent": county.code, "code": county.township_code(n), "name": name} for n, name in enumerate(TOWNSHIPS)]


def unit_rows(count: int, county: County = SAMPLE) -> list[dict[str, str]]:
    government = f"{county.name}人民政府"
    rows = [
        {"name": government, "kind": "政府部门", "region": county.code, "receives_dispatches": "否"},
        {"name": f"{county.name}监察委员会", "kind": "监察委员会", "region": county.code},
        {"name": f"{county.name}人民法院", "kind": "法院", "region": county.code},
        {"name": f"{county.name}人民检察院", "kind": "检察院", "region": county.code},
    ]
    for department in DEPARTMENTS:
        rows.append(
            {"name": f"{county.name}{department}", "kind": "政府部门", "region": county.code, "parent": government}
        )
    for n, township in enumerate(TOWNSHIPS):
        rows.append({"name": f"{township}人民政府", "kind": "政府部门", "region": county.township_code(n)})
    n = 0
    while len(rows) < count:
        n += 1
        rows.append({"name": f"{county.name}第{n}工作专班", "kind": "其他", "region": county.code})
    return rows[:count]


def break_rows(kind: str, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """A copy with mistakes the preview must find, each in its own row."""
    rows = [dict(r) for r in rows]
    if kind == "stations":
        rows[1]["region"] = "419999"  # no such region
        rows[2]["name"] = rows[3]["name"]  # the same station twice in one township
        rows[2]["region"] = rows[3]["region"]
        rows[-1]["category"] = "菜市场"  # not a category
        rows[-2]["latitude"] = "北纬33度"  # not a number
    elif kind == "representatives":
        rows[1]["mobile"] = rows[0]["mobile"]  # the same mobile twice
        rows[2]["mobile"] = "1380000"  # too short
        rows[3]["stations"] = "不存在的联络站"
        rows[4]["term_start"], rows[4]["term_end"] = "2026-10-01", "2021-09-30"
        rows[5]["term_start"] = "2021-02-30"  # no such day
        rows[6]["level"] = "部"
        rows[7]["name"] = ""
    elif kind == "units":
        rows[1]["kind"] = "协会"
        rows[5]["parent"] = "不存在的单位"
        rows[6]["receives_dispatches"] = "也许"
    elif kind == "townships":
        rows[1]["code"] = "419801001"  # another county's code
        rows[2]["name"] = rows[3]["name"]  # two townships of one name
    return rows


def _as_cells(kind: str, rows: list[dict[str, str]]) -> list[list[str]]:
    keys = [c.key for c in COLUMNS[kind] if c.in_template]
    return [[row.get(key, "") for key in keys] for row in rows]


def write_sheet(path: Path, kind: str, rows: list[dict[str, str]]) -> Path:
    """.xlsx or CSV (UTF-8 with a BOM) by the file's extension."""
    cells = _as_cells(kind, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([c.heading for c in COLUMNS[kind] if c.in_template])
            writer.writerows(cells)
    else:
        path.write_bytes(rows_xlsx(kind, cells))
    return path


def write_sheets(
    folder: Path,
    *,
    stations: int = 30,
    representatives: int = 2000,
    units: int = 40,
    errors: bool = False,
    ext: str = "xlsx",
    county: County = SAMPLE,
) -> dict[str, Path]:
    """The county's townships, units, stations and representatives sheets (import them in
    that order)."""
    folder = Path(folder)
    station_list = station_rows(stations, county)
    sheets = {
        "townships": township_rows(county),
        "units": unit_rows(units, county),
        "stations": station_list,
        "representatives": representative_rows(representatives, station_list),
    }
    suffix = "-errors" if errors else ""
    written = {}
    for kind, rows in sheets.items():
        if errors:
            rows = break_rows(kind, rows)
        written[kind] = write_sheet(folder / f"{kind}{suffix}.{ext}", kind, rows)
    return written
