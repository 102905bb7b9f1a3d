"""Which notifications a concern event causes, and what they say.

`queue_for_event` is called by services/concern_flow.py after every transition and every
public reply. It only adds Outbox rows to the session: they are committed, or rolled
back, with the change that caused them, and services/outbox.py sends them later.

Who hears what:
- the resident, by SMS to the mobile they gave (never when anonymous): taken up, not
  accepted (with the public reason), merged, a public answer is ready, please rate, a
  new public reply;
- the assigned representative: assigned to you by someone else, the unit answered (督单),
  the unit returned it, the resident reopened it;
- the handling unit's active handlers: sent to your unit, sent back, reopened;
- whoever dispatched it, when the unit returns it.
Staff get an e-mail when their account has an address, else an SMS, else nothing. Nobody
hears about their own action. Messages to staff never carry the resident's contact data
or internal notes: they name the concern by its number and send people to sign in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from extensions import db
from models import Concern, ConcernEvent, Outbox, User
from models.enums import Role
from services.clock import to_local

LOCALE = "zh_Hans"  # residents and staff read Simplified Chinese
SMS_NOTE_CHARS = 30  # an SMS segment holds 70 Chinese characters; the page has the rest

# Past-tense names of the events, for Outbox.kind.
KINDS = {
    "accept": "concern.accepted",
    "reject": "concern.rejected",
    "merge": "concern.merged",
    "resolve": "concern.resolved",
    "reply": "concern.replied",
    "confirm": "concern.confirmed",
    "comment": "concern.commented",
    "dispatch": "concern.dispatched",
    "send_back": "concern.sent_back",
    "return": "concern.returned",
    "reopen": "concern.reopened",
    "reopen_to_rep": "concern.reopened",
}


@dataclass(frozen=True)
class _Staff:
    """What to tell a staff member: one line (SMS text and e-mail subject), plus details
    for the e-mail body."""

    line: str
    details: tuple[str, ...] = ()


def queue_for_event(concern: Concern, event: ConcernEvent) -> list[Outbox]:
    """Add the Outbox rows `event` causes to the session (no flush, no commit) and return them."""
    kind = KINDS.get(event.action)
    if kind is None:
        return []
    rows: list[Outbox] = []
    with force_locale(LOCALE):
        text = _resident_sms(concern, event)
        if text and concern.contact_mobile and not concern.is_anonymous:
            rows.append(_row("sms", concern.contact_mobile, "", text, kind, concern))
        told: set[int] = set() if event.actor_id is None else {event.actor_id}
        for user, message in _staff_messages(concern, event):
            if user.id in told or not user.active:
                continue
            told.add(user.id)
            row = _staff_row(user, message, kind, concern)
            if row is not None:
                rows.append(row)
    db.session.add_all(rows)
    return rows


def _row(channel: str, recipient: str, subject: str, body: str, kind: str, concern: Concern) -> Outbox:
    return Outbox(channel=channel, recipient=recipient, subject=subject, body=body, kind=kind, concern_id=concern.id)


def _staff_row(user: User, message: _Staff, kind: str, concern: Concern) -> Outbox | None:
    link = _("Sign in to handle it: %(url)s", url=f"{_base_url()}/manage/concerns/{concern.id}")
    if user.email:
        blocks = [
            message.line,
            "\n".join(filter(None, message.details)),
            link,
            _("This message was sent automatically."),
        ]
        body = "\n\n".join(filter(None, blocks))
        return _row("email", user.email, message.line, body, kind, concern)
    if user.mobile:
        return _row("sms", user.mobile, "", f"{message.line} {link}", kind, concern)
    return None


# -- The resident ---------------------------------------------------------------------


def _resident_sms(concern: Concern, event: ConcernEvent) -> str | None:
    url = f"{_base_url()}/t/{concern.tracking_code}"
    action = event.action
    if action == "accept":
        return _("Your concern has been taken up by a representative. Progress: %(url)s", url=url)
    if action == "reject":
        reason = _public_note(event, SMS_NOTE_CHARS)
        if reason:
            return _("Your concern was not accepted: %(reason)s Details: %(url)s", reason=reason, url=url)
        return _("Your concern was not accepted. Details: %(url)s", url=url)
    if action == "merge":
        return _("Your concern was merged with a similar one and is handled with it. Progress: %(url)s", url=url)
    if action in ("reply", "resolve") and event.is_public:
        # An answer kept internal (for the representative to check first) is not on the page yet.
        return _("There is an answer to your concern: %(url)s", url=url)
    if action == "confirm":  # a confirmed concern always has its rating deadline
        return _("Please rate the answer to your concern by %(date)s: %(url)s", date=_date(concern), url=url)
    if action == "comment":
        return _("There is a new reply to your concern: %(url)s", url=url)
    return None


# -- Staff ----------------------------------------------------------------------------


def _staff_messages(concern: Concern, event: ConcernEvent) -> list[tuple[User, _Staff]]:
    """(user, message) pairs for the representative, the unit's handlers and the dispatcher."""
    action, number = event.action, concern.id
    rep = concern.assigned_rep.user if concern.assigned_rep is not None else None
    out: list[tuple[User, _Staff]] = []

    def details(*extra: str) -> tuple[str, ...]:
        lines = [_("Category: %(name)s", name=concern.category.name_zh)]
        note = _public_note(event)
        if note:
            lines.append(_("Note: %(note)s", note=note))
        return (*lines, *extra)

    if rep is not None:
        if action == "accept":
            line = _("Concern #%(number)d has been assigned to you.", number=number)
            out.append((rep, _Staff(line, details(_deadline_line(concern)))))
        elif action == "reply":
            line = _("The handling unit answered concern #%(number)d: please check the answer.", number=number)
            out.append((rep, _Staff(line, details(_deadline_line(concern)))))
        elif action == "return":
            line = _("The handling unit returned concern #%(number)d.", number=number)
            out.append((rep, _Staff(line, details())))
        elif action in ("reopen", "reopen_to_rep"):
            line = _("The resident was not satisfied: concern #%(number)d is handled again.", number=number)
            out.append((rep, _Staff(line, details(_deadline_line(concern)))))

    if action == "return":
        # Congress staff dispatched it and decide where it goes next.
        dispatcher = _last_actor(concern, "dispatch", before=event)
        if dispatcher is not None:
            line = _("The handling unit returned concern #%(number)d.", number=number)
            out.append((dispatcher, _Staff(line, details())))

    if action in ("dispatch", "send_back", "reopen") and concern.unit_id is not None:
        if action == "dispatch":
            line = _("Concern #%(number)d has been sent to your unit.", number=number)
        elif action == "send_back":
            line = _("The answer to concern #%(number)d was sent back for further handling.", number=number)
        else:
            line = _("The resident was not satisfied: concern #%(number)d is sent back to your unit.", number=number)
        message = _Staff(line, details(_deadline_line(concern)))
        out.extend((handler, message) for handler in _unit_handlers(concern.unit_id))
    return out


def _unit_handlers(unit_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.UNIT_HANDLER, User.unit_id == unit_id, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _last_actor(concern: Concern, action: str, *, before: ConcernEvent) -> User | None:
    earlier = [e for e in concern.events if e.action == action and e is not before and e.actor_id is not None]
    return earlier[-1].actor if earlier else None


# -- Text helpers ---------------------------------------------------------------------


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"]


def _public_note(event: ConcernEvent, limit: int | None = None) -> str:
    """The event's note when the resident may read it anyway; internal notes never leave."""
    if not event.is_public or not event.note:
        return ""
    note = " ".join(event.note.split())
    if limit is not None and len(note) > limit:
        note = note[: limit - 1] + "…"
    return note


def _date(concern: Concern) -> str:
    return to_local(concern.due_at).strftime("%Y-%m-%d")


def _deadline_line(concern: Concern) -> str:
    if concern.due_at is None:
        return ""
    return _("Deadline: %(when)s", when=to_local(concern.due_at).strftime("%Y-%m-%d %H:%M"))
