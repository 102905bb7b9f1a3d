"""figure_area_cell for every region: each region's stations (at or below it) added up per
handling unit and for all units (-1), where 0033 kept only the top-level regions per unit;
and no cells of single days filed and closed on, which were most of them (services/
figure_cells.py keeps them; the figures by region and by unit over a region read them)

The backfill is this revision's own copy of services.figure_cells.rebuild_areas: the area
cells are made again from figure_cell, each station's cells going to its region and to
every region above it. On 1,000,000 concerns it takes about a minute.

Revision ID: 0034_region_figures
Revises: 0033_area_figures
Create Date: 2026-12-02 01:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0034_region_figures"
down_revision = "0033_area_figures"
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


def _refill(where: str, up_to: str = "") -> None:
    """Make the area cells again from figure_cell: each station's cells that meet `where`
    go to the regions `up_to` selects of its region and those above it."""
    columns = ", ".join(FIELDS)
    sums = ", ".join(f"sum(c.{name})" for name in FIELDS)
    op.execute("DELETE FROM figure_area_cell")
    op.execute(
        f"""
        WITH RECURSIVE up(station_id, region_id, parent_id) AS (
            SELECT s.id, r.id, r.parent_id FROM station s JOIN region r ON r.id = s.region_id
            UNION ALL
            SELECT up.station_id, r.id, r.parent_id FROM up JOIN region r ON r.id = up.parent_id
        )
        INSERT INTO figure_area_cell (span, first_day, region_id, unit_key, {columns})
        SELECT c.span, c.first_day, up.region_id, c.unit_key, {sums}
        FROM figure_cell c JOIN up ON up.station_id = c.station_id {up_to}
        WHERE {where}
        GROUP BY c.span, c.first_day, up.region_id, c.unit_key
        """
    )


def _backfill() -> None:
    _refill("c.span <> 'day'")


def _empty() -> None:
    # On PostgreSQL, new files instead of a table of dead rows (the DELETE then finds none).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("TRUNCATE figure_area_cell")


def upgrade():
    _empty()
    _backfill()


def downgrade():
    # 0033's area cells: the top-level regions' per unit, single days included.
    _empty()
    _refill("c.unit_key <> -1", "AND up.parent_id IS NULL")
