"""Booking a visit (预约接待), as residents see it: /s/<code>/book (a station's roster slots
and reception days), /r/<code>/book (the same, filtered to one representative, at their
stations), and /b/<code> with its cancel button. The booking code in the address is the
only credential, as a tracking code is."""

import re
import secrets
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from extensions import db, limiter
from models import Booking, Representative, Station
from models.enums import BookingStatus
from services import bookings as booking_service
from services import refusals, rep_pages
from services.bookings import BookingRefused
from services.clock import local_today
from services.codes import format_tracking_code, normalize_booking_code, normalize_rep_code, normalize_station_code
from services.privacy import mask_mobile, mask_name
from views.forms import ButtonForm
from views.forms.bookings import BookingForm
from views.public import _canonical, _not_found, _rep_or_404, _station_for, public_url

bp = Blueprint("bookings", __name__)


def _choice_label(choice: booking_service.Choice, *, with_station: bool = False) -> str:
    thing = choice.bookable
    when = f"{format_date(thing.day, 'M月d日 EEE')} {thing.starts_at:%H:%M}–{thing.ends_at:%H:%M}"
    places = _("fully booked") if choice.left <= 0 else _("%(n)d place(s) left", n=choice.left)
    who = "、".join(r.name for r in thing.representatives)
    parts = [when]
    if isinstance(thing, booking_service.ReceptionBookable):
        parts.append(thing.kind.label)
    parts += [who, places]
    if with_station:
        parts.insert(1, thing.station.name)
    return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class _Where:
    """Where the form books: one station (/s/<code>/book), or one representative at their
    stations (/r/<code>/book)."""

    stations: list[Station]
    rep: Representative | None = None

    def choices(self) -> list[booking_service.Choice]:
        found = [c for st in self.stations for c in booking_service.choices(st, rep=self.rep)]
        return sorted(found, key=lambda c: (c.day, c.bookable.starts_at, c.bookable.station.id, c.key))

    def bookable(self, key: str | None):
        found = booking_service.bookable_by_key(key, rep=self.rep)
        if found is None or found.station.id not in {st.id for st in self.stations}:
            return None
        return found


def _submission_key(form: BookingForm) -> str:
    key = form.submission_key.data or ""
    return key if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key) else ""


def _form_page(where: _Where, form: BookingForm, choices, *, status: int = 200, notice: str | None = None):
    if not _submission_key(form):
        form.submission_key.data = secrets.token_urlsafe(24)
    several = len(where.stations) > 1
    response = make_response(
        render_template(
            "bookings/form.html",
            station=where.stations[0] if where.stations else None,
            rep=where.rep,
            form=form,
            choices=choices,
            labels={c.key: _choice_label(c, with_station=several) for c in choices},
            notice=notice,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/s/<code>/book", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], methods=["POST"])
def book(code: str):
    if (moved := _canonical(code, normalize_station_code, "bookings.book")) is not None:
        return moved
    # A station closed since the form was opened books nothing: its page says where to go now.
    closed_status = 410 if request.method == "POST" else 200
    st, instead = _station_for(code, with_representatives=False, closed_status=closed_status)
    if instead is not None:
        return instead
    assert st is not None
    return _book(_Where([st]))


@bp.route("/r/<code>/book", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], methods=["POST"])
def rep_book(code: str):
    """Booking from a representative's page: their roster slots and the reception days
    where they receive, at their stations; the same form and rules."""
    if (moved := _canonical(code, normalize_rep_code, "bookings.rep_book")) is not None:
        return moved
    rep = _rep_or_404(code)
    serving = rep.serving_on(local_today())
    return _book(_Where(rep_pages.active_stations(rep) if serving else [], rep))


def _book(where: _Where):
    choices = where.choices()
    form = BookingForm()
    form.slot.choices = [(c.key, _choice_label(c)) for c in choices if c.left > 0]
    if not form.is_submitted():
        return _form_page(where, form, choices)
    key = _submission_key(form)
    done = booking_service.find_by_submission_key(key)
    if done is not None:  # a double tap, or the page sent again
        return redirect(url_for("bookings.show", code=done.code), 303)
    if form.homepage.data:
        notice = _("Your submission looked automated and was not accepted.")
        return _form_page(where, form, choices, status=400, notice=notice)
    if not form.validate_on_submit():
        return _form_page(where, form, choices, status=422)
    bookable = where.bookable(form.slot.data)
    data = booking_service.BookingInput(
        name=form.name.data or "", mobile=form.mobile.data or "", subject=form.subject.data or "", consent=True
    )
    try:
        if bookable is None:
            raise BookingRefused("not_bookable")
        booking = booking_service.book(bookable, data, submission_key=key or None)
        booking_code = booking.code
        db.session.commit()
    except BookingRefused as refused:
        db.session.rollback()
        return _refused(where, form, refused)
    except IntegrityError:
        # Lost a race: the same form's other tap made it, or someone took the last place.
        db.session.rollback()
        done = booking_service.find_by_submission_key(key)
        if done is not None:
            return redirect(url_for("bookings.show", code=done.code), 303)
        return _refused(where, form, BookingRefused("full"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("booking form: writing failed, the form comes back (503): %s", exc)
        notice = _(
            "The service is very busy and your booking could not be saved just now. Please submit again in a "
            "moment: everything you typed is still here."
        )
        return _form_page(where, form, where.choices(), status=503, notice=notice)
    return redirect(url_for("bookings.show", code=booking_code), 303)


def _refused(where: _Where, form: BookingForm, refused: BookingRefused):
    field, message = refusals.explain(refused)
    target = getattr(form, field) if field and hasattr(form, field) else None
    choices = where.choices()
    form.slot.choices = [(c.key, _choice_label(c)) for c in choices if c.left > 0]
    if target is not None:
        target.errors = [*target.errors, message]
        return _form_page(where, form, choices, status=422)
    return _form_page(where, form, choices, status=422, notice=message)


def _booking_or_404(code: str) -> Booking:
    canonical = normalize_booking_code(code)
    booking = booking_service.find_by_code(canonical) if canonical else None
    if booking is None:
        abort(404, description=_not_found(_("No booking has this code. Please check it and try again.")))
    return booking


@bp.get("/b/<code>")
def show(code: str):
    if (moved := _canonical(code, normalize_booking_code, "bookings.show")) is not None:
        return moved
    booking = _booking_or_404(code)
    response = make_response(
        render_template(
            "bookings/show.html",
            booking=booking,
            code_display=format_tracking_code(booking.code),
            url=public_url("bookings.show", code=booking.code),
            masked_name=mask_name(booking.name),
            masked_mobile=mask_mobile(booking.mobile),
            can_cancel=booking_service.may_cancel(booking),
            cancel_form=ButtonForm(formdata=None),
        )
    )
    # The page is the resident's key to the booking: no browser or proxy keeps it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/b/<code>/cancel")
def cancel(code: str):
    booking = _booking_or_404(code)
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    if booking.status != BookingStatus.BOOKED:  # a double tap
        flash(refusals.message(BookingRefused("not_booked")))
        return redirect(url_for("bookings.show", code=booking.code), 303)
    try:
        booking_service.cancel(booking)
        db.session.commit()
    except BookingRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(url_for("bookings.show", code=booking.code), 303)
    flash(_("Your booking has been cancelled. The place is free for someone else."))
    return redirect(url_for("bookings.show", code=booking.code), 303)
