"""`flask concerns auto-close`: residents' concerns, from cron."""

import click
from flask.cli import AppGroup

from extensions import db


@click.group("concerns", cls=AppGroup)
def concerns_group():
    """Residents' concerns (the 六单制 loop)."""


@concerns_group.command("auto-close")
def auto_close_command():
    """Close confirmed concerns not rated within CONCERN_RATING_DAYS (run from cron, e.g. hourly)."""
    from services.concern_flow import auto_close_due

    closed = auto_close_due()
    db.session.commit()
    click.echo(f"Closed {closed} unrated {'concern' if closed == 1 else 'concerns'}.")
