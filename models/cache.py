from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# The generation of the anonymous station pages that every app server keeps cached.
STATION_PAGES = "station_pages"


class CacheStamp(Base):
    """A counter shared by every app server: bumped in the transaction that changes what a
    cached page shows, read by each worker at most once a second to know its copies are old."""

    __tablename__ = "cache_stamp"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
