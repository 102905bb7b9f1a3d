"""`flask duty close-stale`: representatives' on-site duty, from cron."""

import click
from flask.cli import AppGroup

from extensions import db


@click.group("duty", cls=AppGroup)
def duty_group():
    """Representatives' on-site duty."""


@duty_group.command("close-stale")
def close_stale_command():
    """Close open duties left past their station's closing time (run from cron, e.g. every 15 minutes)."""
    from services.duty import close_stale

    closed = close_stale()
    db.session.commit()
    click.echo(f"Closed {len(closed)} stale {'duty' if len(closed) == 1 else 'duties'}.")
