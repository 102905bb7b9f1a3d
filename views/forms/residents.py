"""What residents fill in, without an account: the concern form, rating, withdrawing, and the
number and code of "my concerns"."""

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from models.enums import Rating
from services.concerns import is_mainland_mobile, normalize_mobile
from services.limits import (
    CODE_INPUT_MAX,
    CONCERN_CONTENT_MAX,
    CONCERN_CONTENT_MIN,
    CONTACT_MOBILE_INPUT_MAX,
    CONTACT_NAME_MAX,
    MEETING_COMMENT_MAX,
    PHOTO_MB_MAX,
    PHOTOS_MAX,
    RATING_COMMENT_MAX,
)
from views.forms import MOBILE_FORMAT, cleaned, mainland_mobile
from views.util import int_or_none


class ContactFields:
    """A resident's optional name, and consent to keep it and the mobile number (the form
    adds its own `contact_mobile`, saying what the number is for): a mainland number, and
    consent when either is given."""

    contact_name = StringField(
        _l("Your name (optional)"),
        filters=[cleaned],
        validators=[Optional(), Length(max=CONTACT_NAME_MAX)],
    )
    consent = BooleanField(_l("I agree that my name and number are used as described above"))
    contact_mobile: Any

    def validate_contact_mobile(self, field):
        if field.data and not is_mainland_mobile(normalize_mobile(field.data)):
            raise ValidationError(_l("Please enter an 11-digit mainland mobile number, such as 13812345678."))

    def validate_consent(self, field):
        if (self.contact_name.data or self.contact_mobile.data) and not field.data:
            raise ValidationError(_l("Please tick this to let us use your name or number, or leave them empty."))


class ConcernForm(ContactFields, FlaskForm):
    # The first choice is an empty "please choose", so nobody files under a default by accident.
    category = SelectField(_l("What is it about?"), coerce=int_or_none, validate_choice=False)
    content = TextAreaField(
        _l("Your concern or suggestion"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please describe your concern."))],
        description=_l(
            "What happened, where, and what you hope will be done. %(min)d to %(max)d characters.",
            min=CONCERN_CONTENT_MIN,
            max=CONCERN_CONTENT_MAX,
        ),
        # static/app.js counts the characters against these.
        render_kw={"maxlength": CONCERN_CONTENT_MAX, "data-min": CONCERN_CONTENT_MIN, "data-max": CONCERN_CONTENT_MAX},
    )
    photos = MultipleFileField(
        _l("Photos (optional, up to %(n)d)", n=PHOTOS_MAX),
        description=_l(
            "JPEG, PNG, WebP or iPhone HEIC, at most %(mb)d MB each. Location data is removed.", mb=PHOTO_MB_MAX
        ),
    )
    # Photos read in an earlier try of this form and kept (services/held_photos.py), a
    # signed token each; the template shows them as ticked boxes, and unticking drops one.
    kept_photos = SelectMultipleField(coerce=str, validate_choice=False)
    contact_mobile = StringField(
        _l("Mobile number (optional)"),
        filters=[cleaned],
        validators=[mainland_mobile],
        description=_l("Only to tell you about progress by SMS."),
        render_kw={"maxlength": CONTACT_MOBILE_INPUT_MAX},
    )
    anonymous = BooleanField(_l("Submit anonymously (no name, no number)"))
    public = BooleanField(_l("It may be shown publicly, without my name or number"))
    # A field people never see and bots fill in.
    homepage = StringField(_l("Leave this field empty"))
    submission_key = HiddenField()
    # Filed from a booked visit (services.bookings.link_concern): its booking code.
    booking = HiddenField()

    def validate_category(self, field):
        valid = {value for value, _label in field.choices if value}
        if field.data is None:
            raise ValidationError(_l("Please choose a category."))
        if field.data not in valid:
            raise ValidationError(_l("Please choose one of the categories in the list."))

    def validate_content(self, field):
        length = len(field.data or "")
        if length < CONCERN_CONTENT_MIN:
            raise ValidationError(
                _l("Please write at least %(min)d characters (now %(n)d).", min=CONCERN_CONTENT_MIN, n=length)
            )
        if length > CONCERN_CONTENT_MAX:
            raise ValidationError(
                _l("Please keep it to %(max)d characters (now %(n)d).", max=CONCERN_CONTENT_MAX, n=length)
            )

    def validate_anonymous(self, field):
        if field.data and (self.contact_name.data or self.contact_mobile.data):
            raise ValidationError(_l("Anonymous means no name and no number: clear them, or untick this."))


def rating_field(label) -> RadioField:
    """满意 / 基本满意 / 不满意, one of the three required. The choices' titles are read per
    request (in the visitor's language), hence the callable."""
    return RadioField(
        label, choices=Rating.choices, validators=[InputRequired(message=_l("Please choose one of the three."))]
    )


def comment_field(maximum: int, description) -> TextAreaField:
    """An optional comment of at most `maximum` characters, said with how many were typed."""

    def within(_form, field) -> None:
        length = len(field.data or "")
        if length > maximum:
            raise ValidationError(
                _l("Please keep the comment to %(max)d characters (now %(n)d).", max=maximum, n=length)
            )

    return TextAreaField(
        _l("Comment (optional)"),
        filters=[cleaned],
        validators=[within],
        description=description,
        render_kw={"maxlength": maximum},
    )


class RatingForm(FlaskForm):
    """群众评单 on the tracking page: two ratings and an optional comment."""

    # Titles are read per request (in the visitor's language), hence the callable.
    unit_rating = rating_field(_l("The handling unit's answer"))
    rep_rating = rating_field(_l("The representative's follow-up"))
    comment = comment_field(RATING_COMMENT_MAX, _l("At most %(max)d characters.", max=RATING_COMMENT_MAX))
    # The round the page showed: a double tap or an old page must not rate a later round.
    round = HiddenField()


class MeetingRatingForm(FlaskForm):
    """评议 of a representative's annual report at a 述职 meeting: one rating and an
    optional comment."""

    rating = rating_field(_l("How well did the representative serve this year?"))
    comment = comment_field(
        MEETING_COMMENT_MAX,
        _l(
            "At most %(max)d characters. Only the representative and the congress staff read it.",
            max=MEETING_COMMENT_MAX,
        ),
    )


class WithdrawForm(FlaskForm):
    """The resident takes back a concern nobody has taken up yet."""

    confirm = BooleanField(
        _l("Yes, withdraw this concern. It cannot be undone."),
        validators=[InputRequired(message=_l("Please tick the box to confirm."))],
    )


class EraseContactForm(FlaskForm):
    """The resident has their name and mobile number erased from a concern."""

    confirm = BooleanField(
        _l("Yes, erase my name and mobile number from this concern. It cannot be undone."),
        validators=[InputRequired(message=_l("Please tick the box to confirm."))],
    )


class MobileForm(FlaskForm):
    """ "My concerns": the number a resident gave on the concern form."""

    mobile = StringField(
        _l("Mobile number"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please enter your mobile number."))],
        description=_l("The number you wrote on the concern form. We send a code to it by SMS."),
        render_kw={"maxlength": CONTACT_MOBILE_INPUT_MAX},
    )

    def validate_mobile(self, field):
        if not is_mainland_mobile(normalize_mobile(field.data or "")):
            raise ValidationError(MOBILE_FORMAT)


class CodeForm(FlaskForm):
    """The code from the SMS."""

    code = StringField(
        _l("Code from the SMS"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please enter the code from the SMS."))],
        render_kw={"maxlength": CODE_INPUT_MAX},
    )
