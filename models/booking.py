from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, enum_column
from models.enums import BookingStatus

if TYPE_CHECKING:
    from models.board import ReceptionDay
    from models.concern import Concern
    from models.duty import DutySlot
    from models.station import Station
    from models.user import Representative, User

# The statuses that hold a place on what was booked: a cancelled booking frees its place.
HOLDS_PLACE = "status IN ('booked', 'attended', 'no_show')"
# A reception day's occurrence is the pair (reception_day_id, day).
HOLDS_OCCURRENCE_PLACE = f"reception_day_id IS NOT NULL AND {HOLDS_PLACE}"


def _unique_where(name: str, where: str, *columns: str) -> sa.Index:
    """A partial unique index, on SQLite and PostgreSQL alike."""
    return sa.Index(name, *columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


class Booking(TimestampMixin, Base):
    """A resident's booked visit (预约接待) with the representative on a roster slot.

    What was booked is copied onto the booking (station, day, times, representative), so the
    booking still reads right once the slot is removed from the roster. Today the bookable
    thing is a roster slot (`duty_slot_id`) or a reception day's occurrence (`reception_day_id`
    and `day`); a live booking is on exactly one of the two (CHECK `booked_on_one`).

    Capacity is held by the database: each booking that holds a place takes a seat number,
    1 … the slot's (occurrence's) capacity, unique per slot (occurrence) among the bookings that hold a place, so two
    residents taking the last place at once cannot both have it."""

    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    # The form's one-time key: a double tap finds the booking it made.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"))
    duty_slot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("duty_slot.id", ondelete="SET NULL"), index=True)
    # A reception day's occurrence: the reception day and `day` (services.board.Occurrence).
    reception_day_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reception_day.id", ondelete="SET NULL"), index=True
    )
    representative_id: Mapped[int | None] = mapped_column(sa.ForeignKey("representative.id", ondelete="SET NULL"))
    day: Mapped[date]
    starts_at: Mapped[time]
    ends_at: Mapped[time]
    seat: Mapped[int]
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "status"), default=BookingStatus.BOOKED)
    name: Mapped[str | None] = mapped_column(sa.String(40))
    mobile: Mapped[str | None] = mapped_column(sa.String(11))
    # A keyed digest of the mobile number: one number books a slot once (the index below),
    # and the per-number limits count by it.
    mobile_digest: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    consent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime | None]
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    # The day-before reminder was queued (services.bookings.queue_reminders): once only.
    reminded_at: Mapped[datetime | None]
    # The concern this visit became (filed from the booking).
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id", ondelete="SET NULL"), index=True)
    # services.erasure: PERSONAL_DATA_DAYS after the visit, name, number and subject went.
    personal_data_erased_at: Mapped[datetime | None]

    station: Mapped[Station] = relationship()
    slot: Mapped[DutySlot | None] = relationship()
    reception_day: Mapped[ReceptionDay | None] = relationship()
    representative: Mapped[Representative | None] = relationship()
    concern: Mapped[Concern | None] = relationship()
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    marked_by: Mapped[User | None] = relationship(foreign_keys=[marked_by_id])

    @property
    def receivers(self) -> list[Representative]:
        """Who receives the visit: the representative it was booked with; a reception day's
        visit booked with none of its representatives in particular, all of them."""
        if self.representative is not None:
            return [self.representative]
        if self.reception_day is not None:
            return list(self.reception_day.representatives)
        return []

    __table_args__ = (
        sa.Index("ix_booking_station_day", "station_id", "day"),
        sa.Index("ix_booking_day_status", "day", "status"),
        # One seat, and one number, once per slot (occurrence) among the bookings holding a place.
        _unique_where("uq_booking_slot_seat", HOLDS_PLACE, "duty_slot_id", "seat"),
        _unique_where("uq_booking_slot_mobile", HOLDS_PLACE, "duty_slot_id", "mobile_digest"),
        _unique_where("uq_booking_occurrence_seat", HOLDS_OCCURRENCE_PLACE, "reception_day_id", "day", "seat"),
        _unique_where(
            "uq_booking_occurrence_mobile", HOLDS_OCCURRENCE_PLACE, "reception_day_id", "day", "mobile_digest"
        ),
        sa.CheckConstraint("seat >= 1", name="seat_positive"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # A live booking is on one bookable thing: a roster slot or a reception day's occurrence.
        sa.CheckConstraint(
            "status <> 'booked' OR ((duty_slot_id IS NOT NULL) <> (reception_day_id IS NOT NULL))",
            name="booked_on_one",
        ),
        sa.CheckConstraint(
            "personal_data_erased_at IS NOT NULL OR (name IS NOT NULL AND mobile IS NOT NULL "
            "AND mobile_digest IS NOT NULL AND consent_at IS NOT NULL)",
            name="contact_with_consent",
        ),
        sa.CheckConstraint(
            "(status IN ('cancelled', 'called_off')) = (cancelled_at IS NOT NULL)", name="cancelled_has_time"
        ),
        sa.CheckConstraint("(status IN ('attended', 'no_show')) = (marked_at IS NOT NULL)", name="marked_has_time"),
    )
