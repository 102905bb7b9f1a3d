"""`flask seed-demo` and `flask demo-info`: the demo data of devtools/demo.py."""

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from extensions import db
from models import Representative, Station


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no station yet.")
@with_appcontext
def seed_demo_command(if_empty: bool):
    """Load Henan demo data: regions, stations, representatives, categories, units."""
    from devtools.demo import seed_demo

    if current_app.config["APP_ENV"] == "production":
        # The demo creates `admin` and others with a published password.
        raise click.ClickException(
            "Refusing to load demo data under APP_ENV=production: its accounts share a published password. "
            "Create real accounts with `flask create-user`."
        )
    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Station)):
        click.echo("Database already has stations; demo data not loaded.")
        return
    summary = seed_demo()
    db.session.commit()
    click.echo("Demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))


@click.command("demo-info")
@with_appcontext
def demo_info_command():
    """Print a few station URLs and the demo accounts."""
    from devtools.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    base = current_app.config["PUBLIC_BASE_URL"]
    stations = db.session.scalars(sa.select(Station).where(Station.is_active).order_by(Station.id).limit(5)).all()
    click.echo("Stations (scan or open):")
    for st in stations:
        click.echo(f"  {base}/s/{st.code}   {st.name}")
    click.echo(f"  poster: {base}/s/{stations[0].code}/poster" if stations else "  (no stations)")
    reps = db.session.scalars(sa.select(Representative).order_by(Representative.id).limit(5)).all()
    click.echo("Representatives' own codes (代表码):")
    for rep in reps:
        click.echo(f"  {base}/r/{rep.code}   {rep.name}")
    if stations:
        click.echo(f"  cards of a station's representatives: {base}/s/{stations[0].code}/cards")
    click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
    for username, role, name in DEMO_ACCOUNTS:
        click.echo(f"  {username:<18} {role:<16} {name}")
    _api_info(base)


def _api_info(base: str) -> None:
    """The demo's read-only API key, on a developer's machine only."""
    from devtools.demo import DEMO_API_KEY_PREFIX, demo_api_key
    from models import ApiKey

    if current_app.config["APP_ENV"] == "production":
        return
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == DEMO_API_KEY_PREFIX, ApiKey.revoked_at.is_(None)))
    if key is None:
        return
    click.echo(f"JSON API: {base}/api/v1/docs")
    click.echo(f"  demo key (read-only, {key.region.name if key.region else ''}): {demo_api_key()}")
    click.echo(f'  curl -H "Authorization: Bearer {demo_api_key()}" {base}/api/v1/concerns')
