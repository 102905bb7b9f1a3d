"""述职 meetings on the web: the residents' page /m/<code> (the window, one rating per phone
by its cookie, two taps giving one rating, the per-address limit), scheduling in the back
office (scope, forms that keep what was typed), the screen, sheet and QR image, and the
results in the annual report and the figures."""

import io
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa
import zxingcpp
from limits import parse_many
from openpyxl import load_workbook
from PIL import Image

from extensions import db as _db
from models import AuditLog, MeetingRating, ReportMeeting
from models.enums import RegionLevel, Role
from services import meetings
from services.clock import local_today
from tests import factories
from tests.conftest import FreshContextClient
from tests.helpers import NoRedirect, login


@pytest.fixture
def cast(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other = factories.region("411100", "漯河市", RegionLevel.CITY)
    a = factories.station(name="莲花街道联络站", region=county)
    b = factories.station(name="漯河食品产业联络站", region=other)
    rep = factories.representative(stations=[a], name="王建国")
    colleague = factories.representative(stations=[a], name="黄春燕")
    w = {
        "a": a,
        "b": b,
        "rep": rep,
        "colleague": colleague,
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[a]),
        "manager_b": factories.user(Role.STATION_MANAGER, managed_stations=[b]),
        "staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "meeting": factories.meeting(a, rep, year=2025),
    }
    _db.session.commit()
    return w


def ratings() -> list[MeetingRating]:
    _db.session.commit()  # a fresh snapshot: each request commits in its own session
    return list(_db.session.scalars(sa.select(MeetingRating).order_by(MeetingRating.id)))


def phone(app, address: str = "10.1.2.3"):
    """Another phone: its own cookies, on the hall's Wi-Fi address by default."""
    app.test_client_class = FreshContextClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def rate(client, meeting, rating: str = "satisfied", comment: str = ""):
    return client.post(f"/m/{meeting.code}", data={"rating": rating, "comment": comment})


# --- the residents' page ------------------------------------------------------------------------


def test_a_resident_scans_sees_the_report_and_rates_once(app, cast):
    meeting, client = cast["meeting"], phone(app)
    page = client.get(f"/m/{meeting.code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "王建国" in html and "2025" in html and 'id="meeting-rate-form"' in html
    assert page.headers["Cache-Control"] == "private, no-store"
    cookie = client.get_cookie(f"m_{meeting.code}", path=f"/m/{meeting.code}")
    assert cookie is not None and cookie.http_only
    sent = rate(client, meeting, "basically_satisfied", "希望多来社区")
    assert sent.status_code == 303
    assert [(r.rating.value, r.comment) for r in ratings()] == [("basically_satisfied", "希望多来社区")]
    again = client.get(f"/m/{meeting.code}").get_data(as_text=True)
    assert 'id="rated"' in again and 'id="meeting-rate-form"' not in again
    # The same phone tries again: the rating stands, no second one.
    assert rate(client, meeting, "dissatisfied").status_code == 303
    assert len(ratings()) == 1 and ratings()[0].rating.value == "basically_satisfied"


def test_two_taps_with_one_cookie_give_one_rating(app, cast):
    meeting, client = cast["meeting"], phone(app)
    client.get(f"/m/{meeting.code}")
    first, second = rate(client, meeting), rate(client, meeting)
    assert (first.status_code, second.status_code) == (303, 303)
    assert len(ratings()) == 1


def test_each_phone_rates_for_itself(app, cast):
    meeting = cast["meeting"]
    for rating in ("satisfied", "dissatisfied", "satisfied"):
        client = phone(app)
        client.get(f"/m/{meeting.code}")
        assert rate(client, meeting, rating).status_code == 303
    assert [r.rating.value for r in ratings()] == ["satisfied", "dissatisfied", "satisfied"]


def test_without_the_pages_cookie_nothing_is_stored(app, cast):
    meeting, client = cast["meeting"], phone(app)
    sent = rate(client, meeting)  # a script posting straight away: no cookie from the page
    assert sent.status_code == 409
    assert "cookie" in sent.get_data(as_text=True).lower()
    assert ratings() == []
    # The answer gave a cookie: sent again, the rating counts.
    assert rate(client, meeting).status_code == 303
    assert len(ratings()) == 1


def test_another_meetings_cookie_does_not_count(app, cast):
    meeting = cast["meeting"]
    other = factories.meeting(cast["a"], cast["colleague"])
    _db.session.commit()
    client = phone(app)
    client.get(f"/m/{other.code}")
    value = client.get_cookie(f"m_{other.code}", path=f"/m/{other.code}").value
    client.set_cookie(f"m_{meeting.code}", value, path=f"/m/{meeting.code}")
    assert rate(client, meeting).status_code == 409
    assert ratings() == []


@pytest.mark.parametrize(
    ("starts_in", "marker", "code"),
    [(60, 'id="not-open"', "not_open"), (-300, 'id="closed"', "closed")],
)
def test_outside_the_window_a_clear_page_and_nothing_stored(app, cast, starts_in, marker, code):
    meeting = factories.meeting(cast["a"], cast["rep"], starts_in_minutes=starts_in, minutes=120)
    _db.session.commit()
    client = phone(app)
    page = client.get(f"/m/{meeting.code}").get_data(as_text=True)
    assert marker in page and 'id="meeting-rate-form"' not in page
    sent = rate(client, meeting)
    assert sent.status_code == 409 and marker in sent.get_data(as_text=True)
    assert ratings() == []


def test_a_cancelled_meeting_says_so(app, cast):
    meeting = factories.meeting(cast["a"], cast["rep"], cancelled_at=meetings.utcnow())
    _db.session.commit()
    client = phone(app)
    assert 'id="cancelled"' in client.get(f"/m/{meeting.code}").get_data(as_text=True)
    assert rate(client, meeting).status_code == 409
    assert ratings() == []


def test_bad_input_comes_back_with_a_message_and_what_was_typed(app, cast):
    meeting, client = cast["meeting"], phone(app)
    client.get(f"/m/{meeting.code}")
    missing = client.post(f"/m/{meeting.code}", data={"comment": "路灯不亮"})
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert "路灯不亮" in html and 'class="errors"' in html
    long = rate(client, meeting, comment="长" * 301)
    assert long.status_code == 422 and "长" * 301 in long.get_data(as_text=True)
    forged = rate(client, meeting, rating="excellent")
    assert forged.status_code == 422
    assert ratings() == []


def test_unknown_and_lowercase_codes(app, cast):
    client = phone(app)
    assert client.get("/m/ABCDEFGH").status_code == 404
    assert client.get("/m/short").status_code == 404
    moved = client.get(f"/m/{cast['meeting'].code.lower()}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/m/{cast['meeting'].code}")


def test_the_default_limit_lets_a_hall_on_one_wifi_rate(app):
    (limit,) = parse_many(app.config["MEETING_RATING_RATE_LIMIT"])
    assert limit.amount >= 100


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "MEETING_RATING_RATE_LIMIT": "3 per day"}])
def test_the_per_address_limit_stops_a_script(app, cast):
    meeting = cast["meeting"]
    codes = []
    for _i in range(5):  # a script clearing its cookies: a new phone each time
        client = phone(app, "10.9.9.9")
        client.get(f"/m/{meeting.code}")
        codes.append(rate(client, meeting).status_code)
    assert codes == [303, 303, 303, 429, 429]
    assert len(ratings()) == 3
    # Another address, and the same address at another meeting, are counted apart.
    other = factories.meeting(cast["a"], cast["colleague"])
    _db.session.commit()
    for address, target in (("10.8.8.8", meeting), ("10.9.9.9", other)):
        client = phone(app, address)
        client.get(f"/m/{target.code}")
        assert rate(client, target).status_code == 303
    assert len(ratings()) == 5


# --- scheduling in the back office -------------------------------------------------------------


def schedule(client, station, rep, *, day=None, start="14:00", end="16:30", year=2025):
    day = day or (local_today() + timedelta(days=3))
    return client.post(
        f"/manage/stations/{station.code}/meetings",
        data={"representative": rep.id, "year": year, "day": day.isoformat(), "starts_at": start, "ends_at": end},
    )


@pytest.mark.parametrize(("who", "status"), [("manager", 303), ("staff", 303), ("manager_b", 403), ("rep", 403)])
def test_who_may_schedule_at_a_station(client, cast, who, status):
    login(client, cast[who] if who != "rep" else cast["rep"].user)
    assert schedule(client, cast["a"], cast["rep"]).status_code == status
    _db.session.commit()  # a fresh snapshot: the request committed in its own session
    made = _db.session.scalars(sa.select(ReportMeeting).where(ReportMeeting.id != cast["meeting"].id)).all()
    assert len(made) == (1 if status == 303 else 0)
    if made:
        assert made[0].created_by_id == cast[who].id
        assert _db.session.scalar(sa.select(AuditLog.action).where(AuditLog.target_id == made[0].id)) == (
            "meeting.scheduled"
        )


def test_anonymous_is_sent_to_sign_in(client, cast):
    assert schedule(client, cast["a"], cast["rep"]).status_code == 302
    assert client.get(f"/manage/stations/{cast['a'].code}/meetings").status_code == 302


def test_a_refused_schedule_keeps_what_was_typed(client, cast):
    login(client, cast["manager"])
    day = local_today() + timedelta(days=5)
    sent = schedule(client, cast["a"], cast["rep"], day=day, start="16:00", end="15:00")
    assert sent.status_code == 422
    html = sent.get_data(as_text=True)
    assert day.isoformat() in html and "16:00" in html and 'class="errors"' in html
    far_rep = factories.representative(stations=[cast["b"]], name="孙志强")
    _db.session.commit()
    assert schedule(client, cast["a"], far_rep).status_code == 422  # not one of the station's
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ReportMeeting)) == 1


def test_moving_and_cancelling_from_the_list(client, cast):
    login(client, cast["manager"])
    assert schedule(client, cast["a"], cast["rep"]).status_code == 303
    _db.session.commit()
    meeting = _db.session.scalar(sa.select(ReportMeeting).where(ReportMeeting.id != cast["meeting"].id))
    page = client.get(f"/manage/stations/{cast['a'].code}/meetings").get_data(as_text=True)
    assert f'id="meeting-{meeting.id}"' in page and "meetings.screen" not in page
    new_day = local_today() + timedelta(days=4)
    moved = client.post(
        f"/manage/stations/{cast['a'].code}/meetings/{meeting.id}/move",
        data={"day": new_day.isoformat(), "starts_at": "09:00", "ends_at": "11:00"},
    )
    assert moved.status_code == 303
    _db.session.commit()
    assert meetings.when_of(_db.session.get(ReportMeeting, meeting.id)).day == new_day
    assert client.post(f"/manage/stations/{cast['a'].code}/meetings/{meeting.id}/cancel").status_code == 303
    _db.session.commit()
    assert _db.session.get(ReportMeeting, meeting.id).cancelled_at is not None
    # The open meeting has begun: no cancelling it.
    started = cast["meeting"]
    client.post(f"/manage/stations/{cast['a'].code}/meetings/{started.id}/cancel")
    _db.session.commit()
    assert _db.session.get(ReportMeeting, started.id).cancelled_at is None
    # Another station's meeting is not reached through this station.
    assert client.post(f"/manage/stations/{cast['b'].code}/meetings/{meeting.id}/cancel").status_code == 403


def test_a_step_from_a_stale_page_is_refused_and_the_buttons_follow_the_table(client, cast):
    """The list's forms carry the meeting's version: a cancel from a page shown before a move
    is refused (the engine's "changed"); a begun meeting offers no step (MEETING_FLOW's `when`)."""
    login(client, cast["manager"])
    assert schedule(client, cast["a"], cast["rep"]).status_code == 303
    _db.session.commit()
    meeting = _db.session.scalar(sa.select(ReportMeeting).where(ReportMeeting.id != cast["meeting"].id))
    shown = meeting.version
    page = client.get(f"/manage/stations/{cast['a'].code}/meetings").get_data(as_text=True)
    assert f'name="version" value="{shown}"' in page
    assert page.count(f"/meetings/{meeting.id}/cancel") == 1 and f"/meetings/{cast['meeting'].id}/" not in page
    new_day = local_today() + timedelta(days=4)
    moved = client.post(
        f"/manage/stations/{cast['a'].code}/meetings/{meeting.id}/move",
        data={"day": new_day.isoformat(), "starts_at": "09:00", "ends_at": "11:00", "version": str(shown)},
    )
    assert moved.status_code == 303
    stale = client.post(f"/manage/stations/{cast['a'].code}/meetings/{meeting.id}/cancel", data={"version": shown})
    assert stale.status_code == 303
    _db.session.commit()
    found = _db.session.get(ReportMeeting, meeting.id)
    assert found.status == "scheduled" and found.version == shown + 1
    assert [e.action for e in found.events] == ["schedule", "move"]
    current = client.post(
        f"/manage/stations/{cast['a'].code}/meetings/{meeting.id}/cancel", data={"version": found.version}
    )
    assert current.status_code == 303
    _db.session.commit()
    assert _db.session.get(ReportMeeting, meeting.id).status == "cancelled"


# --- shown at the meeting ------------------------------------------------------------------------


def test_the_screen_sheet_and_code_for_the_presenter_and_overseers(app, client, cast):
    meeting = cast["meeting"]
    resident = phone(app)
    resident.get(f"/m/{meeting.code}")
    rate(resident, meeting)
    login(client, cast["rep"].user)
    screen = client.get(f"/m/{meeting.code}/screen")
    assert screen.status_code == 200
    html = screen.get_data(as_text=True)
    assert re.search(r'id="count">[^<0-9]*1[^0-9<]*<', html)
    assert 'http-equiv="refresh"' in html
    assert client.get(f"/m/{meeting.code}/sheet").status_code == 200
    png = client.get(f"/m/{meeting.code}/qr.png")
    assert png.mimetype == "image/png"
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))]
    assert found == [f"http://mashang.test/m/{meeting.code}"]
    assert client.get(f"/m/{meeting.code}/qr.svg").mimetype == "image/svg+xml"
    other = app.test_client()
    login(other, cast["colleague"].user)
    assert other.get(f"/m/{meeting.code}/screen").status_code == 403
    login(other, cast["manager_b"])
    assert other.get(f"/m/{meeting.code}/qr.png").status_code == 403
    assert app.test_client().get(f"/m/{meeting.code}/screen").status_code == 302


# --- the results ------------------------------------------------------------------------------


def test_the_results_sit_beside_the_report(app, client, cast):
    meeting = cast["meeting"]
    for rating, comment in (("satisfied", ""), ("satisfied", "<script>alert(1)</script>"), ("dissatisfied", "")):
        resident = phone(app)
        resident.get(f"/m/{meeting.code}")
        rate(resident, meeting, rating, comment)
    login(client, cast["rep"].user)
    html = client.get("/me/report/2025").get_data(as_text=True)
    table = html.split('id="meeting-ratings"')[1].split("</table>")[0]
    assert "<td>2</td><td>0</td><td>1</td><td>66.7%</td>" in table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'id="meeting-ratings"' not in client.get("/me/report/2024").get_data(as_text=True)
    staff = app.test_client()
    login(staff, cast["manager"])
    managed = staff.get(f"/manage/representatives/{cast['rep'].id}/report/2025").get_data(as_text=True)
    assert "&lt;script&gt;" in managed and 'id="meeting-comments"' in managed
    # The residents' page shows no comment.
    assert "alert(1)" not in phone(app).get(f"/m/{meeting.code}").get_data(as_text=True)


def test_the_figures_page_and_its_workbook_hold_the_meetings(app, client, cast):
    meeting = cast["meeting"]
    resident = phone(app)
    resident.get(f"/m/{meeting.code}")
    rate(resident, meeting, "basically_satisfied")
    login(client, cast["staff"])
    html = client.get("/manage/figures").get_data(as_text=True)
    table = html.split('id="meeting-figures"')[1].split("</table>")[0]
    assert "项城市" in table and "<td>1</td><td>1</td><td>1</td><td>100.0%</td>" in table
    book = load_workbook(io.BytesIO(client.get("/manage/figures/activity.xlsx").data), read_only=True)
    rows = list(book["述职评议"].iter_rows(values_only=True))
    assert rows[0][0] == "行政区划" and rows[1][:4] == ("项城市", 1, 1, 1)
    login(client, cast["manager_b"])
    assert 'id="meeting-figures"' not in client.get("/manage/figures").get_data(as_text=True)


def test_ten_taps_at_once_with_one_cookie_give_one_rating(app, cast, live_server):
    """Real parallel requests (threads over HTTP): the unique token digest keeps one rating,
    and every tap gets the same answer, never a server error."""
    meeting = cast["meeting"]
    url = f"{live_server}/m/{meeting.code}"
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(url) as page:
        cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie"))
    results: list[int] = []
    start = threading.Barrier(10)

    def tap() -> None:
        body = urllib.parse.urlencode({"rating": "satisfied"}).encode()
        request = urllib.request.Request(url, data=body, headers={"Cookie": cookies})
        start.wait()
        try:
            with opener.open(request) as resp:
                results.append(resp.status)
        except urllib.error.HTTPError as err:
            results.append(err.code)

    threads = [threading.Thread(target=tap) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [303] * 10
    assert len(ratings()) == 1
