"""`flask seed-scale`: DESIGN.md's scale budget in a database, for the benchmark.

20,000 stations, 200,000 representatives, 1,000,000 concerns and 1,000,000 duty rows by
default (10,000,000 on request), generated from one seeded random source and streamed
into PostgreSQL with COPY. SQLite takes only the small size (executemany), which keeps
the generator testable. Every row is generated already shaped like real data:

- regions: one province, its cities, their counties, their townships (codes under a
  two-digit prefix that no real province uses, and that no earlier run took);
- stations in the townships and counties (a tenth are liaison points under a station),
  two per station manager, each county's handling units (一府一委两院) and the city's;
- representatives at one station each, a fifth of them at a second one;
- concerns in time order over three years, busier lately, some stations far busier
  than others; old ones mostly closed, recent ones anywhere in the loop, a few stuck
  past their deadline (overdue); assigned to a representative serving at the station,
  dispatched to a unit of the station's county or city; each with its event trail;
- duties in time order over three years, some representatives on duty now, and two
  weeks of roster from today.

Rows carry explicit ids (above whatever the tables hold) so that they can refer to each
other without a round trip; the sequences are moved past them at the end. One password
hash serves every account (hashing a million times would be the whole run).
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as clock
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from devtools.demo import CATEGORIES, CITY_UNITS, COUNTY_UNITS, ROSTER_HOURS, SCALE_CONTENTS
from extensions import db
from models import Category, Region, Representative, utcnow
from models.enums import ConcernAction as A
from services import figure_cells
from services.clock import local_today
from services.codes import ALPHABET, new_rep_code
from services.concern_flow import CONCERN_FLOW

# Published on purpose, like the demo password: bench accounts on a bench database.
SCALE_PASSWORD = "mashang-scale"  # noqa: S105


@dataclass(frozen=True)
class ScaleSize:
    stations: int = 20_000
    representatives: int = 200_000
    concerns: int = 1_000_000
    duties: int = 1_000_000
    cities: int = 18
    counties_per_city: int = 10
    townships_per_county: int = 12
    events: bool = True
    seed: int = 20_240_411


BUDGET = ScaleSize()
# Enough of everything to exercise every path; what SQLite is allowed.
SMALL = ScaleSize(
    stations=120,
    representatives=1_200,
    concerns=6_000,
    duties=6_000,
    cities=3,
    counties_per_city=3,
    townships_per_county=4,
)
SQLITE_MAX_CONCERNS = 50_000
# Bumped whenever the generator makes different data: bench/inbox.py then seeds again.
GENERATOR_VERSION = 2
# A rare word for the word search's benchmark (bench/inbox.py): one concern in
# RARE_WORD_EVERY tells of a loose manhole cover; none of the 64 demo texts has the word.
RARE_WORD = "窨井"
RARE_WORD_SENTENCE = "另外，小区门口的窨井盖松了，踩上去直晃。"
RARE_WORD_EVERY = 20_011


class ScaleRefused(Exception):
    """Why seed-scale will not run here; the CLI shows the message."""


# --- writing rows ------------------------------------------------------------------------


class _Sink:
    """Rows into a table: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self):
        self.conn = db.session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"

    def write(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        count = 0
        if self.postgres:
            raw = self.conn.connection.driver_connection
            assert raw is not None  # an open connection has its driver's
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        target = db.metadata.tables[table]
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, 5_000)):
            self.conn.execute(target.insert(), [dict(zip(columns, row, strict=True)) for row in chunk])
            count += len(chunk)
        return count


def _max_id(table: str) -> int:
    return db.session.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()  # noqa: S608 (our names)


def _code(n: int, length: int, multiplier: int) -> str:
    """A code of `length` characters from the station alphabet, one per n: n ↦ n·m mod 31^length
    is a bijection (m is not a multiple of 31), so different ids never share a code."""
    x = (n * multiplier + 7_777) % (31**length)
    chars = []
    for _ in range(length):
        x, r = divmod(x, 31)
        chars.append(ALPHABET[r])
    return "".join(chars)


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
_GIVEN = "建国秀英桂兰志强丽娟明华玉梅海峰春燕文静立新红霞振宇德胜淑芬永刚晓燕东升长青伟敏"


def _person(n: int) -> str:
    given = _GIVEN[(n * 7) % len(_GIVEN)] + ("" if n % 3 == 0 else _GIVEN[(n * 13 + 5) % len(_GIVEN)])
    return _SURNAMES[n % len(_SURNAMES)] + given


# --- the plan: where every row goes ------------------------------------------------------


@dataclass
class _Plan:
    size: ScaleSize
    now: datetime
    prefix: str
    password_hash: str
    region_base: int
    unit_base: int
    station_base: int
    user_base: int
    rep_base: int
    concern_base: int
    categories: list[int] = field(default_factory=list)  # ids, in CATEGORIES order

    @property
    def counties(self) -> int:
        return self.size.cities * self.size.counties_per_city

    @property
    def townships(self) -> int:
        return self.counties * self.size.townships_per_county

    # Regions: the province, the cities, the counties, the townships, in that order.
    def city_region(self, c: int) -> int:
        return self.region_base + 2 + c

    def county_region(self, k: int) -> int:
        return self.region_base + 2 + self.size.cities + k

    def township_region(self, t: int) -> int:
        return self.region_base + 2 + self.size.cities + self.counties + t

    # Stations: station i is in county i % counties, so i and i + counties are neighbours.
    def station_county(self, i: int) -> int:
        return i % self.counties

    def station_region(self, i: int) -> int:
        county = self.station_county(i)
        if (i // self.counties) % 10 < 3:  # a town's or district's own station, at county level
            return self.county_region(county)
        township = county * self.size.townships_per_county + (i // self.counties) % self.size.townships_per_county
        return self.township_region(township)

    # Units: every city's, then every county's.
    def city_unit(self, c: int, k: int) -> int:
        return self.unit_base + 1 + c * len(CITY_UNITS) + k

    def county_unit(self, k: int, j: int) -> int:
        return self.unit_base + 1 + self.size.cities * len(CITY_UNITS) + k * len(COUNTY_UNITS) + j

    @property
    def units(self) -> int:
        return self.size.cities * len(CITY_UNITS) + self.counties * len(COUNTY_UNITS)

    # Managers: manager m looks after two neighbouring stations of one county.
    def managed(self, m: int) -> tuple[int, ...]:
        q, county = divmod(m, self.counties)
        first = county + 2 * q * self.counties
        second = first + self.counties
        return (first, second) if second < self.size.stations else (first,)

    @cached_property
    def managers(self) -> int:
        q, rest = divmod(self.size.stations, 2 * self.counties)
        return q * self.counties + min(rest, self.counties)

    # Users: province staff, city staff, county staff, managers, unit handlers, representatives.
    def staff_user(self, offset: int) -> int:
        return self.user_base + 1 + offset

    def county_staff_user(self, k: int) -> int:
        return self.staff_user(1 + self.size.cities + k)

    def manager_user(self, m: int) -> int:
        return self.staff_user(1 + self.size.cities + self.counties + m)

    def handler_user(self, unit_id: int) -> int:
        return self.staff_user(1 + self.size.cities + self.counties + self.managers + unit_id - self.unit_base - 1)

    def rep_user(self, r: int) -> int:
        return self.staff_user(1 + self.size.cities + self.counties + self.managers + self.units + r)

    def rep(self, r: int) -> int:
        return self.rep_base + 1 + r

    # Representative r serves at station r % stations; every fifth also at a second one.
    def second_station(self, r: int) -> int | None:
        if r % 5 != 0:
            return None
        other = (r * 7 + 3) % self.size.stations
        return None if other == r % self.size.stations else other

    def reps_at(self, station: int) -> int:
        """How many representatives have `station` as their first station."""
        reps, stations = self.size.representatives, self.size.stations
        return 0 if station >= reps else (reps - station - 1) // stations + 1


def _plan(size: ScaleSize, now: datetime) -> _Plan:
    taken = set(db.session.scalars(sa.select(sa.func.substr(Region.code, 1, 2)).distinct()))
    prefix = next((p for p in map(str, range(99, 79, -1)) if p not in taken), None)
    if prefix is None:
        raise ScaleRefused("No free region code prefix left (80–99 all used): use a fresh database.")
    return _Plan(
        size=size,
        now=now,
        prefix=prefix,
        password_hash=generate_password_hash(SCALE_PASSWORD),
        region_base=_max_id("region"),
        unit_base=_max_id("unit"),
        station_base=_max_id("station"),
        user_base=_max_id("user_account"),
        rep_base=_max_id("representative"),
        concern_base=_max_id("concern"),
    )


# --- the generators ----------------------------------------------------------------------


def _regions(p: _Plan, level: str) -> Iterator[tuple]:
    s = p.size
    if level == "province":
        yield (p.region_base + 1, f"{p.prefix}0000", f"规模测试{p.prefix}省", "province", None)
    elif level == "city":
        for c in range(s.cities):
            yield (p.city_region(c), f"{p.prefix}{c + 1:02d}00", f"规模{c + 1:02d}市", "city", p.region_base + 1)
    elif level == "county":
        for k in range(p.counties):
            c, n = divmod(k, s.counties_per_city)
            name = f"规模{c + 1:02d}市{n + 1:02d}县"
            yield (p.county_region(k), f"{p.prefix}{c + 1:02d}{n + 1:02d}", name, "county", p.city_region(c))
    else:
        for t in range(p.townships):
            k, n = divmod(t, s.townships_per_county)
            c, kn = divmod(k, s.counties_per_city)
            code = f"{p.prefix}{c + 1:02d}{kn + 1:02d}{n + 1:03d}"
            yield (
                p.township_region(t),
                code,
                f"规模{c + 1:02d}市{kn + 1:02d}县{n + 1:02d}镇",
                "township",
                p.county_region(k),
            )


def _unit_rows(p: _Plan) -> Iterator[tuple]:
    for c in range(p.size.cities):
        for k, (suffix, kind) in enumerate(CITY_UNITS):
            yield (p.city_unit(c, k), f"规模{c + 1:02d}市{suffix}", kind.value, p.city_region(c), True)
    for county in range(p.counties):
        c, n = divmod(county, p.size.counties_per_city)
        for j, (suffix, kind) in enumerate(COUNTY_UNITS):
            name = f"规模{c + 1:02d}市{n + 1:02d}县{suffix}"
            yield (p.county_unit(county, j), name, kind.value, p.county_region(county), True)


_HOURS = ("周一至周五 9:00–12:00，14:30–17:30", clock(9, 0), clock(17, 30))
_STATION_CATEGORIES = ("community",) * 6 + ("industry", "industry", "enterprise", "legislative")


def _station_rows(p: _Plan, points: bool) -> Iterator[tuple]:
    """Stations first (points=False), then the liaison points under them."""
    for i in range(p.size.stations):
        county = p.station_county(i)
        # Every tenth station of a county is a liaison point under the county's station before it.
        is_point = (i // p.counties) % 10 == 9
        if is_point != points:
            continue
        kind, parent = ("point", p.station_base + 1 + i - p.counties) if is_point else ("station", None)
        c, n = divmod(county, p.size.counties_per_city)
        name = f"规模{c + 1:02d}市{n + 1:02d}县第{i // p.counties + 1}{'联络点' if is_point else '人大代表联络站'}"
        text, opens, closes = _HOURS
        created = p.now - timedelta(days=1_100)
        yield (
            p.station_base + 1 + i,
            _code(p.station_base + 1 + i, 7, 104_729),
            name,
            kind,
            _STATION_CATEGORIES[i % len(_STATION_CATEGORIES)],
            parent,
            p.station_region(i),
            f"{name}党群服务中心一楼",
            33.0 + (i % 1000) / 1000,
            114.0 + (i // 1000 % 1000) / 1000,
            text,
            opens,
            closes,
            f"0394-{1_000_000 + i % 9_000_000}",
            "群众扫码就能看到在站代表、随时反映问题，意见建议按“六单制”闭环办理。",
            "none",
            300,
            True,
            created,
            created,
        )


_LEVELS = (("national", 5), ("provincial", 30), ("city", 120), ("county", 350), ("township", 495))
_LEVEL_CUT = list(itertools.accumulate(w for _l, w in _LEVELS))


def _user_rows(p: _Plan) -> Iterator[tuple]:
    s, h, t = p.size, p.password_hash, p.now - timedelta(days=1_100)

    def row(user_id, username, name, role, region=None, unit=None):
        return (user_id, username, name, h, role, region, unit, True, 0, 0, t, t)

    yield row(p.staff_user(0), f"scale_u{p.staff_user(0)}", "省人大常委会代表工委", "congress_staff", p.region_base + 1)
    for c in range(s.cities):
        uid = p.staff_user(1 + c)
        yield row(uid, f"scale_u{uid}", f"规模{c + 1:02d}市人大代表工委", "congress_staff", p.city_region(c))
    for k in range(p.counties):
        uid = p.county_staff_user(k)
        yield row(uid, f"scale_u{uid}", f"{_person(k)}（县人大代表工委）", "congress_staff", p.county_region(k))
    for m in range(p.managers):
        uid = p.manager_user(m)
        yield row(uid, f"scale_u{uid}", f"{_person(m + 11)}（联络员）", "station_manager")
    for u in range(p.units):
        unit_id = p.unit_base + 1 + u
        uid = p.handler_user(unit_id)
        yield row(uid, f"scale_u{uid}", f"{_person(u + 29)}（承办单位）", "unit_handler", None, unit_id)
    for r in range(s.representatives):
        uid = p.rep_user(r)
        yield row(uid, f"scale_u{uid}", _person(r), "representative")


def _rep_rows(p: _Plan) -> Iterator[tuple]:
    # The codes in use are read now, not when the first row is asked for: that is inside
    # the COPY, whose connection would wait for itself.
    codes = set(db.session.scalars(sa.select(Representative.code)))

    def rows() -> Iterator[tuple]:
        for r in range(p.size.representatives):
            level = _LEVELS[bisect.bisect_right(_LEVEL_CUT, r * 7 % 1000)][0]
            yield (p.rep(r), p.rep_user(r), new_rep_code(codes), level, "", "", "")

    return rows()


def _rep_station_rows(p: _Plan) -> Iterator[tuple]:
    for r in range(p.size.representatives):
        yield (p.rep(r), p.station_base + 1 + r % p.size.stations)
        if (other := p.second_station(r)) is not None:
            yield (p.rep(r), p.station_base + 1 + other)


def _manager_rows(p: _Plan) -> Iterator[tuple]:
    for m in range(p.managers):
        for station in p.managed(m):
            yield (p.manager_user(m), p.station_base + 1 + station)


_DUTY_STATUS = (("closed", 900), ("auto_closed", 60), ("voided", 40))
_DUTY_CUT = list(itertools.accumulate(w for _s, w in _DUTY_STATUS))
_METHOD = (("qr", 800), ("kiosk", 100), ("manual", 100))
_METHOD_CUT = list(itertools.accumulate(w for _m, w in _METHOD))
_THREE_YEARS = timedelta(days=1_095)


def _duty_rows(p: _Plan, rnd: random.Random) -> Iterator[tuple]:
    s, tag = p.size, p.station_base
    count = s.duties
    for k in range(count):
        # In time order, like real check-ins, a little busier lately.
        moment = p.now - _THREE_YEARS * (1 - (k / count) ** 0.8)
        day = moment.replace(hour=1, minute=0, second=0, microsecond=0)
        checked_in = day + timedelta(minutes=rnd.randrange(0, 360))
        r = rnd.randrange(s.representatives)
        second = p.second_station(r)
        station = second if second is not None and rnd.random() < 0.3 else r % s.stations
        status = _DUTY_STATUS[bisect.bisect_right(_DUTY_CUT, rnd.randrange(1000))][0]
        method = _METHOD[bisect.bisect_right(_METHOD_CUT, rnd.randrange(1000))][0]
        checked_out = checked_in + timedelta(minutes=rnd.randrange(60, 240))
        if checked_out > p.now:
            checked_in, checked_out = p.now - timedelta(hours=5), p.now - timedelta(hours=2)
        yield (
            p.station_base + 1 + station,
            p.rep(r),
            checked_in,
            checked_out,
            method,
            status,
            f"scale-{tag}-{k}",
            rnd.uniform(5, 250) if method == "qr" else None,
            rnd.randrange(0, 6),
            "",
            "",
            checked_in,
            checked_out,
        )
    # On duty now: the first representative of every fifth station (one open duty each).
    for station in range(0, min(s.stations, s.representatives), 5):
        checked_in = p.now - timedelta(minutes=rnd.randrange(10, 180))
        yield (
            p.station_base + 1 + station,
            p.rep(station),
            checked_in,
            None,
            "qr",
            "open",
            f"scale-{tag}-open-{station}",
            rnd.uniform(5, 250),
            0,
            "",
            "",
            checked_in,
            checked_in,
        )


def _slot_rows(p: _Plan) -> Iterator[tuple]:
    today = local_today()
    days = [today + timedelta(days=d) for d in range(14) if (today + timedelta(days=d)).weekday() < 5]
    for station in range(p.size.stations):
        reps = p.reps_at(station)
        if not reps:
            continue
        for n, (day, (starts, ends)) in enumerate(itertools.product(days, ROSTER_HOURS)):
            r = station + p.size.stations * (n % reps)
            yield (p.station_base + 1 + station, p.rep(r), day, starts, ends)


# Concerns: the status mix by age (days since filed), and how long each step takes.
_MIX = (
    (2, (("submitted", 55), ("accepted", 25), ("dispatched", 10), ("rejected", 5), ("merged", 3), ("withdrawn", 2))),
    (
        25,
        (
            ("submitted", 4),
            ("accepted", 12),
            ("dispatched", 32),
            ("replied", 14),
            ("confirmed", 10),
            ("closed", 20),
            ("rejected", 5),
            ("merged", 2),
            ("withdrawn", 1),
        ),
    ),
    (
        None,
        (
            ("closed", 860),
            ("rejected", 60),
            ("merged", 30),
            ("withdrawn", 20),
            ("dispatched", 15),
            ("replied", 8),
            ("accepted", 4),
            ("submitted", 3),
        ),
    ),
)
_MIX_CUT = [(limit, [s for s, _w in mix], list(itertools.accumulate(w for _s, w in mix))) for limit, mix in _MIX]
# Calendar days a stage may take (the working-day deadlines of CONCERN_STAGE_DAYS, roughly).
_STAGE_DAYS = {"submitted": 2.8, "accepted": 4.2, "dispatched": 21.0, "replied": 4.2, "confirmed": 7.0}
_RATINGS = ("satisfied",) * 16 + ("basically_satisfied",) * 3 + ("dissatisfied",)
# The unit that handles each category: its suffix in the city's and the county's lists.
_CATEGORY_UNIT = {
    "urban_rural": "住房和城乡建设局",
    "transport": "交通运输局",
    "education": "教育局",
    "health": "卫生健康委员会",
    "elderly_care": "民政局",
    "jobs": "人力资源和社会保障局",
    "social_security": "人力资源和社会保障局",
    "farming": "农业农村局",
    "environment": "城市管理局",
    "governance": "人民法院",
    "industry": "市场监督管理局",
    "other": "城市管理局",
}
_CITY_INDEX = {suffix: k for k, (suffix, _kind) in enumerate(CITY_UNITS)} | {"人民法院": 11}
_COUNTY_INDEX = {suffix: k for k, (suffix, _kind) in enumerate(COUNTY_UNITS)}
_DAY = timedelta(days=1)


@dataclass
class _ConcernOut:
    """One concern row and its events (column tuples for COPY)."""

    row: tuple
    events: list[tuple]


def _concerns(p: _Plan, rnd: random.Random) -> Iterator[_ConcernOut]:
    s = p.size
    category_index = {code: n for n, (code, _zh, _en) in enumerate(CATEGORIES)}
    contents = [(text, category_index[code]) for code, text in SCALE_CONTENTS]
    count = s.concerns
    for j in range(count):
        cid = p.concern_base + 1 + j
        created = p.now - _THREE_YEARS * (1 - (j / count) ** 0.8) - timedelta(seconds=rnd.randrange(3_600))
        age = (p.now - created) / _DAY
        # Some stations far busier than others (a power law over the station index).
        station = min(int(s.stations * rnd.random() ** 1.3), s.stations - 1)
        for limit, statuses, cut in _MIX_CUT:
            if limit is None or age < limit:
                status = statuses[bisect.bisect_right(cut, rnd.randrange(cut[-1]))]
                break
        if status == "merged" and j == 0:
            status = "closed"
        text, category = contents[rnd.randrange(len(contents))]
        if j % RARE_WORD_EVERY == 7:  # by position, not by a draw: the other draws stay as they were
            text += RARE_WORD_SENTENCE
        county = p.station_county(station)
        reps = p.reps_at(station)
        rep_index = station + s.stations * rnd.randrange(reps) if reps else None

        # The trail: (action, from, to, actor, days after the previous step).
        steps: list[tuple[A, str | None, str, int | None, float]] = []
        taken = status in ("accepted", "dispatched", "replied", "confirmed", "closed") or (
            status == "rejected" and rnd.random() < 0.3
        )
        via_unit = status in ("dispatched", "replied", "confirmed") or (status == "closed" and rnd.random() < 0.75)
        unit = None
        rep_user = p.rep_user(rep_index) if rep_index is not None else None
        if taken and rep_index is not None:
            steps.append((A.ACCEPT, "submitted", "accepted", rep_user, rnd.uniform(0.05, 2.0)))
        else:
            taken = False
            rep_index = None
        if status == "rejected":
            steps.append((A.REJECT, steps[-1][2] if steps else "submitted", "rejected", None, rnd.uniform(0.1, 2.0)))
        elif status == "merged":
            steps.append((A.MERGE, "submitted", "merged", None, rnd.uniform(0.1, 1.0)))
        elif status == "withdrawn":
            steps.append((A.WITHDRAW, "submitted", "withdrawn", None, rnd.uniform(0.1, 1.0)))
        elif taken:
            suffix = _CATEGORY_UNIT[CATEGORIES[category][0]]
            if via_unit:
                if rnd.random() < 0.8:
                    unit = p.county_unit(county, _COUNTY_INDEX[suffix])
                else:
                    unit = p.city_unit(county // s.counties_per_city, _CITY_INDEX.get(suffix, 0))
                staff = p.county_staff_user(county)
                steps.append((A.DISPATCH, "accepted", "dispatched", staff, rnd.uniform(0.2, 3.0)))
                if status != "dispatched":
                    steps.append((A.REPLY, "dispatched", "replied", p.handler_user(unit), rnd.uniform(2.0, 20.0)))
            elif status in ("replied", "confirmed", "closed"):
                steps.append((A.RESOLVE, "accepted", "replied", rep_user, rnd.uniform(0.1, 2.0)))
            if status in ("confirmed", "closed"):
                steps.append((A.CONFIRM, "replied", "confirmed", rep_user, rnd.uniform(0.2, 3.0)))
            if status == "closed":
                steps.append((A.RATE, "confirmed", "closed", None, rnd.uniform(0.5, 7.0)))

        # Squeeze the steps into the concern's age when it is young.
        total = sum(step[4] for step in steps)
        room = max(age - 0.01, 0.001)
        scale_by = min(1.0, room / total) if total else 1.0
        moment = created
        events: list[tuple] = [(cid, None, A.SUBMIT.value, None, "submitted", "", True, created)]
        for action, before, after, actor, days in steps:
            moment += timedelta(days=days * scale_by)
            note = "已按规定办理并答复。" if CONCERN_FLOW[action].note_required else ""
            events.append((cid, actor, action.value, before, after, note, True, moment))
        updated = moment

        due_at = None
        if status in _STAGE_DAYS:
            due_at = updated + timedelta(days=_STAGE_DAYS[status])
        closed_at = updated if status == "closed" else None
        rating_unit = rating_rep = None
        close_days = None
        if status == "closed":
            rating_unit, rating_rep = rnd.choice(_RATINGS), rnd.choice(_RATINGS)
            close_days = max(1, round((closed_at - created) / _DAY * 5 / 7))
        with_contact = rnd.random() < 0.35
        anonymous = not with_contact and rnd.random() < 0.15
        roll = rnd.random()
        source = "qr" if roll < 0.85 else ("walk_in" if roll < 0.97 else "api")
        yield _ConcernOut(
            (
                cid,
                _code(cid, 10, 1_000_003),
                p.station_base + 1 + station,
                p.categories[category],
                text,
                _person(j) if with_contact else None,
                f"138{j % 100_000_000:08d}" if with_contact else None,
                anonymous,
                rnd.random() < 0.3,
                created if with_contact else None,
                status,
                len(events),
                source,
                p.rep(rep_index) if rep_index is not None else None,
                unit,
                cid - 1 if status == "merged" else None,
                due_at,
                False,
                status == "closed" and rnd.random() < 0.1,
                close_days,
                rating_unit,
                rating_rep,
                None,
                1,
                closed_at,
                created,
                updated,
            ),
            events if s.events else [],
        )


CONCERN_COLUMNS = (
    "id",
    "tracking_code",
    "station_id",
    "category_id",
    "content",
    "contact_name",
    "contact_mobile",
    "is_anonymous",
    "is_public",
    "consent_at",
    "status",
    "version",
    "source",
    "assigned_rep_id",
    "unit_id",
    "merged_into_id",
    "due_at",
    "due_estimated",
    "was_late",
    "close_working_days",
    "rating_unit",
    "rating_rep",
    "rating_comment",
    "rounds",
    "closed_at",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = ("concern_id", "actor_id", "action", "from_status", "to_status", "note", "is_public", "created_at")


# --- the command's service ---------------------------------------------------------------


def existing_rows() -> int:
    """Stations, users and concerns already in the database."""
    return sum(
        db.session.execute(sa.text(f"SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT 1) AS x")).scalar_one()  # noqa: S608
        for t in ("station", "user_account", "concern")
    )


def check_allowed(size: ScaleSize, *, force: bool, small: bool) -> None:
    """Refuse (ScaleRefused) a database with data unless forced, and SQLite at scale."""
    if db.engine.dialect.name != "postgresql":
        if not small:
            raise ScaleRefused("seed-scale generates millions of rows: use PostgreSQL, or --small on SQLite.")
        if size.concerns > SQLITE_MAX_CONCERNS:
            raise ScaleRefused(f"On SQLite at most {SQLITE_MAX_CONCERNS:,} concerns.")
    if size.stations < 1 or size.representatives < 1 or size.concerns < 0 or size.duties < 0:
        raise ScaleRefused("Sizes must be positive (at least one station and one representative).")
    if size.stations < size.cities * size.counties_per_city:
        raise ScaleRefused("At least one station per county.")
    if not force and existing_rows():
        raise ScaleRefused("The database already has data; use --force to add the scale data on top.")


def seed_scale(size: ScaleSize, progress: Callable[[str], None] = lambda _msg: None) -> dict[str, Any]:
    """Generate the scale data into the session's transaction. Returns what was made and
    the seconds each step took. The caller commits (and runs ANALYZE)."""
    started = time.monotonic()
    now = utcnow()
    sink = _Sink()
    if sink.postgres:
        # A bulk load: losing it to a crash costs a rerun, not data.
        db.session.execute(sa.text("SET LOCAL synchronous_commit = off"))
    plan = _plan(size, now)
    rnd = random.Random(size.seed)
    made: dict[str, int] = {}
    seconds: dict[str, float] = {}

    def step(name: str, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        t0 = time.monotonic()
        made[name] = made.get(name, 0) + sink.write(table, columns, rows)
        seconds[name] = round(seconds.get(name, 0.0) + time.monotonic() - t0, 1)
        progress(f"  {name}: {made[name]:,} ({seconds[name]:.1f} s)")

    region_columns = ("id", "code", "name", "level", "parent_id")
    for level in ("province", "city", "county", "township"):
        step("regions", "region", region_columns, _regions(plan, level))
    plan.categories = _categories()
    step("units", "unit", ("id", "name", "kind", "region_id", "is_active"), _unit_rows(plan))
    station_columns = (
        "id",
        "code",
        "name",
        "kind",
        "category",
        "parent_id",
        "region_id",
        "address",
        "latitude",
        "longitude",
        "opening_hours",
        "opens_at",
        "closes_at",
        "phone",
        "intro",
        "presence_policy",
        "geo_radius_m",
        "is_active",
        "created_at",
        "updated_at",
    )
    step("stations", "station", station_columns, _station_rows(plan, points=False))
    step("stations", "station", station_columns, _station_rows(plan, points=True))
    user_columns = (
        "id",
        "username",
        "display_name",
        "password_hash",
        "role",
        "region_id",
        "unit_id",
        "active",
        "failed_logins",
        "session_version",
        "created_at",
        "updated_at",
    )
    step("users", "user_account", user_columns, _user_rows(plan))
    rep_columns = ("id", "user_id", "code", "level", "delegation", "occupation", "bio")
    step("representatives", "representative", rep_columns, _rep_rows(plan))
    step(
        "representative stations",
        "representative_station",
        ("representative_id", "station_id"),
        _rep_station_rows(plan),
    )
    step("manager stations", "manager_station", ("user_id", "station_id"), _manager_rows(plan))
    duty_columns = (
        "station_id",
        "representative_id",
        "checked_in_at",
        "checked_out_at",
        "method",
        "status",
        "nonce",
        "distance_m",
        "residents_received",
        "notes",
        "review_note",
        "created_at",
        "updated_at",
    )
    step("duties", "duty", duty_columns, _duty_rows(plan, rnd))
    slot_columns = ("station_id", "representative_id", "day", "starts_at", "ends_at")
    step("roster slots", "duty_slot", slot_columns, _slot_rows(plan))

    # Concerns and their events in one pass; events wait in batches beside the COPY.
    events: list[tuple] = []

    def concern_rows() -> Iterator[tuple]:
        for out in _concerns(plan, rnd):
            events.extend(out.events)
            yield out.row

    t0 = time.monotonic()
    made["concerns"] = 0
    made["concern events"] = 0
    source = concern_rows()
    while True:
        batch = list(itertools.islice(source, 200_000))
        if not batch:
            break
        made["concerns"] += sink.write("concern", CONCERN_COLUMNS, batch)
        made["concern events"] += sink.write("concern_event", EVENT_COLUMNS, events)
        events.clear()
        progress(f"  concerns: {made['concerns']:,}, events {made['concern events']:,}")
    seconds["concerns"] = round(time.monotonic() - t0, 1)
    # The COPY went past the session's flushes, which keep the figures' cells.
    t0 = time.monotonic()
    made["figure cells"] = figure_cells.rebuild(db.session.connection())
    seconds["figure cells"] = round(time.monotonic() - t0, 1)
    progress(f"  figure cells: {made['figure cells']:,} ({seconds['figure cells']:.1f} s)")

    if sink.postgres:
        for table in ("region", "unit", "station", "user_account", "representative", "concern"):
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            db.session.execute(sa.text(sql))
    db.session.flush()
    return {
        "made": made,
        "seconds": seconds,
        "total_seconds": round(time.monotonic() - started, 1),
        "region_prefix": plan.prefix,
        "password": SCALE_PASSWORD,
    }


def _categories() -> list[int]:
    """The demo categories' ids in their order, adding any that are missing."""
    ids = []
    for position, (code, name_zh, name_en) in enumerate(CATEGORIES, start=1):
        category = db.session.scalar(sa.select(Category).where(Category.code == code))
        if category is None:
            category = Category(code=code, name_zh=name_zh, name_en=name_en, sort_order=position * 10)
            db.session.add(category)
            db.session.flush()
        ids.append(category.id)
    return ids


def analyze() -> None:
    """Fresh statistics (and, on PostgreSQL, the visibility map) after a bulk load."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def sized(base: ScaleSize, **overrides) -> ScaleSize:
    """base with the options the caller gave (None: keep base's)."""
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


__all__ = [
    "BUDGET",
    "SMALL",
    "SCALE_PASSWORD",
    "ScaleRefused",
    "ScaleSize",
    "analyze",
    "check_allowed",
    "existing_rows",
    "seed_scale",
    "sized",
]
