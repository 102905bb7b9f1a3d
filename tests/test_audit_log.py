"""The audit log viewer (/admin/audit): who may open it, its filters, its pages, its export."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from models import AuditLog
from models.enums import Role
from services import audit, audit_log
from services.clock import utc_at
from tests import factories
from tests.helpers import login

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(db):
    region = factories.region()
    admin = factories.user(Role.ADMIN, username="root", display_name="管理员甲")
    staff = factories.user(Role.CONGRESS_STAFF, username="xc_staff", display_name="李工委", region=region)
    station = factories.station(region=region)
    concern = factories.concern(station)
    day1, day2 = utc_at(date(2026, 3, 1), datetime.min.time()), utc_at(date(2026, 3, 5), datetime.min.time())
    entries = [
        audit.log(staff, "concern.contact_viewed", concern, purpose="电话回访"),
        audit.log(admin, "account.switched_off", staff, reason="离岗"),
        audit.log(None, "privacy.purged", None, concerns=3, photos=1),
        audit.log(staff, "station.edited", station),
    ]
    audit.log_change(admin, "unit.edited", station, {"name": "旧名称", "phone": "1"}, {"name": "新名称", "phone": "1"})
    db.session.flush()
    entries[0].created_at = day1 + timedelta(hours=10)
    entries[1].created_at = day2 + timedelta(hours=10)
    db.session.commit()
    return {"admin": admin, "staff": staff, "concern": concern, "station": station, "entries": entries}


def actions(html: str) -> set[str]:
    return {
        a
        for a in ("concern.contact_viewed", "account.switched_off", "privacy.purged", "station.edited", "unit.edited")
        if f'<span class="mono">{a}</span>' in html
    }


def test_only_the_administrator_opens_the_audit_log(client, world, db):
    assert client.get("/admin/audit").status_code == 302  # to the sign-in page
    for role in (Role.STATION_MANAGER, Role.UNIT_HANDLER):
        other = factories.user(role, managed_stations=[world["station"]]) if role == Role.STATION_MANAGER else None
        if other is None:
            other = factories.user(role, unit=factories.unit())
        login(client, other)
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit/export.csv").status_code == 403
    login(client, world["staff"])
    assert client.get("/admin/audit").status_code == 403
    login(client, world["admin"])
    page = client.get("/admin/audit", headers=EN)
    assert page.status_code == 200
    assert actions(page.get_data(as_text=True)) == {
        "concern.contact_viewed",
        "account.switched_off",
        "privacy.purged",
        "station.edited",
        "unit.edited",
    }


def test_entries_read_as_key_value_and_changes_as_before_and_after(client, world):
    login(client, world["admin"])
    html = client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "电话回访" in html and "旧名称 → 新名称" in html
    assert '<dt class="mono">phone</dt>' not in html  # an unchanged field is no change
    assert "Expired personal data erased" in html


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"who": "xc_staff"}, {"concern.contact_viewed", "station.edited"}),
        ({"who": "工委"}, {"concern.contact_viewed", "station.edited"}),
        ({"who": "system"}, {"privacy.purged"}),
        ({"action": "account."}, {"account.switched_off"}),
        ({"action": "concern"}, {"concern.contact_viewed"}),
        ({"type": "station"}, {"station.edited", "unit.edited"}),
        ({"since": "2026-03-01", "until": "2026-03-01"}, {"concern.contact_viewed"}),
        ({"since": "2026-03-02", "until": "2026-03-31"}, {"account.switched_off"}),
    ],
)
def test_filters(client, world, args, expected):
    login(client, world["admin"])
    html = client.get("/admin/audit", query_string=args, headers=EN).get_data(as_text=True)
    assert actions(html) == expected


def test_filter_by_object_type_and_number(client, world):
    login(client, world["admin"])
    args = {"type": "user", "id": world["staff"].id}
    assert actions(client.get("/admin/audit", query_string=args).get_data(as_text=True)) == {"account.switched_off"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"since": "2026-13-40"}, "YYYY-MM-DD"),
        ({"until": "9999-12-31"}, "between the years 2000 and 2100"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "before the first"),
        ({"id": "99999999999999999999"}, "whole number"),
        ({"id": "-1"}, "whole number"),
        ({"type": "Concern;drop"}, "lower-case"),
        ({"action": "%"}, "lower-case letters, digits"),  # no wildcards
        ({"who": "x" * 200}, "60 characters"),
    ],
)
def test_bad_filters_are_named_and_kept(client, world, args, message):
    login(client, world["admin"])
    response = client.get("/admin/audit", query_string=args, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    for value in args.values():
        if len(value) < 60:
            assert f'value="{value}"' in html.replace("&#34;", '"')


def test_keyset_pages_newest_first_without_gaps(app, client, world, db):
    for n in range(7):
        audit.log(world["admin"], f"test.entry_{n}", None)
    db.session.commit()
    seen: list[int] = []
    cursor = None
    while True:
        result = audit_log.page(audit_log.AuditFilter(action="test."), cursor, size=3)
        seen += [e.id for e in result.entries]
        if result.next_cursor is None:
            break
        cursor = result.next_cursor
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    # A cursor that is not one is the first page.
    assert audit_log.page(audit_log.AuditFilter(), "garbage", size=2).entries[0].action in {
        "test.entry_6",
        "unit.edited",
    }
    login(client, world["admin"])
    html = client.get("/admin/audit", query_string={"action": "test.", "after": cursor}).get_data(as_text=True)
    assert "test.entry_0" in html and "test.entry_6" not in html


def test_export_csv_and_xlsx_hold_the_filtered_entries_and_are_recorded(client, world, db):
    login(client, world["admin"])
    response = client.get("/admin/audit/export.csv", query_string={"who": "xc_staff"})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["时间", "操作人", "操作", "对象", "内容"]
    assert sorted(r[2] for r in rows[1:]) == ["concern.contact_viewed", "station.edited"]
    assert any("purpose: 电话回访" in r[4] for r in rows[1:])

    response = client.get("/admin/audit/export.xlsx", query_string={"action": "unit."})
    sheet = load_workbook(io.BytesIO(response.get_data()))["操作日志"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][2] == "unit.edited" and "name: 旧名称 → 新名称" in values[1][4]

    db.session.commit()
    exported = list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "audit.exported")))
    assert [(e.data["format"], e.data["rows"]) for e in exported] == [("csv", 2), ("xlsx", 1)]
    assert exported[0].data["filter"] == {"who": "xc_staff"}


def test_an_export_with_a_bad_filter_is_not_made(client, world):
    login(client, world["admin"])
    response = client.get("/admin/audit/export.csv", query_string={"since": "yesterday"}, headers=EN)
    assert response.status_code == 422 and "YYYY-MM-DD" in response.get_data(as_text=True)


def _audit_codes_in_source() -> set[str]:
    """Every action code written as a literal in a call that logs (audit.log, log_change)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    codes: set[str] = set()
    for path in [
        *root.joinpath("services").rglob("*.py"),
        *root.joinpath("views").rglob("*.py"),
        *root.joinpath("commands").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in ("log", "log_change"):
                continue
            for arg in node.args[:2]:
                values = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
                codes |= {
                    v.value
                    for v in values
                    if isinstance(v, ast.Constant)
                    and isinstance(v.value, str)
                    and "." in v.value
                    and " " not in v.value
                }
    return codes


def test_every_audit_code_the_code_writes_has_words_on_the_audit_page():
    from services.drafts import COMMENT_FLOW
    from services.suggestion_flow import SUGGESTION_FLOW
    from views.audit import TITLES

    codes = _audit_codes_in_source()
    assert len(codes) > 60  # the scan finds the calls
    # Steps logged as "<kind>.<action>" (an f-string the scan cannot read): every step.
    codes |= {f"suggestion.{spec.action}" for spec in SUGGESTION_FLOW}
    codes |= {f"draft.comment.{spec.action}" for spec in COMMENT_FLOW}
    assert sorted(codes - set(TITLES)) == []
