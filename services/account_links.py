"""Single-use links that let a person set their own password: an invitation to a new account
(sent by staff), or a new password (asked for on "forgot password", or sent by staff).

Staff never see or type anyone's password. An account is made without one; the invitation
goes out by SMS to its mobile number (else by e-mail) through the outbox; the person opens
the link, sees whose account it is, chooses a password and is signed in. The link's token
(secrets.token_urlsafe(32)) is only in the message: the database keeps its SHA-256, as
services.kiosk does for tablets. A newer link for a person ends the older ones still live.
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
from flask_babel import force_locale
from flask_babel import gettext as _

from extensions import db
from models import AccountLink, Outbox, Region, User, utcnow
from models.enums import RegionLevel, Role
from services import sessions
from services.audit import log
from services.auth import check_new_password, end_links, find_by_login, hash_password
from services.errors import DomainError
from services.outbox import mask_recipient

INVITE = "invite"
RESET = "reset"
INVITE_DAYS = 7  # someone new to this may take a few days to try it
RESET_MINUTES = 60  # "forgot password": the person is at their phone now
# A link staff send to an existing account: the person may not see the SMS at once.
STAFF_RESET_HOURS = 24
RESETS_PER_DAY = 3  # "forgot password" links to one account, counted in the database
LOCALE = "zh_Hans"  # the messages are read in Simplified Chinese
PATH = "/account/set-password/"  # views.auth.set_password; services build no URLs from requests

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{43}$")  # what token_urlsafe(32) makes


class LinkRefused(DomainError):
    """Codes: no_contact, inactive, already_has_password (sending); unknown, expired, used,
    revoked (opening a link)."""


def _digest(token: str) -> str:
    return hashlib.sha256(f"account-link:{token}".encode()).hexdigest()


def link_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}{PATH}{token}"


def channel_for(user: User) -> tuple[str, str] | None:
    """(channel, recipient): an SMS to the mobile number, which everyone reads, else an e-mail."""
    if user.mobile:
        return "sms", user.mobile
    if user.email:
        return "email", user.email
    return None


# --- sending links ----------------------------------------------------------------------------


def _new_link(actor: User | None, user: User, purpose: str, now: datetime, valid: timedelta) -> tuple[AccountLink, str]:
    """Revoke the person's live links, make a new one and queue its message (the only place
    the token goes). Returns the link and the masked recipient, for the audit log."""
    found = channel_for(user)
    if found is None:
        raise LinkRefused("no_contact")
    channel, recipient = found
    end_links(user, now)
    token = secrets.token_urlsafe(32)
    link = AccountLink(
        user_id=user.id,
        purpose=purpose,
        token_hash=_digest(token),
        channel=channel,
        created_at=now,
        expires_at=now + valid,
        created_by_id=actor.id if actor is not None else None,
    )
    link.message = _message(actor, user, purpose, channel, recipient, token, valid)
    db.session.add(link)
    db.session.flush()
    return link, mask_recipient(recipient)


def invite(actor: User | None, user: User, *, now: datetime | None = None) -> AccountLink:
    """Send `user` an invitation to set their password, valid INVITE_DAYS; sending again
    ends the earlier one (`actor` None: from the command line). Refuses: inactive,
    already_has_password, no_contact."""
    now = now or utcnow()
    if not user.active:
        raise LinkRefused("inactive")
    if user.has_password:
        raise LinkRefused("already_has_password")
    again = db.session.scalar(
        sa.select(AccountLink.id).where(AccountLink.user_id == user.id, AccountLink.purpose == INVITE).limit(1)
    )
    link, to = _new_link(actor, user, INVITE, now, timedelta(days=INVITE_DAYS))
    log(actor, "account.invite_resent" if again else "account.invited", user, channel=link.channel, to=to)
    return link


@dataclass
class InviteCounts:
    sent: int = 0
    has_password: int = 0
    already_invited: int = 0  # an invitation still valid, and resend not asked for
    no_contact: int = 0
    inactive: int = 0


def invite_many(actor: User, users: list[User], now: datetime | None = None, *, resend: bool = False) -> InviteCounts:
    """Invite each of `users` (after an import, say): those who already have a password, or an
    invitation still valid (unless `resend`), are skipped; so are those nobody can reach."""
    now = now or utcnow()
    counts = InviteCounts()
    waiting = set(
        db.session.scalars(
            sa.select(AccountLink.user_id).where(
                AccountLink.user_id.in_([u.id for u in users]),
                AccountLink.purpose == INVITE,
                AccountLink.used_at.is_(None),
                AccountLink.revoked_at.is_(None),
                AccountLink.expires_at > now,
            )
        )
    )
    for user in users:
        if not user.active:
            counts.inactive += 1
        elif user.has_password:
            counts.has_password += 1
        elif user.id in waiting and not resend:
            counts.already_invited += 1
        elif channel_for(user) is None:
            counts.no_contact += 1
        else:
            invite(actor, user, now=now)
            counts.sent += 1
    return counts


def send_reset(actor: User, user: User, *, now: datetime | None = None) -> AccountLink:
    """Staff send a link to set a new password (the person forgot it, and called the office),
    valid STAFF_RESET_HOURS. The old password works until the link is used. Refuses:
    inactive, no_contact."""
    now = now or utcnow()
    if not user.active:
        raise LinkRefused("inactive")
    link, to = _new_link(actor, user, RESET, now, timedelta(hours=STAFF_RESET_HOURS))
    log(actor, "account.reset_sent", user, channel=link.channel, to=to)
    return link


def request_reset(login: str, *, now: datetime | None = None) -> AccountLink | None:
    """ "Forgot password": a link valid RESET_MINUTES to the account's mobile (else e-mail),
    or nothing. The caller says the same in every case, so nobody learns which logins
    exist: None for an unknown login, a switched-off account, one nobody can reach, or
    past RESETS_PER_DAY links today (a stranger must not flood someone's phone)."""
    now = now or utcnow()
    user = find_by_login(login)
    if user is None:
        return None
    found = channel_for(user)
    reason = None
    if not user.active:
        reason = "inactive"
    elif found is None:
        reason = "no_contact"
    else:
        today = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AccountLink)
            .where(
                AccountLink.user_id == user.id,
                AccountLink.purpose == RESET,
                AccountLink.created_by_id.is_(None),
                AccountLink.created_at > now - timedelta(days=1),
            )
        )
        if (today or 0) >= RESETS_PER_DAY:
            reason = "limit"
    if reason is not None or found is None:
        log(None, "account.reset_requested", user, sent=False, reason=reason)
        return None
    link, to = _new_link(None, user, RESET, now, timedelta(minutes=RESET_MINUTES))
    log(None, "account.reset_requested", user, sent=True, channel=link.channel, to=to)
    return link


# --- the message --------------------------------------------------------------------------------


def issuer(actor: User | None, user: User) -> Region | None:
    """The congress whose name the invitation carries: the inviting staff member's, else the
    region of the account's scope; a township has no standing committee, so the county above."""
    region: Region | None = None
    if actor is not None and actor.role == Role.CONGRESS_STAFF:
        region = actor.region
    elif user.region is not None:
        region = user.region
    elif user.unit is not None:
        region = user.unit.region
    elif user.managed_stations:
        region = user.managed_stations[0].region
    elif user.representative is not None and user.representative.stations:
        region = user.representative.stations[0].region
    while region is not None and region.level == RegionLevel.TOWNSHIP:
        region = region.parent
    return region


def _valid_for(valid: timedelta) -> str:
    """7 days, 24 hours, 60 minutes: the unit people would say."""
    minutes = int(valid.total_seconds() // 60)
    if minutes >= 24 * 60 and minutes % (24 * 60) == 0:
        return _("%(n)d days", n=minutes // (24 * 60))
    if minutes >= 2 * 60 and minutes % 60 == 0:
        return _("%(n)d hours", n=minutes // 60)
    return _("%(n)d minutes", n=minutes)


def _message(
    actor: User | None, user: User, purpose: str, channel: str, recipient: str, token: str, valid: timedelta
) -> Outbox:
    """The SMS (short and plain: the link last, so no punctuation sticks to it) or e-mail."""
    url = link_url(token)
    with force_locale(LOCALE):
        if purpose == INVITE:
            region = issuer(actor, user)
            params = {"name": user.display_name, "valid": _valid_for(valid), "url": url}
            if region is not None:
                text = _(
                    "[Mashang] Hello %(name)s, the Standing Committee of the %(issuer)s People's Congress has opened "
                    "a Mashang account for you. Please open this link within %(valid)s to set your password: %(url)s",
                    issuer=region.name,
                    **params,
                )
            else:
                text = _(
                    "[Mashang] Hello %(name)s, a Mashang account has been opened for you. "
                    "Please open this link within %(valid)s to set your password: %(url)s",
                    **params,
                )
            subject = _("Your Mashang account")
        else:
            text = _(
                "[Mashang] Open this link within %(valid)s to set a new password for your Mashang account "
                "(if you did not ask for it, ignore this message): %(url)s",
                valid=_valid_for(valid),
                url=url,
            )
            subject = _("A new password for your Mashang account")
        if channel == "email":
            body = "\n\n".join((text, _("This message was sent automatically.")))
            return Outbox(channel="email", recipient=recipient, subject=subject, body=body, kind=f"account.{purpose}")
        return Outbox(channel="sms", recipient=recipient, subject="", body=text, kind=f"account.{purpose}")


# --- opening a link -----------------------------------------------------------------------------


def check(token: str, now: datetime | None = None) -> AccountLink:
    """The link `token` opens, if it still works. Refuses: unknown (never made, or not the
    shape of a token), used, revoked (a newer link was sent, or the account is switched
    off), expired."""
    now = now or utcnow()
    if not token or not _TOKEN_RE.match(token):
        raise LinkRefused("unknown")
    digest = _digest(token)
    link = db.session.scalar(sa.select(AccountLink).where(AccountLink.token_hash == digest))
    # The look-up is by hash; compared again in constant time for good measure.
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise LinkRefused("unknown")
    if link.used_at is not None:
        raise LinkRefused("used", purpose=link.purpose)
    if link.revoked_at is not None or not link.user.active:
        raise LinkRefused("revoked", purpose=link.purpose)
    if link.expires_at <= now:
        raise LinkRefused("expired", purpose=link.purpose)
    return link


def use(token: str, new_password: str, *, now: datetime | None = None) -> User:
    """Set the password of the link's account and spend the link. Every session of the
    account ends, a lockout is lifted, and the account counts as signed in now (the
    caller signs the person in). Refuses as check(), and with AuthRefused
    password_too_short or password_too_simple (the link stays usable)."""
    now = now or utcnow()
    link = check(token, now)
    user = link.user
    check_new_password(new_password, username=user.username)
    # Single use even when the form is sent twice at once: only one update finds it unused.
    spent = db.session.execute(
        sa.update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(spent, sa.CursorResult)
    if spent.rowcount != 1:
        raise LinkRefused("used", purpose=link.purpose)
    end_links(user, now)  # any other link of the person (the old invitation, say)
    first = not user.has_password
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    ended = sessions.end_all(user, sessions.Ended.PASSWORD_SET, now)
    user.locked_until = None
    user.failed_logins = 0
    user.last_login_at = now
    log(user, "account.password_set_via_link", user, purpose=link.purpose, first=first, sessions_ended=ended)
    db.session.flush()
    return user


# --- what the back office shows -----------------------------------------------------------------


@dataclass(frozen=True)
class AccountState:
    """Where an account stands: `state` is one of switched_off, not_invited, invited,
    invite_expired, active; `link` the latest link (live or not), if any."""

    state: str
    link: AccountLink | None
    live: bool  # the latest link still works


def states(users: list[User], now: datetime | None = None) -> dict[int, AccountState]:
    """The state of each account, with one query for their latest links."""
    now = now or utcnow()
    ids = [u.id for u in users]
    latest: dict[int, AccountLink] = {}
    if ids:
        newest = (
            sa.select(sa.func.max(AccountLink.id)).where(AccountLink.user_id.in_(ids)).group_by(AccountLink.user_id)
        )
        for row in db.session.scalars(sa.select(AccountLink).where(AccountLink.id.in_(newest))):
            latest[row.user_id] = row
    found: dict[int, AccountState] = {}
    for user in users:
        link = latest.get(user.id)
        live = link is not None and link.used_at is None and link.revoked_at is None and link.expires_at > now
        if not user.active:
            state = "switched_off"
        elif user.has_password:
            state = "active"
        elif link is None:
            state = "not_invited"
        else:
            state = "invited" if live else "invite_expired"
        found[user.id] = AccountState(state, link, live)
    return found


def state_of(user: User, now: datetime | None = None) -> AccountState:
    return states([user], now)[user.id]
