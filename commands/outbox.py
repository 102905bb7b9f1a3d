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


@outbox_group.command("list")
@click.option("--kind", default="", help="Only this kind, such as booking.reminder.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Most rows, newest first.")
def outbox_list_command(kind: str, limit: int):
    """The newest notifications: status, channel, masked recipient, kind, and the text with
    codes masked (as the log sender writes it in production)."""
    import sqlalchemy as sa

    from extensions import db
    from models import Outbox
    from services.outbox import mask_recipient
    from services.privacy import mask_codes

    query = sa.select(Outbox).order_by(Outbox.id.desc()).limit(limit)
    if kind:
        query = query.where(Outbox.kind == kind)
    for row in db.session.scalars(query):
        click.echo(
            f"{row.id:>6} {row.status.value:<8} {row.channel:<5} {mask_recipient(row.recipient):<16} "
            f"{row.kind:<22} {mask_codes(row.body)}"
        )
