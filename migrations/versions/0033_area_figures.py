"""figure_area_cell: the figures' cells per handling unit added up over each top-level
region's stations (services/figure_cells.py keeps them), backfilled here from figure_cell

The backfill is this revision's own copy of services.figure_cells.rebuild_areas: each
station's cells of one unit (not the all-units ones, -1) go to the region at the top of
its region's tree. On 1,000,000 concerns it takes a few ten seconds.

Revision ID: 0033_area_figures
Revises: 0029_webhooks
Create Date: 2026-12-01 22:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033_area_figures"
down_revision = "0029_webhooks"
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


def _backfill() -> None:
    columns = ", ".join(FIELDS)
    sums = ", ".join(f"sum(c.{name})" for name in FIELDS)
    op.execute(
        f"""
        WITH RECURSIVE up(station_id, region_id, parent_id) AS (
            SELECT s.id, r.id, r.parent_id FROM station s JOIN region r ON r.id = s.region_id
            UNION ALL
            SELECT up.station_id, r.id, r.parent_id FROM up JOIN region r ON r.id = up.parent_id
        )
        INSERT INTO figure_area_cell (span, first_day, region_id, unit_key, {columns})
        SELECT c.span, c.first_day, up.region_id, c.unit_key, {sums}
        FROM figure_cell c JOIN up ON up.station_id = c.station_id AND up.parent_id IS NULL
        WHERE c.unit_key <> -1
        GROUP BY c.span, c.first_day, up.region_id, c.unit_key
        """
    )


def upgrade():
    op.create_table(
        "figure_area_cell",
        sa.Column("span", sa.String(length=9), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("awaiting", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("close_days_sum", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in FIELDS[5:]),
        sa.CheckConstraint(
            "span IN ('day', 'month', 'year', 'due_day', 'due_month', 'due_year', 'due_all')",
            name=op.f("ck_figure_area_cell_span_value"),
        ),
        sa.PrimaryKeyConstraint("span", "first_day", "region_id", "unit_key", name=op.f("pk_figure_area_cell")),
    )
    op.create_index("ix_figure_area_cell_unit", "figure_area_cell", ["unit_key", "span", "first_day"], unique=False)
    _backfill()


def downgrade():
    op.drop_index("ix_figure_area_cell_unit", table_name="figure_area_cell")
    op.drop_table("figure_area_cell")
