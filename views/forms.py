"""One FlaskForm per screen. Messages are Chinese by default through the catalogue."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from services.concerns import CONTENT_MAX, CONTENT_MIN, NAME_MAX, clean_text, is_mainland_mobile, normalize_mobile
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
