"""Administering reference data in the back office: stations, representatives, handling
units (with their handlers' accounts), the categories (the admin's), and each record's
history.

Congress staff manage what lies in their region and below; the admin everything
(services.permissions, reference.manage). Every form offers only what is in scope, reads
through views.forms.reference and saves through services.reference, whose problems come
back beside the fields (422) with what was typed.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db
from models import Category, Representative, Station, Unit, User
from models.enums import PresencePolicy, RepLevel, Role, StationCategory, StationKind, UnitKind
from services import officials as officials_service
from services import reference, refusals
from services import reference_lists as lists
from services.clock import local_today
from services.limits import SEARCH_QUERY_MAX
from services.officials import OfficialRefused
from services.permissions import Permission as P
from services.permissions import can, manages_region
from services.reference import ReferenceRefused
from services.roster import station_by_code
from views.forms import ButtonForm
from views.forms.admin import SwitchForm
from views.forms.reference import (
    AccountForm,
    AddManagerForm,
    AppointForm,
    CategoryForm,
    OfficialAccountForm,
    RepresentativeForm,
    StationForm,
    UnitForm,
)
from views.manage import bp
from views.util import get_or_404, id_arg, require_or_abort


def _actor() -> User:
    return current_user._get_current_object()


def _saved_or_problems(form, check, save):
    """On a POST: check what was typed, then save and commit — the saved record — or None
    with every problem beside its field (the form's own and the service's, all at once)
    and the session rolled back. None on a GET."""
    if request.method != "POST":
        return None
    readable = form.validate_on_submit()
    values = form.values()
    problems = check(values)
    if readable and not problems:
        try:
            saved = save(values)
        except ReferenceRefused as refused:  # a rule that only the write could see
            problems = refused.details.get("problems") or [reference.Problem("", refused.code)]
        else:
            db.session.commit()
            return saved
    db.session.rollback()
    form.add_problems(problems)
    return None


# --- what the history shows ---------------------------------------------------------------------

ACTION_TITLES = {
    "station.created": _l("Record created"),
    "station.changed": _l("Changed"),
    "station.manager_added": _l("Manager added"),
    "station.manager_removed": _l("Manager removed"),
    "representative.created": _l("Record created"),
    "representative.changed": _l("Changed"),
    "unit.created": _l("Record created"),
    "unit.changed": _l("Changed"),
    "unit.switched_off": _l("Switched off"),
    "unit.switched_on": _l("Switched on again"),
    "category.created": _l("Record created"),
    "category.changed": _l("Changed"),
    "category.switched_off": _l("Switched off"),
    "category.switched_on": _l("Switched on again"),
}

FIELD_LABELS = {
    "name": _l("Name"),
    "kind": _l("Kind"),
    "category": _l("Type"),
    "region": _l("Region"),
    "parent": _l("Belongs to"),
    "address": _l("Address"),
    "phone": _l("Phone"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "opening_hours": _l("Opening hours"),
    "presence_policy": _l("Check-in"),
    "geo_radius_m": _l("Radius (m)"),
    "intro": _l("Introduction"),
    "mobile": _l("Mobile number"),
    "level": _l("Level"),
    "stations": _l("Stations"),
    "delegation": _l("Delegation"),
    "occupation": _l("Occupation"),
    "post": _l("Post"),
    "term_number": _l("Term (届次)"),
    "term_start": _l("Term starts"),
    "term_end": _l("Term ends"),
    "bio": _l("About them"),
    "focus_areas": _l("Focus areas"),
    "receives_dispatches": _l("Receives concerns"),
    "active": _l("Switched on"),
    "name_zh": _l("Name (Chinese)"),
    "name_en": _l("Name (English)"),
    "sort_order": _l("Order"),
    "default_unit": _l("Unit offered first"),
}

# Stored as the enum's value; read as its label. "kind" means another enum per record.
ENUM_FIELDS = {
    ("station", "kind"): StationKind,
    ("station", "category"): StationCategory,
    ("station", "presence_policy"): PresencePolicy,
    ("representative", "level"): RepLevel,
    ("unit", "kind"): UnitKind,
}


# The same key in another record's history: a station's or unit's name is not a person's.
FIELD_LABELS_OF = {
    ("station", "name"): _l("Station name"),
    ("unit", "name"): _l("Unit name"),
    ("station", "parent"): _l("Belongs to the liaison station"),
    ("unit", "parent"): _l("Part of"),
}


def _label(target_type: str, name: str) -> str:
    return str(FIELD_LABELS_OF.get((target_type, name)) or FIELD_LABELS.get(name, name))


def _shown(target_type: str, name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    enum = ENUM_FIELDS.get((target_type, name))
    if enum is not None and value in {m.value for m in enum}:
        return enum(value).label
    return str(value)


def describe(entry) -> dict:
    """An audit entry as people read it: a title and the fields, before → after (a new
    record: only what was filled in)."""
    log = entry.entry
    target, data = log.target_type, log.data or {}
    rows = []
    if "changes" in data:
        for name, (before, after) in data["changes"].items():
            rows.append((_label(target, name), _shown(target, name, before), _shown(target, name, after)))
    elif log.action.endswith(".created"):
        for name, value in data.items():
            if value not in (None, "", [], False) and name in FIELD_LABELS:
                rows.append((_label(target, name), None, _shown(target, name, value)))
    return {
        "when": log.created_at,
        "who": entry.actor.display_name if entry.actor else _("The system"),
        "title": ACTION_TITLES.get(log.action) or _("Changed"),  # an action named elsewhere: still readable
        "note": data.get("manager") or "",
        "rows": rows,
    }


def _history(target) -> list[dict]:
    return [describe(entry) for entry in lists.history(target)]


# --- stations -----------------------------------------------------------------------------------


def _station_or_404(code: str) -> Station:
    station = station_by_code(code)
    if station is None:
        abort(404)
    require_or_abort(P.REFERENCE_MANAGE, station)
    return station


def _station_form(station: Station | None = None, **kw) -> StationForm:
    actor = _actor()
    regions = lists.regions_in_scope(actor, levels=lists.STATION_LEVELS)
    parents = [s for s in lists.parent_stations(actor) if station is None or s.id != station.id]
    # Keep what the station has now selectable, even when it is no longer offered to new ones.
    if station is not None and station.region not in regions and manages_region(actor, station.region):
        regions.append(station.region)
    return StationForm(regions=regions, parents=parents, **kw)


def _one_of(value: str, enum):
    return enum(value) if value in {m.value for m in enum} else None


@bp.get("/stations")
@login_required
def stations():
    require_or_abort(P.REFERENCE_MANAGE)
    actor = _actor()
    regions = lists.regions_holding(actor, Station.region_id)
    region_id = request.args.get("region", type=id_arg)
    active = request.args.get("active", "1")
    f = lists.StationFilter(
        q=(request.args.get("q") or "").strip()[:SEARCH_QUERY_MAX],
        region_id=region_id if region_id in {r.id for r in regions} else None,
        kind=_one_of(request.args.get("kind", ""), StationKind),
        active=active if active in ("0", "1", "") else "1",
    )
    page = lists.stations_page(actor, f, request.args.get("after", type=id_arg))
    return render_template(
        "manage/reference/stations.html",
        f=f,
        page=page,
        regions=regions,
        kinds=StationKind.choices(),
        args={"q": f.q or None, "region": f.region_id, "kind": f.kind.value if f.kind else None, "active": f.active},
    )


@bp.route("/stations/new", methods=["GET", "POST"])
@login_required
def station_new():
    require_or_abort(P.REFERENCE_MANAGE)
    form = _station_form()
    actor = _actor()
    station = _saved_or_problems(
        form,
        lambda v: reference.check_station(actor, None, v),
        lambda v: reference.save_station(actor, None, v),
    )
    if station is not None:
        flash(_("Station %(name)s created with the code %(code)s.", name=station.name, code=station.code))
        return redirect(url_for("manage.station_detail", code=station.code), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("manage/reference/station_form.html", form=form, station=None), status


@bp.route("/stations/<code>/edit", methods=["GET", "POST"])
@login_required
def station_edit(code: str):
    station = _station_or_404(code)
    form = _station_form(station, data=StationForm.data_of(station) if request.method == "GET" else None)
    actor = _actor()
    saved = _saved_or_problems(
        form,
        lambda v: reference.check_station(actor, station, v),
        lambda v: reference.save_station(actor, station, v),
    )
    if saved is not None:
        flash(_("Station %(name)s saved.", name=saved.name))
        return redirect(url_for("manage.station_detail", code=saved.code), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("manage/reference/station_form.html", form=form, station=station), status


def _render_station(station: Station, account_form=None, add_form=None, status: int = 200):
    actor = _actor()
    return (
        render_template(
            "manage/reference/station.html",
            station=station,
            managers=lists.station_managers(station),
            account_form=account_form or AccountForm(formdata=None),
            add_form=add_form or AddManagerForm(formdata=None, managers=lists.managers_to_add(actor, station)),
            history=_history(station),
            can=can,
        ),
        status,
    )


@bp.get("/stations/<code>")
@login_required
def station_detail(code: str):
    return _render_station(_station_or_404(code))


@bp.post("/stations/<code>/managers")
@login_required
def station_manager_new(code: str):
    """A new station manager's account for this station (no password: invited later)."""
    station = _station_or_404(code)
    form = AccountForm()
    if form.validate_on_submit() and _account_created(form, Role.STATION_MANAGER, stations=[station]):
        return redirect(url_for("manage.station_detail", code=code, _anchor="managers"), 303)
    return _render_station(station, account_form=form, status=422)


def _account_created(form: AccountForm, role: Role, **scope) -> bool:
    """Create the account the form describes, or put the problems beside its fields."""
    actor = _actor()
    typed = (role, form.name.data or "", form.mobile.data or "", form.email.data)
    problems = reference.check_account(actor, *typed, **scope)
    if problems:
        form.add_problems(problems)
        return False
    user = reference.create_account(actor, *typed, **scope)
    db.session.commit()
    flash(_("Account created for %(name)s. Send them an invitation to set a password.", name=user.display_name))
    return True


@bp.post("/stations/<code>/managers/add")
@login_required
def station_manager_add(code: str):
    station = _station_or_404(code)
    actor = _actor()
    form = AddManagerForm(managers=lists.managers_to_add(actor, station))
    if not form.validate_on_submit():
        return _render_station(station, add_form=form, status=422)
    manager = form.chosen()
    try:
        reference.add_manager(actor, station, manager)
    except ReferenceRefused as refused:
        db.session.rollback()
        form.add_problems([reference.Problem("manager", refused.code, dict(refused.details))])
        return _render_station(_station_or_404(code), add_form=form, status=422)
    db.session.commit()
    flash(_("%(name)s now also looks after this station.", name=manager.display_name))
    return redirect(url_for("manage.station_detail", code=code, _anchor="managers"), 303)


@bp.post("/stations/<code>/managers/<int:user_id>/remove")
@login_required
def station_manager_remove(code: str, user_id: int):
    station = _station_or_404(code)
    manager = get_or_404(User, user_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if reference.remove_manager(_actor(), station, manager):
        db.session.commit()
        flash(_("%(name)s no longer looks after this station. The account stays.", name=manager.display_name))
    return redirect(url_for("manage.station_detail", code=code, _anchor="managers"), 303)


# --- representatives ----------------------------------------------------------------------------


def _rep_or_404(rep_id: int) -> Representative:
    rep = get_or_404(Representative, rep_id)
    require_or_abort(P.REFERENCE_MANAGE, rep)
    return rep


@bp.get("/representatives")
@login_required
def representatives():
    require_or_abort(P.REFERENCE_MANAGE)
    actor = _actor()
    stations_all = lists.stations_in_scope(actor)
    station_id = request.args.get("station", type=id_arg)
    serving = request.args.get("serving", "")
    f = lists.RepresentativeFilter(
        q=(request.args.get("q") or "").strip()[:SEARCH_QUERY_MAX],
        level=_one_of(request.args.get("level", ""), RepLevel),
        station_id=station_id if station_id in {s.id for s in stations_all} else None,
        serving=serving if serving in ("0", "1") else "",
    )
    today = local_today()
    page = lists.representatives_page(actor, f, today, request.args.get("after", type=id_arg))
    return render_template(
        "manage/reference/representatives.html",
        f=f,
        page=page,
        stations=stations_all,
        levels=RepLevel.choices(),
        today=today,
        args={
            "q": f.q or None,
            "level": f.level.value if f.level else None,
            "station": f.station_id,
            "serving": f.serving or None,
        },
    )


def _rep_form(**kw) -> RepresentativeForm:
    return RepresentativeForm(stations=lists.open_stations(_actor()), **kw)


@bp.route("/representatives/new", methods=["GET", "POST"])
@login_required
def representative_new():
    require_or_abort(P.REFERENCE_MANAGE)
    form = _rep_form()
    actor = _actor()
    rep = _saved_or_problems(
        form,
        lambda v: reference.check_representative(actor, None, v),
        lambda v: reference.save_representative(actor, None, v),
    )
    if rep is not None:
        flash(_("Representative %(name)s added.", name=rep.name))
        return redirect(url_for("manage.representative_detail", rep_id=rep.id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("manage/reference/representative_form.html", form=form, rep=None), status


@bp.route("/representatives/<int:rep_id>/edit", methods=["GET", "POST"])
@login_required
def representative_edit(rep_id: int):
    rep = _rep_or_404(rep_id)
    actor = _actor()
    offered = lists.open_stations(actor)
    data = RepresentativeForm.data_of(rep, {s.id for s in offered}) if request.method == "GET" else None
    form = RepresentativeForm(stations=offered, data=data)
    # Stations elsewhere stay as they are; the page says so.
    elsewhere = [s for s in rep.stations if not manages_region(actor, s.region)]
    saved = _saved_or_problems(
        form,
        lambda v: reference.check_representative(actor, rep, v),
        lambda v: reference.save_representative(actor, rep, v, keep_other_stations=True),
    )
    if saved is not None:
        flash(_("Representative %(name)s saved.", name=saved.name))
        return redirect(url_for("manage.representative_detail", rep_id=rep_id), 303)
    status = 422 if request.method == "POST" else 200
    return (
        render_template("manage/reference/representative_form.html", form=form, rep=rep, elsewhere=elsewhere),
        status,
    )


@bp.get("/representatives/<int:rep_id>")
@login_required
def representative_detail(rep_id: int):
    return _render_representative(_rep_or_404(rep_id))


def _render_representative(rep: Representative, appoint_form=None, status: int = 200):
    actor = _actor()
    today = local_today()
    return render_template(
        "manage/reference/representative.html",
        rep=rep,
        today=today,
        years=[today.year, today.year - 1],
        in_scope={s.id for s in rep.stations if manages_region(actor, s.region)},
        history=_history(rep),
        may_read_file=can(actor, P.DUTY_VIEW_FILE, rep),
        appoint_form=appoint_form or AppointForm(formdata=None, units=lists.units_in_scope(actor, active_only=True)),
    ), status


@bp.post("/representatives/<int:rep_id>/official")
@login_required
def representative_appoint(rep_id: int):
    """A representative who heads a unit (领导干部代表) becomes an official too."""
    rep = _rep_or_404(rep_id)
    actor = _actor()
    form = AppointForm(units=lists.units_in_scope(actor, active_only=True))
    if not form.validate_on_submit():
        return _render_representative(rep, form, 422)
    try:
        officials_service.appoint(actor, rep.user, form.chosen(), form.post.data or "")
    except OfficialRefused as refused:
        db.session.rollback()
        field_name, message = refusals.explain(refused)
        target = getattr(form, field_name or "post", None) or form.post
        target.errors = [*target.errors, message]
        return _render_representative(_rep_or_404(rep_id), form, 422)
    db.session.commit()
    flash(_("%(name)s now also holds office hours at stations as an official.", name=rep.name))
    return redirect(url_for("manage.representative_detail", rep_id=rep_id, _anchor="official"), 303)


# --- handling units ----------------------------------------------------------------------------


def _unit_or_404(unit_id: int) -> Unit:
    unit = get_or_404(Unit, unit_id)
    require_or_abort(P.REFERENCE_MANAGE, unit)
    return unit


def _unit_form(unit: Unit | None = None, **kw) -> UnitForm:
    actor = _actor()
    regions = lists.regions_in_scope(actor)
    if unit is not None and unit.region not in regions and manages_region(actor, unit.region):
        regions.append(unit.region)
    parents = [u for u in lists.units_in_scope(actor, active_only=True) if unit is None or u.id != unit.id]
    return UnitForm(regions=regions, parents=parents, **kw)


@bp.get("/units")
@login_required
def units():
    require_or_abort(P.REFERENCE_MANAGE)
    actor = _actor()
    regions = lists.regions_holding(actor, Unit.region_id)
    region_id = request.args.get("region", type=id_arg)
    region_id = region_id if region_id in {r.id for r in regions} else None
    shown = lists.units_in_scope(actor)
    if region_id is not None:
        region = next(r for r in regions if r.id == region_id)
        shown = [u for u in shown if any(r.id == region.id for r in u.region.path())]
    return render_template(
        "manage/reference/units.html",
        groups=lists.unit_tree(shown),
        regions=regions,
        region_id=region_id,
        switch_form=SwitchForm(formdata=None),
    )


@bp.route("/units/new", methods=["GET", "POST"])
@login_required
def unit_new():
    require_or_abort(P.REFERENCE_MANAGE)
    form = _unit_form()
    if request.method == "GET" and request.args.get("parent", type=id_arg):
        form.parent.data = request.args.get("parent", type=id_arg)
    actor = _actor()
    unit = _saved_or_problems(
        form, lambda v: reference.check_unit(actor, None, v), lambda v: reference.save_unit(actor, None, v)
    )
    if unit is not None:
        flash(_("Unit %(name)s created.", name=unit.name))
        return redirect(url_for("manage.unit_detail", unit_id=unit.id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("manage/reference/unit_form.html", form=form, unit=None), status


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def unit_edit(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = _unit_form(unit, data=UnitForm.data_of(unit) if request.method == "GET" else None)
    actor = _actor()
    saved = _saved_or_problems(
        form, lambda v: reference.check_unit(actor, unit, v), lambda v: reference.save_unit(actor, unit, v)
    )
    if saved is not None:
        flash(_("Unit %(name)s saved.", name=saved.name))
        return redirect(url_for("manage.unit_detail", unit_id=unit_id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("manage/reference/unit_form.html", form=form, unit=unit), status


def _render_unit(unit: Unit, account_form=None, official_form=None, status: int = 200):
    return (
        render_template(
            "manage/reference/unit.html",
            unit=unit,
            handlers=lists.unit_handlers(unit),
            officials=officials_service.officials_of_unit(unit),
            official_form=official_form or OfficialAccountForm(formdata=None),
            departments=[u for u in lists.units_in_scope(_actor()) if u.parent_id == unit.id],
            account_form=account_form or AccountForm(formdata=None),
            switch_form=SwitchForm(formdata=None),
            history=_history(unit),
        ),
        status,
    )


@bp.get("/units/<int:unit_id>")
@login_required
def unit_detail(unit_id: int):
    return _render_unit(_unit_or_404(unit_id))


@bp.post("/units/<int:unit_id>/active")
@login_required
def unit_set_active(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    if reference.set_active(_actor(), unit, form.switch_on):
        db.session.commit()
        flash(_("The unit is switched on again.") if form.switch_on else _("The unit is switched off."))
    return redirect(url_for("manage.unit_detail", unit_id=unit_id), 303)


@bp.post("/units/<int:unit_id>/handlers")
@login_required
def unit_handler_new(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = AccountForm()
    if form.validate_on_submit() and _account_created(form, Role.UNIT_HANDLER, unit=unit):
        return redirect(url_for("manage.unit_detail", unit_id=unit_id, _anchor="handlers"), 303)
    return _render_unit(unit, account_form=form, status=422)


@bp.post("/units/<int:unit_id>/officials")
@login_required
def unit_official_new(unit_id: int):
    """An official's account (the unit's head: 局长, 院长…) with their post: they hold
    office hours at stations (领导进站)."""
    unit = _unit_or_404(unit_id)
    form = OfficialAccountForm()
    if form.validate_on_submit() and _account_created(form, Role.OFFICIAL, unit=unit, post=form.post.data or ""):
        return redirect(url_for("manage.unit_detail", unit_id=unit_id, _anchor="officials"), 303)
    return _render_unit(unit, official_form=form, status=422)


# --- categories (the admin's) -------------------------------------------------------------------


def _category_form(**kw) -> CategoryForm:
    return CategoryForm(units=lists.receiving_units(), **kw)


@bp.get("/categories")
@login_required
def categories():
    require_or_abort(P.CATEGORY_MANAGE)
    return render_template(
        "manage/reference/categories.html", categories=lists.categories(), switch_form=SwitchForm(formdata=None)
    )


@bp.route("/categories/new", methods=["GET", "POST"])
@login_required
def category_new():
    require_or_abort(P.CATEGORY_MANAGE)
    form = _category_form()
    actor = _actor()
    category = _saved_or_problems(
        form,
        lambda v: reference.check_category(actor, None, v),
        lambda v: reference.save_category(actor, None, v),
    )
    if category is not None:
        flash(_("Category %(name)s created.", name=category.name_zh))
        return redirect(url_for("manage.categories"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("manage/reference/category_form.html", form=form, category=None, history=[]), status


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@login_required
def category_edit(category_id: int):
    require_or_abort(P.CATEGORY_MANAGE)
    category = get_or_404(Category, category_id)
    form = _category_form(data=CategoryForm.data_of(category) if request.method == "GET" else None)
    actor = _actor()
    saved = _saved_or_problems(
        form,
        lambda v: reference.check_category(actor, category, v),
        lambda v: reference.save_category(actor, category, v),
    )
    if saved is not None:
        flash(_("Category %(name)s saved.", name=saved.name_zh))
        return redirect(url_for("manage.categories"), 303)
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "manage/reference/category_form.html",
            form=form,
            category=category,
            history=_history(category),
            switch_form=SwitchForm(formdata=None),
        ),
        status,
    )


@bp.post("/categories/<int:category_id>/active")
@login_required
def category_set_active(category_id: int):
    require_or_abort(P.CATEGORY_MANAGE)
    category = get_or_404(Category, category_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    if reference.set_active(_actor(), category, form.switch_on):
        db.session.commit()
        flash(
            _("The category is offered to residents again.")
            if form.switch_on
            else _("The category is switched off: residents no longer see it; past concerns keep it.")
        )
    return redirect(url_for("manage.categories"), 303)
