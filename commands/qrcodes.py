"""`flask make-qrcodes`: every active station's QR code, as PNG and SVG; every serving
representative's code (代表码) too, and a file of their cards ready to print."""

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from extensions import db
from models import Representative, Station, StationCodeAlias


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
    given = _give_missing_rep_codes()
    if given:
        click.echo(f"Gave {given} representatives their code (made by the previous release during an upgrade)")
    reps, cards = _write_reps(folder)
    click.echo(f"Wrote {reps * 2} files for {reps} representatives to {Path(folder) / 'r'}, and their cards: {cards}")


def _give_missing_rep_codes() -> int:
    from models import Representative
    from services.codes import new_rep_code

    missing = list(db.session.scalars(sa.select(Representative).where(Representative.code.is_(None))))
    for rep in missing:
        rep.code = new_rep_code()
    db.session.commit()
    return len(missing)


def _write_reps(folder: str) -> tuple[int, str]:
    """The codes of every representative in office and one page of their cards (10 to an
    A4 sheet), standing alone: its style and images inside it."""
    from flask import render_template

    from services.clock import local_today
    from services.qr import REP_FOLDER, qr_svg_data_uri, write_rep_codes
    from services.rep_pages import CARDS_PER_SHEET

    base_url = current_app.config["PUBLIC_BASE_URL"]
    today = local_today()
    reps = [r for r in db.session.scalars(sa.select(Representative).order_by(Representative.id)) if r.serving_on(today)]
    write_rep_codes(folder, base_url, [r.code for r in reps])
    css = (Path(current_app.static_folder or "static") / "poster.css").read_text(encoding="utf-8")
    with current_app.test_request_context(base_url=base_url):
        cards = [(r, f"{base_url}/r/{r.code}", qr_svg_data_uri(f"{base_url}/r/{r.code}")) for r in reps]
        html = render_template(
            "public/rep_cards.html", cards=cards, per_sheet=CARDS_PER_SHEET, title="代表码", inline_css=css
        )
    path = Path(folder) / REP_FOLDER / "cards.html"
    path.write_text(html, encoding="utf-8")
    return len(reps), str(path)
