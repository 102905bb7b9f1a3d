"""/admin/audit: the audit log for the administrator (`audit.view`), filtered, paged, exported."""

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from extensions import db, writes_on_get
from models import utcnow
from services import audit, audit_log, exports
from services.drafts import COMMENT_FLOW
from services.permissions import Permission as P
from services.suggestion_flow import SUGGESTION_FLOW
from views import auth as auth_views
from views.admin import AUDIT_TITLES
from views.util import download, require_or_abort

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PROBLEMS = {
    "too_long": _l("Please keep it to %(n)d characters."),
    "bad_action": _l(
        "An action is a code of lower-case letters, digits, dots and underscores, such as account. or concern.note."
    ),
    "bad_type": _l("An object type is a word of lower-case letters, such as concern or user."),
    "bad_id": _l("An object number is a whole number."),
    "bad_day": _l("Please give a date as YYYY-MM-DD, between the years %(first)d and %(last)d."),
    "bad_range": _l("The last day is before the first."),
}
# What an entry's code means, where there are words for it; the code is shown beside them.
TITLES = {
    **AUDIT_TITLES,
    "privacy.purged": _l("Expired personal data erased"),
    "concern.contact_erased": _l("Contact details erased at the resident's request"),
    "audit.exported": _l("Audit log exported"),
    "attendance.exported": _l("Attendance exported"),
    "backup.restored": _l("Backup restored"),
    "board.activity.create": _l("Activity added to a station's board"),
    "board.activity.edit": _l("Activity edited"),
    "board.activity.photos": _l("Activity photos changed"),
    "board.activity.publish": _l("Activity published"),
    "board.activity.unpublish": _l("Activity taken down"),
    "board.notice.publish": _l("Notice published to a region's stations"),
    "board.notice.withdraw": _l("Notice withdrawn"),
    "board.reception.add": _l("Reception day added"),
    "board.reception.cancel": _l("Reception day cancelled"),
    "board.reception.end": _l("Repeating reception day ended"),
    "board.rules.update": _l("Station's rules of work changed"),
    "booking.called_off": _l("Booked visits called off by the station"),
    "booking.concern_filed": _l("Concern filed from a booked visit"),
    "booking.marked": _l("Booked visit marked (came / did not come)"),
    "booking.slot_capacity": _l("Places of a roster slot changed"),
    "booking.station_capacity": _l("Station's places per slot changed"),
    "calendar.day_deleted": _l("Working-day calendar: day removed"),
    "calendar.day_set": _l("Working-day calendar: day set"),
    "calendar.imported": _l("Working-day calendar imported"),
    "calendar.year_completed": _l("Working-day calendar: year marked complete"),
    "concern.exported": _l("Concerns exported"),
    "duty.auto_closed": _l("Duty closed automatically"),
    "duty.checked_in": _l("Representative checked in"),
    "duty.checked_out": _l("Representative checked out"),
    "duty.confirmed": _l("Duty confirmed"),
    "duty.voided": _l("Duty voided"),
    "figures.exported": _l("Figures exported"),
    "import.applied": _l("Import applied"),
    "kiosk.paired": _l("Station tablet paired"),
    "kiosk.pairing_created": _l("Station tablet pairing code made"),
    "kiosk.revoked": _l("Station tablet unpaired"),
    "notification.handled": _l("Undelivered message handled"),
    "office_hours.added": _l("Official's office hours added"),
    "office_hours.removed": _l("Official's office hours removed"),
    "official.appointed": _l("Official's post set"),
    "official.auto_closed": _l("Official's session closed automatically"),
    "official.check_in_refused": _l("Official's check-in refused"),
    "official.checked_in": _l("Official checked in"),
    "official.checked_out": _l("Official checked out"),
    "official.session_voided": _l("Official's session voided"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "draft.changed": _l("Draft of a law changed"),
    "draft.closed": _l("Draft of a law closed for comment"),
    "draft.comment.contact_viewed": _l("A commenter's contact details shown in full"),
    "draft.created": _l("Draft of a law created"),
    "draft.exported": _l("Comments on a draft exported"),
    "draft.published": _l("Draft of a law published for comment"),
    "meeting.cancelled": _l("Annual report meeting cancelled"),
    "meeting.moved": _l("Annual report meeting moved"),
    "meeting.scheduled": _l("Annual report meeting scheduled"),
    "vote.close": _l("Project vote: voting closed"),
    "vote.comment.hide": _l("Project vote: a resident's comment hidden"),
    "vote.create": _l("Project vote created"),
    "vote.edit": _l("Project vote changed"),
    "vote.evaluation.close": _l("Project vote: evaluation closed"),
    "vote.evaluation.open": _l("Project vote: evaluation opened"),
    "vote.progress.add": _l("Project progress reported"),
    "vote.project.add": _l("Candidate project added"),
    "vote.project.edit": _l("Candidate project changed"),
    "vote.project.remove": _l("Candidate project removed"),
    "vote.publish": _l("Project vote announced"),
    "vote.results": _l("Project vote results published"),
    "region.created": _l("Region added"),
    "region.deactivated": _l("Region switched off"),
    "region.loaded": _l("Regions loaded"),
    "region.reactivated": _l("Region switched on again"),
    "region.renamed": _l("Region renamed"),
    "roster.added": _l("Roster slot added"),
    "roster.removed": _l("Roster slot removed"),
    "sms.confirmed": _l("Resident's mobile confirmed"),
    "sms.opted_in": _l("Resident agreed to SMS"),
    "sms.opted_out": _l("Resident stopped SMS"),
    "station.closed": _l("Station closed"),
    "station.code_replaced": _l("Station's code replaced"),
    "station.manager_added": _l("Station manager added"),
    "station.manager_removed": _l("Station manager removed"),
    "station.reopened": _l("Station reopened"),
}
# The steps of the suggestions' and the draft comments' workflows are logged as
# "suggestion.<action>" and "draft.comment.<action>": their tables have the words.
TITLES.update({f"suggestion.{spec.action}": spec.title for spec in SUGGESTION_FLOW})
TITLES.update({f"draft.comment.{spec.action}": spec.title for spec in COMMENT_FLOW})
EXPORT_TYPES = {
    "xlsx": (exports.XLSX_TYPE, exports.audit_xlsx),
    "csv": (exports.CSV_TYPE, exports.audit_csv),
}


@bp.before_request
def only_auditors():
    require_or_abort(P.AUDIT_VIEW)


def _problems(parsed: audit_log.Parsed) -> dict[str, str]:
    values = {"n": audit_log.TEXT_MAX, "first": audit_log.FIRST_YEAR, "last": audit_log.LAST_YEAR}
    return {key: str(PROBLEMS[code]) % values for key, code in parsed.problems.items()}


@bp.get("")
def entries():
    parsed = audit_log.parse_filter(request.args)
    after = request.args.get("after")
    result = audit_log.page(parsed.filter, after)
    problems = _problems(parsed)
    return (
        render_template(
            "admin/audit.html",
            f=parsed.filter,
            raw={key: request.args.get(key, "") for key in ("who", "action", "type", "id", "since", "until")},
            problems=problems,
            result=result,
            after=after,
            lines=audit_log.lines,
            titles=TITLES,
        ),
        422 if problems else 200,
    )


@bp.get("/export.<any(xlsx, csv):fmt>")
@writes_on_get
def export(fmt: str):
    """The entries under the filter on screen, newest first, as a file; the export is itself an entry."""
    if auth_views.password_needed():
        return auth_views.ask_password(request.full_path)
    parsed = audit_log.parse_filter(request.args)
    if parsed.problems:
        return entries()
    made = audit_log.export(parsed.filter, utcnow())
    mimetype, build = EXPORT_TYPES[fmt]
    args = parsed.filter.as_args()
    body = build(made, args)
    audit.log(current_user, "audit.exported", filter=args, format=fmt, rows=len(made.rows), truncated=made.truncated)
    db.session.commit()
    if made.truncated:
        flash(
            _("The export holds only the newest %(n)d entries. Narrow the filter to export the rest.", n=len(made.rows))
        )
    return download(body, mimetype, exports.audit_filenames(made, fmt))
