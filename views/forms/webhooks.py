"""The administrator's form for a new webhook subscription of an API key."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from services.webhooks import EVENTS, URL_MAX
from views.forms import stripped


class WebhookForm(FlaskForm):
    """Only the shapes are checked here; services.webhooks.subscribe refuses the rest with a code."""

    url = StringField(
        _l("Address to send the events to"),
        filters=[stripped],
        render_kw={"maxlength": URL_MAX, "inputmode": "url"},
        description=_l(
            "The receiving system's https:// address, for example https://12345.example.gov.cn/hooks/mashang."
        ),
    )
    events = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(value, title) for value, title in EVENTS.items()],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
