"""API keys: how another system (a 12345 hotline, a unit's case system) uses /api/v1/.

A key belongs to a system, not a person. Its scope is that of an account: a region (as
congress staff of that region and the regions below it) or a handling unit (as that unit's
handler), read-only or acting. The key is shown once; only its lookup prefix and a keyed
hash of its secret are kept (services.api_keys).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.region import Region
from models.unit import Unit
from models.user import User

RATE_MIN, RATE_MAX = 1, 10_000


class ApiKey(Base):
    __tablename__ = "api_key"
    __table_args__ = (
        # A region or a unit, never both, never neither.
        sa.CheckConstraint("(region_id IS NULL) <> (unit_id IS NULL)", name="one_scope"),
        sa.CheckConstraint(f"rate_per_minute BETWEEN {RATE_MIN} AND {RATE_MAX}", name="rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(12), unique=True)
    # HMAC-SHA256 of the secret under the app's SECRET_KEY, hex: cheap on every request.
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    can_act: Mapped[bool] = mapped_column(default=False)
    rate_per_minute: Mapped[int] = mapped_column(default=120)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    region: Mapped[Region | None] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookSubscription(Base):
    """Where a key's system hears about the events of its scope (services.webhooks): a URL,
    the event types chosen, and the secret the deliveries are signed with.

    The secret is kept as it is, not hashed: the server signs every delivery with it (and
    checks the inbound endpoint's signatures), so it must be recoverable. Encrypting it
    under a key derived from SECRET_KEY would only protect a database copy without the
    configuration, at the price of a cryptography dependency; the admin page never shows it
    again. A subscription is never deleted, only marked so: the delivery log stays, and an
    id is never reused for another URL (SQLite reuses the highest id of a deleted row)."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (
        sa.CheckConstraint("substr(url, 1, 7) = 'http://' OR substr(url, 1, 8) = 'https://'", name="http_url"),
        sa.CheckConstraint("paused_at IS NULL OR deleted_at IS NULL", name="paused_or_deleted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    # The event types chosen (services.webhooks.EVENTS), a JSON list.
    events: Mapped[list] = mapped_column(sa.JSON, default=list)
    secret: Mapped[str] = mapped_column(sa.String(80))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paused_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    api_key: Mapped[ApiKey] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.paused_at is None and self.deleted_at is None

    @property
    def recipient(self) -> str:
        """Its Outbox.recipient: the sender looks the URL and the secret up by it."""
        return f"webhook:{self.id}"
