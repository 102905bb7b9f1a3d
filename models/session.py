"""Signed-in sessions kept on the server, and who has seen a resident's contact details."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.user import User


class UserSession(Base):
    """One sign-in of a staff account on one browser. The browser's cookie carries a random
    key; the row is stored under its SHA-256, so a copy of the table opens nothing."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last time the password was typed in this session: sign-in or a confirmation.
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Updated at most once a minute: enough for the idle limit and the list of sessions.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(120), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")  # masked: the last part hidden
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(20))

    # Loaded with the session in the same query: one look-up per request.
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("(revoked_at IS NULL) = (revoked_reason IS NULL)", name="revoked_with_reason"),
        sa.CheckConstraint("last_seen_at >= created_at", name="seen_after_created"),
    )


class ContactDisclosure(Base):
    """A concern whose contact details an audited action showed in full: a "show in full"
    or an unmasked export. Who, when and why are on the audit row."""

    __tablename__ = "contact_disclosure"

    audit_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True)
    concern_id: Mapped[int] = mapped_column(
        sa.ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True, index=True
    )
