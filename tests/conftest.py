"""Fixtures: app, client, runner, db; SQLite by default, PostgreSQL with TEST_DATABASE_URL.

The schema is built once per run by the Alembic migrations (so every test also checks
them), and every table is emptied after each test.

One app is built per distinct `app_config` and reused (create_app costs more than most
tests); what a test may leave behind on it is undone after each test: the tables, the
session, its config, anything it added to `app.extensions` (the station-page cache),
and the rate limiter's counts.

Under pytest-xdist each worker has its own SQLite file (its own tmp dir) and, on
PostgreSQL, its own database: `<name>_gw0`, `<name>_gw1`… beside TEST_DATABASE_URL's,
created on first use.
"""

import copy
import os
import threading
from collections import OrderedDict

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app import create_app
from extensions import db as _db
from extensions import limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# Apps kept at once; a module whose app_config differs per test (a tmp folder) makes
# one app per test, and the oldest is let go with its connections.
MAX_CACHED_APPS = 8


def worker_database_url(url: str, worker: str) -> str:
    """The database of one xdist worker: `<name>_<worker>` on the same server, created
    (by connecting to the given database) if it is missing."""
    given = sa.make_url(url)
    if given.drivername in ("postgres", "postgresql"):
        given = given.set(drivername="postgresql+psycopg")
    name = f"{given.database}_{worker}"
    engine = sa.create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker is None:  # not split across workers
            return TEST_DATABASE_URL
        return worker_database_url(TEST_DATABASE_URL, worker)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def base_config(database_url, tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://mashang.test",
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        "QRCODE_FOLDER": str(tmp_path_factory.mktemp("qrcodes")),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "STATION_PAGE_CACHE_SECONDS": 0,
        "SQLITE_IMMEDIATE_OUTSIDE_REQUESTS": False,
    }


class _CachedApp:
    """An app with what it looked like when made, to put it back after each test."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = copy.deepcopy(dict(app.config))
        self.extensions = set(app.extensions)

    def restore(self) -> None:
        app = self.app
        for name in set(app.extensions) - self.extensions:
            del app.extensions[name]  # caches made on first use, such as the station page's
        app.config.clear()
        app.config.update(copy.deepcopy(self.config))

    def dispose(self) -> None:
        with self.app.app_context():
            _db.engine.dispose()


@pytest.fixture(scope="session")
def _apps():
    apps: OrderedDict[str, _CachedApp] = OrderedDict()
    yield apps
    for cached in apps.values():
        cached.dispose()


def make_app(base_config: dict, **overrides) -> Flask:
    return create_app({**base_config, **overrides})


def _cached_app(apps: "OrderedDict[str, _CachedApp]", base_config: dict, overrides: dict) -> _CachedApp:
    key = repr(sorted(overrides.items()))
    if key in apps:
        apps.move_to_end(key)
        return apps[key]
    cached = apps[key] = _CachedApp(make_app(base_config, **overrides))
    while len(apps) > MAX_CACHED_APPS:
        _key, oldest = apps.popitem(last=False)
        oldest.dispose()
    return cached


@pytest.fixture(scope="session")
def _schema(_apps, base_config):
    """Run the migrations once, from an empty database."""
    from flask_migrate import upgrade

    app = _cached_app(_apps, base_config, {}).app
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        _db.engine.dispose()
    return True


def _empty_all_tables() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    if _db.engine.dialect.name == "postgresql":
        _db.session.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            _db.session.execute(sa.text(f"DELETE FROM {name}"))
    _db.session.commit()


@pytest.fixture
def app_config() -> dict:
    """Override in a test module (or parametrize) to change settings."""
    return {}


@pytest.fixture
def app(_schema, _apps, base_config, app_config):
    cached = _cached_app(_apps, base_config, app_config)
    app = cached.app
    # The limiter is one object for every app: bind it to this one (its settings, and
    # fresh counts), whichever app a test made last.
    limiter.init_app(app)
    try:
        with app.app_context():
            yield app
            _db.session.remove()
            _empty_all_tables()
    finally:
        cached.restore()


@pytest.fixture
def db(app):
    return _db


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production: its own `g` (locale,
    signed-in user) and its own database session. So a test must commit what it made
    before requesting, and a view that forgets to commit is caught."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free local port, for the browser tests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
