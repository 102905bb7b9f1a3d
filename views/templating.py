"""Template filters: one `label` filter for every enum, dates in China's time zone; the globals
`limits` (services/limits.py) and `button_form()` (the CSRF token of a one-button POST)."""

from babel.dates import get_day_names
from flask import request
from flask_babel import format_date, format_datetime, get_locale, gettext

from models.enums import LabelledEnum
from services import limits
from services.clock import local_today
from services.codes import format_tracking_code
from services.concern_flow import action_title, by_resident
from services.duty_lines import is_pending
from services.outbox import mask_recipient
from services.privacy import mask_mobile, mask_name
from views.forms import ButtonForm


def label(value) -> str:
    return value.label if isinstance(value, LabelledEnum) else str(value or "")


def date_label(day) -> str:
    """ "Today", "Tomorrow", or a short date with the weekday."""
    delta = (day - local_today()).days
    if delta == 0:
        return gettext("Today")
    if delta == 1:
        return gettext("Tomorrow")
    return format_date(day, "EEE M/d")


def weekday_name(weekday: int) -> str:
    """The weekday's name in the current language (0 Monday … 6 Sunday)."""
    return get_day_names("wide", locale=str(get_locale()))[weekday]


def button_form() -> ButtonForm:
    """The form of a one-button POST (sign out, remove, unlock): its CSRF token."""
    return ButtonForm(formdata=None)


def here() -> str | None:
    """Where the visitor is, for a sign-in link to bring them back (a representative who
    scanned a station's poster signs in to check in there); None on the sign-in page."""
    if request.endpoint in (None, "auth.login"):
        return None
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def register(app) -> None:
    app.add_template_filter(date_label)
    app.add_template_filter(label)
    app.add_template_filter(format_tracking_code, "tracking")
    app.add_template_filter(mask_mobile)
    app.add_template_filter(mask_name)
    app.add_template_filter(mask_name)
    app.add_template_filter(mask_recipient)
    app.add_template_filter(action_title)
    app.add_template_filter(by_resident)
    app.add_template_filter(lambda dt, fmt="yyyy-MM-dd HH:mm": format_datetime(dt, fmt) if dt else "", "dt")
    app.add_template_test(is_pending, "pending_duty")

    from services.permissions import Permission, can

    app.add_template_global(can)
    app.add_template_global(Permission, "P")
    app.add_template_global(limits, "limits")
    app.add_template_global(button_form)
    # The workflows whose trails templates draw with the `timeline` macro.
    from services import concern_flow, meetings, suggestion_flow, votes

    app.add_template_global(
        {"concern": concern_flow, "suggestion": suggestion_flow, "vote": votes, "meeting": meetings}, "flows"
    )
    app.add_template_global(weekday_name)
    app.add_template_global(local_today, "today")
    app.add_template_global(here)

    from services.account_links import state_of

    # templates/manage/_account_state.html; a list passes `account_states` (one query) instead.
    app.add_template_global(state_of, "account_state")

    @app.context_processor
    def locale_context():
        locale = str(get_locale())
        return {"locale": locale, "html_lang": "en" if locale == "en" else "zh-CN"}
