"""API keys: made for a system by the admin, shown once, kept as a keyed hash.

A key reads `mk_<prefix>_<secret>`. The prefix finds the row; the secret is checked against
HMAC-SHA256(SECRET_KEY, secret), a fast keyed hash (every API request checks one, so a
password hash such as scrypt would cost more than the request). The secret has 160 random
bits, so a fast hash is safe: nobody guesses it, and the table alone does not give it away.

On each request a key becomes a `KeyPrincipal`: a system with the scope of an account
(congress staff of a region, or the handler of a unit), which services.permissions asks
about like any user, read-only keys narrowed to reading (permissions.key_may).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from extensions import db
from models import ApiKey, Region, Unit, User, utcnow
from models.api_key import RATE_MAX, RATE_MIN
from models.enums import Role
from services import audit
from services.codes import ALPHABET, random_code
from services.errors import ApiRefused
from services.sessions import write_aside

PREFIX_LENGTH = 8
SECRET_BYTES = 20  # 160 bits
NAME_MAX = 80
NOTE_MAX = 200
DEFAULT_RATE = 120
# The last-used time is written at most this often: a busy key must not write on every read.
LAST_USED_EVERY = timedelta(minutes=1)
_KEY_RE = re.compile(f"^mk_([{ALPHABET}]{{{PREFIX_LENGTH}}})_([0-9a-f]{{{SECRET_BYTES * 2}}})$")


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plain: str  # shown once, never stored


@dataclass
class KeyPrincipal:
    """The system behind a key, as services.permissions sees it: the role and scope of the
    account it stands in for. It is no user: `id` is None, so an event or audit row it
    causes has no person as its actor, and names the key instead."""

    api_key: ApiKey
    role: str
    region_id: int | None
    unit_id: int | None
    id: None = None
    is_authenticated: bool = True
    active: bool = True
    representative: None = None
    official: None = None

    @property
    def read_only(self) -> bool:
        return not self.api_key.can_act

    @property
    def managed_stations(self) -> list:
        return []


def principal(key: ApiKey) -> KeyPrincipal:
    if key.region_id is not None:
        return KeyPrincipal(key, Role.CONGRESS_STAFF, key.region_id, None)
    return KeyPrincipal(key, Role.UNIT_HANDLER, None, key.unit_id)


def hash_secret(secret: str) -> str:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), secret.encode(), hashlib.sha256).hexdigest()


def _unused_prefix() -> str:
    for _ in range(10):
        prefix = random_code(PREFIX_LENGTH)
        if db.session.scalar(sa.select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            return prefix
    raise RuntimeError("no free API key prefix")  # 31^8 prefixes: never in practice


def create(
    actor: User | None,
    name: str,
    *,
    region: Region | None = None,
    unit: Unit | None = None,
    can_act: bool = False,
    rate_per_minute: int = DEFAULT_RATE,
    note: str = "",
    now: datetime | None = None,
) -> NewKey:
    """A new key for a system, scoped to a region or a unit (one of them). Refuses with
    ApiRefused: name_required, name_too_long, scope_required, bad_rate, note_too_long.
    Audited as api_key.created (never with the secret)."""
    name = " ".join((name or "").split())
    note = (note or "").strip()
    if not name:
        raise ApiRefused("name_required")
    if len(name) > NAME_MAX:
        raise ApiRefused("name_too_long", n=NAME_MAX)
    if (region is None) == (unit is None):
        raise ApiRefused("scope_required")
    if not RATE_MIN <= rate_per_minute <= RATE_MAX:
        raise ApiRefused("bad_rate", low=RATE_MIN, high=RATE_MAX)
    if len(note) > NOTE_MAX:
        raise ApiRefused("note_too_long", n=NOTE_MAX)
    prefix = _unused_prefix()
    secret = secrets.token_hex(SECRET_BYTES)
    key = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        region=region,
        unit=unit,
        can_act=can_act,
        rate_per_minute=rate_per_minute,
        note=note,
        created_by_id=actor.id if actor is not None else None,
        created_at=now or utcnow(),
    )
    db.session.add(key)
    db.session.flush()
    audit.log(actor, "api_key.created", key, name=name, prefix=prefix, **scope_of(key))
    return NewKey(key, f"mk_{prefix}_{secret}")


def scope_from(region_code: str | None, unit_id: int | None) -> tuple[Region | None, Unit | None]:
    """The region and unit a form or a command names (refuses unknown_region, scope_required
    for a unit that is none); create() checks that exactly one is given."""
    region = db.session.scalar(sa.select(Region).where(Region.code == region_code)) if region_code else None
    if region_code and region is None:
        raise ApiRefused("unknown_region", value=region_code)
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit_id and unit is None:
        raise ApiRefused("scope_required")
    return region, unit


def scope_of(key: ApiKey) -> dict:
    """The key's scope in plain values, for the audit log and the admin's list."""
    return {
        "region": key.region.code if key.region is not None else None,
        "unit": key.unit.name if key.unit is not None else None,
        "can_act": key.can_act,
        "rate_per_minute": key.rate_per_minute,
    }


def revoke(actor: User | None, key: ApiKey, now: datetime | None = None) -> None:
    """Switch a key off for good (refuses already_revoked). Audited as api_key.revoked."""
    if key.revoked_at is not None:
        raise ApiRefused("already_revoked")
    key.revoked_at = now or utcnow()
    audit.log(actor, "api_key.revoked", key, name=key.name, prefix=key.prefix)


def authenticate(presented: str | None) -> ApiKey:
    """The active key `presented` is. Refuses with ApiRefused bad_key (no such key, or not
    one: the answer does not say which) and key_revoked."""
    match = _KEY_RE.match((presented or "").strip())
    if match is None:
        raise ApiRefused("bad_key")
    prefix, secret = match.groups()
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise ApiRefused("bad_key")
    if key.revoked_at is not None:
        raise ApiRefused("key_revoked")
    return key


def touch(key: ApiKey, now: datetime | None = None) -> bool:
    """Record that the key was used, at most once a minute, on a connection of its own
    (services.sessions.write_aside: an API read's transaction only reads). One UPDATE
    guarded by the old time, so concurrent requests write it once. Whether it wrote."""
    now = now or utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return False
    stale = sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_EVERY)
    written = write_aside(
        sa.update(ApiKey).where(ApiKey.id == key.id, stale).values(last_used_at=now), "API key last-used time"
    )
    return bool(written)


def keys() -> list[ApiKey]:
    return list(db.session.scalars(sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))
