"""Command-line entry points: `flask seed-demo`, `flask make-qrcodes`, `flask demo-info`."""

import click
import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import Station


def register(app) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no station yet.")
    def seed_demo_command(if_empty: bool):
        """Load Henan demo data: regions, stations, representatives, categories, units."""
        from services.demo import seed_demo

        if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Station)):
            click.echo("Database already has stations; demo data not loaded.")
            return
        summary = seed_demo()
        db.session.commit()
        click.echo("Demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))

    @app.cli.command("make-qrcodes")
    @click.option("--out", default=None, help="Folder to write to (default: QRCODE_FOLDER).")
    def make_qrcodes_command(out: str | None):
        """Write a PNG and an SVG QR code for every active station."""
        from services.qr import write_station_codes

        codes = list(db.session.scalars(sa.select(Station.code).where(Station.is_active).order_by(Station.id)))
        folder = out or current_app.config["QRCODE_FOLDER"]
        written = write_station_codes(folder, current_app.config["PUBLIC_BASE_URL"], codes)
        click.echo(f"Wrote {len(written)} files for {len(codes)} stations to {folder}")

    @app.cli.command("demo-info")
    def demo_info_command():
        """Print a few station URLs and the demo accounts."""
        from services.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

        base = current_app.config["PUBLIC_BASE_URL"]
        stations = db.session.scalars(
            sa.select(Station).where(Station.is_active).order_by(Station.id).limit(5)
        ).all()
        click.echo("Stations (scan or open):")
        for st in stations:
            click.echo(f"  {base}/s/{st.code}   {st.name}")
        click.echo(f"  poster: {base}/s/{stations[0].code}/poster" if stations else "  (no stations)")
        click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for username, role, name in DEMO_ACCOUNTS:
            click.echo(f"  {username:<18} {role:<16} {name}")
