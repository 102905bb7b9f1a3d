"""Representatives' suggestions (代表建议) and their handling (重落实).

A representative files a suggestion (alone or with co-signers), optionally grown out of
residents' concerns; congress staff register it and assign it to a lead unit and co-units
with a deadline; the lead unit replies (class A, B or C), the representative rates the
reply, and, for A and B, rates what was done once the unit reports it done. The loop is
services.suggestion_flow, on the same engine and event columns as the concern loop.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, WorkflowEventMixin, enum_column, utcnow
from models.concern import Concern
from models.enums import Rating, ReplyClass, SuggestionStatus
from models.region import Region
from models.unit import Unit
from models.user import Representative, User

# The residents' concerns a suggestion grew out of (the tracking page says so).
suggestion_concern = sa.Table(
    "suggestion_concern",
    Base.metadata,
    sa.Column("suggestion_id", sa.ForeignKey("suggestion.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("concern_id", sa.ForeignKey("concern.id", ondelete="CASCADE"), primary_key=True, index=True),
)

_RATINGS = "('satisfied', 'basically_satisfied', 'dissatisfied')"


class Suggestion(TimestampMixin, Base):
    """A representative's suggestion, from the draft to done or explained."""

    __tablename__ = "suggestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    content: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("representative.id"), index=True)
    # Whose congress registers and assigns it: the region of the author's station it was
    # filed from; congress staff of that region and above see it.
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    status: Mapped[SuggestionStatus] = mapped_column(
        enum_column(SuggestionStatus, "status"), default=SuggestionStatus.DRAFT
    )
    version: Mapped[int] = mapped_column(default=1)
    # 重点建议: marked by congress staff for the leadership's supervision.
    is_key: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    lead_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    registered_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    # The reply's deadline, in working days from the assignment (or the send-back).
    due_at: Mapped[datetime | None]
    due_estimated: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    reply_class: Mapped[ReplyClass | None] = mapped_column(enum_column(ReplyClass, "reply_class"))
    # B: the date the unit plans to have it done by.
    planned_on: Mapped[date | None]
    replied_at: Mapped[datetime | None]
    # A reply came after its deadline (for the on-time rate).
    was_late: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    done_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The representative sent the reply back once (the second round's reply is final).
    rounds: Mapped[int] = mapped_column(default=1)
    rating_reply: Mapped[Rating | None] = mapped_column(enum_column(Rating, "rating_reply"))
    rating_result: Mapped[Rating | None] = mapped_column(enum_column(Rating, "rating_result"))

    author: Mapped[Representative] = relationship(lazy="joined")
    region: Mapped[Region] = relationship()
    lead_unit: Mapped[Unit | None] = relationship()
    signers: Mapped[list[SuggestionSigner]] = relationship(
        back_populates="suggestion", order_by="SuggestionSigner.representative_id", cascade="all, delete-orphan"
    )
    co_units: Mapped[list[SuggestionCoUnit]] = relationship(
        back_populates="suggestion", order_by="SuggestionCoUnit.unit_id", cascade="all, delete-orphan"
    )
    concerns: Mapped[list[Concern]] = relationship(secondary=suggestion_concern, order_by="Concern.id")
    events: Mapped[list[SuggestionEvent]] = relationship(
        back_populates="suggestion", order_by="SuggestionEvent.id", cascade="all, delete-orphan"
    )

    # Optimistic versioning, as for concerns: two people acting at once cannot overwrite
    # each other silently.
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        sa.Index("ix_suggestion_status_created", "status", "created_at"),
        sa.Index("ix_suggestion_lead_unit_replied", "lead_unit_id", "replied_at"),
        sa.CheckConstraint("length(title) BETWEEN 4 AND 100", name="title_length"),
        sa.CheckConstraint("length(content) BETWEEN 20 AND 5000", name="content_length"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("rounds BETWEEN 1 AND 2", name="rounds_range"),
        sa.CheckConstraint("reply_class IS NULL OR replied_at IS NOT NULL", name="class_needs_reply"),
        sa.CheckConstraint("reply_class IS NULL OR reply_class <> 'B' OR planned_on IS NOT NULL", name="b_has_date"),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'registered', 'withdrawn') OR lead_unit_id IS NOT NULL",
            name="assigned_has_lead_unit",
        ),
        sa.CheckConstraint(f"rating_reply IS NULL OR rating_reply IN {_RATINGS}", name="rating_reply_value"),
        sa.CheckConstraint(f"rating_result IS NULL OR rating_result IN {_RATINGS}", name="rating_result_value"),
    )


class SuggestionSigner(Base):
    """A representative invited to co-sign (附议); `signed_at` once they did."""

    __tablename__ = "suggestion_signer"

    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestion.id", ondelete="CASCADE"), primary_key=True)
    representative_id: Mapped[int] = mapped_column(
        sa.ForeignKey("representative.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None]

    suggestion: Mapped[Suggestion] = relationship(back_populates="signers")
    representative: Mapped[Representative] = relationship(lazy="joined")


class SuggestionCoUnit(Base):
    """A co-unit (协办单位) of an assigned suggestion, and the opinion it gave the lead unit."""

    __tablename__ = "suggestion_co_unit"

    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestion.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), primary_key=True, index=True)
    opinion: Mapped[str | None] = mapped_column(sa.Text)
    opinion_at: Mapped[datetime | None]
    opinion_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    suggestion: Mapped[Suggestion] = relationship(back_populates="co_units")
    unit: Mapped[Unit] = relationship(lazy="joined")
    opinion_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("(opinion IS NULL) = (opinion_at IS NULL)", name="opinion_has_time"),)


class SuggestionEvent(WorkflowEventMixin, Base):
    """One step of a suggestion's trail: the same columns as a concern's (the mixin)."""

    __tablename__ = "suggestion_event"
    status_enum = SuggestionStatus

    suggestion_id: Mapped[int] = mapped_column(sa.ForeignKey("suggestion.id", ondelete="CASCADE"), index=True)
    if TYPE_CHECKING:
        from_status: Mapped[SuggestionStatus | None]
        to_status: Mapped[SuggestionStatus | None]
        actor: Mapped[User | None]

    suggestion: Mapped[Suggestion] = relationship(back_populates="events")
