"""The station's board for residents (公开栏): /s/<code>/board (the published activities and
the notices), one activity, the rules of work, and the calendar of reception days of the
coming months. Routes of the public blueprint (views/public.py imports this module)."""

from datetime import timedelta

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _

from services import board as board_service
from services.clock import local_today
from services.codes import normalize_station_code
from views.public import _canonical, _station_for, bp


def public_page(template: str, *, status: int = 200, **context):
    """A public page that browsers check again each time (it changes with the station)."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _page_number() -> int:
    raw = request.args.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        abort(404)
    return int(raw)


@bp.get("/s/<code>/board")
def board(code: str):
    kept = {"page": request.args["page"]} if "page" in request.args else {}
    if (moved := _canonical(code, normalize_station_code, "public.board", **kept)) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    assert st is not None
    number = _page_number()
    size = board_service.BOARD_PAGE_SIZE
    found = board_service.published_activities(st, limit=size + 1, offset=(number - 1) * size)
    if number > 1 and not found:
        abort(404)
    return public_page(
        "public/board.html",
        station=st,
        activities=found[:size],
        page=number,
        more=len(found) > size,
        notices=board_service.notices_for(st, limit=None),
        has_rules=bool(board_service.rules_of(st)),
    )


@bp.get("/s/<code>/board/<int:activity_id>")
def activity(code: str, activity_id: int):
    if (moved := _canonical(code, normalize_station_code, "public.activity", activity_id=activity_id)) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    assert st is not None
    found = board_service.activity_of(st, activity_id, published_only=True)
    if found is None:
        abort(404, description=_("This activity is not on the station's board (any more)."))
    return public_page("public/activity.html", station=st, activity=found)


@bp.get("/s/<code>/rules")
def rules(code: str):
    if (moved := _canonical(code, normalize_station_code, "public.rules")) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    assert st is not None
    return public_page("public/rules.html", station=st, rules=board_service.rules_of(st))


@bp.get("/s/<code>/calendar")
def reception_calendar(code: str):
    if (moved := _canonical(code, normalize_station_code, "public.reception_calendar")) is not None:
        return moved
    st, instead = _station_for(code, with_representatives=False)
    if instead is not None:
        return instead
    assert st is not None
    today = local_today()
    last = today + timedelta(days=board_service.CALENDAR_DAYS)
    found = board_service.upcoming(st, days=board_service.CALENDAR_DAYS)
    months: dict[tuple[int, int], list[board_service.Occurrence]] = {}
    for occurrence in found:
        months.setdefault((occurrence.day.year, occurrence.day.month), []).append(occurrence)
    return public_page("public/calendar.html", station=st, months=months, last=last)
