from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.api_key import ApiKey
from models.base import Base, ShownOnTrackingPage, TimestampMixin, WorkflowEventMixin, enum_column, utcnow
from models.enums import ConcernSource, ConcernStatus, Rating
from models.station import Station
from models.unit import Category, Unit
from models.user import Representative, User


class Concern(ShownOnTrackingPage, TimestampMixin, Base):
    """A resident's concern (意见建议 / 诉求), from 群众点单 to 群众评单."""

    __tablename__ = "concern"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # The form's one-time key: a double tap or a resubmitted page finds the concern it made.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # sha256 of station, text, contact and the sending browser: the same form sent again
    # with a new key (a reloaded page, ten taps at once) finds the concern it made.
    duplicate_digest: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"))
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("category.id"), index=True)
    content: Mapped[str] = mapped_column(sa.Text)
    contact_name: Mapped[str | None] = mapped_column(sa.String(40))
    # Indexed: a resident finds their concerns by it (/my).
    contact_mobile: Mapped[str | None] = mapped_column(sa.String(11), index=True)
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    is_public: Mapped[bool] = mapped_column(default=False)
    consent_at: Mapped[datetime | None]
    status: Mapped[ConcernStatus] = mapped_column(enum_column(ConcernStatus, "status"), default=ConcernStatus.SUBMITTED)
    version: Mapped[int] = mapped_column(default=1)
    source: Mapped[ConcernSource] = mapped_column(enum_column(ConcernSource, "source"), default=ConcernSource.QR)
    assigned_rep_id: Mapped[int | None] = mapped_column(sa.ForeignKey("representative.id"))
    # Written to one representative through their code (/r/<code>): only they take it up
    # (or pass it to the station, `passed_at`); the tracking page names them for good.
    addressed_rep_id: Mapped[int | None] = mapped_column(sa.ForeignKey("representative.id"), index=True)
    passed_at: Mapped[datetime | None]
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    duty_id: Mapped[int | None] = mapped_column(sa.ForeignKey("duty.id"), index=True)
    # Indexed: every step with news, and a waiting concern's tracking page, look for the
    # concerns merged into it (services.merges.followers).
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    # The deadline of the current stage, in working days from when the stage began.
    due_at: Mapped[datetime | None]
    # The deadline fell in a year the holiday calendar does not know: counted on weekdays.
    due_estimated: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Some stage finished after its deadline (for the on-time rate).
    was_late: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Working days from filing to closing, kept at closing so figures average it in SQL.
    close_working_days: Mapped[int | None]
    rating_unit: Mapped[str | None] = mapped_column(sa.String(20))
    rating_rep: Mapped[str | None] = mapped_column(sa.String(20))
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)
    rounds: Mapped[int] = mapped_column(default=1)
    closed_at: Mapped[datetime | None]
    # Staff kept a concern the resident agreed to publish off the public answers, and why
    # (services.public_answers); the trail has who did it.
    public_withheld_at: Mapped[datetime | None]
    public_withheld_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # When the current stage's reminder went out (a working day before due_at) and when it
    # was escalated to the congress staff above (past due_at): once per stage, since every
    # step of the loop clears both (services.triage).
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # services.erasure: the resident asked on the tracking page for their name and mobile
    # to go; and PERSONAL_DATA_DAYS after the concern ended, all its personal data went
    # (contact, comments, photos). The anonymous record and its figures stay.
    contact_erased_at: Mapped[datetime | None]
    personal_data_erased_at: Mapped[datetime | None]

    station: Mapped[Station] = relationship(lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")
    assigned_rep: Mapped[Representative | None] = relationship(foreign_keys=[assigned_rep_id])
    addressed_rep: Mapped[Representative | None] = relationship(foreign_keys=[addressed_rep_id])
    unit: Mapped[Unit | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="concern", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[ConcernEvent]] = relationship(
        back_populates="concern", order_by="ConcernEvent.id", cascade="all, delete-orphan"
    )
    ratings: Mapped[list[ConcernRating]] = relationship(
        back_populates="concern", order_by="ConcernRating.round", cascade="all, delete-orphan"
    )

    # Optimistic versioning: every flush of a change checks and bumps `version`, so two
    # staff acting at once cannot overwrite each other silently (StaleDataError).
    __mapper_args__ = {"version_id_col": version}

    def tracked_concern_id(self) -> int | None:
        return self.id

    __table_args__ = (
        sa.Index("ix_concern_station_created", "station_id", "created_at"),
        sa.Index("ix_concern_status_created", "status", "created_at"),
        # The inbox pages by (created_at, id), newest first, within each kind of scope.
        sa.Index("ix_concern_created_id", "created_at", "id"),
        sa.Index("ix_concern_unit_created", "unit_id", "created_at"),
        sa.Index("ix_concern_rep_created", "assigned_rep_id", "created_at"),
        # The inbox's deadline order pages by (due_at, id); the overdue filter reads due_at.
        sa.Index("ix_concern_due_id", "due_at", "id"),
        # Figures count what closed in a period.
        sa.Index("ix_concern_closed_at", "closed_at"),
        # A station's public answers, newest closed first (services.public_answers).
        sa.Index(
            "ix_concern_public_answers",
            "station_id",
            "closed_at",
            "id",
            sqlite_where=sa.text("is_public AND status = 'closed'"),
            postgresql_where=sa.text("is_public AND status = 'closed'"),
        ),
        # The inbox's word search (services.word_search): the content's character bigrams,
        # on PostgreSQL; word_bigrams() is made by migration 0027.
        sa.Index(
            "ix_concern_content_bigrams",
            sa.func.word_bigrams(sa.literal_column("content")),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
        sa.CheckConstraint("length(content) BETWEEN 10 AND 2000", name="content_length"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint(
            "(contact_name IS NULL AND contact_mobile IS NULL) OR consent_at IS NOT NULL",
            name="contact_needs_consent",
        ),
        sa.CheckConstraint(
            "rating_unit IS NULL OR rating_unit IN ('satisfied', 'basically_satisfied', 'dissatisfied')",
            name="rating_unit_value",
        ),
        sa.CheckConstraint(
            "rating_rep IS NULL OR rating_rep IN ('satisfied', 'basically_satisfied', 'dissatisfied')",
            name="rating_rep_value",
        ),
        sa.CheckConstraint("status <> 'merged' OR merged_into_id IS NOT NULL", name="merged_has_target"),
        sa.CheckConstraint("passed_at IS NULL OR addressed_rep_id IS NOT NULL", name="passed_was_addressed"),
        sa.CheckConstraint(
            "(public_withheld_at IS NULL) = (public_withheld_reason IS NULL)", name="withheld_has_reason"
        ),
        # Only an open concern has a deadline (the inbox's overdue filter relies on it).
        sa.CheckConstraint(
            "due_at IS NULL OR status IN ('submitted', 'accepted', 'dispatched', 'replied', 'confirmed')",
            name="due_only_while_open",
        ),
        # Reminders and escalations belong to a stage's deadline.
        sa.CheckConstraint(
            "due_at IS NOT NULL OR (reminded_at IS NULL AND escalated_at IS NULL)",
            name="marks_need_deadline",
        ),
    )


class ConcernEvent(ShownOnTrackingPage, WorkflowEventMixin, Base):
    """One step of a concern's trail: who did what, from which status to which."""

    __tablename__ = "concern_event"
    status_enum = ConcernStatus

    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id", ondelete="CASCADE"), index=True)
    if TYPE_CHECKING:  # the mixin's columns, as typed for this workflow
        from_status: Mapped[ConcernStatus | None]
        to_status: Mapped[ConcernStatus | None]
        actor: Mapped[User | None]

    # A step taken by another system through /api/v1/ (actor_id is None then): the key
    # that took it, on the event itself, so that the trail names it wherever it is read.
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id", ondelete="SET NULL"), index=True)

    concern: Mapped[Concern] = relationship(back_populates="events")
    api_key: Mapped[ApiKey | None] = relationship()


class ConcernRating(ShownOnTrackingPage, Base):
    """群众评单: the resident's two ratings for one round of handling. One per round."""

    __tablename__ = "concern_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id", ondelete="CASCADE"))
    round: Mapped[int]
    rating_unit: Mapped[Rating] = mapped_column(enum_column(Rating, "rating_unit"))
    rating_rep: Mapped[Rating] = mapped_column(enum_column(Rating, "rating_rep"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    concern: Mapped[Concern] = relationship(back_populates="ratings")

    __table_args__ = (
        sa.UniqueConstraint("concern_id", "round", name="uq_concern_rating_round"),
        sa.CheckConstraint("round >= 1", name="round_positive"),
    )


class Attachment(ShownOnTrackingPage, Base):
    """A photo, stored under a random key outside static/ after being re-encoded."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(30))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The file was deleted from storage with the concern's personal data; the row stays
    # so that the record still says a photo was sent.
    erased_at: Mapped[datetime | None]

    concern: Mapped[Concern] = relationship(back_populates="attachments")

    __table_args__ = (
        sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="content_type_image"),
        sa.CheckConstraint("size > 0", name="size_positive"),
    )
