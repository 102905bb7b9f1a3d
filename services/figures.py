"""Outcome figures of the closed loop: per station, per region (rolled up) and per
handling unit, for a chosen period, within the viewer's scope.

Everything is counted by the database in one GROUP BY query per table (conditional
aggregates), so the cost does not depend on Python looping over concerns. Counting rules:

- received: filed in the period;
- open / overdue: as of now (not of the period): open statuses, and past the deadline;
- closed: closed in the period (a concern filed earlier but closed in it counts);
- average working days to close, on-time rate (closed without any late stage) and the two
  satisfaction rates (satisfied or basically satisfied among those rated) are over the
  concerns closed in the period. A rate with nothing to divide by is None (shown as "—").

Where they are counted from: sums over services.figure_cells' cells (per local day, month
and year, station and unit, kept in the transaction of every change; that module says why
kept and not refreshed): the period's cells, and the open concerns' cells by deadline,
overdue being those due before today; only what fell due earlier today is counted over
the concerns. A province's year is then a sum over one year cell per station (by station,
the busiest 200 cut first on the three figures that order them), by unit over one per unit
and by region over one per region (services.figure_cells' area cells: each region's
stations added up, for the viewers whose scope is whole regions or one unit, over whole
months and years). Viewers whose scope is not a set of stations or a unit
(representatives, officials) and callers asking for `live=True` get the same numbers
counted over the concerns themselves: the reference the cells are tested against on
random data.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from extensions import db
from models import Concern, FigureAreaCell, FigureCell, Region, Station, Suggestion, Unit, User
from models.enums import ConcernStatus as S
from models.enums import ReplyClass, Role
from models.enums import SuggestionStatus as SS
from services.clock import day_start, local_today, period_bounds
from services.concern_flow import OPEN_STATUSES, overdue_clause
from services.figure_cells import (
    ALL_UNITS,
    EARLIEST_DAY,
    SATISFIED,
    Cells,
    cells_clause,
    closing_measures,
    due_clause,
    in_whole_months,
    period_clause,
    with_first_rating,
)
from services.permissions import (
    area_unit_scope,
    concern_scope,
    figures_root,
    role_of,
    station_unit_scope,
    suggestion_scope,
)

GROUPINGS = ("station", "region", "unit")
# A table longer than this is cut for the page (busiest first); the totals cover every row.
MAX_ROWS = 200
FIRST_YEAR, LAST_YEAR = 2000, 2100


# --- the period ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days in China time, both ends included."""

    start: date
    end: date

    @classmethod
    def this_year(cls, today: date) -> Period:
        return cls(date(today.year, 1, 1), date(today.year, 12, 31))

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls(day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]))

    @classmethod
    def presets(cls, today: date) -> dict[str, Period]:
        """this_month, last_month, this_year."""
        return {
            "this_month": cls.month_of(today),
            "last_month": cls.month_of(today.replace(day=1) - timedelta(days=1)),
            "this_year": cls.this_year(today),
        }

    @classmethod
    def parse(cls, start_text: str | None, end_text: str | None, today: date) -> tuple[Period, str | None]:
        """The period asked for, or this year with a refusal code: bad_date, reversed.
        A missing end means up to the end of this year; a missing start, from 1 January
        of the end's year."""
        default = cls.this_year(today)
        start_text, end_text = (start_text or "").strip(), (end_text or "").strip()
        if not start_text and not end_text:
            return default, None
        try:
            end = _parse_day(end_text) if end_text else default.end
            start = _parse_day(start_text) if start_text else date(end.year, 1, 1)
        except ValueError:
            return default, "bad_date"
        if start > end:
            return default, "reversed"
        return cls(start, end), None

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as the naive UTC the database stores."""
        return period_bounds(self.start, self.end)

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def _parse_day(text: str) -> date:
    day = date.fromisoformat(text[:10]) if len(text) == 10 else None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(text)
    return day


# --- the counts ----------------------------------------------------------------------------


@dataclass
class Counts:
    received: int = 0
    open: int = 0
    overdue: int = 0
    closed: int = 0
    close_days_sum: int = 0
    close_days_n: int = 0
    on_time: int = 0
    rated_unit: int = 0
    satisfied_unit: int = 0
    rated_rep: int = 0
    satisfied_rep: int = 0
    # 一次满意率: the first round's ratings, what congress offices report beside the final one
    first_rated_unit: int = 0
    first_satisfied_unit: int = 0
    first_rated_rep: int = 0
    first_satisfied_rep: int = 0

    @property
    def avg_close_days(self) -> float | None:
        return round(self.close_days_sum / self.close_days_n, 1) if self.close_days_n else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.closed if self.closed else None

    @property
    def unit_satisfaction(self) -> float | None:
        return self.satisfied_unit / self.rated_unit if self.rated_unit else None

    @property
    def rep_satisfaction(self) -> float | None:
        return self.satisfied_rep / self.rated_rep if self.rated_rep else None

    @property
    def first_unit_satisfaction(self) -> float | None:
        return self.first_satisfied_unit / self.first_rated_unit if self.first_rated_unit else None

    @property
    def first_rep_satisfaction(self) -> float | None:
        return self.first_satisfied_rep / self.first_rated_rep if self.first_rated_rep else None

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


@dataclass
class Row:
    key: int | None  # station, region or unit id; None for "directly in the region" / "no unit"
    name: str
    note: str = ""  # the station's region, the unit's region, a region's level
    counts: Counts = field(default_factory=Counts)
    drill: bool = False  # a region with regions below it: its own roll-up is one click away
    directly: bool = False  # region tab: stations in the shown region itself, not below it


@dataclass
class Figures:
    by: str
    period: Period
    rows: list[Row]  # what the page shows (at most MAX_ROWS)
    total: Counts  # over every row, shown or not
    hidden: int  # rows not shown
    root: Region | None = None  # region tab: whose parts the rows are (None: the top)
    trail: list[Region] = field(default_factory=list)  # region tab: from the viewer's top to root


def _measures(period: Period, now: datetime) -> list:
    """The aggregate columns, in the order of COUNT_FIELDS (the query outer-joins FIRST)."""
    start, end = period.utc_bounds()
    received = sa.and_(Concern.created_at >= start, Concern.created_at < end)
    count = sa.func.count
    return [
        count().filter(received),
        count().filter(Concern.status.in_(OPEN_STATUSES)),
        count().filter(overdue_clause(now)),
        *closing_measures(closed_in(period)),
    ]


def closed_in(period: Period):
    """The SQL condition "closed in the period" every closing figure counts by."""
    start, end = period.utc_bounds()
    return sa.and_(Concern.status == S.CLOSED, Concern.closed_at >= start, Concern.closed_at < end)


def counts_where(period: Period, now: datetime, *where) -> Counts:
    """The counts of the concerns that meet `where`, unscoped: for a caller that has
    already decided whose concerns these are (a representative's annual report)."""
    query = with_first_rating(sa.select(*_measures(period, now)).select_from(Concern)).where(_relevant(period), *where)
    return Counts(*db.session.execute(query).one())


def _relevant(period: Period):
    """Only concerns that can count somewhere: filed or closed in the period, or open."""
    start, end = period.utc_bounds()
    return sa.or_(
        sa.and_(Concern.created_at >= start, Concern.created_at < end),
        Concern.status.in_(OPEN_STATUSES),
        closed_in(period),
    )


@dataclass(frozen=True)
class Source:
    """Where rows are counted from: the station and unit columns a grouping and its joins
    refer to (the unit is None for a concern not sent to a unit)."""

    station_id: Any  # a column or an expression
    unit_id: Any


CONCERNS = Source(Concern.station_id, Concern.unit_id)
CELLS = Source(FigureCell.station_id, sa.func.nullif(FigureCell.unit_key, 0))
AREA_CELLS = Source(None, sa.func.nullif(FigureAreaCell.unit_key, 0))  # grouped by unit only


def _joined(query, joins):
    for target, on, outer in joins:
        query = query.join(target, on, isouter=outer)
    return query


@dataclass(frozen=True)
class CellRows:
    """Cells a table is summed from: the cell table, the row's key, joins and conditions
    (the viewer's scope, which units' cells)."""

    table: Cells
    key: Any
    joins: Sequence = ()
    where: Sequence = ()


def _chosen_cells(user: User, key, joins, where, per_unit: bool, period: Period) -> list[CellRows] | None:
    """The cells a grouping sums for this viewer; None when their scope needs the concerns
    themselves (representatives, officials)."""
    if per_unit:
        # By unit over whole regions (a province) or one unit: the area cells, a few
        # thousand rather than one per station and unit.
        area = _whole_area(
            user, key(AREA_CELLS), period, per_unit=True, joins=joins(AREA_CELLS), where=where(AREA_CELLS)
        )
        if area is not None:
            return [area]
    cells = _station_cells(user, key(CELLS), joins=joins(CELLS), where=where(CELLS), per_unit=per_unit)
    return [cells] if cells is not None else None


def _station_cells(user: User, key, *, joins=(), where=(), per_unit=False, per_row=False) -> CellRows | None:
    """The stations' cells in the viewer's scope (per unit or all units as _units says;
    `per_row` as for station_unit_scope); None when their scope needs the concerns."""
    scope = station_unit_scope(user, FigureCell.station_id, FigureCell.unit_key, "cell_tree", per_row=per_row)
    if scope is None:
        return None
    return CellRows(FigureCell, key, joins, (scope, _units(FigureCell, user, per_unit), *where))


def _whole_area(user: User, key, period: Period, *, per_unit: bool, joins=(), where=()) -> CellRows | None:
    """The area cells of everything the viewer sees (their region, or all the top-level
    regions), for the viewers who see whole regions or one unit, over whole months; None
    for the others and other periods."""
    region_id = figures_root(user)
    scope = area_unit_scope(user, FigureAreaCell.unit_key, region_id)
    if scope is None or not in_whole_months(period.start, period.end):
        return None
    regions = (
        FigureAreaCell.region_id == region_id
        if region_id is not None
        else FigureAreaCell.region_id.in_(sa.select(Region.id).where(Region.parent_id.is_(None)))
    )
    return CellRows(FigureAreaCell, key, joins, (regions, scope, _units(FigureAreaCell, user, per_unit), *where))


def _units(table: Cells, user: User, per_unit: bool) -> sa.ColumnElement[bool]:
    """Per unit when grouped or scoped by unit; else the cells adding up all units."""
    if per_unit or role_of(user) == Role.UNIT_HANDLER:
        return table.unit_key != ALL_UNITS
    return table.unit_key == ALL_UNITS


def _summable(part: CellRows, period: Period, today: date) -> sa.Select:
    """One row per cell of `part` for the period and the open concerns' deadlines, with the
    counts named as in COUNT_FIELDS."""
    table = part.table
    values: dict[str, sa.ColumnElement[Any]] = {
        name: sa.cast(getattr(table, name), sa.Integer) for name in COUNT_FIELDS if name != "overdue"
    }
    # Open: all the deadlines together. Overdue: all of them less those from today on (the
    # period's cells count no deadlines).
    together = table.span == "due_all"
    values["open"] = sa.case((together, table.open), else_=0)
    values["overdue"] = sa.case((together, table.awaiting), else_=-table.awaiting)
    query = sa.select(part.key.label("key"), *(values[name].label(name) for name in COUNT_FIELDS))
    return _joined(query.select_from(table), part.joins).where(
        *part.where, sa.or_(period_clause(period.start, period.end, table), due_clause(today, table))
    )


def _grouped(
    user: User,
    key,
    period: Period,
    now: datetime,
    *,
    joins=lambda _source: (),
    where=lambda _source: (),
    per_unit=False,
    live=False,
    cells: list[CellRows] | None = None,
):
    """A common table expression: one row per `key` with the counts named as in
    COUNT_FIELDS. `key`, `joins` and `where` are functions of the Source counted from;
    `per_unit` when the key is the unit; `cells` what to sum instead of the cells the
    grouping and the viewer's scope choose."""
    if not live and cells is None:
        cells = _chosen_cells(user, key, joins, where, per_unit, period)
    if live or cells is None:
        return _grouped_live(user, key(CONCERNS), period, now, joins=joins(CONCERNS), where=where(CONCERNS))
    today = local_today(now)
    # One row per cell and per concern due earlier today, added up once per key (grouping
    # each part first and then all again costs a second aggregate over every key).
    parts = [_summable(part, period, today) for part in cells]
    # Due today and past already: the only figure the cells cannot know.
    zero = {name: sa.literal(0) for name in COUNT_FIELDS}
    due_today = _joined(
        sa.select(
            key(CONCERNS).label("key"), *({**zero, "overdue": sa.literal(1)}[name].label(name) for name in COUNT_FIELDS)
        ).select_from(Concern),
        joins(CONCERNS),
    ).where(
        # Few: those due today and past already.
        concern_scope(user, per_row=True),
        overdue_clause(now),
        Concern.due_at >= day_start(today),
        *where(CONCERNS),
    )
    both = sa.union_all(*parts, due_today).subquery("both_parts")
    totals = [sa.cast(sa.func.sum(both.c[name]), sa.BigInteger) for name in COUNT_FIELDS]
    received, opened, closed = (totals[COUNT_FIELDS.index(name)] for name in ("received", "open", "closed"))
    return (
        sa.select(both.c.key.label("key"), *(t.label(n) for t, n in zip(totals, COUNT_FIELDS, strict=True)))
        .group_by(both.c.key)
        # Cells emptied by later changes (a concern sent to another unit) list nothing, as
        # a count over the concerns would not.
        .having(received + opened + closed > 0)
        .cte("counted")
    )


def _grouped_live(user: User, key, period: Period, now: datetime, *, joins=(), where=()):
    """_grouped counted over the concerns themselves (the reference)."""
    query = sa.select(
        key.label("key"), *(m.label(n) for m, n in zip(_measures(period, now), COUNT_FIELDS, strict=True))
    )
    query = _joined(with_first_rating(query.select_from(Concern)), joins)
    return query.where(concern_scope(user), _relevant(period), *where).group_by(key).cte("counted")


N = len(COUNT_FIELDS)


def _busiest(counted, named, *, none_last: bool = False) -> tuple[list[tuple], Counts, int]:
    """The MAX_ROWS busiest rows of `counted` (ties at the cut by key) as (key, name, note,
    counts), the totals over all its rows and how many rows there are, in one statement:
    a province's 20,000 stations are added up and cut by the database, and only the rows
    shown are named and travel. `named(top)` selects top's columns, then a name and a note.
    `counted` is a common table expression, computed once for the cut and the totals (a
    window over every row, the other way, costs as much again as counting them)."""
    c = counted.c
    order = [c.key.is_(None)] if none_last else []
    order += [c.received.desc(), c.closed.desc(), c.open.desc(), c.key]
    top = sa.select(counted).order_by(*order).limit(MAX_ROWS).subquery("top")
    totals = sa.select(
        *(sa.cast(sa.func.sum(c[n]), sa.BigInteger).label(f"all_{n}") for n in COUNT_FIELDS),
        sa.func.count().label("all_rows"),
    ).subquery("totals")
    rows = db.session.execute(named(top).add_columns(*totals.c).join(totals, sa.true())).all()
    if not rows:
        return [], Counts(), 0
    entries = [(r[0], r[N + 1] or "", r[N + 2] or "", tuple(r[1 : N + 1])) for r in rows]
    return entries, Counts(*rows[0][N + 3 : 2 * N + 3]), rows[0][2 * N + 3]


def _busiest_first(entry: tuple):
    _key, name, _note, c = entry
    return (-c[0], -c[3], -c[1], name)  # received, closed, open


def _finish(by: str, period: Period, entries: list[tuple], order, total: Counts, count: int, **extra) -> Figures:
    entries.sort(key=order)
    rows = [Row(key, name, note, Counts(*c)) for key, name, note, c in entries[:MAX_ROWS]]
    return Figures(by, period, rows, total, max(0, count - MAX_ROWS), **extra)


ZERO = (0,) * N


def _station_ranking(user: User, period: Period) -> tuple[list[int], int] | None:
    """The MAX_ROWS busiest stations of the viewer's scope as _busiest cuts them (received,
    closed, open; ties by id) and how many count anything, summing only the three figures
    that order them (the period's cells and each station's cell of all deadlines): a
    province's 20,000 stations are cut without adding up all their figures. None when the
    viewer's scope needs the concerns."""
    scoped = _station_cells(user, FigureCell.station_id)
    if scoped is None:
        return None
    received, closed = sa.func.sum(FigureCell.received), sa.func.sum(FigureCell.closed)
    opened = sa.func.sum(sa.case((FigureCell.span == "due_all", FigureCell.open), else_=0))
    cells = sa.or_(period_clause(period.start, period.end), cells_clause(("due_all", EARLIEST_DAY)))
    ranked = (
        sa.select(scoped.key.label("key"), received.label("r"), closed.label("c"), opened.label("o"))
        .where(*scoped.where, cells)
        .group_by(FigureCell.station_id)
        .having(received + closed + opened > 0)
        .subquery("ranked")
    )
    c = ranked.c
    query = sa.select(c.key, sa.func.count().over()).order_by(c.r.desc(), c.c.desc(), c.o.desc(), c.key)
    rows = db.session.execute(query.limit(MAX_ROWS)).all()
    return [key for key, _count in rows], rows[0][1] if rows else 0


def _station_rows(user: User, period: Period, now: datetime, keys: list[int], count: int) -> Figures:
    """by_station from the busiest stations' keys: their figures in full, and the totals
    from the area cells of everything the viewer sees (or, for other periods, the sum of
    all the stations' cells, not grouped)."""
    entries = []
    if keys:
        # Few rows: the scope is looked up per row.
        few = _station_cells(user, FigureCell.station_id, where=(FigureCell.station_id.in_(keys),), per_row=True)
        assert few is not None  # the ranking had the same scope
        shown = _grouped(
            user, lambda source: source.station_id, period, now, where=lambda s: [s.station_id.in_(keys)], cells=[few]
        )
        query = (
            sa.select(shown, Station.name, Region.name)
            .join(Station, Station.id == shown.c.key)
            .join(Region, Region.id == Station.region_id)
        )
        entries = [(r[0], r[N + 1] or "", r[N + 2] or "", tuple(r[1 : N + 1])) for r in db.session.execute(query)]
    whole = _whole_area(user, sa.literal(0), period, per_unit=False)
    totals = _grouped(user, lambda _source: sa.literal(0), period, now, cells=[whole] if whole is not None else None)
    total = db.session.execute(sa.select(*(totals.c[name] for name in COUNT_FIELDS))).first()
    return _finish("station", period, entries, _busiest_first, Counts(*total) if total else Counts(), count)


def by_station(user: User, period: Period, now: datetime, *, live: bool = False) -> Figures:
    # A manager's few stations are all listed (below): counted in one go.
    ranking = None if live or user.role == Role.STATION_MANAGER else _station_ranking(user, period)
    if ranking is not None:
        return _station_rows(user, period, now, *ranking)
    counted = _grouped(user, lambda source: source.station_id, period, now, live=live)
    entries, total, count = _busiest(
        counted,
        lambda top: (
            sa.select(top, Station.name, Region.name)
            .join(Station, Station.id == top.c.key)
            .join(Region, Region.id == Station.region_id)
        ),
    )
    if user.role == Role.STATION_MANAGER:
        # A manager's few stations are all listed, a quiet one with zeros.
        seen = set(db.session.scalars(sa.select(counted.c.key)))
        quiet = [(s.id, s.name, s.region.name, ZERO) for s in user.managed_stations if s.id not in seen]
        entries, count = entries + quiet, count + len(quiet)
    return _finish("station", period, entries, _busiest_first, total, count)


def by_unit(user: User, period: Period, now: datetime, *, no_unit_label: str = "", live: bool = False) -> Figures:
    counted = _grouped(user, lambda source: source.unit_id, period, now, per_unit=True, live=live)
    entries, total, count = _busiest(
        counted,
        lambda top: (
            sa.select(top, Unit.name, Region.name)
            .outerjoin(Unit, Unit.id == top.c.key)
            .outerjoin(Region, Region.id == Unit.region_id)
        ),
        none_last=True,
    )
    entries = [(key, name if key is not None else no_unit_label, note, c) for key, name, note, c in entries]
    # Concerns not (yet) sent to a unit go last, so the totals still cover everything.
    order = lambda entry: (entry[0] is None, *_busiest_first(entry))  # noqa: E731
    return _finish("unit", period, entries, order, total, count)


def top_region(user: User) -> Region | None:
    """Where a viewer's roll-up starts (permissions.figures_root)."""
    root = figures_root(user)
    return db.session.get(Region, root) if root is not None else None


def _region_cells(user: User, root: Region | None, period: Period) -> list[CellRows] | None:
    """by_region's cells for the viewers who see every station of the regions below `root`
    (or one unit wherever it is): each child region's area cells, and the cells of the
    stations placed directly in `root`; None for the others and for a period the area cells
    do not cover (by_region then joins each station's cells to the tree of regions)."""
    scope = area_unit_scope(user, FigureAreaCell.unit_key, root.id if root is not None else None)
    if scope is None or not in_whole_months(period.start, period.end):
        return None
    children = Region.parent_id.is_(None) if root is None else Region.parent_id == root.id
    regions = FigureAreaCell.region_id.in_(sa.select(Region.id).where(children))
    parts = [
        CellRows(FigureAreaCell, FigureAreaCell.region_id, where=(regions, scope, _units(FigureAreaCell, user, False)))
    ]
    if root is not None:
        placed = FigureCell.station_id.in_(sa.select(Station.id).where(Station.region_id == root.id))
        directly = _station_cells(user, sa.cast(sa.null(), sa.Integer), where=(placed,))
        assert directly is not None  # who sees whole regions (area_unit_scope) sees their stations
        parts.append(directly)
    return parts


def by_region(
    user: User, period: Period, now: datetime, root: Region | None = None, *, directly_label="", live: bool = False
) -> Figures:
    """One row per child region of `root` (the top-level regions when None), each counting
    the stations in it and everything below it; plus a row for stations placed directly in
    `root` when there are any."""
    top = top_region(user)
    root = root if root is not None else top
    seed = Region.parent_id.is_(None) if root is None else Region.parent_id == root.id
    tree = sa.select(Region.id.label("id"), Region.id.label("top")).where(seed).cte("region_rollup", recursive=True)
    below = aliased(Region)
    tree = tree.union_all(sa.select(below.id, tree.c.top).where(below.parent_id == tree.c.id))

    def joins(source: Source):
        return [(Station, Station.id == source.station_id, False), (tree, tree.c.id == Station.region_id, True)]

    where = (
        [tree.c.top.is_not(None)] if root is None else [sa.or_(tree.c.top.is_not(None), Station.region_id == root.id)]
    )
    counted = _grouped(
        user,
        lambda _source: tree.c.top,
        period,
        now,
        joins=joins,
        where=lambda _source: where,
        live=live,
        cells=_region_cells(user, root, period),
    )
    query = sa.select(counted, Region).outerjoin(Region, Region.id == counted.c.key)
    rows: list[Row] = []
    codes: dict[int, str] = {}
    for record in db.session.execute(query):
        region, counts = record[-1], Counts(*record[1 : N + 1])
        if region is None:
            rows.append(Row(None, root.name if root else "", directly_label, counts, directly=True))
        else:
            rows.append(Row(region.id, region.name, region.level.label, counts))
            codes[region.id] = region.code
    if user.role in (Role.CONGRESS_STAFF, Role.ADMIN):
        # The regions one oversees are all listed, a quiet one with zeros.
        for region in db.session.scalars(sa.select(Region).where(seed, Region.id.not_in(list(codes)))):
            rows.append(Row(region.id, region.name, region.level.label))
            codes[region.id] = region.code
    parents = set(db.session.scalars(sa.select(Region.parent_id).where(Region.parent_id.in_(list(codes))).distinct()))
    for row in rows:
        row.drill = row.key in parents
    rows.sort(key=lambda row: (row.directly, codes.get(row.key, "") if row.key is not None else "", row.name))
    total = Counts()
    for row in rows:
        total.add(row.counts)
    trail = []
    if root is not None:
        path = root.path()
        start = next((i for i, r in enumerate(path) if top is not None and r.id == top.id), 0)
        trail = path[start:]
    return Figures("region", period, rows[:MAX_ROWS], total, max(0, len(rows) - MAX_ROWS), root=root, trail=trail)


def figures(
    user: User, by: str, period: Period, now: datetime, *, root: Region | None = None, labels=None, live: bool = False
) -> Figures:
    """The table for one grouping. `labels` gives the display names of the rows that have
    no record of their own: {"directly": …, "no_unit": …}. `live` counts over the concerns
    instead of the cells (the reference; the same numbers)."""
    labels = labels or {}
    if by == "region":
        return by_region(user, period, now, root, directly_label=labels.get("directly", ""), live=live)
    if by == "unit":
        return by_unit(user, period, now, no_unit_label=labels.get("no_unit", ""), live=live)
    return by_station(user, period, now, live=live)


# --- representatives' suggestions, per lead unit (代表建议办理情况) ---------------------------
#
# Over the suggestions in the viewer's scope (suggestion_scope), grouped by lead unit, in one
# GROUP BY: assigned in the period; replied in the period, by class (A, B, C) and on time
# (no reply after its deadline); of those replies, how many the representative rated and
# was satisfied with (basically satisfied included); closed in the period with a rated
# result (重落实: what was done), and how many satisfied; open and overdue now.


@dataclass
class SuggestionCounts:
    assigned: int = 0
    replied: int = 0
    class_a: int = 0
    class_b: int = 0
    class_c: int = 0
    on_time: int = 0
    reply_rated: int = 0
    reply_satisfied: int = 0
    result_rated: int = 0
    result_satisfied: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.replied if self.replied else None

    @property
    def reply_satisfaction(self) -> float | None:
        return self.reply_satisfied / self.reply_rated if self.reply_rated else None

    @property
    def result_satisfaction(self) -> float | None:
        return self.result_satisfied / self.result_rated if self.result_rated else None

    def add(self, other: SuggestionCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class SuggestionFigures:
    period: Period
    rows: list[tuple[str, SuggestionCounts]]  # (lead unit's name, counts), most assigned first
    total: SuggestionCounts


def suggestions_by_unit(user: User, period: Period, now: datetime) -> SuggestionFigures:
    start, end = period.utc_bounds()
    count = sa.func.count
    assigned = sa.and_(Suggestion.assigned_at >= start, Suggestion.assigned_at < end)
    replied = sa.and_(Suggestion.replied_at >= start, Suggestion.replied_at < end)
    closed = sa.and_(Suggestion.status == SS.CLOSED, Suggestion.closed_at >= start, Suggestion.closed_at < end)
    open_now = Suggestion.status.in_([SS.ASSIGNED, SS.REPLIED, SS.IMPLEMENTING, SS.DONE])
    query = (
        sa.select(
            Unit.name,
            count().filter(assigned),
            count().filter(replied),
            count().filter(replied, Suggestion.reply_class == ReplyClass.A),
            count().filter(replied, Suggestion.reply_class == ReplyClass.B),
            count().filter(replied, Suggestion.reply_class == ReplyClass.C),
            count().filter(replied, sa.not_(Suggestion.was_late)),
            count().filter(replied, Suggestion.rating_reply.is_not(None)),
            count().filter(replied, Suggestion.rating_reply.in_(SATISFIED)),
            count().filter(closed, Suggestion.rating_result.is_not(None)),
            count().filter(closed, Suggestion.rating_result.in_(SATISFIED)),
            count().filter(open_now),
            count().filter(Suggestion.status == SS.ASSIGNED, Suggestion.due_at < now),
        )
        .join(Unit, Unit.id == Suggestion.lead_unit_id)
        .where(suggestion_scope(user), sa.or_(assigned, replied, closed, open_now))
        .group_by(Unit.id, Unit.name)
    )
    rows = [(r[0], SuggestionCounts(*r[1:])) for r in db.session.execute(query)]
    rows.sort(key=lambda row: (-row[1].assigned, -row[1].replied, row[0]))
    total = SuggestionCounts()
    for _name, counts in rows:
        total.add(counts)
    return SuggestionFigures(period, rows, total)
