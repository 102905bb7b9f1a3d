"""Small helpers shared by views."""

from typing import IO
from urllib.parse import urlsplit

from flask import Response, abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from extensions import db
from models.base import ID_MAX
from services import exports
from services.permissions import PermissionDenied, require


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another host."""
    # Browsers drop tabs and line breaks from URLs, so "/\t/evil.example" would become
    # "//evil.example": any control character disqualifies the target.
    if not target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def sign_in_first():
    """To the sign-in page, and back afterwards to where the person was: the page itself, or,
    for a form sent after the session ended, the page the form was on (the form's own
    address takes only a POST, and would answer 405 after signing in)."""
    if request.method in ("GET", "HEAD"):
        target = request.full_path.rstrip("?")
    else:
        referrer = urlsplit(request.referrer or "")
        same_site = not referrer.netloc or referrer.netloc == request.host
        target = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), "/") if same_site else "/"
    return redirect(url_for("auth.login", next=target))


def require_or_abort(action: str, obj=None) -> None:
    """Anonymous → the login page (Flask-Login's unauthorized handler); otherwise 403."""
    try:
        require(current_user, action, obj)
    except PermissionDenied:
        if not current_user.is_authenticated:
            from extensions import login_manager

            abort(login_manager.unauthorized())
        abort(403)


def get_or_404(model, ident: int):
    """The row with this primary key, or a 404."""
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def int_or_none(value) -> int | None:
    """Coerce a form value to int; None for empty or malformed input (a forged form),
    and for numbers no id can reach (the database would refuse them with an error)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -ID_MAX <= number <= ID_MAX else None


def id_arg(value) -> int:
    """`request.args.get(name, type=id_arg)`: a positive id, else the default (a ValueError
    is what werkzeug turns into the default)."""
    number = int(value)
    if not 0 < number <= ID_MAX:
        raise ValueError(value)
    return number


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: at most ID_MAX, so that /manage/concerns/99999999999999999999
    is a 404 rather than an integer overflow in the database driver. (Years in URLs are
    checked against the calendar's range by their views.)"""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002  (werkzeug's signature)
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def download(body: bytes | IO[bytes], mimetype: str, names: tuple[str, str]) -> Response:
    """A file to save, under its Chinese name (and an ASCII fallback): bytes whole, or a
    finished export's temporary file sent in chunks (exports.stream) and closed after."""
    if isinstance(body, bytes):
        response = Response(body, content_type=mimetype)
    else:
        size = exports.file_size(body)
        response = Response(exports.stream(body), content_type=mimetype)
        response.content_length = size
    response.headers["Content-Disposition"] = exports.content_disposition(*names)
    response.headers["Cache-Control"] = "private, no-store"
    return response
