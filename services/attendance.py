"""The attendance review of one station and one month: scheduled vs attended vs missed
vs pending, for the station manager (and congress staff) to check and export.

The figures, per representative:

- scheduled: roster slots at the station in the month;
- attended: slots that a duty at the station overlapped and that counts as full duty
  (services.duty.counts), plus counted duties that overlapped no slot at all;
- missed: slots that have ended with no overlapping duty (voided duties do not rescue
  a slot); a slot covered only by a pending, open or auto-closed duty is neither
  attended nor missed, it shows under those columns;
- pending: duties recorded without the station's presence proof and neither confirmed
  nor voided yet; auto-closed: duties closed by `flask duty close-stale`;
- hours and residents received: of the duties that count.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import CheckInAttempt, Concern, Duty, DutySlot, Representative, Station, utcnow
from models.enums import DutyStatus
from services.clock import month_bounds, to_local, utc_at
from services.duty import counts
from services.stations import LEVEL_ORDER

# Short labels for the reason codes of refused and pending check-ins (services.duty).
REASON_LABELS = {
    "location_unavailable": _l("Location not shared"),
    "too_far": _l("Too far from the station"),
    "kiosk_required": _l("No tablet code"),
    "kiosk_invalid": _l("Invalid tablet code"),
    "kiosk_expired": _l("Expired tablet code"),
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
class Figures:
    scheduled: int = 0
    attended: int = 0
    missed: int = 0
    pending: int = 0
    auto_closed: int = 0
    minutes: int = 0
    residents: int = 0

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    def add(self, other: "Figures") -> None:
        for name in ("scheduled", "attended", "missed", "pending", "auto_closed", "minutes", "residents"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class RepRow:
    rep: Representative
    figures: Figures = field(default_factory=Figures)


@dataclass
class DutyRow:
    duty: Duty
    local_in: datetime
    local_out: datetime | None
    minutes: int
    counted: bool
    pending: bool
    in_slot: bool  # overlapped a roster slot of its representative
    concerns: list[str] = field(default_factory=list)  # tracking codes of linked concerns


@dataclass
class MonthAttendance:
    station: Station
    month: Month
    rows: list[RepRow]
    total: Figures
    duties: list[DutyRow]
    attempts: list[CheckInAttempt]


def is_pending(duty: Duty) -> bool:
    """Waiting for the manager: recorded without the presence proof, not yet judged."""
    return bool(duty.pending_reason) and duty.confirmed_by_id is None and duty.status != DutyStatus.VOIDED


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
    concern_codes: dict[int, list[str]] = {}
    if duties:
        for duty_id, code in db.session.execute(
            sa.select(Concern.duty_id, Concern.tracking_code)
            .where(Concern.duty_id.in_([d.id for d in duties]))
            .order_by(Concern.id)
        ):
            concern_codes.setdefault(duty_id, []).append(code)
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
    for item in (*slots, *duties):
        reps.setdefault(item.representative_id, item.representative)
    rows = {rep_id: RepRow(rep) for rep_id, rep in reps.items()}

    duty_rows = {
        d.id: DutyRow(
            duty=d,
            local_in=to_local(d.checked_in_at),
            local_out=to_local(d.checked_out_at) if d.checked_out_at else None,
            minutes=max(0, int(((d.checked_out_at or now) - d.checked_in_at).total_seconds() // 60)),
            counted=counts(d),
            pending=is_pending(d),
            in_slot=False,
            concerns=concern_codes.get(d.id, []),
        )
        for d in duties
    }

    for slot in slots:
        figures = rows[slot.representative_id].figures
        figures.scheduled += 1
        slot_start, slot_end = _slot_bounds(slot)
        overlapping = [
            d
            for d in duties
            if d.representative_id == slot.representative_id
            and d.status != DutyStatus.VOIDED
            and d.checked_in_at < slot_end
            and (d.checked_out_at or now) > slot_start
        ]
        for d in overlapping:
            duty_rows[d.id].in_slot = True
        if any(duty_rows[d.id].counted for d in overlapping):
            figures.attended += 1
        elif not overlapping and slot_end <= now:
            figures.missed += 1

    for line in duty_rows.values():
        figures = rows[line.duty.representative_id].figures
        if line.counted:
            figures.minutes += line.minutes
            figures.residents += line.duty.residents_received
            if not line.in_slot:
                figures.attended += 1  # a duty without a slot still counts
        if line.pending:
            figures.pending += 1
        if line.duty.status == DutyStatus.AUTO_CLOSED:
            figures.auto_closed += 1

    ordered = sorted(rows.values(), key=lambda r: (LEVEL_ORDER.index(r.rep.level), r.rep.name, r.rep.id))
    total = Figures()
    for row in ordered:
        total.add(row.figures)
    return MonthAttendance(
        station=station,
        month=month,
        rows=ordered,
        total=total,
        duties=list(duty_rows.values()),
        attempts=list(attempts),
    )
