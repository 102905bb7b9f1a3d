"""Roster (排班) and attendance review for station managers and congress staff."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db, writes_on_get
from models import Duty, DutySlot, OfficialSession, Representative
from services import attendance as attendance_service
from services import duty as duty_service
from services import exports, inbox, notifications, refusals, station_lifecycle
from services import officials as officials_service
from services import roster as roster_service
from services.attendance import Month
from services.clock import local_today, to_local
from services.errors import CheckInRefused
from services.limits import SEARCH_QUERY_MAX
from services.permissions import Permission as P
from services.permissions import can, role_of, roles_for
from services.roster import RosterRefused
from services.stations import representatives_in_order
from views import auth as auth_views
from views import duty as duty_views
from views.forms.manage import ConfirmDutyForm, SlotForm, SlotRemoveForm, VoidDutyForm
from views.manage import bp
from views.util import download, get_or_404, require_or_abort, safe_next

# --- helpers -------------------------------------------------------------------------------


def require_back_office() -> None:
    """Anonymous → the login page; a role that looks after no station → 403."""
    require_or_abort(P.MANAGE_HOME)


def station_or_404(code: str):
    station = roster_service.station_by_code(code)
    if station is None:
        abort(404)
    return station


def requested_month() -> Month:
    return Month.parse(request.args.get("month"), Month.of(local_today()))


# --- the back-office home ------------------------------------------------------------------


# The counts above the stations, in order; each links to the inbox filter it counts.
HOME_BOX_TITLES = {
    "take": _l("To take up"),
    "dispatch": _l("To dispatch"),
    "handle": _l("At the units"),
    "overdue": _l("Overdue"),
    "soon": _l("Due within two working days"),
    "escalated": _l("Escalated"),
}
HOME_BOX_TERMS = {"take": "定单", "dispatch": "派单", "handle": "办单"}


@bp.get("/", strict_slashes=False)
@login_required
def home():
    require_back_office()
    q = (request.args.get("q") or "").strip()[:SEARCH_QUERY_MAX]
    listing = roster_service.overseen_stations(current_user, q)
    counts = inbox.home_counts(current_user)
    boxes = [
        (key, title, HOME_BOX_TERMS.get(key, ""), counts[key], inbox.HOME_BOXES[key].as_args())
        for key, title in HOME_BOX_TITLES.items()
    ]
    not_sent = notifications.count_not_sent(current_user) if can(current_user, P.NOTIFICATIONS_NOT_SENT) else 0
    poster_regions = (
        station_lifecycle.regions_with_stations(current_user)
        if role_of(current_user) in roles_for(P.REGION_POSTERS)
        else []
    )
    return render_template(
        "manage/home.html",
        listing=listing,
        q=q,
        can=can,
        boxes=boxes,
        not_sent=not_sent,
        poster_regions=poster_regions,
    )


# --- roster ---------------------------------------------------------------------------------


def _slot_form(station) -> SlotForm:
    form = SlotForm()
    form.representative.choices = [
        (rep.id, f"{rep.name} · {rep.level.label}") for rep in representatives_in_order(station)
    ]
    return form


def _render_roster(station, form: SlotForm, status: int = 200):
    today = local_today()
    days = roster_service.upcoming(station, today)
    series = {s.series for _day, slots in days for s in slots if s.series}
    return (
        render_template(
            "manage/roster.html",
            station=station,
            form=form,
            days=days,
            series_left=roster_service.series_sizes(station, series, today),
            today=today,
            has_ended=roster_service.has_ended,
            remove_form=SlotRemoveForm(formdata=None),
        ),
        status,
    )


@bp.get("/stations/<code>/roster")
@login_required
def roster(code: str):
    station = station_or_404(code)
    require_or_abort(P.ROSTER_MANAGE, station)
    form = _slot_form(station)
    if not form.day.data:
        form.day.data = local_today()
    return _render_roster(station, form)


@bp.post("/stations/<code>/roster")
@login_required
def roster_add(code: str):
    station = station_or_404(code)
    require_or_abort(P.ROSTER_MANAGE, station)
    form = _slot_form(station)
    if not form.validate_on_submit():
        return _render_roster(station, form, 422)
    rep = next(r for r in station.representatives if r.id == form.representative.data)
    try:
        slots = roster_service.add_slots(
            current_user,
            station,
            rep,
            form.day.data,
            form.starts_at.data,
            form.ends_at.data,
            repeat_weeks=form.repeat_weeks.data,
        )
        db.session.commit()
    except RosterRefused as refused:
        db.session.rollback()
        field_name, message = refusals.explain(refused)
        field = getattr(form, field_name or "day")
        field.errors = [*field.errors, message]
        return _render_roster(station, form, 422)
    flash(_("%(name)s is on the roster: %(n)d slot(s) added.", name=rep.name, n=len(slots)))
    return redirect(url_for("manage.roster", code=station.code), 303)


@bp.post("/stations/<code>/roster/<int:slot_id>/delete")
@login_required
def roster_remove(code: str, slot_id: int):
    station = station_or_404(code)
    require_or_abort(P.ROSTER_MANAGE, station)
    slot = db.session.get(DutySlot, slot_id)
    if slot is None or slot.station_id != station.id:
        abort(404)
    form = SlotRemoveForm()
    try:
        removed = roster_service.remove_slots(current_user, station, slot, whole_series=form.whole_series)
        db.session.commit()
    except RosterRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused, "remove"))
        return redirect(url_for("manage.roster", code=station.code), 303)
    flash(_("Removed %(n)d slot(s) from the roster.", n=removed))
    return redirect(url_for("manage.roster", code=station.code), 303)


# --- attendance review -------------------------------------------------------------------------


@bp.get("/stations/<code>/attendance")
@login_required
def attendance(code: str):
    station = station_or_404(code)
    require_or_abort(P.ATTENDANCE_VIEW, station)
    month = requested_month()
    att = attendance_service.month_attendance(station, month)
    return render_template(
        "manage/attendance.html",
        station=station,
        att=att,
        month=month,
        this_month=Month.of(local_today()),
        may_review=can(current_user, P.DUTY_REVIEW, station),
        confirm_form=ConfirmDutyForm(formdata=None),
        void_form=VoidDutyForm(formdata=None),
        may_export=can(current_user, P.ATTENDANCE_EXPORT, station),
        reason_label=attendance_service.reason_label,
        official_sessions=officials_service.station_sessions(station, *month.utc_bounds()),
    )


@bp.get("/representatives/<int:rep_id>/report/<int:year>")
@login_required
def rep_report(rep_id: int, year: int):
    """A representative's 述职 report, for the managers and staff who oversee one of their
    stations (the rule that lets them read the representative's file)."""
    rep = get_or_404(Representative, rep_id)
    back = request.args.get("next")
    return duty_views.report_page(rep, year, back=safe_next(back, url_for("manage.home")))


def _back_to_review(visit: Duty | OfficialSession):
    month = Month.of(to_local(visit.checked_in_at).date())
    anchor = f"duty-{visit.id}" if isinstance(visit, Duty) else f"session-{visit.id}"
    return redirect(url_for("manage.attendance", code=visit.station.code, month=str(month), _anchor=anchor), 303)


def _review(model: type[Duty] | type[OfficialSession], visit_id: int, act, done_message: str):
    """Confirm or void: one permission, one service call, one commit, back to the review."""
    visit = get_or_404(model, visit_id)
    require_or_abort(P.DUTY_REVIEW, visit)
    name = visit.representative.name if isinstance(visit, Duty) else visit.official.name
    try:
        act(visit)
        db.session.commit()
    except CheckInRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return _back_to_review(visit)
    flash(done_message % {"name": name})
    return _back_to_review(visit)


@bp.post("/duties/<int:duty_id>/confirm")
@login_required
def duty_confirm(duty_id: int):
    form = ConfirmDutyForm()
    return _review(
        Duty,
        duty_id,
        lambda duty: duty_service.confirm(current_user, duty, form.note.data or ""),
        _("Duty of %(name)s confirmed."),
    )


@bp.post("/duties/<int:duty_id>/void")
@login_required
def duty_void(duty_id: int):
    form = VoidDutyForm()
    return _review(
        Duty,
        duty_id,
        lambda duty: duty_service.void(current_user, duty, form.reason.data or ""),
        _("Duty of %(name)s voided. The record stays, marked voided."),
    )


@bp.post("/official-sessions/<int:session_id>/void")
@login_required
def official_session_void(session_id: int):
    form = VoidDutyForm()
    return _review(
        OfficialSession,
        session_id,
        lambda session: duty_service.void(current_user, session, form.reason.data or ""),
        _("The session of %(name)s is voided. The record stays, marked voided."),
    )


# --- exports --------------------------------------------------------------------------------------

EXPORT_TYPES = {
    "xlsx": (exports.XLSX_TYPE, exports.attendance_xlsx),
    "csv": (exports.CSV_TYPE, exports.attendance_csv),
}


@bp.get("/stations/<code>/attendance.<any(xlsx, csv):fmt>")
@writes_on_get
@login_required
def attendance_export(code: str, fmt: str):
    station = station_or_404(code)
    require_or_abort(P.ATTENDANCE_EXPORT, station)
    if auth_views.password_needed():
        return auth_views.ask_password(request.full_path)
    att = attendance_service.month_attendance(station, requested_month())
    mimetype, build = EXPORT_TYPES[fmt]
    body = build(att)
    exports.record_export(current_user, att, fmt)
    db.session.commit()
    return download(body, mimetype, exports.filenames(station, att, fmt))
