"""Accounts: sign-in with lockout, passwords, creating and administering users of every role."""

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import AccountLink, Region, Station, Unit, User, UserSession, utcnow
from models.enums import RepLevel, Role
from models.user import Representative
from services import sessions
from services.audit import log
from services.codes import new_rep_code
from services.concerns import is_mainland_mobile, normalize_mobile
from services.errors import DomainError
from services.limits import (
    DELEGATION_MAX,
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    OCCUPATION_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
)

MAX_FAILURES = 5
LOCK_MINUTES = 15
# A login name starts with a letter, so it can never be mistaken for a mobile number; then
# USERNAME_MIN - 1 to USERNAME_MAX - 1 more characters.
USERNAME_RE = re.compile(rf"^[A-Za-z][A-Za-z0-9_.\-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}$")
# Checked against when the login name is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AuthRefused(DomainError):
    pass


def hash_password(password: str) -> str:
    """scrypt, Werkzeug's default: a memory-hard key-derivation function."""
    return generate_password_hash(password)


def _clean_login(login: str) -> str:
    """Full-width letters and digits (from Chinese input methods) to ASCII, trimmed."""
    return unicodedata.normalize("NFKC", login or "").strip()


def find_by_login(login: str) -> User | None:
    login = _clean_login(login)
    if not login:
        return None
    mobile = normalize_mobile(login)
    if is_mainland_mobile(mobile):
        return db.session.scalar(sa.select(User).where(User.mobile == mobile))
    return _by_username(login)


def _by_username(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.lower()))


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def _count_failure(user: User, now: datetime) -> bool:
    """One more wrong password for `user`; True when it locked the account."""
    # Counted in the database, not in Python: parallel guesses cannot lose a count.
    failures = db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
    ).scalar_one()
    if failures < MAX_FAILURES:
        return False
    user.failed_logins = 0
    user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
    log(None, "account.locked", user, failures=failures)
    db.session.flush()
    return True


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is the account's. An unknown account, or one with no password yet
    (invited, not set), is checked against a dummy hash: every refusal costs the same time."""
    if user is None or not user.has_password:
        check_password_hash(_DUMMY_HASH, password or "")
        return False
    return check_password_hash(user.password_hash, password or "")


def authenticate(login: str, password: str, *, now: datetime | None = None) -> User:
    """The user, or AuthRefused("bad_credentials") whatever the reason, so that the answer
    says nothing about which accounts exist: `details["reason"]` (unknown, no_password,
    wrong_password, locked, inactive) is for tests and logs, never for the person signing
    in. Staff see a lock on the account's page. Failures are counted on the user row: the
    caller commits in both cases."""
    now = now or utcnow()
    user = find_by_login(login)
    # The password is checked first whatever the account's state, so that every refusal
    # costs the same time.
    right = password_matches(user, password)
    if user is None:
        raise AuthRefused("bad_credentials", reason="unknown")
    if not user.has_password:
        # Nothing to guess, so nothing counted: the person sets one through their invitation.
        raise AuthRefused("bad_credentials", reason="no_password")
    if is_locked(user, now):
        raise AuthRefused("bad_credentials", reason="locked")
    if not right:
        locked = _count_failure(user, now)
        raise AuthRefused("bad_credentials", reason="locked" if locked else "wrong_password")
    if not user.active:
        raise AuthRefused("bad_credentials", reason="inactive")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def confirm_password(user: User, record: UserSession, password: str, *, now: datetime | None = None) -> None:
    """The password typed again in a signed-in session before a sensitive step. Refused
    with wrong_password; wrong too often (the sign-in lockout count) ends the session
    and locks the account, refused with signed_out: a copied cookie cannot guess on."""
    now = now or utcnow()
    if password_matches(user, password):
        user.failed_logins = 0
        sessions.confirmed(record, now)
        return
    if _count_failure(user, now):
        sessions.end(record, sessions.Ended.TOO_MANY_FAILURES, now)
        raise AuthRefused("signed_out")
    raise AuthRefused("wrong_password")


def change_password(user: User, current: str, new: str, *, keep: UserSession | None = None) -> None:
    """The user's own change: refused with wrong_password, password_too_short or
    password_too_simple. Every other session of the account ends (`keep`: this one)."""
    if not password_matches(user, current):
        raise AuthRefused("wrong_password")
    check_new_password(new, username=user.username)
    # The record itself, never a proxy to it (a view may pass flask_login.current_user).
    user = db.session.get_one(User, user.id)
    user.password_hash = hash_password(new)
    user.session_version += 1  # signs out every other session of this account
    now = utcnow()
    ended = sessions.end_all(user, sessions.Ended.PASSWORD_CHANGED, now, keep=keep)
    if keep is not None:
        sessions.confirmed(keep, now)
    log(user, "account.password_changed", user, sessions_ended=ended)
    db.session.flush()


def check_new_password(password: str, *, username: str = "") -> None:
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise AuthRefused("password_too_short")
    if password.isdigit() or len(set(password)) < 4:
        raise AuthRefused("password_too_simple")
    if len(username) >= 3 and username.lower() in password.lower():
        raise AuthRefused("password_too_simple")


# --- creating accounts -------------------------------------------------------------------


def create_user(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    role: Role | str,
    password: str | None = None,
    mobile: str | None = None,
    email: str | None = None,
    region: Region | None = None,
    unit: Unit | None = None,
    stations: Sequence[Station] = (),
    rep_level: RepLevel | str | None = None,
    occupation: str = "",
    delegation: str = "",
) -> User:
    """An account of any role with the scope that role needs, refused with a code otherwise:
    bad_username, username_taken, bad_mobile, mobile_taken, bad_email, display_name_required,
    display_name_too_long, password_too_short, password_too_simple (when a password is
    given: the command line and the demo; people set their own through an invitation,
    services.account_links), bad_role,
    region_required, unit_required, unit_inactive, stations_required, level_required,
    bad_level, occupation_too_long, delegation_too_long, and scope_not_for_role (with
    `field`) when a scope is given that the role does not have.

    The refusal's code is the first problem found; `details["problems"]` lists every
    problem as (code, details), so a form can mark all its wrong fields at once."""
    problems: list[tuple[str, dict]] = []

    def problem(code: str, **details) -> None:
        problems.append((code, details))

    username = _clean_login(username)
    if not USERNAME_RE.match(username):
        problem("bad_username")
    elif _by_username(username) is not None:
        problem("username_taken")
    mobile = normalize_mobile(mobile or "") or None
    if mobile and not is_mainland_mobile(mobile):
        problem("bad_mobile")
    elif mobile and db.session.scalar(sa.select(User.id).where(User.mobile == mobile)):
        problem("mobile_taken")
    email = clean_email(email)
    if email is not None and not is_email(email):
        problem("bad_email")
    display_name = (display_name or "").strip()
    if not display_name:
        problem("display_name_required")
    elif len(display_name) > DISPLAY_NAME_MAX:
        problem("display_name_too_long")
    if password is not None:
        try:
            check_new_password(password, username=username)
        except AuthRefused as refused:
            problem(refused.code)

    # Each role has exactly its own scope; anything else is a mistake worth saying.
    stations = list(stations)
    occupation = (occupation or "").strip()
    delegation = (delegation or "").strip()
    chosen: Role | None
    try:
        chosen = Role(role)
    except ValueError:
        problem("bad_role")
        chosen = None
    if chosen is not None:
        role = chosen
        if role == Role.CONGRESS_STAFF and region is None:
            problem("region_required")
        if role == Role.UNIT_HANDLER:
            if unit is None:
                problem("unit_required")
            elif not unit.is_active:
                problem("unit_inactive")
        if role == Role.STATION_MANAGER and not stations:
            problem("stations_required")
        if region is not None and role != Role.CONGRESS_STAFF:
            problem("scope_not_for_role", field="region")
        if unit is not None and role != Role.UNIT_HANDLER:
            problem("scope_not_for_role", field="unit")
        if stations and role not in (Role.STATION_MANAGER, Role.REPRESENTATIVE):
            problem("scope_not_for_role", field="stations")
        if role == Role.REPRESENTATIVE:
            if rep_level is None or rep_level == "":
                problem("level_required")
            else:
                try:
                    rep_level = RepLevel(rep_level)
                except ValueError:
                    problem("bad_level")
            if len(occupation) > OCCUPATION_MAX:
                problem("occupation_too_long")
            if len(delegation) > DELEGATION_MAX:
                problem("delegation_too_long")
        elif rep_level or occupation or delegation:
            problem("scope_not_for_role", field="level")
    if problems:
        code, details = problems[0]
        raise AuthRefused(code, **details, problems=problems)
    assert chosen is not None  # else bad_role was a problem
    role = chosen

    user = User(
        username=username,
        mobile=mobile,
        email=email,
        display_name=display_name,
        # Empty: no password yet, and none can sign in with it (password_matches).
        password_hash=hash_password(password) if password is not None else "",
        role=role,
        region=region,
        unit=unit,
        active=True,
        failed_logins=0,
        session_version=0,
    )
    if role == Role.STATION_MANAGER:
        user.managed_stations = stations
    if role == Role.REPRESENTATIVE:
        user.representative = Representative(
            code=new_rep_code(), level=rep_level, occupation=occupation, delegation=delegation, stations=stations
        )
    db.session.add(user)
    db.session.flush()
    log(
        actor,
        "account.created",
        user,
        role=role.value,
        stations=[s.id for s in stations],
        password=password is not None,
    )
    return user


# --- administering accounts --------------------------------------------------------------


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(email: str | None) -> str | None:
    email = (email or "").strip()
    return email or None


def is_email(email: str) -> bool:
    return len(email) <= EMAIL_MAX and EMAIL_RE.match(email) is not None


def end_links(user: User, now: datetime) -> int:
    """End the account's set-password links still live (services.account_links); how many."""
    result = db.session.execute(
        sa.update(AccountLink)
        .where(
            AccountLink.user_id == user.id,
            AccountLink.used_at.is_(None),
            AccountLink.revoked_at.is_(None),
            AccountLink.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, sa.CursorResult)  # an UPDATE's result has the rowcount
    return result.rowcount


def set_contact(actor: User, user: User, *, email: str | None, mobile: str | None) -> bool:
    """Change how an account is reached (staff notifications: e-mail first, else SMS) and
    the mobile it may sign in with. Refuses: bad_email, bad_mobile, mobile_taken. False
    when nothing changed."""
    email = clean_email(email)
    mobile = normalize_mobile(mobile or "") or None
    if email is not None and not is_email(email):
        raise AuthRefused("bad_email")
    if mobile and not is_mainland_mobile(mobile):
        raise AuthRefused("bad_mobile")
    if mobile and db.session.scalar(sa.select(User.id).where(User.mobile == mobile, User.id != user.id)):
        raise AuthRefused("mobile_taken")
    if (user.email, user.mobile) == (email, mobile):
        return False
    user.email, user.mobile = email, mobile
    # A set-password link sent to the old number or address (perhaps someone else's) ends.
    end_links(user, utcnow())
    log(actor, "account.contact_changed", user, email=email is not None, mobile=mobile is not None)
    return True


def set_active(actor: User, user: User, active: bool) -> bool:
    """Switch an account on or off; False when it already was. Switching off ends the
    account's sessions; an administrator cannot switch off their own account."""
    if not active and actor.id == user.id:
        raise AuthRefused("cannot_switch_off_self")
    if user.active == active:
        return False
    user.active = active
    if not active:
        user.session_version += 1
        sessions.end_all(user, sessions.Ended.SWITCHED_OFF, utcnow())
        end_links(user, utcnow())  # switched on again, they would work again
    log(actor, "account.switched_on" if active else "account.switched_off", user)
    db.session.flush()
    return True


def unlock(actor: User, user: User) -> None:
    """Lift a lockout and forget the failed attempts."""
    log(actor, "account.unlocked", user, failures=user.failed_logins, was_locked=is_locked(user))
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()


# --- reading accounts --------------------------------------------------------------------

PAGE_SIZE = 50


def list_users(
    *, role: Role | None = None, query: str = "", before: int | None = None, limit: int = PAGE_SIZE
) -> list[User]:
    """Newest first, `limit` at most, with their scope loaded; `before` is the smallest
    id of the previous page (keyset pagination). `query` matches the login name, the
    display name or an exact mobile number."""
    stmt = (
        sa.select(User)
        .options(
            joinedload(User.region),
            joinedload(User.unit),
            selectinload(User.managed_stations),
            selectinload(User.representative).selectinload(Representative.stations),
        )
        .order_by(User.id.desc())
        .limit(limit)
    )
    if role is not None:
        stmt = stmt.where(User.role == role)
    if before is not None:
        stmt = stmt.where(User.id < before)
    query = _clean_login(query)
    if query:
        mobile = normalize_mobile(query)
        like = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions: list[sa.ColumnElement[bool]] = [
            sa.func.lower(User.username).like(like, escape="\\"),
            sa.func.lower(User.display_name).like(like, escape="\\"),
        ]
        if is_mainland_mobile(mobile):
            conditions.append(User.mobile == mobile)
        stmt = stmt.where(sa.or_(*conditions))
    return list(db.session.scalars(stmt).unique())
