"""Exports of the attendance review, the concern inbox, the audit log and the figures'
activity tables: .xlsx (services/xlsx.py) and CSV (UTF-8 with a BOM).

An export is a file other offices file and compare, so its column headings are a fixed
format in Chinese whatever language the exporting user reads the site in; the labels in
the cells (status, method, level) come from the Chinese catalogue for the same reason.
Cells a spreadsheet would run as a formula are neutralised (CSV/formula injection).

A file is written a row at a time into a temporary file, as the rows come from the
database (yield_per), and sent from there in chunks (stream()): memory stays the same
for 50 rows or 50,000. An .xlsx cell is text in a ZIP and nothing more: it is never a
formula, a link or a number guessed from text.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, cast
from urllib.parse import quote

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import aliased

from extensions import db
from models import Category, Concern, Representative, Station, Unit, User
from models.enums import ConcernStatus, Rating
from services import disclosures
from services.attendance import MonthAttendance, reason_label
from services.audit import log
from services.audit_log import EXPORT_HEADERS, EXPORT_WIDTHS, AuditExport
from services.clock import to_local
from services.codes import format_tracking_code
from services.concern_flow import STAGES, is_overdue, stage_done
from services.inbox import InboxFilter, filter_clauses
from services.limits import EXPORT_PURPOSE_MAX, EXPORT_PURPOSE_MIN
from services.permissions import Permission, can
from services.privacy import mask_mobile, mask_name
from services.xlsx import Rate, Workbook

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


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
CHUNK = 64 * 1024


def xlsx_bytes(book: Workbook) -> bytes:
    """A small workbook whole, for the exports that fit a page's worth of rows."""
    with book.close() as file:
        return file.read()


def stream(file: IO[bytes]) -> Iterator[bytes]:
    """A finished export in chunks, for a streamed response; the file closes at the end."""
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()


def file_size(file: IO[bytes]) -> int:
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    return size


def attendance_xlsx(att: MonthAttendance) -> bytes:
    """Three sheets: per representative (with a total row), the duties, refused check-ins."""
    with force_locale("zh_Hans"):
        summary, duties, attempts = summary_rows(att), duty_rows(att), attempt_rows(att)
    book = Workbook(f"{att.station.name} {att.month} 履职考勤")
    book.sheet("汇总", SUMMARY_HEADERS, summary, (14, 26, 10, 10, 10, 12, 14, 16, 16))
    book.sheet("履职记录", DUTY_HEADERS, duties, (17, 17, 12, 14, 10, 12, 10, 18, 16, 24, 14, 17, 30))
    book.sheet("未通过的签到", ATTEMPT_HEADERS, attempts, (17, 12, 20, 14, 10))
    return xlsx_bytes(book)


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(" ", "minutes")  # 2026-12-01 09:30: strftime's format, faster
    return neutralise(str(value))


def csv_file(headers, rows: Iterable[Iterable]) -> IO[bytes]:
    """UTF-8 with a BOM, which Excel needs to read Chinese correctly; CRLF line ends;
    written into a temporary file a row at a time, and read from its start."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller)
    text = io.TextIOWrapper(file, encoding="utf-8", newline="")
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows([_csv_text(v) for v in values] for values in rows)
    text.flush()
    text.detach()  # the file stays open for the caller
    file.seek(0)
    return file


def _csv_bytes(headers, rows) -> bytes:
    with csv_file(headers, rows) as file:
        return file.read()


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
    made_at: datetime
    purpose: str = ""  # why contact details were asked for in full; "" for a masked export
    rows: int = 0  # counted as they are written
    truncated: bool = False  # more concerns matched than CONCERN_EXPORT_LIMIT
    unmasked_ids: list[int] = field(default_factory=list)  # the concerns whose contact details are given in full
    file: IO[bytes] | None = None  # the finished file, read from its start

    @property
    def unmasked(self) -> int:
        return len(self.unmasked_ids)


def export_query(user: User, f: InboxFilter, now: datetime) -> sa.Select:
    """The inbox under `f` (services.inbox.filter_clauses), newest first, as the plain
    columns of an export line, in the order LineMaker.line unpacks them: loading 50,000 ORM
    objects with their station, category, representative and unit would cost more than
    writing the file."""
    rep_user = aliased(User)
    return (
        sa.select(
            Concern.id,
            Concern.tracking_code,
            Concern.created_at,
            Station.name.label("station"),
            Category.name_zh.label("category"),
            Concern.status,
            Concern.due_at,
            rep_user.display_name.label("rep"),
            Unit.name.label("unit"),
            Concern.content,
            Concern.contact_name,
            Concern.contact_mobile,
            Concern.rounds,
            Concern.rating_unit,
            Concern.rating_rep,
            Concern.closed_at,
        )
        .join(Station, Station.id == Concern.station_id)
        .join(Category, Category.id == Concern.category_id)
        .outerjoin(Representative, Representative.id == Concern.assigned_rep_id)
        .outerjoin(rep_user, rep_user.id == Representative.user_id)
        .outerjoin(Unit, Unit.id == Concern.unit_id)
        .where(*filter_clauses(user, f, now))
        .order_by(Concern.created_at.desc(), Concern.id.desc())
    )


class LineMaker:
    """Export lines from export_query's rows. Made under the Chinese locale: the labels of
    statuses, stages and ratings are looked up once, in Chinese."""

    def __init__(self, now: datetime):
        self.now = now
        self.status = {s: s.label for s in ConcernStatus}
        self.stage = {s: str(STAGES[d][2]) if (d := stage_done(s)) is not None else "" for s in ConcernStatus}
        self.rating = {r.value: r.label for r in Rating}

    def line(self, row, full_contact: bool) -> list:
        # Unpacked once: a Row's attributes by name cost more than the rest of the line.
        (_id, code, created_at, station, category, status, due_at, rep, unit, content) = row[:10]
        (name, mobile, rounds, rating_unit, rating_rep, closed_at) = row[10:]
        if not full_contact:
            name, mobile = mask_name(name), mask_mobile(mobile)
        overdue = is_overdue(cast(Concern, row), self.now)  # the row has the status and due_at it reads
        return [
            format_tracking_code(code),
            _local(created_at),
            station,
            category,
            self.status[status],
            self.stage[status],
            YES if overdue else NO,
            _local(due_at),
            rep or "",
            unit or "",
            content,
            name or "",
            mobile or "",
            rounds,
            self.rating.get(rating_unit, ""),
            self.rating.get(rating_rep, ""),
            _local(closed_at),
        ]


def concern_export(
    user: User, f: InboxFilter, now: datetime, fmt: str = "xlsx", limit: int | None = None, *, purpose: str = ""
) -> ConcernExport:
    """The inbox under filter `f`, as this user sees it, newest first, as a file of format
    `fmt` ("xlsx" or "csv"): every concern in the user's scope that matches, up to `limit`
    (CONCERN_EXPORT_LIMIT). Contact details are masked, unless asked for in full with a
    `purpose` and the user may see that concern's ("concern.view_contact"). The rows go
    into the file as the database sends them: none is kept in memory."""
    purpose = " ".join((purpose or "").split())[:EXPORT_PURPOSE_MAX]
    full_contact = len(purpose) >= EXPORT_PURPOSE_MIN
    export = ConcernExport(now, purpose if full_contact else "")
    with force_locale("zh_Hans"):
        lines = _concern_lines(user, f, export, limit or CONCERN_EXPORT_LIMIT, full_contact)
        if fmt == "csv":
            export.file = csv_file(CONCERN_HEADERS, lines)
        else:
            book = Workbook("诉求清单")
            book.sheet("诉求", CONCERN_HEADERS, lines, CONCERN_WIDTHS)
            # After the rows: the note counts them.
            book.sheet(NOTE_SHEET, ("项目", "内容"), _concern_notes(export, f), (12, 80))
            export.file = book.close()
    return export


def _concern_lines(user: User, f: InboxFilter, export: ConcernExport, limit: int, full_contact: bool):
    """The export's rows, one per concern as the database sends it, counted into `export`.
    Call under the Chinese locale."""
    maker = LineMaker(export.made_at)
    query = export_query(user, f, export.made_at).limit(limit + 1).execution_options(yield_per=2000)
    result = db.session.execute(query)
    try:
        for row in result:
            if export.rows == limit:
                export.truncated = True
                break
            full = (
                full_contact
                and bool(row.contact_name or row.contact_mobile)
                and can(user, Permission.CONCERN_VIEW_CONTACT, db.session.get(Concern, row.id))
            )
            if full:
                export.unmasked_ids.append(row.id)
            export.rows += 1
            yield maker.line(row, full)
    finally:
        result.close()


def _filter_text(f: InboxFilter) -> str:
    # The export is newest first whatever order the inbox shows, so the order is not named.
    args = {k: v for k, v in f.as_args().items() if k != "sort"}
    return "；".join(f"{FILTER_NAMES.get(k, k)}={v}" for k, v in args.items()) or "无"


def _concern_notes(export: ConcernExport, f: InboxFilter) -> list[list]:
    """What was exported and when, for the note sheet of the .xlsx."""
    notes: list[list] = [
        ["导出时间", _local(export.made_at)],
        ["筛选条件", _filter_text(f)],
        ["条数", export.rows],
        ["联系方式", "部分或全部为完整号码，请妥善保管" if export.unmasked else "已隐去部分字符"],
    ]
    if export.purpose:
        notes.append(["导出用途", export.purpose])
    if export.truncated:
        notes.append(
            [
                "注意",
                f"符合条件的诉求超过 {export.rows} 条，只导出了最新的 {export.rows} 条；请缩小筛选范围分批导出",
            ]
        )
    return notes


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
        rows=export.rows,
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


def audit_xlsx(export: AuditExport, filter_args: dict) -> IO[bytes]:
    """The entries on one sheet and what was exported on another."""
    book = Workbook("操作日志")
    book.sheet("操作日志", EXPORT_HEADERS, export.rows, EXPORT_WIDTHS)
    book.sheet(NOTE_SHEET, ("项目", "内容"), _audit_notes(export, filter_args), (12, 80))
    return book.close()


def audit_csv(export: AuditExport, filter_args: dict) -> IO[bytes]:
    return csv_file(EXPORT_HEADERS, export.rows)


def audit_filenames(export: AuditExport, ext: str) -> tuple[str, str]:
    stamp = to_local(export.made_at).strftime("%Y%m%d-%H%M")
    return f"操作日志-{stamp}.{ext}", f"audit-{stamp}.{ext}"


# --- the figures page's activity tables (services.activity) ---------------------------------

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
    return Rate(satisfied / rated) if rated else "—"


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
    book = Workbook("代表履职信息通报")
    if rep_rows:
        rep_rows.append([TOTAL_LABEL, "", "", *_rep_line(made.representatives_total)[3:]])
    book.sheet("代表履职", REP_ACTIVITY_HEADERS, rep_rows, REP_ACTIVITY_WIDTHS)
    booking_rows = [
        [r.name, r.counts.made, r.counts.attended, r.counts.no_show, r.counts.cancelled, r.counts.booked]
        for r in made.bookings
    ]
    if made.bookings:
        t = made.bookings_total
        booking_rows.append([TOTAL_LABEL, t.made, t.attended, t.no_show, t.cancelled, t.booked])
    book.sheet("预约接待", BOOKING_HEADERS, booking_rows, BOOKING_WIDTHS)
    official_rows = [
        [o.name, o.unit, o.post, o.sessions, o.hours, o.taken, o.dispatched, o.answered] for o in made.officials
    ]
    book.sheet("部门人员进站", OFFICIAL_HEADERS, official_rows, OFFICIAL_WIDTHS)
    meeting_rows = [
        [m.name or TOTAL_LABEL, m.held, m.ratings, m.satisfied, _rate(m.satisfied, m.ratings)]
        for m in [*made.meetings, *([made.meetings_total] if made.meetings else [])]
    ]
    book.sheet("述职评议", MEETING_HEADERS, meeting_rows, MEETING_WIDTHS)
    if suggestions is not None:
        lines = [_suggestion_line(name, counts) for name, counts in suggestions.rows]
        if lines:
            lines.append(_suggestion_line(TOTAL_LABEL, suggestions.total))
        book.sheet("代表建议办理", SUGGESTION_HEADERS, lines, SUGGESTION_WIDTHS)
    notes: list[list] = [
        ["统计期间", f"{made.period.start.isoformat()} 至 {made.period.end.isoformat()}"],
        ["导出时间", _local(now)],
        ["口径", "进站履职只计已签退且经核验或确认的记录；办结、满意率按期间内办结的诉求统计；满意含基本满意"],
        [
            "代表建议",
            "按主办单位统计：期间交办、期间答复（分A、B、C类）、按期答复率、答复满意率；"
            "落实满意率按期间内办结的建议统计",
        ],
    ]
    book.sheet(NOTE_SHEET, ("项目", "内容"), notes, (12, 80))
    return xlsx_bytes(book)


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
    book = Workbook(f"{draft.title} 意见汇总")
    book.sheet("按条款汇总", DRAFT_SUMMARY_HEADERS, [*counted, total], DRAFT_SUMMARY_WIDTHS)
    book.sheet("意见明细", DRAFT_COMMENT_HEADERS, listed, DRAFT_COMMENT_WIDTHS)
    notes = [
        ["草案", draft.title],
        ["起草单位", draft.issuing_body],
        ["征求意见截止", _local(draft.closes_at)],
        ["导出时间", _local(now)],
        ["说明", "提出人姓名、手机号已遮蔽；“合并至”为所合并到的意见编号"],
    ]
    book.sheet(NOTE_SHEET, ("项目", "内容"), notes, (14, 80))
    return xlsx_bytes(book)


def draft_filenames(draft) -> tuple[str, str]:
    return f"{draft.title}-意见汇总.xlsx", f"draft-{draft.id}-comments.xlsx"


def record_draft_export(actor: User, draft, comments: list, fmt: str) -> None:
    log(actor, "draft.exported", draft, format=fmt, comments=len(comments))
