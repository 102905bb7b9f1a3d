"""Booked visits (预约接待) in the back office: a station's bookings of a day, marking who
came, capacities, and calling a slot's visits off. The representative marks theirs from
their own page (/me), through the same buttons."""

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import Booking, DutySlot, utcnow
from models.enums import BookingStatus
from services import bookings as booking_service
from services import refusals
from services.bookings import BookingRefused
from services.clock import local_today
from services.permissions import Permission as P
from services.permissions import can
from services.workdays import FIRST_YEAR, LAST_YEAR
from views.forms import ButtonForm
from views.forms.bookings import CapacityForm, MarkForm
from views.manage import bp
from views.manage.duty import station_or_404
from views.util import get_or_404, require_or_abort, safe_next


def _day_arg() -> date:
    raw = request.args.get("day") or ""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return local_today()
    # A day the calendar does not cover (a typo, 9999-12-31) shows today.
    return day if FIRST_YEAR <= day.year < LAST_YEAR else local_today()


def _back(station_code: str, day: date):
    return redirect(url_for("manage.bookings", code=station_code, day=day.isoformat()), 303)


@bp.get("/stations/<code>/bookings")
@login_required
def bookings(code: str):
    station = station_or_404(code)
    require_or_abort(P.BOOKING_DAY_VIEW, station)
    day = _day_arg()
    return render_template(
        "manage/bookings.html",
        station=station,
        day=day,
        today=local_today(),
        schedule=booking_service.day_schedule(station, day),
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        capacity_form=CapacityForm(formdata=None),
        station_capacity_form=CapacityForm(formdata=None, capacity=station.booking_capacity),
        mark_form=MarkForm(formdata=None),
        call_off_form=ButtonForm(formdata=None),
        may_manage=can(current_user, P.BOOKING_MANAGE, station),
        started=lambda slot: booking_service.starts_utc(booking_service.SlotBookable(slot)) <= utcnow(),
    )


@bp.post("/bookings/<int:booking_id>/mark")
@login_required
def booking_mark(booking_id: int):
    booking = get_or_404(Booking, booking_id)
    require_or_abort(P.BOOKING_MARK, booking)
    form = MarkForm()
    back = safe_next(request.args.get("next"), url_for("manage.bookings", code=booking.station.code, day=booking.day))
    if not form.validate_on_submit():
        abort(400)
    try:
        status = BookingStatus(form.status.data or "")
    except ValueError:
        status = BookingStatus.BOOKED  # refused as bad_mark below
    try:
        booking_service.mark(current_user, booking, status)
        db.session.commit()
    except BookingRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(back, 303)
    flash(_("Recorded: %(status)s.", status=status.label))
    return redirect(back, 303)


def _slot_of(station, slot_id: int) -> DutySlot:
    slot = db.session.get(DutySlot, slot_id)
    if slot is None or slot.station_id != station.id:
        abort(404)
    return slot


@bp.post("/stations/<code>/slots/<int:slot_id>/capacity")
@login_required
def slot_capacity(code: str, slot_id: int):
    station = station_or_404(code)
    require_or_abort(P.BOOKING_MANAGE, station)
    slot = _slot_of(station, slot_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.capacity.errors) or _("Please check this field."))
        return _back(station.code, slot.day)
    try:
        booking_service.set_slot_capacity(current_user, slot, form.capacity.data)
        db.session.commit()
    except BookingRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return _back(station.code, slot.day)
    flash(_("Places for this slot: %(n)d.", n=booking_service.slot_capacity(slot)))
    return _back(station.code, slot.day)


@bp.post("/stations/<code>/booking-capacity")
@login_required
def station_capacity(code: str):
    station = station_or_404(code)
    require_or_abort(P.BOOKING_MANAGE, station)
    form = CapacityForm()
    day = _day_arg()
    if not form.validate_on_submit() or form.capacity.data is None:
        flash(" ".join(str(e) for e in form.capacity.errors) or _("Please check this field."))
        return _back(station.code, day)
    try:
        booking_service.set_station_capacity(current_user, station, form.capacity.data)
        db.session.commit()
    except BookingRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return _back(station.code, day)
    flash(_("Places per slot at this station: %(n)d.", n=station.booking_capacity))
    return _back(station.code, day)


@bp.post("/stations/<code>/slots/<int:slot_id>/call-off")
@login_required
def slot_call_off(code: str, slot_id: int):
    station = station_or_404(code)
    require_or_abort(P.BOOKING_MANAGE, station)
    slot = _slot_of(station, slot_id)
    day = slot.day
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        called_off = booking_service.call_off_slot(current_user, station, slot)
        db.session.commit()
    except BookingRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return _back(station.code, day)
    flash(_("%(n)d booked visit(s) cancelled; each resident is told by SMS.", n=len(called_off)))
    return _back(station.code, day)
