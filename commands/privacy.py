"""`flask privacy purge [--dry-run]`: residents' personal data past PERSONAL_DATA_DAYS (cron, daily)."""

import click
from flask.cli import AppGroup


@click.group("privacy", cls=AppGroup)
def privacy_group():
    """Residents' personal data that expire."""


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what is due, change nothing.")
@click.option(
    "--batch", type=click.IntRange(min=1, max=10_000), default=200, show_default=True, help="Concerns per transaction."
)
def privacy_purge_command(dry_run: bool, batch: int):
    """Erase the personal data of concerns that ended PERSONAL_DATA_DAYS ago: names, mobiles,
    comments, photos. Running it again erases nothing more."""
    from services import erasure

    days = erasure.personal_data_days()
    report = erasure.purge(dry_run=dry_run, batch=batch)
    figures = ", ".join(f"{key} {value}" for key, value in report.as_dict().items())
    click.echo(f"{'would erase' if dry_run else 'erased'} (ended more than {days} days ago): {figures}")
