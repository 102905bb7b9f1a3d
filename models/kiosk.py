"""Station tablets (平板): a device paired once with a short-lived code, never a user.

A tablet holds a long random token in its own cookie; only the token's hash is kept
here. The tablet may show its station's display and nothing else, until revoked.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.station import Station
from models.user import User


class KioskDevice(Base):
    """A paired station tablet."""

    __tablename__ = "kiosk_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    # Who made the pairing code this device used.
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # SHA-256 of the cookie's token (256 random bits: no need for a slow hash).
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    station: Mapped[Station] = relationship()
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after"),)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KioskPairing(Base):
    """A pairing code made in the back office: ten minutes, single use, kept hashed."""

    __tablename__ = "kiosk_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("kiosk_device.id", ondelete="SET NULL"))

    station: Mapped[Station] = relationship()
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),
        sa.CheckConstraint("device_id IS NULL OR used_at IS NOT NULL", name="device_when_used"),
    )
