"""Every form of the site, one FlaskForm per screen (or per button), grouped by who fills it in:

    residents.py  the concern form, rating, withdrawing
    auth.py       signing in, changing one's password
    duty.py       a representative checking in and out
    manage.py     the roster and the attendance review
    concerns.py   a concern's page in the back office: a step, a note, a category
    admin.py      accounts and the working-day calendar
    regions.py    regions in the back office: a township, a new name
    imports.py    a spreadsheet to import: what it holds, and the file

Views read what was sent only through these classes, never from `request.form`. Templates
render a field with its label, hint and errors through the `field` macro, and a form's CSRF
token and hidden fields through `hidden_fields` (templates/macros.html; the residents' forms
keep WTForms' own `form.csrf_token`). A one-button POST uses ButtonForm. Limits come from
services/limits.py and reach the browser through the fields' `render_kw` and validators.
Messages are Chinese by default through the catalogue.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import ValidationError

from services.concerns import clean_text, is_mainland_mobile, normalize_mobile
from views.util import int_or_none

REQUIRED = _l("Please fill this in.")
MOBILE_FORMAT = _l("Please enter an 11-digit mainland mobile number, such as 13812345678.")


def mainland_mobile(_form, field) -> None:
    """A field's validator: a mobile number, when one is typed, is a mainland one (spaces,
    dashes and +86 allowed)."""
    if field.data and not is_mainland_mobile(normalize_mobile(field.data)):
        raise ValidationError(MOBILE_FORMAT)


def stripped(value):
    """Surrounding spaces off, as typed otherwise."""
    return value.strip() if isinstance(value, str) else value


def cleaned(value):
    """Trimmed, without control characters (services.concerns.clean_text)."""
    return clean_text(value) if isinstance(value, str) else value


class ButtonForm(FlaskForm):
    """A POST that is a button and nothing else (sign out, unlock, remove a day): the CSRF
    token alone. Templates get one from the `button_form()` global."""


class StepForm(FlaskForm):
    """A workflow step's button (services.workflow): the CSRF token and the record's version
    the page showed, so that a step on a record that changed meanwhile is refused."""

    version = HiddenField(filters=[int_or_none])
