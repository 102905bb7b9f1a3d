"""Triage in the back office: the inbox by deadline (keyset pages), the home page's counts
(each the size of the inbox list it links to), the escalated filter."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from models import Concern, ConcernEvent, utcnow
from models.enums import ConcernStatus as S
from models.enums import RegionLevel, Role
from services import inbox
from services.clock import end_of_day, local_today
from services.workdays import add_working_days
from tests import factories
from tests.helpers import login

CODE = re.compile(r"第(\d\d)号")


@pytest.fixture
def world(db):
    city = factories.region(name="周口市", level=RegionLevel.CITY)
    county = factories.region(name="项城市", parent=city)
    other = factories.region(name="源汇区")
    a = factories.station(region=county, name="A 联络站")
    b = factories.station(region=other, name="B 联络站")
    rep = factories.representative(stations=[a])
    unit = factories.unit(region_obj=county)
    return {
        "a": a,
        "b": b,
        "rep": rep,
        "unit": unit,
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[a]),
        "staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "admin": factories.user(Role.ADMIN),
    }


def filed(w, n: int, status=S.SUBMITTED, due_at=None, station=None, **kw) -> Concern:
    if status in (S.ACCEPTED, S.DISPATCHED, S.REPLIED):
        kw.setdefault("assigned_rep", w["rep"])
    if status in (S.DISPATCHED, S.REPLIED):
        kw.setdefault("unit", w["unit"])
    concern = factories.concern(
        station or w["a"], status=status, due_at=due_at, content=f"第{n:02d}号意见：小区门口需要增加停车位。", **kw
    )
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    return concern


def walk(client, url: str) -> tuple[list[str], list[str]]:
    """Every page from `url` on, following the pager: the numbers in order, and the URLs."""
    seen, urls = [], []
    while url:
        urls.append(url)
        html = client.get(url).get_data(as_text=True)
        seen += CODE.findall(html)
        more = re.search(r'href="(/manage/concerns\?[^"]*after=[^"]+)"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
        assert len(urls) < 20
    return seen, urls


def test_the_deadline_order_pages_through_equal_deadlines_and_those_without_last(client, world, db):
    # Deadlines end at the close of a day, so many are equal: 3 days × 9 concerns, then 8
    # without a deadline (finished ones, and a new one in a station with no stage days).
    days = [end_of_day(local_today() + timedelta(days=d)) for d in (3, 1, 2)]
    expected_dated, undated = [], []
    for n in range(27):
        c = filed(world, n, due_at=days[n % 3])
        expected_dated.append((c.due_at, c.id, f"{n:02d}"))
    for n in range(27, 35):
        c = filed(world, n, status=S.CLOSED if n % 2 else S.SUBMITTED)
        undated.append((c.id, f"{n:02d}"))
    filed(world, 99, due_at=days[0], station=world["b"])  # out of the manager's scope
    db.session.commit()
    login(client, world["manager"])
    seen, urls = walk(client, "/manage/concerns?sort=due")
    expected = [n for _d, _i, n in sorted(expected_dated)] + [n for _i, n in sorted(undated, reverse=True)]
    assert seen == expected  # soonest first, ties by id, every one once; then the rest, newest first
    assert len(urls) == 2 and all(parse_qs(urlsplit(u).query)["sort"] == ["due"] for u in urls)


def test_a_page_boundary_inside_the_concerns_without_a_deadline(client, world, db):
    filed(world, 0, due_at=end_of_day(local_today()))
    for n in range(1, 60):
        filed(world, n)
    db.session.commit()
    login(client, world["manager"])
    seen, urls = walk(client, "/manage/concerns?sort=due")
    assert seen == ["00"] + [f"{n:02d}" for n in range(59, 0, -1)]
    assert len(urls) == 3


def test_the_newest_order_still_pages_and_a_bad_cursor_is_the_first_page(client, world, db):
    for n in range(30):
        filed(world, n, due_at=end_of_day(local_today() + timedelta(days=n % 2)))
    db.session.commit()
    login(client, world["manager"])
    seen, _urls = walk(client, "/manage/concerns")
    assert seen == [f"{n:02d}" for n in range(29, -1, -1)]
    for cursor in ("none-x", "2025-1", "nonsense", "none-" + "9" * 40):
        page = client.get("/manage/concerns", query_string={"sort": "due", "after": cursor})
        assert page.status_code == 200
    assert inbox.decode_due_cursor("none-12") == (None, 12)
    assert inbox.decode_due_cursor("bad") is None


def test_the_order_links_keep_the_filter_and_the_filter_form_keeps_the_order(client, world, db):
    filed(world, 1, due_at=end_of_day(local_today()))
    db.session.commit()
    login(client, world["manager"])
    html = client.get("/manage/concerns", query_string={"status": "submitted", "sort": "due"}).get_data(as_text=True)
    assert 'name="sort" value="due"' in html
    links = re.findall(r'href="(/manage/concerns\?[^"]*)"', html)
    newest = [u for u in links if "status=submitted" in u and "sort=" not in u]
    assert newest, links  # the "Newest first" link keeps the status and drops the order


def home_counts(html: str) -> dict[str, tuple[int, str]]:
    found = re.findall(r'<li class="count-(\w+)[^"]*"><a href="([^"]+)"><strong>(\d+)</strong>', html)
    return {key: (int(n), url.replace("&amp;", "&")) for key, url, n in found}


@pytest.mark.parametrize("who", ["manager", "staff", "admin"])
def test_each_count_on_the_home_page_is_the_length_of_the_list_it_links_to(client, world, db, who):
    now = utcnow()
    soon = add_working_days(now, 2).due_at
    later = add_working_days(now, 5).due_at
    made = [
        (S.SUBMITTED, now - timedelta(hours=1)),  # overdue
        (S.SUBMITTED, soon),  # due soon
        (S.SUBMITTED, later),
        (S.ACCEPTED, soon - timedelta(days=1)),
        (S.ACCEPTED, later),
        (S.DISPATCHED, now - timedelta(days=3)),
        (S.DISPATCHED, later),
        (S.REPLIED, now + timedelta(hours=2)),
        (S.CONFIRMED, now - timedelta(hours=1)),  # the resident's rating window: counted nowhere
        (S.CLOSED, None),
    ]
    for n, (status, due) in enumerate(made):
        c = filed(world, n, status=status, due_at=due)
        if n == 5:
            c.escalated_at = now - timedelta(hours=1)
    for n, (status, due) in enumerate(made[:4], start=50):
        filed(world, n, status=status, due_at=due, station=world["b"])  # only the admin sees these
    db.session.commit()
    login(client, world[who])
    counts = home_counts(client.get("/manage/").get_data(as_text=True))
    assert set(counts) == {"take", "dispatch", "handle", "overdue", "soon", "escalated"}
    for key, (n, url) in counts.items():
        listed, _urls = walk(client, url)
        assert n == len(listed), (key, url, listed)
    mine = {"take": 3, "dispatch": 2, "handle": 2, "overdue": 2, "soon": 3, "escalated": 1}
    if who == "admin":
        mine = {**mine, "take": 6, "dispatch": 3, "overdue": 3, "soon": 5}
    assert {key: n for key, (n, _url) in counts.items()} == mine


def test_the_escalated_filter_and_badge(client, world, db):
    now = utcnow()
    marked = filed(world, 1, status=S.DISPATCHED, due_at=now - timedelta(days=1))
    marked.escalated_at = now
    filed(world, 2, status=S.DISPATCHED, due_at=now - timedelta(days=1))
    db.session.commit()
    login(client, world["staff"])
    html = client.get("/manage/concerns", query_string={"escalated": "1"}).get_data(as_text=True)
    assert CODE.findall(html) == ["01"] and "badge escalated" in html
    assert 'name="escalated" value="1" checked' in html


def test_counts_are_one_query_and_agree_with_the_service_list(app, world, db):
    now = utcnow()
    filed(world, 1, due_at=now + timedelta(hours=1))
    filed(world, 2, status=S.ACCEPTED, due_at=now - timedelta(hours=1))
    db.session.flush()
    counts = inbox.home_counts(world["manager"], now)
    for key, f in inbox.HOME_BOXES.items():
        assert counts[key] == len(inbox.page(world["manager"], f, size=100, now=now).concerns), key
