"""`flask import KIND FILE [--dry-run]`: a spreadsheet of stations, representatives, units or
categories, as the back office imports it (services.imports), acting as the system (every
region). `flask sample-county FOLDER`: the sheets of a made-up county (devtools)."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from extensions import db
from services.imports import KINDS

SHOWN_PROBLEMS = 200  # printed; the count says how many more


def _summary(counts: dict) -> str:
    return (
        f"共 {counts['rows']} 行：新增 {counts['created']}，修改 {counts['updated']}，"
        f"无变化 {counts['unchanged']}，有问题 {counts['error']}。"
    )


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check and show what would change; save nothing.")
@with_appcontext
def import_command(kind: str, file, dry_run: bool):
    """Import KIND (townships, stations, representatives, units or categories) from FILE (.xlsx or CSV,
    the template's columns). Prints the preview in Chinese; exit code 1 when a row or the
    file has a problem (then nothing is saved)."""
    from flask_babel import force_locale

    from services import imports, refusals

    content = file.read(imports.MAX_UPLOAD_BYTES + 1)
    filename = Path(getattr(file, "name", "") or "").name
    with force_locale("zh_Hans"):
        try:
            if dry_run:
                result = imports.preview(None, kind, content)
                applied = False
            else:
                upload = imports.store_upload(None, kind, filename, content)
                outcome = imports.apply(None, upload)
                result, applied = outcome.preview, outcome.applied
        except imports.ImportRefused as refused:
            db.session.rollback()
            for line in refusals.import_messages(refused):
                click.echo(line, err=True)
            raise SystemExit(1) from None
        counts = result.counts()
        click.echo(_summary(counts))
        printed = 0
        for row in result.rows:
            for heading, problem in row.problems:
                if printed < SHOWN_PROBLEMS:
                    click.echo(f"第 {row.number} 行 {heading}：{refusals.problem_message(problem)}", err=True)
                printed += 1
        if printed > SHOWN_PROBLEMS:
            click.echo(f"……另有 {printed - SHOWN_PROBLEMS} 处问题未列出。", err=True)
    if not result.ok:
        db.session.rollback()
        click.echo("没有保存任何内容。", err=True)
        raise SystemExit(1)
    if dry_run:
        db.session.rollback()
        for row in result.with_status("updated")[:SHOWN_PROBLEMS]:
            changes = "；".join(f"{h}：{a or '（空）'} → {b or '（空）'}" for h, (a, b) in row.changes.items())
            click.echo(f"第 {row.number} 行 {row.label}：{changes}")
        click.echo("试运行：没有保存任何内容。")
        return
    db.session.commit()
    click.echo("已导入。" if applied else "没有保存任何内容。")


@click.command("sample-county")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--stations", type=click.IntRange(2, 5000), default=30, show_default=True)
@click.option("--representatives", type=click.IntRange(1, 20000), default=2000, show_default=True)
@click.option("--units", type=click.IntRange(4, 1000), default=40, show_default=True)
@click.option("--errors", is_flag=True, help="Also write a copy of each sheet with deliberate mistakes.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (UTF-8 with a BOM) instead of .xlsx.")
@click.option("--county", "county_code", default="", help="A real county's code: its sheets, townships included.")
@with_appcontext
def sample_county_command(
    folder: Path, stations: int, representatives: int, units: int, errors: bool, as_csv: bool, county_code: str
):
    """Write the import sheets of a county of its own making into FOLDER: townships, units,
    stations, representatives (import them in that order). Without --county, a made-up
    county (样本县, codes 4199xx) whose regions are added here."""
    import sqlalchemy as sa

    from devtools import sample_county
    from models import Region
    from models.enums import RegionLevel

    if county_code:
        region = db.session.scalar(sa.select(Region).where(Region.code == county_code))
        if region is None or region.level != RegionLevel.COUNTY:
            raise click.UsageError(f"no county with the code {county_code} (run `flask regions load` first)")
        county = sample_county.County(region.code, region.name)
    else:
        sample_county.ensure_regions()
        db.session.commit()
        county = sample_county.SAMPLE
    ext = "csv" if as_csv else "xlsx"
    for broken in (False, True) if errors else (False,):
        written = sample_county.write_sheets(
            folder,
            stations=stations,
            representatives=representatives,
            units=units,
            ext=ext,
            errors=broken,
            county=county,
        )
        for kind, path in written.items():
            click.echo(f"{kind}{' (errors)' if broken else ''}: {path}")
