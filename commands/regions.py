"""`flask regions load|info`: the official list of divisions (data/regions/gbt2260.csv)."""

from pathlib import Path

import click
from flask.cli import AppGroup

from extensions import db


@click.group("regions", cls=AppGroup)
def regions_group():
    """Regions (行政区划): China's divisions at county level and above."""


@regions_group.command("load")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another list of the same form (code,name,level,parent); by default the one shipped.",
)
def regions_load_command(path: Path | None):
    """Create, rename and re-parent the divisions by code; switch off those no longer
    listed (never delete them). Townships are left alone. Safe to run again."""
    from services import regions

    source = path or regions.DATA_FILE
    try:
        divisions = regions.read_divisions(source)
    except (ValueError, KeyError) as bad:
        raise click.ClickException(f"Nothing was loaded: {bad}") from None
    summary = regions.load_divisions(divisions, actor=None)
    db.session.commit()
    click.echo(
        f"Regions: created {summary.created}, updated {summary.updated}, unchanged {summary.unchanged}, "
        f"deactivated {summary.deactivated}."
    )
    for line in summary.switched_off:
        click.echo(f"  switched off (no longer listed): {line}")
    if summary.listed_inactive:
        click.echo(f"Listed but switched off by an administrator (left off): {summary.listed_inactive}.")


@regions_group.command("info")
def regions_info_command():
    """Where the shipped list comes from, and its date."""
    from services import regions

    for note in regions.list_notes():
        click.echo(note)
