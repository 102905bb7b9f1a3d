"""Reading stations for the public page (码上见)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import Category, Concern, Duty, DutySlot, Representative, Station
from models.enums import ConcernStatus, DutyStatus, RepLevel
from services.clock import local_today, year_start

LEVEL_ORDER = list(RepLevel)


@dataclass(frozen=True)
class StationStats:
    received: int
    closed: int


def get_active_station(code: str, *, with_representatives: bool = True) -> Station | None:
    query = sa.select(Station).where(Station.code == code)
    if with_representatives:
        query = query.options(selectinload(Station.representatives).joinedload(Representative.user))
    station = db.session.scalar(query)
    return station if station is not None and station.is_active else None


def station_stats(station: Station, now: datetime | None = None) -> StationStats:
    since = year_start(now)
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


def serving(rep: Representative, day: date | None = None) -> bool:
    """In office today (or on `day`): a representative whose term has ended keeps their
    record, 履职档案 and reports, but no longer checks in or takes up concerns."""
    return rep.serving_on(day or local_today())


def representatives_in_order(station: Station) -> list[Representative]:
    """The station's representatives in office: national first, then provincial, city,
    county, township."""
    today = local_today()
    return sorted(
        (r for r in station.representatives if r.serving_on(today)), key=lambda r: (LEVEL_ORDER.index(r.level), r.name)
    )


def active_categories() -> list[Category]:
    return list(
        db.session.scalars(sa.select(Category).where(Category.is_active).order_by(Category.sort_order, Category.id))
    )


def on_duty_now(station: Station) -> list[Duty]:
    """Who is in the station right now (在站): open duties, earliest first."""
    return list(
        db.session.scalars(
            sa.select(Duty)
            .options(selectinload(Duty.representative).joinedload(Representative.user))
            .where(Duty.station_id == station.id, Duty.status == DutyStatus.OPEN)
            .order_by(Duty.checked_in_at)
        )
    )


def roster_days(station: Station, first: date | None = None, days: int = 8) -> list[tuple[date, list[DutySlot]]]:
    """The roster of today and the next seven days, day by day (days without anyone left out)."""
    first = first or local_today()
    slots = db.session.scalars(
        sa.select(DutySlot)
        .options(selectinload(DutySlot.representative).joinedload(Representative.user))
        .where(DutySlot.station_id == station.id, DutySlot.day >= first, DutySlot.day < first + timedelta(days=days))
        .order_by(DutySlot.day, DutySlot.starts_at)
    ).all()
    by_day: dict[date, list[DutySlot]] = {}
    for slot in slots:
        by_day.setdefault(slot.day, []).append(slot)
    return list(by_day.items())
