"""The figures' counts kept per local day, month and year, station and handling unit
(models.FigureCell), and per unit over each region's stations (models.FigureAreaCell), so
that a province's year is a sum over a few ten thousand cells (by unit or by region, a few
thousand) rather than a count over every concern of the year.

Why kept in the transaction of each change, and not materialised by a job with today's
part counted live: a concern's past days change too. Rating it, reopening it after a
dissatisfied rating (closed → dispatched), sending it to another unit or correcting its
station changes the days it was filed or closed on, so a table refreshed overnight would
be wrong about last month until the next run, and "the figures equal the live counts"
would hold only for periods that end before the last refresh. Kept in the same
transaction, the cells are never behind what a reader of the concerns sees.

How they are kept: per transaction, not per flush (a submission flushes more than once).
The first flush that adds, changes or deletes a concern or a rating counts the touched
concerns' cells in the database before it (`day_cells`, the same SQL that rebuilds the
table; a concern filed in the transaction has none) and takes them off; the commit counts
them again and adds the difference to the day, month and year cells, each for the
concern's unit and for all of the station's units (-1: what the figures by station read,
one row per station), and the same two in FigureAreaCell for every region the station lies
in (its own and each one above it: what the figures by region, and by unit over whole
regions, read; but for single days, AREA_SKIPS), with one upsert per table just before
COMMIT (the increments commute, so concurrent writers do not lose each other's, and the
shared cells are locked only for the commit; the concern's version check makes "before"
the state the change replaced, and the change locks the row until the commit). A station
or region moved under another region takes its cells along (`_move`, behind an advisory
lock on PostgreSQL). The rule of what counts where is that one SELECT, used by the
transactions and the rebuild alike (the migrations' backfills keep a copy).
An INSERT, UPDATE or DELETE statement on concerns or ratings skips the flush, so one is
refused unless it says (execution option `figures_unaffected`) that it leaves the counted
columns alone or that rebuild() follows it, as it does rows written past the ORM
(devtools.scale's COPY, bench/exports.py's bulk insert).

Open and overdue are "as of now", and overdue moves with the clock: the open concerns are
counted on the local day of their deadline (due_day, due_month, due_year cells; no
deadline, or one after LAST_DAY, on LAST_DAY), and all together (due_all). Everything
due before today is overdue (but for those waiting for the resident's rating): all less
what is due from today on, the few cells of the days and months ahead; of what is due
today, services.figures counts those already past `now` over the concerns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, aliased

from models import Concern, ConcernRating, FigureAreaCell, FigureCell, Region, Station
from models.enums import ConcernStatus as S
from models.enums import Rating
from services.clock import day_start, local_date
from services.concern_flow import OPEN_STATUSES

# The counted fields: services.figures.Counts' names, but for overdue (worked out from
# awaiting) and with awaiting.
CELL_FIELDS = (
    "received",
    "open",
    "awaiting",
    "closed",
    "close_days_sum",
    "close_days_n",
    "on_time",
    "rated_unit",
    "satisfied_unit",
    "rated_rep",
    "satisfied_rep",
    "first_rated_unit",
    "first_satisfied_unit",
    "first_rated_rep",
    "first_satisfied_rep",
)
SATISFIED = (Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value)
# The first round's rating of a concern (at most one: one rating per round).
FIRST = aliased(ConcernRating, name="first_rating")
UNIT_NONE = 0  # FigureCell.unit_key of a concern not sent to a unit
ALL_UNITS = -1  # FigureCell.unit_key of the cells that add up all of a station's units
# Deadlines are counted on days from EARLIEST_DAY to LAST_DAY (outside: on the nearer one).
EARLIEST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 12, 31)


def closing_measures(closed) -> list:
    """The closing figures over the concerns that meet `closed` (Counts' fields from closed
    to first_satisfied_rep), as aggregate columns: services.figures counts them live with
    the same columns. The query must outer-join FIRST on the first round."""
    count = sa.func.count
    return [
        count().filter(closed),
        sa.func.coalesce(sa.func.sum(Concern.close_working_days).filter(closed), 0),
        count(Concern.close_working_days).filter(closed),
        count().filter(closed, sa.not_(Concern.was_late)),
        count().filter(closed, Concern.rating_unit.is_not(None)),
        count().filter(closed, Concern.rating_unit.in_(SATISFIED)),
        count().filter(closed, Concern.rating_rep.is_not(None)),
        count().filter(closed, Concern.rating_rep.in_(SATISFIED)),
        count().filter(closed, FIRST.rating_unit.is_not(None)),
        count().filter(closed, FIRST.rating_unit.in_(SATISFIED)),
        count().filter(closed, FIRST.rating_rep.is_not(None)),
        count().filter(closed, FIRST.rating_rep.in_(SATISFIED)),
    ]


def with_first_rating(query):
    return query.outerjoin(FIRST, sa.and_(FIRST.concern_id == Concern.id, FIRST.round == 1))


def day_cells(*where) -> sa.Select:
    """(timeline, day, station_id, unit_key, *CELL_FIELDS) for the concerns that meet
    `where`: on the "event" timeline each counts as received on the local day it was filed,
    and with its closing figures on the local day it was closed (when it is closed now); on
    the "due" timeline an open concern counts on the local day of its deadline."""
    unit_key = sa.func.coalesce(Concern.unit_id, UNIT_NONE)

    def part(timeline: str, day, values: dict, *condition):
        # Every column labelled: a union's columns are matched by position, and unlabelled
        # equal literals would be folded into one.
        keys = [
            sa.literal(timeline).label("timeline"),
            day.label("day"),
            Concern.station_id.label("station_id"),
            unit_key.label("unit_key"),
        ]
        query = sa.select(*keys, *(values.get(n, sa.literal(0)).label(n) for n in CELL_FIELDS))
        return query.where(*condition, *where).group_by(day, Concern.station_id, unit_key)

    filed = part("event", local_date(Concern.created_at), {"received": sa.func.count()})
    closing = dict(zip(CELL_FIELDS[CELL_FIELDS.index("closed") :], closing_measures(sa.true()), strict=True))
    closed = part(
        "event", local_date(Concern.closed_at), closing, Concern.status == S.CLOSED, Concern.closed_at.is_not(None)
    )
    due_on = sa.case(
        (sa.or_(Concern.due_at.is_(None), Concern.due_at >= day_start(LAST_DAY)), sa.literal(LAST_DAY, sa.Date)),
        (Concern.due_at < day_start(EARLIEST_DAY), sa.literal(EARLIEST_DAY, sa.Date)),
        else_=local_date(Concern.due_at),
    )
    awaiting = sa.func.count().filter(Concern.due_at.is_not(None), Concern.status != S.CONFIRMED)
    due = part("due", due_on, {"open": sa.func.count(), "awaiting": awaiting}, Concern.status.in_(OPEN_STATUSES))
    both = sa.union_all(filed, with_first_rating(closed), due).subquery("counted_days")
    keys = (both.c.timeline, both.c.day, both.c.station_id, both.c.unit_key)
    return sa.select(*keys, *(sa.func.sum(both.c[name]).label(name) for name in CELL_FIELDS)).group_by(*keys)


# --- the spans ---------------------------------------------------------------------------


SPANS_OF = {"event": ("day", "month", "year"), "due": ("due_day", "due_month", "due_year", "due_all")}
# The area cells keep no single days filed and closed on, which would be most of them (a
# region's day cells add up few stations' each): the figures page's periods are whole
# months and years, and a period with single days is summed from the stations' cells.
AREA_SKIPS = "day"


def span_start(span: str, day: date) -> date:
    if span == "due_all":
        return EARLIEST_DAY
    if span.endswith("year"):
        return day.replace(month=1, day=1)
    if span.endswith("month"):
        return day.replace(day=1)
    return day


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def cover(start: date, end: date) -> list[tuple[str, date]]:
    """The fewest cells' spans that make up the local days `start` to `end` (both included):
    whole years, then whole months, then single days."""
    spans: list[tuple[str, date]] = []
    day = start
    while day <= end:
        if day.month == 1 and day.day == 1 and date(day.year, 12, 31) <= end:
            spans.append(("year", day))
            day = date(day.year + 1, 1, 1)
        elif day.day == 1 and _month_after(day) - timedelta(days=1) <= end:
            spans.append(("month", day))
            day = _month_after(day)
        else:
            spans.append(("day", day))
            day += timedelta(days=1)
    return spans


def in_whole_months(start: date, end: date) -> bool:
    """Whether the area cells cover the days `start` to `end`."""
    return all(span != AREA_SKIPS for span, _first in cover(start, end))


Cells = type[FigureCell] | type[FigureAreaCell]


def _starts_between(span: str, first: date, last: date) -> int:
    """How many cells of `span` start from `first` to `last` (both cells' first days)."""
    if span.endswith("year"):
        return last.year - first.year + 1
    if span.endswith("month"):
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days + 1


def cells_clause(*spans: tuple[str, date], table: Cells = FigureCell):
    """The SQL condition on FigureCell (or FigureAreaCell) for these (span, first day) cells:
    a range of first days where a span's cells follow each other without a gap (a year's
    deadlines ahead are one range, not 75 values to send and plan)."""
    firsts: dict[str, list[date]] = defaultdict(list)
    for span, first in spans:
        firsts[span].append(first)
    clauses = []
    for span, days in firsts.items():
        days = sorted(set(days))
        if len(days) > 1 and _starts_between(span, days[0], days[-1]) == len(days):
            clauses.append(sa.and_(table.span == span, table.first_day.between(days[0], days[-1])))
        else:
            clauses.append(sa.and_(table.span == span, table.first_day.in_(days)))
    return sa.or_(*clauses)


def period_clause(start: date, end: date, table: Cells = FigureCell):
    """The cells of the days filed and closed on from `start` to `end`."""
    return cells_clause(*cover(start, end), table=table)


def due_clause(today: date, table: Cells = FigureCell):
    """The due_… cells of all deadlines together and of those from `today` on."""
    ahead = cover(max(today, EARLIEST_DAY), LAST_DAY) if today <= LAST_DAY else []
    return cells_clause(("due_all", EARLIEST_DAY), *((f"due_{span}", first) for span, first in ahead), table=table)


# --- keeping them ------------------------------------------------------------------------

Key = tuple[str, date, int, int]  # (span, first day, station or region, unit key)
CHUNK = 500  # ids per IN list
# PostgreSQL's transaction-level advisory lock between the writers of area cells (shared)
# and a transaction that moves stations to another region (exclusive).
AREA_LOCK = 0x6D61_7368_6172_6561  # "masharea" in ASCII
_KEPT = "figure_cells_kept"
_COMMITTING = "figure_cells_committing"
_statements: dict[str, sa.Executable] = {}


def _statement(name: str, dialect: str = "") -> sa.Executable:
    """The statements the flushes send, built once: building and keying one of this size
    costs more than the database takes to run it (SQLAlchemy keys its compiled-statement
    cache on the statement's structure, computed once per statement object)."""
    key = f"{name}:{dialect}"
    made = _statements.get(key)
    if made is None:
        ids: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
        if name == "count":
            made = day_cells(Concern.id.in_(ids))
        elif name == "areas":
            made = _areas_query(Station.id.in_(ids))
        else:
            table = cast(sa.Table, (FigureCell if name.startswith("cells") else FigureAreaCell).__table__)
            if name.endswith("_unnest"):
                made = _unnest_upsert(table)
            else:
                insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
                made = insert.on_conflict_do_update(
                    index_elements=[c.name for c in table.primary_key.columns],
                    set_={n: table.c[n] + insert.excluded[n] for n in CELL_FIELDS},
                )
        _statements[key] = made
    return made


def _unnest_upsert(table: sa.Table) -> sa.TextClause:
    """PostgreSQL: the upsert of all the rows as one statement, each column one array (the
    rows in the arrays' order): executemany sends and binds every row on its own."""
    keys = [c.name for c in table.primary_key.columns]
    columns = [*keys, *CELL_FIELDS]
    types = {"span": "varchar[]", "first_day": "date[]", "close_days_sum": "bigint[]"}
    arrays = ", ".join(f"CAST(:{c} AS {types.get(c, 'integer[]')})" for c in columns)
    added = ", ".join(f"{n} = {table.name}.{n} + excluded.{n}" for n in CELL_FIELDS)
    return sa.text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "  # noqa: S608 (our names)
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )


def _areas_query(*where) -> sa.Select:
    """(station_id, region_id): each region the stations that meet `where` lie in (their
    own and every one above it)."""
    up = (
        sa.select(Station.id.label("station_id"), Region.id.label("region_id"), Region.parent_id.label("parent_id"))
        .join(Region, Region.id == Station.region_id)
        .where(*where)
        .cte("up", recursive=True)
    )
    parent = aliased(Region)
    up = up.union_all(sa.select(up.c.station_id, parent.id, parent.parent_id).join(parent, parent.id == up.c.parent_id))
    return sa.select(up.c.station_id, up.c.region_id)


def _in_chunks(connection, name: str, ids: Iterable[int]):
    ids = sorted(ids)
    for n in range(0, len(ids), CHUNK):
        yield from connection.execute(_statement(name), {"ids": ids[n : n + CHUNK]})


def _add(into: dict[Key, list[int]], key: Key, values: list[int]) -> None:
    cell = into.setdefault(key, [0] * len(CELL_FIELDS))
    for i, value in enumerate(values):
        cell[i] += value


def _counted(connection, ids: Iterable[int], sign: int, into: dict[Key, list[int]]) -> None:
    """Add `sign` × the cells of these concerns, as the database holds them now, to `into`
    (per station and the concern's own unit)."""
    for timeline, day, station_id, unit_key, *values in _in_chunks(connection, "count", ids):
        if isinstance(day, str):  # SQLite's date() is text
            day = date.fromisoformat(day)
        signed = [sign * int(value) for value in values]
        for span in SPANS_OF[timeline]:
            _add(into, (span, span_start(span, day), station_id, unit_key), signed)


def _areas(connection, stations: Iterable[int]) -> dict[int, frozenset[int]]:
    """The regions each of these stations lies in, as the database has them now."""
    areas: dict[int, set[int]] = defaultdict(set)
    for station_id, region_id in _in_chunks(connection, "areas", stations):
        areas[station_id].add(region_id)
    return {station_id: frozenset(regions) for station_id, regions in areas.items()}


def _upsert(connection, changes: dict[Key, list[int]], areas: dict[int, frozenset[int]]) -> None:
    """Add the changes (per station and unit) to the station's cells and its all-units
    cells, and the same to the area cells of every region it lies in, creating the missing
    ones; in key order, so that two writers lock shared cells in the same order."""
    cells: dict[Key, list[int]] = {}
    area_cells: dict[Key, list[int]] = {}
    for (span, first, station_id, unit_key), values in changes.items():
        if not any(values):
            continue
        for unit in (unit_key, ALL_UNITS):
            _add(cells, (span, first, station_id, unit), values)
            if span != AREA_SKIPS:
                for region_id in areas[station_id]:
                    _add(area_cells, (span, first, region_id, unit), values)
    dialect = connection.dialect.name
    for name, kept, key_name in (("cells", cells, "station_id"), ("area_cells", area_cells, "region_id")):
        rows = [(*k, *v) for k, v in sorted(kept.items()) if any(v)]
        if not rows:
            continue
        columns = ["span", "first_day", key_name, "unit_key", *CELL_FIELDS]
        if dialect == "postgresql":
            arrays = dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True))
            connection.execute(_statement(name + "_unnest"), arrays)
        else:
            connection.execute(_statement(name, dialect), [dict(zip(columns, row, strict=True)) for row in rows])


def _move(connection, before: dict[int, frozenset[int]]) -> None:
    """Move the cells of the stations that lie in other regions than `before` says from the
    area cells of the regions they left to those of the regions they entered."""
    now = _areas(connection, before)
    moved: dict[tuple[int, int], list[int]] = defaultdict(list)  # (region, sign): stations
    for station_id, old in before.items():
        new = now.get(station_id, old)
        for region_id in old - new:
            moved[(region_id, -1)].append(station_id)
        for region_id in new - old:
            moved[(region_id, +1)].append(station_id)
    table = cast(sa.Table, FigureCell.__table__)
    upsert = _statement("area_cells", connection.dialect.name)
    columns = ["span", "first_day", "region_id", "unit_key", *CELL_FIELDS]
    for (region_id, sign), stations in sorted(moved.items()):
        query = (
            sa.select(
                table.c.span,
                table.c.first_day,
                sa.literal(region_id),
                table.c.unit_key,
                *(sign * sa.func.sum(table.c[n]) for n in CELL_FIELDS),
            )
            .where(table.c.station_id.in_(stations), table.c.span != AREA_SKIPS)
            .group_by(table.c.span, table.c.first_day, table.c.unit_key)
        )
        connection.execute(upsert.from_select(columns, query))  # type: ignore[attr-defined]


class _Kept:
    """What a transaction has changed in the counted columns since the cells were last
    brought up to date (in its commit)."""

    def __init__(self) -> None:
        # The concerns whose cells before the transaction's change are taken off in
        # `changes` already (or that are new: nothing to take off); counted again at the end.
        self.counted: set[int] = set()
        self.changes: dict[Key, list[int]] = {}
        # Stations that may have moved to other regions: the regions they lay in before.
        self.areas: dict[int, frozenset[int]] = {}


def _touched(session: Session) -> set[int]:
    """The concerns already in the database whose cells this flush may change."""
    ids: set[int | None] = set()
    for obj in session.dirty:
        if isinstance(obj, Concern) and session.is_modified(obj, include_collections=False):
            ids.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Concern):
            ids.add(obj.id)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ConcernRating):
            # A rating appended to its concern has no concern_id before the flush.
            ids.add(getattr(obj, "concern_id", None) or getattr(obj.concern, "id", None))
    ids.discard(None)
    return ids  # type: ignore[return-value]


def _changed(obj, *attributes: str) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in attributes)


def _moving(session: Session, connection) -> set[int]:
    """The stations this flush may move to another region: moved themselves, or under a
    region that is given another parent."""
    stations = {obj.id for obj in session.dirty if isinstance(obj, Station) and _changed(obj, "region_id", "region")}
    regions = [obj.id for obj in session.dirty if isinstance(obj, Region) and _changed(obj, "parent_id", "parent")]
    if regions:
        below = sa.select(Region.id).where(Region.id.in_(regions)).cte("moved_tree", recursive=True)
        child = aliased(Region)
        below = below.union_all(sa.select(child.id).where(child.parent_id == below.c.id))
        stations.update(connection.scalars(sa.select(Station.id).where(Station.region_id.in_(sa.select(below.c.id)))))
    return stations


def _before_flush(session: Session, _context, _instances) -> None:
    kept = session.info.setdefault(_KEPT, _Kept())
    touched = _touched(session) - kept.counted
    if touched:
        # "Before" is the state this transaction found: taken at the first flush that
        # changes the concern (its version check makes it the state the change replaced).
        _counted(session.connection(), touched, -1, kept.changes)
        kept.counted |= touched
    if any(isinstance(obj, (Station, Region)) for obj in session.dirty):
        connection = session.connection()
        moving = _moving(session, connection) - kept.areas.keys()
        if moving:
            kept.areas.update(_areas(connection, moving))


def _after_flush(session: Session, _context) -> None:
    kept = session.info.setdefault(_KEPT, _Kept())
    for obj in session.new:
        if isinstance(obj, Concern):
            kept.counted.add(obj.id)
    if session.info.get(_COMMITTING):
        _bring_up_to_date(session)  # a flush after the commit's own hook (another hook's changes)


def _bring_up_to_date(session: Session) -> None:
    """Add the transaction's changes to the cells: what its concerns count now less what
    they counted before it changed them, with one upsert per table."""
    kept: _Kept | None = session.info.pop(_KEPT, None)
    if kept is None or not (kept.counted or kept.areas):
        return
    connection = session.connection()
    changes = kept.changes
    if kept.counted:
        _counted(connection, kept.counted, +1, changes)
    if connection.dialect.name == "postgresql" and (changes or kept.areas):
        # Stations move between areas with the area cells to themselves; the writers that
        # read the areas before (or after) it committed are counted (or wait).
        lock = sa.func.pg_advisory_xact_lock if kept.areas else sa.func.pg_advisory_xact_lock_shared
        connection.execute(sa.select(lock(AREA_LOCK)))
    if kept.areas:
        _move(connection, kept.areas)
    if changes:
        _upsert(connection, changes, _areas(connection, {key[2] for key in changes}))


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: its changes are counted with the whole transaction's
    session.flush()
    _bring_up_to_date(session)
    session.info[_COMMITTING] = True


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        # Committed (and brought up to date) or rolled back: nothing carries over.
        session.info.pop(_KEPT, None)
        session.info.pop(_COMMITTING, None)


def _refuse_bulk(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if mapper is None or not (state.is_update or state.is_delete or state.is_insert):
        return
    if issubclass(mapper.class_, (Concern, ConcernRating)) and not state.execution_options.get("figures_unaffected"):
        raise RuntimeError(
            "An INSERT, UPDATE or DELETE statement on concerns skips the figures' cells: change the rows "
            "through the session, or say figures_unaffected=True when the counted columns stay as they are "
            "(or when the caller runs figure_cells.rebuild() after it)."
        )


_listening = False
_LISTENERS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
    ("after_transaction_end", _after_transaction_end),
    ("do_orm_execute", _refuse_bulk),
)


def listen(on: bool = True) -> None:
    """Keep the cells in every session's transactions (once per process); `on=False` stops
    it again (bench/submissions.py, to measure what keeping them costs)."""
    global _listening
    if on == _listening:
        return
    for name, listener in _LISTENERS:
        (event.listen if on else event.remove)(Session, name, listener)
    _listening = on


# --- making them again -------------------------------------------------------------------


def rebuild(connection) -> int:
    """Count every cell again from the concerns (repair; after rows written past the ORM).
    Returns the number of cells."""
    table = cast(sa.Table, FigureCell.__table__)
    keys = ["span", "first_day", "station_id", "unit_key"]
    if connection.dialect.name == "postgresql":
        # Writers' upserts wait until the new cells are committed, then add their changes
        # to them; one that upserted before waits to commit first, and is counted.
        connection.exec_driver_sql("LOCK TABLE figure_cell, figure_area_cell IN EXCLUSIVE MODE")
    connection.execute(sa.delete(table))
    days = day_cells().subquery("days")
    span = sa.case((days.c.timeline == "due", sa.literal("due_day")), else_=sa.literal("day"))
    fields = [days.c[n] for n in CELL_FIELDS]
    connection.execute(
        sa.insert(table).from_select(
            [*keys, *CELL_FIELDS], sa.select(span, days.c.day, days.c.station_id, days.c.unit_key, *fields)
        )
    )
    sums = [sa.func.sum(table.c[n]) for n in CELL_FIELDS]
    for prefix in ("", "due_"):
        for unit, finer in (("month", "day"), ("year", "month")):
            first: sa.ColumnElement[date]
            if connection.dialect.name == "postgresql":
                first = sa.cast(sa.func.date_trunc(unit, table.c.first_day), sa.Date)
            else:
                first = sa.func.date(table.c.first_day, f"start of {unit}", type_=sa.Date)
            query = sa.select(sa.literal(prefix + unit), first, table.c.station_id, table.c.unit_key, *sums)
            query = query.where(table.c.span == prefix + finer).group_by(first, table.c.station_id, table.c.unit_key)
            connection.execute(sa.insert(table).from_select([*keys, *CELL_FIELDS], query))
    together = sa.select(
        sa.literal("due_all"), sa.literal(EARLIEST_DAY, sa.Date), table.c.station_id, table.c.unit_key, *sums
    )
    together = together.where(table.c.span == "due_year").group_by(table.c.station_id, table.c.unit_key)
    connection.execute(sa.insert(table).from_select([*keys, *CELL_FIELDS], together))
    every_unit = (
        sa.select(table.c.span, table.c.first_day, table.c.station_id, sa.literal(ALL_UNITS), *sums)
        .where(table.c.unit_key != ALL_UNITS)
        .group_by(table.c.span, table.c.first_day, table.c.station_id)
    )
    connection.execute(sa.insert(table).from_select([*keys, *CELL_FIELDS], every_unit))
    rebuild_areas(connection)
    return connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0


def rebuild_areas(connection) -> int:
    """Add up the area cells again from the cells (within rebuild(); migration 0034's
    backfill keeps a copy). Returns the number of area cells."""
    table = cast(sa.Table, FigureCell.__table__)
    areas = _areas_query().subquery("areas")
    query = (
        sa.select(
            table.c.span,
            table.c.first_day,
            areas.c.region_id,
            table.c.unit_key,
            *(sa.func.sum(table.c[n]) for n in CELL_FIELDS),
        )
        .join(areas, areas.c.station_id == table.c.station_id)
        .where(table.c.span != AREA_SKIPS)
        .group_by(table.c.span, table.c.first_day, areas.c.region_id, table.c.unit_key)
    )
    area_table = cast(sa.Table, FigureAreaCell.__table__)
    connection.execute(sa.delete(area_table))
    columns = ["span", "first_day", "region_id", "unit_key", *CELL_FIELDS]
    connection.execute(sa.insert(area_table).from_select(columns, query))
    return connection.scalar(sa.select(sa.func.count()).select_from(area_table)) or 0
