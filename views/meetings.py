"""述职 meetings: /m/<code>, where the residents present rate a representative's annual
report (no account: one rating per phone by a signed cookie, and per address a room's
worth), and, for the representative and the station's overseers, the screen to show at
the meeting, a printable sheet and the QR image."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import login_required
from limits import parse_many
from sqlalchemy.exc import IntegrityError

from extensions import db, limiter
from models import ReportMeeting
from services import meetings as meeting_service
from services import refusals, rep_pages
from services.codes import normalize_meeting_code
from services.errors import MeetingRefused
from services.permissions import Permission as P
from views.forms.residents import MeetingRatingForm
from views.public import _canonical, _not_found, public_url, qr_image
from views.util import require_or_abort

bp = Blueprint("meetings", __name__)

COOKIE_DAYS = 30


def meeting_url(code: str) -> str:
    return public_url("meetings.rate", code=code)


def _meeting_or_404(code: str) -> ReportMeeting:
    canonical = normalize_meeting_code(code)
    meeting = meeting_service.find_by_code(canonical) if canonical else None
    if meeting is None:
        abort(404, description=_not_found(_("No meeting has this code. Please scan the code on the screen again.")))
    return meeting


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _token(meeting: ReportMeeting) -> str | None:
    return meeting_service.read_token(meeting, request.cookies.get(meeting_service.cookie_name(meeting)), _secret())


def _too_many(meeting: ReportMeeting) -> bool:
    """Count one rating from this address for this meeting; True once over the limit."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    address = get_remote_address()
    return not all(
        limiter.limiter.hit(item, "meeting-rating", address, meeting.code)
        for item in parse_many(current_app.config["MEETING_RATING_RATE_LIMIT"])
    )


def _page(meeting: ReportMeeting, form: MeetingRatingForm, *, status: int = 200, notice: str | None = None):
    token = _token(meeting)
    response = make_response(
        render_template(
            "meetings/rate.html",
            meeting=meeting,
            rep=meeting.representative,
            summary=rep_pages.year_summary(meeting.representative, meeting.year),
            phase=meeting_service.phase(meeting),
            given=meeting_service.rating_of(meeting, token, _secret()),
            form=form,
            notice=notice,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-store"
    if token is None:
        # The phone's one rating: a random token signed for this meeting, sent back with the form.
        response.set_cookie(
            meeting_service.cookie_name(meeting),
            meeting_service.issue_token(meeting, _secret()),
            max_age=COOKIE_DAYS * 86400,
            path=url_for("meetings.rate", code=meeting.code),
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


@bp.route("/m/<code>", methods=["GET", "POST"])
def rate(code: str):
    if (moved := _canonical(code, normalize_meeting_code, "meetings.rate")) is not None:
        return moved
    meeting = _meeting_or_404(code)
    form = MeetingRatingForm()
    if not form.is_submitted():
        return _page(meeting, MeetingRatingForm(formdata=None))
    token = _token(meeting)
    back = redirect(url_for("meetings.rate", code=meeting.code), 303)
    if meeting_service.rating_of(meeting, token, _secret()) is not None:
        return back  # a double tap, or the page sent again: the rating stands
    if not form.validate_on_submit():
        return _page(meeting, form, status=422)
    try:
        # Counted only for what could be stored: a rating sent with the page's cookie, while open.
        if token is not None and meeting_service.phase(meeting) == "open" and _too_many(meeting):
            raise MeetingRefused("too_many")
        meeting_service.rate(meeting, token, form.rating.data or "", form.comment.data or "", secret=_secret())
        db.session.commit()
    except MeetingRefused as refused:
        db.session.rollback()
        field, message = refusals.explain(refused)
        if field is not None and hasattr(form, field):
            getattr(form, field).errors = [*getattr(form, field).errors, message]
            return _page(meeting, form, status=422)
        return _page(meeting, form, status=429 if refused.code == "too_many" else 409, notice=message)
    except IntegrityError:
        # The other tap of the same phone stored it first (the token's digest is unique).
        db.session.rollback()
        if meeting_service.rating_of(meeting, token, _secret()) is None:
            raise
        return back
    flash(_("Thank you. Your rating is counted."))
    return back


# --- shown at the meeting ---------------------------------------------------------------------


def _shown(code: str) -> ReportMeeting:
    meeting = _meeting_or_404(code)
    require_or_abort(P.MEETING_SHOW, meeting)
    return meeting


@bp.get("/m/<code>/screen")
@login_required
def screen(code: str):
    """For the projector: the big code, who presents, and the ratings so far (the page
    reloads itself every few seconds, without JavaScript)."""
    meeting = _shown(code)
    counted = meeting_service.results([meeting.id])[meeting.id]
    response = make_response(
        render_template(
            "meetings/screen.html",
            meeting=meeting,
            url=meeting_url(meeting.code),
            phase=meeting_service.phase(meeting),
            results=counted,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/m/<code>/sheet")
@login_required
def sheet(code: str):
    """An A4 sheet with the code, to put on the tables or by the door."""
    meeting = _shown(code)
    when = meeting_service.when_of(meeting)
    return render_template("meetings/sheet.html", meeting=meeting, url=meeting_url(meeting.code), when=when)


@bp.get("/m/<code>/qr.<any(png, svg):fmt>")
@login_required
def qr(code: str, fmt: str):
    meeting = _shown(code)
    return qr_image(meeting_url(meeting.code), fmt, cache="private, max-age=3600")
