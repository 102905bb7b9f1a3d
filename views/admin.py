"""Administration: accounts of every role with their scope."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
