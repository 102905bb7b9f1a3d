"""`flask seed-scale`: the benchmark's data at DESIGN.md's scale (devtools/scale.py)."""

import click
from flask.cli import with_appcontext

from extensions import db


@click.command("seed-scale")
@click.option("--stations", type=click.IntRange(min=1), default=None, help="Stations (budget: 20,000).")
@click.option("--reps", type=click.IntRange(min=1), default=None, help="Representatives (budget: 200,000).")
@click.option("--concerns", type=click.IntRange(min=0), default=None, help="Concerns (budget: 1,000,000).")
@click.option("--duties", type=click.IntRange(min=0), default=None, help="Duty rows (budget: 10,000,000).")
@click.option("--no-events", is_flag=True, help="Skip the concerns' event trails (faster).")
@click.option("--small", is_flag=True, help="Small sizes by default; the only way on SQLite.")
@click.option("--force", is_flag=True, help="Add to a database that already has data.")
@with_appcontext
def seed_scale_command(stations, reps, concerns, duties, no_events: bool, small: bool, force: bool):
    """Generate DESIGN.md's scale data on PostgreSQL for the benchmark (bench/inbox.py)."""
    import time

    from devtools import scale

    size = scale.sized(
        scale.SMALL if small else scale.BUDGET,
        stations=stations,
        representatives=reps,
        concerns=concerns,
        duties=duties,
        events=False if no_events else None,
    )
    try:
        scale.check_allowed(size, force=force, small=small)
    except scale.ScaleRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(
        f"Generating {size.stations:,} stations, {size.representatives:,} representatives, "
        f"{size.concerns:,} concerns, {size.duties:,} duties …"
    )
    summary = scale.seed_scale(size, progress=click.echo)
    started = time.monotonic()
    db.session.commit()
    click.echo(f"  committed ({time.monotonic() - started:.1f} s); analysing …")
    started = time.monotonic()
    scale.analyze()
    click.echo(f"  analysed ({time.monotonic() - started:.1f} s)")
    made = ", ".join(f"{name} {count:,}" for name, count in summary["made"].items())
    click.echo(f"Made {made} in {summary['total_seconds']} s (region codes {summary['region_prefix']}xxxx).")
    click.echo(f"Every generated account's password: {summary['password']}")
