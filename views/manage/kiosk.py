"""A station's tablets in the back office: pair one (a code shown once), see when each
was last seen, revoke one."""

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import KioskDevice
from services import kiosk as kiosk_service
from services import refusals
from services.errors import KioskRefused
from services.permissions import Permission as P
from services.permissions import can
from views.forms.kiosk import NewPairingForm
from views.manage import bp
from views.manage.duty import station_or_404
from views.util import get_or_404, require_or_abort


def _page(station, form: NewPairingForm, *, code: str | None = None, pairing=None, status: int = 200):
    html = render_template(
        "manage/tablets.html",
        station=station,
        form=form,
        devices=kiosk_service.devices(station),
        waiting=kiosk_service.waiting_pairings(station),
        may_pair=can(current_user, P.KIOSK_PAIR, station) and station.is_active,
        may_revoke=can(current_user, P.KIOSK_REVOKE, station),
        code=kiosk_service.format_pairing_code(code) if code else None,
        pairing=pairing,
    )
    response = make_response(html, status)
    # The page may show a pairing code: never keep it in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/stations/<code>/tablets")
@login_required
def tablets(code: str):
    station = station_or_404(code)
    require_or_abort(P.KIOSK_REVOKE, station)
    return _page(station, NewPairingForm(formdata=None))


@bp.post("/stations/<code>/tablets")
@login_required
def tablet_pair(code: str):
    """Make a pairing code. The answer is the page with the code on it, not a redirect:
    only the code's hash is kept, so it can be shown this once."""
    station = station_or_404(code)
    require_or_abort(P.KIOSK_PAIR, station)
    form = NewPairingForm()
    if not form.validate():
        return _page(station, form, status=422)
    try:
        pairing, pairing_code = kiosk_service.new_pairing(current_user, station, form.name.data or "")
        db.session.commit()
    except KioskRefused as refused:
        db.session.rollback()
        field, message = refusals.explain(refused)
        if field == "name":
            form.name.errors = [message]
        else:
            flash(message)
        return _page(station, form, status=422)
    return _page(station, NewPairingForm(formdata=None), code=pairing_code, pairing=pairing)


@bp.post("/stations/<code>/tablets/<int:device_id>/revoke")
@login_required
def tablet_revoke(code: str, device_id: int):
    station = station_or_404(code)
    device = get_or_404(KioskDevice, device_id)
    if device.station_id != station.id:
        abort(404)
    require_or_abort(P.KIOSK_REVOKE, station)
    kiosk_service.revoke(current_user, device)
    db.session.commit()
    flash(_("The tablet is no longer paired. It shows how to pair again."))
    return redirect(url_for("manage.tablets", code=station.code), 303)
