"""Friendly error pages in the visitor's language; never a stack trace."""

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from extensions import db
from services.limits import PHOTO_MB_MAX
from services.storage import StorageUnavailable
from views import api as api_module
from views.observability import request_id


def _page(status: int, title: str, message: str):
    # The request id, for a resident to quote: it finds this request's log lines.
    page = render_template("errors/error.html", status=status, title=title, message=message, request_id=request_id())
    return page, status


# The concern forms: a station's, and a representative's (代表码).
CONCERN_FORMS = frozenset({"public.concern_new", "public.rep_concern_new"})


def _back_to_form(message: str, status: int):
    """Refusals that come before the concern view runs (expired page, rate limit)
    show the form again with everything typed, instead of a bare error page."""
    from views.public import ConcernForm, form_target, render_concern_form

    target = form_target(request.endpoint or "", (request.view_args or {}).get("code", ""))
    if target is None:
        return None
    return render_concern_form(target, ConcernForm(), status=status, notice=message)


def refuse_nul_in_path():
    """A NUL byte in the path (/s/%00) is no code or id of ours: PostgreSQL would refuse it
    in a query with a DataError (a 500), so it is a 404 here. (The query and forms arrive
    without NUL bytes: app.NulFreeDict.)"""
    if "\x00" in request.path:
        return _page(404, _("Not found"), _("There is nothing at this address."))
    return None


def _api_problem(error):
    """An error on a path of the JSON API or Open311 that no view of it answered (an unknown
    path, a method it does not take, a crash): problem+json there (Open311: its error
    list), never a page."""
    from views import open311

    if not isinstance(error, HTTPException):
        error = InternalServerError()
    if open311.is_open311_request():
        return open311.http_error(error)  # Open311's own error list
    if not api_module.is_api_request():
        return None
    return api_module.http_problem(error)


def register(app) -> None:
    app.before_request(refuse_nul_in_path)

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        message = _("This page was open for a long time and has expired. Please submit it again.")
        if request.endpoint in CONCERN_FORMS:
            response = _back_to_form(message, 400)
            if response is not None:
                return response
        return _page(400, _("Please try again"), message)

    @app.errorhandler(429)
    def too_many(_error):
        if (problem := _api_problem(_error)) is not None:
            return problem
        if request.endpoint in CONCERN_FORMS:
            message = _("Too many submissions from this network just now. Please wait a minute and submit again.")
            response = _back_to_form(message, 429)
            if response is not None:
                return response
        return _page(
            429,
            _("Too many requests"),
            _("Too many attempts from this network. Please wait a few minutes and try again."),
        )

    @app.errorhandler(403)
    def forbidden(_error):
        if (problem := _api_problem(_error)) is not None:
            return problem
        return _page(403, _("Not allowed"), _("Your account may not open this page or do this."))

    @app.errorhandler(404)
    def not_found(error):
        if (problem := _api_problem(error)) is not None:
            return problem
        # Our own aborts carry a message for people; Werkzeug's default one is not.
        own = error.description and not error.description.startswith("The requested URL")
        return _page(404, _("Not found"), error.description if own else _("There is nothing at this address."))

    @app.errorhandler(413)
    def too_large(_error):
        if (problem := _api_problem(_error)) is not None:
            return problem
        return _page(
            413,
            _("Too large to send"),
            _(
                "The photos are too large together (at most %(mb)d MB each). Go back, choose smaller photos, "
                "and submit again: your text is still there.",
                mb=PHOTO_MB_MAX,
            ),
        )

    @app.errorhandler(HTTPException)
    def other_http(error):
        if (problem := _api_problem(error)) is not None:
            return problem
        return _page(error.code or 500, _("Something went wrong"), _("Please go back and try again."))

    @app.errorhandler(OperationalError)
    def database_busy(error):
        if api_module.is_api_request() or request.path.startswith(api_module.OPEN311_PREFIX + "/"):
            db.session.rollback()
            return _api_problem(ServiceUnavailable())
        # "database is locked" past the busy timeout, a serialization failure, a lost
        # connection: nothing was saved, and sending again will most likely work.
        app.logger.warning("database error: %s", error.orig or error)  # the path is on the line, masked
        return _page(
            503,
            _("Busy just now"),
            _("The service is very busy and nothing was saved. Please go back and try again in a moment."),
        )

    @app.errorhandler(StorageUnavailable)
    def store_down(error):
        # The photo store is down or refuses us: a photo page says so rather than a 500.
        app.logger.warning("photo store error on %s %s: %s", request.method, request.path, error)
        return _page(
            503,
            _("Photos unavailable just now"),
            _("The photo store cannot be reached just now. Please try again in a few minutes."),
        )

    @app.errorhandler(500)
    def server_error(_error):
        if (problem := _api_problem(_error)) is not None:
            return problem
        return _page(500, _("Something went wrong on our side"), _("Please try again in a moment."))
