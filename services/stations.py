"""Reading stations for the public page (码上见)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import Category, Concern, Representative, Station
from models.enums import ConcernStatus, RepLevel

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
LEVEL_ORDER = list(RepLevel)


@dataclass(frozen=True)
class StationStats:
    received: int
    closed: int


def get_active_station(code: str) -> Station | None:
    station = db.session.scalar(
        sa.select(Station)
        .where(Station.code == code)
        .options(selectinload(Station.representatives).joinedload(Representative.user))
    )
    return station if station is not None and station.is_active else None


def year_start_utc(now: datetime | None = None) -> datetime:
    """The start of this calendar year in China, as naive UTC like the stored times."""
    local_now = (now or datetime.now(UTC)).astimezone(LOCAL_TZ)
    start = local_now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC).replace(tzinfo=None)


def station_stats(station: Station, now: datetime | None = None) -> StationStats:
    since = year_start_utc(now)
    received, closed = db.session.execute(
        sa.select(
            sa.func.count().filter(Concern.created_at >= since),
            sa.func.count().filter(Concern.status == ConcernStatus.CLOSED, Concern.closed_at >= since),
        ).where(
            Concern.station_id == station.id,
            sa.or_(Concern.created_at >= since, Concern.closed_at >= since),
        )
    ).one()
    return StationStats(received=received, closed=closed)


def representatives_in_order(station: Station) -> list[Representative]:
    """National representatives first, then provincial, city, county, township."""
    return sorted(station.representatives, key=lambda r: (LEVEL_ORDER.index(r.level), r.name))


def active_categories() -> list[Category]:
    return list(
        db.session.scalars(sa.select(Category).where(Category.is_active).order_by(Category.sort_order, Category.id))
    )
