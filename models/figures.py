from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# The spans a cell can cover: a local day, a calendar month, a calendar year (from its first
# day), of the days concerns were filed and closed on, or (due_…) of their deadlines;
# due_all (on 1970-01-01) adds up every deadline.
SPANS = ("day", "month", "year", "due_day", "due_month", "due_year", "due_all")


def span_check() -> sa.CheckConstraint:
    return sa.CheckConstraint("span IN (" + ", ".join(f"'{span}'" for span in SPANS) + ")", name="span_value")


class CellCounts:
    """The counted columns of a cell. Filed on the cell's days, and of those closed on them
    the closing figures (services.figures.Counts has the same names); in a due_… cell, the
    open concerns due on its days, and of those the ones that can be overdue (not waiting
    for the resident's rating)."""

    received: Mapped[int] = mapped_column(default=0)
    open: Mapped[int] = mapped_column(default=0)
    awaiting: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    close_days_sum: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    close_days_n: Mapped[int] = mapped_column(default=0)
    on_time: Mapped[int] = mapped_column(default=0)
    rated_unit: Mapped[int] = mapped_column(default=0)
    satisfied_unit: Mapped[int] = mapped_column(default=0)
    rated_rep: Mapped[int] = mapped_column(default=0)
    satisfied_rep: Mapped[int] = mapped_column(default=0)
    first_rated_unit: Mapped[int] = mapped_column(default=0)
    first_satisfied_unit: Mapped[int] = mapped_column(default=0)
    first_rated_rep: Mapped[int] = mapped_column(default=0)
    first_satisfied_rep: Mapped[int] = mapped_column(default=0)


class FigureCell(CellCounts, Base):
    """The closed loop's counts of one station and one handling unit (or all its units) over
    one local day, month or year: what services.figures sums instead of counting concerns
    again. Kept by services.figure_cells in the transaction of every change to a concern;
    derived data, `flask figures rebuild` makes it again from the concerns.

    No foreign keys: a cell outlives nothing it names (a station or unit with concerns is
    never deleted), and a key checked on every upsert would only slow the writes down."""

    __tablename__ = "figure_cell"

    span: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    first_day: Mapped[date] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(primary_key=True)
    # The concern's unit, 0 when it has none (the key cannot hold NULL); -1 in the cell that
    # adds up all of the station's units, which the figures by station read.
    unit_key: Mapped[int] = mapped_column(primary_key=True)

    __table_args__ = (
        span_check(),
        # A station manager's or a unit's figures read their own cells.
        sa.Index("ix_figure_cell_station", "station_id", "span", "first_day"),
        sa.Index("ix_figure_cell_unit", "unit_key", "span", "first_day"),
    )


class FigureAreaCell(CellCounts, Base):
    """FigureCell's counts added up over all the stations of a region (every station whose
    region is it or one below it), per handling unit and for all units (-1), so that a
    province's figures by unit or by region are a sum over a few thousand cells rather than
    one per station. Months, years and deadlines only: no single days filed and closed on
    (services.figure_cells.AREA_SKIPS). Kept by services.figure_cells with the cells it adds up, and moved when
    a station or a region moves under another region; derived data like FigureCell."""

    __tablename__ = "figure_area_cell"

    span: Mapped[str] = mapped_column(sa.String(9), primary_key=True)
    first_day: Mapped[date] = mapped_column(primary_key=True)
    # The region whose stations (at or below it) are counted: a station counts in its own
    # region's cells and in those of each region above it.
    region_id: Mapped[int] = mapped_column(primary_key=True)
    # As FigureCell.unit_key: the unit, 0 for none, -1 for all the units together.
    unit_key: Mapped[int] = mapped_column(primary_key=True)

    __table_args__ = (
        span_check(),
        # A unit handler's figures read their own unit's cells.
        sa.Index("ix_figure_area_cell_unit", "unit_key", "span", "first_day"),
    )
