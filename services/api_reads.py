"""What the JSON API (/api/v1/) reads beyond what the pages already read: the public lists
of stations and units, a page at a time in id order (keyset, services.keyset's sealed
cursors), and the concerns in a key's scope (the inbox's query, services.inbox)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from extensions import db
from models import Concern, Region, Station, Unit
from services import inbox, keyset
from services.codes import normalize_station_code
from services.errors import ApiRefused
from services.permissions import region_subtree


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next: str | None


def region_by_code(code: str | None) -> Region | None:
    """The region a filter names; refuses unknown_region for a code that is none."""
    if not code:
        return None
    region = db.session.scalar(sa.select(Region).where(Region.code == code))
    if region is None:
        raise ApiRefused("unknown_region", value=code)
    return region


def _by_id(kind: str, model, query: sa.Select, cursor: str | None, limit: int) -> Page:
    after = keyset.after_id(kind, cursor)
    if after is not None:
        query = query.where(model.id > after)
    rows = list(db.session.scalars(query.order_by(model.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, keyset.seal(kind, str(rows[-1].id)) if more and rows else None)


def stations(region_code: str | None, cursor: str | None, limit: int) -> Page:
    """Open stations, in the region and below when one is given."""
    return _active_in_region("stations", Station, region_code, cursor, limit)


def units(region_code: str | None, cursor: str | None, limit: int) -> Page:
    """Active handling units, in the region and below when one is given."""
    return _active_in_region("units", Unit, region_code, cursor, limit)


def _active_in_region(kind: str, model, region_code: str | None, cursor: str | None, limit: int) -> Page:
    region = region_by_code(region_code)
    query = sa.select(model).where(model.is_active)
    if region is not None:
        query = query.where(model.region_id.in_(region_subtree(region.id)))
    return _by_id(kind, model, query, cursor, limit)


def concerns(principal, status: str, station_code: str | None, since, cursor: str | None, limit: int) -> Page:
    """The concerns in the key's scope (the inbox of the account it stands in for), newest
    first, filtered by status ("open", "final" or one status), station and filing time."""
    station_id = None
    if station_code:
        code = normalize_station_code(station_code)
        station_id = db.session.scalar(sa.select(Station.id).where(Station.code == code)) if code else None
        if station_id is None:
            raise ApiRefused("unknown_station", value=station_code)
    f = inbox.InboxFilter(status=status or "", station_id=station_id, since=since)
    position = keyset.unseal("concerns", cursor)
    if position is not None and keyset.decode(position) is None:
        raise ApiRefused("bad_cursor")
    page = inbox.page(principal, f, position, size=limit)
    return Page(page.concerns, keyset.seal("concerns", page.next_cursor) if page.next_cursor else None)


def concern_in_scope(principal, concern_id: int) -> Concern | None:
    from services.permissions import Permission, can

    concern = db.session.get(Concern, concern_id)
    return concern if concern is not None and can(principal, Permission.CONCERN_VIEW, concern) else None
