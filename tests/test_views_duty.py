"""Check-in and check-out through the web: the station page's duty panel, the refusal
pages, the 履职档案 (/me) and the annual report. Assertions are on status codes, forms,
redirects and rows, not on wording (the Chinese catalogue is being written)."""

import re
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from extensions import db as _db
from models import CheckInAttempt, Duty
from models.enums import DutyMethod, DutyStatus, PresencePolicy, Role
from services import clock
from services import duty as duty_service
from services.clock import utc_at
from services.duty import kiosk_token, kiosk_window
from services.duty_lines import counts
from tests import factories
from tests.helpers import login

SECRET = "test-secret"  # tests/conftest.py
LAT, LON = 33.4436, 114.8992


# --- helpers -------------------------------------------------------------------------------


def fresh() -> None:
    """End the test's own snapshot, to read what a request committed."""
    _db.session.commit()
    _db.session.expire_all()


def local(y, mo, d, h=0, mi=0) -> datetime:
    return utc_at(date(y, mo, d), time(h, mi))


def location_path(resp) -> str:
    parts = urlsplit(resp.headers["Location"])
    assert parts.netloc in ("", "localhost"), resp.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


def input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    if not tag:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def form_actions(html: str) -> list[str]:
    return re.findall(r'<form[^>]*\baction="([^"]+)"', html)


def duties(rep=None) -> list[Duty]:
    fresh()
    query = sa.select(Duty).order_by(Duty.id)
    if rep is not None:
        query = query.where(Duty.representative_id == rep.id)
    return list(_db.session.scalars(query))


def attempt_reasons() -> list[str]:
    fresh()
    return list(_db.session.scalars(sa.select(CheckInAttempt.reason).order_by(CheckInAttempt.id)))


def check_in(client, station, nonce="web-nonce-0001", headers=None, **form):
    _db.session.commit()
    return client.post(f"/s/{station.code}/check-in", data={"nonce": nonce, **form}, headers=headers or {})


@pytest.fixture
def world(db):
    """Two ordinary stations, a geo one and a kiosk one; a representative of all four,
    their manager, another station's manager."""
    main = factories.station(name="莲花街道联络站")
    other = factories.station(name="产业园联络站")
    geo = factories.station(
        name="防水行业联络站", latitude=LAT, longitude=LON, presence_policy=PresencePolicy.GEO, geo_radius_m=300
    )
    kiosk = factories.station(name="南关街道联络站", presence_policy=PresencePolicy.KIOSK)
    rep = factories.representative(stations=[main, other, geo, kiosk], name="王建国")
    manager = factories.user(Role.STATION_MANAGER, display_name="孟凡平", managed_stations=[main, geo, kiosk])
    stranger = factories.user(Role.STATION_MANAGER, display_name="杨帆", managed_stations=[other])
    db.session.commit()
    return {
        "main": main,
        "other": other,
        "geo": geo,
        "kiosk": kiosk,
        "rep": rep,
        "manager": manager,
        "stranger": stranger,
    }


# --- the station page's panel -----------------------------------------------------------------


def test_signed_in_representative_sees_the_check_in_button(client, world):
    login(client, world["rep"].user)
    html = client.get(f"/s/{world['main'].code}").get_data(as_text=True)
    assert f"/s/{world['main'].code}/check-in" in form_actions(html)
    assert len(input_value(html, "nonce")) >= 16
    assert input_value(html, "kiosk_token") == ""


def test_anonymous_and_staff_see_no_check_in_button(client, world):
    html = client.get(f"/s/{world['main'].code}").get_data(as_text=True)
    assert "/check-in" not in html
    login(client, world["manager"])
    html = client.get(f"/s/{world['main'].code}").get_data(as_text=True)
    assert "/check-in" not in html


def test_each_page_view_carries_a_new_nonce(client, world):
    login(client, world["rep"].user)
    first = input_value(client.get(f"/s/{world['main'].code}").get_data(as_text=True), "nonce")
    second = input_value(client.get(f"/s/{world['main'].code}").get_data(as_text=True), "nonce")
    assert first != second


# --- check in ----------------------------------------------------------------------------------


def test_check_in_redirects_to_the_station_page_showing_the_duty(client, world):
    rep, main = world["rep"], world["main"]
    login(client, rep.user)
    resp = check_in(client, main)
    assert resp.status_code == 303
    assert location_path(resp) == f"/s/{main.code}"
    (duty,) = duties(rep)
    assert (duty.station_id, duty.status, duty.method) == (main.id, DutyStatus.OPEN, DutyMethod.QR)
    html = client.get(f"/s/{main.code}").get_data(as_text=True)
    assert f"/duty/{duty.id}/check-out" in form_actions(html)
    assert f"/s/{main.code}/check-in" not in form_actions(html)
    assert 'class="flashes"' in html
    assert "王建国" in html.split('class="onduty"', 1)[1]  # 在站: residents see who is in


def test_a_retried_check_in_with_the_same_nonce_makes_one_duty(client, world):
    login(client, world["rep"].user)
    first = check_in(client, world["main"], nonce="double-tap-nonce")
    again = check_in(client, world["main"], nonce="double-tap-nonce")
    assert first.status_code == again.status_code == 303
    assert len(duties()) == 1
    assert attempt_reasons() == []


def test_second_check_in_elsewhere_names_the_first_station_and_offers_check_out(client, world):
    rep, main, other = world["rep"], world["main"], world["other"]
    login(client, rep.user)
    check_in(client, main, nonce="first-nonce-0001")
    resp = check_in(client, other, nonce="second-nonce-0001")
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "莲花街道联络站" in html
    (duty,) = duties(rep)
    assert f"/duty/{duty.id}/check-out" in form_actions(html)
    assert input_value(html, "next") == f"/s/{other.code}"
    assert attempt_reasons() == ["already_open"]

    # Checking out from there comes back to this station, where check-in now works.
    _db.session.commit()
    out = client.post(f"/duty/{duty.id}/check-out", data={"residents_received": "2", "next": f"/s/{other.code}"})
    assert out.status_code == 303
    assert location_path(out) == f"/s/{other.code}"
    assert check_in(client, other, nonce="third-nonce-0001").status_code == 303
    assert [d.station_id for d in duties(rep) if d.status == DutyStatus.OPEN] == [other.id]


def test_station_page_while_on_duty_elsewhere_offers_check_out_there(client, world):
    rep, main, other = world["rep"], world["main"], world["other"]
    login(client, rep.user)
    check_in(client, main)
    html = client.get(f"/s/{other.code}").get_data(as_text=True)
    (duty,) = duties(rep)
    assert "莲花街道联络站" in html
    assert f"/duty/{duty.id}/check-out" in form_actions(html)
    assert f"/s/{other.code}/check-in" not in form_actions(html)


def test_check_in_needs_a_representative(client, world):
    main = world["main"]
    resp = check_in(client, main)
    assert resp.status_code == 302 and location_path(resp).startswith("/login")
    login(client, world["manager"])
    assert check_in(client, main).status_code == 403
    assert duties() == []


def test_check_in_at_an_unknown_or_inactive_station_is_404(client, world):
    login(client, world["rep"].user)
    assert client.post("/s/ZZZZZZZZ/check-in", data={"nonce": "web-nonce-0001"}).status_code == 404
    world["main"].is_active = False
    assert check_in(client, world["main"]).status_code == 404


def test_a_missing_nonce_is_refused_and_kept(client, world):
    login(client, world["rep"].user)
    _db.session.commit()
    resp = client.post(f"/s/{world['main'].code}/check-in", data={})
    assert resp.status_code == 422
    assert attempt_reasons() == ["bad_nonce"]
    assert duties() == []


def test_an_integrity_error_becomes_already_open_never_a_500(client, world, monkeypatch):
    """The view's last guard, should the service ever let the index's refusal through."""
    rep, main, other = world["rep"], world["main"], world["other"]
    login(client, rep.user)
    check_in(client, main, nonce="first-nonce-0001")

    def raises(*_a, **_kw):
        raise IntegrityError("INSERT INTO duty", {}, Exception("uq_duty_one_open_per_rep"))

    monkeypatch.setattr(duty_service, "check_in", raises)
    resp = check_in(client, other, nonce="second-nonce-0001")
    assert resp.status_code == 409
    assert "莲花街道联络站" in resp.get_data(as_text=True)
    # The same nonce as the duty that won: that duty is the answer.
    resp = check_in(client, main, nonce="first-nonce-0001")
    assert resp.status_code == 303
    assert len(duties()) == 1


# --- presence proof --------------------------------------------------------------------------------


def test_geo_station_without_a_location_offers_a_pending_check_in(client, world):
    rep, geo = world["rep"], world["geo"]
    login(client, rep.user)
    resp = check_in(client, geo, nonce="geo-nonce-0001")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f"/s/{geo.code}/check-in" in form_actions(html)
    assert input_value(html, "allow_pending") == "1"
    assert input_value(html, "nonce") == "geo-nonce-0001"
    assert duties() == []
    assert attempt_reasons() == ["location_unavailable"]

    resp = check_in(client, geo, nonce="geo-nonce-0001", allow_pending="1")
    assert resp.status_code == 303
    (duty,) = duties(rep)
    assert (duty.status, duty.pending_reason) == (DutyStatus.OPEN, "location_unavailable")
    assert not counts(duty)
    assert attempt_reasons() == ["location_unavailable"]


def test_a_pending_duty_confirmed_while_open_no_longer_waits_on_the_representatives_pages(client, world):
    rep, geo = world["rep"], world["geo"]
    login(client, rep.user)
    check_in(client, geo, nonce="geo-nonce-0002", allow_pending="1")
    (duty,) = duties(rep)
    year = clock.to_local(duty.checked_in_at).year
    waiting = "待站长确认"
    assert waiting in client.get(f"/s/{geo.code}").get_data(as_text=True)
    assert "待确认 1 次" in client.get(f"/me/report/{year}").get_data(as_text=True)

    duty_service.confirm(world["manager"], duty, "当面确认")  # while the duty is still open
    _db.session.commit()
    assert waiting not in client.get(f"/s/{geo.code}").get_data(as_text=True)
    report = client.get(f"/me/report/{year}").get_data(as_text=True)
    assert "待确认 0 次" in report  # confirmed; and open, so it counts once checked out
    assert waiting not in client.get(f"/me?year={year}").get_data(as_text=True)


def test_geo_station_inside_the_radius_checks_in_with_the_distance(client, world):
    login(client, world["rep"].user)
    resp = check_in(client, world["geo"], latitude=str(LAT + 0.001), longitude=str(LON), accuracy="12")
    assert resp.status_code == 303
    (duty,) = duties()
    assert duty.pending_reason is None and 100 < duty.distance_m < 120


def test_a_geo_check_in_reads_as_a_browser_reported_position(client, world):
    """The weaker evidence says so, on the 履职档案 and in the manager's attendance review;
    a tablet code and a plain scan say what they are."""
    rep, geo, kiosk, main = world["rep"], world["geo"], world["kiosk"], world["main"]
    login(client, rep.user)
    assert check_in(client, geo, latitude=str(LAT + 0.001), longitude=str(LON), accuracy="12").status_code == 303
    (geo_duty,) = duties(rep)
    assert geo_duty.evidence == "browser_position"

    def evidence_labels(html: str) -> list[str]:
        return re.findall(r'<span class="evidence evidence-[a-z_]+">([^<]+)</span>', html)

    assert evidence_labels(client.get("/me").get_data(as_text=True)) == ["位置（浏览器上报）"]
    login(client, world["manager"])
    review = client.get(f"/manage/stations/{geo.code}/attendance").get_data(as_text=True)
    assert evidence_labels(review) == ["位置（浏览器上报）"]
    assert "浏览器可以上报任意位置" in review

    login(client, rep.user)
    client.post(f"/duty/{geo_duty.id}/check-out", data={"residents_received": "0"})
    token = kiosk_token(SECRET, kiosk, kiosk_window())
    assert check_in(client, kiosk, nonce="web-nonce-0002", kiosk_token=token).status_code == 303
    (kiosk_duty,) = [d for d in duties(rep) if d.station_id == kiosk.id]
    client.post(f"/duty/{kiosk_duty.id}/check-out", data={"residents_received": "0"})
    assert check_in(client, main, nonce="web-nonce-0003").status_code == 303
    assert sorted(evidence_labels(client.get("/me").get_data(as_text=True))) == sorted(
        ["位置（浏览器上报）", "平板签到码", "扫码"]
    )


def test_geo_station_too_far_is_refused_with_the_distance(client, world, app):
    login(client, world["rep"].user)
    resp = check_in(
        client, world["geo"], latitude=str(LAT + 0.02), longitude=str(LON), headers={"Accept-Language": "en"}
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    expected = int(round(duty_service.distance_m(LAT + 0.02, LON, LAT, LON), 1))
    assert f"{expected} m" in html and "300 m" in html
    assert input_value(html, "latitude") == str(LAT + 0.02)
    fresh()
    attempt = _db.session.scalar(sa.select(CheckInAttempt))
    assert attempt.reason == "too_far" and 2200 < attempt.distance_m < 2250


@pytest.mark.parametrize("value", ["nan", "inf", "1e99", "北纬", ""])
def test_nonsense_coordinates_count_as_no_location(client, world, value):
    login(client, world["rep"].user)
    resp = check_in(client, world["geo"], latitude=value, longitude=value)
    assert resp.status_code == 422
    assert attempt_reasons() == ["location_unavailable"]


def test_kiosk_station_with_a_valid_code_checks_in_by_tablet(client, world):
    rep, kiosk = world["rep"], world["kiosk"]
    login(client, rep.user)
    window = kiosk_window()
    token = kiosk_token(SECRET, kiosk, window)
    html = client.get(f"/s/{kiosk.code}?k={token}").get_data(as_text=True)
    assert input_value(html, "kiosk_token") == token
    resp = check_in(client, kiosk, kiosk_token=token)
    assert resp.status_code == 303
    (duty,) = duties(rep)
    assert duty.method == DutyMethod.KIOSK
    assert duty.kiosk_window == window
    assert duty.pending_reason is None


def test_kiosk_station_page_without_a_code_says_to_scan_the_tablet(client, world):
    login(client, world["rep"].user)
    html = client.get(f"/s/{world['kiosk'].code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "scan the code on the tablet" in html


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda st, other: kiosk_token(SECRET, st, kiosk_window() - 3), "kiosk_expired"),
        (lambda st, other: kiosk_token(SECRET, other, kiosk_window()), "kiosk_invalid"),
        (lambda st, other: kiosk_token(SECRET, st, kiosk_window())[:-2] + "zz", "kiosk_invalid"),
        (lambda st, other: "", "kiosk_required"),
    ],
)
def test_kiosk_station_refuses_bad_codes_and_offers_pending(client, world, make, reason):
    rep, kiosk = world["rep"], world["kiosk"]
    login(client, rep.user)
    token = make(kiosk, world["main"])
    resp = check_in(client, kiosk, kiosk_token=token)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert input_value(html, "allow_pending") == "1"
    assert input_value(html, "kiosk_token") == token
    assert attempt_reasons() == [reason]
    assert duties() == []
    resp = check_in(client, kiosk, kiosk_token=token, allow_pending="1")
    assert resp.status_code == 303
    (duty,) = duties(rep)
    assert duty.pending_reason == reason


# --- a kiosk code scanned while signed out ---------------------------------------------------------


def test_kiosk_code_scanned_signed_out_comes_back_after_sign_in(client, world):
    rep, kiosk = world["rep"], world["kiosk"]
    token = kiosk_token(SECRET, kiosk, kiosk_window())
    _db.session.commit()
    resp = client.get(f"/s/{kiosk.code}?k={token}")
    assert resp.status_code == 302
    login_path = location_path(resp)
    assert login_path.startswith("/login?")
    target = f"/s/{kiosk.code}?k={token}"
    assert parse_qs(urlsplit(login_path).query)["next"] == [target]

    html = client.get(login_path).get_data(as_text=True)
    assert input_value(html, "next") == target
    resp = client.post("/login", data={"login": rep.user.username, "password": "secret-pass", "next": target})
    assert resp.status_code == 302
    assert location_path(resp) == target
    html = client.get(target).get_data(as_text=True)
    assert input_value(html, "kiosk_token") == token
    assert check_in(client, kiosk, kiosk_token=token).status_code == 303
    assert duties(rep)[0].method == DutyMethod.KIOSK


def test_the_ordinary_station_page_stays_open_to_residents(client, world):
    assert client.get(f"/s/{world['kiosk'].code}").status_code == 200
    assert client.get(f"/s/{world['kiosk'].code}?k=").status_code == 200


def test_login_next_keeps_a_query_string_but_never_leaves_the_site(client, world):
    rep = world["rep"]
    _db.session.commit()
    for target, expected in [
        ("/s/ABC?k=1-2&x=%E4%B8%AD", "/s/ABC?k=1-2&x=%E4%B8%AD"),
        ("//evil.example/x", "/me"),
        ("https://evil.example/", "/me"),
    ]:
        resp = client.post(
            f"/login?next={quote(target, safe='')}", data={"login": rep.user.username, "password": "secret-pass"}
        )
        assert resp.status_code == 302
        assert location_path(resp) == expected
        client.post("/logout")


# --- check out ----------------------------------------------------------------------------------


def test_check_out_records_residents_and_notes(client, world):
    rep, main = world["rep"], world["main"]
    login(client, rep.user)
    check_in(client, main)
    (duty,) = duties(rep)
    resp = client.post(
        f"/duty/{duty.id}/check-out", data={"residents_received": "5", "notes": "接待群众5人，反映停车难。"}
    )
    assert resp.status_code == 303
    assert location_path(resp) == "/me"
    (duty,) = duties(rep)
    assert (duty.status, duty.residents_received, duty.notes) == (DutyStatus.CLOSED, 5, "接待群众5人，反映停车难。")
    # A retried check-out changes nothing.
    again = client.post(f"/duty/{duty.id}/check-out", data={"residents_received": "9", "notes": "again"})
    assert again.status_code == 303
    assert duties(rep)[0].residents_received == 5


@pytest.mark.parametrize("value", ["-1", "1001", "many", "3.5"])
def test_check_out_with_a_bad_count_keeps_the_duty_open(client, world, value):
    rep = world["rep"]
    login(client, rep.user)
    check_in(client, world["main"])
    (duty,) = duties(rep)
    resp = client.post(f"/duty/{duty.id}/check-out", data={"residents_received": value})
    assert resp.status_code == 303
    assert duties(rep)[0].status == DutyStatus.OPEN
    html = client.get(location_path(resp)).get_data(as_text=True)
    assert 'class="flashes"' in html


def test_check_out_next_must_stay_on_the_site(client, world):
    rep = world["rep"]
    login(client, rep.user)
    check_in(client, world["main"])
    (duty,) = duties(rep)
    resp = client.post(f"/duty/{duty.id}/check-out", data={"residents_received": "1", "next": "//evil.example/"})
    assert location_path(resp) == "/me"


def test_only_the_representative_checks_out_their_duty(client, world):
    rep = world["rep"]
    login(client, rep.user)
    check_in(client, world["main"])
    (duty,) = duties(rep)
    other = factories.representative(stations=[world["main"]], name="李红梅")
    login(client, other.user)
    assert client.post(f"/duty/{duty.id}/check-out", data={"residents_received": "1"}).status_code == 403
    login(client, world["manager"])
    assert client.post(f"/duty/{duty.id}/check-out", data={"residents_received": "1"}).status_code == 403
    assert client.post("/duty/999999/check-out", data={"residents_received": "1"}).status_code == 404
    assert duties(rep)[0].status == DutyStatus.OPEN


# --- 履职档案 and the annual report ---------------------------------------------------------------


@pytest.fixture
def history(db, world):
    """Duties of 2024 at two stations: two counted in March, one in May, one auto-closed,
    one pending; and one of 2023."""
    rep, main, other = world["rep"], world["main"], world["other"]

    def duty(station, start, hours, residents, status=DutyStatus.CLOSED, pending=None, n=[0]):
        n[0] += 1
        d = Duty(
            station=station,
            representative=rep,
            checked_in_at=start,
            checked_out_at=start + timedelta(hours=hours),
            method=DutyMethod.QR,
            status=status,
            nonce=f"history-{n[0]:04d}",
            residents_received=residents,
            pending_reason=pending,
        )
        db.session.add(d)
        return d

    duty(main, local(2024, 3, 5, 9), 2, 3)
    duty(main, local(2024, 3, 19, 9), 3, 4)
    duty(other, local(2024, 5, 7, 14), 1.5, 6)
    duty(other, local(2024, 5, 8, 9), 8.5, 0, status=DutyStatus.AUTO_CLOSED)
    duty(main, local(2024, 6, 1, 9), 1, 2, pending="location_unavailable")
    duty(main, local(2023, 12, 30, 9), 4, 10)
    db.session.commit()
    return world


def test_me_shows_monthly_and_yearly_totals(client, history):
    login(client, history["rep"].user)
    html = client.get("/me?year=2024").get_data(as_text=True)
    stats = re.findall(r"<strong>([\d.]+)</strong>", html.split('class="stats"', 1)[1].split("</section>", 1)[0])
    assert stats == ["3", "6.5", "13", "0"]  # duties, hours, residents, concerns
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td><td>([\d.]+)</td><td>(\d+)</td></tr>", html)
    assert ("3", "2", "5.0", "7") in rows
    assert ("5", "1", "1.5", "6") in rows
    assert html.count('class="counted"') == 3
    assert html.count('class="not-counted"') == 2
    assert "产业园联络站" in html


def test_me_shows_the_open_duty_with_its_check_out_form(client, world):
    rep = world["rep"]
    login(client, rep.user)
    check_in(client, world["main"])
    (duty,) = duties(rep)
    html = client.get("/me").get_data(as_text=True)
    assert f"/duty/{duty.id}/check-out" in form_actions(html)
    assert "莲花街道联络站" in html


def test_annual_report_totals_per_station(client, history):
    login(client, history["rep"].user)
    resp = client.get("/me/report/2024")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([\d.]+)</td><td>(\d+)</td><td>(\d+)</td></tr>", html)
    assert sorted(rows) == [("产业园联络站", "1", "1.5", "6", "0"), ("莲花街道联络站", "2", "5.0", "7", "0")]
    total = re.search(r"<tfoot><tr><th>[^<]+</th><th>(\d+)</th><th>([\d.]+)</th><th>(\d+)</th>", html)
    assert total.groups() == ("3", "6.5", "13")


def test_performance_file_is_the_representatives_own(client, world):
    assert location_path(client.get("/me")).startswith("/login")
    login(client, world["manager"])
    assert client.get("/me").status_code == 403
    assert client.get("/me/report/2024").status_code == 403
