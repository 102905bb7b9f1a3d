"""Station tablets: the pairing code typed on the tablet, and the back office's form that
makes one. The service judges both (services.kiosk); the forms only carry the text."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from services.limits import KIOSK_NAME_MAX, PAIRING_CODE_INPUT_MAX


def _strip(value) -> str:
    return (value or "").strip()


class PairForm(FlaskForm):
    """Typed on the tablet at /kiosk/pair."""

    code = StringField(
        _l("Pairing code"),
        filters=[_strip],
        description=_l("The 8 letters and digits the station manager made in the back office."),
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "maxlength": PAIRING_CODE_INPUT_MAX,
            "autofocus": True,
        },
    )


class NewPairingForm(FlaskForm):
    """Make a pairing code for one of the station's tablets."""

    name = StringField(
        _l("Name of the tablet (optional)"),
        filters=[_strip],
        description=_l("So that you can tell your tablets apart, such as “Front desk”."),
        render_kw={"maxlength": KIOSK_NAME_MAX},
    )
