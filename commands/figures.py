"""`flask figures rebuild`: count the figures' cells again from the concerns (repair)."""

import time

import click
from flask.cli import AppGroup

from extensions import db


@click.group("figures", cls=AppGroup)
def figures_group():
    """The figures' counts kept per day, month and year (services/figure_cells.py)."""


@figures_group.command("rebuild")
def figures_rebuild_command():
    """Count every cell again from the concerns, in one transaction: after rows were
    written past the application, or to repair. Writers wait for it; readers do not."""
    from services import figure_cells

    started = time.monotonic()
    cells = figure_cells.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"figure cells rebuilt: {cells:,} cells in {time.monotonic() - started:.1f} s")
