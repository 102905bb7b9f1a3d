"""/healthz and the configuration layers: defaults → instance/config.py → environment → test_config."""

import sqlite3
import time

import pytest
import sqlalchemy as sa
from flask import Flask

import config
from app import create_app
from config import DEV_SECRET_KEY, ENV_SETTINGS, load_config
from extensions import db as _db

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/none"


# --- /healthz -------------------------------------------------------------------------


def test_healthz_ok(client, db):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.is_json
    assert resp.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "unreachable_url",
    [UNREACHABLE_POSTGRES, "sqlite:////nonexistent-folder/for/mashang/db.sqlite3"],
    ids=["postgres-port-1", "sqlite-missing-folder"],
)
def test_healthz_alive_and_readyz_503_when_the_database_is_unreachable(base_config, unreachable_url):
    app = create_app(
        {
            **base_config,
            "DATABASE_URL": unreachable_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}
            if unreachable_url.startswith("postgresql")
            else {},
        }
    )
    try:
        client = app.test_client()
        # Liveness: the process answers; restarting it would not bring the database back.
        assert client.get("/healthz").status_code == 200
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.is_json
        assert resp.get_json()["status"] != "ok"
        assert resp.get_json()["checks"]["database"] != "ok"
        # Still a JSON answer with the usual headers, not an error page.
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        with app.app_context():
            _db.engine.dispose()


# --- configuration --------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No setting from the real environment and no instance/config.py leaks in."""
    for key in ENV_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(config, "ROOT", tmp_path)
    return tmp_path


def minimal(tmp_path, **extra) -> dict:
    return {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'cfg.sqlite3'}", **extra}


def loaded(test_config: dict | None = None) -> dict:
    app = Flask(__name__)
    load_config(app, test_config)
    return app.config


def test_defaults(clean_env):
    cfg = loaded()
    assert cfg["APP_ENV"] == "development"
    assert cfg["SECRET_KEY"] == DEV_SECRET_KEY
    assert cfg["MAX_PHOTOS"] == 3
    assert cfg["MAX_PHOTO_BYTES"] == 8 * 1024 * 1024
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert cfg["SESSION_COOKIE_SECURE"] is False  # the default public URL is http://
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert cfg["RATELIMIT_ENABLED"] is True
    assert cfg["BABEL_DEFAULT_LOCALE"] == "zh_Hans"


def test_production_refuses_the_development_secret(clean_env):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(minimal(clean_env, APP_ENV="production"))


def test_production_refuses_the_development_secret_from_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError):
        create_app(minimal(clean_env))
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(RuntimeError):
        create_app(minimal(clean_env))


def test_production_starts_with_a_real_secret(clean_env, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-" + "x" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://mashang.example.cn")
    sqlite3.connect(clean_env / "cfg.sqlite3").close()  # the app opens an existing file only
    app = create_app(minimal(clean_env))
    assert app.config["APP_ENV"] == "production"
    assert app.config["SECRET_KEY"].startswith("a-real-secret-")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    with app.app_context():
        _db.engine.dispose()


def test_environment_overrides_defaults(clean_env, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://env.mashang.example/")
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("STATION_PAGE_CACHE_SECONDS", "7")
    monkeypatch.setenv("TRUST_PROXY_HOPS", "1")
    monkeypatch.setenv("CONCERN_RATE_LIMIT", "5 per minute")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.internal:5432/mashang")
    cfg = loaded()
    assert cfg["PUBLIC_BASE_URL"] == "https://env.mashang.example"  # trailing slash dropped
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["RATELIMIT_ENABLED"] is False
    assert cfg["STATION_PAGE_CACHE_SECONDS"] == 7
    assert cfg["TRUST_PROXY_HOPS"] == 1
    assert cfg["CONCERN_RATE_LIMIT"] == "5 per minute"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal:5432/mashang"


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on"])
def test_boolean_environment_values(clean_env, monkeypatch, value):
    monkeypatch.setenv("RATELIMIT_ENABLED", value)
    assert loaded()["RATELIMIT_ENABLED"] is True


def test_environment_reaches_the_app(clean_env, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://env.mashang.example")
    app = create_app(minimal(clean_env))
    assert app.config["PUBLIC_BASE_URL"] == "https://env.mashang.example"
    with app.app_context():
        _db.engine.dispose()


def test_test_config_overrides_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://env.mashang.example")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    cfg = loaded({"PUBLIC_BASE_URL": "http://tc.mashang.test", "SECRET_KEY": "from-test-config"})
    assert cfg["PUBLIC_BASE_URL"] == "http://tc.mashang.test"
    assert cfg["SECRET_KEY"] == "from-test-config"
    assert cfg["SESSION_COOKIE_SECURE"] is False


def test_instance_config_sits_between_defaults_and_environment(clean_env, monkeypatch):
    instance = clean_env / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        'SECRET_KEY = "from-instance"\nPUBLIC_BASE_URL = "https://instance.mashang.example"\n', encoding="utf-8"
    )
    cfg = loaded()
    assert cfg["SECRET_KEY"] == "from-instance"
    assert cfg["PUBLIC_BASE_URL"] == "https://instance.mashang.example"

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://env.mashang.example")
    cfg = loaded()
    assert cfg["SECRET_KEY"] == "from-instance"
    assert cfg["PUBLIC_BASE_URL"] == "https://env.mashang.example"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_postgres_urls_use_psycopg_3(clean_env, given, expected):
    assert loaded({"DATABASE_URL": given})["SQLALCHEMY_DATABASE_URI"] == expected


def test_app_built_from_a_plain_postgresql_url_uses_psycopg(clean_env):
    app = create_app(minimal(clean_env, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none"))
    with app.app_context():
        assert _db.engine.dialect.name == "postgresql"
        assert _db.engine.dialect.driver == "psycopg"
        _db.engine.dispose()


# --- /readyz: the schema is there and a write would succeed ---------------------------


def _head(app) -> str:
    from alembic.script import ScriptDirectory

    migrate = app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate.migrate.get_config(directory=migrate.directory)).get_current_head()


def test_readyz_ok_names_the_schema_and_the_write(app, client, db):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "schema": _head(app), "write": "ok", "storage": "ok"}


def test_readyz_503_while_another_connection_holds_the_write_lock(app, client, db):
    app.config["READINESS_TIMEOUT_SECONDS"] = 0.3
    db.session.commit()
    holder = db.engine.connect()
    try:
        holder.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))  # lock held, not committed
        started = time.monotonic()
        resp = client.get("/readyz")
        assert time.monotonic() - started < 5  # the short timeout, not the 15 s busy timeout
        assert resp.status_code == 503
        body = resp.get_json()
        assert body["status"] == "unavailable"
        assert body["checks"]["schema"] == _head(app)  # reads still work
        assert body["checks"]["write"] != "ok"
        # Liveness is another question: the process and the database still answer.
        assert client.get("/healthz").status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert client.get("/readyz").status_code == 200


def test_readyz_503_when_the_database_refuses_writes(app, client, db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("a read-only SQLite connection stands for a read-only file (root ignores file modes)")

    def read_only(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA query_only=1")

    db.session.commit()
    db.engine.dispose()
    sa.event.listen(db.engine, "connect", read_only)
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert "readonly" in resp.get_json()["checks"]["write"]
    finally:
        sa.event.remove(db.engine, "connect", read_only)
        db.engine.dispose()


def test_readyz_503_when_the_schema_is_behind_the_code(app, client, db):
    head = _head(app)
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert "0001" in resp.get_json()["checks"]["schema"]
    finally:
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


def test_readyz_ok_when_the_schema_is_ahead_of_the_code(app, client, db):
    """A rolling upgrade: `flask db upgrade` ran for the new release while this server still
    runs the old code. Its migrations only add, so this server stays in service."""
    head = _head(app)
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0099_next_release'"))
    db.session.commit()
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 200
        assert resp.get_json()["checks"]["schema"] == f"at 0099_next_release, newer than this code ({head})"
    finally:
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()


def test_a_missing_sqlite_file_is_an_error_never_a_new_empty_database(base_config, tmp_path):
    path = tmp_path / "gone.sqlite3"
    app = create_app({**base_config, "DATABASE_URL": f"sqlite:///{path}"})
    try:
        client = app.test_client()
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.get_json()["checks"]["database"] == "database file missing"
        assert not path.exists()  # no empty database was made in its place
    finally:
        with app.app_context():
            _db.engine.dispose()


def test_flask_db_upgrade_creates_the_file_and_a_moved_file_is_noticed(base_config, tmp_path):
    path = tmp_path / "new.sqlite3"
    app = create_app({**base_config, "DATABASE_URL": f"sqlite:///{path}"})
    try:
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert path.exists()
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        # Moved away under a running service: not ready, and nothing new appears in its place.
        path.rename(tmp_path / "moved.sqlite3")
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert not path.exists()
    finally:
        with app.app_context():
            _db.engine.dispose()


def test_the_log_sender_logs_whole_bodies_in_development_only(clean_env, monkeypatch):
    assert loaded()["OUTBOX_LOG_FULL_BODY"] is True
    assert loaded({"APP_ENV": "production", "SECRET_KEY": "x" * 40})["OUTBOX_LOG_FULL_BODY"] is False
    monkeypatch.setenv("OUTBOX_LOG_FULL_BODY", "1")
    assert loaded({"APP_ENV": "production", "SECRET_KEY": "x" * 40})["OUTBOX_LOG_FULL_BODY"] is True
