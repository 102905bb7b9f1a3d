from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base, ShownOnStationPage, TimestampMixin, enum_column, utcnow
from models.enums import PresencePolicy, StationCategory, StationKind

if TYPE_CHECKING:
    from models.region import Region
    from models.user import Representative


representative_station = sa.Table(
    "representative_station",
    Base.metadata,
    sa.Column("representative_id", sa.ForeignKey("representative.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Station(ShownOnStationPage, TimestampMixin, Base):
    """A liaison station (站), point (点) or post (岗) with its permanent public code."""

    __tablename__ = "station"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[StationKind] = mapped_column(enum_column(StationKind, "kind"), default=StationKind.STATION)
    category: Mapped[StationCategory] = mapped_column(enum_column(StationCategory, "category"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    opening_hours: Mapped[str] = mapped_column(sa.String(200), default="")
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    intro: Mapped[str] = mapped_column(sa.Text, default="")
    presence_policy: Mapped[PresencePolicy] = mapped_column(
        enum_column(PresencePolicy, "presence_policy"), default=PresencePolicy.NONE
    )
    geo_radius_m: Mapped[int] = mapped_column(default=300)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Closed (or merged into another): the poster keeps answering with where to go now.
    closed_at: Mapped[datetime | None]
    closed_note: Mapped[str] = mapped_column(sa.String(200), default="", server_default=sa.text("''"))
    successor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("station.id"))
    # How many residents may book a visit in each roster slot (预约接待), unless the slot
    # says otherwise; 0 takes no bookings.
    booking_capacity: Mapped[int] = mapped_column(default=4, server_default=sa.text("4"))
    # A legislative contact point (基层立法联系点), whatever its category: drafts of laws and
    # regulations are put out for comment there (services.drafts).
    is_legislative_point: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    region: Mapped[Region] = relationship(lazy="joined")
    parent: Mapped[Station | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    successor: Mapped[Station | None] = relationship(remote_side=[id], foreign_keys=[successor_id])
    representatives: Mapped[list[Representative]] = relationship(
        secondary=representative_station, back_populates="stations"
    )

    @validates("is_active")
    def _stamp_closing(self, _key: str, active: bool) -> bool:
        """Switching a station off dates it (the database insists); switching it on again
        clears the date and where it moved to."""
        if not active and self.closed_at is None:
            self.closed_at = utcnow()
        if active:
            self.closed_at = None
        return active

    __table_args__ = (
        sa.CheckConstraint("geo_radius_m > 0", name="geo_radius_positive"),
        sa.CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude_range"),
        sa.CheckConstraint("longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude_range"),
        sa.CheckConstraint("kind = 'station' OR parent_id IS NOT NULL", name="point_has_parent"),
        sa.CheckConstraint("successor_id IS NULL OR successor_id <> id", name="successor_not_self"),
        sa.CheckConstraint("is_active OR closed_at IS NOT NULL", name="inactive_has_closed_at"),
        sa.UniqueConstraint("region_id", "name", name="uq_station_region_name"),
        sa.CheckConstraint("booking_capacity BETWEEN 0 AND 50", name="booking_capacity_range"),
    )


class StationCodeAlias(ShownOnStationPage, Base):
    """A code a station's posters used to carry. It forwards to the station's current code
    until `forward_until`; afterwards it says the poster was replaced. Never reused."""

    __tablename__ = "station_code_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"), index=True)
    retired_at: Mapped[datetime]
    forward_until: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    retired_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    station: Mapped[Station] = relationship()

    __table_args__ = (
        sa.CheckConstraint("forward_until IS NULL OR forward_until >= retired_at", name="forward_after_retired"),
    )
