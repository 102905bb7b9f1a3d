"""One FlaskForm per screen. Messages are Chinese by default through the catalogue."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from models.enums import Rating
from services.concerns import CONTENT_MAX, CONTENT_MIN, NAME_MAX, clean_text, is_mainland_mobile, normalize_mobile
from services.workdays import NAME_MAX as DAY_NAME_MAX
from views.util import int_or_none


def _strip(value):
    return clean_text(value) if isinstance(value, str) else value


class ConcernForm(FlaskForm):
    # The first choice is an empty "please choose", so nobody files under a default by accident.
    category = SelectField(_l("What is it about?"), coerce=int_or_none, validate_choice=False)
    content = TextAreaField(
        _l("Your concern or suggestion"),
        filters=[_strip],
        validators=[InputRequired(message=_l("Please describe your concern."))],
        description=_l(
            "What happened, where, and what you hope will be done. %(min)d to %(max)d characters.",
            min=CONTENT_MIN,
            max=CONTENT_MAX,
        ),
    )
    photos = MultipleFileField(
        _l("Photos (optional, up to 3)"),
        description=_l("JPEG, PNG, WebP or iPhone HEIC, at most 8 MB each. Location data is removed."),
    )
    contact_name = StringField(
        _l("Your name (optional)"), filters=[_strip], validators=[Optional(), Length(max=NAME_MAX)]
    )
    contact_mobile = StringField(
        _l("Mobile number (optional)"),
        filters=[_strip],
        description=_l("Only to tell you about progress by SMS."),
    )
    anonymous = BooleanField(_l("Submit anonymously (no name, no number)"))
    public = BooleanField(_l("It may be shown publicly, without my name or number"))
    consent = BooleanField(_l("I agree that my name and number are used as described above"))
    # A field people never see and bots fill in.
    homepage = StringField(_l("Leave this field empty"))
    submission_key = HiddenField()

    def validate_category(self, field):
        valid = {value for value, _label in field.choices if value}
        if field.data is None:
            raise ValidationError(_l("Please choose a category."))
        if field.data not in valid:
            raise ValidationError(_l("Please choose one of the categories in the list."))

    def validate_content(self, field):
        length = len(field.data or "")
        if length < CONTENT_MIN:
            raise ValidationError(
                _l("Please write at least %(min)d characters (now %(n)d).", min=CONTENT_MIN, n=length)
            )
        if length > CONTENT_MAX:
            raise ValidationError(_l("Please keep it to %(max)d characters (now %(n)d).", max=CONTENT_MAX, n=length))

    def validate_contact_mobile(self, field):
        if field.data and not is_mainland_mobile(normalize_mobile(field.data)):
            raise ValidationError(_l("Please enter an 11-digit mainland mobile number, such as 13812345678."))

    def validate_anonymous(self, field):
        if field.data and (self.contact_name.data or self.contact_mobile.data):
            raise ValidationError(_l("Anonymous means no name and no number: clear them, or untick this."))

    def validate_consent(self, field):
        if (self.contact_name.data or self.contact_mobile.data) and not field.data:
            raise ValidationError(_l("Please tick this to let us use your name or number, or leave them empty."))


RATING_COMMENT_MAX = 500


class RatingForm(FlaskForm):
    """群众评单 on the tracking page: two ratings and an optional comment."""

    # Titles are read per request (in the visitor's language), hence the callable.
    unit_rating = RadioField(
        _l("The handling unit's answer"),
        choices=Rating.choices,
        validators=[InputRequired(message=_l("Please choose one of the three."))],
    )
    rep_rating = RadioField(
        _l("The representative's follow-up"),
        choices=Rating.choices,
        validators=[InputRequired(message=_l("Please choose one of the three."))],
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        filters=[_strip],
        description=_l("At most %(max)d characters.", max=RATING_COMMENT_MAX),
    )
    # The round the page showed: a double tap or an old page must not rate a later round.
    round = HiddenField()

    def validate_comment(self, field):
        length = len(field.data or "")
        if length > RATING_COMMENT_MAX:
            raise ValidationError(
                _l("Please keep the comment to %(max)d characters (now %(n)d).", max=RATING_COMMENT_MAX, n=length)
            )


class WithdrawForm(FlaskForm):
    """The resident takes back a concern nobody has taken up yet."""

    confirm = BooleanField(
        _l("Yes, withdraw this concern. It cannot be undone."),
        validators=[InputRequired(message=_l("Please tick the box to confirm."))],
    )


# --- the working-day calendar (admin) -------------------------------------------------------


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
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=DAY_NAME_MAX, message=_l("Please keep it to %(n)d characters.", n=DAY_NAME_MAX)),
        ],
        description=_l("For example 春节 or 春节调休."),
    )
