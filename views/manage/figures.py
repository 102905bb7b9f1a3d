"""Outcome figures: per station, region (rolled up) and handling unit, for a period."""

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from extensions import db, writes_on_get
from models import ProjectVote, Region, utcnow
from services import activity as activity_service
from services import exports
from services import figures as figures_service
from services import votes as vote_service
from services.charts import Series, bar_chart
from services.clock import local_today
from services.figures import GROUPINGS, Period
from services.permissions import Permission as P
from services.permissions import managed_regions_clause, may_roll_up
from views.manage import bp
from views.util import download, int_or_none, require_or_abort

GROUP_TITLES = {
    "station": _l("By station"),
    "region": _l("By region"),
    "unit": _l("By handling unit"),
}
PRESET_TITLES = {
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "this_year": _l("This year"),
}
PERIOD_MESSAGES = {
    "bad_date": _l("Please give both dates as year-month-day, for example 2025-01-31. Showing this year instead."),
    "reversed": _l("The start date is after the end date. Showing this year instead."),
}
CHART_ROWS = 12  # more bars than this do not read on a phone; the table has them all


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _chart(table: figures_service.Figures):
    # The busiest rows with something to draw: by region the table keeps the regions' own
    # order (their codes), quiet ones included, and a province's first dozen can all be zero.
    busy = [row for row in table.rows if row.counts.received or row.counts.closed]
    busy.sort(key=lambda row: (-row.counts.received, -row.counts.closed))
    rows = busy[:CHART_ROWS]
    if not rows:
        return None
    title = _(
        "Concerns received and closed, %(start)s to %(end)s",
        start=table.period.start.isoformat(),
        end=table.period.end.isoformat(),
    )
    if len(busy) > CHART_ROWS:
        description = _("The %(n)d rows of the table below that received the most concerns.", n=CHART_ROWS)
    else:
        description = _("The rows of the table below that received or closed concerns.")
    return bar_chart(
        title,
        [row.name for row in rows],
        [
            Series(_("Received in period"), [row.counts.received for row in rows]),
            Series(_("Closed in period"), [row.counts.closed for row in rows]),
        ],
        description=description,
        ident="figures-chart",
    )


@bp.get("/figures")
@login_required
def figures():
    require_or_abort(P.FIGURES_VIEW)
    today = local_today()
    period, problem = Period.parse(request.args.get("from"), request.args.get("to"), today)
    by = request.args.get("by", "station")
    if by not in GROUPINGS:
        by = "station"
    root = None
    raw_region = (request.args.get("region") or "").strip()
    region_id = int_or_none(raw_region)
    if by == "region" and (region_id is not None or raw_region.lstrip("-").isdigit()):
        if region_id is None or region_id <= 0:  # beyond an integer column: no such region
            abort(404)
        root = db.session.get(Region, region_id)
        if root is None:
            abort(404)
        if not may_roll_up(current_user, root):
            abort(403)
    table = figures_service.figures(
        current_user,
        by,
        period,
        utcnow(),
        root=root,
        labels={"directly": _("stations placed in this region itself"), "no_unit": _("Not sent to a unit")},
    )
    period_args = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    # Another period keeps the grouping and the region being looked at.
    keep = {"by": by, **({"region": root.id} if root is not None else {})}
    presets = [
        (
            PRESET_TITLES[name],
            url_for("manage.figures", **keep, **{"from": p.start.isoformat(), "to": p.end.isoformat()}),
            p == period,
        )
        for name, p in Period.presets(today).items()
    ]
    return render_template(
        "manage/figures.html",
        table=table,
        period=period,
        period_args=period_args,
        region_id=root.id if root is not None else None,
        problem=PERIOD_MESSAGES.get(problem) if problem else None,
        presets=presets,
        groupings=GROUP_TITLES,
        chart=_chart(table),
        percent=percent,
        days=days,
        top=figures_service.top_region(current_user),
        activity=activity_service.activity(current_user, period, utcnow()),
        suggestions=figures_service.suggestions_by_unit(current_user, period, utcnow()),
        max_rows=figures_service.MAX_ROWS,
        project_votes=vote_service.figures(managed_regions_clause(current_user, ProjectVote.region_id)),
    )


@bp.get("/figures/activity.xlsx")
@writes_on_get
@login_required
def activity_export():
    """The page's activity tables (bookings, officials, representatives) for the same
    period and scope, as a workbook with Chinese headings; the export is an audit entry."""
    require_or_abort(P.FIGURES_VIEW)
    period, _problem = Period.parse(request.args.get("from"), request.args.get("to"), local_today())
    now = utcnow()
    made = activity_service.activity(current_user, period, now)
    body = exports.activity_xlsx(made, now, figures_service.suggestions_by_unit(current_user, period, now))
    exports.record_activity_export(current_user, made)
    db.session.commit()
    return download(body, exports.XLSX_TYPE, exports.activity_filenames(period))
