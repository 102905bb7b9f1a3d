"""The back office's concern page: a step of the loop, a note or reply, a new category,
keeping it off the public answers.

The page writes its own inputs for these (a form per step, each with the choices its
step needs), so these classes are what the views read from a POST: the values, trimmed
and cut to their limits. Who and what may be chosen is checked by services.permissions,
the rest by the state machine."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from services.limits import EXPORT_PURPOSE_MAX, EXPORT_PURPOSE_MIN, NOTE_MAX, WITHHOLD_REASON_MAX
from views.forms import REQUIRED, cleaned, stripped
from views.util import int_or_none


def _note(value):
    return stripped(value)[:NOTE_MAX] if isinstance(value, str) else ""


class _Versioned(FlaskForm):
    # The concern's version the page showed: a step on a concern that changed meanwhile is refused.
    version = HiddenField(filters=[int_or_none])


class ConcernStepForm(_Versioned):
    action = HiddenField()
    note = TextAreaField(filters=[_note])
    representative = StringField(filters=[int_or_none])
    unit = StringField(filters=[int_or_none])
    due = DateField(validators=[Optional()])  # a malformed date leaves errors and no data
    target = StringField(filters=[stripped])


class ConcernNoteForm(FlaskForm):
    note = TextAreaField(filters=[_note])
    visibility = StringField()  # "public": a reply the resident reads; anything else an internal note


class ConcernCategoryForm(_Versioned):
    category = StringField(filters=[int_or_none])


def _reason(value):
    return stripped(value)[:WITHHOLD_REASON_MAX] if isinstance(value, str) else ""


class ConcernPublicationForm(_Versioned):
    """Keep a concern off the public answers (with the reason) or put it back."""

    action = HiddenField()  # "withhold" or "release"
    reason = TextAreaField(filters=[_reason])


class ContactExportForm(FlaskForm):
    """The inbox as a file with residents' contact details in full: only with a purpose,
    which the audit log keeps. The filter travels in the address, as for the masked export."""

    purpose = TextAreaField(
        _l("Purpose"),
        filters=[cleaned],
        validators=[
            InputRequired(message=REQUIRED),
            Length(
                min=EXPORT_PURPOSE_MIN,
                max=EXPORT_PURPOSE_MAX,
                message=_l("Please say why, in %(min)d to %(max)d characters."),
            ),
        ],
        description=_l(
            "Why you need the residents' names and numbers in full, for example "
            "“calling residents back about the road works meeting”. It is recorded."
        ),
        render_kw={"maxlength": EXPORT_PURPOSE_MAX, "rows": 3},
    )
    fmt = RadioField(
        _l("File type"),
        choices=[SelectChoice("xlsx", "Excel (.xlsx)"), SelectChoice("csv", "CSV")],
        default="xlsx",
        validators=[InputRequired(message=REQUIRED)],
    )
