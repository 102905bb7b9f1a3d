"""Which notifications a concern event causes, and what they say.

`queue_for_event` is called by the workflow engine after every step whose row has a
`notice` (services/concern_flow.py says which step tells whom what). It only adds Outbox
rows to the session: they are committed, or rolled back, with the change that caused
them, and services/outbox.py sends them later.

Who hears what:
- the resident, by SMS to the mobile they gave (never when anonymous): taken up, not
  accepted (with the public reason), merged, a public answer is ready, please rate, a
  new public reply;
- the assigned representative: assigned to you by someone else, the unit answered (督单),
  the unit returned it, the resident reopened it;
- the handling unit's active handlers: sent to your unit, sent back, reopened;
- whoever dispatched it, when the unit returns it;
- from `flask concerns remind` (services.triage): whoever must act in the current stage, a
  working day before its deadline; the congress staff above, once it is past.
Staff get an e-mail when their account has an address, else an SMS; with neither, a row
that is never sent, so the concern shows who was not told. Nobody hears about their own
action. Messages to staff never carry the resident's contact data or internal notes: they
name the concern by its tracking code, as staff read it out, and send people to sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from extensions import db
from models import Concern, ConcernEvent, Outbox, User
from models.enums import ConcernAction, OutboxStatus, Role
from services.clock import to_local
from services.codes import format_tracking_code
from services.outbox import mask_recipient

LOCALE = "zh_Hans"  # residents and staff read Simplified Chinese
SMS_NOTE_CHARS = 30  # an SMS segment holds 70 Chinese characters; the page has the rest
UNREACHABLE = "none"  # Outbox.channel of a staff member who has no e-mail or mobile


@dataclass(frozen=True)
class Notice:
    """What a step of the loop tells whom: its row's `notice` (services.concern_flow).

    `kind` is Outbox.kind. The resident's text takes %(url)s, %(date)s (the rating
    deadline) and, in `resident_with_reason`, %(reason)s (the public note); `resident_if_public`
    holds it back when the step's note is internal. The staff texts take %(code)s (the
    tracking code as displayed); the assigned representative (`rep`), the unit's active
    handlers (`unit`, when the concern has one) and whoever dispatched it (`dispatcher`)
    each get theirs, with the deadline unless `deadline` is False."""

    kind: str
    resident: Any = None
    resident_with_reason: Any = None
    resident_if_public: bool = False
    rep: Any = None
    unit: Any = None
    dispatcher: Any = None
    deadline: bool = True


@dataclass(frozen=True)
class _Staff:
    """What to tell a staff member: one line (SMS text and e-mail subject), plus details
    for the e-mail body."""

    line: str
    details: tuple[str, ...] = ()
    deadline: str = ""  # also in the SMS, which has room for little else


def queue_for_event(concern: Concern, event: ConcernEvent, spec) -> list[Outbox]:
    """Add the Outbox rows `event` causes (spec.notice) to the session, no flush, no
    commit, and return them."""
    notice: Notice | None = spec.notice
    if notice is None:
        return []
    rows: list[Outbox] = []
    with force_locale(LOCALE):
        text = _resident_sms(concern, event, notice)
        if text and concern.contact_mobile and not concern.is_anonymous:
            rows.append(_row("sms", concern.contact_mobile, "", text, notice.kind, concern))
        told: set[int] = set() if event.actor_id is None else {event.actor_id}
        for user, message in _staff_messages(concern, event, notice):
            if user.id in told or not user.active:
                continue
            told.add(user.id)
            rows.append(_staff_row(user, message, notice.kind, concern))
    db.session.add_all(rows)
    return rows


def not_reached(concern: Concern) -> list[Outbox]:
    """This concern's notifications that did not go out: nobody to send to, or sending
    failed for good. Staff see them on the concern, to tell those people another way."""
    return list(
        db.session.scalars(
            sa.select(Outbox)
            .where(Outbox.concern_id == concern.id, Outbox.status == OutboxStatus.FAILED)
            .order_by(Outbox.id)
        )
    )


def told_whom(rows: list[Outbox]) -> str:
    """Who a step's notifications reach and how, in the viewer's language, for the message
    after pressing it: never a claim that someone was told when nobody could be."""
    reached = [
        _("%(recipient)s by e-mail", recipient=mask_recipient(r.recipient))
        if r.channel == "email"
        else _("%(recipient)s by SMS", recipient=mask_recipient(r.recipient))
        for r in rows
        if r.channel != UNREACHABLE
    ]
    missed = [r.recipient for r in rows if r.channel == UNREACHABLE]
    parts = [_("Notified: %(whom)s.", whom=", ".join(reached))] if reached else [_("Nobody was notified.")]
    if missed:
        parts.append(
            _(
                "Not notified, their account has no e-mail address or mobile number: %(names)s. "
                "Please tell them another way.",
                names=", ".join(missed),
            )
        )
    return " ".join(parts)


def _row(channel: str, recipient: str, subject: str, body: str, kind: str, concern: Concern) -> Outbox:
    return Outbox(channel=channel, recipient=recipient, subject=subject, body=body, kind=kind, concern_id=concern.id)


def _staff_row(user: User, message: _Staff, kind: str, concern: Concern) -> Outbox:
    """By e-mail when the account has an address, else by SMS; with neither, a row that is
    never sent but shows staff who could not be told (on the concern, in `flask outbox status`)."""
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
        text = " ".join(filter(None, (message.line, message.deadline, link)))
        return _row("sms", user.mobile, "", text, kind, concern)
    return _unreachable(
        f"{user.display_name} ({user.username})", message.line, kind, concern, "no e-mail address or mobile number"
    )


def _unreachable(who: str, line: str, kind: str, concern: Concern, error: str) -> Outbox:
    """A row never sent: whom it was meant for, shown on the concern as not notified."""
    row = _row(UNREACHABLE, who, line, line, kind, concern)
    row.status, row.last_error = OutboxStatus.FAILED, error
    return row


# -- Scheduled: reminders and escalations (services.triage decides who) -----------------

REMINDER = "concern.reminder"
ESCALATION = "concern.escalated"


def queue_reminder(concern: Concern, stage: str, users: list[User], nobody: str) -> list[Outbox]:
    """Tell `users` (whoever must act in the current stage) that its deadline is a working
    day away. With nobody to tell, one row never sent, meant for `nobody` (a description)."""
    with force_locale(LOCALE):
        line = _(
            "Reminder: concern %(code)s (%(stage)s) is due by %(when)s.",
            code=format_tracking_code(concern.tracking_code),
            stage=stage,
            when=_when(concern),
        )
        return _queue_scheduled(concern, REMINDER, line, users, nobody, "nobody to remind")


def queue_escalation(concern: Concern, stage: str, users: list[User], nobody: str) -> list[Outbox]:
    """Tell the congress staff above (`users`) that the current stage is past its deadline."""
    with force_locale(LOCALE):
        line = _(
            "Overdue: concern %(code)s at %(station)s (%(stage)s) was due by %(when)s. Please follow it up.",
            code=format_tracking_code(concern.tracking_code),
            station=concern.station.name,
            stage=stage,
            when=_when(concern),
        )
        return _queue_scheduled(concern, ESCALATION, line, users, nobody, "no congress staff above the station")


def _queue_scheduled(concern: Concern, kind: str, line: str, users: list[User], nobody: str, error: str):
    message = _Staff(line, (_("Category: %(name)s", name=concern.category.name_zh), _deadline_line(concern)))
    rows = [_staff_row(user, message, kind, concern) for user in users if user.active]
    if not rows:
        rows = [_unreachable(nobody, line, kind, concern, error)]
    db.session.add_all(rows)
    return rows


def _when(concern: Concern) -> str:
    return to_local(concern.due_at).strftime("%Y-%m-%d %H:%M") if concern.due_at is not None else ""


# -- The resident ---------------------------------------------------------------------


def _resident_sms(concern: Concern, event: ConcernEvent, notice: Notice) -> str | None:
    if notice.resident is None or (notice.resident_if_public and not event.is_public):
        return None
    params = {"url": f"{_base_url()}/t/{concern.tracking_code}"}
    reason = _public_note(event, SMS_NOTE_CHARS)
    if reason and notice.resident_with_reason is not None:
        return str(notice.resident_with_reason) % {**params, "reason": reason}
    if concern.due_at is not None:
        params["date"] = _date(concern)
    return str(notice.resident) % params


# -- Staff ----------------------------------------------------------------------------


def _staff_messages(concern: Concern, event: ConcernEvent, notice: Notice) -> list[tuple[User, _Staff]]:
    """(user, message) pairs for the representative, the dispatcher and the unit's handlers."""
    params = {"code": format_tracking_code(concern.tracking_code)}
    lines = [_("Category: %(name)s", name=concern.category.name_zh)]
    note = _public_note(event)
    if note:
        lines.append(_("Note: %(note)s", note=note))
    deadline = _deadline_line(concern) if notice.deadline else ""

    def staff(text) -> _Staff:
        return _Staff(str(text) % params, (*lines, deadline), deadline)

    out: list[tuple[User, _Staff]] = []
    if notice.rep is not None and concern.assigned_rep is not None:
        out.append((concern.assigned_rep.user, staff(notice.rep)))
    if notice.dispatcher is not None:
        dispatcher = _last_actor(concern, ConcernAction.DISPATCH, before=event)
        if dispatcher is not None:
            out.append((dispatcher, staff(notice.dispatcher)))
    if notice.unit is not None and concern.unit_id is not None:
        message = staff(notice.unit)
        out.extend((handler, message) for handler in unit_handlers(concern.unit_id))
    return out


def unit_handlers(unit_id: int) -> list[User]:
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
    return to_local(concern.due_at).strftime("%Y-%m-%d") if concern.due_at is not None else ""


def _deadline_line(concern: Concern) -> str:
    if concern.due_at is None:
        return ""
    return _("Deadline: %(when)s", when=to_local(concern.due_at).strftime("%Y-%m-%d %H:%M"))
