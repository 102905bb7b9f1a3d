"""Booking a visit (预约接待): the resident's form and button, and the station's buttons."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError
from wtforms.widgets import NumberInput

from services.limits import (
    BOOKING_SUBJECT_MAX,
    BOOKING_SUBJECT_MIN,
    CONTACT_MOBILE_INPUT_MAX,
    CONTACT_NAME_MAX,
    SLOT_CAPACITY_MAX,
)
from views.forms import cleaned, mainland_mobile


class BookingForm(FlaskForm):
    """The resident picks a time and says who they are and what it is about. The view
    fills the times' choices."""

    slot = RadioField(
        _l("When would you like to come?"),
        # A roster slot's id, or "r<reception day id>:<date>" (services.bookings.bookable_by_key).
        coerce=str,
        validate_choice=False,
        validators=[InputRequired(message=_l("Please choose a time."))],
    )
    name = StringField(
        _l("Your name"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give your name, so that the representative can greet you."))],
        render_kw={"maxlength": CONTACT_NAME_MAX, "autocomplete": "name"},
    )
    mobile = StringField(
        _l("Mobile number"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please enter your mobile number.")), mainland_mobile],
        description=_l("For a reminder the day before, and if the station has to cancel."),
        render_kw={"maxlength": CONTACT_MOBILE_INPUT_MAX, "inputmode": "tel", "autocomplete": "tel"},
    )
    subject = StringField(
        _l("What would you like to talk about?"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please say in a few words what it is about."))],
        description=_l("One line, %(min)d to %(max)d characters.", min=BOOKING_SUBJECT_MIN, max=BOOKING_SUBJECT_MAX),
        render_kw={"maxlength": BOOKING_SUBJECT_MAX},
    )
    consent = BooleanField(
        _l("I agree that my name and number are used for this visit"),
        validators=[InputRequired(message=_l("Please tick this to book: the station needs your name and number."))],
    )
    # A field people never see and bots fill in.
    homepage = StringField(_l("Leave this field empty"))
    submission_key = HiddenField()

    def validate_slot(self, field):
        if field.data is None or field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Please choose one of the times listed."))

    def validate_subject(self, field):
        length = len(" ".join((field.data or "").split()))
        if not BOOKING_SUBJECT_MIN <= length <= BOOKING_SUBJECT_MAX:
            raise ValidationError(
                _l(
                    "Please say in %(min)d to %(max)d characters what you would like to talk about (now %(n)d).",
                    min=BOOKING_SUBJECT_MIN,
                    max=BOOKING_SUBJECT_MAX,
                    n=length,
                )
            )


class MarkForm(FlaskForm):
    """Staff record whether the resident came: status=attended or no_show."""

    status = HiddenField()


class CapacityForm(FlaskForm):
    """How many residents may book a slot (or, for the station, each slot by default)."""

    capacity = IntegerField(
        _l("Places"),
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=SLOT_CAPACITY_MAX,
                message=_l("Please give a number of places from 0 to %(maximum)d.", maximum=SLOT_CAPACITY_MAX),
            ),
        ],
        widget=NumberInput(min=0, max=SLOT_CAPACITY_MAX),
        render_kw={"inputmode": "numeric"},
    )
