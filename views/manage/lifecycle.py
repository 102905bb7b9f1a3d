"""A station's lifecycle in the back office: replacing its poster's code, closing it and
opening it again; and the posters of a whole region as one printable document."""

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import Region, Station, utcnow
from models.enums import StationKind
from services import refusals
from services import station_lifecycle as lifecycle
from services.permissions import Permission as P
from services.station_lifecycle import StationRefused
from views.forms import ButtonForm
from views.forms.lifecycle import CloseStationForm, ReplaceCodeForm
from views.manage import bp
from views.manage.duty import station_or_404
from views.util import get_or_404, int_or_none, require_or_abort


def station_url(code: str) -> str:
    from views.public import station_url  # views.public → views.duty → this package: import late

    return station_url(code)


def forget_station_pages(*codes: str) -> None:
    from views.public import forget_station_pages

    forget_station_pages(*codes)


def _refused_on(form, refused: StationRefused) -> None:
    """The refusal beside its field, or above the form."""
    field, message = refusals.explain(refused)
    if field is not None and hasattr(form, field):
        getattr(form, field).errors = [*getattr(form, field).errors, message]
    else:
        flash(message)


def _no_store(html: str, status: int = 200):
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the poster's code -------------------------------------------------------------------------


def _code_page(station: Station, form: ReplaceCodeForm, *, confirming: bool = False, status: int = 200):
    now = utcnow()
    return _no_store(
        render_template(
            "manage/station_code.html",
            station=station,
            form=form,
            confirming=confirming,
            url=station_url(station.code),
            retired=[(alias, lifecycle.is_forwarding(alias, now)) for alias in lifecycle.retired_codes(station)],
        ),
        status,
    )


@bp.get("/stations/<code>/code")
@login_required
def station_code(code: str):
    station = station_or_404(code)
    require_or_abort(P.STATION_REPLACE_CODE, station)
    return _code_page(station, ReplaceCodeForm(formdata=None))


@bp.post("/stations/<code>/code")
@login_required
def station_code_replace(code: str):
    """First the confirmation (what happens to the old posters), then the replacement; the
    manager lands on the new poster, ready to print."""
    station = station_or_404(code)
    require_or_abort(P.STATION_REPLACE_CODE, station)
    form = ReplaceCodeForm()
    if not form.validate():
        return _code_page(station, form, status=422)
    if not station.is_active:
        _refused_on(form, StationRefused("station_closed"))
        return _code_page(station, form, status=422)
    if not form.confirmed:
        return _code_page(station, form, confirming=True)
    old = station.code
    try:
        new = lifecycle.replace_code(
            current_user, station, forward_days=form.forward_days.data, reason=form.reason.data, now=utcnow()
        )
        db.session.commit()
    except StationRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _code_page(station_or_404(old), form, status=422)
    forget_station_pages(old)
    return redirect(url_for("public.poster", code=new), 303)


# --- closing and opening again -----------------------------------------------------------------


def _close_form(station: Station, form: CloseStationForm | None = None) -> CloseStationForm:
    form = form or CloseStationForm()
    form.successor.choices = [("", _("None: the page says the note only"))] + [
        (str(s.id), f"{s.name} · {s.region.name}") for s in lifecycle.successor_choices(current_user, station)
    ]
    return form


def _close_page(station: Station, form: CloseStationForm, status: int = 200):
    return _no_store(
        render_template(
            "manage/station_close.html",
            station=station,
            form=form,
            successor=lifecycle.current_successor(station) if not station.is_active else None,
            reopen_form=ButtonForm(formdata=None),
        ),
        status,
    )


@bp.get("/stations/<code>/close")
@login_required
def station_close_form(code: str):
    station = station_or_404(code)
    require_or_abort(P.STATION_CLOSE, station)
    return _close_page(station, _close_form(station, CloseStationForm(formdata=None)))


@bp.post("/stations/<code>/close")
@login_required
def station_close(code: str):
    station = station_or_404(code)
    require_or_abort(P.STATION_CLOSE, station)
    form = _close_form(station)
    if not form.validate():
        return _close_page(station, form, status=422)
    successor = None
    if form.successor.data:
        # Only a station offered in the list: a forged id from elsewhere is refused.
        chosen = int_or_none(form.successor.data)
        offered = {value for value, _label in form.successor.choices if value}
        if chosen is None or str(chosen) not in offered:
            form.successor.errors = [refusals.message(StationRefused("successor_out_of_scope"))]
            return _close_page(station, form, status=422)
        successor = db.session.get(Station, chosen)
    try:
        lifecycle.close_station(current_user, station, note=form.note.data or "", successor=successor, now=utcnow())
        db.session.commit()
    except StationRefused as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _close_page(station_or_404(code), form, status=422)
    forget_station_pages(code)
    flash(_("The station is closed. Its posters now lead to the page that says where to go."))
    return redirect(url_for("manage.station_close_form", code=code), 303)


@bp.post("/stations/<code>/reopen")
@login_required
def station_reopen(code: str):
    station = station_or_404(code)
    require_or_abort(P.STATION_CLOSE, station)
    try:
        lifecycle.reopen_station(current_user, station, now=utcnow())
        db.session.commit()
    except StationRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("manage.station_close_form", code=code), 303)
    forget_station_pages(code)
    flash(_("The station is open again, at the same code."))
    return redirect(url_for("manage.station_close_form", code=code), 303)


# --- the posters of a whole region -------------------------------------------------------------


@bp.get("/regions/<int:region_id>/posters")
@login_required
def region_posters(region_id: int):
    region = get_or_404(Region, region_id)
    require_or_abort(P.REGION_POSTERS, region)
    raw_kind = request.args.get("kind") or ""
    if raw_kind and raw_kind not in StationKind._value2member_map_:
        abort(400)
    kind = StationKind(raw_kind) if raw_kind else None
    stations = lifecycle.region_posters(current_user, region, kind)
    return _no_store(
        render_template(
            "manage/region_posters.html",
            region=region,
            kind=kind,
            kinds=list(StationKind),
            posters=[(s, station_url(s.code)) for s in stations],
        )
    )
