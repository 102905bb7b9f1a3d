"""A representative on duty: checking in at a station and checking out."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.widgets import NumberInput

from services.duty import Proof
from services.limits import DUTY_NOTES_MAX, NOTE_MAX, RESIDENTS_MAX

TOKEN_MAX = 64  # a nonce or a tablet code longer than this is forged


def _token(value) -> str:
    return (value or "").strip()[:TOKEN_MAX]


def _coordinate(value, limit: float = 1e7) -> float | None:
    """A number from the browser, or None for nothing, nonsense, NaN, infinity, or past
    `limit` (a latitude beyond the poles is no position at all)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= limit else None


class CheckInForm(FlaskForm):
    """Hidden fields only: the button's one-time nonce, the tablet's code when the page was
    opened by scanning it, and the position that static/app.js fills in where the station
    asks for it. The page offered after a refusal sends them again with allow_pending."""

    nonce = HiddenField(filters=[_token])
    kiosk_token = HiddenField(filters=[_token])
    latitude = HiddenField()
    longitude = HiddenField()
    accuracy = HiddenField()
    allow_pending = HiddenField()

    def proof(self) -> Proof:
        return Proof(
            latitude=_coordinate(self.latitude.data, 90),
            longitude=_coordinate(self.longitude.data, 180),
            accuracy_m=_coordinate(self.accuracy.data),
            kiosk_token=self.kiosk_token.data or None,
        )

    @property
    def pending_allowed(self) -> bool:
        return self.allow_pending.data == "1"


class CheckOutForm(FlaskForm):
    """The reception record (接待记录). The service judges the count, so a wrong one comes
    back as its refusal, flashed on the page the form was on."""

    residents_received = StringField(
        _l("Residents received"), widget=NumberInput(min=0, max=RESIDENTS_MAX), render_kw={"inputmode": "numeric"}
    )
    notes = TextAreaField(_l("Reception notes (接待记录)"), render_kw={"maxlength": DUTY_NOTES_MAX})
    next = HiddenField()

    def residents(self) -> int:
        """The number typed: 0 when left empty, -1 (refused) when it is not a whole number."""
        try:
            return int(self.residents_received.data or 0)
        except ValueError:
            return -1


class OnSiteForm(FlaskForm):
    """现场办公 on one concern: take it up and send it to the official's unit (with an
    optional note for the unit), or answer it on the spot (the answer is required). The
    concern's version makes a second tap, or a colleague's step in between, a refusal."""

    version = HiddenField()
    note = TextAreaField(_l("Instructions for your unit (optional, internal)"), render_kw={"maxlength": NOTE_MAX})
    answer = TextAreaField(_l("The answer (the resident reads this)"), render_kw={"maxlength": NOTE_MAX})

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None
