"""What the machine interfaces keep of a request besides the domain rows.

- ApiIdempotency: an `Idempotency-Key` a system sent with a POST (/api/v1, /open311/v2),
  with a fingerprint of the body and, once answered, the answer, so that the same POST sent
  again within a day is answered again and does nothing twice (services.idempotency).
- Open311Request: what an Open311 client sent with a service request that a concern has
  no column for (where: lat/long, address) and the token it was given
  (GET /open311/v2/tokens/<token>).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.api_key import ApiKey
from models.base import Base, utcnow
from models.concern import Concern

IDEMPOTENCY_KEY_MAX = 255


class ApiIdempotency(Base):
    __tablename__ = "api_idempotency"
    __table_args__ = (
        # One answer per key and key holder: two requests racing with the same key cannot
        # both insert, so they cannot both act (the loser replays the winner's answer).
        sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_api_idempotency_key"),
        # An answer is complete (status and body) or not there yet (in flight).
        sa.CheckConstraint("(status IS NULL) = (body IS NULL)", name="answered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(IDEMPOTENCY_KEY_MAX))
    # SHA-256 of the method, path and body as parsed (a multipart boundary does not count).
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int | None]
    content_type: Mapped[str] = mapped_column(sa.String(100), default="")
    body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    answered_at: Mapped[datetime | None]

    api_key: Mapped[ApiKey] = relationship()


class Open311Request(Base):
    __tablename__ = "open311_request"
    __table_args__ = (
        sa.CheckConstraint("lat IS NULL OR lat BETWEEN -90 AND 90", name="lat"),
        sa.CheckConstraint("long IS NULL OR long BETWEEN -180 AND 180", name="long"),
    )

    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id", ondelete="SET NULL"), index=True)
    token: Mapped[str] = mapped_column(sa.String(40), unique=True)
    lat: Mapped[float | None]
    long: Mapped[float | None]
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    concern: Mapped[Concern] = relationship()
