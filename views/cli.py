"""Command-line entry points: `flask seed-demo`, `flask make-qrcodes`, `flask demo-info`,
`flask create-user`, `flask duty close-stale`, `flask outbox send|status`, `flask concerns auto-close`."""

import sys

import click
import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import Region, Station, Unit
from models.enums import RepLevel, Role


def register(app) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no station yet.")
    def seed_demo_command(if_empty: bool):
        """Load Henan demo data: regions, stations, representatives, categories, units."""
        from devtools.demo import seed_demo

        if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Station)):
            click.echo("Database already has stations; demo data not loaded.")
            return
        summary = seed_demo()
        db.session.commit()
        click.echo("Demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))

    @app.cli.command("seed-scale")
    @click.option("--stations", type=click.IntRange(min=1), default=None, help="Stations (budget: 20,000).")
    @click.option("--reps", type=click.IntRange(min=1), default=None, help="Representatives (budget: 200,000).")
    @click.option("--concerns", type=click.IntRange(min=0), default=None, help="Concerns (budget: 1,000,000).")
    @click.option("--duties", type=click.IntRange(min=0), default=None, help="Duty rows (budget: 10,000,000).")
    @click.option("--no-events", is_flag=True, help="Skip the concerns' event trails (faster).")
    @click.option("--small", is_flag=True, help="Small sizes by default; the only way on SQLite.")
    @click.option("--force", is_flag=True, help="Add to a database that already has data.")
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
        from devtools.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

        base = current_app.config["PUBLIC_BASE_URL"]
        stations = db.session.scalars(sa.select(Station).where(Station.is_active).order_by(Station.id).limit(5)).all()
        click.echo("Stations (scan or open):")
        for st in stations:
            click.echo(f"  {base}/s/{st.code}   {st.name}")
        click.echo(f"  poster: {base}/s/{stations[0].code}/poster" if stations else "  (no stations)")
        click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for username, role, name in DEMO_ACCOUNTS:
            click.echo(f"  {username:<18} {role:<16} {name}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="The account's role.")
    @click.option("--name", "display_name", required=True, help="Display name, e.g. 王建国.")
    @click.option("--mobile", default=None, help="Mainland mobile number; the person may sign in with it too.")
    @click.option("--region", "region_code", default=None, help="Congress staff: the region code (GB/T 2260).")
    @click.option("--unit-id", type=int, default=None, help="Unit handler: the handling unit's id.")
    @click.option(
        "--station",
        "station_codes",
        multiple=True,
        help="Station manager or representative: a station code (repeat for several).",
    )
    @click.option("--level", type=click.Choice([lv.value for lv in RepLevel]), default=None, help="Representative.")
    @click.option("--occupation", default="", help="Representative: occupation.")
    @click.option("--delegation", default="", help="Representative: delegation.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def create_user_command(
        username: str,
        role: str,
        display_name: str,
        mobile: str | None,
        region_code: str | None,
        unit_id: int | None,
        station_codes: tuple[str, ...],
        level: str | None,
        occupation: str,
        delegation: str,
        password_stdin: bool,
    ):
        """Create an account of any role with its scope. Asks for the password."""
        from services import auth as auth_service
        from services.auth import AuthRefused

        scope: dict = {}
        if region_code:
            region = db.session.scalar(sa.select(Region).where(Region.code == region_code.strip()))
            if region is None:
                raise click.ClickException(f"No region with code {region_code!r}.")
            scope["region"] = region
        if unit_id is not None:
            unit = db.session.get(Unit, unit_id)
            if unit is None:
                raise click.ClickException(f"No handling unit with id {unit_id}.")
            scope["unit"] = unit
        if station_codes:
            codes = list(dict.fromkeys(code.strip() for code in station_codes))
            found = {s.code: s for s in db.session.scalars(sa.select(Station).where(Station.code.in_(codes)))}
            missing = [code for code in codes if code not in found]
            if missing:
                raise click.ClickException("No station with code " + ", ".join(repr(c) for c in missing) + ".")
            scope["stations"] = [found[code] for code in codes]
        if level or occupation or delegation:
            scope.update(rep_level=level, occupation=occupation, delegation=delegation)

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = auth_service.create_user(
                actor=None,
                username=username,
                display_name=display_name,
                password=password,
                role=role,
                mobile=mobile,
                **scope,
            )
        except AuthRefused as refused:
            db.session.rollback()
            problems = refused.details.get("problems", [(refused.code, refused.details)])
            raise click.ClickException("\n".join(_refusal_text(code, details) for code, details in problems)) from None
        db.session.commit()
        click.echo(f"Created {user.role.value} {user.username!r} ({user.display_name}), id {user.id}.")

    @app.cli.group("duty")
    def duty_group():
        """Representatives' on-site duty."""

    @duty_group.command("close-stale")
    def close_stale_command():
        """Close open duties left past their station's closing time (run from cron, e.g. every 15 minutes)."""
        from services.duty import close_stale

        closed = close_stale()
        db.session.commit()
        click.echo(f"Closed {len(closed)} stale {'duty' if len(closed) == 1 else 'duties'}.")

    @app.cli.group("outbox")
    def outbox_group():
        """Notifications waiting to be sent (SMS, e-mail)."""

    @outbox_group.command("send")
    @click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Most rows to send.")
    def outbox_send_command(limit: int):
        """Send due notifications, retrying failures later (run from cron every minute)."""
        from services.outbox import OutboxNotConfigured, deliver_due

        try:
            counts = deliver_due(limit=limit)
        except OutboxNotConfigured as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"sent {counts['sent']}, retry later {counts['retry']}, failed {counts['failed']}")
        if counts["interrupted"]:
            click.echo(f"({counts['interrupted']} of the failed were interrupted mid-send earlier; not resent.)")

    @outbox_group.command("status")
    def outbox_status_command():
        """Count notifications per status."""
        from services.outbox import status_counts

        for status, count in status_counts().items():
            click.echo(f"{status:<8} {count}")

    @app.cli.group("concerns")
    def concerns_group():
        """Residents' concerns (the 六单制 loop)."""

    @concerns_group.command("auto-close")
    def auto_close_command():
        """Close confirmed concerns not rated within CONCERN_RATING_DAYS (run from cron, e.g. hourly)."""
        from services.concern_flow import auto_close_due

        closed = auto_close_due()
        db.session.commit()
        click.echo(f"Closed {closed} unrated {'concern' if closed == 1 else 'concerns'}.")

    @app.cli.group("calendar")
    def calendar_group():
        """Working days: public holidays and make-up working days (调休)."""

    @calendar_group.command("import")
    @click.argument("file", type=click.File("rb"))
    @click.option("--replace", is_flag=True, help="Also remove entered days of the file's years it does not list.")
    def calendar_import_command(file, replace: bool):
        """Enter a year's official schedule from a CSV file of lines `date,type,name`
        (type holiday or workday, also 休/假/班), e.g. `2027-02-06,holiday,春节`."""
        from flask_babel import force_locale

        from services import workdays
        from views.admin import calendar_refusal_texts

        try:
            text = workdays.decode_upload(file.read(workdays.MAX_UPLOAD_BYTES + 1))
            summary = workdays.import_schedule(text, actor=None, replace_years=replace)
        except workdays.CalendarRefused as refused:
            db.session.rollback()
            with force_locale("en"):
                lines = calendar_refusal_texts(refused)
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
            weekend = d.day.weekday() >= 5
            if d.is_workday:
                kind = "make-up workday" if weekend else "workday"
            else:
                kind = "day off" if weekend else "holiday"
            mark = " (entered)" if d.source == "entered" and source == "both" else ""
            click.echo(f"{d.day.isoformat()} {d.day.strftime('%a')}  {kind:<15}  {d.name}{mark}".rstrip())


def _refusal_text(code: str, details: dict) -> str:
    """The admin page's message for a refusal, in English, with the option it concerns."""
    from flask_babel import force_locale

    from views.admin import REFUSALS

    option = {
        "username": "USERNAME",
        "display_name": "--name",
        "mobile": "--mobile",
        "password": "password",
        "role": "--role",
        "region": "--region",
        "unit": "--unit-id",
        "stations": "--station",
        "level": "--level",
        "occupation": "--occupation",
        "delegation": "--delegation",
    }
    if code == "scope_not_for_role":
        field = details.get("field", "")
        return f"{option.get(field, field)} does not apply to this role."
    field, message = REFUSALS.get(code, (None, code))
    with force_locale("en"):
        text = str(message)
    return f"{option[field]}: {text}" if field in option else text
