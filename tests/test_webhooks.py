"""Webhooks (services.webhooks): the admin's subscriptions, events from every path into the
outbox for exactly the subscriptions whose key's scope holds them, signed deliveries to a
real local receiver, and the signed inbound endpoint of a unit's system."""

import hashlib
import hmac
import http.server
import json
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, Concern, ConcernEvent, Outbox, WebhookSubscription, utcnow
from models.enums import ConcernAction as A
from models.enums import ConcernStatus, Rating, ReplyClass, Role
from models.enums import OutboxStatus as St
from services import api_keys, outbox, suggestion_flow, webhooks
from services import concern_flow as flow
from services.concerns import ConcernInput, submit_concern
from services.errors import ApiRefused
from services.storage import LocalStorage
from tests import factories, test_api
from tests.helpers import login
from tests.test_api import PROBLEM, bearer

world = test_api.world  # the two-county world, a fixture
ALL = list(webhooks.EVENTS)
RATED = "concern.rated"


def key_with_hook(db, *, region=None, unit=None, act=False, events=ALL, url="https://hooks.example.org/in"):
    made = api_keys.create(None, "系统", region=region, unit=unit, can_act=act)
    sub = webhooks.subscribe(None, made.key, url, events)
    db.session.commit()
    return made.plain, sub.subscription, sub.secret


def rows_for(db, sub) -> list[Outbox]:
    db.session.commit()  # a fresh snapshot: requests write in their own sessions
    return list(db.session.scalars(sa.select(Outbox).where(Outbox.recipient == sub.recipient).order_by(Outbox.id)))


def types(rows) -> list[str]:
    return [json.loads(r.body)["type"] for r in rows]


# --- the admin's pages -----------------------------------------------------------------------


def test_the_admin_adds_pauses_resumes_tests_and_deletes_a_webhook_each_audited(app, db, client, world):
    key = api_keys.create(None, "项城市12345热线", region=world["xc"]).key
    admin = factories.user(Role.ADMIN)
    login(client, admin)
    base = f"/admin/api-keys/{key.id}/webhooks"
    assert client.get(base).status_code == 200
    added = client.post(base, data={"url": "https://hooks.example.org/in", "events": ["concern.created", "ping"]})
    assert added.status_code == 400  # ping is no event to choose
    added = client.post(base, data={"url": "https://hooks.example.org/in", "events": ["concern.created", RATED]})
    assert added.status_code == 201
    db.session.commit()
    sub = db.session.scalar(sa.select(WebhookSubscription))
    assert sub.events == ["concern.created", RATED] and sub.secret.startswith("whsec_")
    page = added.get_data(as_text=True)
    assert sub.secret in page and added.headers["Cache-Control"] == "no-store"
    assert sub.secret not in client.get(base).get_data(as_text=True)  # shown once
    for action, check in (
        ("pause", lambda s: s.paused_at is not None),
        ("resume", lambda s: s.paused_at is None),
        ("test", lambda s: True),
        ("delete", lambda s: s.deleted_at is not None),
    ):
        assert client.post(f"{base}/{sub.id}/{action}").status_code == 303
        db.session.commit()
        assert check(db.session.get(WebhookSubscription, sub.id)), action
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.target_type == "webhooksubscription"))
    assert list(actions) == [
        "webhook.created",
        "webhook.paused",
        "webhook.resumed",
        "webhook.test_sent",
        "webhook.deleted",
    ]
    # the test event is in the delivery log; a deleted webhook takes no more steps
    assert [r.kind for r in rows_for(db, sub)] == ["ping"]
    log = client.get(f"{base}/{sub.id}")
    assert log.status_code == 200 and "ping" in log.get_data(as_text=True)
    client.post(f"{base}/{sub.id}/test")
    assert len(rows_for(db, sub)) == 1
    # another key's webhook is not found under this key
    other = api_keys.create(None, "别的系统", region=world["fg"]).key
    db.session.commit()
    assert client.get(f"/admin/api-keys/{other.id}/webhooks/{sub.id}").status_code == 404


@pytest.mark.parametrize("url", ["ftp://hooks.example.org/in", "javascript:alert(1)", "hooks.example.org", "https://"])
def test_only_http_addresses_are_subscribed(app, db, world, url):
    key = api_keys.create(None, "系统", region=world["xc"]).key
    with pytest.raises(ApiRefused) as refused:
        webhooks.subscribe(None, key, url, ALL)
    assert refused.value.code == "bad_url"
    with pytest.raises(ApiRefused) as refused:
        webhooks.subscribe(None, key, "https://hooks.example.org/in", [])
    assert refused.value.code == "events_required"


def test_the_database_holds_only_http_addresses_too(app, db, world):
    key = api_keys.create(None, "系统", region=world["xc"]).key
    db.session.add(WebhookSubscription(api_key=key, url="ftp://hooks.example.org/in", events=ALL, secret="whsec_x"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_only_the_admin_reaches_the_webhook_pages(app, db, client, world):
    key = api_keys.create(None, "系统", region=world["xc"]).key
    sub = webhooks.subscribe(None, key, "https://hooks.example.org/in", ALL).subscription
    manager = factories.user(Role.STATION_MANAGER)
    manager.managed_stations = [world["a"]]
    people = {
        "representative": world["rep"].user,
        "station_manager": manager,
        "congress_staff": factories.user(Role.CONGRESS_STAFF, region=world["xc"]),
        "unit_handler": factories.user(Role.UNIT_HANDLER, unit=world["unit_xc"]),
        "official": factories.official(world["unit_xc"]).user,
    }
    db.session.commit()
    base = f"/admin/api-keys/{key.id}/webhooks"
    routes = [("get", base), ("post", base), ("get", f"{base}/{sub.id}")]
    routes += [("post", f"{base}/{sub.id}/{action}") for action in ("pause", "resume", "test", "delete")]
    for method, path in routes:
        anonymous = getattr(client, method)(path, data={"url": "https://x.example.org", "events": ALL})
        assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["Location"], path
    for role, person in people.items():
        login(client, person)
        for method, path in routes:
            answer = getattr(client, method)(path, data={"url": "https://x.example.org", "events": ALL})
            assert answer.status_code == 403, (role, path)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookSubscription)) == 1
    assert db.session.get(WebhookSubscription, sub.id).is_active


# --- events into the outbox: every path, only the subscriptions in scope ---------------------------


def test_filing_queues_concern_created_for_the_county_that_holds_it_only(app, db, world, tmp_path):
    _, xc_sub, _ = key_with_hook(db, region=world["xc"])
    _, fg_sub, _ = key_with_hook(db, region=world["fg"])
    _, city_sub, _ = key_with_hook(db, region=world["city"])
    _, unit_sub, _ = key_with_hook(db, unit=world["unit_xc"])
    _, stages_only, _ = key_with_hook(db, region=world["xc"], events=["concern.stage_changed"])
    category = world["concern_a"].category
    data = ConcernInput(category_id=category.id, content="小区门口的路灯坏了两个月，晚上出行很不方便。")
    concern = submit_concern(world["a"], data, [], storage=LocalStorage(str(tmp_path)))
    db.session.commit()
    (row,) = rows_for(db, xc_sub)
    body = json.loads(row.body)
    assert body["type"] == "concern.created" and body["id"].startswith("msg_") and row.subject == body["id"]
    assert body["data"]["concern"]["tracking_code"] == concern.tracking_code
    assert body["data"]["concern"]["status"] == "submitted" and body["data"]["concern"]["stage"] == "order"
    assert body["data"]["concern"]["version"] == concern.version
    assert "content" not in body["data"]["concern"] and row.concern_id is None and row.channel == "webhook-out"
    assert len(rows_for(db, city_sub)) == 1  # the city above sees its counties
    assert rows_for(db, fg_sub) == [] and rows_for(db, unit_sub) == [] and rows_for(db, stages_only) == []


def test_a_rolled_back_step_queues_nothing(app, db, world):
    _, sub, _ = key_with_hook(db, region=world["xc"])
    concern = world["accepted_a"]
    flow.transition(concern, A.DISPATCH, role=Role.CONGRESS_STAFF, unit=world["unit_xc"])
    db.session.rollback()
    assert rows_for(db, sub) == []


def test_every_path_emits_stage_changes_and_the_rating(app, db, client, world):
    plain, xc_sub, _ = key_with_hook(db, region=world["xc"], act=True)
    _, fg_sub, _ = key_with_hook(db, region=world["fg"])
    _, unit_sub, _ = key_with_hook(db, unit=world["unit_xc"])
    _, paused, _ = key_with_hook(db, region=world["xc"])
    webhooks.pause(None, paused)
    handler = factories.user(Role.UNIT_HANDLER, unit=world["unit_xc"])
    db.session.commit()
    concern = world["accepted_a"]
    # the API: the key dispatches
    answer = client.post(
        f"/api/v1/concerns/{concern.id}/actions",
        json={"action": "dispatch", "unit_id": world["unit_xc"].id},
        headers=bearer(plain),
    )
    assert answer.status_code == 201
    # the back office: the unit answers, the representative confirms
    login(client, handler)
    version = db.session.get(Concern, concern.id).version
    assert (
        client.post(
            f"/manage/concerns/{concern.id}/act",
            data={"action": "reply", "note": "已于本周修复路灯。", "version": str(version)},
        ).status_code
        == 302
    )
    db.session.commit()
    concern = db.session.get(Concern, concern.id)
    flow.transition(concern, A.CONFIRM, role=Role.REPRESENTATIVE, actor=world["rep"].user)
    # the resident rates it
    flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    db.session.commit()
    rows = rows_for(db, xc_sub)
    assert types(rows) == ["concern.stage_changed"] * 4 + [RATED]
    statuses = [json.loads(r.body)["data"]["event"]["to_status"] for r in rows]
    assert statuses == ["dispatched", "replied", "confirmed", "closed", "closed"]
    reply = json.loads(rows[1].body)["data"]
    assert reply["event"]["note"] == "已于本周修复路灯。" and reply["concern"]["stage"] == "handle"
    assert json.loads(rows[-1].body)["data"]["rating"] == {"unit": "satisfied", "representative": "satisfied"}
    assert rows_for(db, fg_sub) == [] and rows_for(db, paused) == []
    # the unit hears of what was dispatched to it, from then on
    assert types(rows_for(db, unit_sub)) == ["concern.stage_changed"] * 4 + [RATED]


def test_the_scheduled_job_emits_too(app, db, world):
    _, sub, _ = key_with_hook(db, region=world["xc"], events=["concern.stage_changed"])
    concern = world["accepted_a"]
    concern.status, concern.due_at = ConcernStatus.CONFIRMED, utcnow() - timedelta(days=1)
    db.session.commit()
    assert flow.auto_close_due() == 1
    db.session.commit()
    (row,) = rows_for(db, sub)
    event = json.loads(row.body)["data"]["event"]
    assert (event["action"], event["from_status"], event["to_status"]) == ("auto_close", "confirmed", "closed")


def test_a_suggestion_reply_reaches_its_region_and_its_lead_unit(app, db, world):
    _, xc_sub, _ = key_with_hook(db, region=world["xc"], events=["suggestion.replied"])
    _, fg_sub, _ = key_with_hook(db, region=world["fg"], events=["suggestion.replied"])
    _, lead_sub, _ = key_with_hook(db, unit=world["unit_xc"], events=["suggestion.replied"])
    _, other_unit, _ = key_with_hook(db, unit=world["unit_fg"], events=["suggestion.replied"])
    handler = factories.user(Role.UNIT_HANDLER, unit=world["unit_xc"])
    s = factories.suggestion(world["rep"], lead_unit=world["unit_xc"], due_at=utcnow() + timedelta(days=30))
    db.session.commit()
    suggestion_flow.transition(
        s, "reply", role=Role.UNIT_HANDLER, actor=handler, note="已列入年度计划", reply_class=ReplyClass.A
    )
    db.session.commit()
    (row,) = rows_for(db, xc_sub)
    body = json.loads(row.body)
    assert body["type"] == "suggestion.replied" and body["data"]["suggestion"]["id"] == s.id
    assert len(rows_for(db, lead_sub)) == 1
    assert rows_for(db, fg_sub) == [] and rows_for(db, other_unit) == []


# --- signing and sending -----------------------------------------------------------------------


class Receiver:
    """A tiny HTTP server in a thread that verifies what it gets as the README tells
    receivers to, and answers with the status the test sets."""

    def __init__(self, secret: str):
        self.secret, self.status, self.got = secret, 200, []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers), body, verify(receiver.secret, self.headers, body)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """The README's verify helper, as a receiver would write it."""
    timestamp = headers["Mashang-Webhook-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    given = [p.removeprefix("v1=") for p in headers["Mashang-Webhook-Signature"].split(",")]
    return any(hmac.compare_digest(expected, g) for g in given)


@pytest.fixture
def receiver():
    found = []

    def make(secret):
        found.append(Receiver(secret))
        return found[-1]

    yield make
    for r in found:
        r.close()


def test_a_delivery_is_signed_received_verified_and_sent_once(app, db, world, receiver):
    key = api_keys.create(None, "系统", region=world["xc"]).key
    made = webhooks.subscribe(None, key, "https://placeholder.example.org", ALL)
    r = receiver(made.secret)
    made.subscription.url = r.url
    flow.transition(world["accepted_a"], A.DISPATCH, role=Role.CONGRESS_STAFF, unit=world["unit_xc"])
    db.session.commit()
    assert outbox.deliver_due()["sent"] == 1
    assert outbox.deliver_due()["sent"] == 0  # never twice
    ((headers, body, verified),) = r.got
    assert verified
    (row,) = rows_for(db, made.subscription)
    assert body.decode() == row.body and headers["Mashang-Webhook-Id"] == json.loads(row.body)["id"]
    assert (row.status, row.attempts, row.response_code) == (St.SENT, 1, 200)
    # a tampered body or another secret does not verify
    assert not verify(made.secret, headers, body.replace(b"dispatched", b"closed"))
    assert not verify("whsec_other", headers, body)


def test_retry_and_permanent_failure_are_told_apart(app, db, world, receiver):
    key = api_keys.create(None, "系统", region=world["xc"]).key
    made = webhooks.subscribe(None, key, "https://placeholder.example.org", ALL)
    r = receiver(made.secret)
    made.subscription.url = r.url
    db.session.commit()
    sub = made.subscription
    for status, expected, permanent in ((500, "retry", False), (429, "retry", False), (404, "failed", True)):
        webhooks.send_test(None, sub)
        db.session.commit()
        r.status = status
        counts = outbox.deliver_due(now=utcnow() + timedelta(days=1))
        assert counts[expected] == 1, (status, counts)
        row = rows_for(db, sub)[-1]
        assert row.response_code == status and row.last_error == f"HTTP {status}"
        assert (row.status == St.FAILED) is permanent
        if not permanent:
            assert row.next_attempt_at > utcnow() and row.status == St.PENDING
            row.status = St.FAILED  # out of the way of the next case
            db.session.commit()
    # no answer at all (the receiver gone): tried again later
    r.close()
    webhooks.send_test(None, sub)
    db.session.commit()
    assert outbox.deliver_due(now=utcnow() + timedelta(days=1))["retry"] == 1


def test_a_paused_subscription_holds_its_queue_and_a_deleted_one_fails_it(app, db, world):
    _, sub, _ = key_with_hook(db, region=world["xc"], url="http://127.0.0.1:9/never")
    flow.transition(world["accepted_a"], A.DISPATCH, role=Role.CONGRESS_STAFF, unit=world["unit_xc"])
    db.session.commit()
    webhooks.pause(None, sub)
    db.session.commit()
    assert outbox.deliver_due()["retry"] == 1
    webhooks.delete(None, sub)
    db.session.commit()
    assert outbox.deliver_due(now=utcnow() + timedelta(days=1))["failed"] == 1
    assert "deleted" in rows_for(db, sub)[0].last_error


# --- inbound: the unit's system answers, signed ------------------------------------------------------


def _signed_post(client, path, payload, plain, secret, *, timestamp=None, tamper=False, key=None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = webhooks.sign(secret, stamp, body)
    headers = {
        **bearer(plain),
        "Content-Type": "application/json",
        "Mashang-Webhook-Timestamp": stamp,
        "Mashang-Webhook-Signature": f"v1={signature}",
        **({"Idempotency-Key": key} if key else {}),
    }
    return client.post(path, data=body + (b" " if tamper else b""), headers=headers)


@pytest.fixture
def dispatched(db, world):
    concern = world["accepted_a"]
    concern.status, concern.unit = ConcernStatus.DISPATCHED, world["unit_xc"]
    db.session.commit()
    return concern


def test_a_unit_replies_through_the_signed_endpoint(app, db, client, world, dispatched):
    plain, _, secret = key_with_hook(db, unit=world["unit_xc"], act=True)
    path = f"/api/v1/inbound/concerns/{dispatched.id}"
    answer = _signed_post(client, path, {"action": "reply", "note": "已于本周修复路灯。"}, plain, secret)
    assert answer.status_code == 201, answer.json
    assert answer.json["concern"]["status"] == "replied" and answer.json["event"]["api_key"] == "系统"


def test_an_inbound_reply_sent_again_with_its_idempotency_key_is_taken_once(app, db, client, world, dispatched):
    plain, _, secret = key_with_hook(db, unit=world["unit_xc"], act=True)
    path = f"/api/v1/inbound/concerns/{dispatched.id}"
    reply = {"action": "reply", "note": "已于本周修复路灯。"}
    first = _signed_post(client, path, reply, plain, secret, key="reply-42")
    again = _signed_post(client, path, reply, plain, secret, key="reply-42", timestamp=int(time.time()) + 1)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    other = _signed_post(client, path, {**reply, "note": "另一答复"}, plain, secret, key="reply-42")
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    db.session.rollback()  # a new read transaction: the requests committed in their own sessions
    steps = db.session.scalars(sa.select(ConcernEvent.action).where(ConcernEvent.concern_id == dispatched.id))
    assert list(steps) == [A.REPLY]


def test_a_unit_returns_through_the_signed_endpoint(app, db, client, world, dispatched):
    plain, _, secret = key_with_hook(db, unit=world["unit_xc"], act=True)
    path = f"/api/v1/inbound/concerns/{dispatched.id}"
    answer = _signed_post(client, path, {"action": "return", "note": "不属于本单位职责。"}, plain, secret)
    assert answer.status_code == 201 and answer.json["concern"]["status"] == "accepted"


def test_inbound_refusals(app, db, client, world, dispatched):
    plain, sub, secret = key_with_hook(db, unit=world["unit_xc"], act=True)
    path = f"/api/v1/inbound/concerns/{dispatched.id}"
    reply = {"action": "reply", "note": "已于本周修复路灯。"}

    def code(answer, status):
        assert answer.status_code == status and answer.mimetype == PROBLEM, answer.get_data(as_text=True)
        return answer.json["code"]

    assert code(_signed_post(client, path, reply, plain, secret, tamper=True), 401) == "bad_signature"
    assert code(_signed_post(client, path, reply, plain, "whsec_wrong"), 401) == "bad_signature"
    stale = int(time.time()) - 3600
    assert code(_signed_post(client, path, reply, plain, secret, timestamp=stale), 401) == "stale_timestamp"
    ahead = int(time.time()) + 3600
    assert code(_signed_post(client, path, reply, plain, secret, timestamp=ahead), 401) == "stale_timestamp"
    no_headers = client.post(path, json=reply, headers=bearer(plain))
    assert code(no_headers, 401) == "bad_signature"
    # bad input is refused only once the signature holds
    assert code(_signed_post(client, path, {"action": "dispatch", "note": "x"}, plain, secret), 422) == "invalid_input"
    # another unit's concern reads as unknown (a new transaction first: on SQLite this test's
    # snapshot cannot write once the requests above have written the key's last use)
    db.session.rollback()
    other = world["concern_b"]
    other.status, other.unit = ConcernStatus.DISPATCHED, world["unit_fg"]
    db.session.commit()
    assert code(_signed_post(client, f"/api/v1/inbound/concerns/{other.id}", reply, plain, secret), 404) == "not_found"
    # a region's key is no unit: it uses the actions endpoint
    region_plain, _, region_secret = key_with_hook(db, region=world["xc"], act=True)
    assert code(_signed_post(client, path, reply, region_plain, region_secret), 403) == "not_permitted"
    # a read-only unit key
    ro_plain, _, ro_secret = key_with_hook(db, unit=world["unit_xc"])
    assert code(_signed_post(client, path, reply, ro_plain, ro_secret), 403) == "read_only_key"
    # another key's secret does not sign for this one
    assert code(_signed_post(client, path, reply, plain, ro_secret), 401) == "bad_signature"
    # the state machine's refusal, as on the actions endpoint
    assert _signed_post(client, path, reply, plain, secret).status_code == 201
    assert code(_signed_post(client, path, reply, plain, secret), 409) == "not_allowed_now"
    # a deleted subscription's secret no longer signs
    webhooks.delete(None, db.session.get(WebhookSubscription, sub.id))
    db.session.commit()
    assert code(_signed_post(client, path, reply, plain, secret), 401) == "bad_signature"


def test_the_resident_step_on_a_merged_concern_is_rated_too(app, db, world):
    """RATE_MERGED (no status change) is still concern.rated."""
    _, sub, _ = key_with_hook(db, region=world["xc"], events=[RATED, "concern.stage_changed"])
    root = world["accepted_a"]
    root.status = ConcernStatus.CONFIRMED
    follower = factories.concern(world["a"], root.category, status=ConcernStatus.MERGED, merged_into_id=root.id)
    db.session.commit()
    flow.rate_merged(follower, Rating.SATISFIED, Rating.SATISFIED)
    db.session.commit()
    assert types(rows_for(db, sub)) == [RATED]


def test_the_cli_adds_a_webhook_and_prints_its_secret_once(app, db, runner, world):
    plain = runner.invoke(args=["api-key", "create", "--name", "住建局系统", "--unit-id", str(world["unit_xc"].id)])
    prefix = plain.output.strip().split("_")[1]
    made = runner.invoke(
        args=["api-key", "webhook", prefix, "https://hooks.example.cn/mashang", "--event", "concern.stage_changed"]
    )
    assert made.exit_code == 0, made.output
    secret = made.output.strip()
    sub = db.session.scalar(sa.select(WebhookSubscription))
    assert secret.startswith("whsec_") and sub.secret == secret and sub.events == ["concern.stage_changed"]
    refused = runner.invoke(args=["api-key", "webhook", prefix, "ftp://hooks.example.cn", "--event", "concern.rated"])
    assert refused.exit_code == 1
    assert (
        runner.invoke(args=["api-key", "webhook", "NOSUCHKY", "https://x.example.cn", "--event", "ping"]).exit_code == 1
    )
