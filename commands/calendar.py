"""`flask calendar import|show`: working days, public holidays and make-up working days."""

import click
from flask.cli import AppGroup

from extensions import db

# What `calendar show` calls a listed day: (a working day?, on a weekend?) → kind.
_KINDS = {
    (True, True): "make-up workday",
    (True, False): "workday",
    (False, True): "day off",
    (False, False): "holiday",
}


@click.group("calendar", cls=AppGroup)
def calendar_group():
    """Working days: public holidays and make-up working days (调休)."""


@calendar_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--replace", is_flag=True, help="Also remove entered days of the file's years it does not list.")
def calendar_import_command(file, replace: bool):
    """Enter a year's official schedule from a CSV file of lines `date,type,name`
    (type holiday or workday, also 休/假/班), e.g. `2027-02-06,holiday,春节`."""
    from flask_babel import force_locale

    from services import refusals, workdays

    try:
        text = workdays.decode_upload(file.read(workdays.MAX_UPLOAD_BYTES + 1))
        summary = workdays.import_schedule(text, actor=None, replace_years=replace)
    except workdays.CalendarRefused as refused:
        db.session.rollback()
        with force_locale("en"):
            lines = refusals.line_messages(refused)
        raise click.ClickException("Nothing was saved.\n" + "\n".join(lines)) from None
    db.session.commit()
    click.echo(
        f"Saved {', '.join(map(str, summary.years))}: days off {summary.holidays}, "
        f"working days {summary.workdays} (new {summary.added}, changed {summary.changed}, "
        f"removed {summary.removed})."
    )


@calendar_group.command("show")
@click.argument("year", type=click.IntRange(1990, 2099))
def calendar_show_command(year: int):
    """Print a year's holidays on weekdays and make-up working days, from whichever source."""
    from services import workdays

    source = workdays.year_source(year)
    if source == "unknown":
        click.echo(
            f"{year}: no official schedule. Deadlines in {year} are counted on weekdays only. "
            "Enter the State Council's schedule with `flask calendar import FILE`."
        )
        return
    first, last = workdays.library_years()
    click.echo(
        {
            "library": f"{year}: from the holiday library (chinese_calendar, {first}–{last}).",
            "both": f"{year}: from the holiday library, with days entered by an administrator.",
            "entered": f"{year}: entered by an administrator.",
        }[source]
    )
    for d in workdays.special_days(year):
        kind = _KINDS[bool(d.is_workday), d.day.weekday() >= 5]
        mark = " (entered)" if d.source == "entered" and source == "both" else ""
        click.echo(f"{d.day.isoformat()} {d.day.strftime('%a')}  {kind:<15}  {d.name}{mark}".rstrip())
