"""The back office (/manage): stations, roster, attendance; later the concern inbox."""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

from views.manage import concerns, duty, figures, kiosk, notifications, reference  # noqa: E402,F401  (routes register on bp)
