"""Webhooks: another system hears about the events of its key's scope, and answers back.

Out: the admin subscribes a URL of an API key's system to some event types (EVENTS). When
such an event happens, one Outbox row per matching subscription (channel `webhook-out`)
is added in the transaction of the change; services.outbox sends it like any
notification (claimed once, retried with backoff, never twice), signed here (sign()).
The single points every event passes: the workflow engine's `publish` hook (every step of
the concern loop and of a suggestion, whoever takes it: back office, API, resident, jobs)
and services.concerns.file (filing creates a concern outside the engine).

A subscription hears only what its key could read (permissions.hears): a county's key
never hears of another county's concerns; a unit's key hears of what is dispatched to it.

The signature (documented in the README, after Stripe's and Standard Webhooks' schemes):
    Mashang-Webhook-Id:        the delivery's id (the same on every retry: drop repeats)
    Mashang-Webhook-Timestamp: Unix seconds when this attempt was signed
    Mashang-Webhook-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>
A receiver recomputes it over the raw body and refuses a timestamp more than
WEBHOOK_TOLERANCE_SECONDS (5 minutes) away from its clock: a replayed request is stale.

In: a unit's own system replies to or returns a concern dispatched to it through
/api/v1/inbound/concerns/<id>, with its acting key and the same signature scheme over
its request (verify()), signed with the secret of one of its key's subscriptions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from extensions import db
from models import ApiKey, Concern, ConcernEvent, Outbox, Suggestion, User, WebhookSubscription, utcnow
from models.enums import ConcernAction, OutboxStatus, SuggestionAction
from services import audit
from services.api_keys import principal
from services.errors import ApiRefused
from services.permissions import hears

CHANNEL = "webhook-out"
RECIPIENT_PREFIX = "webhook:"
URL_MAX = 500
SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix of a generated secret, no secret)
SECRET_BYTES = 24  # 192 bits
SIGNATURE_VERSION = "v1"
HEADER_ID = "Mashang-Webhook-Id"
HEADER_TIMESTAMP = "Mashang-Webhook-Timestamp"
HEADER_SIGNATURE = "Mashang-Webhook-Signature"

CREATED = "concern.created"
STAGE_CHANGED = "concern.stage_changed"
RATED = "concern.rated"
SUGGESTION_REPLIED = "suggestion.replied"
PING = "ping"
# The event types a subscription may choose, with their titles on the admin's page.
EVENTS = {
    CREATED: _l("A concern is filed"),
    STAGE_CHANGED: _l("A concern moves to another stage"),
    RATED: _l("A resident rates the answer"),
    SUGGESTION_REPLIED: _l("A handling unit replies to a suggestion"),
}
LOG_PAGE = 100


@dataclass(frozen=True)
class NewSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once on the admin's page


@dataclass(frozen=True)
class Target:
    """What the sender needs of a subscription, read outside any open transaction."""

    url: str
    secret: str
    active: bool
    deleted: bool


# --- the admin's subscriptions ------------------------------------------------------------


def clean_url(url: str) -> str:
    """An absolute http(s) URL with a host, or ApiRefused bad_url."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if len(url) > URL_MAX or parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise ApiRefused("bad_url", n=URL_MAX)
    return url


def subscribe(actor: User | None, key: ApiKey, url: str, events: list[str], now: datetime | None = None):
    """A new subscription of `key`'s system, active, with a fresh secret (returned once).
    Refuses: key_revoked, bad_url, events_required. Audited as webhook.created."""
    if key.revoked_at is not None:
        raise ApiRefused("key_revoked")
    url = clean_url(url)
    chosen = [event for event in EVENTS if event in set(events or ())]
    if not chosen or len(chosen) != len(set(events)):
        raise ApiRefused("events_required")
    secret = SECRET_PREFIX + secrets.token_hex(SECRET_BYTES)
    sub = WebhookSubscription(
        api_key=key,
        url=url,
        events=chosen,
        secret=secret,
        created_by_id=actor.id if actor is not None else None,
        created_at=now or utcnow(),
    )
    db.session.add(sub)
    db.session.flush()
    audit.log(actor, "webhook.created", sub, api_key=key.id, url=url, events=chosen)
    return NewSubscription(sub, secret)


def pause(actor: User | None, sub: WebhookSubscription, now: datetime | None = None) -> None:
    """No new deliveries until resumed (refuses webhook_deleted, already_paused); rows
    queued before wait in the outbox. Audited as webhook.paused."""
    if sub.deleted_at is not None:
        raise ApiRefused("webhook_deleted")
    if sub.paused_at is not None:
        raise ApiRefused("already_paused")
    sub.paused_at = now or utcnow()
    audit.log(actor, "webhook.paused", sub, api_key=sub.api_key_id, url=sub.url)


def resume(actor: User | None, sub: WebhookSubscription) -> None:
    """Refuses webhook_deleted, not_paused. Audited as webhook.resumed."""
    if sub.deleted_at is not None:
        raise ApiRefused("webhook_deleted")
    if sub.paused_at is None:
        raise ApiRefused("not_paused")
    sub.paused_at = None
    audit.log(actor, "webhook.resumed", sub, api_key=sub.api_key_id, url=sub.url)


def delete(actor: User | None, sub: WebhookSubscription, now: datetime | None = None) -> None:
    """Stop it for good: nothing more is queued or sent for it, its secret no longer signs
    inbound requests; the delivery log stays. Refuses webhook_deleted. Audited."""
    if sub.deleted_at is not None:
        raise ApiRefused("webhook_deleted")
    sub.paused_at = None
    sub.deleted_at = now or utcnow()
    audit.log(actor, "webhook.deleted", sub, api_key=sub.api_key_id, url=sub.url)


def send_test(actor: User | None, sub: WebhookSubscription, now: datetime | None = None) -> Outbox:
    """Queue a `ping` event for this subscription, even a paused one (to check a receiver
    before resuming). Refuses webhook_deleted, key_revoked. Audited as webhook.test_sent."""
    if sub.deleted_at is not None:
        raise ApiRefused("webhook_deleted")
    if sub.api_key.revoked_at is not None:
        raise ApiRefused("key_revoked")
    now = now or utcnow()
    row = _row(sub, PING, {"subscription": sub.id, "api_key": sub.api_key.name}, now)
    db.session.add(row)
    db.session.flush()
    audit.log(actor, "webhook.test_sent", sub, api_key=sub.api_key_id, outbox=row.id)
    return row


def subscriptions_of(key: ApiKey) -> list[WebhookSubscription]:
    return list(
        db.session.scalars(
            sa.select(WebhookSubscription)
            .where(WebhookSubscription.api_key_id == key.id)
            .order_by(WebhookSubscription.deleted_at.is_not(None), WebhookSubscription.id.desc())
        )
    )


def deliveries(sub: WebhookSubscription, limit: int = LOG_PAGE) -> list[Outbox]:
    """The delivery log: this subscription's outbox rows, newest first."""
    return list(
        db.session.scalars(
            sa.select(Outbox)
            .where(Outbox.recipient == sub.recipient, Outbox.channel == CHANNEL)
            .order_by(Outbox.id.desc())
            .limit(limit)
        )
    )


def delivery_counts(sub: WebhookSubscription) -> dict[str, int]:
    found = dict(
        db.session.execute(
            sa.select(Outbox.status, sa.func.count())
            .where(Outbox.recipient == sub.recipient, Outbox.channel == CHANNEL)
            .group_by(Outbox.status)
        )
        .tuples()
        .all()
    )
    return {status.value: found.get(status, 0) for status in OutboxStatus}


# --- events into the outbox ------------------------------------------------------------------


def _utc(value: datetime | None) -> str | None:
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _row(sub: WebhookSubscription, event_type: str, data: dict, now: datetime) -> Outbox:
    payload = {"id": f"msg_{uuid.uuid4().hex}", "type": event_type, "created_at": _utc(now), "data": data}
    # concern_id stays empty: a webhook that fails is the receiving system's to chase (its
    # delivery log), not a person the concern's staff should tell another way.
    return Outbox(
        channel=CHANNEL,
        recipient=sub.recipient,
        subject=payload["id"],
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        kind=event_type,
        next_attempt_at=now,
        created_at=now,
    )


def queue(event_type: str, obj, data: dict, now: datetime | None = None) -> list[Outbox]:
    """One Outbox row for every active subscription to `event_type` whose key hears of
    `obj`, added to the session (committed or rolled back with the change)."""
    now = now or utcnow()
    subs = db.session.scalars(
        sa.select(WebhookSubscription)
        .join(ApiKey, WebhookSubscription.api_key_id == ApiKey.id)
        .where(
            WebhookSubscription.paused_at.is_(None),
            WebhookSubscription.deleted_at.is_(None),
            ApiKey.revoked_at.is_(None),
        )
        .order_by(WebhookSubscription.id)
    ).all()
    rows = [
        _row(sub, event_type, data, now)
        for sub in subs
        if event_type in sub.events and hears(principal(sub.api_key), obj)
    ]
    db.session.add_all(rows)
    return rows


def concern_data(concern: Concern, event: ConcernEvent | None = None) -> dict:
    """What an event says of a concern: its public and scope fields, never the resident's
    text or contact; the receiver reads the rest through /api/v1/concerns/<id> with its key."""
    from services.concern_flow import STAGES, stage_done  # the loop imports this module

    done = stage_done(concern.status)
    data: dict = {
        "concern": {
            "id": concern.id,
            "tracking_code": concern.tracking_code,
            "status": concern.status.value,
            "stage": STAGES[done][0] if done is not None else None,
            "version": concern.version,
            "station": {"code": concern.station.code, "name": concern.station.name},
            "category": concern.category.code,
            "unit": {"id": concern.unit.id, "name": concern.unit.name} if concern.unit is not None else None,
            "source": concern.source.value,
            "rounds": concern.rounds,
            "due_at": _utc(concern.due_at),
            "created_at": _utc(concern.created_at),
            "updated_at": _utc(concern.updated_at),
        }
    }
    if event is not None:
        data["event"] = {
            "action": str(event.action),
            "from_status": event.from_status.value if event.from_status else None,
            "to_status": event.to_status.value if event.to_status else None,
            "note": event.note if event.is_public else "",
            "at": _utc(event.created_at),
        }
    return data


def concern_created(concern: Concern, event: ConcernEvent) -> list[Outbox]:
    """services.concerns.file calls this once the new concern is flushed."""
    return queue(CREATED, concern, concern_data(concern, event), event.created_at)


def concern_step(concern: Concern, event: ConcernEvent, _spec) -> list[Outbox]:
    """The concern loop's publish hook (services.workflow): after every step."""
    rows: list[Outbox] = []
    if event.from_status != event.to_status:
        rows += queue(STAGE_CHANGED, concern, concern_data(concern, event), event.created_at)
    if event.action in (ConcernAction.RATE, ConcernAction.RATE_MERGED):
        data = concern_data(concern, event)
        data["rating"] = {"unit": concern.rating_unit, "representative": concern.rating_rep}
        rows += queue(RATED, concern, data, event.created_at)
    return rows


def suggestion_step(suggestion: Suggestion, event, _spec) -> list[Outbox]:
    """The suggestion workflow's publish hook: the lead unit's reply."""
    if event.action != SuggestionAction.REPLY:
        return []
    data = {
        "suggestion": {
            "id": suggestion.id,
            "title": suggestion.title,
            "status": suggestion.status.value,
            "version": suggestion.version,
            "region": suggestion.region.code,
            "lead_unit": {"id": suggestion.lead_unit.id, "name": suggestion.lead_unit.name}
            if suggestion.lead_unit is not None
            else None,
            "reply_class": getattr(suggestion.reply_class, "value", suggestion.reply_class),
            "replied_at": _utc(suggestion.replied_at),
        },
        "event": {"action": str(event.action), "at": _utc(event.created_at)},
    }
    return queue(SUGGESTION_REPLIED, suggestion, data, event.created_at)


# --- signing ---------------------------------------------------------------------------------


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of f"{timestamp}.{body}" under the secret (as UTF-8 bytes)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"{SIGNATURE_VERSION}={sign(secret, timestamp, body)}"


def target(recipient: str) -> Target | None:
    """The subscription an outbox row is for (None: unknown). Ends the read it makes, so
    that the POST after it holds no transaction open."""
    if not recipient.startswith(RECIPIENT_PREFIX) or not recipient[len(RECIPIENT_PREFIX) :].isdigit():
        return None
    sub = db.session.get(WebhookSubscription, int(recipient[len(RECIPIENT_PREFIX) :]))
    found = None
    if sub is not None:
        active = sub.is_active and sub.api_key.revoked_at is None
        found = Target(sub.url, sub.secret, active, sub.deleted_at is not None or sub.api_key.revoked_at is not None)
    db.session.commit()
    return found


def verify(key: ApiKey, timestamp: str | None, signature: str | None, body: bytes, now: datetime | None = None):
    """Check an inbound request of `key`'s system: signed (as deliveries are) with the secret
    of one of the key's subscriptions not deleted, its timestamp within
    WEBHOOK_TOLERANCE_SECONDS of now. Refuses bad_signature, stale_timestamp."""
    now = now or utcnow()
    try:
        stamp = int((timestamp or "").strip())
    except ValueError:
        raise ApiRefused("bad_signature") from None
    tolerance = current_app.config["WEBHOOK_TOLERANCE_SECONDS"]
    if abs(now.replace(tzinfo=UTC).timestamp() - stamp) > tolerance:
        raise ApiRefused("stale_timestamp")
    given = [
        value.strip()[len(SIGNATURE_VERSION) + 1 :]
        for value in (signature or "").split(",")
        if value.strip().startswith(SIGNATURE_VERSION + "=")
    ]
    keys = db.session.scalars(
        sa.select(WebhookSubscription.secret).where(
            WebhookSubscription.api_key_id == key.id, WebhookSubscription.deleted_at.is_(None)
        )
    ).all()
    expected = [sign(secret, stamp, body) for secret in keys]
    # Every pair compared, in constant time each: the answer does not tell which was close.
    if not any(hmac.compare_digest(e, g) for e in expected for g in given):
        raise ApiRefused("bad_signature")
