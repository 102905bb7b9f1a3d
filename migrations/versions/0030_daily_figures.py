"""figure_cell: the figures' counts per local day, month and year, station and unit, kept in
the transaction of every change to a concern (services/figure_cells.py), backfilled here

The backfill is this revision's own copy of the counting rule (services.figure_cells.day_cells
is the living one; `flask figures rebuild` runs that): each concern is received on the local
(UTC+8) day it was filed, and, when closed, counts its closing figures on the local day it
was closed; months and years are the sums of their days. On 1,000,000 concerns it takes
about a minute.

Revision ID: 0030_daily_figures
Revises: 0027_word_search
Create Date: 2026-12-01 19:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0030_daily_figures"
down_revision = "0027_word_search"
branch_labels = None
depends_on = None

FIELDS = (
    "received",
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
SATISFIED = "('satisfied', 'basically_satisfied')"


def _backfill(dialect: str) -> None:
    if dialect == "postgresql":
        local_day = "CAST(({}) + INTERVAL '8 hours' AS DATE)".format
        start_of = "CAST(date_trunc('{0}', first_day) AS DATE)".format
    else:
        # Whole seconds: SQLite rounds a time to the millisecond (23:59:59.9999 is no next day).
        local_day = "date(substr({}, 1, 19), '+8 hours')".format
        start_of = "date(first_day, 'start of {0}')".format
    zeros = ", ".join(f"0 AS {name}" for name in FIELDS[1:])

    def yes(condition: str) -> str:
        return f"CASE WHEN {condition} THEN 1 ELSE 0 END"

    closing = ", ".join(
        [
            "1",
            "COALESCE(c.close_working_days, 0)",
            yes("c.close_working_days IS NOT NULL"),
            yes("NOT c.was_late"),
            yes("c.rating_unit IS NOT NULL"),
            yes(f"c.rating_unit IN {SATISFIED}"),
            yes("c.rating_rep IS NOT NULL"),
            yes(f"c.rating_rep IN {SATISFIED}"),
            yes("f.rating_unit IS NOT NULL"),
            yes(f"f.rating_unit IN {SATISFIED}"),
            yes("f.rating_rep IS NOT NULL"),
            yes(f"f.rating_rep IN {SATISFIED}"),
        ]
    )
    columns = ", ".join(FIELDS)
    sums = ", ".join(f"sum({name})" for name in FIELDS)
    op.execute(
        f"""
        INSERT INTO figure_cell (span, first_day, station_id, unit_key, {columns})
        SELECT 'day', day, station_id, unit_key, {sums} FROM (
            SELECT {local_day("c.created_at")} AS day, c.station_id, COALESCE(c.unit_id, 0) AS unit_key,
                   1 AS received, {zeros}
            FROM concern c
            UNION ALL
            SELECT {local_day("c.closed_at")}, c.station_id, COALESCE(c.unit_id, 0), 0, {closing}
            FROM concern c LEFT JOIN concern_rating f ON f.concern_id = c.id AND f.round = 1
            WHERE c.status = 'closed' AND c.closed_at IS NOT NULL
        ) AS counted
        GROUP BY day, station_id, unit_key
        """
    )
    for span, finer in (("month", "day"), ("year", "month")):
        op.execute(
            f"""
            INSERT INTO figure_cell (span, first_day, station_id, unit_key, {columns})
            SELECT '{span}', {start_of(span)}, station_id, unit_key, {sums}
            FROM figure_cell WHERE span = '{finer}'
            GROUP BY {start_of(span)}, station_id, unit_key
            """
        )


def upgrade():
    op.create_table(
        "figure_cell",
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("close_days_sum", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in FIELDS[3:]),
        sa.CheckConstraint("span IN ('day', 'month', 'year')", name=op.f("ck_figure_cell_span_value")),
        sa.PrimaryKeyConstraint("span", "first_day", "station_id", "unit_key", name=op.f("pk_figure_cell")),
    )
    op.create_index("ix_figure_cell_station", "figure_cell", ["station_id", "span", "first_day"], unique=False)
    op.create_index("ix_figure_cell_unit", "figure_cell", ["unit_key", "span", "first_day"], unique=False)
    _backfill(op.get_bind().dialect.name)


def downgrade():
    op.drop_index("ix_figure_cell_unit", table_name="figure_cell")
    op.drop_index("ix_figure_cell_station", table_name="figure_cell")
    op.drop_table("figure_cell")
