"""Representatives' suggestions (代表建议): filing one, and a step on its page.

What may be chosen (co-signers, concerns, units) and what a step needs are checked by
services.suggestion_flow and services.permissions; these classes read and trim the POST."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Optional

from services.suggestion_flow import CONTENT_MAX, NOTE_MAX, TITLE_MAX
from views.forms import cleaned
from views.util import int_or_none


def _note(value):
    return cleaned(value)[:NOTE_MAX] if isinstance(value, str) else ""


def _ids(values) -> list[int]:
    """Chosen ids; a malformed one (a forged form) counts as an id nobody has."""
    return [0 if v is None else v for v in values or []]


class SuggestionForm(FlaskForm):
    title = StringField(
        _l("Title"),
        filters=[cleaned],
        description=_l("For example: 关于加快老旧小区雨水管网改造的建议"),
        render_kw={"maxlength": TITLE_MAX, "autocomplete": "off"},
    )
    content = TextAreaField(
        _l("The suggestion"),
        filters=[cleaned],
        description=_l("The situation, its causes, and what should be done."),
        render_kw={"maxlength": CONTENT_MAX, "rows": 10},
    )
    station = SelectField(_l("Filed from the station"), coerce=int_or_none, validate_choice=False)
    signers = SelectMultipleField(_l("Invite co-signers"), coerce=int_or_none, validate_choice=False)
    concerns = SelectMultipleField(
        _l("Grown out of residents' concerns"),
        coerce=int_or_none,
        validate_choice=False,
        description=_l("Their residents see on their tracking page that the concern went further."),
    )

    def signer_ids(self) -> list[int]:
        return _ids(self.signers.data)

    def concern_ids(self) -> list[int]:
        return _ids(self.concerns.data)


class SuggestionStepForm(FlaskForm):
    """Any step on a suggestion's page: a button's step, or a rating."""

    action = HiddenField()
    # The suggestion's version the page showed: a step on one that changed meanwhile is refused.
    version = HiddenField(filters=[int_or_none])
    note = TextAreaField(filters=[_note])
    lead_unit = StringField(filters=[int_or_none])
    co_units = SelectMultipleField(coerce=int_or_none, validate_choice=False)
    days = StringField(filters=[int_or_none])
    reply_class = StringField()
    planned_on = DateField(validators=[Optional()])  # a malformed date leaves errors and no data
    rating = StringField()
    send_back = BooleanField()
