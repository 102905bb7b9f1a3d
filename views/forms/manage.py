"""The back office's station pages: the roster and the attendance review."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TimeField
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import NumberInput

from services.limits import REPEAT_WEEKS_MAX, REVIEW_NOTE_MAX
from views.util import int_or_none


def station_representative(_form, field) -> None:
    """The representative chosen is one of the choices the view gave: the station's."""
    if field.data not in {value for value, _label in field.choices}:
        raise ValidationError(_l("Please choose a representative of this station."))


# --- the roster (排班) ----------------------------------------------------------------------------


class SlotForm(FlaskForm):
    """Put a representative of the station on the roster, once or weekly. The view fills
    the representatives' choices."""

    representative = SelectField(
        _l("Representative"), coerce=int, validate_choice=False, validators=[station_representative]
    )
    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Please choose a date."))])
    starts_at = TimeField(_l("From"), validators=[InputRequired(message=_l("Please give a start time."))])
    ends_at = TimeField(_l("Until"), validators=[InputRequired(message=_l("Please give an end time."))])
    repeat_weeks = IntegerField(
        _l("Repeat weekly for how many more weeks"),
        default=0,
        validators=[InputRequired(message=_l("Please give a number from 0 to %(n)d.", n=REPEAT_WEEKS_MAX))],
        description=_l("0 for this day only; up to %(n)d. Repeated slots can be removed together.", n=REPEAT_WEEKS_MAX),
        widget=NumberInput(min=0, max=REPEAT_WEEKS_MAX),
        render_kw={"inputmode": "numeric"},
    )


class SlotRemoveForm(FlaskForm):
    """Remove a slot, or with series=1 every upcoming slot of its weekly series."""

    series = HiddenField()

    @property
    def whole_series(self) -> bool:
        return self.series.data == "1"


# --- the attendance review -------------------------------------------------------------------------
# The service judges both (a void needs its reason), so a refusal is flashed on the review.


class ConfirmDutyForm(FlaskForm):
    note = StringField(_l("Note (optional)"), render_kw={"maxlength": REVIEW_NOTE_MAX})


class VoidDutyForm(FlaskForm):
    reason = StringField(
        _l("Reason for voiding (required)"), render_kw={"maxlength": REVIEW_NOTE_MAX, "required": True}
    )


class OfficeHourForm(SlotForm):
    """Office hours of an official at the station (领导进站), once or weekly: the roster's
    form with an official in place of the representative. The view fills the choices."""

    representative = None  # type: ignore[assignment]
    official = SelectField(_l("Official"), coerce=int, validate_choice=False)

    def validate_official(self, field):
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Please choose an official of a unit of this region."))


# --- 述职 meetings ----------------------------------------------------------------------------


class MeetingTimeForm(FlaskForm):
    """A 述职 meeting's day and its rating window (local time): moving a meeting."""

    day = DateField(_l("Date"), validators=[InputRequired(message=_l("Please choose a date."))])
    starts_at = TimeField(_l("Rating opens"), validators=[InputRequired(message=_l("Please give a start time."))])
    ends_at = TimeField(_l("Rating closes"), validators=[InputRequired(message=_l("Please give an end time."))])
    # The meeting's version the page showed (moving; ignored when scheduling).
    version = HiddenField(filters=[int_or_none])


class MeetingForm(MeetingTimeForm):
    """Schedule a 述职 meeting: which representative presents which year's report. The view
    fills the representatives' choices."""

    representative = SelectField(
        _l("Representative"), coerce=int, validate_choice=False, validators=[station_representative]
    )
    year = IntegerField(
        _l("Report of the year"),
        validators=[InputRequired(message=_l("Please give the year of the report."))],
        widget=NumberInput(min=2000, max=2100),
        render_kw={"inputmode": "numeric"},
    )
