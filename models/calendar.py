from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CalendarDay(Base):
    """An admin's entry for a day the holiday library does not know (a new year's State
    Council schedule): a public holiday or a make-up working day (调休). It wins over the
    library."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    name: Mapped[str] = mapped_column(sa.String(40), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarYear(Base):
    """A year whose whole official schedule has been entered: imported as a file, or marked
    complete by an admin once every day is in. Until then a year the holiday library does not
    know is counted on weekdays only, whatever single days were entered for it."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
