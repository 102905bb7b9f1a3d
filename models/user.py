from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ShownOnStationPage, TimestampMixin, enum_column
from models.enums import RepLevel, Role
from models.region import Region
from models.station import Station, representative_station
from models.unit import Unit

if TYPE_CHECKING:
    from models.official import Official
    from models.outbox import Outbox

manager_station = sa.Table(
    "manager_station",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(UserMixin, TimestampMixin, Base):
    """A person who signs in. Residents never have one."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    mobile: Mapped[str | None] = mapped_column(sa.String(11), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(60))
    # Where notifications go (e-mail first, else an SMS to the mobile number).
    email: Mapped[str | None] = mapped_column(sa.String(120))
    # Empty until the person sets one through an invitation link: nobody else ever types it.
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    # Bumped on a password change: every session signed with an older value ends.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    region: Mapped[Region | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    managed_stations: Mapped[list[Station]] = relationship(secondary=manager_station)
    representative: Mapped[Representative | None] = relationship(back_populates="user", uselist=False)
    # The leader's profile (an official's account, or a representative who is such a leader).
    official: Mapped[Official | None] = relationship(back_populates="user", uselist=False)

    __table_args__ = (
        sa.CheckConstraint("role <> 'unit_handler' OR unit_id IS NOT NULL", name="handler_has_unit"),
        sa.CheckConstraint("role <> 'congress_staff' OR region_id IS NOT NULL", name="staff_has_region"),
        sa.CheckConstraint("failed_logins >= 0", name="failed_logins_nonnegative"),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"


class Representative(ShownOnStationPage, Base):
    """The representative's profile on top of their account."""

    __tablename__ = "representative"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    # 代表码: the permanent public code of /r/<code> (services.codes.new_rep_code), printed
    # on the representative's card. Never the row id, never changed.
    # Every representative has one (services.codes.new_rep_code); NULL only for one made by
    # the previous release during an upgrade, until `flask make-qrcodes` gives it.
    code: Mapped[str] = mapped_column(sa.String(12), unique=True, nullable=True)
    level: Mapped[RepLevel] = mapped_column(enum_column(RepLevel, "level"))
    delegation: Mapped[str] = mapped_column(sa.String(80), default="")
    occupation: Mapped[str] = mapped_column(sa.String(120), default="")
    post: Mapped[str] = mapped_column(sa.String(120), default="", server_default=sa.text("''"))
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    focus_areas: Mapped[str] = mapped_column(sa.String(200), default="", server_default=sa.text("''"))
    photo_key: Mapped[str | None] = mapped_column(sa.String(80))
    # The current term of office (届次); a re-elected representative keeps this one record.
    term_number: Mapped[int | None]
    term_start: Mapped[date | None]
    term_end: Mapped[date | None]

    user: Mapped[User] = relationship(back_populates="representative", lazy="joined")
    stations: Mapped[list[Station]] = relationship(secondary=representative_station, back_populates="representatives")

    __table_args__ = (
        sa.CheckConstraint(
            "term_start IS NULL OR term_end IS NULL OR term_end >= term_start", name="term_ends_after_start"
        ),
        sa.CheckConstraint("term_number IS NULL OR term_number > 0", name="term_number_positive"),
    )

    @property
    def name(self) -> str:
        return self.user.display_name

    def serving_on(self, day: date) -> bool:
        """In office on `day`: their term has not ended (no term entered counts as serving)."""
        return self.term_end is None or self.term_end >= day


class AccountLink(Base):
    """A single-use link that lets a person set their own password: an invitation to a new
    account, or a forgotten password. Only the token's hash is kept."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(10))  # invite | reset
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10), default="")  # sms | email
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # A newer link for the same person ends this one.
    revoked_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    # The SMS or e-mail that carries the link: the back office shows whether it has left.
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    message: Mapped[Outbox | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name="purpose_known"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )
