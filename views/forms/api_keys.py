"""The administrator's form for a new API key."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import NumberRange, Optional

from models.api_key import RATE_MAX, RATE_MIN
from models.base import ID_MAX
from services.api_keys import DEFAULT_RATE, NAME_MAX, NOTE_MAX
from views.forms import stripped


class ApiKeyForm(FlaskForm):
    """Only the shapes are checked here; services.api_keys.create refuses the rest with a code."""

    name = StringField(
        _l("Name of the system"),
        filters=[stripped],
        render_kw={"maxlength": NAME_MAX},
        description=_l("For example: 项城市12345热线."),
    )
    region = StringField(
        _l("Region code"),
        filters=[stripped],
        render_kw={"maxlength": 12, "inputmode": "numeric"},
        description=_l("The key reads (and acts on) concerns as congress staff of this region and below."),
    )
    unit = IntegerField(
        _l("Handling unit number"),
        validators=[Optional(), NumberRange(1, ID_MAX)],
        description=_l("Or: the key acts as this unit's handler. Leave the region empty then."),
    )
    can_act = BooleanField(_l("May take steps on concerns (otherwise read only)"))
    rate_per_minute = IntegerField(
        _l("Requests a minute"),
        default=DEFAULT_RATE,
        validators=[Optional(), NumberRange(RATE_MIN, RATE_MAX)],
    )
    note = StringField(_l("Note (who to call about it)"), filters=[stripped], render_kw={"maxlength": NOTE_MAX})
