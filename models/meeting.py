"""述职 meetings: a representative presents their annual report at a station, and the
residents present rate it (满意 / 基本满意 / 不满意), one rating per phone."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, WorkflowEventMixin, enum_column, utcnow
from models.enums import MeetingStatus, Rating

if TYPE_CHECKING:
    from models.station import Station
    from models.user import Representative, User


class ReportMeeting(TimestampMixin, Base):
    """A representative's annual report (`year`) presented at a station. Residents rate it
    at /m/<code> from `starts_at` until `ends_at` (naive UTC): the rating window. Moved or
    cancelled only before it starts (services.meetings.MEETING_FLOW, with a version and an
    event per step); a cancelled one keeps its row."""

    __tablename__ = "report_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    representative_id: Mapped[int] = mapped_column(sa.ForeignKey("representative.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"), index=True)
    year: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus, "status"),
        default=MeetingStatus.SCHEDULED,
        server_default=MeetingStatus.SCHEDULED.value,
    )
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    representative: Mapped[Representative] = relationship()
    station: Mapped[Station] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    events: Mapped[list[ReportMeetingEvent]] = relationship(
        back_populates="meeting", order_by="ReportMeetingEvent.id", cascade="all, delete-orphan"
    )

    # A move or cancel from a page that showed an older version is refused.
    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        sa.Index("ix_report_meeting_rep_year", "representative_id", "year"),
        sa.Index("ix_report_meeting_starts_at", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        sa.CheckConstraint("status <> 'cancelled' OR cancelled_at IS NOT NULL", name="cancelled_has_time"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    @property
    def is_cancelled(self) -> bool:
        return self.status == MeetingStatus.CANCELLED


class ReportMeetingEvent(WorkflowEventMixin, Base):
    """One step of a 述职 meeting: scheduled, moved (the note says from when to when), cancelled."""

    __tablename__ = "report_meeting_event"
    status_enum = MeetingStatus

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("report_meeting.id", ondelete="CASCADE"), index=True)
    if TYPE_CHECKING:
        from_status: Mapped[MeetingStatus | None]
        to_status: Mapped[MeetingStatus | None]
        actor: Mapped[User | None]

    meeting: Mapped[ReportMeeting] = relationship(back_populates="events")


class MeetingRating(Base):
    """One resident's rating of a 述职 meeting. No account and no personal data: the phone
    is known only by a keyed digest of the random token in its signed cookie, unique, so the
    same cookie (two taps, the page sent again) never rates twice."""

    __tablename__ = "meeting_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("report_meeting.id", ondelete="CASCADE"), index=True)
    rating: Mapped[Rating] = mapped_column(enum_column(Rating, "rating"))
    comment: Mapped[str | None] = mapped_column(sa.String(300))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[ReportMeeting] = relationship()
