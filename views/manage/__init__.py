"""The back office (/manage): stations, roster, attendance, the concern inbox, regions."""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage")

from views.manage import (  # noqa: E402,F401  (routes register on bp)
    accounts,
    board,
    bookings,
    concerns,
    drafts,
    duty,
    figures,
    imports,
    kiosk,
    lifecycle,
    meetings,
    notifications,
    officials,
    reference,
    regions,
    suggestions,
    votes,
)
