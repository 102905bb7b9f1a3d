"""Duties as the figures see them: one line per duty, one counter that adds lines up.

The representative's performance file and annual report (services.reports) and the
manager's attendance review (services.attendance) both build their lines here and only
aggregate them, so they cannot disagree about a duty.

Each duty stands in exactly one way (`standing`):

- counted: checked out (closed), and either recorded with the station's presence proof
  or confirmed by the manager, before or after the check-out;
- pending: recorded without the proof and neither confirmed nor voided yet, whether
  still open or checked out: it waits for the manager;
- open: still on duty (with the proof, or already confirmed): it has not ended, so it
  counts no minutes yet; it counts once checked out;
- auto_closed: left open and closed by `flask duty close-stale`: not full duty, and not
  waiting for confirmation (the manager may only void it);
- voided: voided by the manager, with a reason: it stays in the record, uncounted.

Minutes, residents received and concerns filed count only for counted duties.
"""

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from extensions import db
from models import Concern, Duty
from models.enums import DutyStatus
from services.clock import to_local


class Standing(StrEnum):
    COUNTED = "counted"
    PENDING = "pending"
    OPEN = "open"
    AUTO_CLOSED = "auto_closed"
    VOIDED = "voided"


def standing(duty: Duty) -> Standing:
    """How a duty stands in the figures (the module docstring has the rule)."""
    if duty.status == DutyStatus.VOIDED:
        return Standing.VOIDED
    if duty.status == DutyStatus.AUTO_CLOSED:
        return Standing.AUTO_CLOSED
    if duty.pending_reason and duty.confirmed_by_id is None:
        return Standing.PENDING
    if duty.status == DutyStatus.OPEN:
        return Standing.OPEN
    return Standing.COUNTED


def counts(duty: Duty) -> bool:
    """Whether a duty counts as full duty."""
    return standing(duty) is Standing.COUNTED


def is_pending(duty: Duty) -> bool:
    """Whether a duty waits for the manager to confirm or void it."""
    return standing(duty) is Standing.PENDING


@dataclass
class DutyLine:
    duty: Duty
    standing: Standing
    local_in: datetime
    local_out: datetime | None
    ends_at: datetime  # naive UTC: the check-out, or now for an open duty
    minutes: int  # its length (so far, for an open duty); counted only when `counted`
    concerns: list[str] = field(default_factory=list)  # tracking codes of concerns filed during it
    in_slot: bool = False  # the attendance review: overlapped a roster slot of its representative

    @property
    def counted(self) -> bool:
        return self.standing is Standing.COUNTED

    @property
    def pending(self) -> bool:
        return self.standing is Standing.PENDING


def duty_lines(duties: list[Duty], now: datetime) -> list[DutyLine]:
    """The duties' lines, in the order given, with their concerns (one query)."""
    codes: dict[int, list[str]] = {}
    if duties:
        for duty_id, code in db.session.execute(
            sa.select(Concern.duty_id, Concern.tracking_code)
            .where(Concern.duty_id.in_([d.id for d in duties]))
            .order_by(Concern.id)
        ):
            codes.setdefault(duty_id, []).append(code)
    lines = []
    for d in duties:
        ends_at = d.checked_out_at or now
        lines.append(
            DutyLine(
                duty=d,
                standing=standing(d),
                local_in=to_local(d.checked_in_at),
                local_out=to_local(d.checked_out_at) if d.checked_out_at else None,
                ends_at=ends_at,
                minutes=max(0, int((ends_at - d.checked_in_at).total_seconds() // 60)),
                concerns=codes.get(d.id, []),
            )
        )
    return lines


@dataclass
class Tally:
    """The one counter of duty lines."""

    duties: int = 0  # counted duties
    minutes: int = 0
    residents: int = 0
    concerns: int = 0
    pending: int = 0
    auto_closed: int = 0

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    def add(self, line: DutyLine) -> None:
        if line.counted:
            self.duties += 1
            self.minutes += line.minutes
            self.residents += line.duty.residents_received
            self.concerns += len(line.concerns)
        elif line.pending:
            self.pending += 1
        elif line.standing is Standing.AUTO_CLOSED:
            self.auto_closed += 1

    def merge(self, other: "Tally") -> None:
        """Add another counter's figures (all of `other`'s fields) to this one."""
        for f in fields(other):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
