from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from models.base import Base, ShownOnStationPage, TimestampMixin, enum_column, utcnow
from models.enums import DutyMethod, DutyStatus, PresenceEvidence
from models.station import Station
from models.user import Representative, User


class DutySlot(ShownOnStationPage, Base):
    """One roster entry (排班): who is expected at which station, when."""

    __tablename__ = "duty_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"))
    representative_id: Mapped[int] = mapped_column(sa.ForeignKey("representative.id", ondelete="CASCADE"))
    day: Mapped[date]
    starts_at: Mapped[time]
    ends_at: Mapped[time]
    # Slots made together by "repeat weekly" share a series, so they can be removed together.
    series: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    # Residents who may book a visit in this slot (预约接待); None: the station's default.
    capacity: Mapped[int | None]

    station: Mapped[Station] = relationship()
    representative: Mapped[Representative] = relationship()

    __table_args__ = (
        sa.Index("ix_duty_slot_station_day", "station_id", "day"),
        sa.UniqueConstraint("representative_id", "day", "starts_at", name="uq_duty_slot_rep_day_start"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("capacity IS NULL OR capacity BETWEEN 0 AND 50", name="capacity_range"),
    )


class StationVisit:
    """What a check-in at a station records, for a representative's duty and an official's
    session alike: services.duty checks both in and out with the same presence proof, and
    a manager voids either with a reason (the record stays; it stops counting)."""

    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"))
    checked_in_at: Mapped[datetime]
    checked_out_at: Mapped[datetime | None]
    method: Mapped[DutyMethod] = mapped_column(enum_column(DutyMethod, "method"))
    status: Mapped[DutyStatus] = mapped_column(enum_column(DutyStatus, "status"), default=DutyStatus.OPEN)
    # Client nonce: a retried check-in finds the record it made instead of making a second.
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    distance_m: Mapped[float | None]
    kiosk_window: Mapped[int | None]
    # The tablet code this check-in used up: each displayed code checks in once
    # (the unique constraint below decides between two simultaneous scans).
    kiosk_code: Mapped[str | None] = mapped_column(sa.String(40))
    residents_received: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Who confirmed or voided it, when, and why.
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None]

    @declared_attr
    def station(cls) -> Mapped[Station]:
        return relationship()

    @declared_attr
    def confirmed_by(cls) -> Mapped[User | None]:
        return relationship()

    @staticmethod
    def visit_constraints(table: str) -> tuple:
        return (
            sa.UniqueConstraint("station_id", "kiosk_code", name=f"uq_{table}_station_kiosk_code"),
            sa.CheckConstraint("residents_received >= 0", name="residents_nonnegative"),
            sa.CheckConstraint("checked_out_at IS NULL OR checked_out_at >= checked_in_at", name="out_after_in"),
            sa.CheckConstraint("kiosk_code IS NULL OR method = 'kiosk'", name="kiosk_code_only_kiosk"),
        )

    @property
    def evidence(self) -> PresenceEvidence:
        """What proves the person was there, strongest first: a single-use tablet code, the
        manager's word, a position the browser reported (any page can post any position),
        or only a scan of the printed code."""
        if self.method == DutyMethod.KIOSK:
            return PresenceEvidence.TABLET_CODE
        if self.method == DutyMethod.MANUAL:
            return PresenceEvidence.MANUAL
        if self.distance_m is not None:
            return PresenceEvidence.BROWSER_POSITION
        return PresenceEvidence.SCAN


class Duty(StationVisit, ShownOnStationPage, TimestampMixin, Base):
    """A representative's on-site duty (进站履职记录): the performance file's raw record."""

    __tablename__ = "duty"

    id: Mapped[int] = mapped_column(primary_key=True)
    representative_id: Mapped[int] = mapped_column(sa.ForeignKey("representative.id"))
    # A check-in that could not meet the station's presence policy waits for the
    # manager: it never counts until confirmed.
    pending_reason: Mapped[str | None] = mapped_column(sa.String(30))
    review_note: Mapped[str] = mapped_column(sa.Text, default="")

    representative: Mapped[Representative] = relationship()

    __table_args__ = (
        # At most one open duty per representative, whatever the application does.
        sa.Index(
            "uq_duty_one_open_per_rep",
            "representative_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
        sa.Index("ix_duty_rep_checked_in", "representative_id", "checked_in_at"),
        sa.Index("ix_duty_station_checked_in", "station_id", "checked_in_at"),
        *StationVisit.visit_constraints("duty"),
    )


class CheckInAttempt(Base):
    """A refused check-in, kept with its reason code for the station manager to see."""

    __tablename__ = "check_in_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"))
    representative_id: Mapped[int] = mapped_column(sa.ForeignKey("representative.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(sa.String(30))
    method: Mapped[DutyMethod] = mapped_column(enum_column(DutyMethod, "method"))
    distance_m: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    station: Mapped[Station] = relationship()
    representative: Mapped[Representative] = relationship()

    __table_args__ = (sa.Index("ix_check_in_attempt_station_created", "station_id", "created_at"),)
