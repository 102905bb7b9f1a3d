"""Officials at the station (领导进站): check in and out, their record, and 现场办公 on the
concerns of the station they are checked in at."""

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db, limiter
from models import Concern, OfficialSession
from models.enums import ConcernAction
from services import clock, refusals
from services import duty as duty_service
from services import officials as officials_service
from services import stations as station_service
from services.errors import CheckInRefused, DomainError
from services.figures import FIRST_YEAR, LAST_YEAR
from services.officials import OfficialRefused
from services.permissions import Permission as P
from services.permissions import can, concern_permission, official_of
from views.forms.duty import CheckInForm, CheckOutForm, OnSiteForm
from views.util import get_or_404, require_or_abort, safe_next

bp = Blueprint("officials", __name__)


def official_panel(station) -> dict:
    """What a signed-in official sees on a station page: the check-in button, or their
    open session (here: the way to the station's new concerns; elsewhere: check out first)."""
    official = official_of(current_user) if current_user.is_authenticated else None
    if official is None:
        return {}
    current = duty_service.open_session(official)
    if current is not None:
        return {"official": official, "session": current, "checkout_form": CheckOutForm(formdata=None)}
    form = CheckInForm(formdata=None, nonce=secrets.token_urlsafe(16), kiosk_token=request.args.get("k"))
    return {"official": official, "session": None, "check_in_form": form}


@bp.post("/s/<code>/official-check-in")
@login_required
@limiter.limit("30 per minute")
def check_in(code: str):
    station = station_service.get_active_station(code, with_representatives=False)
    if station is None:
        abort(404)
    require_or_abort(P.OFFICIAL_CHECK_IN, station)
    official = official_of(current_user)
    assert official is not None  # the permission says so
    form = CheckInForm()
    try:
        session = duty_service.check_in_official(
            official,
            station,
            nonce=form.nonce.data,
            proof=form.proof(),
            secret=current_app.config["SECRET_KEY"],
        )
        checked_in_at = session.checked_in_at
        db.session.commit()
    except CheckInRefused as refused:
        message = refusals.message(refused)
        if refused.code == "already_open":
            other = refused.details["session"]
            message = _("You are still checked in at %(name)s. Check out there first.", name=other.station.name)
        db.session.commit()  # the refused attempt stays in the audit log
        flash(message)
        return redirect(url_for("public.station", code=station.code), 303)
    flash(
        _(
            "Checked in at %(time)s. The station's new concerns are on your page.",
            time=clock.to_local(checked_in_at).strftime("%H:%M"),
        )
    )
    return redirect(url_for("officials.me"), 303)


@bp.post("/official/sessions/<int:session_id>/check-out")
@login_required
def check_out(session_id: int):
    session = get_or_404(OfficialSession, session_id)
    require_or_abort(P.OFFICIAL_CHECK_OUT, session)
    official = official_of(current_user)
    assert official is not None
    form = CheckOutForm()
    back = redirect(safe_next(form.next.data, url_for("officials.me")), 303)
    try:
        duty_service.check_out_official(
            official, session, residents_received=form.residents(), notes=form.notes.data or ""
        )
        db.session.commit()
    except CheckInRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return back
    flash(_("Checked out. The session is in your record."))
    return back


@bp.get("/official")
@login_required
def me():
    require_or_abort(P.OFFICIAL_OWN_RECORD)
    return _render_me()


def _render_me(form: OnSiteForm | None = None, failed: int | None = None, error: str = "", status: int = 200):
    """The official's page: their open session with the station's new concerns (each with
    the two 现场办公 forms), coming office hours, and the year's sessions. After a refusal,
    the concern that failed keeps what was typed, with the reason beside it."""
    official = official_of(current_user)
    assert official is not None
    year = request.args.get("year", type=int)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        year = clock.local_today().year
    record = officials_service.record(official, year)
    session = record.open_session
    concerns = officials_service.new_concerns_at(session.station) if session is not None else []
    return (
        render_template(
            "officials/me.html",
            official=official,
            record=record,
            year=year,
            concerns=concerns,
            on_site_form=OnSiteForm(formdata=None),
            failed_form=form,
            failed=failed,
            error=error,
            checkout_form=CheckOutForm(formdata=None),
        ),
        status,
    )


@bp.post("/official/concerns/<int:concern_id>/<any(dispatch, answer):how>")
@login_required
def take(concern_id: int, how: str):
    """现场办公: take the concern up and send it to my unit, or answer it on the spot."""
    concern = get_or_404(Concern, concern_id)
    official = official_of(current_user)
    form = OnSiteForm()
    if not form.validate_on_submit():
        abort(400)
    if official is not None and not can(current_user, concern_permission(ConcernAction.OFFICIAL_TAKE), concern):
        # Checked out meanwhile, or another station's concern: say which, keep the text.
        session = duty_service.open_session(official)
        code = "not_checked_in" if session is None else "other_station"
        return _render_me(form, concern_id, refusals.message(OfficialRefused(code)), 409)
    require_or_abort(concern_permission(ConcernAction.OFFICIAL_TAKE), concern)
    assert official is not None
    code = concern.tracking_code
    try:
        officials_service.take_on_site(
            official,
            duty_service.open_session(official),
            concern,
            answer=(form.answer.data or "") if how == "answer" else None,
            note=(form.note.data or "") if how == "dispatch" else "",
            expected_version=form.expected_version(),
        )
        unit_name = official.unit.name
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        return _render_me(form, concern_id, refusals.message(refused), 409 if refused.code == "changed" else 422)
    if how == "dispatch":
        flash(_("Concern %(code)s is taken up and sent to %(unit)s.", code=code, unit=unit_name))
    else:
        flash(
            _(
                "Concern %(code)s is answered on the spot. The station's representative or manager checks the"
                " answer next, then the resident rates it.",
                code=code,
            )
        )
    return redirect(url_for("officials.me"), 303)
