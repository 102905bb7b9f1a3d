"""民生实事项目票决: the staff's vote and candidate forms, a resident's comment, hiding one,
and a lead unit's progress report. The service (services.votes) judges the values; these
carry them and say the limits. A ballot is radio buttons named p<project id> beside a
ButtonForm's CSRF token (services.votes.parse_choices reads them)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import NumberInput

from services.limits import (
    BUDGET_WAN_MAX,
    CONTACT_MOBILE_INPUT_MAX,
    PROGRESS_PHOTOS_MAX,
    PROGRESS_TEXT_MAX,
    PROJECT_COMMENT_MAX,
    PROJECT_TEXT_MAX,
    PROJECT_TITLE_MAX,
    VOTE_TITLE_MAX,
)
from views.forms import cleaned
from views.forms.residents import ContactFields
from views.util import int_or_none

_DATE = _l("Please choose a date.")


class VoteForm(FlaskForm):
    """A 票决: its region (when it is made), title, year, periods and threshold."""

    region = SelectField(_l("Region"), coerce=int_or_none, validate_choice=False)
    title = StringField(
        _l("Title"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give a title."))],
        render_kw={"maxlength": VOTE_TITLE_MAX, "placeholder": "2026年项城市民生实事项目票决"},
    )
    year = IntegerField(
        _l("Year"),
        validators=[InputRequired(message=_l("Please give a year from 2000 to 2100.")), NumberRange(2000, 2100)],
        widget=NumberInput(min=2000, max=2100),
    )
    comments_open_on = DateField(_l("Residents' comments from"), validators=[InputRequired(message=_DATE)])
    comments_close_on = DateField(_l("Residents' comments until"), validators=[InputRequired(message=_DATE)])
    voting_opens_on = DateField(_l("Voting from"), validators=[InputRequired(message=_DATE)])
    voting_closes_on = DateField(_l("Voting until"), validators=[InputRequired(message=_DATE)])
    threshold_percent = IntegerField(
        _l("Threshold (per cent)"),
        default=50,
        description=_l(
            "A candidate is chosen when more than this share of the eligible representatives vote for it "
            "(50: more than half)."
        ),
        validators=[InputRequired(message=_l("Please give a percentage from 1 to 99.")), NumberRange(1, 99)],
        widget=NumberInput(min=1, max=99),
    )


class ProjectForm(FlaskForm):
    """A candidate project (the view fills the units' and regions' choices)."""

    title = StringField(
        _l("Project"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give a title."))],
        render_kw={"maxlength": PROJECT_TITLE_MAX},
    )
    text = TextAreaField(
        _l("What it is"),
        filters=[cleaned],
        description=_l("Plain text; line breaks are kept."),
        render_kw={"maxlength": PROJECT_TEXT_MAX, "rows": 5},
    )
    budget = DecimalField(
        _l("Budget (万元)"),
        places=2,
        validators=[
            InputRequired(message=_l("Please give the budget in 万元 (ten thousand yuan).")),
            NumberRange(0, BUDGET_WAN_MAX),
        ],
        widget=NumberInput(min=0, step="0.01"),
    )
    unit = SelectField(_l("Lead unit"), coerce=int_or_none, validate_choice=False)
    region = SelectField(_l("Where (optional)"), coerce=int_or_none, validate_choice=False)


class CommentForm(ContactFields, FlaskForm):
    """A resident's comment on a candidate: text; name and number optional, with consent."""

    text = TextAreaField(
        _l("Your comment"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please write your comment."))],
        description=_l("Shown on this page, without your name or number."),
        render_kw={"maxlength": PROJECT_COMMENT_MAX, "rows": 4},
    )
    contact_mobile = StringField(
        _l("Mobile number (optional)"),
        filters=[cleaned],
        description=_l("Only for the congress staff, if they want to ask you about it."),
        render_kw={"maxlength": CONTACT_MOBILE_INPUT_MAX},
    )
    # A field people never see and bots fill in.
    homepage = StringField(_l("Leave this field empty"))


class HideCommentForm(FlaskForm):
    reason = StringField(
        _l("Why it is hidden"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please give the reason."))],
        render_kw={"maxlength": 200},
    )


class ProgressForm(FlaskForm):
    text = TextAreaField(
        _l("Progress"),
        filters=[cleaned],
        validators=[InputRequired(message=_l("Please write what has been done."))],
        description=_l("Shown publicly, on the project's page at every station of the region."),
        render_kw={"maxlength": PROGRESS_TEXT_MAX, "rows": 5},
    )
    percent = IntegerField(
        _l("Done (per cent)"),
        validators=[InputRequired(message=_l("Please give a number from 0 to 100.")), NumberRange(0, 100)],
        widget=NumberInput(min=0, max=100),
    )
    photos = MultipleFileField(
        _l("Photos"),
        description=_l("Up to %(n)d photos in all (JPEG, PNG, WebP or HEIC).", n=PROGRESS_PHOTOS_MAX),
    )
