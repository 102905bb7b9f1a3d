"""Drafts of laws and regulations put out for comment at the legislative contact points
(基层立法联系点): the draft, its text split into articles, the residents' comments and the
trail of their moderation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ShownOnStationPage, TimestampMixin, enum_column, utcnow
from models.enums import DraftCommentStatus, DraftItemKind, DraftStatus

if TYPE_CHECKING:
    from models.region import Region
    from models.station import Station
    from models.user import User


draft_law_station = sa.Table(
    "draft_law_station",
    Base.metadata,
    sa.Column("draft_law_id", sa.ForeignKey("draft_law.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class DraftLaw(ShownOnStationPage, TimestampMixin, Base):
    """A draft law or regulation open for comment at contact points: every contact point in
    `region` and the regions below it (`all_stations`), or the chosen `stations`. Its text,
    split into `items`, is fixed once it is published: comments point at its articles.
    Shown on the station pages (a link while it is open), so its changes drop their cache."""

    __tablename__ = "draft_law"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose draft it is: the congress staff of this region (and above) publish and moderate it.
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    issuing_body: Mapped[str] = mapped_column(sa.String(120), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    # The text as pasted, kept so that a draft being prepared is edited as it was typed.
    source_text: Mapped[str] = mapped_column(sa.Text, default="")
    closes_at: Mapped[datetime]
    status: Mapped[DraftStatus] = mapped_column(enum_column(DraftStatus, "status"), default=DraftStatus.DRAFT)
    all_stations: Mapped[bool] = mapped_column(default=True)
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))

    region: Mapped[Region] = relationship()
    stations: Mapped[list[Station]] = relationship(secondary=draft_law_station)
    items: Mapped[list[DraftItem]] = relationship(
        back_populates="draft", order_by="DraftItem.position", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_draft_law_status_closes_at", "status", "closes_at"),
        sa.CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_has_time"),
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
    )

    @property
    def articles(self) -> list[DraftItem]:
        return [item for item in self.items if item.kind == DraftItemKind.ARTICLE]


class DraftItem(Base):
    """One piece of a draft's text, in order: a chapter or section heading, or an article
    (第X条) with its number and text."""

    __tablename__ = "draft_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_law_id: Mapped[int] = mapped_column(sa.ForeignKey("draft_law.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[DraftItemKind] = mapped_column(enum_column(DraftItemKind, "kind"))
    number: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(20))  # 第二十三条, 第一章, as written
    text: Mapped[str] = mapped_column(sa.Text, default="")  # an article's text; a heading's title

    draft: Mapped[DraftLaw] = relationship(back_populates="items")

    __table_args__ = (
        sa.UniqueConstraint("draft_law_id", "position", name="uq_draft_item_position"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )


class DraftComment(TimestampMixin, Base):
    """A resident's comment on one article of a draft, or on the whole draft (no item).

    `code` is the resident's key to their comments (/c/<code>): every comment they make from
    that page's link carries the same one. Name and mobile are optional, and kept only with
    consent, as a concern's. Moderated through services.drafts.COMMENT_FLOW."""

    __tablename__ = "draft_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_law_id: Mapped[int] = mapped_column(sa.ForeignKey("draft_law.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draft_item.id", ondelete="CASCADE"), index=True)
    # The contact point it was sent from: the one that forwards it.
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(12), index=True)
    # The form's one-time key: a double tap finds the comment it made.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    content: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.String(30))
    mobile: Mapped[str | None] = mapped_column(sa.String(11))
    consent_at: Mapped[datetime | None]
    status: Mapped[DraftCommentStatus] = mapped_column(
        enum_column(DraftCommentStatus, "status"), default=DraftCommentStatus.PENDING
    )
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draft_comment.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)

    draft: Mapped[DraftLaw] = relationship()
    item: Mapped[DraftItem | None] = relationship()
    station: Mapped[Station] = relationship()
    merged_into: Mapped[DraftComment | None] = relationship(remote_side=[id])
    events: Mapped[list[DraftCommentEvent]] = relationship(
        back_populates="comment", order_by="DraftCommentEvent.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("(name IS NULL AND mobile IS NULL) OR consent_at IS NOT NULL", name="contact_with_consent"),
        sa.CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_target"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
    )


class DraftCommentEvent(Base):
    """One moderation step of a comment: who, when, from which status to which, the reason."""

    __tablename__ = "draft_comment_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("draft_comment.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[DraftCommentStatus | None] = mapped_column(enum_column(DraftCommentStatus, "from_status"))
    to_status: Mapped[DraftCommentStatus | None] = mapped_column(enum_column(DraftCommentStatus, "to_status"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    is_public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    comment: Mapped[DraftComment] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
