"""services/resident_mobile.py: one-time codes for "my concerns", the daily cap on SMS to
unconfirmed numbers, stopping SMS (reply, link), and the gateway's replies."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, ConcernEvent, MobileCode, Outbox, ResidentMobile, utcnow
from models.enums import ConcernStatus as S
from models.enums import OutboxStatus, Role
from services import concern_flow as flow
from services import resident_mobile as rm
from services.clock import day_bounds, local_today
from services.notifications import not_reached, told_whom
from tests import factories

MOBILE = "13812345678"
OTHER = "13987654321"


def outbox(db) -> list[Outbox]:
    db.session.flush()
    return list(db.session.scalars(sa.select(Outbox).order_by(Outbox.id)))


def code_in(row: Outbox) -> str:
    match = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", row.body)
    assert match, row.body
    return match.group(1)


@pytest.fixture
def filed(db):
    """A concern filed with MOBILE."""
    concern = factories.concern(contact_name="李女士", contact_mobile=MOBILE, consent_at=utcnow())
    db.session.flush()
    return concern


# --- codes ------------------------------------------------------------------------------


def test_a_code_is_six_digits_sent_by_sms_and_kept_only_as_a_keyed_hash(db, filed):
    row = rm.request_code("+86 138-1234-5678")
    (sms,) = outbox(db)
    code = code_in(sms)
    assert (sms.channel, sms.recipient, sms.kind, sms.status) == ("sms", MOBILE, rm.CODE_KIND, OutboxStatus.PENDING)
    assert row.mobile == MOBILE and code not in row.code_hash and len(row.code_hash) > 60
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    assert "/sms/stop/" in sms.body  # every resident SMS says how to stop them
    # two codes for the same number are hashed with different salts
    other = rm.request_code(MOBILE)
    assert other.code_hash.split("$")[0] != row.code_hash.split("$")[0]

    assert rm.verify_code(row.id, code) == MOBILE
    assert db.session.get(MobileCode, row.id).used_at is not None
    assert rm.contact(MOBILE).verified_at is not None
    assert db.session.scalar(sa.select(AuditLog.data).where(AuditLog.action == "sms.confirmed")) == {
        "mobile": "138****5678"
    }
    with pytest.raises(rm.MobileRefused) as refused:
        rm.verify_code(row.id, code)  # used once
    assert refused.value.code == "no_code"


def test_full_width_digits_and_spaces_in_the_code_are_fine(db, filed):
    row = rm.request_code(MOBILE)
    code = code_in(outbox(db)[0])
    typed = " ".join(chr(ord(d) + 0xFEE0) for d in code)  # full-width, spaced
    assert rm.verify_code(row.id, typed) == MOBILE


def test_a_number_that_filed_nothing_gets_a_code_row_but_no_sms_and_the_same_answers(db, filed):
    row = rm.request_code(OTHER)
    assert outbox(db) == [] and row.mobile == OTHER
    with pytest.raises(rm.MobileRefused) as nothing:
        rm.verify_code(row.id, "123456")
    mine = rm.request_code(MOBILE)
    wrong = "000000" if code_in(outbox(db)[0]) != "000000" else "111111"
    with pytest.raises(rm.MobileRefused) as something:
        rm.verify_code(mine.id, wrong)
    assert (nothing.value.code, nothing.value.details) == (something.value.code, something.value.details)
    assert nothing.value.code == "wrong_code" and nothing.value.details == {"left": 4}


def test_an_anonymous_concern_does_not_make_a_number_known(db):
    factories.concern(is_anonymous=True)
    rm.request_code(MOBILE)
    assert outbox(db) == []


def test_a_code_expires_after_five_minutes(db, filed):
    now = utcnow()
    row = rm.request_code(MOBILE, now=now)
    code = code_in(outbox(db)[0])
    with pytest.raises(rm.MobileRefused) as refused:
        rm.verify_code(row.id, code, now=now + timedelta(minutes=5, seconds=1))
    assert refused.value.code == "expired"
    assert rm.verify_code(row.id, code, now=now + timedelta(minutes=4, seconds=59)) == MOBILE


def test_five_wrong_tries_kill_the_code_but_the_fifth_may_be_right(db, filed):
    row = rm.request_code(MOBILE)
    code = code_in(outbox(db)[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(rm.MobileRefused) as refused:
            rm.verify_code(row.id, wrong)
        assert (refused.value.code, refused.value.details) == ("wrong_code", {"left": left})
    assert rm.verify_code(row.id, code) == MOBILE

    row = rm.request_code(MOBILE)
    code = code_in(outbox(db)[-1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    codes = []
    for _ in range(5):
        with pytest.raises(rm.MobileRefused) as refused:
            rm.verify_code(row.id, wrong)
        codes.append(refused.value.code)
    assert codes == ["wrong_code"] * 4 + ["dead"]
    with pytest.raises(rm.MobileRefused) as refused:
        rm.verify_code(row.id, code)  # the right code, too late
    assert refused.value.code == "dead"
    assert db.session.get(MobileCode, row.id).attempts == rm.CODE_TRIES


def test_something_that_is_not_six_digits_uses_no_try(db, filed):
    row = rm.request_code(MOBILE)
    for typed in ("12345", "1234567", "abcdef", ""):
        with pytest.raises(rm.MobileRefused) as refused:
            rm.verify_code(row.id, typed)
        assert refused.value.code == "bad_code"
    assert db.session.get(MobileCode, row.id).attempts == 0


def test_an_earlier_live_code_still_works(db, filed):
    db.session.add(ResidentMobile(mobile=MOBILE, verified_at=utcnow()))  # confirmed: two SMS may go out
    first = rm.request_code(MOBILE)
    code = code_in(outbox(db)[0])
    second = rm.request_code(MOBILE)
    assert first.id != second.id
    assert rm.verify_code(second.id, code) == MOBILE


def test_codes_per_number_are_limited_per_hour_and_per_day_whatever_it_filed(db, app):
    now = utcnow()
    for _ in range(3):
        rm.request_code(OTHER, now=now)
    with pytest.raises(rm.MobileRefused) as refused:
        rm.request_code(OTHER, now=now + timedelta(minutes=59))
    assert refused.value.code == "too_many_hour"
    later = now
    for hour in range(1, 4):
        later = now + timedelta(hours=hour, minutes=1)
        for _ in range(3 if hour < 3 else 1):
            rm.request_code(OTHER, now=later)
    with pytest.raises(rm.MobileRefused) as refused:
        rm.request_code(OTHER, now=later)
    assert refused.value.code == "too_many_day"
    assert rm.request_code(OTHER, now=now + timedelta(days=1, minutes=1)).mobile == OTHER
    # rows older than two days go
    rm.request_code(MOBILE, now=now + timedelta(days=4))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MobileCode)) == 1


@pytest.mark.parametrize("raw", ["", "12345", "23812345678", "电话"])
def test_a_bad_number_is_refused(db, raw):
    with pytest.raises(rm.MobileRefused) as refused:
        rm.request_code(raw)
    assert refused.value.code == "bad_mobile"


# --- the cap and the stop -----------------------------------------------------------------


def test_an_unconfirmed_number_gets_one_sms_a_day_and_the_rest_the_next_mornings(db):
    now = utcnow()
    first = rm.queue_resident_sms(MOBILE, "一", kind="concern.accepted", concern_id=None, now=now)
    second = rm.queue_resident_sms(MOBILE, "二", kind="concern.dispatched", now=now)
    third = rm.queue_resident_sms(MOBILE, "三", kind="concern.dispatched", now=now)
    assert first.status == OutboxStatus.PENDING and first.next_attempt_at == now
    # put off, never lost: one a morning, at 08:30 local time
    tomorrow = local_today(now) + timedelta(days=1)
    assert (second.status, second.last_error) == (OutboxStatus.PENDING, rm.DEFERRED)
    assert second.next_attempt_at == day_bounds(tomorrow)[0] + rm.DEFER_MORNING
    assert third.next_attempt_at == day_bounds(tomorrow + timedelta(days=1))[0] + rm.DEFER_MORNING
    # another number is not affected; the same number tomorrow has no room left until the day after
    assert rm.queue_resident_sms(OTHER, "四", kind="concern.accepted", now=now).next_attempt_at == now
    later = rm.queue_resident_sms(MOBILE, "五", kind="concern.accepted", now=now + timedelta(days=1))
    assert later.last_error == rm.DEFERRED and later.next_attempt_at > third.next_attempt_at


def test_a_later_message_about_the_same_concern_replaces_one_still_waiting(db, filed):
    concern = filed
    rm.queue_resident_sms(MOBILE, "受理", kind="concern.accepted", concern_id=concern.id)
    waiting = rm.queue_resident_sms(MOBILE, "答复", kind="concern.replied", concern_id=concern.id)
    newer = rm.queue_resident_sms(MOBILE, "请评价", kind="concern.confirmed", concern_id=concern.id)
    db.session.refresh(waiting)
    assert (waiting.status, waiting.last_error) == (OutboxStatus.FAILED, rm.SUPERSEDED)
    assert (newer.status, newer.last_error) == (OutboxStatus.PENDING, rm.DEFERRED)
    assert newer.next_attempt_at.date() == waiting.next_attempt_at.date()  # it takes the freed morning


def test_a_confirmed_number_is_not_capped(db):
    db.session.add(ResidentMobile(mobile=MOBILE, verified_at=utcnow()))
    rows = [rm.queue_resident_sms(MOBILE, str(n), kind="concern.accepted") for n in range(3)]
    assert {r.status for r in rows} == {OutboxStatus.PENDING}


def test_news_of_a_concern_never_keeps_a_code_back_and_a_held_back_code_keeps_no_body(app, db, filed):
    rm.queue_resident_sms(MOBILE, "进展", kind="concern.accepted")
    rm.request_code(MOBILE)
    progress, code = outbox(db)
    assert progress.status == code.status == OutboxStatus.PENDING  # each has its own allowance
    app.config["UNCONFIRMED_CODES_PER_DAY"] = 1
    rm.request_code(MOBILE)
    held = outbox(db)[-1]
    assert (held.status, held.last_error, held.body) == (OutboxStatus.FAILED, rm.HELD_DAILY_CAP, "—")


def test_a_stopped_number_gets_no_sms_but_the_code_its_owner_asks_for(app, db, filed):
    app.config["UNCONFIRMED_CODES_PER_DAY"] = 1
    rm.opt_out(MOBILE, "link")
    rm.opt_out(MOBILE, "reply")  # again: nothing changes
    assert rm.contact(MOBILE).opted_out_via == "link"
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "sms.opted_out")) == 1
    progress = rm.queue_resident_sms(MOBILE, "进展", kind="concern.accepted")
    assert (progress.status, progress.last_error) == (OutboxStatus.FAILED, rm.HELD_OPTED_OUT)
    row = rm.request_code(MOBILE)
    code = outbox(db)[-1]
    assert (code.kind, code.status) == (rm.CODE_KIND, OutboxStatus.PENDING)
    # ... one a day, even once the number is confirmed, while it is stopped
    rm.verify_code(row.id, code_in(code))
    rm.request_code(MOBILE)
    assert outbox(db)[-1].status == OutboxStatus.FAILED
    rm.opt_in(MOBILE)
    assert rm.contact(MOBILE).opted_out_at is None
    assert rm.queue_resident_sms(MOBILE, "进展", kind="concern.accepted").status == OutboxStatus.PENDING


def test_the_loop_puts_off_a_second_sms_the_same_day_and_staff_are_told(db):
    region = factories.region()
    station = factories.station(region=region)
    rep = factories.representative(stations=[station])
    manager = factories.user(Role.STATION_MANAGER)
    concern = factories.concern(station_obj=station, contact_name="李女士", contact_mobile=MOBILE, consent_at=utcnow())
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    db.session.flush()
    flow.transition(concern, "accept", actor=manager, role=Role.STATION_MANAGER, representative=rep)
    flow.transition(concern, "resolve", actor=rep.user, role=Role.REPRESENTATIVE, note="已当场答复：下周维修。")
    sent, later = [r for r in outbox(db) if r.recipient == MOBILE]
    assert sent.status == OutboxStatus.PENDING and "/sms/stop/" in sent.body
    assert (later.status, later.last_error, later.concern_id) == (OutboxStatus.PENDING, rm.DEFERRED, concern.id)
    said = told_whom([later])
    assert "138****5678" in said and "08:30" in said and "已通知" not in said
    assert later in not_reached(concern)  # staff see it waiting on the concern


def test_stop_links_are_signed(app):
    token = rm.stop_token(MOBILE)
    assert rm.mobile_from_stop_token(token) == MOBILE
    assert rm.stop_url(MOBILE).startswith("http://mashang.test/sms/stop/")
    assert rm.mobile_from_stop_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert rm.mobile_from_stop_token("not-a-token") is None
    app.config["SECRET_KEY"] = "another-secret"
    assert rm.mobile_from_stop_token(token) is None


@pytest.mark.parametrize("text", ["退订", " td ", "TD", "Stop!", "ＴＤ", "退 订。", "stop"])
def test_a_stop_reply_stops_sms(db, text):
    assert rm.handle_inbound("+86 13812345678", text) == "opted_out"
    assert rm.contact(MOBILE).opted_out_via == "reply"


@pytest.mark.parametrize("text", ["谢谢", "", "TD please call me", "退订了吗？我还想收"])
def test_other_replies_are_ignored(db, text):
    assert rm.handle_inbound(MOBILE, text) == "ignored"
    assert rm.contact(MOBILE) is None


def test_a_reply_from_no_mobile_number_is_refused(db):
    with pytest.raises(rm.MobileRefused) as refused:
        rm.handle_inbound("10086", "TD")
    assert refused.value.code == "bad_mobile"


def test_concerns_for_a_number_are_its_own_newest_first(db):
    old = factories.concern(contact_mobile=MOBILE, consent_at=utcnow(), created_at=utcnow() - timedelta(days=3))
    new = factories.concern(contact_mobile=MOBILE, consent_at=utcnow())
    factories.concern(contact_mobile=OTHER, consent_at=utcnow())
    assert rm.concerns_for(MOBILE) == [new, old]
