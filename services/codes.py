"""Random public codes from an alphabet without look-alikes (no 0/O, 1/I/L)."""

import re
import secrets

import sqlalchemy as sa

from extensions import db
from models import Representative, Station, StationCodeAlias

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
STATION_CODE_LENGTH = 6  # 31^6 ≈ 8.9e8: plenty for every station in the country
REP_CODE_LENGTH = 6  # 代表码: the same shape as a station's, on a business card
TRACKING_CODE_LENGTH = 10  # 31^10 ≈ 8.2e14 (~49 bits): not worth guessing
# A booked visit's code: shorter than a tracking code, so the two are never confused
# (31^8 ≈ 8.5e11, ~40 bits; failed look-ups are rate limited like tracking codes).
BOOKING_CODE_LENGTH = 8
# A 述职 meeting's code (/m/<code>), shown on a screen for one afternoon: a booking code's
# length, so that it cannot be guessed before the meeting.
MEETING_CODE_LENGTH = 8

_TRACKING_RE = re.compile(f"^[{ALPHABET}]{{{TRACKING_CODE_LENGTH}}}$")
_BOOKING_RE = re.compile(f"^[{ALPHABET}]{{{BOOKING_CODE_LENGTH}}}$")
_MEETING_RE = re.compile(f"^[{ALPHABET}]{{{MEETING_CODE_LENGTH}}}$")
# A resident's key to their comments on a draft law (/c/<code>): a length of its own, so it
# is never taken for a tracking or a booking code (31^9 ≈ 2.6e13, ~45 bits).
COMMENT_CODE_LENGTH = 9

_TRACKING_RE = re.compile(f"^[{ALPHABET}]{{{TRACKING_CODE_LENGTH}}}$")
_BOOKING_RE = re.compile(f"^[{ALPHABET}]{{{BOOKING_CODE_LENGTH}}}$")
_COMMENT_RE = re.compile(f"^[{ALPHABET}]{{{COMMENT_CODE_LENGTH}}}$")
_STATION_RE = re.compile(f"^[{ALPHABET}]{{4,12}}$")


def random_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def station_code_taken(code: str) -> bool:
    """A station has this code now, or one had it: a retired code is never given again,
    since old posters carrying it may still hang somewhere."""
    return (
        db.session.scalar(
            sa.select(
                sa.or_(
                    sa.exists().where(Station.code == code),
                    sa.exists().where(StationCodeAlias.code == code),
                )
            )
        )
        is True
    )


def new_station_code() -> str:
    """A fresh station code, unused by any station's current or retired codes. Every place
    that makes a station code comes here (it needs the database)."""
    while True:
        code = random_code(STATION_CODE_LENGTH)
        if not station_code_taken(code):
            return code


def rep_code_taken(code: str) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(Representative.code == code))) is True


def new_rep_code(taken: set[str] | None = None) -> str:
    """A fresh representative code (代表码), unused by any representative. Every place that
    makes a representative comes here. A batch (an import) passes `taken`, every code in
    use read once, and the new one is added to it; otherwise the database is asked."""
    while True:
        code = random_code(REP_CODE_LENGTH)
        if taken is None:
            if not rep_code_taken(code):
                return code
        elif code not in taken:
            taken.add(code)
            return code


def new_tracking_code() -> str:
    return random_code(TRACKING_CODE_LENGTH)


def normalize_tracking_code(raw: str) -> str | None:
    """Accept any case, spaces and dashes; None when it cannot be a tracking code."""
    code = re.sub(r"[\s\-_—–]+", "", raw or "").upper()
    return code if _TRACKING_RE.match(code) else None


def new_booking_code() -> str:
    return random_code(BOOKING_CODE_LENGTH)


def normalize_booking_code(raw: str) -> str | None:
    """Accept any case, spaces and dashes; None when it cannot be a booking code."""
    code = re.sub(r"[\s\-_—–]+", "", raw or "").upper()
    return code if _BOOKING_RE.match(code) else None


def new_meeting_code() -> str:
    return random_code(MEETING_CODE_LENGTH)


def normalize_meeting_code(raw: str) -> str | None:
    """Any case; None when it cannot be a meeting code."""
    code = (raw or "").strip().upper()
    return code if _MEETING_RE.match(code) else None


def new_comment_code() -> str:
    return random_code(COMMENT_CODE_LENGTH)


def normalize_comment_code(raw: str) -> str | None:
    """Accept any case, spaces and dashes; None when it cannot be a comment code."""
    code = re.sub(r"[\s\-_—–]+", "", raw or "").upper()
    return code if _COMMENT_RE.match(code) else None


def normalize_station_code(raw: str) -> str | None:
    code = (raw or "").strip().upper()
    return code if _STATION_RE.match(code) else None


def normalize_rep_code(raw: str) -> str | None:
    """A representative's code follows the station codes' rules (any case, no look-alikes)."""
    return normalize_station_code(raw)


def format_tracking_code(code: str) -> str:
    """Split in two halves so it reads aloud and copies by hand without errors."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"
