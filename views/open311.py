"""Open311 GeoReport v2 at /open311/v2/ (http://wiki.open311.org/GeoReport_v2), in JSON and
XML as the spec defines them: the format is the path's extension. Errors are the spec's
list of {code, description} (code: the HTTP status), in the format asked for.

A versioned machine interface (DESIGN.md): once published, changed only by a new version.
What a request means here (stations, consent, the list's scope) is services.open311's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, g, json, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException

from extensions import csrf, db, limiter, reads_only
from models import Concern
from services import concern_flow as flow
from services import open311 as service
from services import refusals
from services import stations as station_service
from services.clock import to_local
from services.errors import ApiRefused, ConcernRefused, DomainError, PhotoRefused
from services.photos import decode_slot, limits, process_photo
from services.storage import StorageUnavailable
from views import api as api_module
from views.api.idempotency import Gate

PREFIX = api_module.OPEN311_PREFIX
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The date this interface last changed, for the discovery document's `changeset`.
CHANGESET = "2026-12-01T00:00:00Z"
FORMATS = {"json": "application/json", "xml": "text/xml"}
# The extension attributes a request may carry (attribute[<code>]): this service's own.
STATION_ATTRIBUTE = "station"
CONSENT_ATTRIBUTE = "consent"
PUBLIC_ATTRIBUTE = "public"
TRUE = frozenset({"1", "true", "yes", "on"})

bp = Blueprint("open311", __name__, url_prefix=PREFIX)
FMT = "<any(json, xml):fmt>"


def is_open311_request() -> bool:
    return request.path.startswith(PREFIX + "/")


def _fmt() -> str:
    """The format asked for: the path's extension (JSON for a path without one)."""
    return "xml" if request.path.endswith(".xml") else "json"


# --- rendering ----------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_element(tag: str, value) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            element.append(_xml_element(key, inner))
    elif isinstance(value, list):
        # The spec's XML names an item by its list: <keywords> holds text, <attributes>
        # <attribute>, <values> <value>, <formats> <format>, <endpoints> <endpoint>.
        if tag == "keywords":
            element.text = ",".join(value)
        else:
            for inner in value:
                element.append(_xml_element(tag.removesuffix("s"), inner))
    else:
        element.text = _text(value)
    return element


def render(data, status: int = 200, *, root: str, item: str | None = None) -> Response:
    """`data` (a list of `item`s or one object) in the format asked for: JSON as it is,
    XML under `root` as the spec's examples have it."""
    if _fmt() == "xml":
        if item is not None:
            element = ET.Element(root)
            for entry in data:
                element.append(_xml_element(item, entry))
        else:
            element = _xml_element(root, data)
        body = ET.tostring(element, encoding="unicode", xml_declaration=False)
        return current_app.response_class(
            '<?xml version="1.0" encoding="utf-8"?>\n' + body, status, mimetype=FORMATS["xml"]
        )
    return current_app.response_class(json.dumps(data, ensure_ascii=False), status, mimetype=FORMATS["json"])


def status_of(refused: DomainError) -> int:
    if isinstance(refused, ApiRefused):
        return api_module.STATUS.get(refused.code, 400)
    if isinstance(refused, PhotoRefused) and refused.code == "busy":
        return 503
    return 400


def error(status: int, description: str) -> Response:
    response = render([{"code": status, "description": description}], status, root="errors", item="error")
    response.headers["Cache-Control"] = "no-store"
    return response


def refusal(refused: DomainError) -> Response:
    return error(status_of(refused), refusals.message(refused))


def http_error(exc: HTTPException) -> Response:
    """An HTTP error on an Open311 path (unknown path, method, too large, rate limit, crash)."""
    status = exc.code or 500
    response = error(status, refusals.message(ApiRefused(api_module.HTTP_CODES.get(status, "invalid_input"))))
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


@bp.errorhandler(DomainError)
def _refused(refused: DomainError):
    db.session.rollback()
    return refusal(refused)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    return http_error(exc)


@bp.before_request
def _authenticate() -> None:
    """A key given (the api_key parameter, or the API's headers) must be good, on every path.
    A POST reads it without the write lock: the photos are decoded before anything is written."""
    if request.method == "POST":
        with reads_only():
            api_module.touch_key()
    else:
        api_module.touch_key()


@bp.after_request
def _headers(response: Response) -> Response:
    response.vary.update(("Accept-Language", "Authorization", "X-API-Key"))
    if request.method == "GET" and response.status_code == 200:
        response.add_etag()
        response.make_conditional(request)
        response.headers.setdefault("Cache-Control", "private, no-cache" if api_module.presented_key() else "no-cache")
    return response


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset of the local zone (+08:00), as the spec asks."""
    return to_local(moment).isoformat(timespec="seconds") if moment is not None else None


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


# --- discovery and services ---------------------------------------------------------------


@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str):
    """Where the endpoint is and what it speaks (the spec's service discovery)."""
    return render(
        {
            "changeset": CHANGESET,
            "contact": _("Ask the administrator of this service for an API key."),
            "key_service": f"{_base_url()}/admin/api-keys",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": f"{_base_url()}{PREFIX}",
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": list(FORMATS.values()),
                }
            ],
        },
        root="discovery",
    )


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh_Hans")


def _service(category) -> dict:
    lang = _locale()
    return {
        "service_code": category.code,
        "service_name": category.display_name(lang),
        "description": category.display_name(lang),
        "metadata": False,
        "type": "realtime",
        # Both names, to search by; without commas, which separate keywords in the XML.
        "keywords": [" ".join(name.replace(",", " ").split()) for name in (category.name_zh, category.name_en) if name],
        "group": _("Concerns to representatives' liaison stations"),
    }


@bp.get(f"/services.{FMT}")
def services(fmt: str):
    """The categories of concerns, as services."""
    return render([_service(c) for c in station_service.active_categories()], root="services", item="service")


@bp.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str):
    """A service's definition: its one optional attribute, the station (see the module)."""
    found = service.category(code)
    if found is None:
        raise ApiRefused("not_found")
    return render(
        {
            "service_code": found.code,
            "attributes": [
                {
                    "variable": True,
                    "code": STATION_ATTRIBUTE,
                    "datatype": "string",
                    "required": False,
                    "datatype_description": _("The public code of the station, as in its address /s/<code>."),
                    "order": 1,
                    "description": _(
                        "The liaison station the concern is for. It may be left out when the key's region has "
                        "exactly one open station."
                    ),
                }
            ],
        },
        root="service_definition",
    )


# --- requests -------------------------------------------------------------------------------


def _stage_notes(concern: Concern) -> str:
    label = flow.status_for_resident(concern.status)
    done = flow.stage_done(concern.status)
    if done is None:
        return label
    return _(
        "%(status)s (stage %(n)d of %(total)d: %(term)s)",
        status=label,
        n=done + 1,
        total=len(flow.STAGES),
        term=flow.STAGES[done][2],
    )


def _request(concern: Concern, detail) -> dict:
    """A concern as a service request: what its tracking page shows publicly, never the
    resident's name or number, never an internal note, no photos."""
    station = concern.station
    return {
        "service_request_id": concern.tracking_code,
        "status": "open" if service.is_open(concern) else "closed",
        "status_notes": _stage_notes(concern),
        "service_name": concern.category.display_name(_locale()),
        "service_code": concern.category.code,
        "description": concern.content,
        "agency_responsible": concern.unit.name if concern.unit is not None else None,
        "service_notice": None,
        "requested_datetime": _iso(concern.created_at),
        "updated_datetime": _iso(concern.updated_at),
        "expected_datetime": _iso(concern.due_at) if service.is_open(concern) else None,
        "address": (detail.address if detail is not None and detail.address else station.address) or None,
        "address_id": None,
        "zipcode": None,
        "lat": detail.lat if detail is not None and detail.lat is not None else station.latitude,
        "long": detail.long if detail is not None and detail.long is not None else station.longitude,
        "media_url": None,
    }


def _csv(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in request.args.get(name, "").split(",") if part.strip())


def _date(name: str) -> datetime | None:
    """A w3c date-time (2010-01-01T00:00:00Z), as naive UTC; a date without a zone is local."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in raw else raw)
    except ValueError:
        raise ApiRefused("bad_date", name=name) from None
    if moment.tzinfo is None:
        from services.clock import LOCAL_TZ

        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC).replace(tzinfo=None)


@bp.get(f"/requests.{FMT}")
def requests_list(fmt: str):
    """The requests in the key's scope (see the module: the list needs a key), with the
    spec's filters."""
    p = api_module.require_key()
    statuses = _csv("status")
    if any(s not in ("open", "closed") for s in statuses):
        raise ApiRefused("bad_status")
    found = service.requests_in_scope(
        p,
        service.Filters(
            ids=_csv("service_request_id"),
            service_codes=_csv("service_code"),
            start=_date("start_date"),
            end=_date("end_date"),
            statuses=statuses,
        ),
    )
    details = service.details([c.id for c in found])
    return render([_request(c, details.get(c.id)) for c in found], root="service_requests", item="request")


@bp.get(f"/requests/<code>.{FMT}")
def request_one(code: str, fmt: str):
    """One request by its id (the tracking code: public to whoever holds it, as /t/<code>)."""
    concern = service.by_tracking_code(code)
    if concern is None:
        raise ApiRefused("not_found")
    detail = service.details([concern.id]).get(concern.id)
    return render([_request(concern, detail)], root="service_requests", item="request")


@bp.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str):
    """The request a token stands for (the spec's GET service_request_id from a token)."""
    found = service.by_token(token)
    if found is None:
        raise ApiRefused("not_found")
    return render(
        [{"service_request_id": found.concern.tracking_code, "token": found.token}],
        root="service_requests",
        item="request",
    )


def _float(name: str) -> float | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiRefused("bad_location") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ApiRefused("bad_location")
    return value


def _photos() -> list:
    """The `media` files, cleaned as the resident form's photos are (services.photos), before
    any transaction. A `media_url` is never fetched: nothing is loaded from another host."""
    if request.form.get("media_url", "").strip():
        raise ApiRefused("media_url_not_fetched")
    files = [f for f in request.files.getlist("media") if isinstance(f, FileStorage) and f.filename]
    if len(files) > current_app.config["MAX_PHOTOS"]:
        raise ConcernRefused("too_many_photos")
    if not files:
        return []
    cfg = current_app.config
    with decode_slot(cfg["PHOTO_DECODES_AT_ONCE"], cfg["PHOTO_DECODE_WAIT_SECONDS"]):
        return [process_photo(f.stream.read(cfg["MAX_PHOTO_BYTES"] + 1), **limits(cfg)) for f in files]


def _attribute(code: str) -> str:
    return request.form.get(f"attribute[{code}]", "").strip()


@bp.post(f"/requests.{FMT}")
def create(fmt: str):
    """File a concern (the spec's POST Service Request), with an acting key of a region.
    Form fields (urlencoded or multipart): api_key, service_code, description, lat and
    long or address_string, first_name, last_name, phone (email is not kept), media (photo
    files); attribute[station], attribute[consent] (the resident agreed that their contact
    is kept; needed with a name or a phone), attribute[public] (agreed to publish the answer).
    An Idempotency-Key header makes a resend answer as the first did."""
    from views.public import storage

    p = api_module.require_key()
    gate = Gate(p.api_key)  # reads the body (and the photos' bytes) for its fingerprint
    photos = _photos()
    data = service.RequestInput(
        service_code=request.form.get("service_code", "").strip(),
        description=request.form.get("description", ""),
        lat=_float("lat"),
        long=_float("long"),
        address=request.form.get("address_string", ""),
        first_name=request.form.get("first_name", ""),
        last_name=request.form.get("last_name", ""),
        phone=request.form.get("phone", ""),
        station_code=_attribute(STATION_ATTRIBUTE) or request.form.get("station_code", "").strip(),
        consent=_attribute(CONSENT_ATTRIBUTE).lower() in TRUE,
        public=_attribute(PUBLIC_ATTRIBUTE).lower() in TRUE,
    )
    try:
        replay = gate.open()
        if replay is not None:
            db.session.rollback()
            return replay
        made = service.file_request(g.api_principal, data, photos, storage=storage())
        body = [
            {
                "service_request_id": made.concern.tracking_code,
                "token": made.token,
                "service_notice": None,
                "account_id": None,
            }
        ]
        db.session.commit()
    except StorageUnavailable:
        db.session.rollback()
        raise ApiRefused("unavailable") from None
    return gate.close(render(body, 201, root="service_requests", item="request"))


def register(app) -> None:
    csrf.exempt(bp)
    limiter.limit(api_module.rate_value, key_func=api_module.rate_key)(bp)
    app.register_blueprint(bp)
