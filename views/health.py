"""/healthz: liveness and a database round trip; /readyz: ready to serve (schema at
head, a write would succeed), for load balancers and monitors."""

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

from extensions import db, limiter
from services import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


def migration_head() -> str | None:
    """The revision this code's migrations end at, read once per app."""
    if "mashang.migration_head" not in current_app.extensions:
        migrate = current_app.extensions["migrate"]
        config = migrate.migrate.get_config(directory=migrate.directory)
        current_app.extensions["mashang.migration_head"] = ScriptDirectory.from_config(config).get_current_head()
    return current_app.extensions["mashang.migration_head"]


@bp.get("/readyz")
@limiter.exempt
def readyz():
    checks = health.readiness(migration_head(), timeout_s=current_app.config["READINESS_TIMEOUT_SECONDS"])
    ready = all(check.ok for check in checks)
    body = {"status": "ok" if ready else "unavailable", "checks": {c.name: c.detail for c in checks}}
    return jsonify(body), 200 if ready else 503
