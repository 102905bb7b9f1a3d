"""Deadlines that come and go: reminders and escalations (`flask concerns remind`, cron).

A working day before the current stage's deadline (by the working-day calendar), whoever
must act in that stage is reminded; once the deadline has passed, the stage is escalated
to the congress staff above, with an internal event on the concern's timeline. Each goes
out once per stage: Concern.reminded_at and Concern.escalated_at mark it, and every step
of the loop clears both (services.concern_flow.transition).

Who must act, by status:
- submitted (定单): the station's managers; a station without one, the nearest congress staff;
- accepted (派单): the representative who took it up, and the nearest congress staff;
- dispatched (办单): the handling unit's active handlers;
- replied (督单): the representative who took it up (the station's managers without one).
"The nearest congress staff" are those of the lowest region above the station that has
any (permissions.overseer_levels). An escalation goes to them, or, when they were the ones
who had to act (accepted), to the next level above them that has staff. With nobody to
tell, a row that is never sent shows on the concern as not notified.

The marks are set by a compare-and-set UPDATE, not through the mapper: it does not bump
the concern's version (a staff member's open form stays valid), and of two runs at once
only one claims a concern, so nothing is sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import Concern, ConcernEvent, Outbox, Region, Representative, User, utcnow
from models.enums import ConcernAction
from models.enums import ConcernStatus as S
from services import notifications
from services.concern_flow import DEADLINE_STATUSES, STAGES, awaited_stage
from services.notifications import UNREACHABLE
from services.permissions import held_for, managers_clause, overseer_levels, staff_at_clause
from services.workdays import add_working_days

REMIND_WORKING_DAYS = 1


@dataclass
class Run:
    """What one run did: concerns reminded and escalated, and the messages it queued
    (`unreachable` of them are never sent: nobody to send them to)."""

    reminded: int = 0
    escalated: int = 0
    messages: int = 0
    unreachable: int = 0

    def count(self, rows: list[Outbox]) -> None:
        self.messages += len(rows)
        self.unreachable += sum(1 for row in rows if row.channel == UNREACHABLE)


def remind_until(now: datetime) -> datetime:
    """A reminder is due for a deadline up to the end of the next working day: that is,
    once the last working day before the deadline's day has come (a deadline on Monday is
    reminded on Friday, one after a long holiday on the last working day before it)."""
    return add_working_days(now, REMIND_WORKING_DAYS).due_at


def run(now: datetime | None = None) -> Run:
    """Escalate every stage past its deadline and remind every one due within a working
    day, each once. Flushes; the caller commits."""
    now = now or utcnow()
    done = Run()
    owed = Concern.status.in_(DEADLINE_STATUSES)
    overdue = sa.select(Concern).where(owed, Concern.due_at < now, Concern.escalated_at.is_(None))
    for concern in db.session.scalars(overdue.order_by(Concern.due_at, Concern.id)).all():
        if _claim(concern, Concern.escalated_at, now):
            done.count(_escalate(concern, now))
            done.escalated += 1
    upcoming = sa.select(Concern).where(
        owed, Concern.due_at >= now, Concern.due_at <= remind_until(now), Concern.reminded_at.is_(None)
    )
    for concern in db.session.scalars(upcoming.order_by(Concern.due_at, Concern.id)).all():
        if _claim(concern, Concern.reminded_at, now):
            done.count(_remind(concern))
            done.reminded += 1
    db.session.flush()
    return done


def _claim(concern: Concern, mark, now: datetime) -> bool:
    """Set `mark` if it is still unset for the stage this run read; False if another run
    (or a step of the loop) got there first."""
    claimed = db.session.execute(
        sa.update(Concern)
        .where(
            Concern.id == concern.id,
            Concern.status == concern.status,
            Concern.due_at == concern.due_at,
            mark.is_(None),
        )
        # updated_at stays: a reminder is not a change to the concern.
        .values({mark: now, Concern.updated_at: Concern.updated_at})
        .execution_options(synchronize_session=False, figures_unaffected=True)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        return False
    set_committed_value(concern, mark.key, now)
    return True


def _stage(concern: Concern) -> str:
    stage = awaited_stage(concern.status)
    return STAGES[stage][2] if stage is not None else ""


# --- who ------------------------------------------------------------------------------------


def _users(clause) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(clause).order_by(User.id)))


def _nearest_staff(concern: Concern, above: Region | None = None) -> tuple[Region | None, list[User]]:
    """The nearest level of congress staff over the concern's station (above `above`, when
    given), and who they are; (None, []) when there is none."""
    levels = overseer_levels(concern.station)
    if above is not None:
        levels = levels[[r.id for r in levels].index(above.id) + 1 :]
    staff = _users(staff_at_clause([r.id for r in levels]))
    for region in levels:
        here = [user for user in staff if user.region_id == region.id]
        if here:
            return region, here
    return None, []


def _rep_user(concern: Concern) -> list[User]:
    rep: Representative | None = concern.assigned_rep
    return [rep.user] if rep is not None and rep.user.active else []


def _must_act(concern: Concern) -> tuple[list[User], str]:
    """Whoever must act in the concern's current stage, and who that is in words (for the
    row never sent when there is nobody)."""
    station = concern.station.name
    if concern.status == S.SUBMITTED and held_for(concern) is not None and concern.addressed_rep is not None:
        # Written to one representative: theirs to take up or pass on.
        addressed = concern.addressed_rep
        users = [addressed.user] if addressed.user.active else []
        return users or _users(managers_clause(concern.station)), _("The representative %(name)s", name=addressed.name)
    if concern.status == S.SUBMITTED:
        managers = _users(managers_clause(concern.station))
        return managers or _nearest_staff(concern)[1], _("The managers of %(station)s", station=station)
    if concern.status == S.ACCEPTED:
        return _rep_user(concern) + _nearest_staff(concern)[1], _("Congress staff over %(station)s", station=station)
    if concern.status == S.DISPATCHED:
        unit = concern.unit.name if concern.unit is not None else "—"
        return notifications.unit_handlers(concern.unit_id or 0), _("The handlers of %(unit)s", unit=unit)
    return _rep_user(concern) or _users(managers_clause(concern.station)), _(
        "The representative of %(station)s", station=station
    )


def _above(concern: Concern) -> list[User]:
    """The congress staff an overdue stage is raised to: the nearest level over the station,
    or the one above it when that level had to act itself (派单)."""
    region, staff = _nearest_staff(concern)
    if concern.status == S.ACCEPTED and region is not None:
        return _nearest_staff(concern, above=region)[1]
    return staff


# --- what -----------------------------------------------------------------------------------


def _remind(concern: Concern) -> list[Outbox]:
    with force_locale(notifications.LOCALE):
        users, nobody = _must_act(concern)
        return notifications.queue_reminder(concern, _stage(concern), users, str(nobody))


def _escalate(concern: Concern, now: datetime) -> list[Outbox]:
    with force_locale(notifications.LOCALE):
        users = _above(concern)
        nobody = _("Congress staff above %(station)s", station=concern.station.name)
        rows = notifications.queue_escalation(concern, _stage(concern), users, nobody)
        if users:
            note = _("Raised to %(names)s.", names="、".join(user.display_name for user in users))
        else:
            note = _("Nobody above the station could be told: there is no congress staff account over it.")
    # The trail of the loop, staff only; added by the foreign key, not to concern.events,
    # so that the concern itself is not flushed (see the module's docstring).
    db.session.add(
        ConcernEvent(
            concern_id=concern.id,
            action=ConcernAction.ESCALATE,
            from_status=concern.status,
            to_status=concern.status,
            note=f"{_stage(concern)} · {note}",
            is_public=False,
            created_at=now,
        )
    )
    return rows
