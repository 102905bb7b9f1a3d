"""`flask concerns auto-close` and `flask concerns remind`: residents' concerns, from cron."""

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


@concerns_group.command("remind")
def remind_command():
    """Remind whoever must act a working day before a stage's deadline, and escalate a stage
    past it to the congress staff above; each once per stage (run from cron every 15 minutes)."""
    from services import triage

    done = triage.run()
    db.session.commit()
    click.echo(
        f"Reminded {done.reminded}, escalated {done.escalated} "
        f"{'concern' if done.reminded + done.escalated == 1 else 'concerns'}; "
        f"{done.messages} {'message' if done.messages == 1 else 'messages'} queued, "
        f"{done.unreachable} with nobody to send to."
    )
