"""The concern form with photos under stress: decoding outside the write lock, database
errors and busy decoders bring the form back (503) with everything typed and the photos
kept, damaged photos are refused beside their field, and many residents sending three
12-megapixel photos at once are all acknowledged and stored once."""

import http.client
import io
import os
import re
import secrets
import sqlite3
import threading
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import has_request_context
from PIL import Image
from sqlalchemy.exc import OperationalError

from extensions import db as _db
from models import Attachment, Concern
from services.codes import new_tracking_code
from tests import factories
from tests.test_views_public import (
    TEXT,
    count,
    field_block,
    fields_with_errors,
    form_data,
    post_concern,
    textarea_text,
)


@pytest.fixture
def site(db):
    """An active station and a category, committed."""
    st = factories.station()
    cat = factories.category(name_zh="城乡建设", name_en="Urban and rural")
    db.session.commit()
    return st, cat


KEPT = re.compile(r'name="kept_photos" value="([^"]+)"')


def kept_tokens(html: str) -> list[str]:
    return KEPT.findall(html)


def photo(name: str = "IMG_0001.JPG", fmt: str = "JPEG", **kw):
    return (io.BytesIO(factories.image_bytes(fmt, **kw)), name, "image/jpeg")


def locked_error() -> OperationalError:
    return OperationalError("INSERT INTO concern …", {}, sqlite3.OperationalError("database is locked"))


@pytest.fixture
def commit_fails(monkeypatch):
    """The database refuses the request's commit ("database is locked"), once or always."""
    real = _db.session.commit
    state = {"left": 1}

    def commit():
        if has_request_context() and state["left"]:
            state["left"] -= 1
            raise locked_error()
        return real()

    monkeypatch.setattr(_db.session, "commit", commit)
    return state


def test_a_database_error_on_commit_brings_the_form_back_with_text_and_photos(app, client, db, site, commit_fails):
    st, cat = site
    data = form_data(cat, contact_name="王阿姨", consent="y", photos=[photo("路灯.jpg")])
    resp = post_concern(client, st, data)
    assert resp.status_code == 503
    html = resp.get_data(as_text=True)
    assert "Traceback" not in html
    assert textarea_text(html, "content") == TEXT
    assert 'value="王阿姨"' in html
    assert 'role="alert"' in html  # "please submit again"
    assert count(db, Concern) == 0
    # The photo was read: it is kept, named, and need not be chosen again.
    tokens = kept_tokens(html)
    assert len(tokens) == 1 and "路灯.jpg" in html
    assert 'class="notice soft"' not in html

    # The resident taps "submit" again, choosing nothing: the kept photo goes with it.
    again = {**data, "photos": [], "kept_photos": tokens}
    resp = post_concern(client, st, again)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    concern = db.session.scalars(sa.select(Concern)).one()
    assert concern.contact_name == "王阿姨"
    attachment = db.session.scalars(sa.select(Attachment)).one()
    assert attachment.concern_id == concern.id
    assert Image.open(io.BytesIO(client.get(f"/media/{attachment.storage_key}").data)).size == (64, 48)


def test_the_503_is_in_words_in_english_too(app, client, db, site, commit_fails):
    st, cat = site
    resp = post_concern(client, st, form_data(cat), headers={"Accept-Language": "en"})
    assert resp.status_code == 503
    assert "Please submit again in a moment: everything you typed is still here." in resp.get_data(as_text=True)


def test_a_database_error_while_reading_brings_the_form_back_too(app, client, db, site, monkeypatch):
    st, cat = site
    from services import station_lifecycle

    real = station_lifecycle.lookup_code

    def failing(*args, **kwargs):
        if has_request_context():
            raise locked_error()
        return real(*args, **kwargs)

    monkeypatch.setattr(station_lifecycle, "lookup_code", failing)
    resp = post_concern(client, st, form_data(cat, photos=[photo("a.jpg")]))
    assert resp.status_code == 503
    html = resp.get_data(as_text=True)
    assert textarea_text(html, "content") == TEXT
    assert len(kept_tokens(html)) == 1
    assert count(db, Concern) == 0


def test_the_loser_of_a_key_race_that_is_no_race_gets_503_not_500(app, client, db, site, monkeypatch):
    """An IntegrityError with no concern under the key (say a tracking code clash) is a try-again."""
    from services import concerns

    st, cat = site

    def clash(*args, **kwargs):
        raise sa.exc.IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    monkeypatch.setattr(concerns, "submit_concern", clash)
    resp = post_concern(client, st, form_data(cat))
    assert resp.status_code == 503
    assert textarea_text(resp.get_data(as_text=True), "content") == TEXT


def test_photos_are_decoded_without_holding_the_write_lock(app, client, db, site, monkeypatch):
    """While the photos are decoded another connection can take SQLite's write lock at once:
    the request holds none (it used to hold it from its first query)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    from views import public

    st, cat = site
    path = db.engine.url.database
    real = public.process_photo
    seen = []

    def decode_and_check(*args, **kwargs):
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the request held it
            other.execute("ROLLBACK")
            seen.append("free")
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(public, "process_photo", decode_and_check)
    resp = post_concern(client, st, form_data(cat, photos=[photo("a.jpg"), photo("b.jpg")]))
    assert resp.status_code == 303
    assert seen == ["free", "free"]
    assert count(db, Attachment) == 2


@pytest.mark.parametrize("app_config", [{"PHOTO_DECODES_AT_ONCE": 1, "PHOTO_DECODE_WAIT_SECONDS": 0.05}])
def test_every_decoder_busy_brings_the_form_back_503_asking_to_send_again(app, client, db, site):
    from services.photos import decode_slot

    st, cat = site
    with decode_slot(1, 1):  # another resident's photos hold this worker's only place
        resp = post_concern(client, st, form_data(cat, photos=[photo("a.jpg")]), headers={"Accept-Language": "en"})
    assert resp.status_code == 503
    html = resp.get_data(as_text=True)
    assert "Many photos are being sent right now" in html
    assert textarea_text(html, "content") == TEXT
    assert 'class="notice soft"' in html  # this photo was not read: choose it again
    assert count(db, Concern) == 0
    # A moment later the same form goes through.
    assert post_concern(client, st, form_data(cat, photos=[photo("a.jpg")])).status_code == 303


def _webp_with_broken_exif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (9, 9, 9)).save(buf, "WEBP", exif=b"Exif\0\0XX\0*\0\0\0\x08")
    return buf.getvalue()


def test_a_photo_with_damaged_exif_is_refused_beside_its_field_with_the_text_kept(app, client, db, site):
    st, cat = site
    damaged = (io.BytesIO(_webp_with_broken_exif()), "broken.webp", "image/webp")
    resp = post_concern(client, st, form_data(cat, photos=[damaged, photo("good.jpg")]))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert fields_with_errors(html) == {"photos"}
    assert "broken.webp" in field_block(html, "photos")
    assert textarea_text(html, "content") == TEXT
    assert len(kept_tokens(html)) == 1  # the good one is kept
    assert count(db, Concern) == 0


def test_a_photo_is_kept_while_another_field_is_corrected(app, client, db, site):
    st, cat = site
    data = form_data(cat, content="太短", photos=[photo("a.jpg"), photo("b.png", fmt="PNG")])
    resp = post_concern(client, st, data)
    assert resp.status_code == 422
    tokens = kept_tokens(resp.get_data(as_text=True))
    assert len(tokens) == 2
    # Untick one, correct the text, choose a third: two photos go with the concern.
    resp = post_concern(client, st, {**data, "content": TEXT, "photos": [photo("c.jpg")], "kept_photos": tokens[:1]})
    assert resp.status_code == 303
    assert sorted(a.content_type for a in db.session.scalars(sa.select(Attachment))) == ["image/jpeg", "image/jpeg"]


def test_kept_photos_count_towards_the_limit(app, client, db, site):
    st, cat = site
    data = form_data(cat, content="太短", photos=[photo("a.jpg"), photo("b.jpg")])
    tokens = kept_tokens(post_concern(client, st, data).get_data(as_text=True))
    resp = post_concern(
        client, st, {**data, "content": TEXT, "photos": [photo("c.jpg"), photo("d.jpg")], "kept_photos": tokens}
    )
    assert resp.status_code == 422
    assert fields_with_errors(resp.get_data(as_text=True)) == {"photos"}
    assert count(db, Concern) == 0


@pytest.mark.parametrize("token", ["forged", "a" * 80])
def test_a_forged_or_expired_kept_photo_is_refused_beside_the_field(app, client, db, site, token):
    st, cat = site
    resp = post_concern(client, st, {**form_data(cat), "kept_photos": [token]}, headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert fields_with_errors(html) == {"photos"}
    assert "has expired. Please choose it again." in html
    assert textarea_text(html, "content") == TEXT


def test_a_kept_photo_past_its_time_is_refused(app, client, db, site, monkeypatch):
    from services import held_photos

    st, cat = site
    data = form_data(cat, content="太短", photos=[photo("old.jpg")])
    tokens = kept_tokens(post_concern(client, st, data).get_data(as_text=True))
    real = held_photos.restore
    monkeypatch.setattr(held_photos, "restore", lambda *a, **kw: real(*a, **{**kw, "max_age": -1}))
    resp = post_concern(client, st, {**data, "content": TEXT, "photos": [], "kept_photos": tokens})
    assert resp.status_code == 422
    assert "old.jpg" in field_block(resp.get_data(as_text=True), "photos")


def test_held_photos_are_swept_after_their_time(app, tmp_path):
    from services import held_photos
    from services.photos import ProcessedPhoto
    from services.storage import LocalStorage

    storage = LocalStorage(str(tmp_path))
    cleaned = ProcessedPhoto(b"jpeg bytes", "image/jpeg", "jpg", 1, 1)
    first = held_photos.hold(storage, cleaned, "a.jpg", secret="s", max_age=3600)
    assert held_photos.restore(storage, first.token, secret="s", max_age=3600).photo.data == b"jpeg bytes"
    old = tmp_path / "held" / os.listdir(tmp_path / "held")[0]
    os.utime(old, (1, 1))  # long ago
    held_photos.hold(storage, cleaned, "b.jpg", secret="s", max_age=3600)
    assert len(os.listdir(tmp_path / "held")) == 1
    with pytest.raises(held_photos.PhotoRefused):
        held_photos.restore(storage, first.token, secret="s", max_age=3600)
    with pytest.raises(held_photos.PhotoRefused):  # another server's secret
        held_photos.restore(storage, first.token, secret="other", max_age=3600)


# --- many residents, three 12-megapixel photos each, at once, against a live server -------------


def twelve_megapixels(seed: int) -> bytes:
    """A 4000 × 3000 JPEG of noise: as costly to decode as a phone's photo, under 8 MB."""
    rng = os.urandom(1000 * 750 * 3) if seed else b"\x80" * (1000 * 750 * 3)
    img = Image.frombytes("RGB", (1000, 750), rng).resize((4000, 3000), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    raw = buf.getvalue()
    assert 1024 * 1024 < len(raw) < 8 * 1024 * 1024
    return raw


def multipart(fields: dict, files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----mashang" + secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    for name, data in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
        parts.append(head.encode() + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), boundary


RESIDENTS = 12


@pytest.mark.parametrize("app_config", [{"PHOTO_DECODE_WAIT_SECONDS": 120.0}])
def test_many_residents_with_three_12_megapixel_photos_at_once_are_all_stored_once(app, db, site, live_server):
    st, cat = site
    db.session.commit()
    category_id, path = cat.id, f"/s/{st.code}/concern"  # read here: the threads have no app context
    photos = [twelve_megapixels(i + 1) for i in range(3)]
    host = urlsplit(live_server)
    results: list[tuple[int, str]] = [(0, "")] * RESIDENTS
    barrier = threading.Barrier(RESIDENTS)

    def resident(i: int) -> None:
        fields = {
            "category": str(category_id),
            "content": f"{TEXT}（第{i}位居民）",
            "submission_key": secrets.token_urlsafe(24),
        }
        body, boundary = multipart(fields, [(f"IMG_{i}_{n}.JPG", p) for n, p in enumerate(photos)])
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=180)
        barrier.wait()
        try:
            conn.request(
                "POST",
                path,
                body=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            resp = conn.getresponse()
            resp.read()
            results[i] = (resp.status, resp.headers.get("Location") or "")
        finally:
            conn.close()

    threads = [threading.Thread(target=resident, args=(i,)) for i in range(RESIDENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)

    statuses = [status for status, _ in results]
    assert statuses == [303] * RESIDENTS, statuses
    codes = [re.search(r"/t/([A-Z0-9]+)/receipt", location).group(1) for _, location in results]
    db.session.rollback()  # a fresh look at what the server stored
    stored = db.session.scalars(sa.select(Concern)).all()
    assert sorted(c.tracking_code for c in stored) == sorted(codes)  # each acknowledged, stored once
    assert len({c.content for c in stored}) == RESIDENTS
    assert count(db, Attachment) == 3 * RESIDENTS


def test_a_database_error_on_any_other_page_is_a_plain_503_page_not_a_500(app, client, db, monkeypatch):
    from services import concerns

    def locked(*args, **kwargs):
        raise locked_error()

    monkeypatch.setattr(concerns, "find_by_tracking_code", locked)
    resp = client.get(f"/t/{new_tracking_code()}", headers={"Accept-Language": "en"})
    assert resp.status_code == 503
    html = resp.get_data(as_text=True)
    assert "Busy just now" in html and "nothing was saved" in html
    assert "Traceback" not in html and '<header class="top">' in html


def test_photos_kept_for_one_browser_cannot_be_filed_from_another(app, client, site):
    st, cat = site
    client.get(f"/s/{st.code}/concern")
    refused = post_concern(client, st, {**form_data(cat, category=""), "photos": [photo()]})
    assert refused.status_code == 422
    [token] = kept_tokens(refused.get_data(as_text=True))
    other = app.test_client()
    other.get(f"/s/{st.code}/concern")
    stolen = post_concern(other, st, {**form_data(cat, content=TEXT + "另一位"), "kept_photos": [token]})
    assert stolen.status_code == 422 and count(_db, Attachment) == 0
    assert post_concern(client, st, {**form_data(cat), "kept_photos": [token]}).status_code == 303
    assert count(_db, Attachment) == 1
