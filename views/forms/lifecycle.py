"""A station's lifecycle in the back office: replacing its poster's code, closing it.
The service judges the values (services.station_lifecycle); the forms carry them and say
the limits."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import NumberInput

from services.limits import CODE_FORWARD_DAYS_MAX, CODE_REASON_MAX, STATION_CLOSED_NOTE_MAX
from views.forms import REQUIRED, stripped

FORWARD_DAYS_DEFAULT = 30  # long enough to put the new posters up everywhere
_DAYS = _l("Please give a number from 0 to %(n)d.", n=CODE_FORWARD_DAYS_MAX)


class ReplaceCodeForm(FlaskForm):
    """Sent twice: first to see what will happen, then with confirm=1 to do it."""

    forward_days = IntegerField(
        _l("Days the old code keeps leading to the new one"),
        default=FORWARD_DAYS_DEFAULT,
        validators=[
            InputRequired(message=_DAYS),
            NumberRange(0, CODE_FORWARD_DAYS_MAX, message=_DAYS),
        ],
        description=_l(
            "While you put up the new posters, the old ones lead to the new code. "
            "0 if the old poster was misused: it stops leading anywhere at once."
        ),
        widget=NumberInput(min=0, max=CODE_FORWARD_DAYS_MAX),
        render_kw={"inputmode": "numeric"},
    )
    reason = StringField(
        _l("Reason"),
        filters=[stripped],
        validators=[InputRequired(message=REQUIRED)],
        description=_l("Such as “poster defaced” or “a fake copy was put up”. Kept in the log."),
        render_kw={"maxlength": CODE_REASON_MAX},
    )
    confirm = HiddenField()

    @property
    def confirmed(self) -> bool:
        return self.confirm.data == "1"


class CloseStationForm(FlaskForm):
    """The view fills the successor's choices: the active stations in the user's scope."""

    successor = SelectField(
        _l("Station that takes over (optional)"),
        validate_choice=False,
        description=_l("Residents who scan this station's posters are sent there."),
    )
    note = TextAreaField(
        _l("What residents are told"),
        filters=[stripped],
        description=_l("Shown on the station's page, such as where to go now. Needed when no station takes over."),
        render_kw={"maxlength": STATION_CLOSED_NOTE_MAX, "rows": 3},
    )
