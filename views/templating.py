"""Template filters: one `label` filter for every enum, dates in China's time zone."""

from flask_babel import format_date, format_datetime, get_locale, gettext

from models.enums import LabelledEnum
from services.codes import format_tracking_code
from services.concern_flow import action_title
from services.privacy import mask_mobile, mask_name


def label(value) -> str:
    return value.label if isinstance(value, LabelledEnum) else str(value or "")


def date_label(day) -> str:
    """ "Today", "Tomorrow", or a short date with the weekday."""
    from services.stations import local_today

    delta = (day - local_today()).days
    if delta == 0:
        return gettext("Today")
    if delta == 1:
        return gettext("Tomorrow")
    return format_date(day, "EEE M/d")


def register(app) -> None:
    app.add_template_filter(date_label)
    app.add_template_filter(label)
    app.add_template_filter(format_tracking_code, "tracking")
    app.add_template_filter(mask_mobile)
    app.add_template_filter(mask_name)
    app.add_template_filter(action_title)
    app.add_template_filter(lambda dt, fmt="yyyy-MM-dd HH:mm": format_datetime(dt, fmt) if dt else "", "dt")

    from services.permissions import can

    app.add_template_global(can)

    @app.context_processor
    def locale_context():
        locale = str(get_locale())
        return {"locale": locale, "html_lang": "en" if locale == "en" else "zh-CN"}
