"""/kiosk/<code>: the station tablet's on-duty list and rotating check-in code."""

from flask import Blueprint

bp = Blueprint("kiosk", __name__)
