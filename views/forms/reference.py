"""The back office's reference data: stations, representatives, handling units, categories,
and the accounts of station managers and unit handlers.

The rules live in services.reference (check_* lists every problem, the same for the
spreadsheet import); these forms only read what was typed: numbers, dates, and ids that
must come from the choices the view offered (what lies in the viewer's scope). A forged id
or an unknown value is "not from the list", beside its field. `values()` hands the typed
values to the service — a placeholder where a field could not be read, so that the service
still finds every other problem at once — and `add_problems()` puts the service's problems
beside the fields.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional, ValidationError

from models import Region, Station, Unit, User
from models.enums import PresencePolicy, RepLevel, StationCategory, StationKind, UnitKind
from services import limits, refusals
from services.reference import (
    CategoryValues,
    Problem,
    RepresentativeValues,
    StationValues,
    UnitValues,
    parse_position,
)
from views.forms import cleaned, stripped
from views.util import int_or_none

NOT_FROM_LIST = _l("Please choose from the list.")
NOT_A_NUMBER = _l("Please enter a number.")
NOT_A_WHOLE_NUMBER = _l("Please enter a whole number.")
NOT_A_DATE = _l("Please enter a date such as 2027-02-06.")


def _kw(n: int) -> dict:
    return {"maxlength": n}


class ReferenceForm(FlaskForm):
    """What the reference forms share: the enum selects (field name → enum, their labels in
    the reader's language, so set per request) and the service's problems beside the fields."""

    ENUMS: dict[str, type] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, enum in self.ENUMS.items():
            getattr(self, name).choices = _options(enum.choices())

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for name, enum in self.ENUMS.items():
            field = getattr(self, name)
            if field.data not in {m.value for m in enum} and not field.errors:
                field.errors = [*field.errors, NOT_FROM_LIST]  # a forged or unknown value
                valid = False
        return valid

    def add_problems(self, problems: Iterable[Problem]) -> None:
        """The service's problems beside their fields, but for fields that already say what
        is wrong (a value the form could not read: the service saw a placeholder)."""
        marked = {f.name for f in self if f.errors}
        for problem in problems:
            message = refusals.problem_message(problem)
            field = getattr(self, problem.field, None) if problem.field else None
            if field is not None and field.name in marked:
                continue
            if field is None or not hasattr(field, "errors"):
                self.form_errors.append(message)
                continue
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            if message not in field.errors:
                field.errors.append(message)


def _chosen(field, allowed: dict) -> object | None:
    """The object behind a select's id, or a ValidationError when the id was not offered
    (a forged form, an id out of scope, garbage)."""
    raw = field.raw_data[0] if field.raw_data else ""
    if raw in ("", None):
        return None
    if field.data is None or field.data not in allowed:
        raise ValidationError(NOT_FROM_LIST)
    return allowed[field.data]


def _options(pairs, *, none: str | None = None) -> list[SelectChoice]:
    """A select's options: (value, label) pairs, after an empty first one when `none` names it."""
    first = [SelectChoice("", none)] if none is not None else []
    return first + [SelectChoice(value, label) for value, label in pairs]


def _enum_field(label, **kw) -> SelectField:
    """A select of an enum's members; ReferenceForm fills and checks it from ENUMS."""
    return SelectField(label, validate_choice=False, **kw)


def _member(value, enum, default):
    """The enum member typed, or `default` where the field already says it is not one."""
    return enum(value) if value in {m.value for m in enum} else default


def _typed_number(raw: str | None, *, whole: bool = False, default=None):
    """What values() reads: the number, or `default` where the field already has an error."""
    try:
        return _number(raw, whole=whole)
    except ValueError:
        return default


def _number(raw: str | None, *, whole: bool = False) -> float | int | None:
    """A typed number ("" is None); ValueError for anything else, NaN and infinities too."""
    raw = (raw or "").strip().replace("，", ".")
    if not raw:
        return None
    if whole:
        if len(raw.lstrip("+-")) > 9 or not raw.lstrip("+-").isdigit():
            raise ValueError(raw)
        return int(raw)
    if len(raw) > 30:
        raise ValueError(raw)
    number = float(raw)
    if not math.isfinite(number):
        raise ValueError(raw)
    return number


# --- stations ---------------------------------------------------------------------------------


class StationForm(ReferenceForm):
    ENUMS = {"kind": StationKind, "category": StationCategory, "presence_policy": PresencePolicy}

    name = StringField(_l("Station name"), filters=[cleaned], render_kw=_kw(limits.STATION_NAME_MAX))
    kind = _enum_field(_l("Kind"), description=_l("A liaison point or post belongs to a liaison station."))
    category = _enum_field(_l("Type"))
    region = SelectField(_l("Region"), coerce=int_or_none, validate_choice=False)
    parent = SelectField(
        _l("Belongs to the liaison station"),
        coerce=int_or_none,
        validate_choice=False,
        description=_l("Only for a liaison point or post."),
    )
    address = StringField(_l("Address"), filters=[cleaned], render_kw=_kw(limits.ADDRESS_MAX))
    phone = StringField(_l("Phone"), filters=[stripped], render_kw=_kw(limits.PHONE_MAX))
    position = StringField(
        _l("Position, pasted from a map app"),
        filters=[stripped],
        description=_l("Latitude, longitude — for example 33.4432, 114.8968. Or type them below."),
        render_kw={"maxlength": 60},
    )
    latitude = StringField(_l("Latitude"), filters=[stripped], render_kw={"maxlength": 30, "inputmode": "decimal"})
    longitude = StringField(_l("Longitude"), filters=[stripped], render_kw={"maxlength": 30, "inputmode": "decimal"})
    opening_hours = StringField(
        _l("Opening hours"),
        filters=[cleaned],
        description=_l("As residents read it, for example 周一至周五 9:00–17:30."),
        render_kw=_kw(limits.OPENING_HOURS_MAX),
    )
    presence_policy = _enum_field(
        _l("How representatives show they are at the station"),
        description=_l("By location needs the station's position and a radius."),
    )
    geo_radius_m = StringField(
        _l("Radius for check-in by location, in metres"),
        default="300",
        filters=[stripped],
        description=_l("From %(min)d to %(max)d.", min=limits.GEO_RADIUS_MIN, max=limits.GEO_RADIUS_MAX),
        render_kw={"maxlength": 6, "inputmode": "numeric"},
    )
    intro = TextAreaField(_l("Introduction"), filters=[cleaned], render_kw={**_kw(limits.INTRO_MAX), "rows": 5})
    is_legislative_point = BooleanField(_l("Legislative contact point: drafts of laws are put out for comment here"))

    def __init__(self, *args, regions: list[Region], parents: list[Station], **kwargs):
        super().__init__(*args, **kwargs)
        self._regions = {r.id: r for r in regions}
        self._parents = {s.id: s for s in parents}
        self.region.choices = _options([(r.id, r.full_name) for r in regions], none=_("Choose a region"))
        self.parent.choices = _options(
            [(s.id, f"{s.name} · {s.region.name}") for s in parents], none=_("None (it is a liaison station)")
        )
        self._position: tuple[float | None, float | None] = (None, None)

    def validate_region(self, field):
        _chosen(field, self._regions)

    def validate_parent(self, field):
        _chosen(field, self._parents)

    def validate_geo_radius_m(self, field):
        try:
            if _number(field.data, whole=True) is None:
                raise ValidationError(refusals.problem_message(Problem("geo_radius_m", "required")))
        except ValueError:
            raise ValidationError(NOT_A_WHOLE_NUMBER) from None

    def validate_position(self, field):
        if field.data:
            pasted = parse_position(field.data)
            if pasted is None:
                raise ValidationError(refusals.problem_message(Problem("position", "bad_position")))
            self._position = pasted

    def validate_latitude(self, field):
        try:
            _number(field.data)
        except ValueError:
            raise ValidationError(NOT_A_NUMBER) from None

    validate_longitude = validate_latitude

    def values(self) -> StationValues:
        if self.position.data:  # pasted wins over typed: it is what the person did last
            latitude, longitude = self._position
        else:
            latitude, longitude = _typed_number(self.latitude.data), _typed_number(self.longitude.data)
        return StationValues(
            name=self.name.data or "",
            kind=_member(self.kind.data, StationKind, StationKind.STATION),
            category=_member(self.category.data, StationCategory, StationCategory.COMMUNITY),
            region=self._regions.get(self.region.data) if self.region.data else None,
            parent=self._parents.get(self.parent.data) if self.parent.data else None,
            address=self.address.data or "",
            phone=self.phone.data or "",
            latitude=latitude,
            longitude=longitude,
            opening_hours=self.opening_hours.data or "",
            presence_policy=_member(self.presence_policy.data, PresencePolicy, PresencePolicy.NONE),
            geo_radius_m=int(_typed_number(self.geo_radius_m.data, whole=True, default=300) or 0),
            intro=self.intro.data or "",
            is_legislative_point=bool(self.is_legislative_point.data),
        )

    @classmethod
    def data_of(cls, station: Station) -> dict:
        return {
            "name": station.name,
            "kind": station.kind.value,
            "category": station.category.value,
            "region": station.region_id,
            "parent": station.parent_id,
            "address": station.address,
            "phone": station.phone,
            "latitude": "" if station.latitude is None else str(station.latitude),
            "longitude": "" if station.longitude is None else str(station.longitude),
            "opening_hours": station.opening_hours,
            "presence_policy": station.presence_policy.value,
            "geo_radius_m": str(station.geo_radius_m),
            "intro": station.intro,
            "is_legislative_point": station.is_legislative_point,
        }


# --- representatives --------------------------------------------------------------------------


class RepresentativeForm(ReferenceForm):
    name = StringField(_l("Name"), filters=[cleaned], render_kw=_kw(limits.DISPLAY_NAME_MAX))
    mobile = StringField(
        _l("Mobile number"),
        filters=[stripped],
        description=_l("The representative signs in with it."),
        render_kw={"maxlength": limits.CONTACT_MOBILE_INPUT_MAX, "inputmode": "tel"},
    )
    ENUMS = {"level": RepLevel}

    level = _enum_field(_l("Level"))
    delegation = StringField(_l("Delegation"), filters=[cleaned], render_kw=_kw(limits.DELEGATION_MAX))
    occupation = StringField(_l("Occupation"), filters=[cleaned], render_kw=_kw(limits.OCCUPATION_MAX))
    post = StringField(
        _l("Post"),
        filters=[cleaned],
        description=_l("Their work unit and position, as the public page shows it."),
        render_kw=_kw(limits.POST_MAX),
    )
    term_number = StringField(
        _l("Term (届次)"),
        filters=[stripped],
        description=_l("A number, for example 18 for the 18th congress."),
        render_kw={"maxlength": 3, "inputmode": "numeric"},
    )
    term_start = DateField(_l("Term starts"), validators=[Optional()], invalid_value_message=NOT_A_DATE)
    term_end = DateField(_l("Term ends"), validators=[Optional()], invalid_value_message=NOT_A_DATE)
    stations = SelectMultipleField(
        _l("Stations where they serve"),
        coerce=int_or_none,
        validate_choice=False,
        description=_l("Choose one or more (hold Ctrl or ⌘ on a computer)."),
    )
    focus_areas = StringField(
        _l("Focus areas"),
        filters=[cleaned],
        description=_l("For example 城乡建设、养老服务."),
        render_kw=_kw(limits.FOCUS_AREAS_MAX),
    )
    bio = TextAreaField(_l("About them"), filters=[cleaned], render_kw={**_kw(limits.BIO_MAX), "rows": 4})

    def __init__(self, *args, stations: list[Station], **kwargs):
        super().__init__(*args, **kwargs)
        self._stations = {s.id: s for s in stations}
        # Grouped by region, so a long list stays readable.
        self.stations.choices = [SelectChoice(s.id, s.name, optgroup=s.region.full_name) for s in stations]

    def validate_term_number(self, field):
        try:
            _number(field.data, whole=True)
        except ValueError:
            raise ValidationError(NOT_A_WHOLE_NUMBER) from None

    def validate_stations(self, field):
        if any(value is None or value not in self._stations for value in field.data or ()):
            raise ValidationError(NOT_FROM_LIST)

    def values(self) -> RepresentativeValues:
        term = _typed_number(self.term_number.data, whole=True)
        return RepresentativeValues(
            name=self.name.data or "",
            mobile=self.mobile.data or "",
            level=_member(self.level.data, RepLevel, RepLevel.COUNTY),
            stations=[self._stations[i] for i in dict.fromkeys(self.stations.data or ()) if i in self._stations],
            delegation=self.delegation.data or "",
            occupation=self.occupation.data or "",
            post=self.post.data or "",
            term_number=int(term) if term is not None else None,
            term_start=self.term_start.data,
            term_end=self.term_end.data,
            bio=self.bio.data or "",
            focus_areas=self.focus_areas.data or "",
        )

    @classmethod
    def data_of(cls, rep, in_scope: set[int]) -> dict:
        """The form's values for `rep`; only the stations the viewer may choose are shown
        (the others stay, save_representative keep_other_stations)."""
        return {
            "name": rep.name,
            "mobile": rep.user.mobile or "",
            "level": rep.level.value,
            "delegation": rep.delegation,
            "occupation": rep.occupation,
            "post": rep.post,
            "term_number": str(rep.term_number) if rep.term_number is not None else "",
            "term_start": rep.term_start,
            "term_end": rep.term_end,
            "stations": [s.id for s in rep.stations if s.id in in_scope],
            "focus_areas": rep.focus_areas,
            "bio": rep.bio,
        }


# --- handling units ---------------------------------------------------------------------------


class UnitForm(ReferenceForm):
    ENUMS = {"kind": UnitKind}

    name = StringField(_l("Unit name"), filters=[cleaned], render_kw=_kw(limits.UNIT_NAME_MAX))
    kind = _enum_field(_l("Kind"))
    region = SelectField(_l("Region"), coerce=int_or_none, validate_choice=False)
    parent = SelectField(
        _l("Part of"),
        coerce=int_or_none,
        validate_choice=False,
        description=_l("A department under a government, a tribunal under a court."),
    )
    receives_dispatches = BooleanField(
        _l("Receives concerns"),
        default=True,
        description=_l("Switch off for a body that only groups its departments: it is not offered when dispatching."),
    )

    def __init__(self, *args, regions: list[Region], parents: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self._regions = {r.id: r for r in regions}
        self._parents = {u.id: u for u in parents}
        self.region.choices = _options([(r.id, r.full_name) for r in regions], none=_("Choose a region"))
        self.parent.choices = _options([(u.id, f"{u.name} · {u.region.name}") for u in parents], none=_("None"))

    def validate_region(self, field):
        _chosen(field, self._regions)

    def validate_parent(self, field):
        _chosen(field, self._parents)

    def values(self) -> UnitValues:
        return UnitValues(
            name=self.name.data or "",
            kind=_member(self.kind.data, UnitKind, UnitKind.GOVERNMENT),
            region=self._regions.get(self.region.data) if self.region.data else None,
            parent=self._parents.get(self.parent.data) if self.parent.data else None,
            receives_dispatches=bool(self.receives_dispatches.data),
        )

    @classmethod
    def data_of(cls, unit: Unit) -> dict:
        return {
            "name": unit.name,
            "kind": unit.kind.value,
            "region": unit.region_id,
            "parent": unit.parent_id,
            "receives_dispatches": unit.receives_dispatches,
        }


# --- categories -------------------------------------------------------------------------------


class CategoryForm(ReferenceForm):
    name_zh = StringField(_l("Name (Chinese)"), filters=[cleaned], render_kw=_kw(limits.CATEGORY_NAME_MAX))
    name_en = StringField(
        _l("Name (English)"),
        filters=[cleaned],
        description=_l("Shown on the English pages; the Chinese name when empty."),
        render_kw=_kw(limits.CATEGORY_NAME_EN_MAX),
    )
    sort_order = StringField(
        _l("Order"),
        default="0",
        filters=[stripped],
        description=_l("Smaller numbers come first in the residents' form."),
        render_kw={"maxlength": 6, "inputmode": "numeric"},
    )
    default_unit = SelectField(
        _l("Unit offered first when dispatching"),
        coerce=int_or_none,
        validate_choice=False,
        description=_l("Offered first only where the concern's station may reach it."),
    )

    def __init__(self, *args, units: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self._units = {u.id: u for u in units}
        self.default_unit.choices = _options([(u.id, f"{u.name} · {u.region.name}") for u in units], none=_("None"))

    def validate_sort_order(self, field):
        try:
            _number(field.data, whole=True)
        except ValueError:
            raise ValidationError(NOT_A_WHOLE_NUMBER) from None

    def validate_default_unit(self, field):
        _chosen(field, self._units)

    def values(self) -> CategoryValues:
        order = _typed_number(self.sort_order.data, whole=True)
        return CategoryValues(
            name_zh=self.name_zh.data or "",
            name_en=self.name_en.data or "",
            sort_order=int(order or 0),
            default_unit=self._units.get(self.default_unit.data) if self.default_unit.data else None,
        )

    @classmethod
    def data_of(cls, category) -> dict:
        return {
            "name_zh": category.name_zh,
            "name_en": category.name_en,
            "sort_order": str(category.sort_order),
            "default_unit": category.default_unit_id,
        }


# --- accounts given out from a station's or a unit's page ------------------------------------


class AccountForm(ReferenceForm):
    """A station manager's or a unit handler's account, without a password: the person
    sets one through an invitation."""

    name = StringField(_l("Name"), filters=[cleaned], render_kw=_kw(limits.DISPLAY_NAME_MAX))
    mobile = StringField(
        _l("Mobile number"),
        filters=[stripped],
        description=_l("They sign in with it."),
        render_kw={"maxlength": limits.CONTACT_MOBILE_INPUT_MAX, "inputmode": "tel"},
    )
    email = StringField(
        _l("E-mail (optional)"),
        filters=[stripped],
        description=_l("Notifications go here; without it, by SMS to the mobile number."),
        render_kw={"maxlength": limits.EMAIL_MAX},
    )


class OfficialAccountForm(AccountForm):
    """An official's account: the head of the unit, with their post (职务)."""

    post = StringField(
        _l("Post"),
        filters=[cleaned],
        description=_l("As residents should read it, e.g. director of the county housing bureau."),
        render_kw=_kw(limits.POST_MAX),
    )


class AppointForm(ReferenceForm):
    """A representative who heads a unit (领导干部代表): their unit and post, so that they
    hold office hours at stations as an official too."""

    unit = SelectField(_l("Unit"), coerce=int_or_none, validate_choice=False)
    post = OfficialAccountForm.post

    def __init__(self, *args, units: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self._units = {u.id: u for u in units}
        self.unit.choices = _options([(u.id, f"{u.name} · {u.region.name}") for u in units], none=_("Choose…"))

    def validate_unit(self, field):
        if field.data is None:
            raise ValidationError(_("Please fill this in."))
        _chosen(field, self._units)

    def chosen(self) -> Unit:
        return self._units[self.unit.data]


class AddManagerForm(ReferenceForm):
    """Give an existing station manager's account this station too."""

    manager = SelectField(_l("Station manager"), coerce=int_or_none, validate_choice=False)

    def __init__(self, *args, managers: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self._managers = {u.id: u for u in managers}
        self.manager.choices = _options(
            [(u.id, f"{u.display_name} · {'、'.join(s.name for s in u.managed_stations) or '—'}") for u in managers],
            none=_("Choose…"),
        )

    def validate_manager(self, field):
        if _chosen(field, self._managers) is None:
            raise ValidationError(NOT_FROM_LIST)

    def chosen(self) -> User:
        return self._managers[self.manager.data]
