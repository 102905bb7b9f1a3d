"""`flask outbox send|status`: notifications waiting to be sent, from cron."""

import click
from flask.cli import AppGroup


@click.group("outbox", cls=AppGroup)
def outbox_group():
    """Notifications waiting to be sent (SMS, e-mail)."""


@outbox_group.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Most rows to send.")
def outbox_send_command(limit: int):
    """Send due notifications, retrying failures later (run from cron every minute)."""
    from services.outbox import OutboxNotConfigured, deliver_due

    try:
        counts = deliver_due(limit=limit)
    except OutboxNotConfigured as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"sent {counts['sent']}, retry later {counts['retry']}, failed {counts['failed']}")
    if counts["interrupted"]:
        click.echo(f"({counts['interrupted']} of the failed were interrupted mid-send earlier; not resent.)")


@outbox_group.command("status")
def outbox_status_command():
    """Count notifications per status."""
    from services.outbox import status_counts

    for status, count in status_counts().items():
        click.echo(f"{status:<8} {count}")
