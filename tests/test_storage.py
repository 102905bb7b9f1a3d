"""The photo stores: one contract, run against the folder and against a real S3-protocol
server (moto's, started in a thread by this run), then the concern form and the photo page
with STORAGE_BACKEND=s3, and what a resident sees when the store is down."""

import re
import secrets
import socket
import time

import boto3
import pytest
import sqlalchemy as sa
from botocore.config import Config as BotoConfig
from moto.server import ThreadedMotoServer

from models import Attachment, Concern
from models.enums import Role
from services.storage import LocalStorage, S3Storage, StorageUnavailable, open_storage
from tests import factories
from tests.helpers import login
from tests.test_views_photos import kept_tokens, photo
from tests.test_views_public import TEXT, form_data, post_concern, textarea_text

KEYS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


@pytest.fixture(scope="session")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_bucket(endpoint: str) -> str:
    name = f"mashang-{secrets.token_hex(6)}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=BotoConfig(s3={"addressing_style": "path"}), **KEYS
    )
    client.create_bucket(Bucket=name)
    return name


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def s3_settings(endpoint: str, bucket: str, **more) -> dict:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": bucket,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
        "S3_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
        "S3_PATH_STYLE": True,
        **more,
    }


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "uploads"))
    endpoint = request.getfixturevalue("s3_endpoint")
    return open_storage(s3_settings(endpoint, make_bucket(endpoint), S3_PREFIX="site/"))


# --- the contract ------------------------------------------------------------------------


def test_a_saved_photo_reads_back_and_is_listed(store):
    key = store.save(b"jpeg bytes", "jpg")
    assert key.endswith(".jpg") and "/" not in key
    assert store.read(key) == b"jpeg bytes"
    assert list(store.keys()) == [key]
    store.check()


def test_missing_and_forged_keys_read_as_nothing(store):
    assert store.read("nothing-here.jpg") is None
    assert store.read_held("nothing-here.jpg") is None
    for forged in ("../etc/passwd", "a/b.jpg", ".hidden", ""):
        assert store.read(forged) is None
        with pytest.raises(ValueError):
            store.put(forged, b"x")


def test_put_writes_under_a_given_key_and_delete_removes_it(store):
    key = "restored-from-backup.png"
    store.put(key, b"png bytes")
    assert store.read(key) == b"png bytes"
    store.delete(key)
    assert store.read(key) is None
    assert list(store.keys()) == []
    store.delete(key)  # twice is no error


def test_held_photos_are_apart_from_filed_ones(store):
    held = store.hold(b"held bytes", "webp")
    filed = store.save(b"filed bytes", "jpg")
    assert store.read_held(held) == b"held bytes"
    assert store.read(held) is None and store.read_held(filed) is None
    assert list(store.keys()) == [filed]


def test_sweep_removes_only_held_photos_past_their_age(store):
    held = store.hold(b"held", "jpg")
    filed = store.save(b"filed", "jpg")
    assert store.sweep_held(3600) == 0
    assert store.read_held(held) == b"held"
    # An hour and a bit later:
    assert store.sweep_held(3600, now=time.time() + 3700) == 1
    assert store.read_held(held) is None
    assert store.read(filed) == b"filed"


def test_many_keys_are_listed_past_one_page(s3_endpoint):
    s3 = S3Storage(make_bucket(s3_endpoint), endpoint_url=s3_endpoint, path_style=True, region="us-east-1", **_keys())
    keys = {s3.save(b"x", "jpg") for _ in range(5)}
    real = s3._call

    def small_pages(operation, **kwargs):
        if operation == "list_objects_v2":
            kwargs["MaxKeys"] = 2  # three pages
        return real(operation, **kwargs)

    s3._call = small_pages  # type: ignore[method-assign]
    assert set(s3.keys()) == keys


def test_s3_objects_sit_under_the_prefix_in_a_private_bucket(s3_endpoint):
    bucket = make_bucket(s3_endpoint)
    store = open_storage(s3_settings(s3_endpoint, bucket, S3_PREFIX="henan/"))
    key = store.save(b"x", "jpg")
    held = store.hold(b"y", "png")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **KEYS)
    names = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert names == sorted([f"henan/photos/{key}", f"henan/held/{held}"])
    head = client.head_object(Bucket=bucket, Key=f"henan/photos/{key}")
    assert head["ContentType"] == "image/jpeg"


def test_the_folder_check_fails_when_it_cannot_write(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(StorageUnavailable):
        LocalStorage(str(blocked / "uploads")).check()


def test_a_store_that_is_down_fails_fast_and_clearly():
    down = S3Storage(
        "mashang", endpoint_url=f"http://127.0.0.1:{closed_port()}", path_style=True, region="us-east-1", **_keys()
    )
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        down.check()
    with pytest.raises(StorageUnavailable):
        down.save(b"x", "jpg")  # retried twice, then given up
    with pytest.raises(StorageUnavailable):
        down.read("some.jpg")
    assert time.monotonic() - started < 15


def test_a_missing_bucket_is_unavailable_not_missing_photos(s3_endpoint):
    store = open_storage(s3_settings(s3_endpoint, "no-such-bucket-here"))
    with pytest.raises(StorageUnavailable):
        store.check()
    with pytest.raises(StorageUnavailable):
        store.read("a.jpg")


def _keys() -> dict:
    return {"access_key": KEYS["aws_access_key_id"], "secret_key": KEYS["aws_secret_access_key"]}


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
    ],
)
def test_bad_storage_settings_stop_the_start(base_config, settings, message):
    from app import create_app

    with pytest.raises(RuntimeError, match=message):
        create_app({**base_config, **settings})


# --- through the views -------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint):
    # One bucket for the view tests: an app is built once per distinct config.
    return make_bucket(s3_endpoint)


class TestWithS3:
    @pytest.fixture
    def app_config(self, s3_endpoint, s3_bucket):
        return s3_settings(s3_endpoint, s3_bucket)

    def test_a_photo_filed_with_a_concern_is_stored_in_the_bucket_and_shown_to_staff(self, app, client, db):
        st = factories.station()
        cat = factories.category()
        manager = factories.user(Role.STATION_MANAGER, managed_stations=[st])
        resp = post_concern(client, st, form_data(cat, photos=[photo("路灯.jpg")]))
        assert resp.status_code == 303, resp.get_data(as_text=True)
        attachment = db.session.scalars(sa.select(Attachment)).one()
        assert attachment.storage_key in set(open_storage(app.config).keys())

        login(client, manager)
        page = client.get(f"/manage/concerns/{attachment.concern_id}").get_data(as_text=True)
        src = f"/media/{attachment.storage_key}"
        assert src in page
        image = client.get(src)
        assert image.status_code == 200
        assert image.mimetype == "image/jpeg" and image.data[:2] == b"\xff\xd8"
        assert image.headers["Cache-Control"] == "private, max-age=604800, immutable"
        assert image.headers["Content-Disposition"] == "inline"
        # A key without an attachment row is not served, whatever the bucket holds.
        stray = open_storage(app.config).save(b"not a photo of ours", "jpg")
        assert client.get(f"/media/{stray}").status_code == 404

    def test_a_photo_kept_after_a_refused_form_waits_in_the_bucket(self, app, client, db):
        st = factories.station()
        cat = factories.category()
        resp = post_concern(client, st, form_data(cat, content="短", photos=[photo("a.jpg")]))
        assert resp.status_code == 422
        tokens = kept_tokens(resp.get_data(as_text=True))
        assert len(tokens) == 1
        again = form_data(cat, photos=[], kept_photos=tokens)
        assert post_concern(client, st, again).status_code == 303
        assert db.session.scalars(sa.select(Attachment)).one() is not None

    def test_a_kept_photo_survives_a_store_outage(self, app, client, db, monkeypatch):
        """The store is down between two tries: the token goes back with the form, and once
        the store is back the same photo is filed."""
        st = factories.station()
        cat = factories.category()
        resp = post_concern(client, st, form_data(cat, content="短", photos=[photo("a.jpg")]))
        tokens = kept_tokens(resp.get_data(as_text=True))
        assert resp.status_code == 422 and len(tokens) == 1

        def down(self, key):
            raise StorageUnavailable("connection refused")

        data = form_data(cat, photos=[], kept_photos=tokens)
        with monkeypatch.context() as m:
            m.setattr(S3Storage, "read_held", down)
            resp = post_concern(client, st, data)
        assert resp.status_code == 503
        assert kept_tokens(resp.get_data(as_text=True)) == tokens
        assert textarea_text(resp.get_data(as_text=True), "content") == TEXT
        assert post_concern(client, st, data).status_code == 303
        assert db.session.scalars(sa.select(Attachment)).one() is not None


class TestStoreDown:
    @pytest.fixture
    def app_config(self):
        return s3_settings(f"http://127.0.0.1:{closed_port()}", "mashang", S3_RETRIES=0)

    def test_the_form_comes_back_with_the_text_when_photos_cannot_be_stored(self, app, client, db):
        st = factories.station()
        cat = factories.category()
        data = form_data(cat, contact_name="王阿姨", consent="y", photos=[photo("路灯.jpg")])
        resp = post_concern(client, st, data, headers={"Accept-Language": "en"})
        assert resp.status_code == 503
        html = resp.get_data(as_text=True)
        assert "Traceback" not in html
        assert "Photos cannot be stored just now" in html
        assert "please choose them again" in html  # the photo was not kept: the page says so
        assert textarea_text(html, "content") == TEXT
        assert 'value="王阿姨"' in html
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 0

    def test_a_form_without_photos_is_filed_while_the_store_is_down(self, app, client, db):
        st = factories.station()
        cat = factories.category()
        assert post_concern(client, st, form_data(cat)).status_code == 303

    def test_a_photo_page_says_the_store_is_down(self, app, client, db):
        concern = factories.concern()
        db.session.add(
            Attachment(concern=concern, storage_key="k.jpg", content_type="image/jpeg", size=1, width=1, height=1)
        )
        db.session.commit()
        resp = client.get("/media/k.jpg", headers={"Accept-Language": "en"})
        assert resp.status_code == 503
        assert re.search("photo store cannot be reached", resp.get_data(as_text=True))
