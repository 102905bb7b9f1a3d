"""Drafts of laws put out for comment (立法意见征集): the staff's draft form and moderation
form, and the resident's comment form. The service (services.drafts) judges the values;
these carry them and say the limits."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Optional, ValidationError

from services.limits import (
    CONTACT_MOBILE_INPUT_MAX,
    CONTACT_NAME_MAX,
    DRAFT_BODY_MAX,
    DRAFT_COMMENT_MAX,
    DRAFT_COMMENT_MIN,
    DRAFT_REASON_MAX,
    DRAFT_SUMMARY_MAX,
    DRAFT_TEXT_MAX,
    DRAFT_TITLE_MAX,
)
from views.forms import cleaned, mainland_mobile
from views.util import int_or_none


class DraftForm(FlaskForm):
    """A draft being prepared: what it is, until when, where, and its text. "Preview"
    shows the articles as split without saving; "Save" keeps it (still unpublished)."""

    title = StringField(
        _l("Title"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give the draft's title."))],
        description=_l("As published, for example 《周口市城市绿化条例（草案）》."),
        render_kw={"maxlength": DRAFT_TITLE_MAX},
    )
    issuing_body = StringField(
        _l("Drafted by"),
        filters=[cleaned],
        description=_l("The body asking for comments, for example 周口市人大常委会法制工作委员会."),
        render_kw={"maxlength": DRAFT_BODY_MAX},
    )
    summary = TextAreaField(
        _l("Summary for residents"),
        filters=[cleaned],
        description=_l("What the draft is about and what comments are most wanted. Plain text."),
        render_kw={"maxlength": DRAFT_SUMMARY_MAX, "rows": 4},
    )
    closes_on = DateField(
        _l("Open for comment until (date)"), validators=[InputRequired(message=_l("Please give the closing date."))]
    )
    closes_time = TimeField(
        _l("Closing time"),
        validators=[Optional()],
        description=_l("Local time; empty means the end of the day."),
    )
    region = SelectField(_l("Region"), coerce=int_or_none, validate_choice=False)
    all_stations = RadioField(
        _l("Contact points"),
        choices=[
            SelectChoice("all", _l("Every legislative contact point in the region")),
            SelectChoice("chosen", _l("Only the contact points chosen below")),
        ],
        default="all",
        validators=[InputRequired(message=_l("Please choose where it is shown."))],
    )
    stations = SelectMultipleField(_l("Chosen contact points"), coerce=int, validate_choice=False)
    text = TextAreaField(
        _l("Text of the draft"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please paste the text of the draft."))],
        description=_l(
            "Paste the whole text. Each article begins a line with its number (第一条, 第二十三条 …); "
            "chapters (第一章 总则) are kept as headings."
        ),
        render_kw={"maxlength": DRAFT_TEXT_MAX, "rows": 16},
    )
    preview = SubmitField(_l("Preview the articles"))
    save = SubmitField(_l("Save"))


class ModerateForm(FlaskForm):
    """One moderation step on one comment: the action is the button pressed."""

    action = HiddenField()
    version = HiddenField()
    note = StringField(_l("Reason"), filters=[cleaned], render_kw={"maxlength": DRAFT_REASON_MAX})
    merge_into = StringField(_l("Comment number"), render_kw={"maxlength": 10, "inputmode": "numeric"})


class CommentForm(FlaskForm):
    """A resident's comment on one article or on the whole draft."""

    content = TextAreaField(
        _l("Your comment"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please write your comment."))],
        description=_l(
            "What should change, and why. %(min)d to %(max)d characters.", min=DRAFT_COMMENT_MIN, max=DRAFT_COMMENT_MAX
        ),
        render_kw={
            "maxlength": DRAFT_COMMENT_MAX,
            "rows": 6,
            "data-min": DRAFT_COMMENT_MIN,
            "data-max": DRAFT_COMMENT_MAX,
        },
    )
    name = StringField(
        _l("Your name (optional)"),
        filters=[cleaned],
        render_kw={"maxlength": CONTACT_NAME_MAX, "autocomplete": "name"},
    )
    mobile = StringField(
        _l("Mobile number (optional)"),
        filters=[cleaned],
        validators=[mainland_mobile],
        description=_l("Only if the contact point may call you about your comment."),
        render_kw={"maxlength": CONTACT_MOBILE_INPUT_MAX, "inputmode": "tel", "autocomplete": "tel"},
    )
    consent = BooleanField(_l("I agree that my name and number are used as described above"))
    # A field people never see and bots fill in.
    homepage = StringField(_l("Leave this field empty"))
    submission_key = HiddenField()
    # The resident's comment code, when they come from their comments' page: the new
    # comment joins the others under it.
    code = HiddenField()

    def validate_content(self, field):
        length = len(field.data or "")
        if not DRAFT_COMMENT_MIN <= length <= DRAFT_COMMENT_MAX:
            raise ValidationError(
                _l(
                    "Please write %(min)d to %(max)d characters (now %(n)d).",
                    min=DRAFT_COMMENT_MIN,
                    max=DRAFT_COMMENT_MAX,
                    n=length,
                )
            )

    def validate_name(self, field):
        if len(field.data or "") > CONTACT_NAME_MAX:
            raise ValidationError(_l("Please keep it to %(n)d characters.", n=CONTACT_NAME_MAX))

    def validate_consent(self, field):
        if (self.name.data or self.mobile.data) and not field.data:
            raise ValidationError(_l("Please tick this to let us use your name or number, or leave them empty."))
