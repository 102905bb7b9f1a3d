"""Exports of the attendance review and of the concern inbox: .xlsx (openpyxl) and CSV
(UTF-8 with a BOM).

An export is a file other offices file and compare, so its column headings are a fixed
format in Chinese whatever language the exporting user reads the site in; the labels in
the cells (status, method, level) come from the Chinese catalogue for the same reason.
Cells a spreadsheet would run as a formula are neutralised (CSV/formula injection).
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from extensions import db
from models import Concern, Station, User
from models.enums import Rating
from services import disclosures
from services.attendance import MonthAttendance, reason_label
from services.audit import log
from services.audit_log import EXPORT_HEADERS, EXPORT_WIDTHS, AuditExport
from services.clock import to_local
from services.codes import format_tracking_code
from services.concern_flow import STAGES, is_overdue, stage_done
from services.inbox import InboxFilter, newest_first
from services.limits import EXPORT_PURPOSE_MAX, EXPORT_PURPOSE_MIN
from services.permissions import Permission, can
from services.privacy import mask_mobile, mask_name

SUMMARY_HEADERS = (
    "代表姓名",
    "代表级别",
    "排班（次）",
    "到岗（次）",
    "缺岗（次）",
    "待确认（次）",
    "自动签退（次）",
    "在站时长（小时）",
    "接待群众（人次）",
)
DUTY_HEADERS = (
    "签到时间",
    "签退时间",
    "代表姓名",
    "签到方式",
    "距离（米）",
    "状态",
    "计入履职",
    "待确认原因",
    "接待群众（人次）",
    "关联诉求",
    "审核人",
    "审核时间",
    "审核说明",
)
ATTEMPT_HEADERS = ("时间", "代表姓名", "未通过原因", "签到方式", "距离（米）")
TOTAL_LABEL = "合计"
YES, NO = "是", "否"

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell starting like a formula gets a leading apostrophe, so a spreadsheet
    shows it as text instead of running it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _local(moment: datetime | None) -> datetime | None:
    return to_local(moment).replace(tzinfo=None) if moment else None


def summary_rows(att: MonthAttendance) -> list[list]:
    rows = []
    for row in att.rows:
        f = row.figures
        rows.append(
            [
                row.rep.name,
                row.rep.level.label,
                f.scheduled,
                f.attended,
                f.missed,
                f.pending,
                f.auto_closed,
                f.hours,
                f.residents,
            ]
        )
    t = att.total
    rows.append([TOTAL_LABEL, "", t.scheduled, t.attended, t.missed, t.pending, t.auto_closed, t.hours, t.residents])
    return rows


def duty_rows(att: MonthAttendance) -> list[list]:
    rows = []
    for line in att.duties:
        d = line.duty
        rows.append(
            [
                _local(d.checked_in_at),
                _local(d.checked_out_at),
                d.representative.name,
                d.method.label,
                d.distance_m,
                d.status.label,
                YES if line.counted else NO,
                reason_label(d.pending_reason),
                d.residents_received,
                " ".join(line.concerns),
                d.confirmed_by.display_name if d.confirmed_by else "",
                _local(d.reviewed_at),
                d.review_note,
            ]
        )
    return rows


def attempt_rows(att: MonthAttendance) -> list[list]:
    return [
        [_local(a.created_at), a.representative.name, reason_label(a.reason), a.method.label, a.distance_m]
        for a in att.attempts
    ]


class Ratio(float):
    """A rate, written as a number shown as a percentage."""


def _cell(ws, value, bold: bool = False):
    """One cell, for a normal or a write-only sheet alike."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters openpyxl refuses
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text, even "=…": never a formula
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, Ratio):
        cell.number_format = "0.0%"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _saved(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet(ws, headers, rows, widths) -> None:
    """Headers in bold, frozen, then the rows. Widths and panes come first: a write-only
    sheet (the large concern export) cannot take them after its rows."""
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, bold=True) for h in headers])
    for values in rows:
        ws.append([_cell(ws, v) for v in values])


def attendance_xlsx(att: MonthAttendance) -> bytes:
    """Three sheets: per representative (with a total row), the duties, refused check-ins."""
    with force_locale("zh_Hans"):
        summary, duties, attempts = summary_rows(att), duty_rows(att), attempt_rows(att)
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its one sheet
    ws.title = "汇总"
    _sheet(ws, SUMMARY_HEADERS, summary, (14, 26, 10, 10, 10, 12, 14, 16, 16))
    _sheet(wb.create_sheet("履职记录"), DUTY_HEADERS, duties, (17, 17, 12, 14, 10, 12, 10, 18, 16, 24, 14, 17, 30))
    _sheet(wb.create_sheet("未通过的签到"), ATTEMPT_HEADERS, attempts, (17, 12, 20, 14, 10))
    wb.properties.title = f"{att.station.name} {att.month} 履职考勤"
    return _saved(wb)


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return neutralise(str(value))


def _csv_bytes(headers, rows) -> bytes:
    """UTF-8 with a BOM, which Excel needs to read Chinese correctly; CRLF line ends."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for values in rows:
        writer.writerow([_csv_text(v) for v in values])
    return buffer.getvalue().encode("utf-8")


def attendance_csv(att: MonthAttendance) -> bytes:
    """The per-representative table as CSV."""
    with force_locale("zh_Hans"):
        rows = summary_rows(att)
    return _csv_bytes(SUMMARY_HEADERS, rows)


def filenames(station: Station, att: MonthAttendance, ext: str) -> tuple[str, str]:
    """The Chinese file name and its ASCII fallback for browsers that need one."""
    return f"{station.name}-履职考勤-{att.month}.{ext}", f"attendance-{station.code}-{att.month}.{ext}"


def content_disposition(name: str, fallback: str) -> str:
    """An attachment header with an RFC 5987 `filename*` and an ASCII `filename`."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in fallback)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def record_export(actor: User, att: MonthAttendance, fmt: str) -> None:
    log(actor, "attendance.exported", att.station, month=str(att.month), format=fmt, rows=len(att.rows))


# --- the concern inbox -----------------------------------------------------------------------

CONCERN_HEADERS = (
    "查询码",
    "提交时间",
    "联络站",
    "类别",
    "状态",
    "环节",
    "是否超期",
    "办理期限",
    "代表",
    "承办单位",
    "内容",
    "联系人",
    "联系电话",
    "办理轮次",
    "对承办单位评价",
    "对代表评价",
    "办结时间",
)
CONCERN_WIDTHS = (12, 17, 26, 12, 22, 16, 9, 17, 10, 26, 60, 10, 14, 9, 14, 12, 17)
# A file big enough for any office's work, small enough to build in memory in seconds.
CONCERN_EXPORT_LIMIT = 50_000
NOTE_SHEET = "说明"
# How the filter reads in the note sheet of the .xlsx.
FILTER_NAMES = {
    "box": "视图",
    "status": "状态",
    "stage": "环节",
    "category": "类别编号",
    "station": "联络站编号",
    "overdue": "仅超期",
    "soon": "两个工作日内到期",
    "escalated": "仅已上报",
    "q": "关键词",
}


@dataclass
class ConcernExport:
    rows: list[list]
    truncated: bool  # more concerns matched than CONCERN_EXPORT_LIMIT
    unmasked_ids: list[int]  # the concerns whose contact details are given in full
    made_at: datetime
    purpose: str = ""  # why contact details were asked for in full; "" for a masked export

    @property
    def unmasked(self) -> int:
        return len(self.unmasked_ids)


def _rating(value: str | None) -> str:
    return Rating(value).label if value else ""


def concern_row(concern: Concern, now: datetime, full_contact: bool) -> list:
    """One line of the export. Call under the Chinese locale: the labels are Chinese."""
    done = stage_done(concern.status)
    rep = concern.assigned_rep
    name, mobile = concern.contact_name, concern.contact_mobile
    if not full_contact:
        name, mobile = mask_name(name), mask_mobile(mobile)
    return [
        format_tracking_code(concern.tracking_code),
        _local(concern.created_at),
        concern.station.name,
        concern.category.name_zh,
        concern.status.label,
        STAGES[done][2] if done is not None else "",
        YES if is_overdue(concern, now) else NO,
        _local(concern.due_at),
        rep.name if rep else "",
        concern.unit.name if concern.unit else "",
        concern.content,
        name or "",
        mobile or "",
        concern.rounds,
        _rating(concern.rating_unit),
        _rating(concern.rating_rep),
        _local(concern.closed_at),
    ]


def concern_export(
    user: User, f: InboxFilter, now: datetime, limit: int | None = None, *, purpose: str = ""
) -> ConcernExport:
    """The inbox under filter `f`, as this user sees it, newest first: every concern in
    the user's scope that matches, up to `limit` (CONCERN_EXPORT_LIMIT). Contact details
    are masked, unless asked for in full with a `purpose` and the user may see that
    concern's ("concern.view_contact")."""
    purpose = " ".join((purpose or "").split())[:EXPORT_PURPOSE_MAX]
    full_contact = len(purpose) >= EXPORT_PURPOSE_MIN
    limit = limit or CONCERN_EXPORT_LIMIT
    query = (
        newest_first(user, f, now)
        .limit(limit + 1)
        .execution_options(yield_per=1000)  # rows are turned into values as they come
    )
    rows: list[list] = []
    unmasked: list[int] = []
    truncated = False
    result = db.session.scalars(query)
    try:
        with force_locale("zh_Hans"):
            for concern in result:
                if len(rows) == limit:
                    truncated = True
                    break
                full = (
                    full_contact
                    and bool(concern.contact_name or concern.contact_mobile)
                    and can(user, Permission.CONCERN_VIEW_CONTACT, concern)
                )
                if full:
                    unmasked.append(concern.id)
                rows.append(concern_row(concern, now, full))
    finally:
        result.close()
    return ConcernExport(rows, truncated, unmasked, now, purpose if full_contact else "")


def _filter_text(f: InboxFilter) -> str:
    # The export is newest first whatever order the inbox shows, so the order is not named.
    args = {k: v for k, v in f.as_args().items() if k != "sort"}
    return "；".join(f"{FILTER_NAMES.get(k, k)}={v}" for k, v in args.items()) or "无"


def concerns_xlsx(export: ConcernExport, f: InboxFilter) -> bytes:
    """The concerns on one sheet, and a note sheet saying what was exported and when.
    Written in write-only mode: 50,000 rows stay fast and small in memory."""
    wb = Workbook(write_only=True)
    _sheet(wb.create_sheet("诉求"), CONCERN_HEADERS, export.rows, CONCERN_WIDTHS)
    notes = [
        ["导出时间", _local(export.made_at)],
        ["筛选条件", _filter_text(f)],
        ["条数", len(export.rows)],
        ["联系方式", "部分或全部为完整号码，请妥善保管" if export.unmasked else "已隐去部分字符"],
    ]
    if export.purpose:
        notes.append(["导出用途", export.purpose])
    if export.truncated:
        notes.append(
            [
                "注意",
                f"符合条件的诉求超过 {len(export.rows)} 条，只导出了最新的 {len(export.rows)} 条；"
                "请缩小筛选范围分批导出",
            ]
        )
    _sheet(wb.create_sheet(NOTE_SHEET), ("项目", "内容"), notes, (12, 80))
    wb.properties.title = "诉求清单"
    return _saved(wb)


def concerns_csv(export: ConcernExport, f: InboxFilter) -> bytes:
    return _csv_bytes(CONCERN_HEADERS, export.rows)


def concern_filenames(export: ConcernExport, ext: str) -> tuple[str, str]:
    stamp = to_local(export.made_at).strftime("%Y%m%d-%H%M")
    return f"诉求清单-{stamp}.{ext}", f"concerns-{stamp}.{ext}"


def record_concern_export(actor: User, f: InboxFilter, fmt: str, export: ConcernExport) -> None:
    """One audit entry per export: what was asked for, how many rows, why contact details
    were asked for in full, and which concerns' contact details left the system in full
    (contact_disclosure rows, listed on each concern's page)."""
    entry = log(
        actor,
        "concern.exported",
        filter=f.as_args(),
        format=fmt,
        rows=len(export.rows),
        truncated=export.truncated,
        contact_unmasked=export.unmasked > 0,
        unmasked_rows=export.unmasked,
        purpose=export.purpose,
    )
    disclosures.record(entry, export.unmasked_ids)


# --- the audit log (services.audit_log) ---------------------------------------------------


def _audit_notes(export: AuditExport, filter_args: dict) -> list[list]:
    notes: list[list] = [
        ["导出时间", _local(export.made_at)],
        ["筛选条件", "；".join(f"{k}={v}" for k, v in filter_args.items()) or "无"],
        ["条数", len(export.rows)],
    ]
    if export.truncated:
        notes.append(["注意", f"符合条件的记录超过 {len(export.rows)} 条，只导出了最新的 {len(export.rows)} 条"])
    return notes


def audit_xlsx(export: AuditExport, filter_args: dict) -> bytes:
    """The entries on one sheet and what was exported on another; write-only, like the concerns'."""
    wb = Workbook(write_only=True)
    _sheet(wb.create_sheet("操作日志"), EXPORT_HEADERS, export.rows, EXPORT_WIDTHS)
    _sheet(wb.create_sheet(NOTE_SHEET), ("项目", "内容"), _audit_notes(export, filter_args), (12, 80))
    wb.properties.title = "操作日志"
    return _saved(wb)


def audit_csv(export: AuditExport, filter_args: dict) -> bytes:
    return _csv_bytes(EXPORT_HEADERS, export.rows)


def audit_filenames(export: AuditExport, ext: str) -> tuple[str, str]:
    stamp = to_local(export.made_at).strftime("%Y%m%d-%H%M")
    return f"操作日志-{stamp}.{ext}", f"audit-{stamp}.{ext}"


# --- the figures page's activity tables (services.activity) ---------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REP_ACTIVITY_HEADERS = (
    "代表姓名",
    "代表级别",
    "所在联络站",
    "进站履职（次）",
    "在站时长（小时）",
    "接待群众（人次）",
    "领办诉求（件）",
    "办结诉求（件）",
    "已评价（件）",
    "满意（件）",
    "满意率",
)
REP_ACTIVITY_WIDTHS = (12, 12, 30, 14, 16, 16, 14, 14, 12, 10, 10)
BOOKING_HEADERS = ("联络站", "预约（人次）", "到访", "未到", "已取消", "待接待")
BOOKING_WIDTHS = (30, 14, 10, 10, 10, 10)
OFFICIAL_HEADERS = (
    "姓名",
    "单位",
    "职务",
    "进站（次）",
    "在站时长（小时）",
    "接单（件）",
    "转交本单位（件）",
    "答复（件）",
)
OFFICIAL_WIDTHS = (12, 24, 14, 12, 16, 12, 16, 12)
MEETING_HEADERS = ("行政区划", "述职评议会（场）", "群众评议（人次）", "满意（人次）", "满意率")
MEETING_WIDTHS = (20, 18, 18, 14, 10)


def _rate(satisfied: int, rated: int):
    return Ratio(satisfied / rated) if rated else "—"


def _rep_line(row) -> list:
    return [
        row.name,
        str(row.level.label) if row.level else "",
        "、".join(row.stations),
        row.duties,
        row.hours,
        row.residents,
        row.taken_up,
        row.closed,
        row.rated,
        row.satisfied,
        _rate(row.satisfied, row.rated),
    ]


SUGGESTION_HEADERS = (
    "主办单位",
    "期间交办（件）",
    "期间答复（件）",
    "A类",
    "B类",
    "C类",
    "按期答复率",
    "答复已评价",
    "答复满意率",
    "落实已评价",
    "落实满意率",
    "在办",
    "超期未答复",
)
SUGGESTION_WIDTHS = (30, 14, 14, 8, 8, 8, 12, 12, 12, 12, 12, 8, 12)


def _suggestion_line(name: str, c) -> list:
    return [
        name,
        c.assigned,
        c.replied,
        c.class_a,
        c.class_b,
        c.class_c,
        _rate(c.on_time, c.replied),
        c.reply_rated,
        _rate(c.reply_satisfied, c.reply_rated),
        c.result_rated,
        _rate(c.result_satisfied, c.result_rated),
        c.open,
        c.overdue,
    ]


def activity_xlsx(made, now: datetime, suggestions=None) -> bytes:
    """履职信息通报, bookings, officials, 述职 meetings and (given) suggestions on their sheets,
    and what was exported. The level
    labels come from the Chinese catalogue whatever the exporting user reads."""
    with force_locale("zh_Hans"):
        rep_rows = [_rep_line(row) for row in made.representatives]
    wb = Workbook(write_only=True)
    if rep_rows:
        rep_rows.append([TOTAL_LABEL, "", "", *_rep_line(made.representatives_total)[3:]])
    _sheet(wb.create_sheet("代表履职"), REP_ACTIVITY_HEADERS, rep_rows, REP_ACTIVITY_WIDTHS)
    booking_rows = [
        [r.name, r.counts.made, r.counts.attended, r.counts.no_show, r.counts.cancelled, r.counts.booked]
        for r in made.bookings
    ]
    if made.bookings:
        t = made.bookings_total
        booking_rows.append([TOTAL_LABEL, t.made, t.attended, t.no_show, t.cancelled, t.booked])
    _sheet(wb.create_sheet("预约接待"), BOOKING_HEADERS, booking_rows, BOOKING_WIDTHS)
    official_rows = [
        [o.name, o.unit, o.post, o.sessions, o.hours, o.taken, o.dispatched, o.answered] for o in made.officials
    ]
    _sheet(wb.create_sheet("部门人员进站"), OFFICIAL_HEADERS, official_rows, OFFICIAL_WIDTHS)
    meeting_rows = [
        [m.name or TOTAL_LABEL, m.held, m.ratings, m.satisfied, _rate(m.satisfied, m.ratings)]
        for m in [*made.meetings, *([made.meetings_total] if made.meetings else [])]
    ]
    _sheet(wb.create_sheet("述职评议"), MEETING_HEADERS, meeting_rows, MEETING_WIDTHS)
    if suggestions is not None:
        lines = [_suggestion_line(name, counts) for name, counts in suggestions.rows]
        if lines:
            lines.append(_suggestion_line(TOTAL_LABEL, suggestions.total))
        _sheet(wb.create_sheet("代表建议办理"), SUGGESTION_HEADERS, lines, SUGGESTION_WIDTHS)
    notes = [
        ["统计期间", f"{made.period.start.isoformat()} 至 {made.period.end.isoformat()}"],
        ["导出时间", _local(now)],
        ["口径", "进站履职只计已签退且经核验或确认的记录；办结、满意率按期间内办结的诉求统计；满意含基本满意"],
        [
            "代表建议",
            "按主办单位统计：期间交办、期间答复（分A、B、C类）、按期答复率、答复满意率；"
            "落实满意率按期间内办结的建议统计",
        ],
    ]
    _sheet(wb.create_sheet(NOTE_SHEET), ("项目", "内容"), notes, (12, 80))
    wb.properties.title = "代表履职信息通报"
    return _saved(wb)


def activity_filenames(period) -> tuple[str, str]:
    stamp = f"{period.start.strftime('%Y%m%d')}-{period.end.strftime('%Y%m%d')}"
    return f"履职信息通报-{stamp}.xlsx", f"activity-{stamp}.xlsx"


def record_activity_export(actor: User, made) -> None:
    log(
        actor,
        "figures.exported",
        period=[made.period.start.isoformat(), made.period.end.isoformat()],
        representatives=len(made.representatives),
        stations=len(made.bookings),
        officials=len(made.officials),
        meeting_regions=len(made.meetings),
    )


# --- a draft law's comments (立法意见征集), per article ----------------------------------------

DRAFT_SUMMARY_HEADERS = ("条款", "意见总数", "采纳", "合并", "未采纳", "待审核")
DRAFT_SUMMARY_WIDTHS = (14, 10, 8, 8, 8, 8)
DRAFT_COMMENT_HEADERS = (
    "条款",
    "意见编号",
    "提交时间",
    "联系点",
    "意见内容",
    "处理结果",
    "合并至",
    "处理说明",
    "提出人",
)
DRAFT_COMMENT_WIDTHS = (14, 10, 17, 30, 60, 12, 10, 30, 20)
WHOLE_DRAFT = "草案整体"


def _item_label(item) -> str:
    return item.label if item is not None else WHOLE_DRAFT


def draft_comments_xlsx(draft, comments: list, now: datetime) -> bytes:
    """One sheet counting the comments per article by outcome, one sheet of every comment
    grouped by article (in the order of the text), and what was exported. Contacts masked:
    the file is sent up to the legislature, which does not call residents back."""
    from models.enums import DraftCommentStatus as CS
    from services.drafts import masked_contact, summary

    with force_locale("zh_Hans"):
        rows = summary(draft, comments)
        order = (CS.ACCEPTED, CS.MERGED, CS.REJECTED, CS.PENDING)  # the headers' order
        counted = [[_item_label(r.item), r.total, *(r.counts[s] for s in order)] for r in rows]
        listed = []
        for c in comments:
            decided = [e for e in c.events if e.to_status == c.status and e.to_status != CS.PENDING]
            listed.append(
                [
                    _item_label(c.item),
                    c.id,
                    _local(c.created_at),
                    c.station.name,
                    c.content,
                    c.status.label,
                    c.merged_into_id or "",
                    decided[-1].note if decided else "",
                    masked_contact(c),
                ]
            )
    total = [TOTAL_LABEL, sum(r.total for r in rows), *(sum(r.counts[s] for r in rows) for s in order)]
    wb = Workbook(write_only=True)
    _sheet(wb.create_sheet("按条款汇总"), DRAFT_SUMMARY_HEADERS, [*counted, total], DRAFT_SUMMARY_WIDTHS)
    _sheet(wb.create_sheet("意见明细"), DRAFT_COMMENT_HEADERS, listed, DRAFT_COMMENT_WIDTHS)
    notes = [
        ["草案", draft.title],
        ["起草单位", draft.issuing_body],
        ["征求意见截止", _local(draft.closes_at)],
        ["导出时间", _local(now)],
        ["说明", "提出人姓名、手机号已遮蔽；“合并至”为所合并到的意见编号"],
    ]
    _sheet(wb.create_sheet(NOTE_SHEET), ("项目", "内容"), notes, (14, 80))
    wb.properties.title = f"{draft.title} 意见汇总"
    return _saved(wb)


def draft_filenames(draft) -> tuple[str, str]:
    return f"{draft.title}-意见汇总.xlsx", f"draft-{draft.id}-comments.xlsx"


def record_draft_export(actor: User, draft, comments: list, fmt: str) -> None:
    log(actor, "draft.exported", draft, format=fmt, comments=len(comments))
