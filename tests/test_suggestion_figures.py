"""Suggestion figures per lead unit on known data: classes, on time, satisfaction with the
reply and with the result, within the viewer's scope; on the page and in the .xlsx."""

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from models.enums import Rating, RegionLevel, ReplyClass, Role
from models.enums import SuggestionStatus as S
from services.figures import Period, suggestions_by_unit
from tests import factories
from tests.helpers import login

PERIOD = Period(date(2025, 1, 1), date(2025, 12, 31))
IN = datetime(2025, 5, 10, 2, 0)
BEFORE = datetime(2024, 11, 2, 2, 0)
NOW = datetime(2026, 1, 15, 2, 0)


@pytest.fixture
def world(db):
    county = factories.region(name="项城市", level=RegionLevel.COUNTY)
    other = factories.region(name="源汇区", level=RegionLevel.COUNTY)
    rep = factories.representative(stations=[factories.station(region=county)])
    rep_b = factories.representative(stations=[factories.station(region=other)])
    housing = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    water = factories.unit(region_obj=county, name="项城市水利局")
    b_unit = factories.unit(region_obj=other, name="源汇区教育局")

    def make(author, unit, **kw):
        return factories.suggestion(author, lead_unit=unit, assigned_at=kw.pop("assigned_at", IN), **kw)

    # 住建局: A closed with a rated result; B being carried out, late; C closed; one still assigned, overdue.
    make(
        rep,
        housing,
        status=S.CLOSED,
        reply_class=ReplyClass.A,
        replied_at=IN,
        closed_at=IN,
        rating_reply=Rating.SATISFIED,
        rating_result=Rating.BASICALLY_SATISFIED,
    )
    make(
        rep,
        housing,
        status=S.IMPLEMENTING,
        reply_class=ReplyClass.B,
        planned_on=date(2026, 6, 30),
        replied_at=IN,
        was_late=True,
        rating_reply=Rating.DISSATISFIED,
    )
    make(
        rep,
        housing,
        status=S.CLOSED,
        reply_class=ReplyClass.C,
        replied_at=IN,
        closed_at=IN,
        rating_reply=Rating.BASICALLY_SATISFIED,
    )
    make(rep, housing, status=S.ASSIGNED, due_at=datetime(2025, 12, 1))
    # 水利局: assigned before the period, replied A in it, result rated dissatisfied.
    make(
        rep,
        water,
        assigned_at=BEFORE,
        status=S.CLOSED,
        reply_class=ReplyClass.A,
        replied_at=IN,
        closed_at=IN,
        rating_reply=Rating.SATISFIED,
        rating_result=Rating.DISSATISFIED,
    )
    # another region's
    make(rep_b, b_unit, status=S.CLOSED, reply_class=ReplyClass.A, replied_at=IN, closed_at=IN)
    db.session.commit()
    return {
        "staff": factories.user(Role.CONGRESS_STAFF, region=county),
        "admin": factories.user(Role.ADMIN),
        "handler": factories.user(Role.UNIT_HANDLER, unit=water),
    }


def test_per_lead_unit_on_known_data(world):
    figures = suggestions_by_unit(world["staff"], PERIOD, NOW)
    rows = dict(figures.rows)
    assert list(rows) == ["项城市住房和城乡建设局", "项城市水利局"]  # most assigned first; 源汇区 out of scope
    h = rows["项城市住房和城乡建设局"]
    assert (h.assigned, h.replied, h.class_a, h.class_b, h.class_c) == (4, 3, 1, 1, 1)
    assert h.on_time == 2 and h.on_time_rate == pytest.approx(2 / 3)
    assert (h.reply_rated, h.reply_satisfied) == (3, 2)
    assert (h.result_rated, h.result_satisfied) == (1, 1)
    assert (h.open, h.overdue) == (2, 1)
    w = rows["项城市水利局"]
    assert (w.assigned, w.replied, w.class_a) == (0, 1, 1)
    assert (w.result_rated, w.result_satisfied, w.result_satisfaction) == (1, 0, 0.0)
    t = figures.total
    assert (t.assigned, t.replied, t.reply_rated, t.result_rated) == (4, 4, 4, 2)


def test_the_scope_is_the_viewers(world):
    assert len(suggestions_by_unit(world["admin"], PERIOD, NOW).rows) == 3
    # a unit handler counts the suggestions their unit leads or co-handles
    assert [name for name, _c in suggestions_by_unit(world["handler"], PERIOD, NOW).rows] == ["项城市水利局"]
    assert suggestions_by_unit(world["staff"], Period(date(2023, 1, 1), date(2023, 12, 31)), NOW).total.replied == 0


def test_the_page_and_the_xlsx_show_them(client, db, world):
    login(client, world["staff"])
    html = client.get("/manage/figures?from=2025-01-01&to=2025-12-31").get_data(as_text=True)
    assert 'id="suggestion-figures"' in html and "项城市水利局" in html
    response = client.get("/manage/figures/activity.xlsx?from=2025-01-01&to=2025-12-31")
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(book["代表建议办理"].iter_rows(values_only=True))
    assert rows[0][:4] == ("主办单位", "期间交办（件）", "期间答复（件）", "A类")
    assert rows[1][:6] == ("项城市住房和城乡建设局", 4, 3, 1, 1, 1)
    assert rows[-1][0] == "合计" and rows[-1][2] == 4
