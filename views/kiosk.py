"""/kiosk/<code>: the station tablet's on-duty list and rotating check-in code.

The tablet is signed in as the station's manager (or an admin): the code it shows is
proof of being in the room, so no one else may open the page. The code encodes
PUBLIC_BASE_URL + /s/<code>?k=<token>, token = services.duty.kiosk_token for the current
30-second window, and is accepted for two windows. Without JavaScript the page reloads
itself just after each window boundary; static/kiosk.js fetches the next code a little
before the boundary instead, and refreshes the lists.
"""

import math

from flask import Blueprint, Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup, escape

from models import Station, utcnow
from services import clock
from services import duty as duty_service
from services import stations as station_service
from services.codes import normalize_station_code
from services.permissions import Permission as P
from services.qr import qr_svg
from views.util import require_or_abort

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")


def _station(code: str, endpoint: str):
    """The station whose tablet this is, after the permission check; or a redirect to the
    canonical spelling of its code."""
    canonical = normalize_station_code(code)
    if canonical is None:
        abort(404)
    if canonical != code:
        return None, redirect(url_for(endpoint, code=canonical), 301)
    station = station_service.get_active_station(code)
    if station is None:
        abort(404)
    require_or_abort(P.KIOSK_DISPLAY, station)
    return station, None


def check_in_url(station: Station, window: int) -> str:
    """What the tablet's code encodes: the station page with a signed window."""
    token = duty_service.kiosk_token(current_app.config["SECRET_KEY"], station, window)
    return current_app.config["PUBLIC_BASE_URL"] + url_for("public.station", code=station.code, k=token)


def code_svg(station: Station, window: int) -> str:
    """The code of one window as an SVG element, labelled for screen readers (inline in
    the page, and served alone to the script)."""
    svg = qr_svg(check_in_url(station, window)).decode()
    label = escape(_("Check-in code for representatives"))
    return svg.replace("<svg ", f'<svg class="kiosk-qr-svg" role="img" aria-label="{label}" ', 1)


def _status(station: Station) -> dict:
    roster = station_service.roster_days(station, days=1)
    return {
        "on_duty": station_service.on_duty_now(station),
        "slots": roster[0][1] if roster else [],
    }


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<code>")
@login_required
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
    html = render_template(
        "kiosk/display.html",
        station=station,
        window=window,
        window_ms=window_ms,
        server_ms=server_ms,
        # Reload just after the boundary, never just before it (that would show the same code).
        refresh_seconds=math.ceil(ms_left / 1000) + 1,
        qr=Markup(code_svg(station, window)),  # noqa: S704 (made by qrcode from our own URL)
        clock=local_now.strftime("%H:%M"),
        today=format_date(local_now.date(), "full"),
        **_status(station),
    )
    return _no_store(make_response(html))


@bp.get("/<code>/code.svg")
@login_required
def code(code: str):
    """The code of the current window, or of the next one (`?w=`) for the script to show
    at the boundary. Headers say which window it is and the server's clock."""
    station, moved = _station(code, "kiosk.code")
    if moved is not None:
        return moved
    now = utcnow()
    current = duty_service.kiosk_window(now)
    window = request.args.get("w", type=int)
    if window not in (current, current + 1):
        window = current
    response = Response(code_svg(station, window), mimetype="image/svg+xml")
    response.headers["X-Kiosk-Window"] = str(window)
    response.headers["X-Kiosk-Server-Ms"] = str(int(clock.to_local(now).timestamp() * 1000))
    return _no_store(response)


@bp.get("/<code>/status")
@login_required
def status(code: str):
    """The on-duty list and today's roster, for the script to refresh."""
    station, moved = _station(code, "kiosk.status")
    if moved is not None:
        return moved
    return _no_store(make_response(render_template("kiosk/_status.html", station=station, **_status(station))))
