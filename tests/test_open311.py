"""Open311 GeoReport v2 (/open311/v2/): the spec's documents in JSON and XML, filing a
concern with a photo, the filters, the errors, and the scope of a county's key.

No Open311 client from the registries fits our dependencies (georeport pins xmltodict
below 0.15, an older one than the tested dependencies use; open311 and three are
unmaintained since 2011–2013), so these tests read our answers as such a client does:
JSON as it is, XML through xmltodict (georeport's own reader) and the standard library,
against the spec's examples (the element names and the shape of each document)."""

import io
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa
import xmltodict

from models import Attachment, Concern, ConcernEvent, Open311Request, utcnow
from models.enums import ConcernSource, ConcernStatus, RegionLevel
from services import api_keys
from tests import factories

# The fields of a service request in the spec's GET requests example.
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}


@pytest.fixture
def world(db):
    """Two counties of 周口市: 项城市 with station A, 扶沟县 with station B."""
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    xc = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    fg = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=city)
    a = factories.station(region=xc, name="项城市防水行业联络站", latitude=33.44, longitude=114.9)
    b = factories.station(region=fg, name="扶沟县城关联络站")
    roads = factories.category("roads", "道路交通", "Roads")
    unit = factories.unit(region_obj=xc, name="项城市住房和城乡建设局")
    w = {
        "xc": xc,
        "fg": fg,
        "a": a,
        "b": b,
        "roads": roads,
        "concern_a": factories.concern(
            a,
            roads,
            contact_name="李秀英",
            contact_mobile="13812345678",
            consent_at=utcnow(),
            status=ConcernStatus.DISPATCHED,
            unit=unit,
        ),
        "concern_b": factories.concern(b, roads),
    }
    db.session.commit()
    return w


def key(db, region, *, act=True) -> str:
    db.session.rollback()  # a snapshot read before a request wrote cannot write on SQLite
    made = api_keys.create(None, "项城市12345热线", region=region, can_act=act)
    db.session.commit()
    return made.plain


def jpeg() -> bytes:
    """A real JPEG, with EXIF, made by Pillow."""
    from PIL import Image

    image = Image.new("RGB", (640, 480), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def form(plain: str, **extra) -> dict:
    data = {
        "api_key": plain,
        "service_code": "roads",
        "description": "莲花大道与团结路口的红绿灯坏了三天，早晚高峰很危险。",
        "lat": "33.441",
        "long": "114.902",
    }
    data.update(extra)
    return data


# --- discovery and services ---------------------------------------------------------------


def test_discovery_in_json_and_xml(client, world):
    doc = client.get("/open311/v2/discovery.json").get_json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    resp = client.get("/open311/v2/discovery.xml")
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["application/json", "text/xml"]


def test_services_are_the_active_categories(client, world, db):
    factories.category("old", "旧分类", "Old").is_active = False
    db.session.commit()
    services = client.get("/open311/v2/services.json").get_json()
    assert [s["service_code"] for s in services] == ["roads"]
    assert set(services[0]) == SERVICE_FIELDS
    assert services[0]["metadata"] is False and services[0]["type"] == "realtime"
    assert services[0]["keywords"] == ["道路交通", "Roads"]
    # as georeport reads XML: xmltodict.parse(...)["services"]["service"]
    parsed = xmltodict.parse(client.get("/open311/v2/services.xml").data)["services"]["service"]
    assert (
        parsed["service_code"] == "roads" and parsed["metadata"] == "false" and parsed["keywords"] == "道路交通,Roads"
    )


def test_service_definition_and_an_unknown_service(client, world):
    definition = client.get("/open311/v2/services/roads.json").get_json()
    assert definition["service_code"] == "roads"
    [attribute] = definition["attributes"]
    assert attribute["code"] == "station" and attribute["required"] is False and attribute["datatype"] == "string"
    root = ET.fromstring(client.get("/open311/v2/services/roads.xml").data)
    assert root.tag == "service_definition" and root.find("attributes/attribute/code").text == "station"
    resp = client.get("/open311/v2/services/nothing.json")
    assert resp.status_code == 404
    [err] = resp.get_json()
    assert err["code"] == 404 and err["description"]
    resp = client.get("/open311/v2/services/nothing.xml")
    assert resp.status_code == 404
    root = ET.fromstring(resp.data)
    assert root.tag == "errors" and root.find("error/code").text == "404"


# --- filing ------------------------------------------------------------------------------------


def test_a_request_with_a_photo_enters_the_loop_as_the_form_would(client, world, db, app):
    plain = key(db, world["xc"])
    data = form(plain, first_name="秀英", last_name="李", phone="13812345678", email="li@example.com")
    data["attribute[station]"] = world["a"].code
    data["attribute[consent]"] = "true"
    data["media"] = (io.BytesIO(jpeg()), "photo.jpg")
    resp = client.post("/open311/v2/requests.json", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.data
    [made] = resp.get_json()
    assert set(made) == {"service_request_id", "token", "service_notice", "account_id"}
    db.session.rollback()
    concern = db.session.scalar(sa.select(Concern).where(Concern.tracking_code == made["service_request_id"]))
    assert concern.source == ConcernSource.API and concern.status == ConcernStatus.SUBMITTED
    assert concern.station_id == world["a"].id and concern.contact_name == "李秀英"
    assert concern.contact_mobile == "13812345678" and concern.consent_at is not None
    [event] = db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == concern.id))
    assert event.api_key.name == "项城市12345热线" and event.actor_id is None
    [photo] = db.session.scalars(sa.select(Attachment).where(Attachment.concern_id == concern.id))
    assert photo.content_type == "image/jpeg" and photo.width == 640
    row = db.session.get(Open311Request, concern.id)
    assert (row.lat, row.long) == (33.441, 114.902) and row.token == made["token"]
    # the photo was cleaned as the form's are: no EXIF left
    from PIL import Image

    from views.public import storage

    with app.test_request_context():
        stored = storage().read(photo.storage_key)
    assert not Image.open(io.BytesIO(stored)).getexif()
    # the token leads to the request, and the request reads back publicly, without the contact
    [by_token] = client.get(f"/open311/v2/tokens/{made['token']}.json").get_json()
    assert by_token == {"service_request_id": concern.tracking_code, "token": made["token"]}
    [one] = client.get(f"/open311/v2/requests/{concern.tracking_code}.json").get_json()
    assert set(one) == REQUEST_FIELDS
    assert one["status"] == "open" and "群众点单" in one["status_notes"]
    assert one["service_code"] == "roads" and one["lat"] == 33.441
    assert one["requested_datetime"].endswith("+08:00")
    assert "李" not in str(one) and "13812345678" not in str(one)


def test_the_form_rules_hold_for_open311(client, world, db):
    plain = key(db, world["xc"])

    def post(**extra):
        return client.post("/open311/v2/requests.json", data=form(plain, **extra))

    assert post(description="短").status_code == 400  # content_length, as the form
    resp = post(phone="12345")
    assert resp.status_code == 400  # bad_mobile
    assert post(first_name="秀英", last_name="李").status_code == 400  # a name needs consent
    assert post(service_code="nothing").status_code == 400
    assert post(lat="", long="").status_code == 400  # no place at all
    assert post(lat="91", long="0").status_code == 400
    resp = post(media_url="http://example.com/a.jpg")
    assert resp.status_code == 400 and "media" in resp.get_json()[0]["description"]
    not_image = client.post(
        "/open311/v2/requests.json",
        data={**form(plain), "media": (io.BytesIO(b"not an image"), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert not_image.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Open311Request)) == 0
    # the key's region has one open station: it is the station when none is named
    resp = post()
    assert resp.status_code == 201


def test_a_resend_without_a_key_returns_the_same_request(client, world, db):
    """The form's duplicate protection: the same request from the same key within the window."""
    plain = key(db, world["xc"])
    first = client.post("/open311/v2/requests.json", data=form(plain)).get_json()
    again = client.post("/open311/v2/requests.json", data=form(plain)).get_json()
    assert first == again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Open311Request)) == 1


def test_keys_that_may_not_file(client, world, db):
    read_only = key(db, world["xc"], act=False)
    resp = client.post("/open311/v2/requests.json", data=form(read_only))
    assert resp.status_code == 403
    resp = client.post("/open311/v2/requests.xml", data=form("mk_nonsense"))
    assert resp.status_code == 401 and ET.fromstring(resp.data).find("error/code").text == "401"
    resp = client.post("/open311/v2/requests.json", data={k: v for k, v in form("").items() if k != "api_key"})
    assert resp.status_code == 401
    db.session.rollback()
    unit_key = api_keys.create(None, "住建局", unit=factories.unit(region_obj=world["xc"]), can_act=True).plain
    db.session.commit()
    resp = client.post("/open311/v2/requests.json", data=form(unit_key, **{"attribute[station]": world["a"].code}))
    assert resp.status_code == 403


def test_a_county_key_cannot_file_or_list_at_another_county(client, world, db):
    plain = key(db, world["xc"])
    resp = client.post("/open311/v2/requests.json", data=form(plain, **{"attribute[station]": world["b"].code}))
    assert resp.status_code == 403
    listed = client.get("/open311/v2/requests.json", query_string={"api_key": plain}).get_json()
    assert [r["service_request_id"] for r in listed] == [world["concern_a"].tracking_code]
    asked = client.get(
        "/open311/v2/requests.json",
        query_string={"api_key": plain, "service_request_id": world["concern_b"].tracking_code},
    ).get_json()
    assert asked == []
    other = key(db, world["fg"])
    listed = client.get("/open311/v2/requests.json", headers={"X-API-Key": other}).get_json()
    assert [r["service_request_id"] for r in listed] == [world["concern_b"].tracking_code]


# --- reading -------------------------------------------------------------------------------------


def test_the_list_needs_a_key_and_shows_public_fields_only(client, world, db):
    resp = client.get("/open311/v2/requests.json")
    assert resp.status_code == 401 and resp.get_json()[0]["code"] == 401
    plain = key(db, world["xc"], act=False)
    [one] = client.get("/open311/v2/requests.json", query_string={"api_key": plain}).get_json()
    assert set(one) == REQUEST_FIELDS
    assert one["status"] == "open" and one["agency_responsible"] == "项城市住房和城乡建设局"
    assert "人大派单" in one["status_notes"]
    assert one["lat"] == 33.44 and one["address"] == world["a"].address  # the station's place
    assert "李秀英" not in str(one) and "13812345678" not in str(one)
    root = ET.fromstring(client.get("/open311/v2/requests.xml", query_string={"api_key": plain}).data)
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert {child.tag for child in request} == REQUEST_FIELDS
    assert request.find("service_request_id").text == world["concern_a"].tracking_code


def test_the_list_filters(client, world, db):
    a, roads = world["a"], world["roads"]
    other = factories.category("water", "供水", "Water")
    old = factories.concern(a, roads, created_at=utcnow() - timedelta(days=120))
    closed = factories.concern(a, other, status=ConcernStatus.CLOSED)
    db.session.commit()
    plain = key(db, world["xc"], act=False)

    def ids(**query):
        resp = client.get("/open311/v2/requests.json", query_string={"api_key": plain, **query})
        assert resp.status_code == 200, resp.data
        return {r["service_request_id"] for r in resp.get_json()}

    recent = {world["concern_a"].tracking_code, closed.tracking_code}
    assert ids() == recent  # the last 90 days
    assert ids(status="closed") == {closed.tracking_code}
    assert ids(status="open") == {world["concern_a"].tracking_code}
    assert ids(status="open,closed") == recent
    assert ids(service_code="water") == {closed.tracking_code}
    start = (utcnow() - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (utcnow() - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(start_date=start, end_date=end) == {old.tracking_code}
    # ids override the other filters
    assert ids(service_request_id=f"{old.tracking_code},{closed.tracking_code}", status="open") == {
        old.tracking_code,
        closed.tracking_code,
    }
    for bad in ({"status": "pending"}, {"start_date": "yesterday"}, {"start_date": start, "end_date": "2020-01-01"}):
        resp = client.get("/open311/v2/requests.json", query_string={"api_key": plain, **bad})
        assert resp.status_code == 400, bad
    long_span = {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-12-01T00:00:00Z"}
    assert client.get("/open311/v2/requests.json", query_string={"api_key": plain, **long_span}).status_code == 400


def test_one_request_by_its_code_and_unknown_ones(client, world, db):
    code = world["concern_b"].tracking_code
    [one] = client.get(f"/open311/v2/requests/{code.lower()}.json").get_json()
    assert one["service_request_id"] == code and one["agency_responsible"] is None
    root = ET.fromstring(client.get(f"/open311/v2/requests/{code}.xml").data)
    assert root.tag == "service_requests" and root.find("request/status").text == "open"
    assert client.get("/open311/v2/requests/NOPE.json").status_code == 404
    assert client.get("/open311/v2/tokens/nope.json").status_code == 404
    resp = client.get("/open311/v2/nothing.xml")
    assert resp.status_code == 404 and ET.fromstring(resp.data).tag == "errors"
    resp = client.delete("/open311/v2/services.json")
    assert resp.status_code == 405 and resp.get_json()[0]["code"] == 405


def test_a_withdrawn_concern_is_closed_with_its_stage(client, world, db):
    c = world["concern_b"]
    c.status = ConcernStatus.WITHDRAWN
    db.session.commit()
    [one] = client.get(f"/open311/v2/requests/{c.tracking_code}.json").get_json()
    assert one["status"] == "closed" and one["status_notes"] and one["expected_datetime"] is None


def test_a_request_too_large_is_an_open311_error(client, world, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    plain = key(db, world["xc"])
    resp = client.post("/open311/v2/requests.xml", data={**form(plain), "description": "长" * 2000})
    assert resp.status_code == 413 and ET.fromstring(resp.data).find("error/code").text == "413"
