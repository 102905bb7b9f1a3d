"""The back office (/manage): stations, roster, attendance; later the concern inbox."""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

from views.manage import concerns, duty, figures, imports, kiosk, notifications  # noqa: E402,F401  (routes register on bp)
