"""Which notifications a concern event causes, and what they say.

`queue_for_event` is called by the workflow engine after every step whose row has a
`notice` (services/concern_flow.py says which step tells whom what). It only adds Outbox
rows to the session: they are committed, or rolled back, with the change that caused
them, and services/outbox.py sends them later.

Who hears what:
- the resident, by SMS to the mobile they gave (never when anonymous): taken up, not
  accepted (with the public reason), merged, a public answer is ready, please rate, a
  new public reply; the residents of concerns merged into it hear the same, each with
  the link to their own tracking page (which follows this concern). Held back when the
  number's owner said stop, and past one a day while nobody has confirmed the number
  (services/resident_mobile.py);
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
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from extensions import db
from models import Booking, Concern, ConcernEvent, Outbox, ReportMeeting, Representative, User, utcnow
from models.enums import ConcernAction, OutboxStatus, Role
from services import audit, resident_mobile
from services.clock import to_local
from services.codes import format_tracking_code
from services.merges import followers
from services.outbox import mask_recipient
from services.permissions import concern_scope, managers_clause, staff_at_clause

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
    managers: Any = None  # the station's active managers
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
        told_mobiles: set[str] = set()
        # The resident, and the residents of concerns merged into this one: each with a
        # link to their own tracking page, which follows this concern.
        for resident in (concern, *followers(concern)):
            text = _resident_sms(concern, event, notice, code=resident.tracking_code)
            mobile = resident.contact_mobile
            if text and mobile and not resident.is_anonymous and mobile not in told_mobiles:
                told_mobiles.add(mobile)
                rows.append(resident_mobile.queue_resident_sms(mobile, text, kind=notice.kind, concern_id=resident.id))
        told: set[int] = set() if event.actor_id is None else {event.actor_id}
        for user, message in _staff_messages(concern, event, notice):
            if user is None:  # a unit with no active handler account
                unit_name = concern.unit.name if concern.unit else ""
                rows.append(
                    _unreachable(unit_name, message.line, notice.kind, concern, "the unit has no active handler")
                )
                continue
            if user.id in told or not user.active:
                continue
            told.add(user.id)
            rows.append(_staff_row(user, message, notice.kind, concern))
    db.session.add_all(rows)
    return rows


def not_reached(concern: Concern) -> list[Outbox]:
    """This concern's notifications that did not go out: nobody to send to, sending failed
    for good, held back, or a resident's SMS put off to a later morning (still waiting).
    Staff see them on the concern, to tell those people another way."""
    failed = sa.and_(Outbox.status == OutboxStatus.FAILED, Outbox.last_error != resident_mobile.SUPERSEDED)
    waiting = sa.and_(Outbox.status == OutboxStatus.PENDING, Outbox.last_error == resident_mobile.DEFERRED)
    return list(
        db.session.scalars(
            sa.select(Outbox).where(Outbox.concern_id == concern.id, sa.or_(failed, waiting)).order_by(Outbox.id)
        )
    )


NOT_SENT_PAGE = 50

# Why a row was never sent (Outbox.last_error of an unreachable row), as staff read it.
WHY_NOT_SENT = {
    "no e-mail address or mobile number": _l("no e-mail address or mobile number on the account"),
    "the unit has no active handler": _l("the unit has no active handler account"),
    resident_mobile.HELD_OPTED_OUT: _l("the owner of the number asked for no more SMS."),
    resident_mobile.HELD_DAILY_CAP: _l("the number is not confirmed and already had its one SMS today."),
}


@dataclass(frozen=True)
class NotSentPage:
    rows: list[tuple[Outbox, Concern]]
    next_before: int | None  # the cursor of the next page, if there is one


def _not_sent_in_scope(viewer: User, *, handled: bool) -> list[sa.ColumnElement[bool]]:
    """The SQL twin of needs_telling, for the concerns in `viewer`'s scope (joined), not yet
    dealt with or (`handled`) already told another way."""
    return [
        Outbox.status == OutboxStatus.FAILED,
        Outbox.last_error.not_in(resident_mobile.HELD),
        concern_scope(viewer),
        Outbox.handled_at.is_not(None) if handled else Outbox.handled_at.is_(None),
    ]


def not_sent(viewer: User, *, handled: bool = False, before: int | None = None) -> NotSentPage:
    """Notifications that did not go out, for the concerns in `viewer`'s scope, newest
    first: the ones nobody has dealt with yet, or (`handled`) those already told another way.
    A resident's SMS held back by their own choice or the daily cap is not staff's to chase."""
    query = (
        sa.select(Outbox, Concern)
        .join(Concern, Outbox.concern_id == Concern.id)
        .where(*_not_sent_in_scope(viewer, handled=handled))
        .order_by(Outbox.id.desc())
        .limit(NOT_SENT_PAGE + 1)
    )
    if before is not None:
        query = query.where(Outbox.id < before)
    found = [(row.Outbox, row.Concern) for row in db.session.execute(query)]
    more = len(found) > NOT_SENT_PAGE
    found = found[:NOT_SENT_PAGE]
    return NotSentPage(found, found[-1][0].id if more else None)


def count_not_sent(viewer: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .join(Concern, Outbox.concern_id == Concern.id)
            .where(*_not_sent_in_scope(viewer, handled=False))
        )
        or 0
    )


def mark_handled(row: Outbox, actor: User) -> None:
    """Staff told the recipient another way: the row leaves the list, and the concern
    page says who dealt with it. Saying it twice changes nothing."""
    if not needs_telling(row) or row.handled_at is not None:
        return
    row.handled_at, row.handled_by_id = utcnow(), actor.id
    audit.log(actor, "notification.handled", row, concern_id=row.concern_id, kind=row.kind)


def needs_telling(row: Outbox) -> bool:
    """It did not go out, and staff should tell the person another way."""
    return row.status == OutboxStatus.FAILED and row.last_error not in resident_mobile.HELD


def why_not_sent(row: Outbox) -> str:
    """The reason in the viewer's language; a sender's own error as it came."""
    if row.last_error == resident_mobile.DEFERRED and row.status == OutboxStatus.PENDING:
        return _(
            "the number is not confirmed and already had its SMS that day: it goes out at %(when)s.",
            when=format_datetime(row.next_attempt_at, "M/d HH:mm"),
        )
    reason = WHY_NOT_SENT.get(row.last_error)
    return str(reason) if reason is not None else row.last_error


def told_whom(rows: list[Outbox]) -> str:
    """Who a step's notifications reach and how, in the viewer's language, for the message
    after pressing it: never a claim that someone was told when nobody could be."""
    reached = [
        _("%(recipient)s by e-mail", recipient=mask_recipient(r.recipient))
        if r.channel == "email"
        else _("%(recipient)s by SMS", recipient=mask_recipient(r.recipient))
        for r in rows
        if r.channel != UNREACHABLE and r.last_error not in (*resident_mobile.HELD, resident_mobile.DEFERRED)
    ]
    missed = [r.recipient for r in rows if r.channel == UNREACHABLE]
    held = [r for r in rows if r.last_error in (*resident_mobile.HELD, resident_mobile.DEFERRED)]
    parts = [_("Notified: %(whom)s.", whom=", ".join(reached))] if reached else [_("Nobody was notified.")]
    parts.extend(
        _(
            "The resident (%(recipient)s) was not sent an SMS now: %(reason)s",
            recipient=mask_recipient(r.recipient),
            reason=why_not_sent(r),
        )
        for r in held
    )
    if missed:
        parts.append(
            _(
                "Not notified, with no e-mail address or mobile number, or no handler account: %(names)s. "
                "Please tell them another way.",
                names=", ".join(missed),
            )
        )
    return " ".join(parts)


def _row(
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    kind: str,
    concern: Concern | None,
    *,
    booking_id: int | None = None,
) -> Outbox:
    return Outbox(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        kind=kind,
        concern_id=concern.id if concern is not None else None,
        booking_id=booking_id,
    )


def _staff_row(user: User, message: _Staff, kind: str, concern: Concern) -> Outbox:
    """By e-mail when the account has an address, else by SMS; with neither, a row that is
    never sent but shows staff who could not be told (on the concern, in `flask outbox status`)."""
    link = _("Sign in to handle it: %(url)s", url=f"{_base_url()}/manage/concerns/{concern.id}")
    return _staff_row_with(user, message, kind, link, concern)


def _staff_row_with(
    user: User, message: _Staff, kind: str, link: str, concern: Concern | None, *, booking_id: int | None = None
) -> Outbox:
    if user.email:
        blocks = [
            message.line,
            "\n".join(filter(None, message.details)),
            link,
            _("This message was sent automatically."),
        ]
        body = "\n\n".join(filter(None, blocks))
        return _row("email", user.email, message.line, body, kind, concern, booking_id=booking_id)
    if user.mobile:
        text = " ".join(filter(None, (message.line, message.deadline, link)))
        return _row("sms", user.mobile, "", text, kind, concern, booking_id=booking_id)
    return _unreachable(
        f"{user.display_name} ({user.username})",
        message.line,
        kind,
        concern,
        "no e-mail address or mobile number",
        booking_id=booking_id,
    )


def _unreachable(
    who: str, line: str, kind: str, concern: Concern | None, error: str, *, booking_id: int | None = None
) -> Outbox:
    """A row never sent: it shows staff, on the concern and in the list of notifications
    not sent, whom to tell another way."""
    row = _row(UNREACHABLE, who, line, line, kind, concern, booking_id=booking_id)
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


def _resident_sms(concern: Concern, event: ConcernEvent, notice: Notice, *, code: str) -> str | None:
    if notice.resident is None or (notice.resident_if_public and not event.is_public):
        return None
    params = {"url": f"{_base_url()}/t/{code}"}
    reason = _public_note(event, SMS_NOTE_CHARS)
    if reason and notice.resident_with_reason is not None:
        return str(notice.resident_with_reason) % {**params, "reason": reason}
    if concern.due_at is not None:
        params["date"] = _date(concern)
    return str(notice.resident) % params


# -- Staff ----------------------------------------------------------------------------


def _staff_messages(concern: Concern, event: ConcernEvent, notice: Notice) -> list[tuple[User | None, _Staff]]:
    """(user, message) pairs for the representative, the dispatcher and the unit's handlers;
    (None, message) for a unit that has no active handler to tell."""
    params = {"code": format_tracking_code(concern.tracking_code)}
    lines = [_("Category: %(name)s", name=concern.category.name_zh)]
    note = _public_note(event)
    if note:
        lines.append(_("Note: %(note)s", note=note))
    deadline = _deadline_line(concern) if notice.deadline else ""

    def staff(text) -> _Staff:
        return _Staff(str(text) % params, (*lines, deadline), deadline)

    out: list[tuple[User | None, _Staff]] = []
    if notice.rep is not None and concern.assigned_rep is not None:
        out.append((concern.assigned_rep.user, staff(notice.rep)))
    if notice.dispatcher is not None:
        dispatcher = _last_actor(concern, ConcernAction.DISPATCH, before=event)
        if dispatcher is not None:
            out.append((dispatcher, staff(notice.dispatcher)))
    if notice.managers is not None:
        message = staff(notice.managers)
        out.extend((manager, message) for manager in _station_managers(concern))
    if notice.unit is not None and concern.unit_id is not None:
        message = staff(notice.unit)
        handlers: list[User | None] = list(unit_handlers(concern.unit_id))
        out.extend((handler, message) for handler in handlers or [None])
    return out


def _station_managers(concern: Concern) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(managers_clause(concern.station)).order_by(User.id)))


WRITTEN_TO_REP = "concern.written_to_rep"


def queue_written_to_rep(concern: Concern) -> list[Outbox]:
    """Tell the representative a resident wrote to (/r/<code>) that the concern waits for
    them: to take it up, or to pass it to the station."""
    rep = concern.addressed_rep
    if rep is None or not rep.user.active:
        return []
    with force_locale(LOCALE):
        line = _(
            "A resident wrote to you: concern %(code)s. Please take it up or pass it to the station.",
            code=format_tracking_code(concern.tracking_code),
        )
        message = _Staff(line, (_("Category: %(name)s", name=concern.category.name_zh), _deadline_line(concern)))
        row = _staff_row(rep.user, message, WRITTEN_TO_REP, concern)
    db.session.add(row)
    return [row]


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


# -- Booked visits (预约接待, services.bookings) ------------------------------------------

BOOKING_REMINDER = "booking.reminder"
BOOKING_REP_REMINDER = "booking.rep_reminder"
BOOKING_CALLED_OFF = "booking.called_off"
BOOKING_REP_CALLED_OFF = "booking.rep_called_off"


def _visit_when(booking: Booking) -> str:
    return f"{booking.day.month}月{booking.day.day}日 {booking.starts_at:%H:%M}–{booking.ends_at:%H:%M}"


def queue_booking_reminder(booking: Booking, now: datetime | None = None) -> Outbox | None:
    """The day before: the resident's SMS (through the cap and the stop of every resident
    SMS), with the link to cancel. None when the booking keeps no number (erased)."""
    if not booking.mobile:
        return None
    with force_locale(LOCALE):
        text = _(
            "Reminder: your visit to %(station)s is booked for %(when)s. Cannot come? Cancel at %(url)s",
            station=booking.station.name,
            when=_visit_when(booking),
            url=f"{_base_url()}/b/{booking.code}",
        )
    row = resident_mobile.queue_resident_sms(booking.mobile, text, kind=BOOKING_REMINDER, now=now)
    row.booking_id = booking.id
    return row


def queue_rep_booking_reminder(
    booking: Booking, count: int, now: datetime | None = None, *, rep: Representative | None = None
) -> list[Outbox]:
    """The day before: the representative of the slot (`rep`: one of a reception day's)
    hears how many residents booked it."""
    rep = rep or booking.representative
    if rep is None or not rep.user.active:
        return []
    with force_locale(LOCALE):
        line = _(
            "Reminder: %(n)d resident(s) booked a visit with you at %(station)s on %(when)s.",
            n=count,
            station=booking.station.name,
            when=_visit_when(booking),
        )
        link = _("Sign in to see them: %(url)s", url=f"{_base_url()}/me")
        row = _staff_row_with(rep.user, _Staff(line), BOOKING_REP_REMINDER, link, None, booking_id=booking.id)
    if now is not None:
        row.created_at = row.next_attempt_at = now
    db.session.add(row)
    return [row]


def queue_booking_called_off(booking: Booking) -> Outbox | None:
    """The station called the visit off (the slot was removed, or its bookings cancelled)."""
    if not booking.mobile:
        return None
    with force_locale(LOCALE):
        text = _(
            "Sorry: %(station)s had to cancel your visit on %(when)s. Please book another time at %(url)s",
            station=booking.station.name,
            when=_visit_when(booking),
            url=f"{_base_url()}/s/{booking.station.code}/book",
        )
    row = resident_mobile.queue_resident_sms(booking.mobile, text, kind=BOOKING_CALLED_OFF)
    row.booking_id = booking.id
    return row


def queue_rep_called_off(
    booking: Booking, count: int, actor: User | None, *, rep: Representative | None = None
) -> list[Outbox]:
    """The slot's representative (`rep`: one of a reception day's) hears that its bookings
    were called off (not when they did it)."""
    rep = rep or booking.representative
    if rep is None or not rep.user.active or (actor is not None and actor.id == rep.user.id):
        return []
    with force_locale(LOCALE):
        line = _(
            "The station cancelled %(n)d booked visit(s) with you at %(station)s on %(when)s.",
            n=count,
            station=booking.station.name,
            when=_visit_when(booking),
        )
        link = _("Sign in to see your roster: %(url)s", url=f"{_base_url()}/me")
        row = _staff_row_with(rep.user, _Staff(line), BOOKING_REP_CALLED_OFF, link, None, booking_id=booking.id)
    db.session.add(row)
    return [row]


# --- 述职 meetings (services.meetings) -----------------------------------------------------

MEETING_NEWS = "meeting.news"
_MEETING_LINES = {
    "scheduled": _l(
        "You are to present your %(year)d annual report at %(station)s on %(when)s; residents will rate it."
    ),
    "moved": _l("Your %(year)d annual report meeting at %(station)s is moved to %(when)s."),
    "cancelled": _l("Your %(year)d annual report meeting at %(station)s on %(when)s is cancelled."),
}


def _meeting_when(meeting: ReportMeeting) -> str:
    start, end = to_local(meeting.starts_at), to_local(meeting.ends_at)
    return f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}"


def queue_meeting_news(meeting: ReportMeeting, actor: User | None, what: str) -> list[Outbox]:
    """The representative hears that their 述职 meeting was scheduled, moved or cancelled
    (`what`), unless they did it themselves or their account is switched off."""
    rep = meeting.representative
    if not rep.user.active or (actor is not None and actor.id == rep.user.id):
        return []
    with force_locale(LOCALE):
        line = str(_MEETING_LINES[what]) % {
            "year": meeting.year,
            "station": meeting.station.name,
            "when": _meeting_when(meeting),
        }
        link = _("Sign in to see your annual report: %(url)s", url=f"{_base_url()}/me/report/{meeting.year}")
        row = _staff_row_with(rep.user, _Staff(line), MEETING_NEWS, link, None)
    db.session.add(row)
    return [row]


# -- Representatives' suggestions (services.suggestion_flow) ------------------------------


@dataclass(frozen=True)
class SuggestionNotice:
    """What a step of a suggestion tells whom: its row's `notice` (services.suggestion_flow).
    Each text takes %(title)s; `units` go to the active handlers of the lead unit and the
    co-units, `lead` to the lead unit's alone, `author` and `signers` to the representatives,
    `staff` to the active congress staff of the suggestion's region."""

    kind: str
    units: Any = None
    lead: Any = None
    author: Any = None
    signers: Any = None
    staff: Any = None


def queue_for_suggestion(suggestion, event, spec) -> list[Outbox]:
    """Add the Outbox rows a suggestion's step causes (spec.notice) to the session and
    return them. Representatives read their suggestion under /me, staff and units in the
    back office; the messages carry the title only, never a note."""
    notice: SuggestionNotice | None = spec.notice
    if notice is None:
        return []
    out: list[tuple[User, Any, str]] = []
    manage = f"{_base_url()}/manage/suggestions/{suggestion.id}"
    mine = f"{_base_url()}/me/suggestions/{suggestion.id}"
    if notice.author is not None:
        out.append((suggestion.author.user, notice.author, mine))
    if notice.signers is not None:
        out.extend((s.representative.user, notice.signers, mine) for s in suggestion.signers)
    unit_ids: list[int] = []
    if notice.lead is not None and suggestion.lead_unit_id is not None:
        unit_ids = [suggestion.lead_unit_id]
    if notice.units is not None:
        unit_ids = [u for u in [suggestion.lead_unit_id, *(c.unit_id for c in suggestion.co_units)] if u is not None]
    text = notice.units if notice.units is not None else notice.lead
    for unit_id in unit_ids:
        out.extend((handler, text, manage) for handler in unit_handlers(unit_id))
    if notice.staff is not None:
        staff = db.session.scalars(sa.select(User).where(staff_at_clause([suggestion.region_id])).order_by(User.id))
        out.extend((user, notice.staff, manage) for user in staff)
    rows: list[Outbox] = []
    told: set[int] = set() if event.actor_id is None else {event.actor_id}
    with force_locale(LOCALE):
        for user, message, url in out:
            if user.id in told or not user.active:
                continue
            told.add(user.id)
            line = str(message) % {"title": suggestion.title}
            link = _("Sign in to see it: %(url)s", url=url)
            rows.append(_staff_row_with(user, _Staff(line), notice.kind, link, None))
    db.session.add_all(rows)
    return rows


# -- 民生实事项目票决 (services.votes) -------------------------------------------------------------

BALLOT_OPEN = "vote.ballot_open"


def queue_ballot_open(vote, reps: list[Representative], round_) -> list[Outbox]:
    """Each representative who votes hears when and where: the vote's period, or that the
    satisfaction evaluation of the chosen projects is open."""
    from models.enums import BallotRound

    rows = []
    with force_locale(LOCALE):
        if round_ == BallotRound.VOTE:
            line = _(
                "%(title)s: please vote on the candidate projects from %(first)s to %(last)s.",
                title=vote.title,
                first=vote.voting_opens_on.isoformat(),
                last=vote.voting_closes_on.isoformat(),
            )
        else:
            line = _("%(title)s: please rate the chosen projects (satisfaction evaluation).", title=vote.title)
        link = _("Sign in to vote: %(url)s", url=f"{_base_url()}/me/votes")
        for rep in reps:
            row = _staff_row_with(rep.user, _Staff(line), BALLOT_OPEN, link, None)
            db.session.add(row)
            rows.append(row)
    return rows


# -- Drafts of laws put out for comment (立法意见征集, services.drafts) --------------------------

DRAFT_CLOSED = "draft.closed"


def queue_draft_closed(title: str, code: str, mobile: str, now: datetime | None = None) -> Outbox:
    """A draft closed for comment: a resident who left a number hears where to read what
    became of their comments (their code's page)."""
    with force_locale(LOCALE):
        text = _(
            "Comments on 《%(title)s》 have closed. Thank you for taking part. What became of yours: %(url)s",
            title=title.strip("《》 "),
            url=f"{_base_url()}/c/{code}",
        )
    return resident_mobile.queue_resident_sms(mobile, text, kind=DRAFT_CLOSED, now=now)
