from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# The generation of the anonymous station pages that every app server keeps cached.
STATION_PAGES = "station_pages"


class CacheStamp(Base):
    """A counter shared by every app server: bumped in the transaction that changes what a
    cached page shows, read by each worker at most once a second to know its copies are old."""

    __tablename__ = "cache_stamp"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class PageChange(Base):
    """A journal of which kept pages a commit made old, read by every app server once a second:
    unlike the one generation of the station pages, it names the page (`concern:<id>` for a
    tracking page), so that a change to one concern drops that concern's page only. Rows
    older than an hour are deleted by a job (pages are kept for less than that)."""

    __tablename__ = "page_change"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
