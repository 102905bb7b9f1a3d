"""The same form sent again from the same browser with a new form key (a reloaded page,
ten taps at once) makes one concern; the browser's cookie holds no tracking code."""

import base64
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Concern, utcnow
from services.concerns import DUPLICATE_WINDOW, ConcernInput, submit_concern
from services.storage import LocalStorage
from tests import factories
from tests.helpers import NoRedirect

TEXT = "小区门口的路灯坏了两个月，晚上出行很不方便。"


@pytest.fixture
def site(db):
    st = factories.station()
    cat = factories.category()
    db.session.commit()
    return st, cat


def concerns() -> int:
    _db.session.rollback()
    return _db.session.scalar(sa.select(sa.func.count()).select_from(Concern))


def submit(app, st, cat, *, sender, now=None, content=TEXT, mobile=""):
    data = ConcernInput(category_id=cat.id, content=content, contact_mobile=mobile, consent=bool(mobile))
    storage = LocalStorage(app.config["UPLOAD_FOLDER"])
    concern = submit_concern(st, data, [], storage=storage, sender=sender, now=now)
    _db.session.commit()
    return concern


def test_the_same_text_from_the_same_sender_is_the_same_concern(app, site):
    st, cat = site
    first = submit(app, st, cat, sender="browser-a")
    again = submit(app, st, cat, sender="browser-a")
    assert again.id == first.id
    assert concerns() == 1


def test_another_sender_another_text_or_another_contact_is_a_new_concern(app, site):
    st, cat = site
    first = submit(app, st, cat, sender="browser-a")
    assert submit(app, st, cat, sender="browser-b").id != first.id
    assert submit(app, st, cat, sender="browser-a", content=TEXT + "还有一个").id != first.id
    assert submit(app, st, cat, sender="browser-a", mobile="13912345678").id != first.id
    assert concerns() == 4


def test_after_the_window_the_same_text_is_a_new_concern(app, site):
    st, cat = site
    first = submit(app, st, cat, sender="browser-a", now=utcnow() - DUPLICATE_WINDOW - timedelta(seconds=1))
    assert submit(app, st, cat, sender="browser-a").id != first.id


def _session_of(cookie_header: str) -> dict:
    """The (signed, not encrypted) Flask session cookie's payload."""
    value = cookie_header.split("session=", 1)[1].split(";", 1)[0]
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def test_ten_parallel_sends_with_new_form_keys_make_one_concern(app, site, live_server):
    st, cat = site
    url, category = f"{live_server}/s/{st.code}/concern", str(cat.id)  # read here, not in the threads
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(url) as page:
        cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    assert "sender" in _session_of(page.headers["Set-Cookie"])

    results: list[tuple[int, str]] = []
    start = threading.Barrier(10)

    def send() -> None:
        body = urllib.parse.urlencode(
            {"category": category, "content": TEXT, "submission_key": secrets.token_urlsafe(24)}
        ).encode()
        request = urllib.request.Request(url, data=body, headers={"Cookie": cookie})
        start.wait()
        try:
            with opener.open(request) as resp:
                results.append((resp.status, resp.headers.get("Location", "")))
        except urllib.error.HTTPError as err:
            results.append((err.code, err.headers.get("Location", "")))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 10
    assert {status for status, _ in results} == {303}, results
    assert len({location for _, location in results}) == 1  # every answer is the same receipt
    assert concerns() == 1


def test_the_session_cookie_holds_no_tracking_code(client, site):
    st, cat = site
    client.get(f"/s/{st.code}/concern")
    resp = client.post(
        f"/s/{st.code}/concern",
        data={"category": str(cat.id), "content": TEXT, "submission_key": secrets.token_urlsafe(24)},
    )
    assert resp.status_code == 303
    _db.session.rollback()
    code = _db.session.scalar(sa.select(Concern.tracking_code))
    assert code
    with client.session_transaction() as session:
        assert code not in json.dumps(dict(session))
        assert "recent" not in session


def test_the_same_text_with_another_category_photo_or_choice_is_a_new_concern(app, site):
    from services.photos import ProcessedPhoto

    st, cat = site
    other = factories.category()
    _db.session.commit()
    storage = LocalStorage(app.config["UPLOAD_FOLDER"])
    first = submit(app, st, cat, sender="browser-a")
    refiled = [
        ConcernInput(category_id=other.id, content=TEXT),
        ConcernInput(category_id=cat.id, content=TEXT, public=True),
        ConcernInput(category_id=cat.id, content=TEXT, anonymous=True),
    ]
    made = [submit_concern(st, data, [], storage=storage, sender="browser-a") for data in refiled]
    photo = ProcessedPhoto(data=b"\xff\xd8jpeg", content_type="image/jpeg", extension="jpg", width=2, height=2)
    data = ConcernInput(category_id=cat.id, content=TEXT)
    made.append(submit_concern(st, data, [photo], storage=storage, sender="browser-a"))
    _db.session.commit()
    assert first.id not in {c.id for c in made} and concerns() == 5
