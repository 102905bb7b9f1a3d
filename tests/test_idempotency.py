"""The Idempotency-Key header of every API POST (/api/v1 actions, Open311 requests):
replayed answers, a key reused with another body, a request in flight, racing requests."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import ApiIdempotency, ConcernEvent, Open311Request, utcnow
from models.enums import RegionLevel
from services import api_keys, idempotency, jobs
from tests import factories

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db):
    xc = factories.region("411681", "项城市", RegionLevel.COUNTY)
    a = factories.station(region=xc, name="项城市防水行业联络站")
    roads = factories.category("roads", "道路交通", "Roads")
    concern = factories.concern(a, roads)
    made = api_keys.create(None, "项城市12345热线", region=xc, can_act=True)
    other = api_keys.create(None, "另一个系统", region=xc, can_act=True)
    db.session.commit()
    return {"concern": concern, "key": made.plain, "other": other.plain, "station": a}


def bearer(key: str, idem: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return headers


def note(client, world, text="已电话联系居民", idem="note-1", key=None):
    return client.post(
        f"/api/v1/concerns/{world['concern'].id}/actions",
        json={"action": "note", "note": text},
        headers=bearer(key or world["key"], idem),
    )


def events(db, action="note") -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(ConcernEvent).where(ConcernEvent.action == action))


def open311(world, description="莲花大道与团结路口的红绿灯坏了三天，早晚高峰很危险。") -> dict:
    return {"api_key": world["key"], "service_code": "roads", "description": description, "address_string": "莲花大道"}


# --- /api/v1 ---------------------------------------------------------------------------------


def test_the_same_post_is_answered_again_and_done_once(client, world, db):
    first = note(client, world)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = note(client, world)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.mimetype == first.mimetype
    assert events(db) == 1
    # the same JSON spelt otherwise is the same body
    spaced = client.post(
        f"/api/v1/concerns/{world['concern'].id}/actions",
        data='{ "note": "已电话联系居民",  "action": "note" }',
        content_type="application/json",
        headers=bearer(world["key"], "note-1"),
    )
    assert spaced.status_code == 201 and spaced.headers["Idempotent-Replayed"] == "true"
    # without the header, or with another key, it is a new request
    assert note(client, world, idem=None).status_code == 201
    assert note(client, world, idem="note-2").status_code == 201
    assert events(db) == 3


def test_a_key_reused_with_another_body_is_refused(client, world, db):
    assert note(client, world).status_code == 201
    resp = note(client, world, text="另一条备注")
    assert resp.status_code == 422 and resp.mimetype == PROBLEM
    assert resp.get_json()["code"] == "idempotency_key_reused"
    assert events(db) == 1


def test_keys_are_per_key_holder(client, world, db):
    assert note(client, world).status_code == 201
    other = note(client, world, key=world["other"])
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert events(db) == 2


def test_a_refused_request_keeps_no_key(client, world, db):
    resp = client.post(
        f"/api/v1/concerns/{world['concern'].id}/actions",
        json={"action": "dispatch", "note": "x"},
        headers=bearer(world["key"], "k"),
    )
    assert resp.status_code >= 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiIdempotency)) == 0


def test_a_bad_header_is_refused(client, world, db):
    for bad in ("", " padded", "x" * 256, "中文"):
        resp = note(client, world, idem=bad)
        assert resp.status_code == 400 and resp.get_json()["code"] == "bad_idempotency_key", bad
    assert events(db) == 0


def test_a_request_in_flight_answers_409(client, world, db):
    """The first request committed its work but not yet its answer."""
    key = api_keys.authenticate(world["key"])
    db.session.add(ApiIdempotency(api_key_id=key.id, idempotency_key="note-1", fingerprint="f" * 64))
    db.session.commit()
    resp = note(client, world)
    assert resp.status_code == 409 and resp.get_json()["code"] == "idempotency_key_in_use"
    assert events(db) == 0


def test_the_loser_of_the_unique_constraint_replays_the_winner(client, world, db, monkeypatch):
    """What PostgreSQL does to two racing requests, in sequence: the second read no row
    (the first had not committed), then its insert hit the unique constraint once the first
    committed; it answers with the first's answer and does nothing."""
    first = note(client, world)
    real_find = idempotency._find
    calls = []

    def find_missing_once(key, idem):
        calls.append(idem)
        return None if len(calls) == 1 else real_find(key, idem)

    monkeypatch.setattr(idempotency, "_find", find_missing_once)
    again = note(client, world)
    assert len(calls) == 2  # read, insert refused by the constraint, read again
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and events(db) == 1


def test_keys_are_forgotten_after_a_day(client, world, db):
    assert note(client, world).status_code == 201
    db.session.rollback()
    row = db.session.scalar(sa.select(ApiIdempotency))
    row.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    # past a day the key is free again, even before the clean-up ran
    again = note(client, world, text="一天后的另一条备注")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    db.session.rollback()
    row = db.session.scalar(sa.select(ApiIdempotency))
    row.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert "forgot 1" in jobs.run(jobs.JOBS["idempotency-keys"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiIdempotency)) == 0


# --- Open311 ------------------------------------------------------------------------------------


def test_open311_replays_and_refuses_in_its_own_format(client, world, db):
    headers = {"Idempotency-Key": "req-1"}
    first = client.post("/open311/v2/requests.json", data=open311(world), headers=headers)
    assert first.status_code == 201
    again = client.post("/open311/v2/requests.json", data=open311(world), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = client.post(
        "/open311/v2/requests.json", data=open311(world, "另一件事：路边的排水沟堵了一周。"), headers=headers
    )
    assert other.status_code == 422
    [err] = other.get_json()
    assert err["code"] == 422 and err["description"]
    xml = client.post("/open311/v2/requests.xml", data=open311(world), headers=headers)
    assert xml.status_code == 422 and b"<errors>" in xml.data  # another path: another request
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Open311Request)) == 1


def test_a_photo_sent_again_is_the_same_body(client, world, db):
    import io

    photo = factories.image_bytes()
    headers = {"Idempotency-Key": "with-photo"}
    for boundary in ("aaaaBOUNDARY", "zzzzOTHER"):
        body = {**open311(world), "media": (io.BytesIO(photo), "p.jpg")}
        resp = client.post(
            "/open311/v2/requests.json",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=headers,
        )
        assert resp.status_code == 201, resp.data
    assert resp.headers["Idempotent-Replayed"] == "true"


def test_racing_requests_with_one_key_make_one_concern(app, client, world, db):
    """Threads on the app (SQLite serialises them with BEGIN IMMEDIATE; on PostgreSQL the
    unique constraint does): every answer is the concern made once, or 409 while in flight."""
    answers: list = []

    def send():
        resp = app.test_client().post(
            "/open311/v2/requests.json", data=open311(world), headers={"Idempotency-Key": "race"}
        )
        answers.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _body in answers} <= {201, 409}, answers
    made = {body[0]["service_request_id"] for status, body in answers if status == 201}
    assert len(made) == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Open311Request)) == 1
