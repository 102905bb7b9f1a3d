"""`flask create-user`: an account of any role with its scope, with a password typed here
(the operator's own first account) or, with --invite, none: the person is sent an
invitation to set their own."""

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from extensions import db
from models import Region, Station, Unit
from models.enums import RepLevel, Role


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="The account's role.")
@click.option("--name", "display_name", required=True, help="Display name, e.g. 王建国.")
@click.option("--mobile", default=None, help="Mainland mobile number; the person may sign in with it too.")
@click.option("--email", default=None, help="E-mail address: notifications go there (else by SMS).")
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
@click.option(
    "--invite",
    is_flag=True,
    help="No password: send the person an invitation (SMS to --mobile, else e-mail to --email) to set their own.",
)
@with_appcontext
def create_user_command(
    username: str,
    role: str,
    display_name: str,
    mobile: str | None,
    email: str | None,
    region_code: str | None,
    unit_id: int | None,
    station_codes: tuple[str, ...],
    level: str | None,
    occupation: str,
    delegation: str,
    password_stdin: bool,
    invite: bool,
):
    """Create an account of any role with its scope. Asks for the password, unless --invite."""
    from services import account_links
    from services import auth as auth_service
    from services.account_links import LinkRefused
    from services.auth import AuthRefused

    if invite and password_stdin:
        raise click.UsageError("--invite sends a link to set the password: give no password with it.")
    if invite and not (mobile or email):
        raise click.UsageError("--invite needs --mobile or --email to send the invitation to.")

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

    password: str | None
    if invite:
        password = None
    elif password_stdin:
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
            email=email,
            **scope,
        )
    except AuthRefused as refused:
        db.session.rollback()
        problems = refused.details.get("problems", [(refused.code, refused.details)])
        raise click.ClickException("\n".join(_refusal_text(code, details) for code, details in problems)) from None
    link = None
    if invite:
        try:
            link = account_links.invite(None, user)
        except LinkRefused as refused:  # a mobile or e-mail was given: only a switched-off account
            db.session.rollback()
            raise click.ClickException(f"No invitation sent: {refused.code}.") from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.username!r} ({user.display_name}), id {user.id}.")
    if link is not None:
        click.echo(
            f"Invitation queued ({link.channel}), valid until {link.expires_at:%Y-%m-%d %H:%M} UTC: "
            "`flask outbox send` delivers it."
        )


def _refusal_text(code: str, details: dict) -> str:
    """The admin page's message for a refusal, in English, with the option it concerns."""
    from flask_babel import force_locale

    from services import refusals
    from services.auth import AuthRefused

    option = {
        "username": "USERNAME",
        "display_name": "--name",
        "mobile": "--mobile",
        "email": "--email",
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
    with force_locale("en"):
        field, text = refusals.explain(AuthRefused(code, **details))
    return f"{option[field]}: {text}" if field in option else text
