"""/kiosk/<code>: who may open the station tablet's page, and the rotating code it shows
(read back with a real QR decoder)."""

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from extensions import db as _db
from models import Duty, DutySlot
from models.enums import DutyMethod, DutyStatus, PresencePolicy, RepLevel, Role
from services.clock import local_today
from services.duty import KIOSK_WINDOW_SECONDS, kiosk_token, kiosk_window, verify_kiosk_token
from tests import factories
from tests.helpers import login

SECRET = "test-secret"  # tests/conftest.py
PUBLIC_BASE_URL = "http://mashang.test"
# 10:00:07 in China, 7 s into a window: the next code is due in 23 s.
NOW = datetime(2024, 5, 10, 2, 0, 7)


def decode_svg(svg: str) -> str:
    """Draw the modules of a qrcode SvgPathImage path and read them with zxing-cpp."""
    path = re.search(r'<path[^>]*\bd="([^"]+)"', svg).group(1)
    modules = [(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path)]
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in modules:
        draw.rectangle([x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1], fill=0)
    (result,) = zxingcpp.read_barcodes(image)
    return result.text


def page_svg(html: str) -> str:
    return re.search(r'<div class="kiosk-qr"[^>]*>(<svg.*?</svg>)</div>', html, re.S).group(1)


@pytest.fixture
def world(db):
    station = factories.station(name="南关街道联络站", presence_policy=PresencePolicy.KIOSK)
    other = factories.station(name="产业园联络站")
    rep = factories.representative(stations=[station], name="王建国", level=RepLevel.CITY)
    later = factories.representative(stations=[station], name="李红梅")
    manager = factories.user(Role.STATION_MANAGER, display_name="李娜", managed_stations=[station])
    stranger = factories.user(Role.STATION_MANAGER, display_name="杨帆", managed_stations=[other])
    admin = factories.user(Role.ADMIN, display_name="管理员")
    staff = factories.user(Role.CONGRESS_STAFF, display_name="人大工委", region=station.region)
    handler = factories.user(Role.UNIT_HANDLER, display_name="住建局", unit=factories.unit())
    db.session.commit()
    return {
        "station": station,
        "other": other,
        "rep": rep,
        "later": later,
        "manager": manager,
        "stranger": stranger,
        "admin": admin,
        "staff": staff,
        "handler": handler,
    }


@pytest.fixture
def frozen(monkeypatch):
    """The kiosk's clock stopped at NOW."""
    import views.kiosk

    monkeypatch.setattr(views.kiosk, "utcnow", lambda: NOW)
    return NOW


# --- who may open it -------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in_and_back(client, world):
    code = world["station"].code
    resp = client.get(f"/kiosk/{code}")
    assert resp.status_code == 302
    parts = urlsplit(resp.headers["Location"])
    assert parts.path == "/login"
    assert parse_qs(parts.query)["next"] == [f"/kiosk/{code}"]
    for path in (f"/kiosk/{code}/code.svg", f"/kiosk/{code}/status"):
        assert client.get(path).status_code == 302


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("admin", 200),
        ("stranger", 403),
        ("staff", 403),
        ("handler", 403),
        ("rep", 403),
    ],
)
def test_only_the_stations_manager_or_an_admin_may_open_it(client, world, who, status):
    user = world[who].user if who == "rep" else world[who]
    login(client, user)
    code = world["station"].code
    for path in (f"/kiosk/{code}", f"/kiosk/{code}/code.svg", f"/kiosk/{code}/status"):
        resp = client.get(path)
        assert resp.status_code == status, path
        if status == 403:
            assert "kiosk-qr" not in resp.get_data(as_text=True) and b"<svg" not in resp.data


def test_unknown_or_inactive_station_is_404_and_lowercase_redirects(client, world):
    login(client, world["manager"])
    assert client.get("/kiosk/ZZZZZZZZ").status_code == 404
    code = world["station"].code
    resp = client.get(f"/kiosk/{code.lower()}")
    assert resp.status_code == 301 and resp.headers["Location"].endswith(f"/kiosk/{code}")
    world["station"].is_active = False
    _db.session.commit()
    assert client.get(f"/kiosk/{code}").status_code == 404


# --- the rotating code -------------------------------------------------------------------------


def test_page_code_opens_the_station_page_with_this_windows_token(client, world, frozen):
    station = world["station"]
    login(client, world["manager"])
    resp = client.get(f"/kiosk/{station.code}")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    url = decode_svg(page_svg(html))
    window = kiosk_window(NOW)
    assert url == f"{PUBLIC_BASE_URL}/s/{station.code}?k={kiosk_token(SECRET, station, window)}"
    token = parse_qs(urlsplit(url).query)["k"][0]
    assert verify_kiosk_token(SECRET, station, token, NOW) == window
    assert verify_kiosk_token(SECRET, station, token, NOW + timedelta(seconds=KIOSK_WINDOW_SECONDS)) == window
    assert f'data-window="{window}"' in html


def test_page_reloads_itself_just_after_the_next_window_without_javascript(client, world, frozen):
    login(client, world["manager"])
    html = client.get(f"/kiosk/{world['station'].code}").get_data(as_text=True)
    (seconds,) = re.findall(r'<noscript><meta http-equiv="refresh" content="(\d+)"></noscript>', html)
    assert int(seconds) == 23 + 1


def test_page_has_no_inline_script_and_loads_kiosk_js(client, world):
    login(client, world["manager"])
    html = client.get(f"/kiosk/{world['station'].code}").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert 'src="/static/kiosk.js"' in html
    assert " style=" not in html  # the Content-Security-Policy allows no inline style either


def test_code_svg_serves_this_or_the_next_window_only(client, world, frozen):
    station = world["station"]
    login(client, world["manager"])
    window = kiosk_window(NOW)
    for asked, served in [
        (None, window),
        (window, window),
        (window + 1, window + 1),
        (window + 2, window),
        (window - 1, window),
        ("nonsense", window),
    ]:
        query = "" if asked is None else f"?w={asked}"
        resp = client.get(f"/kiosk/{station.code}/code.svg{query}")
        assert resp.status_code == 200
        assert resp.mimetype == "image/svg+xml"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Kiosk-Window"] == str(served)
        assert int(resp.headers["X-Kiosk-Server-Ms"]) == int((NOW - datetime(1970, 1, 1)).total_seconds() * 1000)
        url = decode_svg(resp.get_data(as_text=True))
        assert url.endswith(f"?k={kiosk_token(SECRET, station, served)}")


def test_the_code_changes_every_window(client, world, monkeypatch):
    import views.kiosk

    login(client, world["manager"])
    seen = []
    for seconds in (0, 29, 30, 61):
        monkeypatch.setattr(
            views.kiosk, "utcnow", lambda s=seconds: datetime(2024, 5, 10, 2, 0, 0) + timedelta(seconds=s)
        )
        seen.append(decode_svg(client.get(f"/kiosk/{world['station'].code}/code.svg").get_data(as_text=True)))
    assert seen[0] == seen[1] and len(set(seen)) == 3


def test_a_scanned_kiosk_code_checks_the_representative_in(client, world):
    station, rep = world["station"], world["rep"]
    login(client, world["manager"])
    url = decode_svg(client.get(f"/kiosk/{station.code}/code.svg").get_data(as_text=True))
    path = url.removeprefix(PUBLIC_BASE_URL)
    login(client, rep.user)
    html = client.get(path).get_data(as_text=True)
    token = re.search(r'name="kiosk_token" value="([^"]+)"', html).group(1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    assert client.post(f"/s/{station.code}/check-in", data={"nonce": nonce, "kiosk_token": token}).status_code == 303
    _db.session.commit()
    duty = _db.session.scalar(_db.select(Duty))
    assert (duty.method, duty.status) == (DutyMethod.KIOSK, DutyStatus.OPEN)
    assert duty.kiosk_window == int(token.split("-")[0])


# --- the lists -------------------------------------------------------------------------------------


def test_page_lists_who_is_in_and_todays_roster(client, world):
    station, rep, later = world["station"], world["rep"], world["later"]
    today = local_today()
    _db.session.add_all(
        [
            DutySlot(
                station=station,
                representative=rep,
                day=today,
                starts_at=datetime(2024, 1, 1, 9).time(),
                ends_at=datetime(2024, 1, 1, 12).time(),
            ),
            DutySlot(
                station=station,
                representative=later,
                day=today,
                starts_at=datetime(2024, 1, 1, 14).time(),
                ends_at=datetime(2024, 1, 1, 17, 30).time(),
            ),
            DutySlot(
                station=station,
                representative=later,
                day=today + timedelta(days=1),
                starts_at=datetime(2024, 1, 1, 8).time(),
                ends_at=datetime(2024, 1, 1, 9).time(),
            ),
            Duty(
                station=station,
                representative=rep,
                checked_in_at=datetime(2024, 5, 10, 1, 5),
                method=DutyMethod.KIOSK,
                nonce="kiosk-list-nonce",
            ),
        ]
    )
    login(client, world["manager"])
    html = client.get(f"/kiosk/{station.code}").get_data(as_text=True)
    onduty = html.split('class="kiosk-list onduty-list"', 1)[1].split("</ul>", 1)[0]
    assert "王建国" in onduty and "09:05" in onduty and "李红梅" not in onduty
    roster = html.split('class="kiosk-list roster-list"', 1)[1].split("</ul>", 1)[0]
    assert "09:00–12:00" in roster and "14:00–17:30" in roster and "08:00" not in roster
    assert "南关街道联络站" in html

    status = client.get(f"/kiosk/{station.code}/status")
    assert status.headers["Cache-Control"] == "no-store"
    assert "王建国" in status.get_data(as_text=True) and "<html" not in status.get_data(as_text=True)


def test_page_with_nobody_in_and_no_roster(client, world):
    login(client, world["manager"])
    html = client.get(f"/kiosk/{world['station'].code}").get_data(as_text=True)
    assert "onduty-list" not in html and "roster-list" not in html
    assert html.count('class="kiosk-empty"') == 2
