"""Open311 GeoReport v2 (/open311/v2/): the categories as services, and a concern as a
service request, for systems that speak the standard (a 12345 hotline, FixMyStreet).

A request is filed by a system's acting API key of a region, at one of its region's open
stations: Open311 knows no stations, so the client names one (the extension attribute
`attribute[station]`, a station's public code), or the key's region has exactly one open
station and that is it. It enters the loop exactly as the resident's form does
(services.concerns.submit_concern: the same validation, photo rules and duplicate
protection, the sender being the key), with source `api`, and its first event names the key.

Reading: a request by its id (the tracking code: whoever holds it reads what the tracking
page shows) and the token given when it was filed are public, as in the spec; the list is
the key's scope (as congress staff of its region, or its unit's handler), because on this
service the tracking code is the resident's credential (it opens the rating form), so it is
handed to nobody outside the concern's scope.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from extensions import db
from models import Category, Concern, Open311Request, Station, utcnow
from models.enums import ConcernSource
from services import concerns as concern_service
from services import stations as station_service
from services.api_keys import KeyPrincipal
from services.codes import normalize_station_code, normalize_tracking_code
from services.concern_flow import FINAL_STATUSES
from services.errors import ApiRefused
from services.permissions import Permission, can, concern_scope, region_subtree
from services.photos import ProcessedPhoto
from services.storage import Storage

# The spec's defaults for GET requests: the last 90 days, at most 1000 requests.
DEFAULT_SPAN = timedelta(days=90)
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
ADDRESS_MAX = 200


def is_open(concern: Concern) -> bool:
    """Open311's two statuses: closed once the loop has ended (closed, not accepted,
    merged, withdrawn), open before."""
    return concern.status not in FINAL_STATUSES


def category(code: str) -> Category | None:
    found = db.session.scalar(sa.select(Category).where(Category.code == code))
    return found if found is not None and found.is_active else None


# --- filing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestInput:
    service_code: str
    description: str
    lat: float | None = None
    long: float | None = None
    address: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    station_code: str = ""
    consent: bool = False
    public: bool = False


def full_name(first: str, last: str) -> str:
    """A Chinese name is family name first and unspaced (李 + 秀英 → 李秀英); others as given."""
    first, last = concern_service.clean_text(first), concern_service.clean_text(last)
    if any(unicodedata.name(ch, "").startswith("CJK") for ch in first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def station_for(p: KeyPrincipal, code: str) -> Station:
    """The station a request is filed at: the one named, or the only open station of the
    key's region. Refuses unknown_station, station_required, not_permitted."""
    if code:
        canonical = normalize_station_code(code)
        station = station_service.get_active_station(canonical, with_representatives=False) if canonical else None
        if station is None:
            raise ApiRefused("unknown_station", value=code[:20])
    else:
        found = (
            list(
                db.session.scalars(
                    sa.select(Station)
                    .where(Station.is_active, Station.region_id.in_(region_subtree(p.region_id)))
                    .limit(2)
                )
            )
            if p.region_id is not None
            else []
        )
        if len(found) != 1:
            raise ApiRefused("station_required")
        station = found[0]
    if not can(p, Permission.CONCERN_FILE_BY_KEY, station):
        raise ApiRefused("not_permitted")
    return station


def file_request(
    p: KeyPrincipal,
    data: RequestInput,
    photos: list[ProcessedPhoto],
    *,
    storage: Storage,
    now: datetime | None = None,
) -> Open311Request:
    """File a service request as a concern. Refuses with ApiRefused (read_only_key,
    unknown_service, location_required, bad_location, and station_for's) and with the
    resident form's ConcernRefused codes. A request sent again (the same text, contact,
    category, photos and station from the same key within the form's duplicate window)
    returns the request it made the first time."""
    if p.read_only:
        raise ApiRefused("read_only_key")
    found = category(data.service_code)
    if found is None:
        raise ApiRefused("unknown_service", value=data.service_code[:40])
    if (data.lat is None) != (data.long is None):
        raise ApiRefused("bad_location")
    if data.lat is not None and not (-90 <= data.lat <= 90 and -180 <= (data.long or 0) <= 180):
        raise ApiRefused("bad_location")
    address = concern_service.clean_text(data.address)
    if len(address) > ADDRESS_MAX:
        raise ApiRefused("address_too_long", n=ADDRESS_MAX)
    # The spec asks for a place (lat/long or an address); the station named is one too.
    if data.lat is None and not address and not data.station_code:
        raise ApiRefused("location_required")
    station = station_for(p, data.station_code)
    concern = concern_service.submit_concern(
        station,
        concern_service.ConcernInput(
            category_id=found.id,
            content=data.description,
            contact_name=full_name(data.first_name, data.last_name),
            contact_mobile=data.phone,
            public=data.public,
            consent=data.consent,
        ),
        photos,
        storage=storage,
        # The duplicate protection of the form, with the key as the sender.
        sender=f"api-key:{p.api_key.id}",
        source=ConcernSource.API,
        now=now,
    )
    existing = db.session.get(Open311Request, concern.id)
    if existing is not None:
        return existing
    concern.events[0].api_key = p.api_key  # the filing names the key that filed it
    made = Open311Request(
        concern=concern,
        api_key_id=p.api_key.id,
        token=secrets.token_urlsafe(18),
        lat=data.lat,
        long=data.long,
        address=address,
        created_at=concern.created_at,
    )
    db.session.add(made)
    db.session.flush()
    return made


# --- reading ------------------------------------------------------------------------------


def by_tracking_code(code: str) -> Concern | None:
    canonical = normalize_tracking_code(code)
    return concern_service.find_by_tracking_code(canonical) if canonical else None


def by_token(token: str) -> Open311Request | None:
    if not token or len(token) > 40:
        return None
    return db.session.scalar(sa.select(Open311Request).where(Open311Request.token == token))


def details(concern_ids: list[int]) -> dict[int, Open311Request]:
    """What Open311 clients sent with these concerns (their place), by concern id."""
    if not concern_ids:
        return {}
    rows = db.session.scalars(sa.select(Open311Request).where(Open311Request.concern_id.in_(concern_ids)))
    return {row.concern_id: row for row in rows}


@dataclass(frozen=True)
class Filters:
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None  # naive UTC
    end: datetime | None = None
    statuses: tuple[str, ...] = ()  # "open", "closed"


def requests_in_scope(p: KeyPrincipal, f: Filters, now: datetime | None = None) -> list[Concern]:
    """The concerns in the key's scope, newest first, at most MAX_REQUESTS, as the spec's
    GET requests filters them: ids (tracking codes) override every other filter; else
    filed between start and end (the last 90 days by default, no longer span), of the
    services and statuses given. Refuses bad_period (start after end), period_too_long."""
    query = (
        sa.select(Concern)
        .where(concern_scope(p))
        .options(selectinload(Concern.category), selectinload(Concern.unit), selectinload(Concern.station))
        .order_by(Concern.created_at.desc(), Concern.id.desc())
        .limit(MAX_REQUESTS)
    )
    if f.ids:
        codes = [c for c in (normalize_tracking_code(raw) for raw in f.ids[:MAX_REQUESTS]) if c]
        return list(db.session.scalars(query.where(Concern.tracking_code.in_(codes))))
    now = now or utcnow()
    end = f.end or (f.start + DEFAULT_SPAN if f.start else now)
    start = f.start or end - DEFAULT_SPAN
    if start > end:
        raise ApiRefused("bad_period")
    if end - start > MAX_SPAN:
        raise ApiRefused("period_too_long", days=MAX_SPAN.days)
    query = query.where(Concern.created_at >= start, Concern.created_at <= end)
    if f.service_codes:
        query = query.where(Concern.category_id.in_(sa.select(Category.id).where(Category.code.in_(f.service_codes))))
    if set(f.statuses) == {"open"}:
        query = query.where(Concern.status.not_in(FINAL_STATUSES))
    elif set(f.statuses) == {"closed"}:
        query = query.where(Concern.status.in_(FINAL_STATUSES))
    return list(db.session.scalars(query))
