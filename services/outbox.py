"""Sending the outbox: pluggable senders, retries with backoff, and never twice.

Rows are written by services/notifications.py in the transaction of the change behind
them. `deliver_due` (run by `flask outbox send`, from cron every minute) sends them:

1. claim one due row: UPDATE ... SET status='sending' WHERE id=? AND status='pending',
   and go on only if that UPDATE changed exactly one row. Two workers can both pick the
   same candidate, but only one UPDATE matches; the other moves on. This works the same
   on SQLite (one writer at a time) and PostgreSQL (the second UPDATE waits for the
   first to commit, then re-reads the status and matches nothing);
2. commit the claim BEFORE sending, so no other worker can take the row while it is on
   its way;
3. send, with no transaction open (a slow gateway must not hold a database lock);
4. record the outcome: sent; or back to pending with a later next_attempt_at (1, 2, 4 …
   minutes, at most 6 hours); or failed after OUTBOX_MAX_ATTEMPTS or a permanent refusal.

Unlike the rest of services/, this module commits: the claim must be durable before the
message leaves, or a crash could lose the record that it was sent.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import Outbox, utcnow
from models.enums import OutboxStatus as St
from services import webhooks
from services.privacy import mask_codes

MAX_BACKOFF = timedelta(hours=6)
ERROR_CHARS = 500
INTERRUPTED = (
    "Interrupted while sending (the worker stopped before it recorded the outcome). "
    "Not retried automatically: it may have been delivered. Check, then resend by hand if needed."
)


class OutboxNotConfigured(RuntimeError):
    """A chosen sender lacks a setting (e.g. SMS_WEBHOOK_URL): nothing can be sent."""


class SendError(Exception):
    """The sender could not deliver. Permanent errors (a refused address, a 4xx from the
    gateway) are not retried: the same request would be refused again."""

    def __init__(self, message: str, *, permanent: bool = False, response_code: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.response_code = response_code  # the HTTP status, when there was an answer


@dataclass(frozen=True)
class Message:
    """A claimed row's content, copied out so that sending needs no open session."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    kind: str
    attempts: int


class Sender(Protocol):
    def send(self, message: Message) -> int | None:
        """Deliver or raise SendError; an HTTP sender returns the response's status."""


# -- Senders --------------------------------------------------------------------------


class LogSender:
    """Delivers to the application log: the default, for development and for sites that
    have no gateway yet. Recipients are masked; in the body, tracking codes and one-time
    codes are masked unless OUTBOX_LOG_FULL_BODY (on in development: the demo reads the
    codes from the log; off in production, where whoever reads logs must not open concerns)."""

    def __init__(self, config=None):
        config = config if config is not None else current_app.config
        self.full_body = bool(config.get("OUTBOX_LOG_FULL_BODY"))
        self.logger = current_app.logger.getChild("outbox")
        if self.logger.level == logging.NOTSET:
            # Flask's logger stays at WARNING outside debug mode; these lines are the delivery.
            self.logger.setLevel(logging.INFO)

    def send(self, message: Message) -> None:
        subject = f" [{message.subject}]" if message.subject else ""
        self.logger.info(
            "outbox %d %s to %s (%s)%s: %s",
            message.id,
            message.channel,
            mask_recipient(message.recipient),
            message.kind,
            subject,
            message.body if self.full_body else mask_codes(message.body),
        )


class SmtpSender:
    """E-mail through an SMTP server (SMTP_HOST …): STARTTLS on 587, implicit TLS with
    SMTP_SSL (465), or plain for a local relay."""

    def __init__(self, config):
        if not config.get("SMTP_HOST") or not config.get("MAIL_FROM"):
            raise OutboxNotConfigured("OUTBOX_EMAIL_SENDER is 'smtp' but SMTP_HOST or MAIL_FROM is not set.")
        self.config = config

    def send(self, message: Message) -> None:
        cfg = self.config
        mail = EmailMessage()
        mail["From"] = cfg["MAIL_FROM"]
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=True)
        domain = cfg["MAIL_FROM"].rpartition("@")[2].strip(">") or "localhost"
        # Stable per row: a receiving system that sees it twice can tell it is the same mail.
        mail["Message-ID"] = f"<outbox-{message.id}@{domain}>"
        mail.set_content(message.body)
        timeout = cfg["OUTBOX_SEND_TIMEOUT_SECONDS"]
        smtp: smtplib.SMTP
        try:
            if cfg["SMTP_SSL"]:
                context = ssl.create_default_context()
                smtp = smtplib.SMTP_SSL(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP connect: {type(exc).__name__}: {exc}") from exc
        try:
            if cfg["SMTP_STARTTLS"] and not cfg["SMTP_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if cfg["SMTP_USERNAME"]:
                smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {type(exc).__name__}: {exc}") from exc
        finally:
            # Outside the try above: once the server took the message, a failed goodbye
            # must not turn a delivery into a retry.
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class WebhookSender:
    """SMS through an HTTP gateway: POST {id, to, body, kind} as JSON to SMS_WEBHOOK_URL,
    with `Idempotency-Key: outbox-<id>` so that a gateway which honours it drops a repeat."""

    def __init__(self, config):
        url = config.get("SMS_WEBHOOK_URL") or ""
        if not url.startswith(("http://", "https://")):
            raise OutboxNotConfigured("OUTBOX_SMS_SENDER is 'webhook' but SMS_WEBHOOK_URL is not an http(s) URL.")
        self.url = url
        self.token = config.get("SMS_WEBHOOK_TOKEN") or ""
        self.timeout = config["OUTBOX_SEND_TIMEOUT_SECONDS"]

    def send(self, message: Message) -> None:
        payload = {"id": message.id, "to": message.recipient, "body": message.body, "kind": message.kind}
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": f"outbox-{message.id}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310  (the scheme is checked to be http(s) above)
            self.url, data=json.dumps(payload, ensure_ascii=False).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            # A 4xx will be refused again (but for a timeout or a rate limit): do not retry it.
            raise SendError(f"HTTP {exc.code}", permanent=400 <= exc.code < 500 and exc.code not in (408, 429)) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SendError(f"webhook: {getattr(exc, 'reason', exc)}") from exc
        if not 200 <= status < 300:
            raise SendError(f"HTTP {status}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: urllib would re-send a POST as a bodiless
    GET (301, 302) and call that success."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class SignedWebhookSender:
    """Events to another system's URL (services.webhooks): the row's JSON body POSTed as it
    was written, signed with the subscription's secret at the time of each attempt. A 2xx
    is delivered; a 4xx (but 408 and 429) is refused for good; anything else, a timeout or
    no connection is tried again with the outbox's backoff."""

    def __init__(self, config):
        self.timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
        self.opener = urllib.request.build_opener(_NoRedirect)

    def send(self, message: Message) -> int | None:
        target = webhooks.target(message.recipient)
        if target is None or target.deleted:
            raise SendError("the subscription was deleted or its key revoked", permanent=True)
        if not target.active and message.kind != webhooks.PING:
            # Paused: tried again later, and delivered once it is resumed (or given up).
            raise SendError("the subscription is paused")
        body = message.body.encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Mashang-Webhooks/1",
            webhooks.HEADER_ID: message.subject,
            webhooks.HEADER_TIMESTAMP: str(timestamp),
            webhooks.HEADER_SIGNATURE: webhooks.signature_header(target.secret, timestamp, body),
        }
        request = urllib.request.Request(target.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise SendError(f"HTTP {exc.code}", permanent=permanent, response_code=exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SendError(f"webhook: {getattr(exc, 'reason', exc)}") from exc
        if not 200 <= status < 300:
            raise SendError(f"HTTP {status}", response_code=status)
        return status


SENDERS: dict[str, dict[str, type]] = {
    "sms": {"log": LogSender, "webhook": WebhookSender},
    "email": {"log": LogSender, "smtp": SmtpSender},
    webhooks.CHANNEL: {"log": LogSender, "http": SignedWebhookSender},
}
SETTING = {"sms": "OUTBOX_SMS_SENDER", "email": "OUTBOX_EMAIL_SENDER", webhooks.CHANNEL: "OUTBOX_WEBHOOK_SENDER"}


def senders_from_config(config) -> dict[str, Sender]:
    """One sender per channel, as configured; OutboxNotConfigured when a setting is wrong."""
    chosen = {}
    for channel, choices in SENDERS.items():
        name = config[SETTING[channel]]
        if name not in choices:
            raise OutboxNotConfigured(f"{SETTING[channel]} must be one of {', '.join(choices)}, not {name!r}.")
        chosen[channel] = choices[name](config)
    return chosen


# -- The worker -----------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 1, 2, 4 … minutes, at most MAX_BACKOFF."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 20)), MAX_BACKOFF)


def _rows_updated(statement: sa.Update) -> int:
    """Run an UPDATE and return how many rows it changed."""
    result = db.session.execute(statement)
    assert isinstance(result, sa.CursorResult)  # what an UPDATE returns; it has the rowcount
    return result.rowcount


def fail_interrupted(now: datetime | None = None) -> int:
    """Mark failed the rows left "sending" longer than OUTBOX_CLAIM_TIMEOUT_MINUTES.

    Such a row was claimed by a worker that died (or lost the database) before recording
    the outcome. It may or may not have gone out, and sending it again could deliver it
    twice, so it is never put back to pending: it fails with an explanation instead."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=current_app.config["OUTBOX_CLAIM_TIMEOUT_MINUTES"])
    failed = _rows_updated(
        sa.update(Outbox)
        .where(Outbox.status == St.SENDING, Outbox.claimed_at < cutoff)
        .values(status=St.FAILED, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return failed


def claim(row_id: int, now: datetime | None = None) -> Message | None:
    """Take one due row for sending, or None when another worker took it first. Commits."""
    now = now or utcnow()
    claimed = _rows_updated(
        sa.update(Outbox)
        .where(Outbox.id == row_id, Outbox.status == St.PENDING, Outbox.next_attempt_at <= now)
        .values(status=St.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        db.session.commit()
        return None
    row = db.session.get(Outbox, row_id, populate_existing=True)
    assert row is not None  # just updated in this transaction
    message = Message(row.id, row.channel, row.recipient, row.subject, row.body, row.kind, row.attempts)
    db.session.commit()
    return message


def record(
    message: Message, error: SendError | None, now: datetime | None = None, response_code: int | None = None
) -> St:
    """Write the outcome of sending a claimed row (and the HTTP status of an HTTP sender's
    answer). Commits; returns the new status."""
    now = now or utcnow()
    attempts = message.attempts + 1
    values: dict[str, object]
    if error is not None:
        response_code = error.response_code
    if error is None:
        status, values = St.SENT, {"sent_at": now, "last_error": ""}
    elif error.permanent or attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        status, values = St.FAILED, {"last_error": str(error)[:ERROR_CHARS]}
    else:
        status, values = (
            St.PENDING,
            {"next_attempt_at": now + backoff(attempts), "last_error": str(error)[:ERROR_CHARS]},
        )
    recorded = _rows_updated(
        sa.update(Outbox)
        .where(Outbox.id == message.id, Outbox.status == St.SENDING)
        .values(attempts=attempts, status=status, response_code=response_code, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if recorded != 1:
        # Only if the send outlasted OUTBOX_CLAIM_TIMEOUT_MINUTES and another run gave up on it.
        current_app.logger.warning(
            "outbox %d: outcome %s not recorded, the row was no longer sending", message.id, status.value
        )
    return status


def deliver_due(now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send up to `limit` due rows, one claim at a time. Returns counts: sent, retry
    (back to pending for later), failed (given up, including interrupted rows) and
    interrupted. Raises OutboxNotConfigured before claiming anything if a sender is
    misconfigured."""
    # Each claim and outcome is stamped when it happens (a long batch must not look stale
    # to the next cron run); tests pass a fixed `now`.
    fixed = now

    def clock() -> datetime:
        return utcnow() if fixed is None else fixed

    now = clock()
    senders = senders_from_config(current_app.config)
    counts = {"sent": 0, "retry": 0, "failed": 0, "interrupted": 0}
    counts["interrupted"] = counts["failed"] = fail_interrupted(now)
    due = list(
        db.session.scalars(
            sa.select(Outbox.id)
            .where(Outbox.status == St.PENDING, Outbox.next_attempt_at <= now)
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(limit)
        )
    )
    db.session.commit()  # end the read: each claim below starts its own short write
    for row_id in due:
        message = claim(row_id, clock())
        if message is None:
            continue  # another worker has it
        error, response_code = None, None
        sender = senders.get(message.channel)
        try:
            if sender is None:
                raise SendError(f"unknown channel {message.channel!r}", permanent=True)
            response_code = sender.send(message)
        except SendError as exc:
            error = exc
        except Exception as exc:
            # A sender bug, not a refusal: whether anything left is unknown, so no retry.
            current_app.logger.exception("outbox %d: the %s sender failed unexpectedly", message.id, message.channel)
            error = SendError(f"unexpected {type(exc).__name__}: {exc}", permanent=True)
        status = record(message, error, clock(), response_code)
        counts[{St.SENT: "sent", St.PENDING: "retry", St.FAILED: "failed"}[status]] += 1
        if error is not None:
            current_app.logger.warning("outbox %d not sent (%s): %s", message.id, status.value, error)
    return counts


def status_counts() -> dict[str, int]:
    """How many rows are in each status (every status listed, zero included)."""
    found = dict(db.session.execute(sa.select(Outbox.status, sa.func.count()).group_by(Outbox.status)).tuples().all())
    return {status.value: found.get(status, 0) for status in St}


def mask_recipient(recipient: str) -> str:
    """138****5678 for a mobile, w***@example.org for an address: for logs."""
    if "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:1]}***@{domain}"
    if len(recipient) >= 7:
        return f"{recipient[:3]}****{recipient[-4:]}"
    return "***"
