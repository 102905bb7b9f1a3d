"""`flask api-key create|list|revoke|webhook`: API keys for other systems and their webhooks,
from the command line (the same services as the administrator's pages; a new key or a
webhook's signing secret is printed once)."""

import sys
from contextlib import contextmanager

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from extensions import db
from models import ApiKey

api_key_group = AppGroup("api-key", help="API keys for other systems (/api/v1/).")


@contextmanager
def _committed_or_refused():
    """Commit what the block did; a refusal is undone, said in words and exits with 1."""
    from services import refusals
    from services.errors import ApiRefused

    try:
        yield
    except ApiRefused as refused:
        db.session.rollback()
        click.echo(refusals.message(refused), err=True)
        sys.exit(1)
    db.session.commit()


@api_key_group.command("create")
@click.option("--name", required=True, help="The system it is for, e.g. 项城市12345热线.")
@click.option("--region", "region_code", default=None, help="Scope: a region code (as its congress staff).")
@click.option("--unit-id", type=int, default=None, help="Scope: a handling unit's id (as its handler).")
@click.option("--act", is_flag=True, help="May take steps on concerns (default: read only).")
@click.option("--rate", "rate_per_minute", type=int, default=None, help="Requests a minute (default 120).")
@click.option("--note", default="", help="Who to call about it.")
def create_command(name, region_code, unit_id, act, rate_per_minute, note):
    """Make a key and print it (once: only its hash is kept)."""
    from services import api_keys

    with _committed_or_refused():
        region, unit = api_keys.scope_from(region_code, unit_id)
        made = api_keys.create(
            None,
            name,
            region=region,
            unit=unit,
            can_act=act,
            rate_per_minute=rate_per_minute or api_keys.DEFAULT_RATE,
            note=note,
        )
    click.echo(made.plain)


@api_key_group.command("list")
def list_command():
    """Every key: prefix, name, scope, read-only or acting, last used, revoked."""
    for key in db.session.scalars(sa.select(ApiKey).order_by(ApiKey.id)):
        scope = f"region {key.region.code}" if key.region else f"unit {key.unit_id}"
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        mode = "acting" if key.can_act else "read-only"
        click.echo(f"{key.id}\tmk_{key.prefix}_…\t{key.name}\t{scope}\t{mode}\tlast used {used}\t{state}")


@api_key_group.command("revoke")
@click.argument("prefix")
def revoke_command(prefix):
    """Revoke the key with this prefix (the 8 characters after mk_)."""
    from services import api_keys

    key = _key_or_exit(prefix)
    with _committed_or_refused():
        api_keys.revoke(None, key)
    click.echo(f"Revoked mk_{key.prefix}_…")


@api_key_group.command("webhook")
@click.argument("prefix")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, help="concern.created, concern.stage_changed, …")
def webhook_command(prefix, url, events):
    """Add a webhook to the key with this prefix and print its signing secret (once)."""
    from services import webhooks

    key = _key_or_exit(prefix)
    with _committed_or_refused():
        made = webhooks.subscribe(None, key, url, list(events))
    click.echo(made.secret)


def _key_or_exit(prefix: str) -> ApiKey:
    """The key with this prefix (the 8 characters after mk_, or the whole key)."""
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix.removeprefix("mk_").split("_")[0]))
    if key is None:
        click.echo("No such key.", err=True)
        sys.exit(1)
    return key
