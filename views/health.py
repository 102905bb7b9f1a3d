"""/healthz: liveness, the process answers (no database: a database outage must not make
a supervisor restart healthy workers); /readyz: ready to serve (database reachable, schema
at head, a write would succeed, Redis answers, the photo store takes a file), for load
balancers and monitors."""

from flask import Blueprint, current_app, jsonify

from extensions import limiter
from services import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    from views.public import storage

    config = current_app.config
    checks = health.readiness(
        health.migration_head(),
        timeout_s=config["READINESS_TIMEOUT_SECONDS"],
        store=storage(),
        # REDIS_URL: for a cache or locks that keep their state in Redis, when one is set.
        redis_urls=health.redis_urls([config["RATELIMIT_STORAGE_URI"], config.get("REDIS_URL")]),
    )
    ready = all(check.ok for check in checks)
    body = {"status": "ok" if ready else "unavailable", "checks": {c.name: c.detail for c in checks}}
    return jsonify(body), 200 if ready else 503
