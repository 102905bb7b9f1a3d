"""Officials' office hours at a station (领导进站): congress staff schedule them."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import OfficeHour
from services import officials as officials_service
from services import refusals
from services.clock import local_today
from services.errors import DomainError
from services.permissions import Permission as P
from services.roster import has_ended
from views.forms.manage import OfficeHourForm, SlotRemoveForm
from views.manage import bp
from views.manage.duty import station_or_404
from views.util import require_or_abort

HOURS_DAYS = 28  # the page shows today and the next four weeks


def _form(station) -> OfficeHourForm:
    form = OfficeHourForm()
    form.official.choices = [
        (o.id, f"{o.name} · {o.post} · {o.unit.name}") for o in officials_service.officials_for(station)
    ]
    return form


def _render(station, form: OfficeHourForm, status: int = 200):
    today = local_today()
    return (
        render_template(
            "manage/office_hours.html",
            station=station,
            form=form,
            hours=officials_service.hours_ahead(station, today, HOURS_DAYS),
            today=today,
            has_ended=has_ended,
            remove_form=SlotRemoveForm(formdata=None),
        ),
        status,
    )


@bp.get("/stations/<code>/office-hours")
@login_required
def office_hours(code: str):
    station = station_or_404(code)
    require_or_abort(P.OFFICE_HOURS_MANAGE, station)
    form = _form(station)
    if not form.day.data:
        form.day.data = local_today()
    return _render(station, form)


@bp.post("/stations/<code>/office-hours")
@login_required
def office_hours_add(code: str):
    station = station_or_404(code)
    require_or_abort(P.OFFICE_HOURS_MANAGE, station)
    form = _form(station)
    if not form.validate_on_submit():
        return _render(station, form, 422)
    official = next(o for o in officials_service.officials_for(station) if o.id == form.official.data)
    try:
        hours = officials_service.add_hours(
            current_user,
            station,
            official,
            form.day.data,
            form.starts_at.data,
            form.ends_at.data,
            repeat_weeks=form.repeat_weeks.data,
        )
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        field_name, message = refusals.explain(refused)
        field = getattr(form, field_name or "day", None) or form.day
        field.errors = [*field.errors, message]
        return _render(station, form, 422)
    flash(_("Office hours added for %(name)s: %(n)d day(s).", name=official.name, n=len(hours)))
    return redirect(url_for("manage.office_hours", code=station.code), 303)


@bp.post("/stations/<code>/office-hours/<int:hour_id>/delete")
@login_required
def office_hours_remove(code: str, hour_id: int):
    station = station_or_404(code)
    require_or_abort(P.OFFICE_HOURS_MANAGE, station)
    hour = db.session.get(OfficeHour, hour_id)
    if hour is None or hour.station_id != station.id:
        abort(404)
    form = SlotRemoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        removed = officials_service.remove_hours(current_user, station, hour, whole_series=form.whole_series)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        flash(refusals.message(refused, "remove"))
        return redirect(url_for("manage.office_hours", code=station.code), 303)
    flash(_("Removed %(n)d day(s) of office hours.", n=removed))
    return redirect(url_for("manage.office_hours", code=station.code), 303)
