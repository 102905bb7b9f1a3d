"""Regions in the back office: a township added under a county, a region renamed. The
service judges both (services.regions); the forms carry the text."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from services.limits import REGION_NAME_MAX
from views.forms import stripped

# 12 digits and room for the spaces people type between groups of them.
CODE_INPUT_MAX = 20


class TownshipForm(FlaskForm):
    code = StringField(
        _l("Township code"),
        filters=[stripped],
        description=_l("9 digits, starting with this region's 6 (the statistics bureau's code), such as 411681001."),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": CODE_INPUT_MAX},
    )
    name = StringField(
        _l("Region name"),
        filters=[stripped],
        description=_l("As the township or street office is officially called, such as 花园街道."),
        render_kw={"maxlength": REGION_NAME_MAX, "autocomplete": "off"},
    )


class RenameForm(FlaskForm):
    name = StringField(_l("New name"), filters=[stripped], render_kw={"maxlength": REGION_NAME_MAX})
