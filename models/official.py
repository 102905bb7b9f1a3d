"""Officials at the station (领导干部代表 / 国家机关负责人进站): the heads of government
departments, courts and procuratorates who hold office hours at liaison stations.

One profile, `Official`, on top of an account: an account of the role `official`, or a
representative's account when the representative is such a leader. A profile rather than
a role alone, because the second case needs the unit and the post beside the
representative's own profile, and one table then covers both.
"""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ShownOnStationPage, TimestampMixin
from models.duty import StationVisit
from models.station import Station
from models.unit import Unit
from models.user import User


class Official(ShownOnStationPage, Base):
    """A leader of a handling unit (局长, 院长, 检察长…) who comes to stations in person."""

    __tablename__ = "official"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    # 职务, as the person is introduced: 县住房和城乡建设局局长.
    post: Mapped[str] = mapped_column(sa.String(120))

    user: Mapped[User] = relationship(back_populates="official", lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("length(post) > 0", name="post_not_empty"),)

    @property
    def name(self) -> str:
        return self.user.display_name


class OfficeHour(ShownOnStationPage, Base):
    """An official's office hours at a station (领导进站接待), shaped like a roster slot."""

    __tablename__ = "office_hour"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("station.id", ondelete="CASCADE"))
    official_id: Mapped[int] = mapped_column(sa.ForeignKey("official.id", ondelete="CASCADE"))
    day: Mapped[date]
    starts_at: Mapped[time]
    ends_at: Mapped[time]
    # Hours made together by "repeat weekly" share a series, so they can be removed together.
    series: Mapped[str | None] = mapped_column(sa.String(32), index=True)

    station: Mapped[Station] = relationship()
    official: Mapped[Official] = relationship()

    __table_args__ = (
        sa.Index("ix_office_hour_station_day", "station_id", "day"),
        sa.UniqueConstraint("official_id", "day", "starts_at", name="uq_office_hour_official_day_start"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )


class OfficialSession(StationVisit, ShownOnStationPage, TimestampMixin, Base):
    """An official's time at a station, checked in and out like a representative's duty
    (services.duty: the same presence proof and nonce), kept in the official's record."""

    __tablename__ = "official_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    official_id: Mapped[int] = mapped_column(sa.ForeignKey("official.id"))
    # Added after the table (0021b): the server default fills the rows already there.
    review_note: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))

    official: Mapped[Official] = relationship()

    __table_args__ = (
        # At most one open session per official, whatever the application does.
        sa.Index(
            "uq_official_session_one_open",
            "official_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
        sa.Index("ix_official_session_official_in", "official_id", "checked_in_at"),
        sa.Index("ix_official_session_station_status", "station_id", "status"),
        *StationVisit.visit_constraints("official_session"),
    )
