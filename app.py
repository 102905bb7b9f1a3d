"""The application factory. gunicorn serves 'app:create_app()'."""

from collections.abc import Iterable

from babel import Locale
from flask import Flask, Request, current_app, g, has_request_context, request
from sqlalchemy.orm import configure_mappers
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_config
from extensions import babel, csrf, db, limiter, login_manager, migrate

# Nothing is loaded from another host: the policy says so to the browser too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


# Parsed once: Locale.parse() checks the locale data on disk every time it is called.
LOCALES = {name: Locale.parse(name) for name in ("zh_Hans", "en")}


def locale_for(chosen: str | None, accepted: Iterable[tuple[str, float]]) -> Locale:
    """The language of a visitor's pages: the one they chose (the `lang` cookie), else the
    first of English or Chinese their browser asks for, else Chinese."""
    if chosen in LOCALES:
        return LOCALES[chosen]
    for lang, _quality in accepted:
        if lang.lower().startswith("en"):
            return LOCALES["en"]
        if lang.lower().startswith("zh"):
            return LOCALES["zh_Hans"]
    return LOCALES["zh_Hans"]


def select_locale() -> Locale:
    if not has_request_context():  # CLI commands and workers speak the default language
        return LOCALES["zh_Hans"]
    return locale_for(request.cookies.get("lang"), request.accept_languages)


# Only the duty check-in asks for the position; nothing uses the camera (a photo is chosen
# with a file input, which needs no permission) or anything else a page could ask for.
PERMISSIONS_POLICY = (
    "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "hid=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), "
    "browsing-topics=()"
)


class NulFreeDict(ImmutableMultiDict):
    """Query and form values without NUL bytes: never text a person typed, and refused by
    PostgreSQL in every text column (a DataError, so a 500). Dropped as they arrive, so every
    view and service sees clean text on either database."""

    def __init__(self, mapping=None) -> None:
        if mapping is None:
            super().__init__()
            return
        super().__init__(
            (
                key.replace("\x00", "") if isinstance(key, str) else key,
                value.replace("\x00", "") if isinstance(value, str) else value,
            )
            for key, value in MultiDict(mapping).items(multi=True)
        )


class AppRequest(Request):
    parameter_storage_class = NulFreeDict


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", "same-origin")  # a secret link's page says no-referrer
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    config = current_app.config
    if config["SESSION_COOKIE_SECURE"] and config["HSTS_SECONDS"]:
        response.headers["Strict-Transport-Security"] = f"max-age={config['HSTS_SECONDS']}"
    # A signed-in person's pages (back office, /me, accounts: staff mobiles, residents'
    # details) are never kept by a browser or a proxy, unless the page says otherwise
    # (the station page keeps its own header). Only a user this request already loaded
    # counts: a static file does not open the session for it.
    user = g.get("_login_user")
    if "Cache-Control" not in response.headers and user is not None and user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = AppRequest
    load_config(app, test_config)
    from views.front import KeptPages

    # Inside the proxy fix, so that it sees the visitor's host and address.
    app.wsgi_app = KeptPages(app, app.wsgi_app)
    if app.config["TRUST_PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUST_PROXY_HOPS"], x_proto=1, x_host=1)

    import models  # noqa: F401  (registers every table before migrations look)

    # Now, in one thread: configured lazily, the first requests of a worker's threads would
    # race to do it, and an alias made at import (figure_cells.FIRST) could resolve its
    # columns to the plain table's in one of them (seen as an invalid FROM under load).
    configure_mappers()

    db.init_app(app)
    from services import figure_cells, page_cache

    page_cache.listen()
    figure_cells.listen()
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)

    from extensions import configure_sqlite

    with app.app_context():
        configure_sqlite(db.engine)
    from views import observability

    observability.register(app)

    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "basic"
    from views.util import sign_in_first

    login_manager.unauthorized_handler(sign_in_first)

    from views.util import IdConverter

    # Before the blueprints: a rule takes its converters when it is added.
    app.url_map.converters["int"] = IdConverter

    import commands
    from views import (
        admin,
        audit,
        auth,
        bookings,
        duty,
        errors,
        health,
        hooks,
        kiosk,
        manage,
        meetings,
        my,
        officials,
        public,
        suggestions,
        votes,
    )

    for blueprint in (
        public.bp,
        bookings.bp,
        meetings.bp,
        my.bp,
        hooks.bp,
        auth.bp,
        duty.bp,
        suggestions.bp,
        officials.bp,
        votes.bp,
        kiosk.bp,
        manage.bp,
        admin.bp,
        audit.bp,
        health.bp,
    ):
        app.register_blueprint(blueprint)
    from views import api, open311

    api.register(app)
    open311.register(app)
    errors.register(app)
    commands.register(app)
    from views.templating import register as register_templating

    register_templating(app)
    app.after_request(security_headers)
    app.extensions["warm_up"] = lambda: warm_up(app)
    return app


def warm_up(app: Flask) -> None:
    """A new worker answers the residents' pages once before it takes connections (gunicorn's
    post_worker_init): cold, a worker's first request of a page compiles its templates, loads
    the catalogue and the locale data and imports what the view imports late, 0.4–0.9 s that a
    resident would wait when a worker is replaced under load (bench: p99 above a second). What
    fails here is logged and left to the first real request."""
    from sqlalchemy import select

    from models import Representative, Station

    try:
        with app.app_context():
            station = db.session.scalar(select(Station.code).where(Station.is_active).order_by(Station.id).limit(1))
            rep = db.session.scalar(
                select(Representative.code).where(Representative.code.is_not(None)).order_by(Representative.id).limit(1)
            )
            db.session.remove()
        paths = ["/", "/t"]
        if station:
            paths += [f"/s/{station}", f"/s/{station}/concern", f"/s/{station}/qr.png"]
        if rep:
            paths += [f"/r/{rep}"]
        client = app.test_client()
        for path in paths:
            client.get(path)
    except Exception:  # a worker that cannot warm up still serves (and shows the error there)
        app.logger.warning("warm-up failed", exc_info=True)
