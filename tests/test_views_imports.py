"""The import pages (/manage/import): who may enter, upload → preview → apply, a refused
file, someone else's upload, a double apply. Assertions are on status codes, redirects,
rows and ids, and on the values the sheet holds, not on wording."""

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from extensions import db as _db
from models import AuditLog, ImportUpload, Representative, Station
from models.enums import RegionLevel, Role
from services import imports
from tests import factories
from tests.helpers import login

REP_HEAD = "姓名,手机号,代表层级,联络站"


@pytest.fixture
def cast(db):
    city = factories.region(code="411600", name="周口市", level=RegionLevel.CITY)
    xc = factories.region(code="411681", name="项城市", parent=city)
    dc = factories.region(code="411625", name="郸城县", parent=city)
    station = factories.station(region=xc, name="花园站")
    cast = {
        "xc": xc,
        "station": station,
        "staff": factories.user(Role.CONGRESS_STAFF, region_id=xc.id),
        "other_staff": factories.user(Role.CONGRESS_STAFF, region_id=dc.id),
        "admin": factories.user(Role.ADMIN),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[station]),
    }
    db.session.commit()
    return cast


def sheet(*lines: str, encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(lines).encode(encoding)


def post_upload(client, kind: str, content: bytes, name: str = "reps.csv"):
    data = {"kind": kind, "file": (io.BytesIO(content), name)}
    return client.post("/manage/import", data=data, content_type="multipart/form-data")


def upload_id(resp) -> int:
    assert resp.status_code == 303, resp.status_code
    return int(re.search(r"/manage/import/(\d+)$", resp.headers["Location"]).group(1))


def fresh():
    _db.session.commit()
    _db.session.expire_all()


def count(model) -> int:
    fresh()
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_who_may_import_what(client, cast):
    assert client.get("/manage/import").status_code == 302  # to the sign-in page
    login(client, cast["manager"])
    assert client.get("/manage/import").status_code == 403
    login(client, cast["staff"])
    page = client.get("/manage/import").get_data(as_text=True)
    assert 'id="kind-stations"' in page and 'id="kind-categories"' not in page
    assert client.get("/manage/import/template/categories.xlsx").status_code == 404
    # A forged kind is refused with the form again.
    assert post_upload(client, "categories", sheet("名称", "物业")).status_code == 422
    assert post_upload(client, "regions", sheet("名称", "物业")).status_code == 422
    login(client, cast["admin"])
    assert 'id="kind-categories"' in client.get("/manage/import").get_data(as_text=True)


def test_templates_download_with_the_importers_region(client, cast):
    login(client, cast["staff"])
    resp = client.get("/manage/import/template/stations.xlsx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["联络站", "填写说明"]
    assert "411681" in [c.value for c in book.worksheets[0][2]]
    csv_resp = client.get("/manage/import/template/representatives.csv")
    assert csv_resp.data.startswith("\ufeff姓名,手机号".encode())
    assert client.get("/manage/import/template/units.pdf").status_code == 404


def test_upload_preview_apply_and_a_double_click(client, cast):
    login(client, cast["staff"])
    content = sheet(REP_HEAD, "李春华,13800000001,县,花园站", "王芳,13800000002,乡,花园站")
    uid = upload_id(post_upload(client, "representatives", content))
    preview = client.get(f"/manage/import/{uid}")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="row-2"' in html and 'id="row-3"' in html
    assert "/apply" in html
    assert count(Representative) == 0  # a preview saves nothing
    done = client.post(f"/manage/import/{uid}/apply")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/manage/import/{uid}")
    assert count(Representative) == 2
    again = client.post(f"/manage/import/{uid}/apply")
    assert again.status_code == 303
    assert count(Representative) == 2
    fresh()
    applied = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "import.applied")).all()
    assert len(applied) == 1 and applied[0].data["created"] == 2
    result = client.get(f"/manage/import/{uid}").get_data(as_text=True)
    assert 'class="card import-invitations" aria-labelledby="invite-h" data-new-users="2"' in result
    # Uploading the same sheet again: nothing new, nothing to apply.
    uid2 = upload_id(post_upload(client, "representatives", content))
    html2 = client.get(f"/manage/import/{uid2}").get_data(as_text=True)
    assert "/apply" not in html2


def test_a_sheet_with_errors_lists_them_and_cannot_be_applied(client, cast):
    login(client, cast["staff"])
    content = sheet(REP_HEAD, "李春华,13800000001,县,花园站", ",12345,部,没有的站", encoding="gbk")
    uid = upload_id(post_upload(client, "representatives", content, "代表.csv"))
    html = client.get(f"/manage/import/{uid}?show=error").get_data(as_text=True)
    row = html[html.index('id="row-3"') :]
    for column in ("姓名", "手机号", "代表层级", "联络站"):
        assert f'data-column="{column}"' in row
    assert 'id="row-2"' not in html and "/apply" not in html
    refused = client.post(f"/manage/import/{uid}/apply")
    assert refused.status_code == 422 and 'id="row-3"' in refused.get_data(as_text=True)
    assert count(Representative) == 0


def test_a_file_that_is_not_the_template_is_refused_on_the_form(client, cast):
    login(client, cast["staff"])
    resp = post_upload(client, "stations", sheet("站名,地址", "花园站,莲花大道"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "行政区划代码" in html and "站名" in html  # the missing and the unknown headings
    assert re.search(r'<input checked[^>]*value="stations"', html)  # the choice is kept
    assert count(ImportUpload) == 0
    assert post_upload(client, "stations", b"\xd0\xcf\x11\xe0" + b"\0" * 64, "old.xls").status_code == 422


def test_someone_elses_upload_is_not_found(client, cast):
    login(client, cast["staff"])
    uid = upload_id(post_upload(client, "representatives", sheet(REP_HEAD, "李春华,13800000001,县,花园站")))
    login(client, cast["other_staff"])
    assert client.get(f"/manage/import/{uid}").status_code == 404
    assert client.post(f"/manage/import/{uid}/apply").status_code == 404
    assert client.get("/manage/import/999999").status_code == 404
    assert count(Representative) == 0


def test_stations_import_checks_scope(client, cast):
    login(client, cast["other_staff"])
    content = sheet("名称,类别,行政区划代码", "新站,社区,411681")
    uid = upload_id(post_upload(client, "stations", content))
    html = client.get(f"/manage/import/{uid}").get_data(as_text=True)
    assert 'data-column="行政区划代码"' in html and "/apply" not in html
    assert client.post(f"/manage/import/{uid}/apply").status_code == 422
    assert count(Station) == 1


def test_the_preview_pages_long_lists(client, cast, monkeypatch):
    from views.manage import imports as import_views

    monkeypatch.setattr(import_views, "PAGE_ROWS", 2)
    login(client, cast["staff"])
    lines = [f"代表{n},1380000000{n},县,花园站" for n in range(5)]
    uid = upload_id(post_upload(client, "representatives", sheet(REP_HEAD, *lines)))
    last = client.get(f"/manage/import/{uid}?show=created&page=3").get_data(as_text=True)
    assert 'id="row-6"' in last and 'id="row-5"' not in last
    assert client.get(f"/manage/import/{uid}?show=created&page=999999999999").status_code == 200
    assert imports.MAX_ROWS >= 20_000


def test_the_new_representatives_are_invited_from_the_result_page(client, cast):
    from models import AccountLink, Outbox

    login(client, cast["staff"])
    uid = upload_id(
        post_upload(
            client, "representatives", sheet(REP_HEAD, "李春华,13800001234,县,花园站", "赵明,13800001235,县,花园站")
        )
    )
    # Before the import is applied there is nobody to invite.
    client.post(f"/manage/import/{uid}/invite")
    assert count(AccountLink) == 0
    assert client.post(f"/manage/import/{uid}/apply").status_code == 303
    page = client.get(f"/manage/import/{uid}").get_data(as_text=True)
    assert f"/manage/import/{uid}/invite" in page
    assert client.post(f"/manage/import/{uid}/invite").status_code == 303
    assert count(AccountLink) == 2
    fresh()
    assert {o.recipient for o in _db.session.scalars(sa.select(Outbox))} == {"13800001234", "13800001235"}
    # Everyone has a valid invitation now: the page offers no second round.
    assert f"/manage/import/{uid}/invite" not in client.get(f"/manage/import/{uid}").get_data(as_text=True)
    # A second press sends nothing more (the links are still valid), and another person's
    # upload is not theirs to use.
    client.post(f"/manage/import/{uid}/invite")
    assert count(AccountLink) == 2
    login(client, cast["other_staff"])
    assert client.post(f"/manage/import/{uid}/invite").status_code == 404
