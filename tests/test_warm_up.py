"""A new gunicorn worker warms up before it takes connections, and a leaving one skips the
interpreter's collection of its heap (gunicorn.conf.py's post_worker_init and worker_exit)."""

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

from flask import Flask

from tests import factories as f
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parent.parent


def _hooks(monkeypatch, tmp_path) -> dict:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the settings would set one
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_warm_up_answers_the_residents_pages_once(db, base_config):
    station = f.station()
    f.representative(stations=[station])
    db.session.commit()
    fresh = make_app(base_config)  # nothing compiled, nothing kept
    try:
        templates_before = len(fresh.jinja_env.cache or {})
        fresh.extensions["warm_up"]()
        compiled = set(fresh.jinja_env.cache or {})
        names = {name for _loader, name in compiled}
        assert len(compiled) > templates_before
        assert {"public/station.html", "public/rep.html", "public/concern_form.html"} <= names
    finally:
        with fresh.app_context():
            fresh.extensions["sqlalchemy"].engine.dispose()


def test_warm_up_that_fails_is_logged_and_the_worker_still_starts(base_config, caplog):
    unreachable = make_app(base_config, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none")
    unreachable.extensions["warm_up"]()  # no exception
    assert any("warm-up failed" in r.getMessage() for r in caplog.records)


def test_gunicorn_warms_a_new_worker_of_the_app_and_not_a_bare_one(monkeypatch, tmp_path):
    hooks = _hooks(monkeypatch, tmp_path)
    calls = []
    app = Flask("warm")
    app.extensions["warm_up"] = lambda: calls.append("warmed")
    hooks["post_worker_init"](SimpleNamespace(wsgi=app))
    assert calls == ["warmed"]
    hooks["post_worker_init"](SimpleNamespace(wsgi=Flask("hello")))  # nothing to warm: no error
    assert calls == ["warmed"]


def test_a_leaving_worker_freezes_its_heap(monkeypatch, tmp_path):
    hooks = _hooks(monkeypatch, tmp_path)
    assert gc.get_freeze_count() == 0
    try:
        hooks["worker_exit"](None, None)
        assert gc.get_freeze_count() > 0  # the exit's full collection has nothing to look at
    finally:
        gc.unfreeze()
