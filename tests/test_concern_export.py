"""The inbox as a file: the same filter and scope as on screen, fixed Chinese columns,
contact details masked unless the exporter may call the resident back, formula-like text
kept as text, one audit entry per export, and who may export at all."""

import csv
import io
import types
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from extensions import db as _db
from models import AuditLog, Concern, ContactDisclosure
from models.enums import ConcernStatus as S
from models.enums import Rating, RegionLevel, Role
from services import exports
from services.inbox import InboxFilter
from tests import factories
from tests.helpers import login
from views.util import download

NASTY = '=HYPERLINK("http://evil.example","点我")，小区路灯坏了两个月'
NOW = datetime(2025, 4, 1, 4, 0)


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def disclosed(concern) -> list[int]:
    """The audit rows that showed this concern's contact details in full."""
    fresh()
    return list(
        _db.session.scalars(sa.select(ContactDisclosure.audit_id).where(ContactDisclosure.concern_id == concern.id))
    )


def audit() -> list[AuditLog]:
    fresh()
    return list(_db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "concern.exported")))


@pytest.fixture
def world(db):
    county = factories.region("41168100", "项城市", RegionLevel.COUNTY)
    st_a = factories.station(name="花园街道联络站", region=county)
    st_b = factories.station(name="水寨街道联络站", region=county)
    unit = factories.unit(name="项城市住建局", region_obj=county)
    rep = factories.representative(stations=[st_a], name="李代表")
    cat = factories.category(name_zh="城乡建设")
    consent = datetime(2025, 3, 1, 1)
    with_contact = factories.concern(
        st_a,
        cat,
        content=NASTY,
        contact_name="张三丰",
        contact_mobile="13812345678",
        consent_at=consent,
        created_at=datetime(2025, 3, 1, 1),
        status=S.DISPATCHED,
        assigned_rep=rep,
        unit=unit,
        due_at=datetime(2025, 3, 20, 9),
    )
    without_contact = factories.concern(
        st_a,
        cat,
        created_at=datetime(2025, 3, 2, 1),
        status=S.CLOSED,
        closed_at=datetime(2025, 3, 9, 1),
        rating_unit=Rating.SATISFIED.value,
        rating_rep=Rating.BASICALLY_SATISFIED.value,
    )
    other = factories.concern(
        st_b,
        cat,
        content="水寨街道的下水道堵了，雨天积水很深。",
        contact_name="李四",
        contact_mobile="13900001111",
        consent_at=consent,
        created_at=datetime(2025, 3, 3, 1),
    )
    people = {
        "manager_a": factories.user(Role.STATION_MANAGER, managed_stations=[st_a]),
        "staff": factories.user(Role.CONGRESS_STAFF, region=county),
        "admin": factories.user(Role.ADMIN),
        "handler": factories.user(Role.UNIT_HANDLER, unit=unit),
        "rep": rep.user,
    }
    _db.session.commit()
    return {
        "a": st_a,
        "b": st_b,
        "with_contact": with_contact,
        "without_contact": without_contact,
        "other": other,
        **people,
    }


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def by_code(rows, concern):
    code = concern.tracking_code
    return next(r for r in rows if r[0].replace("-", "") == code)


COL = {name: i for i, name in enumerate(exports.CONCERN_HEADERS)}


# --- the files -------------------------------------------------------------------------------------


def test_csv_has_a_bom_the_fixed_header_and_masked_contacts_by_default(client, world):
    login(client, world["manager_a"])
    response = client.get("/manage/concerns/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="concerns-')
    rows = read_csv(response.data)
    assert tuple(rows[0]) == exports.CONCERN_HEADERS
    assert len(rows) == 3  # the header and station A's two concerns; never station B's
    assert all(r[COL["联络站"]] == "花园街道联络站" for r in rows[1:])
    row = by_code(rows[1:], world["with_contact"])
    # Even the station's manager, who may call the resident back, gets them masked unasked.
    assert (row[COL["联系人"]], row[COL["联系电话"]]) == ("张**", "138****5678")
    assert "13812345678" not in response.text
    # Formula-like content is neutralised in a CSV.
    assert row[COL["内容"]] == "'" + NASTY
    (entry,) = audit()
    assert entry.actor_id == world["manager_a"].id
    assert entry.data["rows"] == 2 and entry.data["format"] == "csv"
    assert entry.data["contact_unmasked"] is False and entry.data["unmasked_rows"] == 0
    assert entry.data["truncated"] is False and entry.data["purpose"] == ""
    assert disclosed(world["with_contact"]) == []


PURPOSE = "回访群众，通知道路施工协调会"


def test_full_contacts_only_with_a_purpose_which_is_recorded_with_the_concerns(client, world):
    login(client, world["manager_a"])
    url = "/manage/concerns/export-contacts"
    page = client.get(url, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and 'name="purpose"' in page.text
    # No purpose (or a blank one): the form again with the reason, no file, nothing recorded.
    for purpose in ("", "   ", "ab"):
        response = client.post(url, data={"purpose": purpose, "fmt": "csv"}, headers={"Accept-Language": "en"})
        assert response.status_code == 422 and response.mimetype == "text/html"
        assert "Please fill this in." in response.text or "Please say why" in response.text
    assert audit() == []

    response = client.post(url, data={"purpose": PURPOSE, "fmt": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    row = by_code(read_csv(response.data)[1:], world["with_contact"])
    assert (row[COL["联系人"]], row[COL["联系电话"]]) == ("张三丰", "13812345678")
    (entry,) = audit()
    assert entry.data["purpose"] == PURPOSE and entry.data["unmasked_rows"] == 1
    assert "13812345678" not in str(entry.data)
    # Which concerns' contacts left in full: the one with contacts, not the one without.
    assert disclosed(world["with_contact"]) == [entry.id]
    assert disclosed(world["without_contact"]) == []


def test_the_full_export_follows_the_filter_and_the_xlsx_says_why(client, world):
    login(client, world["manager_a"])
    response = client.post(
        "/manage/concerns/export-contacts",
        query_string={"status": "closed"},
        data={"purpose": PURPOSE, "fmt": "xlsx"},
    )
    book = load_workbook(io.BytesIO(response.data))
    assert book["诉求"].max_row == 2  # the header and the closed one, which has no contacts
    assert dict(book["说明"].iter_rows(values_only=True))["导出用途"] == PURPOSE
    (entry,) = audit()
    assert entry.data["filter"]["status"] == "closed" and entry.data["unmasked_rows"] == 0
    assert disclosed(world["with_contact"]) == []


def test_a_full_export_by_staff_who_may_not_see_contacts_is_refused(client, world):
    login(client, world["staff"])
    assert client.get("/manage/concerns/export-contacts").status_code == 403
    assert client.post("/manage/concerns/export-contacts", data={"purpose": PURPOSE}).status_code == 403
    assert "export-contacts" not in client.get("/manage/concerns").text
    login(client, world["manager_a"])
    assert "export-contacts" in client.get("/manage/concerns").text
    assert audit() == []


def test_the_concern_page_says_who_saw_the_contact(client, world):
    concern = world["with_contact"]
    login(client, world["manager_a"])
    client.post("/manage/concerns/export-contacts", data={"purpose": PURPOSE, "fmt": "csv"})
    assert client.post(f"/manage/concerns/{concern.id}/contact").status_code == 200
    page = client.get(f"/manage/concerns/{concern.id}", headers={"Accept-Language": "en"}).text
    section = page[page.index('id="who-saw"') :]
    section = section[: section.index("</details>")]
    assert "Who saw the contact details (2)" in section
    assert "exported them in full" in section and "purpose: " + PURPOSE in section
    assert "showed them in full" in section
    assert section.count(world["manager_a"].display_name) == 2
    # Staff who may not see the contact do not see who did either.
    login(client, world["staff"])
    assert 'id="who-saw"' not in client.get(f"/manage/concerns/{concern.id}").text


def test_xlsx_opens_and_staff_see_contacts_masked(client, world):
    login(client, world["staff"])
    response = client.get("/manage/concerns/export.xlsx", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["诉求"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert tuple(rows[0]) == exports.CONCERN_HEADERS
    assert len(rows) == 4  # the whole county
    row = by_code(rows[1:], world["with_contact"])
    assert (row[COL["联系人"]], row[COL["联系电话"]]) == ("张**", "138****5678")
    row_b = by_code(rows[1:], world["other"])
    assert (row_b[COL["联系人"]], row_b[COL["联系电话"]]) == ("李*", "139****1111")
    # The labels are Chinese whatever language the exporter reads; dates are real dates.
    assert row[COL["状态"]] == "已交承办单位办理"
    assert row[COL["环节"]] == "人大派单"
    assert row[COL["代表"]] == "李代表" and row[COL["承办单位"]] == "项城市住建局"
    assert row[COL["是否超期"]] == "是"
    assert isinstance(row[COL["提交时间"]], datetime)
    assert row[COL["提交时间"]] == datetime(2025, 3, 1, 9)  # China time
    # A formula-like cell stays text: a spreadsheet shows it and never runs it.
    cell = sheet.cell(row=1 + [r[0] for r in rows].index(row[0]), column=COL["内容"] + 1)
    assert cell.value == NASTY and cell.data_type == "s"
    notes = dict(book["说明"].iter_rows(values_only=True))
    assert notes["条数"] == 3 and "注意" not in notes
    (entry,) = audit()
    assert entry.data["contact_unmasked"] is False and entry.data["format"] == "xlsx" and entry.data["rows"] == 3
    assert "13812345678" not in str(entry.data)


def test_admins_see_contacts_masked_too(client, world):
    login(client, world["admin"])
    rows = read_csv(client.get("/manage/concerns/export.csv").data)
    row = by_code(rows[1:], world["with_contact"])
    assert (row[COL["联系人"]], row[COL["联系电话"]]) == ("张**", "138****5678")
    assert "13812345678" not in str(rows)


def test_export_follows_the_inbox_filter(client, world):
    login(client, world["staff"])
    rows = read_csv(client.get("/manage/concerns/export.csv", query_string={"station": world["b"].id}).data)
    assert [r[0].replace("-", "") for r in rows[1:]] == [world["other"].tracking_code]
    rows = read_csv(client.get("/manage/concerns/export.csv", query_string={"status": "closed"}).data)
    assert [r[0].replace("-", "") for r in rows[1:]] == [world["without_contact"].tracking_code]
    rows = read_csv(client.get("/manage/concerns/export.csv", query_string={"q": "下水道"}).data)
    assert len(rows) == 2
    entries = audit()
    assert [e.data["filter"].get("station") for e in entries] == [str(world["b"].id), None, None]
    assert entries[1].data["filter"]["status"] == "closed" and entries[2].data["filter"]["q"] == "下水道"


def test_a_cut_export_says_so(client, world, monkeypatch):
    monkeypatch.setattr(exports, "CONCERN_EXPORT_LIMIT", 2)
    login(client, world["staff"])
    english = {"Accept-Language": "en"}  # the message is worded in the exporting user's language
    book = load_workbook(io.BytesIO(client.get("/manage/concerns/export.xlsx", headers=english).data))
    assert book["诉求"].max_row == 3  # the header and the two newest
    notes = dict(book["说明"].iter_rows(values_only=True))
    assert "2" in notes["注意"]
    (entry,) = audit()
    assert entry.data["truncated"] is True and entry.data["rows"] == 2
    # The message waits for the next page the user opens.
    page = client.get("/manage/figures", headers={"Accept-Language": "en"})
    assert "newest 2 concerns" in page.text


# --- who may export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_who_may_export(client, world, fmt):
    url = f"/manage/concerns/export.{fmt}"
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for who in ("handler", "rep"):
        login(client, world[who])
        assert client.get(url).status_code == 403, who
    assert audit() == []
    assert client.get("/manage/concerns/export.pdf").status_code == 404


# --- the pieces ---------------------------------------------------------------------------------------


def test_masks():
    assert exports.mask_mobile("13812345678") == "138****5678"
    assert exports.mask_mobile("") == "" and exports.mask_mobile(None) == ""
    assert exports.mask_mobile("12345") == "****"
    assert exports.mask_name("张三丰") == "张**" and exports.mask_name("欧阳娜娜") == "欧***"
    assert exports.mask_name("司马相如的后人") == "司***" and exports.mask_name(None) == ""


def _csv_rows(export) -> list[list[str]]:
    with export.file as file:
        return read_csv(file.read())[1:]


def test_service_masks_each_row_by_permission(world):
    masked = exports.concern_export(world["manager_a"], InboxFilter(), NOW, "csv")
    assert masked.unmasked == 0 and not masked.truncated and masked.rows == 2 and len(_csv_rows(masked)) == 2
    manager = exports.concern_export(world["manager_a"], InboxFilter(), NOW, "csv", purpose=PURPOSE)
    assert manager.unmasked_ids == [world["with_contact"].id] and manager.purpose == PURPOSE
    assert exports.concern_export(world["manager_a"], InboxFilter(), NOW, purpose="  ").unmasked == 0
    staff = exports.concern_export(world["staff"], InboxFilter(), NOW, "csv", purpose=PURPOSE)
    assert staff.unmasked == 0 and staff.rows == 3 and len(_csv_rows(staff)) == 3
    cut = exports.concern_export(world["staff"], InboxFilter(), NOW, "csv", limit=1)
    assert cut.truncated and cut.rows == 1
    # Newest first, as in the inbox.
    (row,) = _csv_rows(cut)
    assert row[0].replace("-", "") == world["other"].tracking_code


def test_control_characters_do_not_break_the_xlsx(world):
    world["other"].content = "水寨街道的下水道堵了\x07，雨天积水很深。"
    fresh()
    export = exports.concern_export(world["staff"], InboxFilter(), NOW)
    assert export.file is not None
    book = load_workbook(export.file)
    contents = [r[COL["内容"]] for r in book["诉求"].iter_rows(min_row=2, values_only=True)]
    assert "水寨街道的下水道堵了，雨天积水很深。" in contents


# --- streamed from a file --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_download_is_streamed_in_chunks_of_the_finished_file(app, client, world, fmt):
    login(client, world["staff"])
    response = client.get(f"/manage/concerns/export.{fmt}", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    body = b"".join(response.response)
    response.close()
    assert int(response.headers["Content-Length"]) == len(body) > 0
    with app.test_request_context():
        export = exports.concern_export(world["staff"], InboxFilter(), NOW, fmt)
        assert export.file is not None
        made = download(export.file, "application/octet-stream", ("x", "x"))
        assert isinstance(made.response, types.GeneratorType)
        assert b"".join(made.response)[:2] == body[:2]  # a zip's PK, or the CSV's BOM
        assert export.file.closed  # the temporary file goes once sent


def test_a_large_export_has_every_row_newest_first_in_both_formats(world, monkeypatch):
    """More rows than one fetch from the database (yield_per) and than one chunk sent."""
    monkeypatch.setattr(exports, "CONCERN_EXPORT_LIMIT", 1_500)
    start = datetime(2025, 3, 10, 1)  # after the world's concerns
    _db.session.add_all(
        Concern(
            tracking_code=f"B{n:07d}",
            station=world["a"],
            category=world["with_contact"].category,
            content=f"第{n}号：小区门口的路灯坏了，晚上出行很不方便。",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(1_600)
    )
    fresh()
    xlsx = exports.concern_export(world["staff"], InboxFilter(q="路灯"), NOW)
    assert xlsx.rows == 1_500 and xlsx.truncated
    book = load_workbook(xlsx.file, read_only=True)
    codes = [r[0] for r in book["诉求"].iter_rows(min_row=2, values_only=True)]
    # The newest 1,500 of those with the word (the world's own are older than all).
    assert codes == [exports.format_tracking_code(f"B{n:07d}") for n in range(1_599, 99, -1)]
    notes = dict(book["说明"].iter_rows(values_only=True))
    assert notes["条数"] == 1_500 and "1500" in notes["注意"]
    book.close()
    csv_export = exports.concern_export(world["staff"], InboxFilter(q="路灯"), NOW, "csv")
    assert [r[0] for r in _csv_rows(csv_export)] == codes
