"""Regions in the back office: a township added under a county, a region renamed (the
service judges both: services.regions; the forms carry the text); and the region select of
other screens (a station's, a unit's): `region_field`, `offer_regions`, `picked_region`."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from models import Region
from services import regions
from services.limits import REGION_NAME_MAX
from views.forms import stripped
from views.util import int_or_none

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


# --- the region select of other screens ---------------------------------------------------------


def region_field(label=None, **kwargs) -> SelectField:
    """A select of regions for a form class: `region = region_field()`; the view fills it
    with offer_regions and reads it with picked_region."""
    return SelectField(label or _l("Region"), coerce=int_or_none, validate_choice=False, **kwargs)


def offer_regions(field: SelectField, user) -> None:
    """The active regions `user` may choose, county level and below, by code, each with
    the names above it (services.regions.region_choices)."""
    field.choices = [("", _("Choose a region"))] + regions.region_choices(user)


def picked_region(field: SelectField, user) -> Region | None:
    """The chosen region, or None with an error beside the field: nothing chosen, or an id
    the list did not offer (a forged form, or a region switched off meanwhile)."""
    region = regions.pickable(user, field.data)
    if region is None:
        field.errors = [*field.errors, _("Please choose a region from the list.")]
    return region
