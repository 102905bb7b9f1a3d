"""The working-day calendar for administrators: /admin/calendar (who may open it, entering a
year's schedule as CSV or one day at a time, removing a day) and `flask calendar import|show`."""

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AuditLog, CalendarDay
from models.enums import RegionLevel, Role
from tests import factories
from tests.helpers import login

EN = {"Accept-Language": "en"}
NOTICE_2027 = "date,type,name\n2027-02-06,holiday,春节\n2027-02-08,holiday,春节\n2027-02-14,workday,春节调休\n"
BAD_NOTICE = "date,type,name\n2027-02-06,holiday,春节\n2027-02-30,holiday,春节\n2027-02-14,调,春节调休\n"


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def entered() -> dict[date, tuple[bool, str]]:
    fresh()
    return {row.day: (row.is_workday, row.name) for row in _db.session.scalars(sa.select(CalendarDay))}


def audit(action: str) -> list[AuditLog]:
    fresh()
    return list(_db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def listed_days(html: str) -> dict[str, str]:
    """The calendar table: ISO date → the text of its row."""
    block = re.search(r'<table class="table calendar-days">(.*?)</table>', html, re.S)
    if block is None:
        return {}
    row = r'<tr>\s*<td class="date"><span class="day">(\d{4}-\d\d-\d\d)(.*?)</tr>'
    rows = re.findall(row, block.group(1), re.S)
    return {day: text_of(rest) for day, rest in rows}


@pytest.fixture
def world(db):
    county = factories.region("411681", "项城市", RegionLevel.COUNTY)
    station = factories.station(region=county)
    admin = factories.user(Role.ADMIN, username="root", display_name="系统管理员")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    db.session.commit()
    return {"admin": admin, "manager": manager, "county": county}


@pytest.fixture
def admin_client(client, world, monkeypatch):
    # The page warns about this year and the next; fix "today" so the years are known.
    monkeypatch.setattr("views.admin.local_today", lambda: date(2026, 11, 20))
    login(client, world["admin"])
    return client


def calendar_urls() -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/calendar"),
        ("POST", "/admin/calendar/import"),
        ("POST", "/admin/calendar/days"),
        ("POST", "/admin/calendar/days/2027-02-06/delete"),
        ("POST", "/admin/calendar/2027/complete"),
    ]


def test_anonymous_is_sent_to_the_login_page(client, world):
    for method, url in calendar_urls():
        resp = client.open(url, method=method, data={"text": NOTICE_2027, "day": "2027-02-06", "kind": "holiday"})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), url
    assert entered() == {}


@pytest.mark.parametrize("role", [Role.STATION_MANAGER, Role.CONGRESS_STAFF, Role.REPRESENTATIVE])
def test_other_roles_are_refused(client, world, role):
    kw = {Role.STATION_MANAGER: {}, Role.CONGRESS_STAFF: {"region": world["county"]}}.get(role, {})
    someone = world["manager"] if role == Role.STATION_MANAGER else factories.user(role, **kw)
    login(client, someone)
    for method, url in calendar_urls():
        resp = client.open(url, method=method, data={"text": NOTICE_2027, "day": "2027-02-06", "kind": "holiday"})
        assert resp.status_code == 403, url
    assert entered() == {}
    page = client.get("/")
    assert "/admin/calendar" not in page.get_data(as_text=True)


def test_the_page_says_which_years_are_not_known(admin_client):
    resp = admin_client.get("/admin/calendar", headers=EN)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    text = text_of(html)
    assert "No official schedule for 2027 yet" in text
    assert "counted on weekdays only" in text
    assert "No official schedule for 2026" not in text
    assert "2004–2026" in text  # the library's years
    # This year (2026) from the library, with its make-up Saturday and the National Day holidays.
    days = listed_days(html)
    assert "Make-up working day" in days["2026-02-14"] and "Spring Festival" in days["2026-02-14"]
    assert "Public holiday" in days["2026-10-01"] and "National Day" in days["2026-10-01"]
    assert "Remove" not in days["2026-10-01"]  # library days cannot be removed here
    # The link in the bar for administrators.
    assert 'href="/admin/calendar"' in html


def test_the_days_name_column_is_not_a_persons_name(admin_client):
    html = admin_client.get("/admin/calendar").get_data(as_text=True)
    header = re.search(r"<thead>.*?</thead>", html, re.S).group(0)
    assert "名称" in header and "姓名" not in header


def test_an_unknown_year_shows_no_days(admin_client):
    html = admin_client.get("/admin/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "Not known: deadlines in this year are counted on weekdays only." in text_of(html)
    assert listed_days(html) == {}


def test_pasting_a_schedule_makes_the_year_known(admin_client, world):
    resp = admin_client.post(
        "/admin/calendar/import?year=2026", data={"text": NOTICE_2027.replace("workday", "班")}, headers=EN
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/calendar?year=2027")
    assert entered() == {
        date(2027, 2, 6): (False, "春节"),
        date(2027, 2, 8): (False, "春节"),
        date(2027, 2, 14): (True, "春节调休"),
    }
    (log,) = audit("calendar.imported")
    assert log.actor_id == world["admin"].id and log.data["years"] == [2027]
    assert (log.data["holidays"], log.data["workdays"]) == (2, 1)

    page = admin_client.get(resp.headers["Location"], headers=EN)
    html = page.get_data(as_text=True)
    assert "Schedule saved for 2027: 2 days off and 1 working days" in text_of(html)
    assert "No official schedule for 2027" not in text_of(html)
    days = listed_days(html)
    assert set(days) == {"2027-02-06", "2027-02-08", "2027-02-14"}
    assert "Public holiday" in days["2027-02-08"] and "Remove" in days["2027-02-08"]
    assert "Make-up working day" in days["2027-02-14"]


def test_uploading_a_csv_file_with_a_bom(admin_client):
    data = {"file": (io.BytesIO(("\ufeff" + NOTICE_2027).encode()), "2027.csv"), "text": ""}
    resp = admin_client.post("/admin/calendar/import", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert len(entered()) == 3


def test_uploading_an_excel_gbk_file(admin_client):
    data = {"file": (io.BytesIO(NOTICE_2027.encode("gb18030")), "2027.csv")}
    resp = admin_client.post("/admin/calendar/import", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert entered()[date(2027, 2, 14)] == (True, "春节调休")


def test_a_bad_file_stores_nothing_and_names_the_lines(admin_client):
    data = {"file": (io.BytesIO(BAD_NOTICE.encode()), "2027.csv")}
    resp = admin_client.post("/admin/calendar/import", data=data, content_type="multipart/form-data", headers=EN)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    text = text_of(html)
    assert "Nothing was saved" in text
    assert "Line 3: “2027-02-30” is not a date." in text
    assert "Line 4: “调” is not a type." in text
    assert "Line 2" not in text
    # The file's lines are in the text box, to be corrected there.
    assert "2027-02-30,holiday,春节" in html
    assert entered() == {}
    assert audit("calendar.imported") == []


def test_a_bad_paste_stores_nothing(admin_client):
    resp = admin_client.post(
        "/admin/calendar/import", data={"text": NOTICE_2027 + "2027-02-14,holiday,x\n"}, headers=EN
    )
    assert resp.status_code == 422
    assert "Line 5: 2027-02-14 is already on line 4 with the other type." in text_of(resp.get_data(as_text=True))
    assert entered() == {}


def test_an_empty_submission_says_what_to_do(admin_client):
    resp = admin_client.post("/admin/calendar/import", data={"text": "  "}, headers=EN)
    assert resp.status_code == 422
    assert "There is no day in it." in text_of(resp.get_data(as_text=True))


def test_the_errors_are_in_chinese_by_default(admin_client):
    resp = admin_client.post("/admin/calendar/import", data={"text": BAD_NOTICE})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "2027-02-30" in html  # the line's own value is quoted whatever the language


def test_adding_one_day_and_removing_it(admin_client, world):
    resp = admin_client.post("/admin/calendar/days", data={"day": "2027-10-01", "kind": "holiday", "name": "国庆节"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("year=2027")
    assert entered() == {date(2027, 10, 1): (False, "国庆节")}
    resp = admin_client.post("/admin/calendar/days", data={"day": "2027-10-01", "kind": "workday", "name": ""})
    assert entered() == {date(2027, 10, 1): (True, "")}
    assert len(audit("calendar.day_set")) == 2

    resp = admin_client.post("/admin/calendar/days/2027-10-01/delete", headers=EN)
    assert resp.status_code == 303
    assert entered() == {}
    (log,) = audit("calendar.day_deleted")
    assert log.actor_id == world["admin"].id and log.data["day"] == "2027-10-01"
    page = admin_client.get(resp.headers["Location"], headers=EN)
    assert "2027-10-01 removed from the calendar." in text_of(page.get_data(as_text=True))
    # A second click finds nothing to remove and changes nothing.
    assert admin_client.post("/admin/calendar/days/2027-10-01/delete").status_code == 303
    assert len(audit("calendar.day_deleted")) == 1


def test_a_bad_day_form_is_shown_again(admin_client):
    resp = admin_client.post("/admin/calendar/days", data={"day": "2027-02-30", "kind": "holiday"}, headers=EN)
    assert resp.status_code == 422
    assert "Please enter a date such as 2027-02-06." in text_of(resp.get_data(as_text=True))
    resp = admin_client.post(
        "/admin/calendar/days", data={"day": "2027-02-06", "kind": "holiday", "name": "长" * 41}, headers=EN
    )
    assert resp.status_code == 422
    assert "Please keep it to 40 characters." in text_of(resp.get_data(as_text=True))
    assert entered() == {}


def test_removing_a_malformed_date_is_not_found(admin_client):
    assert admin_client.post("/admin/calendar/days/2027-13-01/delete").status_code == 404
    assert admin_client.post("/admin/calendar/days/nonsense/delete").status_code == 404


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_changes_need_the_csrf_token(admin_client):
    _db.session.add(CalendarDay(day=date(2027, 2, 6), is_workday=False, name="春节"))
    fresh()
    assert admin_client.post("/admin/calendar/days/2027-02-06/delete").status_code == 400
    assert admin_client.post("/admin/calendar/import", data={"text": NOTICE_2027}).status_code == 400
    assert entered() == {date(2027, 2, 6): (False, "春节")}
    # The page carries the token in each of its forms.
    html = admin_client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert html.count('name="csrf_token"') >= 3


# --- flask calendar -----------------------------------------------------------------------


def test_cli_import_and_show(runner, world, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text("\ufeff" + NOTICE_2027, encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Saved 2027: days off 2, working days 1" in result.output
    assert len(entered()) == 3
    (log,) = audit("calendar.imported")
    assert log.actor_id is None

    result = runner.invoke(args=["calendar", "show", "2027"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "2027: entered by an administrator."
    assert "2027-02-08 Mon  holiday          春节" in lines
    assert "2027-02-14 Sun  make-up workday  春节调休" in lines


def test_cli_import_refuses_a_bad_file(runner, world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_NOTICE, encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 1
    assert "Nothing was saved." in result.output
    assert "Line 3: “2027-02-30” is not a date. Write it like 2027-02-06." in result.output
    assert "Line 4: “调” is not a type." in result.output
    assert entered() == {}


def test_cli_show_a_library_year(runner, world):
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("2026: from the holiday library")
    assert "2026-02-14 Sat  make-up workday  Spring Festival" in lines
    assert "2026-10-01 Thu  holiday          National Day" in lines
    assert "2026-10-10 Sat  make-up workday  National Day" in lines
    assert not any(line.startswith("2026-10-03") for line in lines)  # a Saturday off is ordinary


def test_cli_show_an_unknown_year(runner, world):
    result = runner.invoke(args=["calendar", "show", "2028"])
    assert result.exit_code == 0
    assert "2028: no official schedule. Deadlines in 2028 are counted on weekdays only." in result.output


def test_a_year_with_some_days_says_so_and_can_be_marked_complete(admin_client, world):
    _db.session.add(CalendarDay(day=date(2027, 2, 6), is_workday=False, name="春节"))
    fresh()
    html = admin_client.get("/admin/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "not yet the whole schedule" in text_of(html) and "No official schedule for 2027 yet" in text_of(html)
    resp = admin_client.post("/admin/calendar/2027/complete")
    assert resp.status_code == 303
    html = admin_client.get("/admin/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "not yet the whole schedule" not in text_of(html) and "No official schedule for 2027" not in text_of(html)
    assert audit("calendar.year_completed")
    assert admin_client.post("/admin/calendar/1800/complete").status_code == 404
