"""The one clock: the local time zone, and local days and periods as stored times.

The database stores naive UTC (models.utcnow). People live in China time: a day, a month,
a year, a deadline or a closing time is a local one. Every conversion between the two
happens here, and nowhere else.

China has kept UTC+8 all year since 1991 (no daylight saving time), so a local day is
always 24 hours long; the functions do not rely on it, except local_date(), the SQL form of
a stored time's local date, which adds the fixed offset (checked below).
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

LOCAL_TZ_NAME = "Asia/Shanghai"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)

# The last second of a local day: what a deadline "on" a day means.
END_OF_DAY = time(23, 59, 59)


def to_local(moment: datetime) -> datetime:
    """A stored time (naive UTC) as aware local time."""
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_TZ)


def to_utc(moment: datetime) -> datetime:
    """An aware time as the naive UTC the database stores."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def local_now(now: datetime | None = None) -> datetime:
    """`now` (naive UTC as stored, or aware; the real time when None) as aware local time."""
    if now is None:
        return datetime.now(LOCAL_TZ)
    if now.tzinfo is None:
        return to_local(now)
    return now.astimezone(LOCAL_TZ)


def local_today(now: datetime | None = None) -> date:
    """Today's date in local time (of `now`, naive UTC or aware, when given)."""
    return local_now(now).date()


def utc_at(day: date, at: time) -> datetime:
    """The local wall-clock time `at` on `day`, as naive UTC."""
    return to_utc(datetime.combine(day, at, tzinfo=LOCAL_TZ))


def day_start(day: date) -> datetime:
    """Local midnight at the start of `day`, as naive UTC."""
    return utc_at(day, time.min)


def end_of_day(day: date) -> datetime:
    """The end of local `day` (23:59:59), as naive UTC: deadlines and late closing times."""
    return utc_at(day, END_OF_DAY)


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The local days `first` to `last` (both included) as naive-UTC [start, end) bounds."""
    return day_start(first), day_start(last + timedelta(days=1))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """One local day as naive-UTC [start, end) bounds."""
    return period_bounds(day, day)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """A local calendar month as naive-UTC [start, end) bounds."""
    after = date(year + month // 12, month % 12 + 1, 1)
    return day_start(date(year, month, 1)), day_start(after)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """A local calendar year as naive-UTC [start, end) bounds."""
    return period_bounds(date(year, 1, 1), date(year, 12, 31))


def year_start(now: datetime | None = None) -> datetime:
    """The start of this local calendar year (of `now` when given), as naive UTC."""
    return year_bounds(local_today(now).year)[0]


# --- the same in SQL ---------------------------------------------------------------------

# The local zone's one offset since 1991: what the database adds to a stored time.
LOCAL_OFFSET_HOURS = 8
assert all(  # noqa: S101 (a wrong zone here would misdate every figure)
    LOCAL_TZ.utcoffset(datetime(year, month, 1)) == timedelta(hours=LOCAL_OFFSET_HOURS)
    for year in (1992, 2000, 2026)
    for month in (1, 7)
)


class local_date(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """The local date of a stored time (naive UTC), computed by the database: the SQL twin of
    local_today(moment), right for every time since 1991."""

    type = sa.Date()
    name = "local_date"
    inherit_cache = True


@compiles(local_date)
def _local_date_sqlite(element, compiler, **kw) -> str:
    # Whole seconds only: SQLite's date functions round a stored time to the millisecond,
    # which would move 23:59:59.9999 local into the next day.
    return f"date(substr({compiler.process(element.clauses, **kw)}, 1, 19), '+{LOCAL_OFFSET_HOURS} hours')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element, compiler, **kw) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) + INTERVAL '{LOCAL_OFFSET_HOURS} hours' AS DATE)"
