"""Accounts: sign-in with lockout, passwords, creating users for every role."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import Region, Station, Unit, User, utcnow
from models.enums import RepLevel, Role
from models.user import Representative
from services.audit import log
from services.concerns import is_mainland_mobile, normalize_mobile
from services.errors import DomainError

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10
# Checked against when the login name is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AuthRefused(DomainError):
    pass


def hash_password(password: str) -> str:
    """scrypt, Werkzeug's default: a memory-hard key-derivation function."""
    return generate_password_hash(password)


def find_by_login(login: str) -> User | None:
    login = (login or "").strip()
    if not login:
        return None
    mobile = normalize_mobile(login)
    if is_mainland_mobile(mobile):
        return db.session.scalar(sa.select(User).where(User.mobile == mobile))
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == login.lower()))


def authenticate(login: str, password: str, *, now: datetime | None = None) -> User:
    """The user, or AuthRefused: bad_credentials, locked (with `until`), inactive.
    Failures are counted on the user row: the caller commits in both cases."""
    now = now or utcnow()
    user = find_by_login(login)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise AuthRefused("bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        raise AuthRefused("locked", until=user.locked_until)
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.failed_logins = 0
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            log(None, "account.locked", user, failures=MAX_FAILURES)
            db.session.flush()
            raise AuthRefused("locked", until=user.locked_until)
        db.session.flush()
        raise AuthRefused("bad_credentials")
    if not user.active:
        raise AuthRefused("inactive")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current or ""):
        raise AuthRefused("wrong_password")
    check_new_password(new)
    user.password_hash = hash_password(new)
    user.session_version += 1  # signs out every other session of this account
    log(user, "account.password_changed", user)
    db.session.flush()


def check_new_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AuthRefused("password_too_short")
    if password.isdigit() or len(set(password)) < 4:
        raise AuthRefused("password_too_simple")


def create_user(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    mobile: str | None = None,
    region: Region | None = None,
    unit: Unit | None = None,
    stations: list[Station] = (),
    rep_level: RepLevel | None = None,
    occupation: str = "",
    delegation: str = "",
) -> User:
    """An account of any role with the scope that role needs, refused with a code otherwise."""
    username = (username or "").strip()
    if not username or len(username) > 40 or not username.replace("_", "").replace(".", "").isalnum():
        raise AuthRefused("bad_username")
    if find_by_login(username) is not None:
        raise AuthRefused("username_taken")
    mobile = normalize_mobile(mobile or "") or None
    if mobile and not is_mainland_mobile(mobile):
        raise AuthRefused("bad_mobile")
    if mobile and db.session.scalar(sa.select(User.id).where(User.mobile == mobile)):
        raise AuthRefused("mobile_taken")
    if not display_name or not display_name.strip():
        raise AuthRefused("display_name_required")
    check_new_password(password)
    if role == Role.CONGRESS_STAFF and region is None:
        raise AuthRefused("region_required")
    if role == Role.UNIT_HANDLER and unit is None:
        raise AuthRefused("unit_required")
    if role == Role.STATION_MANAGER and not stations:
        raise AuthRefused("stations_required")
    if role == Role.REPRESENTATIVE and rep_level is None:
        raise AuthRefused("level_required")

    user = User(
        username=username,
        mobile=mobile,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
        region=region,
        unit=unit,
    )
    if role == Role.STATION_MANAGER:
        user.managed_stations = list(stations)
    if role == Role.REPRESENTATIVE:
        user.representative = Representative(
            level=rep_level, occupation=occupation, delegation=delegation, stations=list(stations)
        )
    db.session.add(user)
    db.session.flush()
    log(actor, "account.created", user, role=str(role))
    return user

