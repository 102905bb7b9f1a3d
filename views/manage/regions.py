"""Regions (行政区划) in the back office: congress staff browse their region and those below
it, the admin the whole country; townships are added under a county; regions renamed and
switched off or on (services.regions)."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db
from models import AuditLog, Region, User
from models.enums import Role
from services import refusals
from services import regions as regions_service
from services.limits import SEARCH_QUERY_MAX
from services.permissions import Permission as P
from services.permissions import can
from services.regions import RegionRefused
from views.forms.regions import RenameForm, TownshipForm
from views.manage import bp
from views.util import get_or_404, require_or_abort

# What a region's history says, entry by entry.
AUDIT_TITLES = {
    "region.created": _l("Added"),
    "region.renamed": _l("Renamed"),
    "region.deactivated": _l("Switched off"),
    "region.reactivated": _l("Switched on again"),
}
HISTORY_MAX = 20


@bp.get("/regions")
@login_required
def regions():
    require_or_abort(P.REGION_MANAGE)
    q = (request.args.get("q") or "").strip()[:SEARCH_QUERY_MAX]
    found, more = regions_service.search(current_user, q) if q else ([], False)
    tops = regions_service.top_regions(current_user)
    if not q and current_user.role == Role.CONGRESS_STAFF and len(tops) == 1:
        return redirect(url_for("manage.region", region_id=tops[0].id))
    names = regions_service.full_names(found)
    return render_template("manage/regions.html", q=q, found=found, more=more, names=names, tops=tops)


def _region_or_refuse(region_id: int, action: str = P.REGION_MANAGE) -> Region:
    region = get_or_404(Region, region_id)
    require_or_abort(action, region)
    return region


def _page(region: Region, *, township: TownshipForm | None = None, rename: RenameForm | None = None, status=200):
    history = db.session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.target_type == "region", AuditLog.target_id == region.id)
        .order_by(AuditLog.id.desc())
        .limit(HISTORY_MAX)
    ).all()
    actor_ids = {e.actor_id for e in history if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    may_edit = can(current_user, P.REGION_EDIT, region)
    html = render_template(
        "manage/region.html",
        region=region,
        path=[(r, can(current_user, P.REGION_MANAGE, r)) for r in region.path()[:-1]],
        children=regions_service.children(region),
        may_add=region.is_active and regions_service.holds_townships(region),
        may_edit=may_edit,
        usage=regions_service.usage(region) if may_edit and region.is_active else None,
        township=township or TownshipForm(formdata=None),
        rename=rename or RenameForm(formdata=None, name=region.name),
        history=history,
        actors=actors,
        audit_titles=AUDIT_TITLES,
    )
    return html, status


def _refused(refused: RegionRefused, form) -> None:
    """A refusal beside its field when the form has it, above the form otherwise."""
    field, message = refusals.explain(refused)
    if form is not None and field is not None and field in form:
        form[field].errors = [message]
    else:
        flash(message)


@bp.get("/regions/<int:region_id>")
@login_required
def region(region_id: int):
    return _page(_region_or_refuse(region_id))


@bp.post("/regions/<int:region_id>/townships")
@login_required
def township_add(region_id: int):
    county = _region_or_refuse(region_id)
    form = TownshipForm()
    if not form.validate():
        return _page(county, township=form, status=422)
    try:
        town = regions_service.add_township(current_user, county, form.code.data or "", form.name.data or "")
        db.session.commit()
    except RegionRefused as refused:
        db.session.rollback()
        _refused(refused, form)
        return _page(county, township=form, status=422)
    flash(_("%(name)s (%(code)s) was added.", name=town.name, code=town.code))
    return redirect(url_for("manage.region", region_id=county.id), 303)


@bp.post("/regions/<int:region_id>/rename")
@login_required
def region_rename(region_id: int):
    region = _region_or_refuse(region_id, P.REGION_EDIT)
    form = RenameForm()
    if not form.validate():
        return _page(region, rename=form, status=422)
    try:
        regions_service.rename(current_user, region, form.name.data or "")
        db.session.commit()
    except RegionRefused as refused:
        db.session.rollback()
        _refused(refused, form)
        return _page(region, rename=form, status=422)
    flash(_("The name is now %(name)s.", name=region.name))
    return redirect(url_for("manage.region", region_id=region.id), 303)


@bp.post("/regions/<int:region_id>/deactivate")
@login_required
def region_deactivate(region_id: int):
    region = _region_or_refuse(region_id, P.REGION_EDIT)
    try:
        switched = regions_service.deactivate(current_user, region)
        db.session.commit()
    except RegionRefused as refused:
        db.session.rollback()
        _refused(refused, None)
        return _page(region, status=422)
    below = len(switched) - 1
    if below > 0:
        flash(_("%(name)s is switched off, with %(n)d regions below it.", name=region.name, n=below))
    else:
        flash(_("%(name)s is switched off.", name=region.name))
    return redirect(url_for("manage.region", region_id=region.id), 303)


@bp.post("/regions/<int:region_id>/reactivate")
@login_required
def region_reactivate(region_id: int):
    region = _region_or_refuse(region_id, P.REGION_EDIT)
    try:
        regions_service.reactivate(current_user, region)
        db.session.commit()
    except RegionRefused as refused:
        db.session.rollback()
        _refused(refused, None)
        return _page(region, status=422)
    flash(_("%(name)s is switched on again.", name=region.name))
    return redirect(url_for("manage.region", region_id=region.id), 303)
