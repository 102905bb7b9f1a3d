"""/kiosk: the station tablet, a paired device (services/kiosk.py), never a user's session.

/kiosk/pair (no sign-in) takes a pairing code from the back office and gives the tablet a
long random token in its own cookie (HttpOnly, SameSite=Lax, Secure on https, path=/kiosk,
so the browser sends it nowhere else). With it the tablet shows its own station's display
(/kiosk/<code>, the printed address), that display's code image and its status poll, and
nothing else: no page outside /kiosk looks at the cookie, and pairing signs out whoever
was signed in on that browser. A revoked tablet reads how to pair again.

The code on the display encodes PUBLIC_BASE_URL + /s/<code>?k=<token>, where the token
(services.duty.kiosk_token) names the 30-second window and how many of its codes were
used: each code checks in once, so after a check-in the status poll (every
KIOSK_POLL_SECONDS) sees a new code id and static/kiosk.js fetches the next code at once.
Without JavaScript the page reloads itself at that interval, and just after each window.
"""

import math
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup, escape

from extensions import db, limiter
from models import KioskDevice, Station, utcnow
from services import clock, refusals
from services import duty as duty_service
from services import kiosk as kiosk_service
from services import officials as officials_service
from services import station_lifecycle as lifecycle
from services import stations as station_service
from services.codes import normalize_station_code
from services.errors import KioskRefused
from services.qr import qr_svg
from views.auth import sign_out_here
from views.forms.kiosk import PairForm

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

COOKIE = "kiosk_device"
COOKIE_PATH = "/kiosk"
# Browsers keep a cookie at most 400 days; the tablet is seen every few seconds meanwhile.
COOKIE_MAX_AGE = timedelta(days=400)


# --- the device ----------------------------------------------------------------------------


def current_device() -> KioskDevice | None:
    return kiosk_service.device_for_token(request.cookies.get(COOKIE))


def _not_paired(state: str, device: KioskDevice | None = None):
    """The page a tablet sees when it may not show this display: never paired, revoked,
    or paired to another station. 403, so that kiosk.js reloads into it."""
    html = render_template("kiosk/not_paired.html", state=state, device=device)
    return _no_store(make_response(html, 403))


def _device_for(station: Station) -> KioskDevice:
    """The tablet showing `station`'s display, or abort with the page that says why not."""
    device = current_device()
    if device is None:
        abort(_not_paired("unpaired"))
    if device.revoked_at is not None:
        abort(_not_paired("revoked", device))
    if device.station_id != station.id:
        abort(_not_paired("other_station", device))
    now = utcnow()
    if kiosk_service.needs_touch(device, now):
        device_id = device.id
        # A GET reads in a deferred transaction; on SQLite a write after a read in the same
        # one cannot take the lock under load. End the read, then write in a transaction
        # of its own whose first statement is the write.
        db.session.commit()
        kiosk_service.touch(device_id, now)
        db.session.commit()
    return device


def _station(code: str, endpoint: str):
    """The station of this display, or a redirect to the canonical spelling of its code."""
    canonical = normalize_station_code(code)
    if canonical is None:
        abort(404)
    if canonical != code:
        return None, redirect(url_for(endpoint, code=canonical), 301)
    station = station_service.get_active_station(code)
    if station is None:
        # A paired tablet keeps working after its station's code was replaced: it follows
        # to the new address (nobody else learns the new code from the old one here).
        found = lifecycle.lookup_code(code)
        device = current_device()
        if (
            found is not None
            and found.alias is not None
            and found.station.is_active
            and device is not None
            and device.active
            and device.station_id == found.station.id
        ):
            return None, redirect(url_for(endpoint, **{**request.args.to_dict(), "code": found.station.code}), 302)
        abort(404)
    _device_for(station)
    return station, None


# --- pairing -------------------------------------------------------------------------------------


@bp.route("/pair", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["KIOSK_PAIR_RATE_LIMIT"], methods=["POST"])
def pair():
    """Type the back office's pairing code on the tablet. No sign-in: the code is the proof."""
    form = PairForm()
    status = 200
    if form.validate_on_submit():
        try:
            device, token = kiosk_service.pair(form.code.data, replaces=current_device())
            station_code = device.station.code
            db.session.commit()
        except KioskRefused as refused:
            db.session.rollback()
            form.code.errors = [refusals.message(refused)]
            status = 422
        else:
            # The tablet holds no user session: whoever was signed in on it is signed out.
            sign_out_here()
            response = redirect(url_for("kiosk.display", code=station_code), 303)
            response.set_cookie(
                COOKIE,
                token,
                max_age=COOKIE_MAX_AGE,
                path=COOKIE_PATH,
                secure=request.is_secure or current_app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
            return _no_store(response)
    elif request.method == "POST":
        status = 422
    device = current_device()
    html = render_template("kiosk/pair.html", form=form, device=device)
    return _no_store(make_response(html, status))


# --- the display ---------------------------------------------------------------------------------


def check_in_url(token: str, station: Station) -> str:
    """What the tablet's code encodes: the station page with the code's token."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for("public.station", code=station.code, k=token)


def code_svg(station: Station, window: int) -> tuple[str, str]:
    """(SVG element, code id) of the first unused code of `window`, labelled for screen
    readers (inline in the page, and served alone to the script)."""
    token, code_id = duty_service.current_kiosk_code(current_app.config["SECRET_KEY"], station, window)
    svg = qr_svg(check_in_url(token, station)).decode()
    label = escape(_("Check-in code for representatives"))
    return svg.replace("<svg ", f'<svg class="kiosk-qr-svg" role="img" aria-label="{label}" ', 1), code_id


def _status(station: Station) -> dict:
    roster = station_service.roster_days(station, days=1)
    return {
        "on_duty": station_service.on_duty_now(station),
        "slots": roster[0][1] if roster else [],
        # 领导进站: the officials here now and today's office hours, as on the station page.
        "officials_here": officials_service.on_site_now(station),
        "office_hours": officials_service.hours_ahead(station, days=1),
    }


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def poll_seconds() -> int:
    return max(1, int(current_app.config["KIOSK_POLL_SECONDS"]))


@bp.get("/<code>")
def display(code: str):
    station, moved = _station(code, "kiosk.display")
    if moved is not None:
        return moved
    now = utcnow()
    window = duty_service.kiosk_window(now)
    window_ms = duty_service.kiosk_window_seconds() * 1000
    server_ms = int(clock.to_local(now).timestamp() * 1000)
    ms_left = (window + 1) * window_ms - server_ms
    local_now = clock.to_local(now)
    svg, code_id = code_svg(station, window)
    html = render_template(
        "kiosk/display.html",
        station=station,
        window=window,
        code_id=code_id,
        window_ms=window_ms,
        server_ms=server_ms,
        poll_ms=poll_seconds() * 1000,
        # Without JavaScript: reload often enough to replace a used code, and just after
        # the window's boundary, never just before it (that would show the same code).
        refresh_seconds=min(poll_seconds(), math.ceil(ms_left / 1000) + 1),
        qr=Markup(svg),  # noqa: S704 (made by qrcode from our own URL)
        clock=local_now.strftime("%H:%M"),
        today=format_date(local_now.date(), "full"),
        **_status(station),
    )
    return _no_store(make_response(html))


@bp.get("/<code>/code.svg")
def code(code: str):
    """The code of the current window, or of the next one (`?w=`) for the script to show
    at the boundary. Headers say which window and code it is, and the server's clock."""
    station, moved = _station(code, "kiosk.code")
    if moved is not None:
        return moved
    now = utcnow()
    current = duty_service.kiosk_window(now)
    window = request.args.get("w", type=int)
    if window not in (current, current + 1):
        window = current
    svg, code_id = code_svg(station, window)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["X-Kiosk-Window"] = str(window)
    response.headers["X-Kiosk-Code"] = code_id
    response.headers["X-Kiosk-Server-Ms"] = str(int(clock.to_local(now).timestamp() * 1000))
    return _no_store(response)


@bp.get("/<code>/status")
def status(code: str):
    """The on-duty list and today's roster, for the script to refresh; X-Kiosk-Code names
    the code the tablet should show now (another one once the shown code has been used)."""
    station, moved = _station(code, "kiosk.status")
    if moved is not None:
        return moved
    window = duty_service.kiosk_window(utcnow())
    _token, code_id = duty_service.current_kiosk_code(current_app.config["SECRET_KEY"], station, window)
    response = make_response(render_template("kiosk/_status.html", station=station, **_status(station)))
    response.headers["X-Kiosk-Code"] = code_id
    return _no_store(response)
