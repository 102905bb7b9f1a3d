"""The station's board in the back office: its rules, an activity, a reception day, a notice.
The service (services.board) judges the values; these carry them and say the limits."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, NumberRange, Optional
from wtforms.widgets import NumberInput

from models.enums import ReceptionKind, Repeat
from services.limits import (
    ACTIVITY_PHOTOS_MAX,
    ACTIVITY_TEXT_MAX,
    ACTIVITY_TITLE_MAX,
    NOTICE_TEXT_MAX,
    NOTICE_TITLE_MAX,
    RECEPTION_CAPACITY_DEFAULT,
    RECEPTION_NOTE_MAX,
    RULES_MAX,
    SLOT_CAPACITY_MAX,
)
from views.forms import cleaned

_DATE = _l("Please choose a date.")


class RulesForm(FlaskForm):
    text = TextAreaField(
        _l("Rules of work"),
        filters=[cleaned],
        description=_l("Plain text; line breaks are kept. Leave empty to show no rules."),
        render_kw={"maxlength": RULES_MAX, "rows": 10},
    )


class ActivityForm(FlaskForm):
    """A new activity, or an edit of one (the view fills `remove_photos`' choices)."""

    title = StringField(
        _l("Title"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give a title."))],
        render_kw={"maxlength": ACTIVITY_TITLE_MAX},
    )
    day = DateField(_l("Date of the activity"), validators=[InputRequired(message=_DATE)])
    text = TextAreaField(
        _l("What happened"),
        filters=[cleaned],
        description=_l("Plain text; line breaks are kept."),
        render_kw={"maxlength": ACTIVITY_TEXT_MAX, "rows": 6},
    )
    photos = MultipleFileField(
        _l("Photos"),
        description=_l("Up to %(n)d photos in all (JPEG, PNG, WebP or HEIC).", n=ACTIVITY_PHOTOS_MAX),
    )
    remove_photos = SelectMultipleField(_l("Remove these photos"), coerce=int, validate_choice=False)
    publish = SubmitField(_l("Publish"))
    save = SubmitField(_l("Save without publishing"))


class ReceptionForm(FlaskForm):
    """A reception day: once on a date, weekly on a weekday or monthly on a day of the month.
    The view fills the weekdays' and the representatives' choices."""

    kind = SelectField(_l("Kind"), choices=ReceptionKind.choices, validate_choice=True)
    repeat = RadioField(_l("Repeats"), choices=Repeat.choices, default=Repeat.MONTHLY.value)
    starts_on = DateField(
        _l("Date, or the first day it applies"),
        validators=[InputRequired(message=_DATE)],
    )
    weekday = SelectField(_l("Weekday (every week)"), coerce=int, validate_choice=False)
    day_of_month = IntegerField(
        _l("Day of the month (every month)"),
        validators=[Optional()],
        description=_l("1 to 31. In a shorter month, the 29th, 30th or 31st falls on the month's last day."),
        widget=NumberInput(min=1, max=31),
        render_kw={"inputmode": "numeric"},
    )
    ends_on = DateField(_l("Last day (optional, repeating only)"), validators=[Optional()])
    starts_at = TimeField(_l("From"), validators=[InputRequired(message=_l("Please give a start time."))])
    ends_at = TimeField(_l("Until"), validators=[InputRequired(message=_l("Please give an end time."))])
    representatives = SelectMultipleField(_l("Representatives who receive"), coerce=int, validate_choice=False)
    note = StringField(_l("Place or topic (optional)"), filters=[cleaned], render_kw={"maxlength": RECEPTION_NOTE_MAX})
    capacity = IntegerField(
        _l("Residents who may book each date"),
        default=RECEPTION_CAPACITY_DEFAULT,
        validators=[
            Optional(),  # left empty: the default
            NumberRange(min=0, max=SLOT_CAPACITY_MAX, message=_l("From 0 to %(max)d.", max=SLOT_CAPACITY_MAX)),
        ],
        description=_l("Residents book a date on the booking form; 0 takes no bookings."),
        widget=NumberInput(min=0, max=SLOT_CAPACITY_MAX),
        render_kw={"inputmode": "numeric"},
    )


class EndReceptionForm(FlaskForm):
    ends_on = DateField(_l("Last day"), validators=[InputRequired(message=_DATE)])


class NoticeForm(FlaskForm):
    region = SelectField(_l("Region"), coerce=int, validate_choice=False)
    title = StringField(
        _l("Title"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give a title."))],
        render_kw={"maxlength": NOTICE_TITLE_MAX},
    )
    text = TextAreaField(
        _l("Notice"),
        filters=[cleaned],
        description=_l("Shown on the page of every station of the region until you withdraw it."),
        render_kw={"maxlength": NOTICE_TEXT_MAX, "rows": 5},
    )
