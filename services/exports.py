"""Exports of the attendance review: .xlsx (openpyxl) and CSV (UTF-8 with a BOM).

An export is a file other offices file and compare, so its column headings are a fixed
format in Chinese whatever language the exporting user reads the site in; the labels in
the cells (status, method, level) come from the Chinese catalogue for the same reason.
Cells a spreadsheet would run as a formula are neutralised (CSV/formula injection).
"""

import csv
import io
from datetime import datetime
from urllib.parse import quote

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from models import Station, User
from services.attendance import MonthAttendance, reason_label
from services.audit import log
from services.stations import to_local

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
                row.rep.level.title,
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
                d.method.title,
                d.distance_m,
                d.status.title,
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
        [_local(a.created_at), a.representative.name, reason_label(a.reason), a.method.title, a.distance_m]
        for a in att.attempts
    ]


def _sheet(ws, headers, rows, widths) -> None:
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for values in rows:
        ws.append([None] * len(values))
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=ws.max_row, column=col, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text, even "=…": never a formula
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"


def attendance_xlsx(att: MonthAttendance) -> bytes:
    """Three sheets: per representative (with a total row), the duties, refused check-ins."""
    with force_locale("zh_Hans"):
        summary, duties, attempts = summary_rows(att), duty_rows(att), attempt_rows(att)
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    _sheet(ws, SUMMARY_HEADERS, summary, (14, 26, 10, 10, 10, 12, 14, 16, 16))
    _sheet(wb.create_sheet("履职记录"), DUTY_HEADERS, duties, (17, 17, 12, 14, 10, 12, 10, 18, 16, 24, 14, 17, 30))
    _sheet(wb.create_sheet("未通过的签到"), ATTEMPT_HEADERS, attempts, (17, 12, 20, 14, 10))
    wb.properties.title = f"{att.station.name} {att.month} 履职考勤"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return neutralise(str(value))


def attendance_csv(att: MonthAttendance) -> bytes:
    """The per-representative table as CSV: UTF-8 with a BOM, which Excel needs to read
    Chinese correctly, CRLF line ends."""
    with force_locale("zh_Hans"):
        rows = summary_rows(att)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(SUMMARY_HEADERS)
    for values in rows:
        writer.writerow([_csv_text(v) for v in values])
    return buffer.getvalue().encode("utf-8")


def filenames(station: Station, att: MonthAttendance, ext: str) -> tuple[str, str]:
    """The Chinese file name and its ASCII fallback for browsers that need one."""
    return f"{station.name}-履职考勤-{att.month}.{ext}", f"attendance-{station.code}-{att.month}.{ext}"


def content_disposition(name: str, fallback: str) -> str:
    """An attachment header with an RFC 5987 `filename*` and an ASCII `filename`."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in fallback)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def record_export(actor: User, att: MonthAttendance, fmt: str) -> None:
    log(actor, "attendance.exported", att.station, month=str(att.month), format=fmt, rows=len(att.rows))
