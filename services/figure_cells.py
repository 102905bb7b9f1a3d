"""The figures' counts kept per local day, month and year, station and handling unit
(models.FigureCell), so that a province's year is a sum over a few ten thousand cells
rather than a count over every concern of the year.

Why kept in the transaction of each change, and not materialised by a job with today's
part counted live: a concern's past days change too. Rating it, reopening it after a
dissatisfied rating (closed → dispatched), sending it to another unit or correcting its
station changes the days it was filed or closed on, so a table refreshed overnight would
be wrong about last month until the next run, and "the figures equal the live counts"
would hold only for periods that end before the last refresh. Kept in the same
transaction, the cells are never behind what a reader of the concerns sees.

How they are kept: every flush that adds, changes or deletes a concern or a rating counts
the touched concerns' cells in the database before the flush (`day_cells`, the same SQL
that rebuilds the table) and again after it, and adds the difference to the day, month
and year cells, each for the concern's unit and for all of the station's units (-1: what
the figures by station and by region read, one row per station), with one upsert (the
increments commute, so concurrent writers do not lose each other's; the concern's
version check makes "before" the state the change replaced). The rule of what counts
where is that one SELECT, used by the flushes and the rebuild alike (the migration's
backfill keeps a copy). An INSERT, UPDATE or DELETE statement on concerns or ratings
skips the flush, so one is refused unless it says (execution option `figures_unaffected`)
that it leaves the counted columns alone or that rebuild() follows it, as it does rows
written past the ORM (devtools.scale's COPY, bench/exports.py's bulk insert).

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

from models import Concern, ConcernRating, FigureCell
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


def cells_clause(*spans: tuple[str, date]):
    """The SQL condition on FigureCell for these (span, first day) cells."""
    firsts: dict[str, list[date]] = defaultdict(list)
    for span, first in spans:
        firsts[span].append(first)
    return sa.or_(*(sa.and_(FigureCell.span == span, FigureCell.first_day.in_(days)) for span, days in firsts.items()))


def period_clause(start: date, end: date):
    """The cells of the days filed and closed on from `start` to `end`."""
    return cells_clause(*cover(start, end))


def due_clause(today: date):
    """The due_… cells of all deadlines together and of those from `today` on."""
    ahead = cover(max(today, EARLIEST_DAY), LAST_DAY) if today <= LAST_DAY else []
    return cells_clause(("due_all", EARLIEST_DAY), *((f"due_{span}", first) for span, first in ahead))


# --- keeping them ------------------------------------------------------------------------

Key = tuple[str, date, int, int]
CHUNK = 500  # concern ids per IN list


def _counted(connection, ids: Iterable[int], sign: int, into: dict[Key, list[int]]) -> None:
    """Add `sign` × the cells of these concerns, as the database holds them now, to `into`."""
    ids = sorted(ids)
    for n in range(0, len(ids), CHUNK):
        rows = connection.execute(day_cells(Concern.id.in_(ids[n : n + CHUNK])))
        for timeline, day, station_id, unit_key, *values in rows:
            if isinstance(day, str):  # SQLite's date() is text
                day = date.fromisoformat(day)
            for span in SPANS_OF[timeline]:
                for unit in (unit_key, ALL_UNITS):
                    cell = into.setdefault((span, span_start(span, day), station_id, unit), [0] * len(CELL_FIELDS))
                    for i, value in enumerate(values):
                        cell[i] += sign * int(value)


def _upsert(connection, changes: dict[Key, list[int]]) -> None:
    """Add the changes to the cells, creating the missing ones; in key order, so that two
    writers lock shared cells in the same order."""
    rows = [
        {
            "span": k[0],
            "first_day": k[1],
            "station_id": k[2],
            "unit_key": k[3],
            **dict(zip(CELL_FIELDS, v, strict=True)),
        }
        for k, v in sorted(changes.items())
        if any(v)
    ]
    if not rows:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(FigureCell)
    table = cast(sa.Table, FigureCell.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["span", "first_day", "station_id", "unit_key"],
        set_={name: table.c[name] + statement.excluded[name] for name in CELL_FIELDS},
    )
    connection.execute(statement, rows)


_BEFORE = "figure_cells_before"


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


def _before_flush(session: Session, _context, _instances) -> None:
    touched = _touched(session)
    changes: dict[Key, list[int]] = {}
    if touched:
        _counted(session.connection(), touched, -1, changes)
    session.info[_BEFORE] = (touched, changes)


def _after_flush(session: Session, _context) -> None:
    touched, changes = session.info.pop(_BEFORE, (set(), {}))
    touched = set(touched)
    for obj in session.new:
        if isinstance(obj, Concern):
            touched.add(obj.id)
        elif isinstance(obj, ConcernRating):
            touched.add(obj.concern_id)
    touched.discard(None)
    if touched:
        connection = session.connection()
        _counted(connection, touched, +1, changes)
        _upsert(connection, changes)


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


def _forget(session: Session, *_args) -> None:
    session.info.pop(_BEFORE, None)


_listening = False


def listen() -> None:
    """Keep the cells in every session's flushes (once per process)."""
    global _listening
    if _listening:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _refuse_bulk)
    event.listen(Session, "after_soft_rollback", _forget)
    _listening = True


# --- making them again -------------------------------------------------------------------


def rebuild(connection) -> int:
    """Count every cell again from the concerns (repair; after rows written past the ORM).
    Returns the number of cells."""
    table = cast(sa.Table, FigureCell.__table__)
    keys = ["span", "first_day", "station_id", "unit_key"]
    if connection.dialect.name == "postgresql":
        # Writers' upserts wait until the new cells are committed, then add their changes
        # to them; one that upserted before waits to commit first, and is counted.
        connection.exec_driver_sql("LOCK TABLE figure_cell IN EXCLUSIVE MODE")
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
    return connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0
