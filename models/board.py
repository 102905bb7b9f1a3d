"""The station's board (公开栏): its rules of work, its activities with photos, its calendar
of reception days, and the notices a region's congress staff publish to all its stations."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from models.base import Base, ShownOnStationPage, TimestampMixin, enum_column, utcnow
from models.enums import ReceptionKind, Repeat

if TYPE_CHECKING:
    from models.region import Region
    from models.station import Station
    from models.user import Representative, User


class StationRules(ShownOnStationPage, Base):
    """A station's rules of work (工作制度): plain text, shown with its line breaks. One row
    per station, apart from the station so that the station page's query stays small."""

    __tablename__ = "station_rules"

    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))


class Activity(ShownOnStationPage, TimestampMixin, Base):
    """An activity of the station (履职活动): shown publicly only while published."""

    __tablename__ = "board_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(100))
    day: Mapped[date]
    text: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    station: Mapped[Station] = relationship()
    photos: Mapped[list[ActivityPhoto]] = relationship(
        back_populates="activity", order_by="ActivityPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    __table_args__ = (
        sa.CheckConstraint("title <> ''", name="title_not_empty"),
        # The station's published activities, newest first: the station page and the board.
        sa.Index("ix_board_activity_station_day", "station_id", "day", "id"),
    )


class StoredPhoto:
    """A photo processed like a concern's (services.photos), stored with a small thumbnail
    for the lists; both served through /media. The columns of every such photo table."""

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    thumb_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(30))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    thumb_width: Mapped[int]
    thumb_height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (
            sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="content_type_image"),
            sa.CheckConstraint("size > 0", name="size_positive"),
        )


class ActivityPhoto(ShownOnStationPage, StoredPhoto, Base):
    """A photo of an activity."""

    __tablename__ = "board_photo"

    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("board_activity.id", ondelete="CASCADE"), index=True)

    activity: Mapped[Activity] = relationship(back_populates="photos")


reception_day_representative = sa.Table(
    "reception_day_representative",
    Base.metadata,
    sa.Column("reception_day_id", sa.ForeignKey("reception_day.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("representative_id", sa.ForeignKey("representative.id", ondelete="CASCADE"), primary_key=True),
)


class ReceptionDay(ShownOnStationPage, TimestampMixin, Base):
    """A day the station receives residents (选民接待日, 社情民意联系日, 人大代表讲堂), once or
    repeating, as data: `repeat` once on `starts_on`; weekly on `weekday` (0 Monday … 6
    Sunday); monthly on `day_of_month` (a short month: its last day). A repeating one runs
    from `starts_on` to `ends_on` (None: no end). Cancelled: shown nowhere any more.
    services.board.occurrences() lists its dates and times in a range."""

    __tablename__ = "reception_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReceptionKind] = mapped_column(enum_column(ReceptionKind, "kind"))
    repeat: Mapped[Repeat] = mapped_column(enum_column(Repeat, "repeat"))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    weekday: Mapped[int | None]
    day_of_month: Mapped[int | None]
    starts_at: Mapped[time]
    ends_at: Mapped[time]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    # How many residents may book each occurrence (预约接待); 0 takes no bookings.
    capacity: Mapped[int] = mapped_column(server_default=sa.text("10"), default=10)
    cancelled_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    station: Mapped[Station] = relationship()
    representatives: Mapped[list[Representative]] = relationship(secondary=reception_day_representative)

    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_on_after_start"),
        sa.CheckConstraint("capacity BETWEEN 0 AND 50", name="capacity_range"),
        sa.CheckConstraint(
            "(repeat = 'once' AND weekday IS NULL AND day_of_month IS NULL AND ends_on IS NULL)"
            " OR (repeat = 'weekly' AND weekday IS NOT NULL AND weekday BETWEEN 0 AND 6 AND day_of_month IS NULL)"
            " OR (repeat = 'monthly' AND day_of_month IS NOT NULL"
            " AND day_of_month BETWEEN 1 AND 31 AND weekday IS NULL)",
            name="rule_complete",
        ),
    )


class Notice(ShownOnStationPage, Base):
    """A notice (公告) of a region's congress staff: one record, shown on every active
    station of the region and of the regions below it until withdrawn."""

    __tablename__ = "board_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    region: Mapped[Region] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (sa.CheckConstraint("title <> ''", name="title_not_empty"),)
