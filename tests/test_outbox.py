"""Sending the outbox: the log, SMTP and webhook senders, retries, and never twice."""

import email
import email.policy
import json
import logging
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from models import ConcernEvent, Outbox, utcnow
from models.enums import ConcernStatus as S
from models.enums import OutboxStatus as St
from models.enums import Role
from services import concern_flow as flow
from services import outbox
from tests import factories

T0 = utcnow().replace(microsecond=0)


def add(db, n=1, **kw) -> list[Outbox]:
    made = []
    for i in range(n):
        row = Outbox(
            channel=kw.get("channel", "sms"),
            recipient=kw.get("recipient", f"138001380{i:02d}"),
            subject=kw.get("subject", ""),
            body=kw.get("body", f"您反映的问题已有答复 {i}"),
            kind=kw.get("kind", "concern.replied"),
            next_attempt_at=kw.get("next_attempt_at", T0),
            **{k: v for k, v in kw.items() if k in ("status", "claimed_at", "attempts")},
        )
        db.session.add(row)
        made.append(row)
    db.session.commit()
    return made


def reload(db, row: Outbox) -> Outbox:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Outbox, row.id)


# -- A local SMS gateway and a local SMTP server ----------------------------------------


class Gateway:
    """An HTTP server on 127.0.0.1 that records each POST and answers with `status`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.delay = 0.0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(gateway.delay)
                gateway.requests.append({"headers": dict(self.headers), "json": json.loads(body.decode("utf-8"))})
                self.send_response(gateway.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(app):
    gw = Gateway()
    app.config.update(OUTBOX_SMS_SENDER="webhook", SMS_WEBHOOK_URL=gw.url, SMS_WEBHOOK_TOKEN="gw-token")
    yield gw
    gw.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        OUTBOX_EMAIL_SENDER="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_STARTTLS=False,
        MAIL_FROM="码上 <noreply@mashang.test>",
    )
    yield inbox
    controller.stop()


# -- Senders ----------------------------------------------------------------------------


def test_the_log_sender_delivers_to_the_log_with_the_recipient_masked(db, caplog):
    [row] = add(db, recipient="13800138000", body="您反映的问题已由人大代表受理")
    with caplog.at_level(logging.INFO):
        counts = outbox.deliver_due(T0)
    assert counts == {"sent": 1, "retry": 0, "failed": 0, "interrupted": 0}
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("outbox")]
    assert "您反映的问题已由人大代表受理" in line and "138****8000" in line and "13800138000" not in line
    row = reload(db, row)
    assert (row.status, row.attempts, row.sent_at, row.claimed_at) == (St.SENT, 1, T0, T0)


def test_smtp_delivers_a_utf8_mail_to_a_real_server(db, smtp_server):
    [row] = add(
        db,
        channel="email",
        recipient="rep@example.org",
        subject="意见建议#7已分配给您",
        body="类别：城乡建设\n请登录处理",
    )
    assert outbox.deliver_due(T0)["sent"] == 1
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "noreply@mashang.test" and envelope.rcpt_tos == ["rep@example.org"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["To"] == "rep@example.org" and mail["Subject"] == "意见建议#7已分配给您"
    assert mail["Message-ID"] == f"<outbox-{row.id}@mashang.test>"
    assert mail.get_content_charset() == "utf-8" and mail.get_content().splitlines() == ["类别：城乡建设", "请登录处理"]
    assert reload(db, row).status == St.SENT


def test_smtp_that_cannot_connect_is_retried_later(db, app):
    app.config.update(OUTBOX_EMAIL_SENDER="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), MAIL_FROM="a@b.test")
    [row] = add(db, channel="email", recipient="rep@example.org", subject="s")
    assert outbox.deliver_due(T0)["retry"] == 1
    row = reload(db, row)
    assert row.status == St.PENDING and "SMTP" in row.last_error and row.next_attempt_at == T0 + timedelta(minutes=1)


def test_the_webhook_posts_json_with_a_token_and_an_idempotency_key(db, gateway):
    [row] = add(db, recipient="13800138000", body="请于2026-12-01前对答复进行评价", kind="concern.confirmed")
    assert outbox.deliver_due(T0)["sent"] == 1
    [req] = gateway.requests
    assert req["json"] == {
        "id": row.id,
        "to": "13800138000",
        "body": "请于2026-12-01前对答复进行评价",
        "kind": "concern.confirmed",
    }
    assert req["headers"]["Authorization"] == "Bearer gw-token"
    assert req["headers"]["Idempotency-Key"] == f"outbox-{row.id}"
    assert req["headers"]["Content-Type"].startswith("application/json")


def test_a_failing_gateway_is_retried_with_growing_waits_then_given_up(db, app, gateway):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 4
    gateway.status = 500
    [row] = add(db)
    now = T0
    for attempt, wait in [(1, 1), (2, 2), (3, 4)]:
        assert outbox.deliver_due(now)["retry"] == 1
        row = reload(db, row)
        assert (row.status, row.attempts, row.last_error) == (St.PENDING, attempt, "HTTP 500")
        assert row.next_attempt_at == now + timedelta(minutes=wait)
        # Not due yet: nothing is sent before the wait is over.
        assert outbox.deliver_due(row.next_attempt_at - timedelta(seconds=1)) == {
            "sent": 0,
            "retry": 0,
            "failed": 0,
            "interrupted": 0,
        }
        now = row.next_attempt_at
    assert outbox.deliver_due(now)["failed"] == 1
    row = reload(db, row)
    assert (row.status, row.attempts) == (St.FAILED, 4)
    assert len(gateway.requests) == 4
    outbox.deliver_due(now + timedelta(days=1))
    assert len(gateway.requests) == 4


def test_a_gateway_that_refuses_the_request_is_not_asked_again(db, gateway):
    gateway.status = 400
    [row] = add(db)
    assert outbox.deliver_due(T0)["failed"] == 1
    assert (reload(db, row).status, reload(db, row).last_error) == (St.FAILED, "HTTP 400")


def test_backoff_doubles_from_a_minute_up_to_six_hours():
    assert [outbox.backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert outbox.backoff(9) == timedelta(minutes=256) and outbox.backoff(10) == timedelta(hours=6)
    assert outbox.backoff(500) == timedelta(hours=6)


@pytest.mark.parametrize("settings", [{}, {"OUTBOX_SMS_SENDER": "webhook"}, {"OUTBOX_EMAIL_SENDER": "smtp"}])
def test_a_sender_without_its_settings_refuses_before_claiming_anything(db, app, settings):
    app.config.update(settings or {"OUTBOX_SMS_SENDER": "carrier-pigeon"})
    [row] = add(db)
    with pytest.raises(outbox.OutboxNotConfigured):
        outbox.deliver_due(T0)
    assert reload(db, row).status == St.PENDING


# -- Never twice --------------------------------------------------------------------------


def test_a_claimed_row_cannot_be_claimed_again(db, gateway):
    [row] = add(db)
    message = outbox.claim(row.id, T0)
    assert message is not None and message.id == row.id
    assert outbox.claim(row.id, T0) is None
    # A second worker running meanwhile finds nothing to send.
    assert outbox.deliver_due(T0)["sent"] == 0 and gateway.requests == []
    outbox.record(message, None, T0)
    assert reload(db, row).status == St.SENT


@pytest.mark.parametrize("immediate", [False, True], ids=["deferred", "begin-immediate"])
def test_concurrent_workers_never_send_one_row_twice(db, app, gateway, immediate):
    app.config["SQLITE_IMMEDIATE_OUTSIDE_REQUESTS"] = immediate
    gateway.delay = 0.005
    ids = [row.id for row in add(db, 30)]
    db.session.commit()  # reading the ids began a transaction: end it before the workers write
    totals, errors = [], []

    def worker():
        try:
            with app.app_context():
                totals.append(outbox.deliver_due(T0))
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    sent = [req["json"]["id"] for req in gateway.requests]
    assert sorted(sent) == ids  # each row exactly once
    assert sum(t["sent"] for t in totals) == 30
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(Outbox.status))) == {St.SENT}


def test_a_row_left_sending_by_a_dead_worker_fails_and_is_not_resent(db, gateway):
    [stale] = add(db, status=St.SENDING, claimed_at=T0 - timedelta(minutes=16))
    [recent] = add(db, status=St.SENDING, claimed_at=T0 - timedelta(minutes=5))
    counts = outbox.deliver_due(T0)
    assert counts == {"sent": 0, "retry": 0, "failed": 1, "interrupted": 1}
    stale, recent = reload(db, stale), reload(db, recent)
    assert stale.status == St.FAILED and "Interrupted" in stale.last_error
    assert recent.status == St.SENDING  # maybe still on its way
    assert gateway.requests == []


# -- From a concern to the log, and the CLI --------------------------------------------------


def test_a_transition_queues_and_the_worker_sends(db, caplog):
    rep = factories.representative()
    concern = factories.concern(contact_mobile="13800138000", consent_at=utcnow())
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    flow.transition(concern, "accept", role=Role.REPRESENTATIVE, actor=rep.user, representative=rep)
    db.session.commit()
    with caplog.at_level(logging.INFO):
        assert outbox.deliver_due()["sent"] == 1
    assert any(concern.tracking_code in r.getMessage() for r in caplog.records)


def test_cli_send_and_status(db, runner, gateway):
    add(db, 2)
    add(db, recipient="13800138099", next_attempt_at=utcnow() + timedelta(hours=1))
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 2, retry later 0, failed 0"
    assert len(gateway.requests) == 2

    gateway.status = 503
    db.session.execute(
        sa.update(Outbox).values(next_attempt_at=T0 - timedelta(hours=2)).where(Outbox.status == St.PENDING)
    )
    db.session.commit()
    result = runner.invoke(args=["outbox", "send", "--limit", "5"])
    assert result.output.strip() == "sent 0, retry later 1, failed 0"

    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0
    assert result.output.split() == ["pending", "1", "sending", "0", "sent", "2", "failed", "0"]


def test_cli_says_what_is_missing_when_a_sender_is_not_configured(db, app, runner):
    app.config["OUTBOX_SMS_SENDER"] = "webhook"
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 1
    assert "SMS_WEBHOOK_URL" in result.output and "Traceback" not in result.output


def test_the_log_sender_masks_codes_unless_told_to_log_the_whole_body(app, db, caplog):
    body = "您的反映已受理，跟踪码 MTPAC87VX3，查看 http://mashang.test/t/MTPAC87VX3 。验证码 123456，5 分钟内有效。"
    app.config["OUTBOX_LOG_FULL_BODY"] = False
    add(db, recipient="13800138000", body=body)
    with caplog.at_level(logging.INFO):
        outbox.deliver_due(T0)
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("outbox")]
    assert "MTPAC87VX3" not in line and "123456" not in line
    assert "跟踪码 MT********" in line and "/t/MT********" in line and "验证码 ******" in line

    caplog.clear()
    app.config["OUTBOX_LOG_FULL_BODY"] = True
    add(db, recipient="13800138000", body=body)
    with caplog.at_level(logging.INFO):
        outbox.deliver_due(T0)
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("outbox")]
    assert "http://mashang.test/t/MTPAC87VX3" in line and "123456" in line


def test_mask_codes_leaves_other_words_and_numbers_alone():
    from services.privacy import mask_codes

    assert mask_codes("Concern ABCDEFGH23 at 2026-12-01, call 13800138000") == (
        "Concern AB******** at 2026-12-01, call 13800138000"
    )
    assert mask_codes("ABCDEFGH234 and 1234567") == "ABCDEFGH234 and 1234567"  # not a code's length


def test_mask_codes_masks_a_tracking_code_as_staff_messages_print_it():
    from services.codes import format_tracking_code
    from services.privacy import mask_codes

    shown = format_tracking_code("MTPAC87VX3")
    assert shown == "MTPAC-87VX3"
    assert mask_codes(f"反映 {shown} 已交办你单位。") == "反映 MT********* 已交办你单位。"
