"""The JSON API (/api/v1/): keys, resources, cursors, ETags, problem+json, scope."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import ApiKey, AuditLog, ConcernEvent, Duty, utcnow
from models.enums import ConcernAction as A
from models.enums import ConcernStatus, DutyMethod, RegionLevel, Role
from services import api_keys
from services.errors import ApiRefused
from tests import factories
from tests.helpers import login

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db):
    """Two counties of 周口市: 项城市 (station A) and 扶沟县 (station B); a unit in each."""
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    xc = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    fg = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=city)
    a = factories.station(region=xc, name="项城市防水行业联络站")
    b = factories.station(region=fg, name="扶沟县城关联络站")
    rep = factories.representative(stations=[a], name="王建国")
    unit_xc = factories.unit(region_obj=xc, name="项城市住房和城乡建设局")
    unit_fg = factories.unit(region_obj=fg, name="扶沟县住房和城乡建设局")
    cat = factories.category("roads", "道路交通", "Roads")
    w = {
        "city": city,
        "xc": xc,
        "fg": fg,
        "a": a,
        "b": b,
        "rep": rep,
        "unit_xc": unit_xc,
        "unit_fg": unit_fg,
        "concern_a": factories.concern(
            a, cat, contact_name="李秀英", contact_mobile="13812345678", consent_at=utcnow()
        ),
        "concern_b": factories.concern(b, cat),
        "accepted_a": factories.concern(a, cat, status=ConcernStatus.ACCEPTED, assigned_rep=rep),
    }
    db.session.commit()
    return w


def make_key(db, *, region=None, unit=None, act=False, rate=120, name="项城市12345热线") -> str:
    made = api_keys.create(None, name, region=region, unit=unit, can_act=act, rate_per_minute=rate)
    db.session.commit()
    return made.plain


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


# --- keys ------------------------------------------------------------------------------------


def test_a_key_is_stored_only_as_a_keyed_hash(app, db, world):
    plain = make_key(db, region=world["xc"])
    key = db.session.scalar(sa.select(ApiKey))
    assert plain.startswith(f"mk_{key.prefix}_")
    secret = plain.split("_", 2)[2]
    assert secret not in key.secret_hash and len(key.secret_hash) == 64
    row = db.session.execute(sa.text("SELECT * FROM api_key")).mappings().one()
    assert not any(secret in str(value) for value in row.values())
    assert api_keys.authenticate(plain).id == key.id
    # the audit row names the key, never its secret
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "api_key.created"))
    assert entry.target_id == key.id and secret not in str(entry.data)


def test_a_wrong_secret_or_prefix_is_a_bad_key(app, db, world):
    plain = make_key(db, region=world["xc"])
    prefix = plain.split("_")[1]
    for wrong in (plain[:-1] + ("0" if plain[-1] != "0" else "1"), f"mk_{'Z' * 8}_{'a' * 40}", "nonsense", ""):
        with pytest.raises(ApiRefused) as refused:
            api_keys.authenticate(wrong)
        assert refused.value.code == "bad_key", wrong
    assert prefix


def test_the_admin_page_shows_a_new_key_once(app, db, client, world):
    admin = factories.user(Role.ADMIN)
    login(client, admin)
    response = client.post(
        "/admin/api-keys",
        data={"name": "扶沟县12345热线", "region": "411621", "rate_per_minute": "60"},
    )
    assert response.status_code == 201
    db.session.rollback()
    key = db.session.scalar(sa.select(ApiKey))
    page = response.get_data(as_text=True)
    assert f"mk_{key.prefix}_" in page and response.headers["Cache-Control"] == "no-store"
    plain = page.split(f"mk_{key.prefix}_", 1)[1][:40]
    assert api_keys.authenticate(f"mk_{key.prefix}_{plain}").id == key.id
    # the list afterwards shows the prefix, never the secret
    again = client.get("/admin/api-keys").get_data(as_text=True)
    assert f"mk_{key.prefix}_…" in again and plain not in again
    # refused input keeps what was typed, with the reason
    bad = client.post(
        "/admin/api-keys", data={"name": "两者都填", "region": "411621", "unit": str(world["unit_xc"].id)}
    )
    assert bad.status_code == 400 and "两者都填" in bad.get_data(as_text=True)


def test_only_the_admin_manages_keys(app, db, client, world):
    staff = factories.user(Role.CONGRESS_STAFF, region=world["city"])
    login(client, staff)
    assert client.get("/admin/api-keys").status_code == 403
    assert client.post("/admin/api-keys", data={"name": "x", "region": "411621"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_a_revoked_key_is_refused_and_the_revocation_audited(app, db, client, world):
    plain = make_key(db, region=world["xc"])
    assert client.get("/api/v1/concerns", headers=bearer(plain)).status_code == 200
    admin = factories.user(Role.ADMIN)
    key = db.session.scalar(sa.select(ApiKey))
    login(client, admin)
    assert client.post(f"/admin/api-keys/{key.id}/revoke").status_code == 303
    response = client.get("/api/v1/concerns", headers=bearer(plain))
    assert response.status_code == 401 and response.json["code"] == "key_revoked"
    # a revoked key is refused on public paths too, not silently ignored
    assert client.get("/api/v1/categories", headers=bearer(plain)).status_code == 401
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditLog.actor_id).where(AuditLog.action == "api_key.revoked")) == admin.id


def test_last_used_is_written_at_most_once_a_minute(app, db, world):
    make_key(db, region=world["xc"])
    key = db.session.scalar(sa.select(ApiKey))
    now = utcnow()
    assert api_keys.touch(key, now) is True
    assert api_keys.touch(key, now + timedelta(seconds=30)) is False
    assert api_keys.touch(key, now + timedelta(seconds=61)) is True
    db.session.commit()
    assert db.session.scalar(sa.select(ApiKey.last_used_at)) == now + timedelta(seconds=61)


def test_a_request_records_the_last_use(app, db, client, world):
    plain = make_key(db, region=world["xc"])
    assert db.session.scalar(sa.select(ApiKey.last_used_at)) is None
    client.get("/api/v1/concerns", headers={"X-API-Key": plain})
    db.session.rollback()
    assert db.session.scalar(sa.select(ApiKey.last_used_at)) is not None


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_each_key_has_its_own_rate_limit(app, db, client, world):
    slow = make_key(db, region=world["xc"], rate=2, name="慢")
    fast = make_key(db, region=world["xc"], rate=50, name="快")
    codes = [client.get("/api/v1/categories", headers=bearer(slow)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = client.get("/api/v1/categories", headers=bearer(slow))
    assert limited.mimetype == PROBLEM and limited.json["code"] == "too_many_requests"
    # another key from the same address is not slowed down by the first
    assert client.get("/api/v1/categories", headers=bearer(fast)).status_code == 200


# --- public resources --------------------------------------------------------------------------


def test_stations_page_with_opaque_cursors_and_a_region_filter(app, db, client, world):
    for n in range(3):
        factories.station(region=world["xc"], name=f"项城市第{n}联络站")
    db.session.commit()
    first = client.get("/api/v1/stations?limit=2&region=411681")
    assert first.status_code == 200 and len(first.json["items"]) == 2
    codes = [s["code"] for s in first.json["items"]]
    second = client.get(f"/api/v1/stations?limit=2&region=411681&cursor={first.json['next']}")
    codes += [s["code"] for s in second.json["items"]]
    assert second.json["next"] is None
    assert len(codes) == 4 and world["b"].code not in codes  # 扶沟县's station is not in 项城市
    assert world["a"].code in codes
    everywhere = client.get("/api/v1/stations?limit=100&region=411600").json["items"]
    assert {world["a"].code, world["b"].code} <= {s["code"] for s in everywhere}


@pytest.mark.parametrize("cursor", ["garbage", "WyJzdGF0aW9ucyIsICI5OTkiXQ", "{}"])
def test_a_tampered_cursor_is_a_400_problem(app, db, client, world, cursor):
    response = client.get(f"/api/v1/stations?cursor={cursor}")
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.json["code"] == "bad_cursor"


def test_a_cursor_of_one_list_is_refused_by_another(app, db, client, world):
    for n in range(3):
        factories.unit(region_obj=world["xc"], name=f"单位{n}")
    db.session.commit()
    units_next = client.get("/api/v1/units?limit=1").json["next"]
    assert units_next
    assert client.get(f"/api/v1/stations?cursor={units_next}").json["code"] == "bad_cursor"


def test_one_station_with_duty_and_roster(app, db, client, world):
    rep = world["rep"]
    db.session.add(
        Duty(station=world["a"], representative=rep, checked_in_at=utcnow(), method=DutyMethod.QR, nonce="n1")
    )
    factories.slot(world["a"], rep)
    db.session.commit()
    body = client.get(f"/api/v1/stations/{world['a'].code}").json
    assert body["name"] == "项城市防水行业联络站" and body["region"]["code"] == "411681"
    assert [d["name"] for d in body["on_duty_now"]] == ["王建国"]
    assert body["roster"] and body["roster"][0]["representative"] == "王建国"
    assert body["url"].endswith(f"/s/{world['a'].code}")
    missing = client.get("/api/v1/stations/ZZZZZZ")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_a_representatives_public_profile(app, db, client, world):
    body = client.get(f"/api/v1/representatives/{world['rep'].code}").json
    assert body["name"] == "王建国" and body["stations"][0]["code"] == world["a"].code
    assert "mobile" not in str(body) and "summary" in body


def test_categories_and_units(app, db, client, world):
    zh = client.get("/api/v1/categories").json["items"]
    en = client.get("/api/v1/categories", headers={"Accept-Language": "en"}).json["items"]
    assert zh[0]["name"] == "道路交通" and en[0]["name"] == "Roads"
    units = client.get("/api/v1/units?region=411621").json["items"]
    assert [u["name"] for u in units] == ["扶沟县住房和城乡建设局"]
    assert client.get("/api/v1/units?region=123456").json["code"] == "unknown_region"


def test_a_concern_by_tracking_code_shows_what_the_tracking_page_shows(app, db, client, world):
    concern = world["accepted_a"]
    concern.contact_name, concern.contact_mobile, concern.consent_at = "李秀英", "13812345678", utcnow()
    concern.events.append(
        ConcernEvent(
            action=A.NOTE, from_status=concern.status, to_status=concern.status, note="内部：先联系", is_public=False
        )
    )
    concern.events.append(
        ConcernEvent(
            action=A.ACCEPT, from_status=ConcernStatus.SUBMITTED, to_status=concern.status, note="", is_public=False
        )
    )
    db.session.commit()
    response = client.get(f"/api/v1/concerns/track/{concern.tracking_code.lower()}")
    body = response.json
    assert response.status_code == 200 and body["tracking_code"] == concern.tracking_code
    assert body["status"] == "accepted" and body["representative"] == "王建国" and body["stage_done"] == 1
    text = response.get_data(as_text=True)
    assert "李秀英" not in text and "13812345678" not in text and "内部" not in text
    assert [e["action"] for e in body["timeline"]] == ["accept"]  # the internal note is left out
    assert client.get("/api/v1/concerns/track/AAAAAAAAAA").status_code == 404


# --- ETags -------------------------------------------------------------------------------------------


def test_etags_give_304_until_something_changes(app, db, client, world):
    first = client.get(f"/api/v1/stations/{world['a'].code}")
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/stations/{world['a'].code}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    world["a"].address = "项城市莲花大道20号"
    db.session.commit()
    changed = client.get(f"/api/v1/stations/{world['a'].code}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_no_cookie_is_set_and_no_csrf_is_asked(app, db, client, world):
    plain = make_key(db, unit=world["unit_xc"], act=True)
    world["accepted_a"].status, world["accepted_a"].unit = ConcernStatus.DISPATCHED, world["unit_xc"]
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(
        f"/api/v1/concerns/{world['accepted_a'].id}/actions",
        json={"action": "note", "note": "已安排人员查看"},
        headers=bearer(plain),
    )
    assert response.status_code == 201, response.json
    assert "Set-Cookie" not in response.headers
    assert "Set-Cookie" not in client.get("/api/v1/stations").headers


# --- problems --------------------------------------------------------------------------------------


def test_problems_are_rfc9457_in_the_language_asked_for(app, db, client, world):
    zh = client.get("/api/v1/concerns")
    en = client.get("/api/v1/concerns", headers={"Accept-Language": "en-US,en;q=0.9"})
    for response in (zh, en):
        assert response.status_code == 401 and response.mimetype == PROBLEM
        assert response.json["code"] == "key_required" and response.json["status"] == 401
        assert response.json["type"].endswith("/api/v1/docs#problem-key_required")
    assert "API key" in en.json["detail"]
    assert en.json["detail"] != zh.json["detail"]
    # unknown paths and methods are problems too, not HTML pages
    assert client.get("/api/v1/nothing-here").mimetype == PROBLEM
    not_allowed = client.delete("/api/v1/stations")
    assert not_allowed.status_code == 405 and not_allowed.json["code"] == "method_not_allowed"


def test_invalid_input_names_the_fields(app, db, client, world):
    response = client.get("/api/v1/stations?limit=1000")
    assert response.status_code == 422 and response.json["code"] == "invalid_input"
    assert "limit" in str(response.json["errors"])


# --- concerns in a key's scope ---------------------------------------------------------------------


def test_a_county_key_reads_only_its_county(app, db, client, world):
    plain = make_key(db, region=world["xc"])
    listed = client.get("/api/v1/concerns", headers=bearer(plain)).json["items"]
    ids = {c["id"] for c in listed}
    assert ids == {world["concern_a"].id, world["accepted_a"].id}
    assert client.get(f"/api/v1/concerns/{world['concern_b'].id}", headers=bearer(plain)).status_code == 404
    one = client.get(f"/api/v1/concerns/{world['concern_a'].id}", headers=bearer(plain))
    assert one.status_code == 200 and "13812345678" not in one.get_data(as_text=True)  # no contacts, ever
    # filtering by another county's station finds nothing
    other = client.get(f"/api/v1/concerns?station={world['b'].code}", headers=bearer(plain)).json
    assert other["items"] == []


def test_a_county_key_cannot_act_on_another_countys_concern(app, db, client, world):
    plain = make_key(db, region=world["xc"], act=True)
    response = client.post(
        f"/api/v1/concerns/{world['concern_b'].id}/actions",
        json={"action": "reject", "note": "不属于受理范围"},
        headers=bearer(plain),
    )
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(type(world["concern_b"]), world["concern_b"].id).status == ConcernStatus.SUBMITTED


def test_concern_filters_and_pages(app, db, client, world):
    plain = make_key(db, region=world["city"])
    page = client.get("/api/v1/concerns?limit=2", headers=bearer(plain)).json
    rest = client.get(f"/api/v1/concerns?limit=2&cursor={page['next']}", headers=bearer(plain)).json
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next"] is None
    accepted = client.get("/api/v1/concerns?status=accepted", headers=bearer(plain)).json["items"]
    assert [c["id"] for c in accepted] == [world["accepted_a"].id]
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/concerns?since={future}", headers=bearer(plain)).json["items"] == []


def test_a_read_only_key_cannot_act(app, db, client, world):
    plain = make_key(db, region=world["xc"])
    response = client.post(
        f"/api/v1/concerns/{world['concern_a'].id}/actions",
        json={"action": "reject", "note": "重复"},
        headers=bearer(plain),
    )
    assert response.status_code == 403 and response.json["code"] == "read_only_key"


def test_a_step_names_the_representative_by_the_public_code_the_api_shows(app, db, client, world):
    plain = make_key(db, region=world["xc"], act=True)
    concern, rep = world["concern_a"], world["rep"]
    post = f"/api/v1/concerns/{concern.id}/actions"
    unknown = client.post(post, json={"action": "accept", "representative": "ZZZZZZ"}, headers=bearer(plain))
    assert unknown.status_code == 409 and unknown.json["code"] == "representative_required"
    taken = client.post(post, json={"action": "accept", "representative": rep.code.lower()}, headers=bearer(plain))
    assert taken.status_code == 201, taken.json
    shown = taken.json["concern"]
    assert shown["status"] == "accepted" and shown["representative"] == rep.user.display_name


def test_an_acting_key_takes_a_step_through_the_same_table_and_the_event_names_the_key(app, db, client, world):
    plain = make_key(db, region=world["xc"], act=True)
    concern = world["accepted_a"]
    shown = client.get(f"/api/v1/concerns/{concern.id}", headers=bearer(plain)).json
    assert "dispatch" in shown["actions"] and "reply" not in shown["actions"]
    response = client.post(
        f"/api/v1/concerns/{concern.id}/actions",
        json={"action": "dispatch", "unit_id": world["unit_xc"].id, "version": shown["version"]},
        headers=bearer(plain),
    )
    assert response.status_code == 201, response.json
    assert response.json["concern"]["status"] == "dispatched"
    assert response.json["event"]["api_key"] == "项城市12345热线" and response.json["event"]["actor"] is None
    db.session.rollback()
    event = db.session.scalar(sa.select(ConcernEvent).where(ConcernEvent.action == A.DISPATCH))
    assert event.api_key_id is not None and event.actor_id is None
    # the same version again: the back office's "changed" refusal, as a 409 problem
    again = client.post(
        f"/api/v1/concerns/{concern.id}/actions",
        json={"action": "dispatch", "unit_id": world["unit_xc"].id, "version": shown["version"]},
        headers=bearer(plain),
    )
    assert again.status_code == 409 and again.json["code"] == "changed"


def test_refusals_of_the_loop_keep_their_codes(app, db, client, world):
    plain = make_key(db, region=world["xc"], act=True)
    concern = world["accepted_a"]
    # another county's unit is out of reach: the table's unit_required
    out_of_reach = client.post(
        f"/api/v1/concerns/{concern.id}/actions",
        json={"action": "dispatch", "unit_id": world["unit_fg"].id},
        headers=bearer(plain),
    )
    assert out_of_reach.status_code == 409 and out_of_reach.json["code"] == "unit_required"
    needs_note = client.post(f"/api/v1/concerns/{concern.id}/actions", json={"action": "reject"}, headers=bearer(plain))
    assert needs_note.json["code"] == "note_required"
    wrong_stage = client.post(
        f"/api/v1/concerns/{world['concern_a'].id}/actions",
        json={"action": "confirm"},
        headers=bearer(plain),
    )
    assert wrong_stage.status_code in (403, 409)
    unknown = client.post(
        f"/api/v1/concerns/{concern.id}/actions", json={"action": "auto_close"}, headers=bearer(plain)
    )
    assert unknown.json["code"] == "unknown_action"


def test_a_unit_key_handles_only_what_was_dispatched_to_it(app, db, client, world):
    plain = make_key(db, unit=world["unit_xc"], act=True)
    concern = world["accepted_a"]
    concern.status, concern.unit = ConcernStatus.DISPATCHED, world["unit_xc"]
    db.session.commit()
    listed = client.get("/api/v1/concerns", headers=bearer(plain)).json["items"]
    assert [c["id"] for c in listed] == [concern.id]
    response = client.post(
        f"/api/v1/concerns/{concern.id}/actions",
        json={"action": "reply", "note": "已于本周修复路灯。"},
        headers=bearer(plain),
    )
    assert response.status_code == 201 and response.json["concern"]["status"] == "replied"
    # and not another unit's work
    assert client.get(f"/api/v1/concerns/{world['concern_a'].id}", headers=bearer(plain)).status_code == 404


def test_figures_count_the_keys_scope(app, db, client, world):
    county = make_key(db, region=world["xc"], name="县")
    body = client.get("/api/v1/figures", headers=bearer(county)).json
    assert body["total"]["received"] == 2
    assert {row["name"] for row in body["rows"]} == {"项城市防水行业联络站"}
    city = make_key(db, region=world["city"], name="市")
    assert client.get("/api/v1/figures", headers=bearer(city)).json["total"]["received"] == 3
    reversed_period = client.get("/api/v1/figures?start=2026-05-01&end=2026-01-01", headers=bearer(city))
    assert reversed_period.status_code == 400 and reversed_period.json["code"] == "bad_period"


def test_the_openapi_document_is_3_1_and_the_docs_page_is_self_contained(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/concerns/{concern_id}/actions" in doc["paths"]
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "problem-bad_cursor" in html and "/api/v1/stations" in html
    assert "http://" not in html.replace("http://mashang.test", "") and "https://" not in html


def test_the_cli_makes_lists_and_revokes_a_key(app, db, runner, world):
    made = runner.invoke(args=["api-key", "create", "--name", "扶沟县热线", "--region", "411621"])
    assert made.exit_code == 0, made.output
    plain = made.output.strip()
    assert api_keys.authenticate(plain)
    listed = runner.invoke(args=["api-key", "list"])
    assert "扶沟县热线" in listed.output and plain.split("_")[2] not in listed.output
    assert runner.invoke(args=["api-key", "revoke", plain.split("_")[1]]).exit_code == 0
    with pytest.raises(ApiRefused):
        api_keys.authenticate(plain)
    bad = runner.invoke(args=["api-key", "create", "--name", "x", "--region", "000000"])
    assert bad.exit_code == 1


def test_the_back_office_timeline_names_the_key_that_took_a_step(app, db, client, world):
    plain = make_key(db, region=world["xc"], act=True)
    concern = world["accepted_a"]
    response = client.post(
        f"/api/v1/concerns/{concern.id}/actions",
        json={"action": "reject", "note": "不属于人大代表联络站受理范围。"},
        headers=bearer(plain),
    )
    assert response.status_code == 201
    db.session.rollback()  # a fresh snapshot: the request wrote after this session read
    staff = factories.user(Role.CONGRESS_STAFF, region=world["xc"])
    login(client, staff)
    page = client.get(f"/manage/concerns/{concern.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "项城市12345热线 · API key" in page
