"""`flask backup [--to DIR] [--keep N [--keep-weekly W]]` and `flask restore FROM [--yes]`
(services/backup.py)."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from extensions import db


def _store():
    """The photo store the settings name (the folder, or the S3 bucket)."""
    from services.storage import open_storage

    return open_storage(current_app.config)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _summary(manifest: dict) -> str:
    tables = manifest["tables"]
    main = ", ".join(f"{tables[t]} {t}" for t in ("concern", "concern_event", "duty", "attachment") if t in tables)
    photos = manifest["photos"]
    return (
        f"{manifest['database']['kind']} at revision {manifest['alembic_revision']}, made {manifest['created_at']}: "
        f"{main}; {photos['count']} photos ({_size(photos['bytes'])})"
    )


@click.command("backup")
@click.option(
    "--to",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to keep backups in (default: BACKUP_FOLDER).",
)
@click.option(
    "--keep", type=click.IntRange(min=1), default=None, help="Then delete all but the newest N backups there."
)
@click.option(
    "--keep-weekly",
    type=click.IntRange(min=0),
    default=0,
    help="With --keep: also keep the newest backup of each of the last W weeks.",
)
@with_appcontext
def backup_command(folder: Path | None, keep: int | None, keep_weekly: int):
    """Back up the database and the photos into a new dated folder, with a manifest."""
    from services import backup

    if keep_weekly and keep is None:
        raise click.UsageError("--keep-weekly goes with --keep.")
    folder = folder or Path(current_app.config["BACKUP_FOLDER"])
    try:
        made = backup.make_backup(db.engine, _store(), folder)
        click.echo(f"Backed up to {made}")
        click.echo("  " + _summary(json.loads((made / backup.MANIFEST).read_text())))
        if keep is not None:
            for gone in backup.prune(folder, keep=keep, keep_weekly=keep_weekly):
                click.echo(f"Removed old backup {gone.name}")
    except backup.BackupRefused as exc:
        raise click.ClickException(exc.message) from None


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(source: Path, yes: bool):
    """Restore a backup (its folder) into the EMPTY database DATABASE_URL names, and
    its photos into the store; then check both against the backup's manifest."""
    from services import audit, backup

    engine = db.engine
    try:
        found = backup.open_backup(source)
        click.echo(f"Backup {found.folder}: files match the manifest.")
        click.echo("  " + _summary(found.manifest))
        backup.check_target(engine, found)
        target = engine.url.render_as_string(hide_password=True)
        if not yes:
            click.confirm(f"Restore it into {target}?", abort=True)
        db.session.remove()
        written = backup.restore(engine, _store(), found)
    except backup.BackupRefused as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Restored the database and {written} photos. Checking against the manifest:")
    result = backup.verify(engine, _store(), found)
    for what, expected, got in result.lines:
        mark = "ok" if expected == got else "DIFFERS"
        click.echo(f"  {what:<32} expected {expected!s:>8}  found {got!s:>8}  {mark}")
    if result.missing_photos:
        click.echo(f"Warning: {result.missing_photos} photos named by records are in neither the backup nor the store.")
    if not result.ok:
        raise click.ClickException("The restored data does not match the manifest: do not use this database.")
    audit.log(None, "backup.restored", backup=found.folder.name, made=found.manifest["created_at"], photos=written)
    db.session.commit()
    click.echo("Restore verified.")
    from services.health import migration_head

    revision, schema = found.manifest["alembic_revision"], migration_head()
    if schema is not None and revision in schema.older:
        click.echo(f"The backup is at revision {revision}: run `flask db upgrade` next.")
    elif schema is not None and revision != schema.head:
        click.echo(f"The backup is at revision {revision}, newer than this code ({schema.head}): run that release.")
