"""述职 meetings in the back office: a station's meetings, scheduling one, moving or
cancelling one before it starts. Whoever looks after the station (permissions: meeting.manage)."""

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import ReportMeeting, Station
from models.enums import MeetingAction
from services import meetings as meeting_service
from services import refusals
from services.clock import local_today
from services.errors import DomainError
from services.permissions import Permission as P
from services.stations import representatives_in_order
from views.forms import StepForm
from views.forms.manage import MeetingForm, MeetingTimeForm
from views.manage import bp
from views.manage.duty import station_or_404
from views.manage.figures import percent
from views.util import get_or_404, require_or_abort


def _station(code: str) -> Station:
    station = station_or_404(code)
    require_or_abort(P.MEETING_MANAGE, station)
    return station


def _meeting(code: str, meeting_id: int) -> tuple[Station, ReportMeeting]:
    station = _station(code)
    meeting = get_or_404(ReportMeeting, meeting_id)
    if meeting.station_id != station.id:
        abort(404)
    return station, meeting


def _form(station: Station, form: MeetingForm | None = None) -> MeetingForm:
    form = form or MeetingForm(formdata=None, year=local_today().year)
    form.representative.choices = [(r.id, r.name) for r in representatives_in_order(station)]
    return form


def _refused_on(form, refused: DomainError) -> None:
    field, message = refusals.explain(refused, refusals.MEETING)
    if field is not None and hasattr(form, field):
        getattr(form, field).errors = [*getattr(form, field).errors, message]
    else:
        flash(message)


def _page(station: Station, form: MeetingForm | None = None, *, status: int = 200, moving: dict | None = None):
    meetings = meeting_service.station_meetings(station)
    # The steps MEETING_FLOW's table allows on each meeting now, for this user.
    steps = {m.id: {spec.action: spec for spec in meeting_service.steps_for(m, current_user)} for m in meetings}
    move_forms = {
        m.id: MeetingTimeForm(formdata=None, version=m.version, **vars(meeting_service.when_of(m)))
        for m in meetings
        if MeetingAction.MOVE in steps[m.id]
    }
    move_forms.update(moving or {})
    response = make_response(
        render_template(
            "manage/meetings.html",
            station=station,
            form=_form(station, form),
            meetings=meetings,
            results=meeting_service.results([m.id for m in meetings]),
            phases={m.id: meeting_service.phase(m) for m in meetings},
            move_forms=move_forms,
            steps=steps,
            step_form=StepForm(formdata=None),
            percent=percent,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/stations/<code>/meetings")
@login_required
def meetings(code: str):
    return _page(_station(code))


@bp.post("/stations/<code>/meetings")
@login_required
def meeting_add(code: str):
    station = _station(code)
    form = _form(station, MeetingForm())
    if not form.validate():
        return _page(station, form, status=422)
    rep = next(r for r in station.representatives if r.id == form.representative.data)
    when = meeting_service.When(form.day.data, form.starts_at.data, form.ends_at.data)
    try:
        meeting_service.schedule(current_user, station, rep, form.year.data, when)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        _refused_on(form, refused)
        return _page(station_or_404(code), form, status=422)
    flash(_("The meeting is scheduled. Show its code at the meeting."))
    return redirect(url_for("manage.meetings", code=code) + "#meetings-h", 303)


@bp.post("/stations/<code>/meetings/<int:meeting_id>/move")
@login_required
def meeting_move(code: str, meeting_id: int):
    station, meeting = _meeting(code, meeting_id)
    form = MeetingTimeForm()
    if not form.validate():
        return _page(station, status=422, moving={meeting.id: form})
    when = meeting_service.When(form.day.data, form.starts_at.data, form.ends_at.data)
    try:
        meeting_service.move(current_user, meeting, when, expected_version=form.version.data)
        db.session.commit()
    except DomainError as refused:  # the table's (TransitionRefused) or the window's (MeetingRefused)
        db.session.rollback()
        _refused_on(form, refused)
        station, meeting = _meeting(code, meeting_id)
        return _page(station, status=422, moving={meeting.id: form})
    flash(str(meeting_service.MEETING_FLOW[MeetingAction.MOVE].done))
    return redirect(url_for("manage.meetings", code=code) + "#meetings-h", 303)


@bp.post("/stations/<code>/meetings/<int:meeting_id>/cancel")
@login_required
def meeting_cancel(code: str, meeting_id: int):
    _station_row, meeting = _meeting(code, meeting_id)
    form = StepForm()
    if not form.validate():
        abort(400)
    try:
        meeting_service.cancel(current_user, meeting, expected_version=form.version.data)
        db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        flash(refusals.message(refused, refusals.MEETING))
    else:
        flash(str(meeting_service.MEETING_FLOW[MeetingAction.CANCEL].done))
    return redirect(url_for("manage.meetings", code=code) + "#meetings-h", 303)
