"""figure_cell: the figures' counts per local day, month and year, station and unit, kept in
the transaction of every change to a concern (services/figure_cells.py), backfilled here

The backfill is this revision's own copy of the counting rule (services.figure_cells.day_cells
is the living one; `flask figures rebuild` runs that): each concern is received on the local
(UTC+8) day it was filed and, when closed, counts its closing figures on the local day it
was closed; an open one counts on the local day of its deadline (due_… spans; none, or
one after 2100, on 31 December 2100). Months and years are the sums of their days,
due_all of every deadline, and unit -1 the sum of a station's units. On 1,000,000
concerns it takes a few minutes.

Revision ID: 0030_daily_figures
Revises: 0027_word_search
Create Date: 2026-12-01 19:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0030_daily_figures"
down_revision = '0028_open311'
branch_labels = None
depends_on = None

FIELDS = (
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
SATISFIED = "('satisfied', 'basically_satisfied')"
OPEN = "('submitted', 'accepted', 'dispatched', 'replied', 'confirmed')"


def _backfill(dialect: str) -> None:
    if dialect == "postgresql":
        local_day = "CAST(({}) + INTERVAL '8 hours' AS DATE)".format
        start_of = "CAST(date_trunc('{0}', first_day) AS DATE)".format
    else:
        # Whole seconds: SQLite rounds a time to the millisecond (23:59:59.9999 is no next day).
        local_day = "date(substr({}, 1, 19), '+8 hours')".format
        start_of = "date(first_day, 'start of {0}')".format

    def yes(condition: str) -> str:
        return f"CASE WHEN {condition} THEN 1 ELSE 0 END"

    def row(**values: str) -> str:
        return ", ".join(f"{values.get(name, '0')} AS {name}" for name in FIELDS)

    closing = row(
        closed="1",
        close_days_sum="COALESCE(c.close_working_days, 0)",
        close_days_n=yes("c.close_working_days IS NOT NULL"),
        on_time=yes("NOT c.was_late"),
        rated_unit=yes("c.rating_unit IS NOT NULL"),
        satisfied_unit=yes(f"c.rating_unit IN {SATISFIED}"),
        rated_rep=yes("c.rating_rep IS NOT NULL"),
        satisfied_rep=yes(f"c.rating_rep IN {SATISFIED}"),
        first_rated_unit=yes("f.rating_unit IS NOT NULL"),
        first_satisfied_unit=yes(f"f.rating_unit IN {SATISFIED}"),
        first_rated_rep=yes("f.rating_rep IS NOT NULL"),
        first_satisfied_rep=yes(f"f.rating_rep IN {SATISFIED}"),
    )
    due_on = (
        "CASE WHEN c.due_at IS NULL OR c.due_at >= '2100-12-30 16:00:00' THEN '2100-12-31' "
        f"WHEN c.due_at < '1969-12-31 16:00:00' THEN '1970-01-01' ELSE {local_day('c.due_at')} END"
    )
    if dialect == "postgresql":
        due_on = due_on.replace("THEN '2100-12-31'", "THEN DATE '2100-12-31'").replace(
            "THEN '1970-01-01'", "THEN DATE '1970-01-01'"
        )
    columns = ", ".join(FIELDS)
    sums = ", ".join(f"sum({name})" for name in FIELDS)
    key = "span, first_day, station_id, unit_key"
    op.execute(
        f"""
        INSERT INTO figure_cell ({key}, {columns})
        SELECT span, day, station_id, unit_key, {sums} FROM (
            SELECT 'day' AS span, {local_day("c.created_at")} AS day, c.station_id,
                   COALESCE(c.unit_id, 0) AS unit_key, {row(received="1")}
            FROM concern c
            UNION ALL
            SELECT 'day', {local_day("c.closed_at")}, c.station_id, COALESCE(c.unit_id, 0), {closing}
            FROM concern c LEFT JOIN concern_rating f ON f.concern_id = c.id AND f.round = 1
            WHERE c.status = 'closed' AND c.closed_at IS NOT NULL
            UNION ALL
            SELECT 'due_day', {due_on}, c.station_id, COALESCE(c.unit_id, 0),
                   {row(open="1", awaiting=yes("c.due_at IS NOT NULL AND c.status <> 'confirmed'"))}
            FROM concern c WHERE c.status IN {OPEN}
        ) AS counted
        GROUP BY span, day, station_id, unit_key
        """
    )
    for prefix in ("", "due_"):
        for span, finer in (("month", "day"), ("year", "month")):
            op.execute(
                f"""
                INSERT INTO figure_cell ({key}, {columns})
                SELECT '{prefix}{span}', {start_of(span)}, station_id, unit_key, {sums}
                FROM figure_cell WHERE span = '{prefix}{finer}'
                GROUP BY {start_of(span)}, station_id, unit_key
                """
            )
    first = "DATE '1970-01-01'" if dialect == "postgresql" else "'1970-01-01'"
    op.execute(
        f"""
        INSERT INTO figure_cell ({key}, {columns})
        SELECT 'due_all', {first}, station_id, unit_key, {sums}
        FROM figure_cell WHERE span = 'due_year' GROUP BY station_id, unit_key
        """
    )
    op.execute(
        f"""
        INSERT INTO figure_cell ({key}, {columns})
        SELECT span, first_day, station_id, -1, {sums} FROM figure_cell
        GROUP BY span, first_day, station_id
        """
    )


def upgrade():
    op.create_table(
        "figure_cell",
        sa.Column("span", sa.String(length=9), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("awaiting", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("close_days_sum", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in FIELDS[5:]),
        sa.CheckConstraint(
            "span IN ('day', 'month', 'year', 'due_day', 'due_month', 'due_year', 'due_all')",
            name=op.f("ck_figure_cell_span_value"),
        ),
        sa.PrimaryKeyConstraint("span", "first_day", "station_id", "unit_key", name=op.f("pk_figure_cell")),
    )
    op.create_index("ix_figure_cell_station", "figure_cell", ["station_id", "span", "first_day"], unique=False)
    op.create_index("ix_figure_cell_unit", "figure_cell", ["unit_key", "span", "first_day"], unique=False)
    _backfill(op.get_bind().dialect.name)


def downgrade():
    op.drop_index("ix_figure_cell_unit", table_name="figure_cell")
    op.drop_index("ix_figure_cell_station", table_name="figure_cell")
    op.drop_table("figure_cell")
