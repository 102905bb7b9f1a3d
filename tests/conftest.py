"""Fixtures: app, client, runner, db; SQLite by default, PostgreSQL with TEST_DATABASE_URL.

The schema is built once per run by the Alembic migrations (so every test also checks
them), and every table is emptied after each test.
"""

import os
import threading

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app import create_app
from extensions import db as _db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
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
        "STATION_PAGE_CACHE_SECONDS": 0,
        "SQLITE_IMMEDIATE_OUTSIDE_REQUESTS": False,
    }


@pytest.fixture(scope="session")
def _schema(base_config):
    """Run the migrations once, from an empty database."""
    from flask_migrate import upgrade

    app = create_app(base_config)
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


def make_app(base_config: dict, **overrides):
    return create_app({**base_config, **overrides})


@pytest.fixture
def app_config() -> dict:
    """Override in a test module (or parametrize) to change settings."""
    return {}


@pytest.fixture
def app(_schema, base_config, app_config):
    app = make_app(base_config, **app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_all_tables()
        _db.engine.dispose()


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
