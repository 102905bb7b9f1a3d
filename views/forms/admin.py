"""Administration: accounts of every role, and the working-day calendar."""

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from extensions import db
from models import Region, Station, Unit
from models.enums import RepLevel, Role
from services.limits import CALENDAR_DAY_NAME_MAX, EMAIL_MAX
from views.forms import cleaned, stripped
from views.util import int_or_none

# --- accounts ----------------------------------------------------------------------------------


class UserForm(FlaskForm):
    """One screen creates an account of any role; the scope fields of the other roles
    are ignored (and hidden by the stylesheet where the browser can). The rules live in
    services.auth.create_user, which reports every problem at once, so the form itself
    checks only that chosen stations come from the list."""

    username = StringField(
        _l("Username"),
        filters=[stripped],
        description=_l("For signing in: letters and digits, starting with a letter."),
    )
    display_name = StringField(_l("Name"), filters=[stripped])
    mobile = StringField(
        _l("Mobile number (optional)"),
        filters=[stripped],
        description=_l("The person can also sign in with it."),
    )
    email = StringField(
        _l("E-mail (optional)"),
        filters=[stripped],
        description=_l("Notifications go here; without it, by SMS to the mobile number."),
        render_kw={"maxlength": EMAIL_MAX},
    )
    role = SelectField(_l("Role"), validate_choice=False)
    region = SelectField(
        _l("Region"), coerce=int_or_none, validate_choice=False, description=_l("And every region below it.")
    )
    unit = SelectField(_l("Handling unit"), coerce=int_or_none, validate_choice=False)
    stations = SelectMultipleField(
        _l("Stations"),
        coerce=int,
        validate_choice=False,
        description=_l("A station manager looks after these; a representative serves at them. Choose one or more."),
    )
    level = SelectField(_l("Level"), validate_choice=False)
    delegation = StringField(_l("Delegation (optional)"), filters=[stripped])
    occupation = StringField(_l("Occupation (optional)"), filters=[stripped])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _("Choose a role"))] + Role.choices()
        self.level.choices = [("", _("Choose a level"))] + RepLevel.choices()
        regions = db.session.scalars(sa.select(Region).order_by(Region.code)).all()
        self.region.choices = [("", _("Choose a region"))] + [(r.id, f"{r.full_name} ({r.code})") for r in regions]
        units = db.session.scalars(sa.select(Unit).where(Unit.is_active).order_by(Unit.region_id, Unit.name)).all()
        self.unit.choices = [("", _("Choose a unit"))] + [(u.id, f"{u.name} · {u.region.name}") for u in units]
        # Grouped by region, so a long list stays readable.
        groups: dict[str, list] = {}
        for station in db.session.scalars(sa.select(Station).order_by(Station.region_id, Station.name)):
            suffix = "" if station.is_active else " · " + _("switched off")
            groups.setdefault(station.region.full_name, []).append((station.id, station.name + suffix))
        self.stations.choices = groups

    def validate_stations(self, field):
        known = {value for group in field.choices.values() for value, _label in group}
        if any(value not in known for value in field.data or ()):
            raise ValidationError(_l("Please choose stations from the list."))

    def scope(self) -> dict:
        """The keyword arguments for create_user that belong to the chosen role only."""
        if self.role.data not in {r.value for r in Role}:
            return {}  # the service says "choose a role"
        role = Role(self.role.data)
        scope: dict = {}
        if role == Role.CONGRESS_STAFF and self.region.data:
            scope["region"] = db.session.get(Region, self.region.data)
        if role == Role.UNIT_HANDLER and self.unit.data:
            scope["unit"] = db.session.get(Unit, self.unit.data)
        if role in (Role.STATION_MANAGER, Role.REPRESENTATIVE) and self.stations.data:
            chosen = set(self.stations.data)
            scope["stations"] = db.session.scalars(
                sa.select(Station).where(Station.id.in_(chosen)).order_by(Station.id)
            ).all()
        if role == Role.REPRESENTATIVE:
            scope.update(
                rep_level=self.level.data or None, occupation=self.occupation.data, delegation=self.delegation.data
            )
        return scope


class ContactForm(FlaskForm):
    """How an account is reached: its notifications go by e-mail, else by SMS."""

    email = StringField(_l("E-mail (optional)"), filters=[stripped], render_kw={"maxlength": EMAIL_MAX})
    mobile = StringField(_l("Mobile number (optional)"), filters=[stripped])


class SwitchForm(FlaskForm):
    """Switch an account off or on again: one button, the state it sets in a hidden field."""

    active = HiddenField()

    @property
    def switch_on(self) -> bool:
        return self.active.data == "1"


# --- the working-day calendar ------------------------------------------------------------------


class CalendarImportForm(FlaskForm):
    """A year's official schedule as lines `date,type,name`: a file, or the lines pasted in
    (which also works on a phone)."""

    file = FileField(
        _l("CSV file"),
        description=_l("Saved from a spreadsheet as CSV (UTF-8, or what Chinese Excel saves by default)."),
    )
    text = TextAreaField(
        _l("Or paste the lines here"),
        description=_l(
            "One day a line: date, type, name. The type is holiday or workday (休 or 班). "
            "List every day off of the notice and every make-up working day."
        ),
    )
    replace = BooleanField(_l("Replace everything entered for the years in the file"))


class CalendarDayForm(FlaskForm):
    day = DateField(
        _l("Date"),
        format=["%Y-%m-%d", "%Y/%m/%d"],
        validators=[InputRequired(message=_l("Please choose a date."))],
        invalid_value_message=_l("Please enter a date such as 2027-02-06."),
    )
    kind = SelectField(
        _l("The day is"),
        choices=[
            SelectChoice("holiday", _l("A day off (public holiday)")),
            SelectChoice("workday", _l("A working day (make-up day)")),
        ],
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    name = StringField(
        _l("Name (optional)"),
        filters=[cleaned],
        validators=[
            Optional(),
            Length(
                max=CALENDAR_DAY_NAME_MAX,
                message=_l("Please keep it to %(n)d characters.", n=CALENDAR_DAY_NAME_MAX),
            ),
        ],
        description=_l("For example 春节 or 春节调休."),
    )

    @property
    def is_workday(self) -> bool:
        return self.kind.data == "workday"
