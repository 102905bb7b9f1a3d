""" "My concerns" (/my) end to end through the views: asking for a code, reading it from the
outbox or the log, the list, limits, expiry, wrong codes, the session's end, stopping SMS
by the link and by the gateway's replies, and CSRF."""

import logging
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import MobileCode, Outbox, ResidentMobile, utcnow
from models.enums import ConcernStatus, OutboxStatus
from services import concern_flow as flow
from services import resident_mobile as rm
from services.codes import format_tracking_code
from services.outbox import deliver_due
from tests import factories

MOBILE = "13812345678"
OTHER = "13987654321"
TOKEN = "inbound-secret-token"


def ip(n: int) -> dict:
    """A distinct client address per test: the memory limiter outlives one app."""
    return {"REMOTE_ADDR": f"10.8.{n // 250}.{n % 250 + 1}"}


def outbox_rows() -> list[Outbox]:
    _db.session.rollback()  # see what the requests committed
    return list(_db.session.scalars(sa.select(Outbox).order_by(Outbox.id)))


def stopped(mobile: str = MOBILE) -> bool:
    _db.session.rollback()  # a fresh read, after what the requests committed
    return rm.is_stopped(mobile)


def contact(mobile: str = MOBILE):
    _db.session.rollback()
    return rm.contact(mobile)


def code_in(body: str) -> str:
    match = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", body)
    assert match, body
    return match.group(1)


def ask(client, mobile=MOBILE, **kw):
    _db.session.commit()
    return client.post("/my", data={"mobile": mobile}, **kw)


def enter(client, code, **kw):
    _db.session.commit()
    return client.post("/my/code", data={"code": code}, **kw)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def mine(db):
    """Two concerns filed with MOBILE at two stations, and one of someone else's."""
    a = factories.concern(
        station_obj=factories.station(name="莲花社区人大代表联络站"),
        contact_mobile=MOBILE,
        consent_at=utcnow(),
        created_at=utcnow() - timedelta(days=2),
    )
    b = factories.concern(
        station_obj=factories.station(name="防水行业人大代表联络站"),
        contact_mobile=MOBILE,
        consent_at=utcnow(),
        status=ConcernStatus.ACCEPTED,
    )
    c = factories.concern(contact_mobile=OTHER, consent_at=utcnow())
    db.session.commit()
    return a, b, c


def test_the_whole_way_from_number_to_list(app, client, mine):
    a, b, c = mine
    page = client.get("/my")
    assert page.status_code == 200 and "我的反映" in page.text and 'name="mobile"' in page.text
    resp = ask(client, "138 1234 5678")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/my/code")
    page = client.get("/my/code")
    assert "138****5678" in page.text and MOBILE not in page.text
    (sms,) = outbox_rows()
    assert (sms.recipient, sms.kind) == (MOBILE, rm.CODE_KIND)
    code = code_in(sms.body)

    refused = enter(client, wrong(code))
    assert refused.status_code == 422 and "还可以再试 4 次" in refused.text
    done = enter(client, code)
    assert done.status_code == 303 and done.headers["Location"].endswith("/my")
    listing = client.get("/my")
    assert listing.status_code == 200 and "no-store" in listing.headers["Cache-Control"]
    text = listing.text
    for concern in (a, b):
        assert format_tracking_code(concern.tracking_code) in text
        assert f'href="/t/{concern.tracking_code}"' in text
    assert format_tracking_code(c.tracking_code) not in text  # someone else's
    assert "莲花社区人大代表联络站" in text and "防水行业人大代表联络站" in text
    assert text.index(b.tracking_code) < text.index(a.tracking_code)  # newest first
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        accepted, submitted = flow.status_for_resident(b.status), flow.status_for_resident(a.status)
    assert accepted in text and submitted in text and accepted != submitted
    assert _db.session.scalar(sa.select(ResidentMobile.verified_at).where(ResidentMobile.mobile == MOBILE))
    # closing the list
    assert client.post("/my/leave").status_code == 303
    assert 'name="mobile"' in client.get("/my").text


def test_the_code_can_be_read_from_the_log_of_the_log_sender(app, client, mine, caplog):
    ask(client)
    with caplog.at_level(logging.INFO):
        assert deliver_due()["sent"] == 1
    (line,) = [r.getMessage() for r in caplog.records if "resident.code" in r.getMessage()]
    assert "138****5678" in line and MOBILE not in line
    assert enter(client, code_in(line.split(":", 1)[1])).status_code == 303
    assert "防水行业人大代表联络站" in client.get("/my").text


def test_the_answer_is_the_same_whether_or_not_the_number_filed_a_concern(app, mine):
    nobody = "13700001111"
    pages = []
    for mobile in (MOBILE, nobody):
        client = app.test_client()
        resp = ask(client, mobile)
        page = client.get("/my/code").text
        pages.append((resp.status_code, resp.headers["Location"], page.replace(rm.masked(mobile), "MASKED")))
    assert pages[0] == pages[1]
    assert [r.recipient for r in outbox_rows()] == [MOBILE]  # only the number that filed gets an SMS
    # a wrong code reads the same too
    answers = []
    for mobile in (MOBILE, nobody):
        client = app.test_client()
        ask(client, mobile)
        # (the number's second SMS today is held back: the first code still works)
        resp = enter(client, "000000" if mobile == nobody else wrong(code_in(outbox_rows()[0].body)))
        answers.append((resp.status_code, re.search(r'<ul class="errors"[^>]*>(.*?)</ul>', resp.text, re.S).group(1)))
    assert answers[0] == answers[1]


def test_a_number_that_filed_nothing_sees_an_empty_list_once_confirmed(client, db, mine):
    # (only reachable with the right code, which such a number never gets: shown through the session)
    row = MobileCode(mobile="13700001111", code_hash="x$y", created_at=utcnow(), expires_at=utcnow(), used_at=utcnow())
    row.expires_at = row.created_at + timedelta(minutes=5)
    db.session.add(row)
    db.session.commit()
    with client.session_transaction() as s:
        s["my"] = [row.id, int(time.time()) + 60]
    assert "没有用这个号码提交的反映" in client.get("/my").text


def test_bad_numbers_get_a_clear_message(client, db):
    for raw in ("", "12345", "abc"):
        resp = ask(client, raw)
        assert resp.status_code == 422 and "手机号" in resp.text
    assert outbox_rows() == []


def test_a_fourth_code_for_a_number_in_an_hour_is_refused(client, mine):
    for _ in range(3):
        assert ask(client).status_code == 303
    resp = ask(client)
    assert resp.status_code == 429 and "一小时后" in resp.text
    # three codes went out (UNCONFIRMED_CODES_PER_DAY); the fourth was refused before any SMS
    assert [r.status for r in outbox_rows()] == [OutboxStatus.PENDING] * 3


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "MY_RATE_LIMIT": "2 per hour"}])
def test_codes_asked_from_one_address_are_limited(client, db):
    env = ip(1)
    assert ask(client, "13700000001", environ_base=env).status_code == 303
    assert ask(client, "13700000002", environ_base=env).status_code == 303
    resp = ask(client, "13700000003", environ_base=env)
    assert resp.status_code == 429 and "网络" in resp.text
    assert ask(client, "13700000003", environ_base=ip(2)).status_code == 303


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "MY_VERIFY_RATE_LIMIT": "2 per hour"}])
def test_codes_typed_from_one_address_are_limited(client, mine):
    env = ip(3)
    ask(client, environ_base=env)
    code = code_in(outbox_rows()[0].body)
    assert enter(client, wrong(code), environ_base=env).status_code == 422
    assert enter(client, wrong(code), environ_base=env).status_code == 422
    resp = enter(client, code, environ_base=env)
    assert resp.status_code == 429 and "网络" in resp.text


def test_an_expired_code_is_refused(client, db, mine):
    ask(client)
    code = code_in(outbox_rows()[0].body)
    db.session.execute(sa.update(MobileCode).values(created_at=utcnow() - timedelta(minutes=6), expires_at=utcnow()))
    db.session.commit()
    resp = enter(client, code)
    assert resp.status_code == 422 and "已过期" in resp.text
    assert 'name="mobile"' in client.get("/my").text  # not confirmed


def test_five_wrong_codes_kill_it(client, mine):
    ask(client)
    code = code_in(outbox_rows()[0].body)
    for _ in range(4):
        assert "还可以再试" in enter(client, wrong(code)).text
    assert "重新获取" in enter(client, wrong(code)).text
    resp = enter(client, code)
    assert resp.status_code == 422 and "重新获取" in resp.text
    assert 'name="mobile"' in client.get("/my").text


def test_a_code_that_is_not_six_digits_is_explained(client, mine):
    ask(client)
    resp = enter(client, "12 34")
    assert resp.status_code == 422 and "6 位" in resp.text


def test_entering_a_code_before_asking_sends_back(client, db):
    resp = enter(client, "123456")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/my")
    assert client.get("/my/code").status_code == 303


def test_the_list_closes_after_the_session_time(client, mine):
    ask(client)
    assert enter(client, code_in(outbox_rows()[0].body)).status_code == 303
    assert "防水行业人大代表联络站" in client.get("/my").text
    with client.session_transaction() as s:
        code_id, _until = s["my"]
        s["my"] = [code_id, int(time.time()) - 1]
    page = client.get("/my")
    assert 'name="mobile"' in page.text and "防水行业人大代表联络站" not in page.text


def test_a_confirmed_resident_stops_and_restarts_sms_on_the_page(client, mine):
    ask(client)
    enter(client, code_in(outbox_rows()[0].body))
    assert "停止短信" in client.get("/my").text
    assert client.post("/my/sms/stop").status_code == 303
    assert stopped()
    page = client.get("/my").text
    assert "重新接收短信" in page
    assert client.post("/my/sms/start").status_code == 303
    assert not stopped()


def test_sms_choices_need_a_confirmed_number(client, db):
    assert client.post("/my/sms/stop").status_code == 303
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ResidentMobile)) == 0


def test_the_stop_link_in_an_sms_stops_them_and_a_stopped_number_can_come_back(client, mine):
    ask(client)
    (sms,) = outbox_rows()
    link = re.search(r"http://mashang\.test(/sms/stop/\S+)", sms.body).group(1)
    page = client.get(link)
    assert page.status_code == 200 and "138****5678" in page.text and "确认停止短信" in page.text
    assert not stopped()
    assert client.post(link).status_code == 303
    assert contact().opted_out_via == "link"
    page = client.get(link).text
    assert 'href="/my"' in page
    # the owner confirms the number on /my (yesterday's code still there), then opts back in
    assert enter(client, code_in(sms.body)).status_code == 303
    assert client.post("/my/sms/start").status_code == 303
    assert not stopped()


def test_a_forged_stop_link_is_a_404(client, db):
    token = rm.stop_token(MOBILE)
    assert client.get(f"/sms/stop/{token}x").status_code == 404
    assert client.post(f"/sms/stop/{token}x").status_code == 404
    assert contact() is None


# --- the gateway's replies ---------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"SMS_INBOUND_TOKEN": TOKEN}])
def test_a_td_reply_through_the_hook_stops_sms(client, db):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = client.post("/hooks/sms/inbound", json={"from": "+8613812345678", "text": "TD"}, headers=auth)
    assert resp.status_code == 200 and resp.json == {"ok": True, "action": "opted_out"}
    assert contact().opted_out_via == "reply"
    # a form body, the token in the address
    resp = client.post(f"/hooks/sms/inbound?token={TOKEN}", data={"from": OTHER, "text": "谢谢"})
    assert resp.json == {"ok": True, "action": "ignored"}
    # bad bodies
    assert client.post("/hooks/sms/inbound", json={"from": "10086", "text": "TD"}, headers=auth).status_code == 400
    assert client.post("/hooks/sms/inbound", json=["TD"], headers=auth).status_code == 400
    assert client.post("/hooks/sms/inbound", json={"text": "TD"}, headers=auth).status_code == 400
    bad = client.post("/hooks/sms/inbound", data="{not json", content_type="application/json", headers=auth)
    assert bad.status_code == 400


@pytest.mark.parametrize("app_config", [{"SMS_INBOUND_TOKEN": TOKEN, "WTF_CSRF_ENABLED": True}])
def test_the_hook_wants_the_token_but_no_csrf_token(client, db):
    body = {"from": MOBILE, "text": "退订"}
    assert client.post("/hooks/sms/inbound", json=body).status_code == 401
    assert client.post("/hooks/sms/inbound", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/hooks/sms/inbound?token=nope", json=body).status_code == 401
    assert client.post("/hooks/sms/inbound", json=body, headers={"Authorization": "Bearer 令牌"}).status_code == 401
    assert not stopped()
    assert client.post("/hooks/sms/inbound", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert stopped()


def test_the_hook_is_off_without_a_token(client, db):
    resp = client.post("/hooks/sms/inbound", json={"from": MOBILE, "text": "TD"}, headers={"Authorization": "Bearer "})
    assert resp.status_code == 404
    assert not stopped()


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_pages_forms_need_the_csrf_token(client, mine):
    assert ask(client).status_code == 400
    assert client.post("/my/leave").status_code == 400
    assert client.post(f"/sms/stop/{rm.stop_token(MOBILE)}").status_code == 400
    assert outbox_rows() == [] and not stopped()
    page = client.get("/my").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    _db.session.commit()
    assert client.post("/my", data={"mobile": MOBILE, "csrf_token": token}).status_code == 303


def test_my_concerns_is_linked_from_the_lookup_page_and_the_station_page(client, db):
    station = factories.station()
    db.session.commit()
    assert 'href="/my"' in client.get("/t").text
    assert 'href="/my"' in client.get(f"/s/{station.code}").text


def test_the_cap_shows_on_the_concern_for_staff(client, db, mine):
    """A resident SMS put off by the cap is listed on the concern, with when it goes out."""
    from models.enums import Role
    from tests.helpers import login

    a, _b, _c = mine
    rm.queue_resident_sms(MOBILE, "一", kind="concern.accepted", concern_id=a.id)
    rm.queue_resident_sms(MOBILE, "二", kind="concern.dispatched", concern_id=a.id)
    admin = factories.user(Role.ADMIN)
    db.session.commit()
    login(client, admin)
    page = client.get(f"/manage/concerns/{a.id}").text
    assert "当天已收到一条短信" in page and "08:30" in page
    assert "/handled" not in page  # the cap: nothing for staff to chase
    later = [r for r in outbox_rows() if r.last_error == rm.DEFERRED]
    assert len(later) == 1 and later[0].status == OutboxStatus.PENDING
