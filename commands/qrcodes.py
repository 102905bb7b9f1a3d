"""`flask make-qrcodes`: every active station's QR code, as PNG and SVG."""

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from extensions import db
from models import Station, StationCodeAlias


@click.command("make-qrcodes")
@click.option("--out", default=None, help="Folder to write to (default: QRCODE_FOLDER).")
@with_appcontext
def make_qrcodes_command(out: str | None):
    """Write a PNG and an SVG QR code for every active station, at its current code, and
    remove the images of replaced codes, so that nobody prints an old one from the folder."""
    from services.qr import write_station_codes

    codes = list(db.session.scalars(sa.select(Station.code).where(Station.is_active).order_by(Station.id)))
    folder = out or current_app.config["QRCODE_FOLDER"]
    written = write_station_codes(folder, current_app.config["PUBLIC_BASE_URL"], codes)
    removed = 0
    for old in db.session.scalars(sa.select(StationCodeAlias.code)):
        for suffix in (".png", ".svg"):
            path = Path(folder) / f"{old}{suffix}"
            if path.is_file():
                path.unlink()
                removed += 1
    click.echo(f"Wrote {len(written)} files for {len(codes)} stations to {folder}")
    if removed:
        click.echo(f"Removed {removed} files of replaced codes")
