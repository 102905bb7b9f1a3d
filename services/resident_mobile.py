"""A resident's mobile number: "my concerns" by one-time code, and who may get SMS.

The concern form takes any number, so until its owner proves it the service must not be a
way to flood someone else's phone:

- every SMS to a resident goes through `queue_resident_sms`, which holds it back (an Outbox
  row that is never sent, with the reason) when the owner said stop, and puts it off to the
  next morning with room when an unconfirmed number already had its SMS that day
  (UNCONFIRMED_SMS_PER_DAY, one by default): the loop's news is late, never lost, and a
  later message about the same concern replaces one still waiting;
- a number is confirmed by the code sent to it from /my (`request_code`, `verify_code`);
  confirmed numbers are no longer capped;
- its owner says stop by replying 退订/TD/STOP (`handle_inbound`), through the link in every
  resident SMS (`stop_token`) or on /my. Only the codes they ask for themselves on /my still
  reach a stopped number (at most one a day), so that they can confirm it and opt back in.

/my never tells whether a number filed a concern: a code row is made for every request
(its count is the per-number limit), and an SMS goes out only to numbers that filed one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from extensions import db
from models import Concern, MobileCode, Outbox, ResidentMobile, utcnow
from models.enums import OutboxStatus
from services import audit
from services.clock import day_bounds, local_today
from services.errors import DomainError
from services.outbox import mask_recipient
from services.privacy import CODE_DIGITS

CODE_TRIES = 5  # wrong entries after which a code is dead
CODE_KIND = "resident.code"  # Outbox.kind of the code SMS
KEEP_CODES = timedelta(days=2)  # code rows outlive the per-day count, then go
# Outbox.last_error of a resident SMS that was never sent, and why (told_whom reads them).
HELD_OPTED_OUT = "held back: the owner of this number asked for no more SMS"
HELD_DAILY_CAP = "held back: an unconfirmed number already had its SMS today"
SUPERSEDED = "held back: a later message about the same concern replaced it"
HELD = (HELD_OPTED_OUT, HELD_DAILY_CAP, SUPERSEDED)
# Outbox.last_error of a resident SMS put off to a later morning (status pending).
DEFERRED = "deferred: an unconfirmed number already had its SMS that day"
DEFER_MORNING = timedelta(hours=8, minutes=30)  # local time a put-off SMS goes out
DEFER_DAYS = 30  # how far ahead a day with room is looked for
# A reply that means stop, compared without spaces or punctuation and in capitals.
STOP_WORDS = frozenset({"退订", "TD", "STOP"})
STOP_VIA = ("reply", "link", "page")


class MobileRefused(DomainError):
    pass


_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_mobile(raw: str) -> str:
    """Full-width digits (from Chinese input methods) to ASCII; strip spaces, dashes and
    a +86 / 0086 prefix. The result may still be invalid."""
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", raw or ""))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def is_mainland_mobile(number: str) -> bool:
    return bool(_MOBILE_RE.match(number))


def checked_mobile(raw: str) -> str:
    """The number as stored on concerns (11 digits), or MobileRefused("bad_mobile")."""
    mobile = normalize_mobile(raw or "")
    if not is_mainland_mobile(mobile):
        raise MobileRefused("bad_mobile")
    return mobile


def masked(mobile: str) -> str:
    return mask_recipient(mobile)


# -- Residents' SMS: the cap and the stop ---------------------------------------------


def contact(mobile: str) -> ResidentMobile | None:
    return db.session.scalar(sa.select(ResidentMobile).where(ResidentMobile.mobile == mobile))


def _contact_for_update(mobile: str, now: datetime) -> ResidentMobile:
    found = contact(mobile)
    if found is None:
        found = ResidentMobile(mobile=mobile, updated_at=now)
        db.session.add(found)
    return found


def sms_on(mobile: str, day: date, *, codes: bool = False) -> int:
    """The loop's SMS (or, `codes`, the /my codes) to this number that go out on the local
    `day` (sent then, or waiting for it), held-back and failed ones not counted. Each has its
    own allowance, so news of a concern never keeps its resident from a code, nor the reverse."""
    start, end = day_bounds(day)
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .where(
                Outbox.recipient == mobile,
                Outbox.channel == "sms",
                Outbox.next_attempt_at >= start,
                Outbox.next_attempt_at < end,
                Outbox.status != OutboxStatus.FAILED,
                Outbox.kind == CODE_KIND if codes else Outbox.kind != CODE_KIND,
            )
        )
        or 0
    )


def held_reason(mobile: str, kind: str, now: datetime | None = None) -> str | None:
    """Why an SMS of `kind` to this resident's number must not go out now, or None."""
    found = contact(mobile)
    stopped = found is not None and found.opted_out_at is not None
    if stopped and kind != CODE_KIND:
        return HELD_OPTED_OUT
    confirmed = found is not None and found.verified_at is not None
    if confirmed and not stopped:
        return None
    # A stopped number gets only the codes its owner asks for, no more than an unconfirmed one.
    codes = kind == CODE_KIND
    cap = current_app.config["UNCONFIRMED_CODES_PER_DAY" if codes else "UNCONFIRMED_SMS_PER_DAY"]
    if sms_on(mobile, local_today(now), codes=codes) >= cap:
        return HELD_DAILY_CAP
    return None


def queue_resident_sms(
    mobile: str,
    body: str,
    *,
    kind: str,
    concern_id: int | None = None,
    secret: bool = False,
    now: datetime | None = None,
) -> Outbox:
    """Add an SMS to a resident to the session, with the way to stop them at its end. Held
    back (a failed row, never sent, its reason in last_error) when `held_reason` says so;
    past the daily cap, put off to the next morning with room instead (a code, useless by
    then, is held back and keeps no body)."""
    now = now or utcnow()
    reason = held_reason(mobile, kind, now)
    if reason == HELD_DAILY_CAP and not secret:
        _supersede(mobile, concern_id)
        day = _first_day_with_room(mobile, local_today(now) + timedelta(days=1))
        if day is not None:
            row = _resident_row(mobile, body, kind, concern_id, now)
            row.next_attempt_at, row.last_error = day_bounds(day)[0] + DEFER_MORNING, DEFERRED
            current_app.logger.info("SMS %s to %s put off to %s", kind, masked(mobile), day.isoformat())
            db.session.add(row)
            return row
    row = _resident_row(mobile, body, kind, concern_id, now)
    if reason is not None:
        row.status, row.last_error = OutboxStatus.FAILED, reason
        if secret:
            row.body = "—"
        current_app.logger.info("SMS %s to %s held back: %s", kind, masked(mobile), reason)
    db.session.add(row)
    return row


def _resident_row(mobile: str, body: str, kind: str, concern_id: int | None, now: datetime) -> Outbox:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        stop = _("Reply TD to stop, or open %(url)s", url=stop_url(mobile))
    return Outbox(
        channel="sms",
        recipient=mobile,
        subject="",
        body=f"{body} {stop}",
        kind=kind,
        concern_id=concern_id,
        status=OutboxStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
    )


def _supersede(mobile: str, concern_id: int | None) -> None:
    """A message about a concern still waiting for its morning is replaced by the newer one."""
    if concern_id is None:
        return
    db.session.execute(
        sa.update(Outbox)
        .where(
            Outbox.recipient == mobile,
            Outbox.concern_id == concern_id,
            Outbox.status == OutboxStatus.PENDING,
            Outbox.last_error == DEFERRED,
        )
        .values(status=OutboxStatus.FAILED, last_error=SUPERSEDED)
        .execution_options(synchronize_session="fetch")
    )


def _first_day_with_room(mobile: str, first: date) -> date | None:
    cap = current_app.config["UNCONFIRMED_SMS_PER_DAY"]
    for offset in range(DEFER_DAYS):
        day = first + timedelta(days=offset)
        if sms_on(mobile, day) < cap:
            return day
    return None


def stop_url(mobile: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/sms/stop/{stop_token(mobile)}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="sms-stop")


def stop_token(mobile: str) -> str:
    """The signed part of the stop link: it names the number and cannot be made for another."""
    return _serializer().dumps(mobile)


def mobile_from_stop_token(token: str) -> str | None:
    try:
        mobile = _serializer().loads(token)
    except BadSignature:
        return None
    return mobile if isinstance(mobile, str) and is_mainland_mobile(mobile) else None


def is_stopped(mobile: str) -> bool:
    found = contact(mobile)
    return found is not None and found.opted_out_at is not None


def opt_out(mobile: str, via: str, now: datetime | None = None) -> ResidentMobile:
    """No more SMS to this number (but the codes its owner asks for on /my). Repeating it
    changes nothing."""
    if via not in STOP_VIA:
        raise ValueError(via)
    now = now or utcnow()
    found = _contact_for_update(mobile, now)
    if found.opted_out_at is None:
        found.opted_out_at, found.opted_out_via, found.updated_at = now, via, now
        audit.log(None, "sms.opted_out", found, mobile=masked(mobile), via=via)
        current_app.logger.info("SMS to %s stopped (%s)", masked(mobile), via)
    db.session.flush()
    return found


def opt_in(mobile: str, now: datetime | None = None) -> ResidentMobile:
    """SMS again, after the owner confirmed the number on /my (the view checks that)."""
    now = now or utcnow()
    found = _contact_for_update(mobile, now)
    if found.opted_out_at is not None:
        found.opted_out_at = found.opted_out_via = None
        found.updated_at = now
        audit.log(None, "sms.opted_in", found, mobile=masked(mobile))
    db.session.flush()
    return found


def is_stop_word(text: str) -> bool:
    word = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text or "")).upper()
    return word in STOP_WORDS


def handle_inbound(sender: str, text: str, now: datetime | None = None) -> str:
    """An SMS a resident sent us: a stop word stops SMS to that number. Returns what was
    done: "opted_out" or "ignored". MobileRefused("bad_mobile") for a sender that is not a
    mainland mobile number."""
    mobile = checked_mobile(sender)
    if not is_stop_word(text):
        return "ignored"
    opt_out(mobile, "reply", now)
    return "opted_out"


# -- One-time codes for /my -----------------------------------------------------------


def _code_hash(mobile: str, code: str, salt: str) -> str:
    """Keyed with SECRET_KEY: the table alone does not give the code away, even though a
    six-digit code is quick to try offline against a plain hash."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{salt}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()
    return f"{salt}${digest}"


def _code_matches(row: MobileCode, code: str) -> bool:
    salt, _sep, _digest = row.code_hash.partition("$")
    return hmac.compare_digest(row.code_hash, _code_hash(row.mobile, code, salt))


def normalize_code(raw: str) -> str:
    """Full-width digits to ASCII, spaces and dashes away: what is left should be 6 digits."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw or ""))


def is_code(text: str) -> bool:
    return bool(re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", text))


def has_concerns(mobile: str) -> bool:
    return (
        db.session.scalar(sa.select(Concern.id).where(Concern.contact_mobile == mobile, ~Concern.is_anonymous).limit(1))
        is not None
    )


def request_code(raw_mobile: str, now: datetime | None = None) -> MobileCode:
    """Make a code for this number and text it when the number filed a concern (and
    `held_reason` lets it). Refuses with MobileRefused: bad_mobile, too_many_hour,
    too_many_day, counting every request for the number whatever it filed."""
    mobile = checked_mobile(raw_mobile)
    now = now or utcnow()
    cfg = current_app.config
    db.session.execute(sa.delete(MobileCode).where(MobileCode.created_at < now - KEEP_CODES))

    def asked_since(delta: timedelta) -> int:
        return (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(MobileCode)
                .where(MobileCode.mobile == mobile, MobileCode.created_at > now - delta)
            )
            or 0
        )

    if asked_since(timedelta(hours=1)) >= cfg["MY_CODES_PER_HOUR"]:
        raise MobileRefused("too_many_hour")
    if asked_since(timedelta(days=1)) >= cfg["MY_CODES_PER_DAY"]:
        raise MobileRefused("too_many_day")

    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = cfg["MY_CODE_MINUTES"]
    row = MobileCode(
        mobile=mobile,
        code_hash=_code_hash(mobile, code, secrets.token_hex(8)),
        attempts=0,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(row)
    if has_concerns(mobile):
        with force_locale(cfg["BABEL_DEFAULT_LOCALE"]):
            body = _(
                "Mashang code %(code)s, valid for %(minutes)d minutes, shows the concerns filed with this number. "
                "Do not tell it to anyone.",
                code=code,
                minutes=minutes,
            )
        queue_resident_sms(mobile, body, kind=CODE_KIND, secret=True, now=now)
    db.session.flush()
    return row


def verify_code(code_id: int, raw_code: str, now: datetime | None = None) -> str:
    """The number whose code this is, now confirmed. Any live code of that number counts
    (an earlier SMS may be the one that arrived), and every try uses up one of each live
    code's CODE_TRIES. Refuses with MobileRefused: bad_code (not six digits; no try used),
    no_code, expired, dead (too many wrong tries), wrong_code (details: left).

    A refused try is recorded (flushed): the view commits it, so that wrong tries count."""
    now = now or utcnow()
    code = normalize_code(raw_code)
    asked = db.session.get(MobileCode, code_id)
    if asked is None or asked.used_at is not None:
        raise MobileRefused("no_code")
    if not is_code(code):
        raise MobileRefused("bad_code")
    mobile = asked.mobile
    live = list(
        db.session.scalars(
            sa.select(MobileCode).where(
                MobileCode.mobile == mobile,
                MobileCode.used_at.is_(None),
                MobileCode.expires_at > now,
                MobileCode.attempts < CODE_TRIES,
            )
        )
    )
    tried: list[MobileCode] = []
    for row in live:
        # One UPDATE per try, guarded: two requests at once cannot both use a code's last try.
        taken = db.session.execute(
            sa.update(MobileCode)
            .where(MobileCode.id == row.id, MobileCode.attempts < CODE_TRIES, MobileCode.used_at.is_(None))
            .values(attempts=MobileCode.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(taken, sa.CursorResult)
        if taken.rowcount == 1:
            db.session.refresh(row)
            tried.append(row)
    match = next((row for row in tried if _code_matches(row, code)), None)
    if match is None:
        db.session.flush()
        if not tried:
            raise MobileRefused("expired" if asked.expires_at <= now else "dead")
        left = max(CODE_TRIES - row.attempts for row in tried)
        if left <= 0:
            raise MobileRefused("dead")
        raise MobileRefused("wrong_code", left=left)
    match.used_at = now
    found = _contact_for_update(mobile, now)
    if found.verified_at is None:
        found.verified_at = now
        found.updated_at = now
        audit.log(None, "sms.confirmed", found, mobile=masked(mobile))
    db.session.flush()
    return mobile


def mobile_of_code(code_id: int) -> str | None:
    row = db.session.get(MobileCode, code_id)
    return row.mobile if row is not None and row.used_at is not None else None


def concerns_for(mobile: str) -> list[Concern]:
    """Every concern filed with this number, newest first."""
    return list(
        db.session.scalars(
            sa.select(Concern)
            .where(Concern.contact_mobile == mobile, ~Concern.is_anonymous)
            .order_by(Concern.created_at.desc(), Concern.id.desc())
        )
    )
