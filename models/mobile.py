"""Residents' mobile numbers: one-time codes for "my concerns", and who may get SMS.

A number typed on the concern form is unconfirmed until its owner proves it with a code
(services/resident_mobile.py); until then it gets at most one SMS a day, and none once
its owner said stop.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class MobileCode(Base):
    """A one-time code asked for on /my. Only its keyed hash is kept. A row is made for
    every request, whether or not the number filed a concern (and so whether or not an
    SMS went out): counting requests per number then tells nobody which numbers exist."""

    __tablename__ = "mobile_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(sa.String(11))
    code_hash: Mapped[str] = mapped_column(sa.String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (
        sa.Index("ix_mobile_code_mobile_created", "mobile", "created_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )


class ResidentMobile(Base):
    """What we know of a resident's number: confirmed by a code (then no daily cap), or
    stopped by its owner (then no SMS but the codes they ask for themselves)."""

    __tablename__ = "resident_mobile"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(sa.String(11), unique=True)
    verified_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    # How the owner said stop: a reply to an SMS, the link in an SMS, or the /my page.
    opted_out_via: Mapped[str | None] = mapped_column(sa.String(10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(
            "(opted_out_at IS NULL AND opted_out_via IS NULL) OR "
            "(opted_out_at IS NOT NULL AND opted_out_via IN ('reply', 'link', 'page'))",
            name="opt_out_how",
        ),
    )
