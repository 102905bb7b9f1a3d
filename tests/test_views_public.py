"""The resident's path without an account: scan → station page → concern form → receipt
→ tracking page. Assertions are on structure, status codes, redirects and rows, not on
wording (the Chinese catalogue is being written), except where English is asked for."""

import io
import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape
from PIL import Image

from extensions import db as _db
from models import Attachment, Concern, ConcernEvent
from models.enums import ConcernStatus, RegionLevel, RepLevel
from services.clock import year_start
from services.codes import format_tracking_code, new_tracking_code
from tests import factories

TEXT = "小区门口的路灯坏了两个月，晚上出行很不方便。"
STAGE_TERMS = ["群众点单", "代表定单", "人大派单", "一府一委两院办单", "代表督单", "群众评单"]
MB = 1024 * 1024


# --- helpers -------------------------------------------------------------------------

FIELD_DIV = re.compile(r'<div class="field[^"]*">.*?</div>', re.S)


def field_block(html: str, name: str) -> str:
    """The <div class="field"> the form macro renders around the field called `name`."""
    for match in FIELD_DIV.finditer(html):
        if f'name="{name}"' in match.group(0):
            return match.group(0)
    raise AssertionError(f"no field div for {name!r}")


def has_error(html: str, name: str) -> bool:
    return 'class="errors"' in field_block(html, name)


def fields_with_errors(html: str) -> set[str]:
    names = set()
    for match in FIELD_DIV.finditer(html):
        block = match.group(0)
        if 'class="errors"' in block:
            names.update(re.findall(r'name="([^"]+)"', block))
    return names


def input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input {name!r}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def textarea_text(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name!r}"
    return match.group(1).strip()


def location_path(resp) -> str:
    parts = urlsplit(resp.headers["Location"])
    assert parts.netloc in ("", "localhost"), resp.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


def title(app, member, lang: str = "zh-CN") -> str:
    """An enum's display title as the app shows it in this language (escaped as in HTML)."""
    with app.test_request_context(headers={"Accept-Language": lang}):
        return str(escape(member.label))


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def is_friendly_page(html: str) -> bool:
    return '<header class="top">' in html and "Traceback" not in html and 'lang="' in html


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "ShadyPhone"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (34.0, 45.0, 12.5)
    gps[3] = "E"
    gps[4] = (113.0, 37.0, 30.0)
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 90, 200)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@pytest.fixture
def site(db):
    """An active station with one representative and two categories, committed."""
    st = factories.station()
    cat = factories.category(name_zh="城乡建设", name_en="Urban and rural")
    factories.category(name_zh="社会保障", name_en="Social security")
    db.session.commit()
    return st, cat


def form_data(cat, **overrides) -> dict:
    data = {
        "category": str(cat.id),
        "content": TEXT,
        "contact_name": "",
        "contact_mobile": "",
        "submission_key": secrets.token_urlsafe(24),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_concern(client, station, data, **kw):
    code = station.code
    # The test's own session must not hold SQLite's write lock while the app writes:
    # outside a request every transaction starts with BEGIN IMMEDIATE (extensions.py).
    _db.session.commit()
    return client.post(f"/s/{code}/concern", data=data, content_type="multipart/form-data", **kw)


def file_count(folder: str) -> int:
    return sum(1 for p in Path(folder).rglob("*") if p.is_file())


# --- the station page (码上见) --------------------------------------------------------


def test_station_page_shows_the_station_and_its_representatives(app, client, db):
    province = factories.region(code="410000", name="河南省", level=RegionLevel.PROVINCE)
    city = factories.region(code="411600", name="周口市", level=RegionLevel.CITY, parent=province)
    county = factories.region(code="411681", name="项城市", level=RegionLevel.COUNTY, parent=city)
    st = factories.station(
        region=county,
        name="项城市防水行业人大代表联络站",
        address="项城市莲花大道18号",
        opening_hours="周一至周五 9:00–17:30",
        phone="0394-4321234",
    )
    factories.representative([st], level=RepLevel.COUNTY, name="王建国", occupation="防水工程企业负责人")
    factories.representative([st], level=RepLevel.NATIONAL, name="张丽华", occupation="小学教师")
    other = factories.station(name="别的联络站")
    factories.representative([other], name="赵不在", occupation="不在此站")
    db.session.commit()

    resp = client.get(f"/s/{st.code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for text in ("项城市防水行业人大代表联络站", "河南省 周口市 项城市", "项城市莲花大道18号", "周一至周五 9:00–17:30"):
        assert text in html
    assert "0394-4321234" in html
    assert 'href="tel:03944321234"' in html
    for text in ("王建国", "防水工程企业负责人", "张丽华", "小学教师"):
        assert text in html
    assert "赵不在" not in html
    assert title(app, RepLevel.NATIONAL) in html
    assert title(app, RepLevel.COUNTY) in html
    # National representatives are listed before county ones.
    assert html.index("张丽华") < html.index("王建国")


def test_a_station_with_many_representatives_shows_the_rest_on_a_tap(client, db):
    station = factories.station()
    for n in range(15):
        factories.representative([station], name=f"代表{n:02d}")
    db.session.commit()
    html = client.get(f"/s/{station.code}").get_data(as_text=True)
    shown, rest = html.split('<details class="more-reps">')
    # Each one links to their own page (代表码).
    assert shown.count('<a class="name" href="/r/') == 12
    assert rest.count('<a class="name" href="/r/') == 3


def test_station_page_in_english_shows_level_titles(client, db):
    st = factories.station()
    factories.representative([st], level=RepLevel.NATIONAL, name="张丽华")
    db.session.commit()
    html = client.get(f"/s/{st.code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "National People&#39;s Congress" in html


def test_station_page_counts_this_years_concerns(client, db):
    st = factories.station()
    elsewhere = factories.station(name="别的联络站")
    cat = factories.category()
    since = year_start()
    this_year = since + timedelta(hours=2)
    last_year = since - timedelta(days=40)

    def concern(station, created, status=ConcernStatus.SUBMITTED, closed=None):
        factories.concern(station, cat, created_at=created, status=status, closed_at=closed)

    concern(st, this_year)  # received
    concern(st, this_year + timedelta(days=1))  # received
    concern(st, since)  # received: the first moment of the year counts
    concern(st, this_year, ConcernStatus.CLOSED, this_year + timedelta(hours=1))  # received and closed
    concern(st, last_year, ConcernStatus.CLOSED, this_year)  # closed this year only
    concern(st, last_year, ConcernStatus.CLOSED, last_year + timedelta(days=1))  # neither
    concern(st, last_year)  # neither
    concern(st, since - timedelta(seconds=1))  # neither: last second of last year
    concern(elsewhere, this_year, ConcernStatus.CLOSED, this_year)  # another station
    db.session.commit()

    html = client.get(f"/s/{st.code}").get_data(as_text=True)
    stats = re.search(r'<section class="stats".*?</section>', html, re.S)
    assert stats, "no stats section"
    received, closed = (int(n) for n in re.findall(r"<strong>(\d+)</strong>", stats.group(0)))
    assert (received, closed) == (4, 2)


def test_station_page_links_to_the_form_and_the_lookup(client, db):
    st = factories.station()
    db.session.commit()
    html = client.get(f"/s/{st.code}").get_data(as_text=True)
    actions = re.search(r'<nav class="actions".*?</nav>', html, re.S).group(0)
    links = re.findall(r'<a class="([^"]*)" href="([^"]*)"', actions)
    hrefs = {href: cls for cls, href in links}
    assert f"/s/{st.code}/concern" in hrefs
    assert "/t" in hrefs
    assert all("big" in cls.split() for cls in hrefs.values())


def test_station_lowercase_code_redirects_permanently(client, db):
    st = factories.station()
    db.session.commit()
    resp = client.get(f"/s/{st.code.lower()}")
    assert resp.status_code == 301
    assert location_path(resp) == f"/s/{st.code}"
    assert client.get(location_path(resp)).status_code == 200


@pytest.mark.parametrize("code", ["ZZZZZZ", "ABC0OI", "x"])
def test_unknown_station_is_a_friendly_404(client, db, code):
    resp = client.get(f"/s/{code}")
    assert resp.status_code == 404
    assert is_friendly_page(resp.get_data(as_text=True))


def test_deactivated_station_says_it_has_closed(client, db):
    """Its posters still hang: the page and the form say the station has closed (the details
    are tests/test_views_lifecycle.py)."""
    st = factories.station(is_active=False, name="已撤销的联络站")
    db.session.commit()
    for path in (f"/s/{st.code}", f"/s/{st.code}/concern"):
        resp = client.get(path)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert is_friendly_page(html)
        assert "已撤销的联络站" in html
        assert 'action="/t"' in html and "<textarea" not in html


# --- the concern form (码上办) ---------------------------------------------------------


def test_concern_form_lists_categories_and_carries_a_key(client, db, site):
    st, _cat = site
    retired = factories.category(name_zh="已停用分类")
    retired.is_active = False
    db.session.commit()

    resp = client.get(f"/s/{st.code}/concern")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    select = re.search(r'<select[^>]*name="category".*?</select>', html, re.S).group(0)
    assert "城乡建设" in select
    assert "社会保障" in select
    assert "已停用分类" not in select
    key = input_value(html, "submission_key")
    assert key and len(key) >= 16
    assert re.search(
        r'<input[^>]*type="hidden"[^>]*name="submission_key"|name="submission_key"[^>]*type="hidden"', html
    )
    assert input_value(client.get(f"/s/{st.code}/concern").get_data(as_text=True), "submission_key") != key
    assert 'enctype="multipart/form-data"' in html
    assert 'name="photos"' in html
    assert not fields_with_errors(html)


def test_concern_form_in_english_lists_english_category_names(client, db, site):
    st, _cat = site
    html = client.get(f"/s/{st.code}/concern", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Urban and rural" in html
    assert "城乡建设" not in html


def test_concern_form_lowercase_code_redirects(client, db, site):
    st, _cat = site
    resp = client.get(f"/s/{st.code.lower()}/concern")
    assert resp.status_code == 301
    assert location_path(resp) == f"/s/{st.code}/concern"


def test_valid_concern_redirects_to_the_receipt(client, db, site):
    st, cat = site
    resp = post_concern(client, st, form_data(cat, content=f"  {TEXT}  "))
    assert resp.status_code == 303
    concern = db.session.scalars(sa.select(Concern)).one()
    assert location_path(resp) == f"/t/{concern.tracking_code}/receipt"
    assert concern.content == TEXT
    assert concern.station_id == st.id
    assert concern.category_id == cat.id
    assert concern.status == ConcernStatus.SUBMITTED
    assert concern.contact_name is None
    assert concern.consent_at is None

    receipt = client.get(location_path(resp))
    assert receipt.status_code == 200
    html = receipt.get_data(as_text=True)
    shown = format_tracking_code(concern.tracking_code)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", shown)
    assert shown in html
    assert re.search(rf'<img[^>]*src="/t/{concern.tracking_code}/qr.png"', html)
    assert f'href="/t/{concern.tracking_code}"' in html


def test_contact_details_are_stored_normalised(client, db, site):
    st, cat = site
    data = form_data(cat, contact_name=" 李秀英 ", contact_mobile="+86 138-1234-5678", consent="y", public="y")
    assert post_concern(client, st, data).status_code == 303
    concern = db.session.scalars(sa.select(Concern)).one()
    assert concern.contact_name == "李秀英"
    assert concern.contact_mobile == "13812345678"
    assert concern.consent_at is not None
    assert concern.is_public is True


def test_double_submit_with_the_same_key_makes_one_concern(app, client, db, site):
    st, cat = site
    data = form_data(cat)
    first = post_concern(client, st, data)
    assert first.status_code == 303
    # The same form sent again, from this browser and from one without its session.
    again = post_concern(client, st, dict(data))
    elsewhere = post_concern(app.test_client(), st, dict(data))
    assert again.status_code == elsewhere.status_code == 303
    assert location_path(again) == location_path(elsewhere) == location_path(first)
    assert count(db, Concern) == 1
    assert count(db, ConcernEvent) == 1


def test_resubmitted_page_with_a_new_key_makes_one_concern(client, db, site):
    st, cat = site
    first = post_concern(client, st, form_data(cat))
    # Back button, reload, submit again: a fresh key but the same text from the same browser.
    again = post_concern(client, st, form_data(cat, content=f"{TEXT}  "))
    assert again.status_code == 303
    assert location_path(again) == location_path(first)
    assert count(db, Concern) == 1
    # A different concern from the same browser is a new one.
    third = post_concern(client, st, form_data(cat, content="另外一件事：公交站台的雨棚破了。"))
    assert third.status_code == 303
    assert location_path(third) != location_path(first)
    assert count(db, Concern) == 2


@pytest.mark.parametrize(
    ("overrides", "error_field", "kept"),
    [
        ({"content": "  123456789  "}, "content", {"content": "123456789"}),
        ({"content": "长" * 2001}, "content", {"content": "长" * 2001}),
        ({"content": "   "}, "content", {}),
        (
            {"contact_name": "李秀英", "contact_mobile": "12345", "consent": "y"},
            "contact_mobile",
            {"contact_name": "李秀英", "contact_mobile": "12345"},
        ),
        (
            {"contact_name": "李秀英", "contact_mobile": "13812345678"},
            "consent",
            {"contact_name": "李秀英", "contact_mobile": "13812345678"},
        ),
        ({"contact_name": "李秀英", "anonymous": "y", "consent": "y"}, "anonymous", {"contact_name": "李秀英"}),
        ({"contact_name": "张" * 31, "consent": "y"}, "contact_name", {"contact_name": "张" * 31}),
        ({"category": "99999"}, "category", {}),
        ({"category": "not-a-number"}, "category", {}),
        ({"category": None}, "category", {}),
    ],
    ids=[
        "content-9",
        "content-2001",
        "content-blank",
        "bad-mobile",
        "no-consent",
        "anonymous-with-name",
        "name-31",
        "forged-category",
        "category-nan",
        "no-category",
    ],
)
def test_invalid_concern_is_shown_again_with_what_was_typed(client, db, site, overrides, error_field, kept):
    st, cat = site
    data = form_data(cat, **overrides)
    resp = post_concern(client, st, data)
    assert resp.status_code == 422
    assert count(db, Concern) == 0
    html = resp.get_data(as_text=True)
    assert has_error(html, error_field)
    assert fields_with_errors(html) == {error_field}
    assert 'class="notice"' in html
    for name, value in kept.items():
        if name == "content":
            assert textarea_text(html, "content") == str(escape(value))
        else:
            assert input_value(html, name) == str(escape(value))
    if "content" not in overrides:
        assert textarea_text(html, "content") == TEXT
    # The same key travels back, so a corrected form is still one submission.
    assert input_value(html, "submission_key") == data["submission_key"]


def test_forged_extra_fields_are_ignored(client, db, site):
    st, cat = site
    other = factories.station(name="别的联络站")
    db.session.commit()
    data = form_data(
        cat,
        status="closed",
        tracking_code="AAAAAAAAAA",
        station_id=str(other.id),
        consent_at="2020-01-01",
        rating_unit="satisfied",
        source="api",
    )
    assert post_concern(client, st, data).status_code == 303
    concern = db.session.scalars(sa.select(Concern)).one()
    assert concern.status == ConcernStatus.SUBMITTED
    assert concern.tracking_code != "AAAAAAAAAA"
    assert concern.station_id == st.id
    assert concern.consent_at is None
    assert concern.rating_unit is None
    assert concern.source.value == "qr"


@pytest.mark.parametrize(
    "overrides",
    [
        {"submission_key": "k" * 200},
        {"content": f"{TEXT}\x00"},
        {"contact_name": "李\x00秀英", "consent": "y"},
        {"contact_mobile": "138\x0012345678", "consent": "y"},
    ],
    ids=["long-key", "nul-in-content", "nul-in-name", "nul-in-mobile"],
)
def test_forged_input_is_refused_or_cleaned_never_a_server_error(client, db, site, overrides):
    st, cat = site
    resp = post_concern(client, st, form_data(cat, **overrides))
    assert resp.status_code in (303, 400, 422), resp.status_code
    _db.session.rollback()
    for concern in _db.session.scalars(sa.select(Concern)):
        # Whatever was kept is clean, the same on SQLite and PostgreSQL.
        for value in (concern.content, concern.contact_name or "", concern.contact_mobile or ""):
            assert "\x00" not in value
        assert concern.submission_key is None or len(concern.submission_key) <= 64


def test_script_is_stored_verbatim_and_shown_escaped(client, db, site):
    st, cat = site
    script = "<script>alert(1)</script>"
    data = form_data(cat, content=script, contact_name=script, consent="y")
    assert post_concern(client, st, data).status_code == 303
    concern = db.session.scalars(sa.select(Concern)).one()
    assert concern.content == script
    assert concern.contact_name == script

    for path in (f"/t/{concern.tracking_code}", f"/t/{concern.tracking_code}/receipt"):
        html = client.get(path).get_data(as_text=True)
        assert script not in html
        assert "<script>alert" not in html
    html = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_script_in_a_refused_form_is_shown_escaped(client, db, site):
    st, cat = site
    script = '"><script>alert(1)</script>'
    resp = post_concern(client, st, form_data(cat, content="短", contact_name=script, consent="y"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert input_value(html, "contact_name") == str(escape(script))


def test_honeypot_is_refused_with_the_form_kept(client, db, site):
    st, cat = site
    resp = post_concern(client, st, form_data(cat, homepage="http://spam.example", contact_name="李秀英", consent="y"))
    assert resp.status_code == 400
    assert count(db, Concern) == 0
    html = resp.get_data(as_text=True)
    assert 'class="notice"' in html
    assert textarea_text(html, "content") == TEXT
    assert input_value(html, "contact_name") == "李秀英"


# --- photos through the form -------------------------------------------------------


def test_photo_over_8_mb_is_refused_beside_the_field(app, client, db, site):
    st, cat = site
    before = file_count(app.config["UPLOAD_FOLDER"])
    big = b"\xff\xd8\xff\xe0" + secrets.token_bytes(9 * MB)
    resp = post_concern(client, st, form_data(cat, photos=[(io.BytesIO(big), "big.jpg", "image/jpeg")]))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert fields_with_errors(html) == {"photos"}
    assert "big.jpg" in field_block(html, "photos")
    assert textarea_text(html, "content") == TEXT
    assert 'class="notice soft"' in html  # "choose the photos again"
    assert count(db, Concern) == 0
    assert file_count(app.config["UPLOAD_FOLDER"]) == before


def test_four_photos_are_refused(app, client, db, site):
    st, cat = site
    before = file_count(app.config["UPLOAD_FOLDER"])
    photos = [(io.BytesIO(factories.image_bytes()), f"p{i}.jpg", "image/jpeg") for i in range(4)]
    resp = post_concern(client, st, form_data(cat, photos=photos))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert fields_with_errors(html) == {"photos"}
    assert textarea_text(html, "content") == TEXT
    assert count(db, Concern) == 0
    assert count(db, Attachment) == 0
    assert file_count(app.config["UPLOAD_FOLDER"]) == before


def test_three_photos_are_accepted(client, db, site):
    st, cat = site
    photos = [(io.BytesIO(factories.image_bytes()), f"p{i}.jpg", "image/jpeg") for i in range(3)]
    assert post_concern(client, st, form_data(cat, photos=photos)).status_code == 303
    assert count(db, Attachment) == 3


@pytest.mark.parametrize(
    ("payload", "filename", "mimetype"),
    [
        (b"not a photo at all, just text\n" * 20, "photo.jpg", "image/jpeg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg", "image/svg+xml"),
        (None, "anim.gif", "image/gif"),
    ],
    ids=["text", "svg", "gif"],
)
def test_non_photo_is_refused(app, client, db, site, payload, filename, mimetype):
    st, cat = site
    if payload is None:
        payload = factories.image_bytes("GIF")
    before = file_count(app.config["UPLOAD_FOLDER"])
    resp = post_concern(client, st, form_data(cat, photos=[(io.BytesIO(payload), filename, mimetype)]))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert fields_with_errors(html) == {"photos"}
    assert textarea_text(html, "content") == TEXT
    assert count(db, Concern) == 0
    assert file_count(app.config["UPLOAD_FOLDER"]) == before


def test_photo_is_stored_without_exif_outside_static_and_served(app, client, db, site):
    st, cat = site
    raw = jpeg_with_gps()
    assert b"Exif" in raw and b"ShadyPhone" in raw
    resp = post_concern(client, st, form_data(cat, photos=[(io.BytesIO(raw), "IMG_0001.JPG", "image/jpeg")]))
    assert resp.status_code == 303
    attachment = db.session.scalars(sa.select(Attachment)).one()
    assert attachment.content_type == "image/jpeg"
    assert "IMG_0001" not in attachment.storage_key

    uploads = Path(app.config["UPLOAD_FOLDER"]).resolve()
    stored = [p for p in uploads.rglob(attachment.storage_key) if p.is_file()]
    assert len(stored) == 1
    path = stored[0].resolve()
    assert uploads in path.parents
    static = Path(app.static_folder).resolve()
    assert static not in path.parents
    assert not list(static.rglob(attachment.storage_key))

    data = path.read_bytes()
    assert b"Exif" not in data
    assert b"ShadyPhone" not in data
    assert not dict(Image.open(io.BytesIO(data)).getexif())
    assert attachment.size == len(data)

    media = client.get(f"/media/{attachment.storage_key}")
    assert media.status_code == 200
    assert media.mimetype == "image/jpeg"
    assert media.headers["X-Content-Type-Options"] == "nosniff"
    assert media.data == data


@pytest.mark.parametrize("key", ["unknownkey.jpg", "..", "...jpg", "x"])
def test_unknown_media_key_is_404(client, db, key):
    assert client.get(f"/media/{key}").status_code == 404


def test_media_file_without_its_row_is_404(app, client, db):
    from services.storage import LocalStorage

    key = LocalStorage(app.config["UPLOAD_FOLDER"]).save(factories.image_bytes(), "jpg")
    assert client.get(f"/media/{key}").status_code == 404


# --- tracking (/t) -----------------------------------------------------------------


@pytest.fixture
def filed(client, db, site):
    """A concern filed through the form with a name, a number and a photo."""
    st, cat = site
    data = form_data(
        cat,
        contact_name="李秀英",
        contact_mobile="+86 138-1234-5678",
        consent="y",
        photos=[(io.BytesIO(jpeg_with_gps()), "IMG_0001.JPG", "image/jpeg")],
    )
    assert post_concern(client, st, data).status_code == 303
    return db.session.scalars(sa.select(Concern)).one()


def test_tracking_page_shows_status_stages_timeline_and_photos(app, client, db, filed):
    resp = client.get(f"/t/{filed.tracking_code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert format_tracking_code(filed.tracking_code) in html
    assert title(app, ConcernStatus.SUBMITTED) in html
    assert TEXT in html

    positions = [html.find(term) for term in STAGE_TERMS]
    assert all(p >= 0 for p in positions), "every stage of 六单制 is shown"
    assert positions == sorted(positions)
    stages = re.search(r'<ol class="stages".*?</ol>', html, re.S).group(0)
    classes = re.findall(r'<li class="([^"]*)">', stages)
    assert classes == ["done", "current", "", "", "", ""]

    timeline = re.search(r'<ol class="timeline">.*?</ol>', html, re.S).group(0)
    assert timeline.count("<li>") == 1

    key = filed.attachments[0].storage_key
    assert re.search(rf'<img[^>]*src="/media/{re.escape(key)}"', html)


def test_tracking_timeline_shows_public_events_only(app, client, db, filed):
    filed.status = ConcernStatus.ACCEPTED
    filed.events.append(
        ConcernEvent(
            action="accept", from_status=ConcernStatus.SUBMITTED, to_status=ConcernStatus.ACCEPTED, note="代表已接单"
        )
    )
    filed.events.append(ConcernEvent(action="note", note="内部备注：联系人脾气不好", is_public=False))
    db.session.commit()
    html = client.get(f"/t/{filed.tracking_code}").get_data(as_text=True)
    timeline = re.search(r'<ol class="timeline">.*?</ol>', html, re.S).group(0)
    assert timeline.count("<li>") == 2
    assert "代表已接单" in timeline
    assert "内部备注" not in html
    assert title(app, ConcernStatus.ACCEPTED) in html
    stages = re.search(r'<ol class="stages".*?</ol>', html, re.S).group(0)
    assert re.findall(r'<li class="([^"]*)">', stages) == ["done", "done", "current", "", "", ""]


def test_contact_details_never_appear_in_public(client, db, filed):
    assert filed.contact_name == "李秀英"
    assert filed.contact_mobile == "13812345678"
    code = filed.tracking_code
    spellings = ["李秀英", "13812345678", "138****5678", "138-1234-5678", "138 1234 5678", "1234-5678", "12345678"]
    for path in (f"/t/{code}", f"/t/{code}/receipt", f"/s/{filed.station.code}"):
        for headers in ({}, {"Accept-Language": "en"}):
            html = client.get(path, headers=headers).get_data(as_text=True)
            for spelling in spellings:
                assert spelling not in html, f"{spelling!r} shown on {path}"


@pytest.mark.parametrize("spelling", ["lower", "dashed", "lower-dashed"])
def test_tracking_code_spellings_redirect_to_the_canonical_url(client, db, filed, spelling):
    code = filed.tracking_code
    variant = {
        "lower": code.lower(),
        "dashed": format_tracking_code(code),
        "lower-dashed": format_tracking_code(code).lower(),
    }[spelling]
    resp = client.get(f"/t/{variant}")
    assert resp.status_code == 301
    assert location_path(resp) == f"/t/{code}"
    assert client.get(f"/t/{variant}/receipt").headers["Location"].endswith(f"/t/{code}/receipt")


def test_lookup_form_finds_a_loosely_typed_code(client, db, filed):
    code = filed.tracking_code
    typed = f" {code[:5].lower()}-{code[5:].lower()} "
    resp = client.get("/t", query_string={"code": typed})
    assert resp.status_code in (301, 302, 303)
    assert location_path(resp) == f"/t/{code}"


def test_lookup_with_no_code_shows_the_form(client, db):
    resp = client.get("/t")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert re.search(r'<form[^>]*action="/t"', html)
    assert 'name="code"' in html
    assert 'class="errors"' not in html


def test_lookup_of_an_unknown_code_is_404_with_the_form(client, db, site):
    unknown = new_tracking_code()
    resp = client.get("/t", query_string={"code": unknown.lower()})
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert is_friendly_page(html)
    assert re.search(r'<form[^>]*action="/t"', html)
    assert input_value(html, "code") == unknown.lower()
    assert 'class="errors"' in html


@pytest.mark.parametrize("typed", ["abc", "K7M3QXP290", "K7M3QXP29DXX", "<script>"])
def test_lookup_of_a_malformed_code_is_404_with_a_message(client, db, typed):
    resp = client.get("/t", query_string={"code": typed})
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert re.search(r'<form[^>]*action="/t"', html)
    assert 'class="errors"' in html
    assert input_value(html, "code") == str(escape(typed))
    assert "<script>" not in html.split("<body", 1)[1].replace("<script src=", "")


def test_english_lookup_message_for_a_malformed_code(client, db):
    resp = client.get("/t", query_string={"code": "abc"}, headers={"Accept-Language": "en"})
    assert resp.status_code == 404
    assert "A tracking code has 10 letters and digits" in resp.get_data(as_text=True)


def test_unknown_tracking_url_is_a_friendly_404(client, db):
    resp = client.get(f"/t/{new_tracking_code()}", headers={"Accept-Language": "en"})
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert is_friendly_page(html)
    assert "No concern has this tracking code" in html
    assert 'href="/t"' in html  # the way to the lookup form


@pytest.mark.parametrize("path", ["/t/abc", "/t/K7M3QXP290", "/t/abc/receipt", "/t/abc/qr.png"])
def test_malformed_tracking_url_is_a_friendly_404(client, db, path):
    resp = client.get(path)
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert is_friendly_page(html)
    assert re.search(r'<p class="lead">\s*\S', html), "a message says what is wrong"


# --- languages ----------------------------------------------------------------------


def test_default_language_is_chinese(client, db):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    html = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    html = client.get("/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html


def test_accept_language_english_gives_english(client, db, site):
    st, _cat = site
    html = client.get(f"/s/{st.code}", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "File a concern" in html
    assert "Representatives at this station" in html


def test_language_link_sets_a_cookie_and_stays_on_site(client, db):
    resp = client.get("/lang/en", query_string={"next": "/x"})
    assert resp.status_code in (301, 302, 303)
    assert location_path(resp) == "/x"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    # The cookie wins over the browser's language.
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in html

    client.get("/lang/zh_Hans", query_string={"next": "/"})
    assert '<html lang="zh-CN">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["//evil.example", "//evil.example/x", "https://evil.example/", "/\\evil.example", "evil.example"]
)
def test_language_link_refuses_an_off_site_next(client, db, target):
    resp = client.get("/lang/en", query_string={"next": target})
    assert resp.status_code in (301, 302, 303)
    assert resp.headers["Location"] in ("/", "http://localhost/")


def test_unknown_language_sets_no_cookie(client, db):
    resp = client.get("/lang/xx", query_string={"next": "/"})
    assert resp.status_code in (301, 302, 303)
    assert client.get_cookie("lang") is None
