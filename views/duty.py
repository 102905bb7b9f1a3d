"""Representatives on duty: check in from the station page, check out, 履职档案."""

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from extensions import db, limiter, login_manager
from models import Duty, utcnow
from models.enums import Role
from services import bookings as booking_service
from services import clock, inbox, refusals, reports
from services import duty as duty_service
from services import meetings as meeting_service
from services import stations as station_service
from services.errors import CheckInRefused
from services.figures import FIRST_YEAR, LAST_YEAR
from services.permissions import Permission as P
from views.forms.bookings import MarkForm
from views.forms.duty import CheckInForm, CheckOutForm
from views.manage.figures import days, percent
from views.util import get_or_404, require_or_abort, safe_next

bp = Blueprint("duty", __name__)


def my_rep():
    if not current_user.is_authenticated or current_user.role != Role.REPRESENTATIVE:
        return None
    return current_user.representative


def station_panel(station) -> dict:
    """What a signed-in representative sees on a station page: the check-in button,
    or the check-out form of their open duty."""
    rep = my_rep()
    if rep is None:
        return {}
    current = duty_service.open_duty(rep)
    if current is not None:
        return {"rep": rep, **checkout_panel(current)}
    if not station_service.serving(rep):
        return {"rep": rep, "open_duty": None, "term_ended": True}
    form = CheckInForm(formdata=None, nonce=secrets.token_urlsafe(16), kiosk_token=request.args.get("k"))
    return {"rep": rep, "open_duty": None, "check_in_form": form}


def checkout_panel(duty: Duty, *, count_linked: bool = True) -> dict:
    """An open duty and its check-out form. The count of residents starts at the number of
    concerns filed during the duty (at 0 on the performance file, which skips that query)."""
    residents = (duty_service.linked_concerns(duty) or 0) if count_linked else 0
    return {"open_duty": duty, "checkout_form": CheckOutForm(formdata=None, residents_received=residents)}


@bp.before_app_request
def kiosk_scan_needs_sign_in():
    """A station tablet's code (/s/<code>?k=…) is for a representative to check in with:
    scanned while signed out, it leads to the sign-in page, which comes back to the very
    same address, code included. (Residents' ordinary scans carry no `k`.) Handled here,
    before the station page, because that page is cached for signed-out visitors and the
    code must never be cached into a page that others get."""
    if request.endpoint == "public.station" and request.args.get("k") and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.post("/s/<code>/check-in")
@login_required
@limiter.limit("30 per minute")
def check_in(code: str):
    station = station_service.get_active_station(code, with_representatives=False)
    if station is None:
        abort(404)
    require_or_abort(P.DUTY_CHECK_IN, station)
    rep = my_rep()
    form = CheckInForm()
    nonce = form.nonce.data
    try:
        duty = duty_service.check_in(
            rep,
            station,
            nonce=nonce,
            proof=form.proof(),
            secret=current_app.config["SECRET_KEY"],
            allow_pending=form.pending_allowed,
        )
        # Read before the commit: afterwards each would be loaded again (and on SQLite
        # each load in a POST takes the write lock again).
        station_code, pending, checked_in_at = station.code, duty.pending_reason, duty.checked_in_at
        db.session.commit()
    except CheckInRefused as refused:
        page = _refused_page(station, refused, form)  # rendered before the commit, for the same reason
        db.session.commit()  # the refused attempt is kept for the manager
        return page
    except IntegrityError:
        # The unique indexes refused a duty that a simultaneous request made first (the
        # service handles this itself; this is the last guard): never a server error.
        db.session.rollback()
        duty = duty_service.duty_by_nonce(nonce)
        if duty is None or duty.representative_id != rep.id:
            current = duty_service.open_duty(rep)
            if current is None:
                raise
            return _refused_page(station, CheckInRefused("already_open", duty=current), form)
        station_code, pending, checked_in_at = station.code, duty.pending_reason, duty.checked_in_at
    if pending:
        flash(_("Checked in, waiting for the station manager to confirm."))
    else:
        flash(_("Checked in at %(time)s. Thank you for serving on site.", time=_hhmm(checked_in_at)))
    return redirect(url_for("public.station", code=station_code), 303)


def _refused_page(station, refused: CheckInRefused, form: CheckInForm):
    if refused.code == "already_open":
        other = refused.details["duty"]
        return render_template("duty/already_open.html", station=station, duty=other, panel=checkout_panel(other)), 409
    return (
        render_template(
            "duty/refused.html",
            station=station,
            code=refused.code,
            message=refusals.message(refused),
            pendable=refused.code in duty_service.PENDABLE,
            form=form,
        ),
        422,
    )


def _hhmm(moment) -> str:
    return clock.to_local(moment).strftime("%H:%M")


@bp.post("/duty/<int:duty_id>/check-out")
@login_required
def check_out(duty_id: int):
    duty = get_or_404(Duty, duty_id)
    require_or_abort(P.DUTY_CHECK_OUT, duty)
    form = CheckOutForm()
    back = redirect(safe_next(form.next.data, url_for("duty.me")), 303)
    try:
        duty_service.check_out(my_rep(), duty, residents_received=form.residents(), notes=form.notes.data or "")
        db.session.commit()
    except CheckInRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return back
    flash(_("Checked out. The duty is in your performance file."))
    return back


@bp.get("/me")
@login_required
def me():
    rep = my_rep()
    if rep is None:
        abort(403)
    require_or_abort(P.DUTY_VIEW_FILE, rep)
    # A year the calendar does not cover (0, 10000, -2026) shows this year, as a missing one does.
    year = request.args.get("year", type=int)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        year = clock.local_today().year
    boxes = {box: inbox.count(current_user, inbox.InboxFilter(box=box)) for box in ("take", "supervise")}
    file = reports.performance_file(rep, year)
    panel = checkout_panel(file.open_duty, count_linked=False) if file.open_duty else None
    return render_template(
        "duty/me.html",
        rep=rep,
        file=file,
        year=year,
        concern_boxes=boxes,
        panel=panel,
        bookings=booking_service.rep_bookings(rep, clock.local_today()),
        meetings=meeting_service.upcoming_for(rep),
        today=clock.local_today(),
        mark_form=MarkForm(formdata=None),
    )


@bp.get("/me/report/<int:year>")
@login_required
def annual_report(year: int):
    rep = my_rep()
    if rep is None:
        abort(403)
    return report_page(rep, year, back=url_for("duty.me", year=year))


def report_page(rep, year: int, *, back: str):
    """The 述职 report of `rep` for `year`, for whoever may read the representative's file:
    the representative (/me/report) and the staff who oversee them (/manage/…/report)."""
    require_or_abort(P.DUTY_VIEW_FILE, rep)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    presented = meeting_service.report_meetings(rep, year)
    return render_template(
        "duty/report.html",
        rep=rep,
        report=reports.annual_report(rep, year),
        meetings=presented,
        meetings_total=meeting_service.overall(presented),
        now=utcnow(),
        year=year,
        back=back,
        percent=percent,
        days=days,
    )
