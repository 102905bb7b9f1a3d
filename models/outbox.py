from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_column, utcnow
from models.enums import OutboxStatus

if TYPE_CHECKING:
    from models.concern import Concern
    from models.user import User


class Outbox(Base):
    """A notification to send, written in the same transaction as the change behind it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20))  # sms | email | webhook-out
    # What happened (e.g. concern.dispatched), and to which concern, for the log and support.
    kind: Mapped[str] = mapped_column(sa.String(40), default="", server_default=sa.text("''"))
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id", ondelete="SET NULL"), index=True)
    # The booked visit it is about (a reminder, a visit called off), for erasure and support.
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id", ondelete="SET NULL"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus, "status"), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a worker takes the row (status sending): a row is never handed out twice.
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # The HTTP status of the last attempt, for senders that speak HTTP (webhooks): the
    # delivery log shows it.
    response_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A failed row's recipient was told another way: staff say so, and it leaves the list.
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    concern: Mapped[Concern | None] = relationship()
    handled_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),
        sa.CheckConstraint("handled_at IS NULL OR status = 'failed'", name="handled_only_failed"),
        # What a number got today: the cap on SMS to unconfirmed residents' numbers.
        sa.Index("ix_outbox_recipient_created", "recipient", "created_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )


class AuditLog(Base):
    """A staff or system action with a namespaced code (e.g. `concern.contact_viewed`)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60))
    target_type: Mapped[str] = mapped_column(sa.String(30), default="")
    target_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()
