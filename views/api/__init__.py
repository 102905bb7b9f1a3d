"""The JSON API, /api/v1/: a versioned machine interface (DESIGN.md: once published,
changed only by a new version).

flask-smorest generates the OpenAPI 3.1 document from the same marshmallow schemas that
validate the requests and serialise the answers (views/api/schemas.py). Every error is
RFC 9457 problem+json with the refusal code (services.refusals words it, in Chinese or
English by Accept-Language). No CSRF (no cookies are read or set: a key in a header is the
credential), ETags on every GET, per-key rate limits.
"""

from __future__ import annotations

import http

from flask import Response, current_app, g, json, request
from flask_limiter.util import get_remote_address
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from extensions import csrf, db, limiter, reads_only
from services import api_keys
from services.errors import ApiRefused, DomainError, TransitionRefused
from services.refusals import message
from views.api.schemas import Problem

PREFIX = "/api/v1"
OPEN311_PREFIX = "/open311/v2"
PROBLEM_TYPE = "application/problem+json"
# HTTP status per refusal code of the API's own (the loop's refusals are 409 Conflict).
STATUS = {
    "key_required": 401,
    "bad_key": 401,
    "bad_signature": 401,
    "stale_timestamp": 401,
    "key_revoked": 401,
    "read_only_key": 403,
    "not_permitted": 403,
    "not_found": 404,
    "unknown_region": 404,
    "unknown_station": 404,
    "method_not_allowed": 405,
    "too_large": 413,
    "not_acceptable": 406,
    "bad_cursor": 400,
    "bad_period": 400,
    "period_too_long": 400,
    "invalid_input": 422,
    "bad_idempotency_key": 400,
    "idempotency_key_reused": 422,
    "idempotency_key_in_use": 409,
    "too_many_requests": 429,
    "internal": 500,
    "unavailable": 503,
}
HTTP_CODES = {
    400: "invalid_input",
    401: "key_required",
    403: "not_permitted",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "invalid_input",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}
SECURITY = [{"bearer": []}, {"apiKey": []}]


class ProblemApi(Api):
    """flask-smorest's Api, with problem+json as the documented error body, and without its
    app-wide error handlers: the site's pages keep their own (views.errors), this API
    answers its errors itself."""

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


api = ProblemApi()
bp = Blueprint("api", __name__, url_prefix=PREFIX, description="码上 Mashang JSON API, version 1")


def problem_type(code: str) -> str:
    """The stable URI of a code: its entry on the docs page."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{PREFIX}/docs#problem-{code}"


def problem(refused: DomainError, status: int | None = None, **extra) -> Response:
    if status is None:
        status = 409 if isinstance(refused, TransitionRefused) else STATUS.get(refused.code, 400)
    body = {
        "type": problem_type(refused.code),
        "title": message(type(refused)(refused.code)),
        "status": status,
        "detail": message(refused),
        "code": refused.code,
        **extra,
    }
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status, mimetype=PROBLEM_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def http_problem(error: HTTPException) -> Response:
    """An HTTP error on an API path, as a problem (422: the fields webargs refused)."""
    status = error.code or 500
    extra = {}
    data = getattr(error, "data", None)
    if status == 422 and isinstance(data, dict) and "messages" in data:
        extra["errors"] = data["messages"]
    response = problem(ApiRefused(HTTP_CODES.get(status, "invalid_input")), status, **extra)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


# --- the key of this request -------------------------------------------------------------


def presented_key() -> str | None:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if header := request.headers.get("X-API-Key"):
        return header
    if request.path.startswith(OPEN311_PREFIX + "/"):
        # GeoReport v2 clients send the key as the `api_key` parameter (query or form).
        return request.values.get("api_key") or None
    return None


def principal() -> api_keys.KeyPrincipal | None:
    """The system this request comes from (None: no key given; a bad key refuses)."""
    if "api_principal" not in g:
        presented = presented_key()
        g.api_principal = None
        if presented is not None:
            g.api_principal = api_keys.principal(api_keys.authenticate(presented))
    return g.api_principal


def require_key() -> api_keys.KeyPrincipal:
    found = principal()
    if found is None:
        raise ApiRefused("key_required")
    return found


def rate_key() -> str:
    try:
        found = principal()
    except ApiRefused:
        found = None
    return f"api-key:{found.api_key.id}" if found is not None else f"api-ip:{get_remote_address()}"


def rate_value() -> str:
    try:
        found = principal()
    except ApiRefused:
        found = None
    if found is not None:
        return f"{found.api_key.rate_per_minute} per minute"
    return current_app.config["API_ANONYMOUS_RATE_LIMIT"]


@bp.before_request
def _authenticate() -> None:
    """A bad or revoked key is refused here, on every path. A POST reads the key without
    the write lock (reads_only): the last-used time is written on a connection of its own,
    which on SQLite would otherwise wait its whole busy timeout for this request's lock."""
    if request.method == "GET":
        touch_key()
        return
    with reads_only():
        touch_key()


def touch_key() -> None:
    found = principal()
    if found is not None:
        api_keys.touch(found.api_key)


@bp.after_request
def _conditional(response: Response) -> Response:
    """An ETag on every successful GET, and 304 when the client has it already. What a
    key reads is that key's: kept by no shared cache."""
    response.vary.update(("Accept-Language", "Authorization", "X-API-Key"))
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.add_etag()
        response.make_conditional(request)
        response.headers.setdefault("Cache-Control", "private, no-cache" if presented_key() else "no-cache")
    return response


@bp.errorhandler(DomainError)
def _refused(refused: DomainError):
    db.session.rollback()
    return problem(refused)


@bp.errorhandler(HTTPException)
def _http(error: HTTPException):
    return http_problem(error)


def register(app) -> None:
    from views.api import docs, resources  # noqa: F401  (their routes)

    app.config.setdefault("API_ANONYMOUS_RATE_LIMIT", "120 per minute")
    # Chinese as it is, not as \u escapes: readable in curl, and a third smaller.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    api.init_app(
        app,
        spec_kwargs={
            "title": "码上 Mashang API",
            "version": "1",
            "openapi_version": "3.1.0",
            "info": {
                "description": _doc_intro(),
            },
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    csrf.exempt(bp)
    limiter.limit(rate_value, key_func=rate_key)(bp)
    api.register_blueprint(bp)
    app.register_blueprint(docs.bp)


def _doc_intro() -> str:
    return (
        "Stations, representatives' public profiles, categories and units are public. Concerns in a "
        "key's scope, their steps and figures need an API key (`Authorization: Bearer mk_…` or "
        "`X-API-Key`), made by the administrator at /admin/api-keys. Errors are RFC 9457 "
        "problem+json with a stable `code`; messages follow Accept-Language (zh-Hans by default, en). "
        "Lists page with opaque cursors (`next`); every GET has an ETag."
    )
