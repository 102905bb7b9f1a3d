"""Each request's id, its log fields and its figures; and /metrics for Prometheus.

The request id comes from the proxy's X-Request-ID when it is sane, else is made here; it
is on every log line of the request, in the response's X-Request-ID, on the error pages
(for a resident to quote) and in gunicorn's access line (read from the WSGI environ).
What this adds to a request is a few dictionary writes and two in-memory increments: no
database work.
"""

import time

from flask import Flask, Response, abort, current_app, has_request_context, request

from extensions import db, limiter
from services import logs, metrics

REQUEST_ID = "mashang.request_id"  # keys in the WSGI environ, which gunicorn's logger reads too
ROUTE = "mashang.route"
_STARTED = "mashang.started"


def request_id() -> str:
    """This request's id, decided on first use."""
    environ = request.environ
    rid = environ.get(REQUEST_ID)
    if rid is None:
        rid = environ[REQUEST_ID] = logs.sane_request_id(request.headers.get("X-Request-ID"))
    return rid


def log_fields() -> dict | None:
    if not has_request_context():
        return None
    return {
        "request_id": request_id(),
        "method": request.method,
        "path": logs.safe_path(request.path),
        "remote": logs.safe_remote(request.remote_addr),
    }


def _start() -> None:
    request.environ[_STARTED] = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    environ = request.environ
    response.headers["X-Request-ID"] = request_id()
    rule = request.url_rule
    route = rule.rule if rule is not None else None
    environ[ROUTE] = route
    started = environ.get(_STARTED)
    if started is not None:
        metrics.observe(route, request.method, response.status_code, time.perf_counter() - started)
    return response


@limiter.exempt
def metrics_view():
    config = current_app.config
    allowed = metrics.may_scrape(
        request.remote_addr,
        allow=config["METRICS_ALLOW_NETWORKS"],
        token=config["METRICS_TOKEN"],
        authorization=request.headers.get("Authorization"),
        forwarded=not config["TRUST_PROXY_HOPS"] and "X-Forwarded-For" in request.headers,
    )
    if not allowed:
        abort(404)  # to the public there is nothing here
    body = metrics.render(db.engine, timeout_s=config["METRICS_TIMEOUT_SECONDS"])
    return Response(body, content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def register(app: Flask) -> None:
    # Tests keep pytest's own log capture, unless one asks for a format.
    if app.config["LOG_FORMAT"] or not app.testing:
        logs.configure(
            app.config["LOG_FORMAT"] or logs.default_format(app.config["APP_ENV"]), request_fields=log_fields
        )
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)  # the root logger's handler writes its lines
    app.config["METRICS_ALLOW_NETWORKS"] = metrics.parse_allow(app.config["METRICS_ALLOW"])
    # First of all hooks, so that the id and the clock are there for everything after.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics_view)
    with app.app_context():
        metrics.watch_pool(db.engine)
