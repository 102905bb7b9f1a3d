"""Outcome figures: counted per station, region (rolled up) and unit over a period in China
time, within each viewer's scope; the SVG chart; the figures page."""

import xml.etree.ElementTree as ET
from datetime import date, datetime, time

import pytest

from extensions import db as _db
from models.enums import ConcernStatus as S
from models.enums import Rating, RegionLevel, Role
from services import figures
from services.charts import Series, bar_chart, fit, text_width
from services.clock import utc_at
from services.figures import Period
from services.permissions import may_roll_up
from tests import factories
from tests.helpers import login

MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
NOW = datetime(2025, 4, 1, 4, 0)  # naive UTC, like the stored times: noon on 1 April in China
SVG = "{http://www.w3.org/2000/svg}"


def local(y, mo, d, h=0, mi=0) -> datetime:
    """A China-time moment as the naive UTC the database stores."""
    return utc_at(date(y, mo, d), time(h, mi))


@pytest.fixture
def world(db):
    """A city with two counties (one with a township) and a quiet third; a station in the
    township, one in the second county, one placed in the city itself; two units."""
    city = factories.region("41160000", "周口市", RegionLevel.CITY)
    county_a = factories.region("41168100", "项城市", RegionLevel.COUNTY, parent=city)
    township = factories.region("41168101", "花园街道", RegionLevel.TOWNSHIP, parent=county_a)
    county_b = factories.region("41162100", "扶沟县", RegionLevel.COUNTY, parent=city)
    quiet = factories.region("41162200", "西华县", RegionLevel.COUNTY, parent=city)
    sa_ = factories.station(name="花园街道联络站", region=township)
    sb = factories.station(name="扶沟县城关联络站", region=county_b)
    sc = factories.station(name="周口市直联络站", region=city)
    sd = factories.station(name="扶沟县练寺联络站", region=county_b)
    ua = factories.unit(name="项城市住建局", region_obj=county_a)
    ub = factories.unit(name="周口市城管局", region_obj=city)
    cat = factories.category()

    def concern(station, **kw):
        return factories.concern(station, cat, **kw)

    # 1. Filed and closed in March, on time, rated satisfied / basically satisfied.
    concern(
        sa_,
        created_at=local(2025, 3, 5, 9),
        status=S.CLOSED,
        closed_at=local(2025, 3, 10, 9),
        close_working_days=3,
        rating_unit=Rating.SATISFIED.value,
        rating_rep=Rating.BASICALLY_SATISFIED.value,
        unit=ua,
    )
    # 2. Filed in February, closed in March, late somewhere, unit rated dissatisfied.
    concern(
        sa_,
        created_at=local(2025, 2, 20, 9),
        status=S.CLOSED,
        closed_at=local(2025, 3, 2, 9),
        close_working_days=6,
        was_late=True,
        rating_unit=Rating.DISSATISFIED.value,
        rating_rep=Rating.SATISFIED.value,
        rounds=2,
        unit=ua,
    )
    # 3. Filed in March, with the unit, past its deadline now.
    concern(sa_, created_at=local(2025, 3, 15, 9), status=S.DISPATCHED, due_at=local(2025, 3, 20, 17), unit=ua)
    # 4. Filed in March, waiting, deadline still ahead.
    concern(sb, created_at=local(2025, 3, 20, 9), status=S.SUBMITTED, due_at=local(2025, 4, 10, 17))
    # 5. The last minutes of March in China (already 31 March 15:30 UTC): in the period.
    concern(sb, created_at=local(2025, 3, 31, 23, 30), status=S.REJECTED)
    # 6. The first minutes of April in China (still 31 March UTC): not in the period.
    concern(sb, created_at=local(2025, 4, 1, 0, 30), status=S.REJECTED)
    # 7. Filed and closed before the period: counts nowhere.
    concern(sb, created_at=local(2025, 1, 10, 9), status=S.CLOSED, closed_at=local(2025, 2, 1, 9), close_working_days=9)
    # 8. At the station placed in the city itself: closed without a rating.
    concern(
        sc,
        created_at=local(2025, 3, 3, 9),
        status=S.CLOSED,
        closed_at=local(2025, 3, 4, 9),
        close_working_days=1,
        unit=ub,
    )
    people = {
        "admin": factories.user(Role.ADMIN),
        "city_staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "county_staff": factories.user(Role.CONGRESS_STAFF, region=county_a),
        "manager_a": factories.user(Role.STATION_MANAGER, managed_stations=[sa_]),
        "manager_b": factories.user(Role.STATION_MANAGER, managed_stations=[sb, sd]),
        "handler_a": factories.user(Role.UNIT_HANDLER, unit=ua),
        "rep": factories.representative(stations=[sa_]).user,
    }
    _db.session.commit()
    return {
        "regions": {"city": city, "a": county_a, "township": township, "b": county_b, "quiet": quiet},
        "stations": {"a": sa_, "b": sb, "c": sc, "d": sd},
        "units": {"a": ua, "b": ub},
        **people,
    }


def counts_of(table, key):
    return next(row.counts for row in table.rows if row.key == key)


def figures_of(c):
    return (c.received, c.open, c.overdue, c.closed)


# --- the period ---------------------------------------------------------------------------------


def test_period_defaults_to_this_year_and_reads_dates():
    today = date(2025, 5, 17)
    assert Period.parse(None, None, today) == (Period(date(2025, 1, 1), date(2025, 12, 31)), None)
    assert Period.parse("2025-03-01", "2025-03-31", today) == (MARCH, None)
    assert Period.parse("", "2024-06-30", today) == (Period(date(2024, 1, 1), date(2024, 6, 30)), None)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("2025-13-01", "", "bad_date"),
        ("yesterday", "2025-01-01", "bad_date"),
        ("1899-01-01", "", "bad_date"),
        ("2025-04-01", "2025-03-01", "reversed"),
    ],
)
def test_bad_periods_fall_back_to_this_year_with_a_reason(start, end, code):
    period, problem = Period.parse(start, end, date(2025, 5, 17))
    assert (period, problem) == (Period(date(2025, 1, 1), date(2025, 12, 31)), code)


def test_presets_and_china_time_bounds():
    presets = Period.presets(date(2025, 1, 15))
    assert presets["this_month"] == Period(date(2025, 1, 1), date(2025, 1, 31))
    assert presets["last_month"] == Period(date(2024, 12, 1), date(2024, 12, 31))
    assert presets["this_year"] == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert MARCH.utc_bounds() == (datetime(2025, 2, 28, 16), datetime(2025, 3, 31, 16))


# --- counting ------------------------------------------------------------------------------------


def test_by_station_counts_the_period_and_now(world):
    table = figures.by_station(world["admin"], MARCH, NOW)
    st = world["stations"]
    a = counts_of(table, st["a"].id)
    # Filed in February but closed in March: closed, not received.
    assert figures_of(a) == (2, 1, 1, 2)
    assert a.avg_close_days == 4.5
    assert a.on_time_rate == 0.5
    assert (a.unit_satisfaction, a.rep_satisfaction) == (0.5, 1.0)
    b = counts_of(table, st["b"].id)
    assert figures_of(b) == (2, 1, 0, 0)  # the concern filed in the first minutes of April is not counted
    assert (b.avg_close_days, b.on_time_rate, b.unit_satisfaction, b.rep_satisfaction) == (None, None, None, None)
    c = counts_of(table, st["c"].id)
    assert figures_of(c) == (1, 0, 0, 1)
    assert (c.on_time_rate, c.unit_satisfaction) == (1.0, None)  # closed unrated: no satisfaction figure
    assert st["d"].id not in {row.key for row in table.rows}  # nothing there: not listed for an admin
    t = table.total
    assert figures_of(t) == (5, 2, 1, 3)
    assert t.avg_close_days == 3.3 and t.on_time_rate == pytest.approx(2 / 3)
    assert table.hidden == 0


def test_busiest_station_first_and_long_tables_cut_but_totalled(world, monkeypatch):
    table = figures.by_station(world["admin"], MARCH, NOW)
    assert [row.counts.received for row in table.rows] == [2, 2, 1]
    monkeypatch.setattr(figures, "MAX_ROWS", 2)
    cut = figures.by_station(world["admin"], MARCH, NOW)
    assert len(cut.rows) == 2 and cut.hidden == 1 and cut.total.received == 5


def test_by_unit_has_a_row_for_concerns_not_sent_to_a_unit(world):
    table = figures.by_unit(world["admin"], MARCH, NOW, no_unit_label="none")
    ua, ub = world["units"]["a"], world["units"]["b"]
    assert figures_of(counts_of(table, ua.id)) == (2, 1, 1, 2)
    assert figures_of(counts_of(table, ub.id)) == (1, 0, 0, 1)
    assert figures_of(counts_of(table, None)) == (2, 1, 0, 0)
    assert table.rows[-1].key is None and table.rows[-1].name == "none"
    assert table.total.received == 5


def test_regions_roll_up_everything_below_them(world):
    r = world["regions"]
    table = figures.by_region(world["city_staff"], MARCH, NOW, directly_label="itself")
    assert table.root.id == r["city"].id
    rows = {row.key: row for row in table.rows}
    # The township's station counts for its county.
    assert figures_of(rows[r["a"].id].counts) == (2, 1, 1, 2)
    assert figures_of(rows[r["b"].id].counts) == (2, 1, 0, 0)
    # Staff see every region they oversee, a quiet one with zeros.
    assert figures_of(rows[r["quiet"].id].counts) == (0, 0, 0, 0)
    # The station placed in the city itself has a row of its own, last.
    assert table.rows[-1].directly and figures_of(table.rows[-1].counts) == (1, 0, 0, 1)
    assert rows[r["a"].id].drill and not rows[r["b"].id].drill
    assert figures_of(table.total) == (5, 2, 1, 3)


def test_admin_rolls_up_from_the_top_and_can_open_a_region(world):
    r = world["regions"]
    top = figures.by_region(world["admin"], MARCH, NOW)
    assert top.root is None
    assert figures_of(counts_of(top, r["city"].id)) == (5, 2, 1, 3)
    county = figures.by_region(world["admin"], MARCH, NOW, r["a"])
    assert [row.key for row in county.rows] == [r["township"].id]
    assert [x.id for x in county.trail] == [r["city"].id, r["a"].id]


def test_scope_a_manager_never_sees_another_station(world):
    st, r = world["stations"], world["regions"]
    for table in (
        figures.by_station(world["manager_a"], MARCH, NOW),
        figures.by_region(world["manager_a"], MARCH, NOW),
        figures.by_region(world["manager_a"], MARCH, NOW, r["city"]),
        figures.by_unit(world["manager_a"], MARCH, NOW),
    ):
        assert figures_of(table.total) == (2, 1, 1, 2), table.by
    assert [row.key for row in figures.by_station(world["manager_a"], MARCH, NOW).rows] == [st["a"].id]
    # A manager's quiet station is listed with zeros.
    b = figures.by_station(world["manager_b"], MARCH, NOW)
    assert [row.key for row in b.rows] == [st["b"].id, st["d"].id]
    assert figures_of(b.rows[1].counts) == (0, 0, 0, 0)


def test_scope_county_staff_and_unit_handler(world):
    r, st = world["regions"], world["stations"]
    county = figures.by_region(world["county_staff"], MARCH, NOW)
    assert county.root.id == r["a"].id and [row.key for row in county.rows] == [r["township"].id]
    assert figures_of(county.total) == (2, 1, 1, 2)
    assert [x.id for x in county.trail] == [r["a"].id]  # nothing above their own region
    assert not may_roll_up(world["county_staff"], r["city"])
    assert may_roll_up(world["county_staff"], r["township"])
    handler = figures.by_station(world["handler_a"], MARCH, NOW)
    assert [row.key for row in handler.rows] == [st["a"].id]
    assert figures_of(handler.total) == (2, 1, 1, 2)


# --- the chart -----------------------------------------------------------------------------------


def test_chart_is_well_formed_svg_with_escaped_text():
    nasty = '<script>alert("x")</script> & 张\x01三'
    svg = str(
        bar_chart(
            "Received & closed <by station>",
            [nasty, "花园街道联络站"],
            [Series("Received", [3, 10]), Series("Closed", [0, 7])],
            description="first rows",
            ident='x" onload="y',
        )
    )
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.get("width") and root.get("height")
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert root.get("role") == "img" and root.get("aria-labelledby") == "xonloady-title xonloady-desc"
    assert root.find(f"{SVG}title").text == "Received & closed <by station>"
    assert not root.findall(f".//{SVG}script") and "<script" not in svg
    assert not [el for el in root.iter() if any(name.startswith("on") for name in el.attrib)]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert '<script>alert("x")</script> & 张三' in titles  # the control character is dropped
    bars = [el for el in root.iter(f"{SVG}rect") if el.find(f"{SVG}title") is not None]
    assert len(bars) == 4
    widths = [float(bar.get("width")) for bar in bars]  # row by row: 3, 0, then 10, 7
    assert widths[2] > widths[3] > widths[0] > widths[1] == 0
    assert widths[0] == pytest.approx(widths[2] * 3 / 10, rel=0.01)
    assert "href" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_chart_without_rows_is_still_valid_and_labels_are_shortened():
    root = ET.fromstring(str(bar_chart("Nothing", [], [Series("Received", [])])))
    assert root.find(f"{SVG}title").text == "Nothing"
    long = "扶沟县城关镇人民代表大会代表联络站第三联络点"
    assert fit(long, 100).endswith("…") and text_width(fit(long, 100)) <= 100
    assert fit("short", 100) == "short"


def test_the_page_charts_the_busiest_rows_and_leaves_the_quiet_ones_out(app):
    """By region the table keeps the regions' order (their codes), quiet ones included: the
    chart draws those that received or closed anything, the most received first."""
    from views.manage.figures import CHART_ROWS, _chart

    def table(counts):
        rows = [figures.Row(i, f"区{i:02d}", counts=figures.Counts(received=r, closed=c)) for i, (r, c) in counts]
        return figures.Figures("region", MARCH, rows, figures.Counts(), 0)

    def drawn(chart):
        root = ET.fromstring(str(chart))
        return [t.find(f"{SVG}title").text for t in root.iter(f"{SVG}text") if t.find(f"{SVG}title") is not None]

    with app.test_request_context(headers={"Accept-Language": "en"}):
        chart = _chart(table(enumerate([(0, 0), (0, 0), (2, 1), (0, 3), (9, 0)])))
        assert drawn(chart) == ["区04", "区02", "区03"]
        assert "that received or closed concerns" in str(chart)
        assert _chart(table(enumerate([(0, 0), (0, 0)]))) is None
        many = _chart(table((i, (i, 0)) for i in range(1, CHART_ROWS + 5)))
        assert drawn(many) == [f"区{i:02d}" for i in range(CHART_ROWS + 4, 4, -1)]
        assert f"The {CHART_ROWS} rows of the table below that received the most concerns." in str(many)


# --- the page ------------------------------------------------------------------------------------

MARCH_ARGS = {"from": "2025-03-01", "to": "2025-03-31"}


def test_figures_page_who_may_see(client, world):
    assert client.get("/manage/figures").status_code == 302  # anonymous: sign in first
    login(client, world["rep"])
    assert client.get("/manage/figures").status_code == 403
    for who in ("handler_a", "manager_a", "city_staff", "admin"):
        login(client, world[who])
        assert client.get("/manage/figures").status_code == 200, who


def test_figures_page_shows_the_table_and_a_chart(client, world):
    login(client, world["manager_a"])
    page = client.get("/manage/figures", query_string=MARCH_ARGS)
    assert page.status_code == 200
    html = page.text
    assert "花园街道联络站" in html and "扶沟县城关联络站" not in html
    assert "<svg" in html and "<script" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "50.0%" in html and "4.5" in html  # on time, unit satisfaction; average days
    assert 'value="2025-03-01"' in html and 'value="2025-03-31"' in html


def test_figures_page_groupings_and_drill_down(client, world):
    r = world["regions"]
    login(client, world["city_staff"])
    html = client.get("/manage/figures", query_string={**MARCH_ARGS, "by": "region"}).text
    assert "项城市" in html and "西华县" in html and f"region={r['a'].id}" in html
    html = client.get("/manage/figures", query_string={**MARCH_ARGS, "by": "region", "region": r["a"].id}).text
    assert "花园街道" in html
    html = client.get("/manage/figures", query_string={**MARCH_ARGS, "by": "unit"}).text
    assert "项城市住建局" in html and "周口市城管局" in html
    login(client, world["county_staff"])
    assert client.get("/manage/figures", query_string={"by": "region", "region": r["city"].id}).status_code == 403
    for missing in (999999, 10**30, -3):
        assert client.get("/manage/figures", query_string={"by": "region", "region": missing}).status_code == 404


def test_figures_page_explains_a_bad_period(client, world):
    login(client, world["admin"])
    page = client.get(
        "/manage/figures", query_string={"from": "2025-02-30", "to": "x"}, headers={"Accept-Language": "en"}
    )
    assert page.status_code == 200
    assert "year-month-day" in page.text
    page = client.get(
        "/manage/figures", query_string={"from": "2025-04-01", "to": "2025-03-01"}, headers={"Accept-Language": "en"}
    )
    assert "after the end date" in page.text


def test_figures_page_with_nothing_to_count(client, world):
    login(client, world["admin"])
    page = client.get("/manage/figures", query_string={"from": "2030-01-01", "to": "2030-01-31", "by": "unit"})
    assert page.status_code == 200
    assert "—" in page.text  # rates with nothing to divide by


def test_satisfaction_is_counted_at_the_first_round_as_well_as_the_last(world, db):
    from models import ConcernRating

    station, cat = world["stations"]["d"], factories.category()
    dissatisfied, satisfied = Rating.DISSATISFIED.value, Rating.SATISFIED.value
    # rated dissatisfied, handled again, then satisfied: satisfied at the end, not at first
    again = factories.concern(
        station,
        cat,
        created_at=local(2025, 3, 2, 9),
        status=S.CLOSED,
        closed_at=local(2025, 3, 25, 9),
        close_working_days=15,
        rounds=2,
        rating_unit=satisfied,
        rating_rep=satisfied,
    )
    again.ratings.append(ConcernRating(round=1, rating_unit=dissatisfied, rating_rep=satisfied))
    again.ratings.append(ConcernRating(round=2, rating_unit=satisfied, rating_rep=satisfied))
    once = factories.concern(
        station,
        cat,
        created_at=local(2025, 3, 3, 9),
        status=S.CLOSED,
        closed_at=local(2025, 3, 6, 9),
        close_working_days=3,
        rating_unit=satisfied,
        rating_rep=satisfied,
    )
    once.ratings.append(ConcernRating(round=1, rating_unit=satisfied, rating_rep=satisfied))
    db.session.commit()
    c = counts_of(figures.by_station(world["admin"], MARCH, NOW), station.id)
    assert (c.unit_satisfaction, c.first_unit_satisfaction) == (1.0, 0.5)
    assert (c.rep_satisfaction, c.first_rep_satisfaction) == (1.0, 1.0)
