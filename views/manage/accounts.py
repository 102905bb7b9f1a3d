"""Sending people the link that sets their password: an invitation to a new account (or
the same again), or a new password, one account at a time or many after an import.

Staff never type anyone's password: services.account_links makes the link and queues its
SMS (else e-mail). Who may send whom is ACCOUNT_INVITE: an admin anyone, congress staff
the representatives, station managers and unit handlers in their region and below.
"""

import sqlalchemy as sa
from flask import abort, flash, redirect, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import AccountLink, User
from services import account_links, refusals
from services.account_links import LinkRefused
from services.limits import BULK_INVITE_MAX
from services.outbox import mask_recipient
from services.permissions import Permission as P
from services.permissions import can
from views.forms.accounts import AccountLinkForm, BulkInviteForm
from views.manage import bp
from views.util import get_or_404, require_or_abort, safe_next


def _back(form) -> str:
    """Back to the page with the button (it names itself in the form), else the home page."""
    return safe_next(form.next.data, url_for("manage.home"))


def _sent(user: User, link: AccountLink) -> str:
    recipient = mask_recipient(user.mobile if link.channel == "sms" else user.email or "")
    how = (
        _("by SMS to %(recipient)s", recipient=recipient)
        if link.channel == "sms"
        else _("by e-mail to %(recipient)s", recipient=recipient)
    )
    return _(
        "It goes to %(name)s %(how)s within a minute (this page shows when it has left). The link works "
        "until %(time)s.",
        name=user.display_name,
        how=how,
        time=format_datetime(link.expires_at, "yyyy-MM-dd HH:mm"),
    )


def _send_link(user_id: int, send, done: str):
    """Send `user_id` a set-password link with `send(actor, user)`, and say so."""
    user = get_or_404(User, user_id)
    require_or_abort(P.ACCOUNT_INVITE, user)
    form = AccountLinkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        link = send(current_user, user)
    except LinkRefused as refused:
        db.session.rollback()
        flash(refusals.message(refused))
        return redirect(_back(form), 303)
    db.session.commit()
    flash(done + " " + _sent(user, link))
    return redirect(_back(form), 303)


@bp.post("/accounts/<int:user_id>/invite")
@login_required
def account_invite(user_id: int):
    """Send the invitation, or send it again (the earlier link stops working)."""
    return _send_link(user_id, account_links.invite, _("Invitation made."))


@bp.post("/accounts/<int:user_id>/reset-link")
@login_required
def account_reset_link(user_id: int):
    """A link to set a new password, for someone who forgot theirs and asked the office."""
    return _send_link(user_id, account_links.send_reset, _("Link to set a new password made."))


@bp.post("/accounts/invite")
@login_required
def accounts_invite():
    """Invite many accounts at once. Every id must be an account the sender may invite: a
    form naming any other is refused whole (403), unknown ids too (404)."""
    require_or_abort(P.MANAGE_HOME)
    form = BulkInviteForm()
    if not form.validate_on_submit():
        abort(400)
    ids = form.user_ids.data or []
    if not ids or None in ids or len(ids) > BULK_INVITE_MAX:
        abort(400)
    ids = list(dict.fromkeys(ids))
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id)))
    if len(users) != len(ids):
        abort(404)
    if not all(can(current_user, P.ACCOUNT_INVITE, user) for user in users):
        abort(403)
    counts = account_links.invite_many(current_user, users, resend=form.resend.data)
    db.session.commit()
    flash(invite_summary(counts))
    return redirect(_back(form), 303)


def invite_summary(counts: account_links.InviteCounts) -> str:
    """What a bulk invitation did, in one notice."""
    parts = [_("Invitations queued to be sent: %(n)d.", n=counts.sent)]
    if counts.already_invited:
        parts.append(_("%(n)d already invited, link still valid (not sent again).", n=counts.already_invited))
    if counts.has_password:
        parts.append(_("%(n)d already have a password.", n=counts.has_password))
    if counts.no_contact:
        parts.append(_("%(n)d have neither mobile number nor e-mail: add one, then invite them.", n=counts.no_contact))
    if counts.inactive:
        parts.append(_("%(n)d switched off.", n=counts.inactive))
    return " ".join(parts)
