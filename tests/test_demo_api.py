"""The demo's read-only API key: `flask seed-demo` makes it, `flask demo-info` prints it."""

import pytest
import sqlalchemy as sa

from app import create_app
from devtools.demo import DEMO_API_KEY_PREFIX, demo_api_key, seed_demo
from extensions import create_sqlite_file, db
from models import ApiKey


@pytest.fixture
def demo_app(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3", "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_sqlite_file(db.engine)
        db.create_all()
        seed_demo()
        seed_demo()  # a second run adds no second key
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_demo_key_reads_its_city_and_is_shown_by_demo_info(demo_app):
    with demo_app.app_context():
        key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == DEMO_API_KEY_PREFIX))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 1
        assert key.region.name == "周口市" and not key.can_act
        plain = demo_api_key()
        assert plain.split("_")[2] not in key.secret_hash
    client = demo_app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    concerns = client.get("/api/v1/concerns?limit=100", headers=headers)
    assert concerns.status_code == 200 and concerns.json["items"]
    one = concerns.json["items"][0]
    refused = client.post(
        f"/api/v1/concerns/{one['id']}/actions", json={"action": "note", "note": "x"}, headers=headers
    )
    assert refused.status_code == 403 and refused.json["code"] == "read_only_key"
    output = demo_app.test_cli_runner().invoke(args=["demo-info"]).output
    assert plain in output and "/api/v1/docs" in output
