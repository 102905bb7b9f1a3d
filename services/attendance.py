"""The attendance review of one station and one month: scheduled vs attended vs missed
vs pending, for the station manager (and congress staff) to check and export.

The figures, per representative:

- scheduled: roster slots at the station in the month;
- attended: slots that a duty at the station overlapped and that counts as full duty
  (services.duty_lines), plus counted duties that overlapped no slot at all;
- missed: slots that have ended with no overlapping duty (voided duties do not rescue
  a slot); a slot covered only by a pending, open or auto-closed duty is neither
  attended nor missed, it shows under those columns;
- pending, auto-closed, hours and residents received: the one counter of duty lines
  (services.duty_lines.Tally), as in the representative's performance file.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import CheckInAttempt, Duty, DutySlot, Representative, Station, utcnow
from models.enums import DutyStatus
from services.clock import month_bounds, utc_at
from services.duty_lines import DutyLine, Tally, duty_lines
from services.stations import LEVEL_ORDER

# Short labels for the reason codes of refused and pending check-ins (services.duty).
REASON_LABELS = {
    "location_unavailable": _l("Location not shared"),
    "too_far": _l("Too far from the station"),
    "kiosk_required": _l("No tablet code"),
    "kiosk_invalid": _l("Invalid tablet code"),
    "kiosk_expired": _l("Expired tablet code"),
    "kiosk_used": _l("Tablet code already used"),
    "station_inactive": _l("Station inactive"),
    "already_open": _l("Already on duty elsewhere"),
    "bad_nonce": _l("Incomplete page"),
    "nonce_reused": _l("Incomplete page"),
}


def reason_label(code: str | None) -> str:
    return str(REASON_LABELS.get(code, code)) if code else ""


# --- months -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, default: "Month") -> "Month":
        """`YYYY-MM`, or `default` when it is missing or nonsense."""
        try:
            year_text, month_text = (text or "").split("-")
            month = cls(int(year_text), int(month_text))
        except ValueError:
            return default
        return month if 2000 <= month.year <= 2100 and 1 <= month.month <= 12 else default

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The month in China time, as the naive UTC the database stores."""
        return month_bounds(self.year, self.month)


# --- the review -------------------------------------------------------------------------


@dataclass
class Figures(Tally):
    """The duty counter's figures plus the roster's."""

    scheduled: int = 0
    attended: int = 0
    missed: int = 0


@dataclass
class RepRow:
    rep: Representative
    figures: Figures = field(default_factory=Figures)


@dataclass
class MonthAttendance:
    station: Station
    month: Month
    rows: list[RepRow]
    total: Figures
    duties: list[DutyLine]
    attempts: list[CheckInAttempt]


def _slot_bounds(slot: DutySlot) -> tuple[datetime, datetime]:
    return utc_at(slot.day, slot.starts_at), utc_at(slot.day, slot.ends_at)


def month_attendance(station: Station, month: Month, now: datetime | None = None) -> MonthAttendance:
    """Everything the review page and the exports show, in four queries."""
    now = now or utcnow()
    start, end = month.utc_bounds()
    slots = db.session.scalars(
        sa.select(DutySlot)
        .options(selectinload(DutySlot.representative).joinedload(Representative.user))
        .where(
            DutySlot.station_id == station.id,
            DutySlot.day >= month.first_day,
            DutySlot.day < month.next.first_day,
        )
        .order_by(DutySlot.day, DutySlot.starts_at)
    ).all()
    duties = db.session.scalars(
        sa.select(Duty)
        .options(
            selectinload(Duty.representative).joinedload(Representative.user),
            joinedload(Duty.confirmed_by),
        )
        .where(Duty.station_id == station.id, Duty.checked_in_at >= start, Duty.checked_in_at < end)
        .order_by(Duty.checked_in_at, Duty.id)
    ).all()
    attempts = db.session.scalars(
        sa.select(CheckInAttempt)
        .options(selectinload(CheckInAttempt.representative).joinedload(Representative.user))
        .where(
            CheckInAttempt.station_id == station.id,
            CheckInAttempt.created_at >= start,
            CheckInAttempt.created_at < end,
        )
        .order_by(CheckInAttempt.created_at.desc(), CheckInAttempt.id.desc())
    ).all()

    reps: dict[int, Representative] = {r.id: r for r in station.representatives}
    for rep in [s.representative for s in slots] + [d.representative for d in duties]:
        reps.setdefault(rep.id, rep)
    rows = {rep_id: RepRow(rep) for rep_id, rep in reps.items()}

    lines = duty_lines(list(duties), now)

    for slot in slots:
        figures = rows[slot.representative_id].figures
        figures.scheduled += 1
        slot_start, slot_end = _slot_bounds(slot)
        overlapping = [
            line
            for line in lines
            if line.duty.representative_id == slot.representative_id
            and line.duty.status != DutyStatus.VOIDED
            and line.duty.checked_in_at < slot_end
            and line.ends_at > slot_start
        ]
        for line in overlapping:
            line.in_slot = True
        if any(line.counted for line in overlapping):
            figures.attended += 1
        elif not overlapping and slot_end <= now:
            figures.missed += 1

    for line in lines:
        figures = rows[line.duty.representative_id].figures
        figures.add(line)
        if line.counted and not line.in_slot:
            figures.attended += 1  # a duty without a slot still counts

    ordered = sorted(rows.values(), key=lambda r: (LEVEL_ORDER.index(r.rep.level), r.rep.name, r.rep.id))
    total = Figures()
    for row in ordered:
        total.merge(row.figures)
    return MonthAttendance(
        station=station,
        month=month,
        rows=ordered,
        total=total,
        duties=lines,
        attempts=list(attempts),
    )
