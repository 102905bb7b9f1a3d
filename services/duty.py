"""On-site duty (进站履职): check in, check out, presence proof, review, auto-close.

The same check-in serves an official's session at the station (领导进站, models.official):
one presence proof (assess_presence), one nonce rule, one set of refusal codes, for a
representative's Duty and an official's OfficialSession alike.

Shaped after pretix's check-in: lock what must be serialised, return the existing record
when a client nonce repeats, refuse everything else with a code.
"""

import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import CheckInAttempt, Concern, Duty, Official, OfficialSession, Representative, Station, User, utcnow
from models.enums import DutyMethod, DutyStatus, PresencePolicy
from services.audit import log
from services.clock import end_of_day, local_today, to_local, utc_at
from services.errors import CheckInRefused
from services.limits import DUTY_NOTES_MAX, RESIDENTS_MAX, REVIEW_NOTE_MAX
from services.stations import on_duty_now

KIOSK_WINDOW_SECONDS = 30  # the default of the app's KIOSK_WINDOW_SECONDS
KIOSK_WINDOWS_ACCEPTED = 2  # the current window and the one before it
# An open duty at a station with no closing time is closed after this long.
STALE_AFTER = timedelta(hours=12)

# Refusals the representative may turn into a pending check-in for the manager to judge
# (a tablet code for another station, or a tampered one, is pending with its reason shown).
# A used tablet code is not among them: whoever used it first was in the room, and the
# tablet already shows the next code (kiosk_used says to scan again).
PENDABLE = frozenset({"location_unavailable", "too_far", "kiosk_required", "kiosk_invalid", "kiosk_expired"})


@dataclass(frozen=True)
class Proof:
    """What the phone brought: a position from the browser, or a kiosk code."""

    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    kiosk_token: str | None = None


# --- kiosk codes ---------------------------------------------------------------------


def kiosk_window_seconds() -> int:
    """How long a tablet code lasts: the app's KIOSK_WINDOW_SECONDS (30 s)."""
    if has_app_context():
        return int(current_app.config.get("KIOSK_WINDOW_SECONDS", KIOSK_WINDOW_SECONDS))
    return KIOSK_WINDOW_SECONDS


def kiosk_window(now: datetime | None = None) -> int:
    """The number of the window (30 seconds unless configured) `now` (naive UTC) falls in."""
    moment = (now or utcnow()).replace(tzinfo=UTC)
    return int(moment.timestamp()) // kiosk_window_seconds()


def kiosk_token(secret: str, station: Station, window: int, n: int = 0) -> str:
    """`<window>.<n>-<signature>`: an HMAC of station, time window and how many of the
    window's codes were used before it, with a server secret. Each code checks in once
    (Duty.kiosk_code), so after a check-in the tablet shows the window's next code."""
    message = f"kiosk:{station.id}:{window}:{n}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:20]
    return f"{window}.{n}-{signature}"


def verify_kiosk_token(secret: str, station: Station, token: str, now: datetime | None = None) -> int:
    """The token's window, or CheckInRefused: kiosk_invalid (tampered, another station's,
    malformed) or kiosk_expired (older than two windows). Whether it was used already is
    check_in's business (the database's, in the end)."""
    head, _, _signature = (token or "").partition("-")
    window_text, _, n_text = head.partition(".")
    if not (window_text.isdigit() and n_text.isdigit()) or len(head) > 20:
        raise CheckInRefused("kiosk_invalid")
    window = int(window_text)
    if not hmac.compare_digest(kiosk_token(secret, station, window, int(n_text)), token):
        raise CheckInRefused("kiosk_invalid")
    current = kiosk_window(now)
    if window > current or current - window >= KIOSK_WINDOWS_ACCEPTED:
        raise CheckInRefused("kiosk_expired")
    return window


def kiosk_codes_used(station: Station, window: int) -> int:
    """How many of a window's codes have checked someone in at the station (a
    representative or an official: each code checks in one person)."""
    return sum(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(model)
            .where(model.station_id == station.id, model.kiosk_window == window, model.kiosk_code.is_not(None))
        )
        or 0
        for model in (Duty, OfficialSession)
    )


def current_kiosk_code(secret: str, station: Station, window: int) -> tuple[str, str]:
    """(token, id) of the code the tablet shows now in `window`: the first one of the
    window not used yet. The id `<window>.<n>` tells the tablet when to change its code."""
    n = kiosk_codes_used(station, window)
    return kiosk_token(secret, station, window, n), f"{window}.{n}"


def kiosk_code_used(station: Station, token: str) -> bool:
    return any(
        db.session.scalar(sa.select(model.id).where(model.station_id == station.id, model.kiosk_code == token))
        is not None
        for model in (Duty, OfficialSession)
    )


# --- geography -------------------------------------------------------------------------


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    # Rounding can push `a` a hair past 1 for antipodal points: asin would refuse it.
    return 2 * r * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


# --- queries -----------------------------------------------------------------------------


def open_duty(rep: Representative) -> Duty | None:
    return db.session.scalar(sa.select(Duty).where(Duty.representative_id == rep.id, Duty.status == DutyStatus.OPEN))


def duty_by_nonce(nonce: str) -> Duty | None:
    return db.session.scalar(sa.select(Duty).where(Duty.nonce == nonce)) if nonce else None


def linked_concerns(duty: Duty) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Concern).where(Concern.duty_id == duty.id)) or 0


# --- presence proof (a representative's duty and an official's session alike) ---------------


@dataclass
class Presence:
    """What a check-in's proof showed: how it was made, the distance and tablet window it
    proves, and the presence refusal it meets (None: none; kiosk_used is never pendable)."""

    method: DutyMethod
    distance: float | None = None
    window: int | None = None
    refusal: str | None = None
    details: dict = field(default_factory=dict)


def presence_method(station: Station, proof: Proof) -> DutyMethod:
    """A tablet code makes it a kiosk check-in at a kiosk station; elsewhere only a valid one does."""
    return DutyMethod.KIOSK if proof.kiosk_token and station.presence_policy == PresencePolicy.KIOSK else DutyMethod.QR


def assess_presence(station: Station, proof: Proof, secret: str, now: datetime) -> Presence:
    """Judge the proof against the station's presence policy: a position within the
    station's radius (GEO), a valid unused tablet code (KIOSK), or nothing (NONE, where a
    valid tablet code is still kept as evidence)."""
    policy = station.presence_policy
    result = Presence(method=presence_method(station, proof))
    if (
        proof.latitude is not None
        and proof.longitude is not None
        and station.latitude is not None
        and station.longitude is not None
    ):
        result.distance = round(distance_m(proof.latitude, proof.longitude, station.latitude, station.longitude), 1)
    if policy == PresencePolicy.GEO:
        # A fix with poor accuracy may still be inside: give it the benefit of its radius, capped.
        slack = min(proof.accuracy_m or 0, 100)
        if result.distance is None:
            result.refusal = "location_unavailable"
        elif result.distance - slack > station.geo_radius_m:
            result.refusal, result.details = "too_far", {"radius": station.geo_radius_m}
    elif policy == PresencePolicy.KIOSK:
        if not proof.kiosk_token:
            result.refusal = "kiosk_required"
        else:
            try:
                result.window = verify_kiosk_token(secret, station, proof.kiosk_token, now)
            except CheckInRefused as refused:
                result.refusal = refused.code
            if result.window is not None and kiosk_code_used(station, proof.kiosk_token):
                result.refusal = "kiosk_used"
    elif proof.kiosk_token:
        # A station without the tablet policy may still run a tablet: a valid, unused code
        # is kept as evidence, anything else is ignored.
        try:
            result.window = verify_kiosk_token(secret, station, proof.kiosk_token, now)
            result.method = DutyMethod.KIOSK
        except CheckInRefused:
            result.window = None
        if result.window is not None and kiosk_code_used(station, proof.kiosk_token):
            result.window, result.method = None, DutyMethod.QR
    return result


# --- actions -------------------------------------------------------------------------------


def _refuse(rep: Representative, station: Station, method: DutyMethod, code: str, distance: float | None = None, **kw):
    """Keep the refused attempt for the manager, then refuse. The caller commits."""
    db.session.add(CheckInAttempt(station=station, representative=rep, reason=code, method=method, distance_m=distance))
    db.session.flush()
    raise CheckInRefused(code, distance_m=distance, **kw)


def check_in(
    rep: Representative,
    station: Station,
    *,
    nonce: str,
    proof: Proof,
    secret: str,
    allow_pending: bool = False,
    now: datetime | None = None,
) -> Duty:
    """Start a duty. A repeated nonce returns the duty it made. Refusals (CheckInRefused):
    bad_nonce, nonce_reused, station_inactive, already_open (with `duty`), kiosk_used (a
    tablet code that checked someone in already), and the presence refusals
    location_unavailable, too_far, kiosk_required, kiosk_invalid, kiosk_expired.
    With allow_pending, the presence refusals in PENDABLE record a pending duty instead.
    Every refusal is kept as a CheckInAttempt: the caller commits after a refusal too."""
    now = now or utcnow()
    method = presence_method(station, proof)
    if not nonce or len(nonce) < 8 or len(nonce) > 64:
        _refuse(rep, station, method, "bad_nonce")
    # Serialise check-ins of one representative (PostgreSQL row lock; SQLite's
    # BEGIN IMMEDIATE already does); the partial unique index is the last word.
    db.session.execute(sa.select(Representative.id).where(Representative.id == rep.id).with_for_update())
    existing = duty_by_nonce(nonce)
    if existing is not None:
        if existing.representative_id != rep.id:
            _refuse(rep, station, method, "nonce_reused")
        return existing
    if not station.is_active:
        _refuse(rep, station, method, "station_inactive")
    if not rep.serving_on(local_today(now)):
        _refuse(rep, station, method, "term_ended")
    current = open_duty(rep)
    if current is not None:
        _refuse(rep, station, method, "already_open", duty=current)

    presence = assess_presence(station, proof, secret, now)
    if presence.refusal == "kiosk_used":
        _refuse(rep, station, presence.method, "kiosk_used")
    method, distance, window, refusal, details = (
        presence.method,
        presence.distance,
        presence.window,
        presence.refusal,
        presence.details,
    )
    pending = None
    if refusal is not None:
        if not (allow_pending and refusal in PENDABLE):
            _refuse(rep, station, method, refusal, distance, **details)
        # Recorded as pending: the duty carries the reason; the manager confirms or voids it.
        pending = refusal

    duty = Duty(
        station=station,
        representative=rep,
        checked_in_at=now,
        method=method,
        status=DutyStatus.OPEN,
        nonce=nonce,
        distance_m=distance,
        kiosk_window=window,
        kiosk_code=proof.kiosk_token if window is not None else None,
        pending_reason=pending,
    )
    try:
        with db.session.begin_nested():
            db.session.add(duty)
            db.session.flush()
    except IntegrityError:
        # A race the row lock did not cover (the same nonce from two representatives, one
        # tablet code scanned by two at once, or a database without row locks): the unique
        # indexes decided. Say what they decided.
        existing = duty_by_nonce(nonce)
        if existing is not None:
            if existing.representative_id != rep.id:
                _refuse(rep, station, method, "nonce_reused")
            return existing
        if duty.kiosk_code is not None and kiosk_code_used(station, duty.kiosk_code):
            _refuse(rep, station, method, "kiosk_used")
        current = open_duty(rep)
        if current is None:
            raise
        _refuse(rep, station, method, "already_open", duty=current)
    log(rep.user, "duty.checked_in", duty, station=station.code, method=str(method), pending=pending)
    return duty


def check_out(
    rep: Representative, duty: Duty, *, residents_received: int, notes: str = "", now: datetime | None = None
) -> Duty:
    """End a duty with its reception record (接待记录). Repeating it changes nothing."""
    if duty.representative_id != rep.id:
        raise CheckInRefused("not_yours")
    if duty.status != DutyStatus.OPEN:
        if duty.status == DutyStatus.CLOSED:
            return duty  # a retried check-out
        raise CheckInRefused("not_open")
    if not 0 <= residents_received <= RESIDENTS_MAX:
        raise CheckInRefused("bad_residents")
    now = now or utcnow()
    duty.checked_out_at = max(now, duty.checked_in_at)
    duty.status = DutyStatus.CLOSED
    duty.residents_received = residents_received
    duty.notes = (notes or "").strip()[:DUTY_NOTES_MAX]
    db.session.flush()
    log(rep.user, "duty.checked_out", duty, residents=residents_received)
    return duty


# --- an official's session at the station (领导进站): the same check-in ----------------------


def open_session(official: Official) -> OfficialSession | None:
    return db.session.scalar(
        sa.select(OfficialSession).where(
            OfficialSession.official_id == official.id, OfficialSession.status == DutyStatus.OPEN
        )
    )


def session_by_nonce(nonce: str) -> OfficialSession | None:
    return db.session.scalar(sa.select(OfficialSession).where(OfficialSession.nonce == nonce)) if nonce else None


def _refuse_official(official: Official, station: Station, code: str, distance: float | None = None, **kw):
    """Keep the refused attempt in the audit log (the station's managers read it), then refuse."""
    log(official.user, "official.check_in_refused", official, station=station.code, reason=code, distance_m=distance)
    raise CheckInRefused(code, distance_m=distance, **kw)


def check_in_official(
    official: Official,
    station: Station,
    *,
    nonce: str,
    proof: Proof,
    secret: str,
    now: datetime | None = None,
) -> OfficialSession:
    """Start an official's session at the station, under a representative's rules: a
    repeated nonce returns the session it made; refusals (CheckInRefused) bad_nonce,
    nonce_reused, station_inactive, account_inactive, already_open (with `session`),
    kiosk_used and the presence refusals (location_unavailable, too_far, kiosk_required,
    kiosk_invalid, kiosk_expired). There is no pending session: an official checks in
    where the proof holds. The caller commits after a refusal too (the audit entry)."""
    now = now or utcnow()
    if not nonce or len(nonce) < 8 or len(nonce) > 64:
        _refuse_official(official, station, "bad_nonce")
    db.session.execute(sa.select(Official.id).where(Official.id == official.id).with_for_update())
    existing = session_by_nonce(nonce)
    if existing is not None:
        if existing.official_id != official.id:
            _refuse_official(official, station, "nonce_reused")
        return existing
    if not station.is_active:
        _refuse_official(official, station, "station_inactive")
    if not official.user.active:
        _refuse_official(official, station, "account_inactive")
    current = open_session(official)
    if current is not None:
        _refuse_official(official, station, "already_open", session=current)
    presence = assess_presence(station, proof, secret, now)
    if presence.refusal is not None:
        _refuse_official(official, station, presence.refusal, presence.distance, **presence.details)
    session = OfficialSession(
        station=station,
        official=official,
        checked_in_at=now,
        method=presence.method,
        status=DutyStatus.OPEN,
        nonce=nonce,
        distance_m=presence.distance,
        kiosk_window=presence.window,
        kiosk_code=proof.kiosk_token if presence.window is not None else None,
        residents_received=0,
        notes="",
    )
    try:
        with db.session.begin_nested():
            db.session.add(session)
            db.session.flush()
    except IntegrityError:
        # The unique indexes decided a race the row lock did not cover: say what they decided.
        existing = session_by_nonce(nonce)
        if existing is not None and existing.official_id == official.id:
            return existing
        if existing is not None:
            _refuse_official(official, station, "nonce_reused")
        if session.kiosk_code is not None and kiosk_code_used(station, session.kiosk_code):
            _refuse_official(official, station, "kiosk_used")
        current = open_session(official)
        if current is None:
            raise
        _refuse_official(official, station, "already_open", session=current)
    log(official.user, "official.checked_in", session, station=station.code, method=str(presence.method))
    return session


def check_out_official(
    official: Official,
    session: OfficialSession,
    *,
    residents_received: int,
    notes: str = "",
    now: datetime | None = None,
) -> OfficialSession:
    """End an official's session with its reception record. Repeating it changes nothing."""
    if session.official_id != official.id:
        raise CheckInRefused("not_yours")
    if session.status != DutyStatus.OPEN:
        if session.status == DutyStatus.CLOSED:
            return session
        raise CheckInRefused("not_open")
    if not 0 <= residents_received <= RESIDENTS_MAX:
        raise CheckInRefused("bad_residents")
    now = now or utcnow()
    session.checked_out_at = max(now, session.checked_in_at)
    session.status = DutyStatus.CLOSED
    session.residents_received = residents_received
    session.notes = (notes or "").strip()[:DUTY_NOTES_MAX]
    db.session.flush()
    log(official.user, "official.checked_out", session, residents=residents_received)
    return session


def confirm(actor: User, duty: Duty, note: str = "", now: datetime | None = None) -> Duty:
    """A manager accepts a pending (or any) duty as attended."""
    if duty.status == DutyStatus.VOIDED:
        raise CheckInRefused("voided")
    duty.confirmed_by_id = actor.id
    duty.reviewed_at = now or utcnow()
    duty.review_note = (note or "").strip()[:REVIEW_NOTE_MAX]
    db.session.flush()
    log(actor, "duty.confirmed", duty, note=duty.review_note)
    return duty


def void(
    actor: User, visit: Duty | OfficialSession, reason: str, now: datetime | None = None
) -> Duty | OfficialSession:
    """A manager voids a representative's duty or an official's session with a reason. The
    record stays; it just stops counting."""
    reason = (reason or "").strip()
    if not reason:
        raise CheckInRefused("reason_required")
    if visit.status == DutyStatus.VOIDED:
        raise CheckInRefused("voided")
    previous = visit.status
    visit.status = DutyStatus.VOIDED
    if visit.checked_out_at is None:
        visit.checked_out_at = now or utcnow()
    visit.reviewed_at = now or utcnow()
    visit.confirmed_by_id = actor.id
    visit.review_note = reason[:REVIEW_NOTE_MAX]
    db.session.flush()
    code = "duty.voided" if isinstance(visit, Duty) else "official.session_voided"
    log(actor, code, visit, reason=visit.review_note, previous=str(previous))
    return visit


def closing_time(duty: Duty | OfficialSession) -> datetime:
    """When an open duty should have ended: the station's closing time on the day of
    check-in (local time), or STALE_AFTER after check-in when the station has none."""
    station = duty.station
    if station.closes_at is None:
        return duty.checked_in_at + STALE_AFTER
    local_day: date = to_local(duty.checked_in_at).date()
    closing = utc_at(local_day, station.closes_at)
    if closing <= duty.checked_in_at:  # checked in after closing: give it until the day ends
        closing = end_of_day(local_day)
    return closing


def close_stale(now: datetime | None = None) -> list[Duty]:
    """Close open duties left past closing time, marked auto-closed (not full duty)."""
    now = now or utcnow()
    closed = []
    candidates = db.session.scalars(
        sa.select(Duty).where(Duty.status == DutyStatus.OPEN, Duty.checked_in_at < now).with_for_update()
    )
    for duty in candidates:
        ends = closing_time(duty)
        if ends <= now:
            duty.status = DutyStatus.AUTO_CLOSED
            duty.checked_out_at = ends
            log(None, "duty.auto_closed", duty)
            closed.append(duty)
    # An official's session left open closes the same way (not returned: the caller counts duties).
    sessions = db.session.scalars(
        sa.select(OfficialSession)
        .where(OfficialSession.status == DutyStatus.OPEN, OfficialSession.checked_in_at < now)
        .with_for_update()
    )
    for session in sessions:
        ends = closing_time(session)
        if ends <= now:
            session.status = DutyStatus.AUTO_CLOSED
            session.checked_out_at = ends
            log(None, "official.auto_closed", session)
    db.session.flush()
    return closed


def duty_for_new_concern(station: Station) -> Duty | None:
    """The duty a concern filed now at this station belongs to: the earliest open one."""
    duties = on_duty_now(station)
    return duties[0] if duties else None
