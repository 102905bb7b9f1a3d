"""Station tablets as devices: pairing codes, device tokens, last seen, revoking.

A manager (or an admin) makes a pairing code in the back office; someone types it on
the tablet at /kiosk/pair; the tablet gets a long random token (in its own cookie) and
from then on may show that station's display and nothing else. It has no user session:
the back office stays closed to it. Revoking the device ends it at its next request.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context

from extensions import db
from models import KioskDevice, KioskPairing, Station, User, utcnow
from services.audit import log
from services.codes import ALPHABET, random_code
from services.errors import KioskRefused
from services.limits import KIOSK_NAME_MAX

PAIRING_CODE_LENGTH = 8  # 31^8 ≈ 8.5e11, alive ten minutes, typed behind a rate limit
PAIRING_MINUTES = 10  # the default of the app's KIOSK_PAIRING_MINUTES
# last_seen_at is written at most this often: a tablet polls every few seconds.
SEEN_EVERY = timedelta(seconds=60)

_PAIRING_RE = re.compile(f"^[{ALPHABET}]{{{PAIRING_CODE_LENGTH}}}$")


def pairing_minutes() -> int:
    if has_app_context():
        return int(current_app.config.get("KIOSK_PAIRING_MINUTES", PAIRING_MINUTES))
    return PAIRING_MINUTES


def _digest(kind: str, value: str) -> str:
    # Both values are random and short-lived or long: a plain hash is enough to keep the
    # database from holding anything a tablet could be paired or shown with.
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def normalize_pairing_code(raw: str | None) -> str | None:
    """Any case, spaces and dashes; None when it cannot be a pairing code."""
    code = re.sub(r"[\s\-_—–]+", "", raw or "").upper()
    return code if _PAIRING_RE.match(code) else None


def format_pairing_code(code: str) -> str:
    """Two halves of four, to read out and type without losing one's place."""
    return f"{code[:4]}-{code[4:]}"


# --- the back office ------------------------------------------------------------------------


def new_pairing(actor: User, station: Station, name: str = "", now: datetime | None = None) -> tuple[KioskPairing, str]:
    """A pairing code for `station`, valid for KIOSK_PAIRING_MINUTES and once. Returns the
    row and the code itself, which is shown once and kept only as a hash.
    Refuses (KioskRefused): station_inactive, name_too_long."""
    if not station.is_active:
        raise KioskRefused("station_inactive")
    name = (name or "").strip()
    if len(name) > KIOSK_NAME_MAX:
        raise KioskRefused("name_too_long")
    now = now or utcnow()
    while True:
        code = random_code(PAIRING_CODE_LENGTH)
        code_hash = _digest("pair", code)
        if db.session.scalar(sa.select(KioskPairing.id).where(KioskPairing.code_hash == code_hash)) is None:
            break
    pairing = KioskPairing(
        station=station,
        name=name,
        code_hash=code_hash,
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(minutes=pairing_minutes()),
    )
    db.session.add(pairing)
    db.session.flush()
    log(actor, "kiosk.pairing_created", pairing, station=station.code, name=name)
    return pairing, code


def devices(station: Station) -> list[KioskDevice]:
    """The station's tablets, paired ones first, newest first."""
    return list(
        db.session.scalars(
            sa.select(KioskDevice)
            .where(KioskDevice.station_id == station.id)
            .order_by(KioskDevice.revoked_at.is_not(None), KioskDevice.created_at.desc(), KioskDevice.id.desc())
        )
    )


def waiting_pairings(station: Station, now: datetime | None = None) -> list[KioskPairing]:
    """Pairing codes made for the station and not used nor expired yet (their codes are not kept)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(KioskPairing)
            .where(KioskPairing.station_id == station.id, KioskPairing.used_at.is_(None), KioskPairing.expires_at > now)
            .order_by(KioskPairing.created_at)
        )
    )


def revoke(actor: User | None, device: KioskDevice, now: datetime | None = None) -> KioskDevice:
    """The tablet stops working at its next request. Revoking twice changes nothing."""
    if device.revoked_at is not None:
        return device
    device.revoked_at = max(now or utcnow(), device.created_at)
    db.session.flush()
    log(actor, "kiosk.revoked", device, station=device.station.code, name=device.name)
    return device


# --- the tablet ---------------------------------------------------------------------------


def pair(
    raw_code: str | None, now: datetime | None = None, *, replaces: KioskDevice | None = None
) -> tuple[KioskDevice, str]:
    """Use a pairing code: a new device and its token (for the cookie; only its hash is kept).
    The device the tablet was paired as until now (`replaces`) is revoked with it: its token
    leaves the browser, so it must not stay listed as paired.
    Refuses (KioskRefused): bad_code (not the shape of a code), unknown_code, used_code,
    expired_code, station_inactive."""
    code = normalize_pairing_code(raw_code)
    if code is None:
        raise KioskRefused("bad_code")
    now = now or utcnow()
    pairing = db.session.scalar(sa.select(KioskPairing).where(KioskPairing.code_hash == _digest("pair", code)))
    if pairing is None:
        raise KioskRefused("unknown_code")
    if pairing.used_at is not None:
        raise KioskRefused("used_code")
    if pairing.expires_at <= now:
        raise KioskRefused("expired_code")
    if not pairing.station.is_active:
        raise KioskRefused("station_inactive")
    # Single use even when two tablets type the code at once: only one update finds it unused.
    taken = db.session.execute(
        sa.update(KioskPairing)
        .where(KioskPairing.id == pairing.id, KioskPairing.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise KioskRefused("used_code")
    token = secrets.token_urlsafe(32)
    device = KioskDevice(
        station_id=pairing.station_id,
        name=pairing.name or "",
        created_by_id=pairing.created_by_id,
        created_at=now,
        last_seen_at=now,
        token_hash=_digest("device", token),
    )
    db.session.add(device)
    db.session.flush()
    db.session.execute(
        sa.update(KioskPairing)
        .where(KioskPairing.id == pairing.id)
        .values(device_id=device.id)
        .execution_options(synchronize_session=False)
    )
    log(pairing.created_by, "kiosk.paired", device, station=pairing.station.code, pairing=pairing.id)
    if replaces is not None:
        revoke(pairing.created_by, replaces, now)
    return device, token


def device_for_token(token: str | None) -> KioskDevice | None:
    """The device this cookie belongs to (revoked or not), or None."""
    if not token or len(token) > 200:
        return None
    device = db.session.scalar(sa.select(KioskDevice).where(KioskDevice.token_hash == _digest("device", token)))
    # The lookup is by hash; compare again in constant time for good measure.
    if device is None or not hmac.compare_digest(device.token_hash, _digest("device", token)):
        return None
    return device


def needs_touch(device: KioskDevice, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY


def touch(device_id: int, now: datetime | None = None) -> None:
    """Record that the tablet was seen: one UPDATE, so that it can open its own transaction."""
    db.session.execute(
        sa.update(KioskDevice)
        .where(KioskDevice.id == device_id)
        .values(last_seen_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
