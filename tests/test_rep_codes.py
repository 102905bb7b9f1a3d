"""代表码: each representative's permanent code (/r/<code>), their public page with this
year's work from the records, concerns written to them (taken up by them alone, or passed
to the station with a reason), the ended term, the QR images, the cards and
`flask make-qrcodes`."""

import io
import re
import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from extensions import db as _db
from models import Concern, ConcernEvent, Duty, DutySlot, Outbox
from models.enums import ConcernAction as A
from models.enums import ConcernStatus, DutyMethod, DutyStatus, Rating, RegionLevel, Role
from services import concern_flow, rep_pages
from services.clock import local_today, utc_at
from services.codes import ALPHABET, REP_CODE_LENGTH, new_rep_code, normalize_rep_code
from services.concerns import ConcernInput, submit_concern
from services.errors import ConcernRefused, TransitionRefused
from services.permissions import can, concern_scope, takers
from services.qr import qr_svg
from services.storage import LocalStorage
from tests import factories
from tests.helpers import login

BASE = "http://mashang.test"  # PUBLIC_BASE_URL in conftest's base_config
TEXT = "我们小区门口的路灯坏了两个月，晚上出行很不方便，希望尽快修好。"


def decode_png(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.fixture
def world(db, tmp_path):
    county = factories.region(name="项城市", level=RegionLevel.COUNTY)
    first = factories.station(name="花园街道联络站", region=county)
    second = factories.station(name="南顿镇联络站", region=county)
    rep = factories.representative(stations=[first, second], name="王建国")
    rep.delegation, rep.focus_areas = "项城市代表团", "老旧小区改造"
    colleague = factories.representative(stations=[first], name="李红梅")
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[first])
    category = factories.category()
    db.session.commit()
    return {
        "rep": rep,
        "colleague": colleague,
        "first": first,
        "second": second,
        "manager": manager,
        "category": category,
        "storage": LocalStorage(str(tmp_path)),
    }


def write_to(world, **kw) -> Concern:
    rep = world["rep"]
    station = rep_pages.primary_station(rep)
    data = ConcernInput(category_id=world["category"].id, content=TEXT, **kw)
    return submit_concern(station, data, [], storage=world["storage"], to=rep)


# --- the code -------------------------------------------------------------------------------


def test_every_representative_gets_a_code_of_the_station_codes_alphabet(world):
    codes = {world["rep"].code, world["colleague"].code}
    assert len(codes) == 2
    for code in codes:
        assert len(code) == REP_CODE_LENGTH and set(code) <= set(ALPHABET)
        assert not set(code) & set("01ILO")
        assert normalize_rep_code(code.lower()) == code


def test_a_new_code_is_never_one_in_use(world):
    taken = {world["rep"].code}
    fresh = {new_rep_code(taken) for _ in range(200)}
    assert len(fresh) == 200 and world["rep"].code not in fresh
    assert fresh < taken  # each one was added to the batch's set
    assert new_rep_code() not in {world["rep"].code, world["colleague"].code}


def test_the_database_refuses_two_representatives_with_one_code(world):
    other = factories.representative(name="张伟")
    other.code = world["rep"].code
    with pytest.raises(sa.exc.IntegrityError):
        _db.session.flush()
    _db.session.rollback()


def test_representatives_created_by_the_back_office_get_a_code(world):
    from models.enums import RepLevel
    from services.auth import create_user

    admin = factories.user(Role.ADMIN)
    user = create_user(
        actor=admin,
        username="rep_new",
        display_name="新代表",
        role=Role.REPRESENTATIVE,
        rep_level=RepLevel.COUNTY,
        stations=[world["first"]],
    )
    assert user.representative is not None and len(user.representative.code) == REP_CODE_LENGTH


def test_the_page_has_one_spelling_and_unknown_codes_are_404(client, world):
    code = world["rep"].code
    resp = client.get(f"/r/{code.lower()}")
    assert resp.status_code == 301 and resp.headers["Location"].endswith(f"/r/{code}")
    assert client.get(f"/r/{code}/qr.png".replace(code, code.lower())).status_code == 301
    unknown = next(c for c in ("ABCDEF", "ZZZZZZ", "MNPQRS") if c not in {world["rep"].code, world["colleague"].code})
    assert client.get(f"/r/{unknown}").status_code == 404
    assert client.get(f"/r/{unknown}/card").status_code == 404
    assert client.get("/r/0OIL1").status_code == 404  # look-alikes are never in a code
    assert client.get("/r/<script>").status_code == 404


# --- the page and its figures ---------------------------------------------------------------


def test_the_year_summary_is_computed_from_the_records(world):
    rep, manager = world["rep"], world["manager"]
    now = datetime.now()
    year = now.year
    jan = utc_at(date(year, 1, 10), time(9))
    _db.session.add(
        Duty(
            station=world["first"],
            representative=rep,
            checked_in_at=jan,
            checked_out_at=jan + timedelta(hours=2),
            method=DutyMethod.QR,
            status=DutyStatus.CLOSED,
            nonce="rep-page-duty",
            residents_received=5,
        )
    )
    # Last year's duty does not count this year.
    last = utc_at(date(year - 1, 6, 1), time(9))
    _db.session.add(
        Duty(
            station=world["first"],
            representative=rep,
            checked_in_at=last,
            checked_out_at=last + timedelta(hours=1),
            method=DutyMethod.QR,
            status=DutyStatus.CLOSED,
            nonce="rep-page-duty-old",
            residents_received=9,
        )
    )
    ratings = [(Rating.SATISFIED, Rating.SATISFIED), (Rating.SATISFIED, Rating.DISSATISFIED)]
    for i, (unit_rating, rep_rating) in enumerate(ratings):
        c = factories.concern(world["first"], world["category"], created_at=jan + timedelta(days=i))
        at = jan + timedelta(days=i, hours=1)
        concern_flow.transition(c, A.ACCEPT, role=Role.REPRESENTATIVE, actor=rep.user, representative=rep, now=at)
        concern_flow.transition(c, A.RESOLVE, role=Role.STATION_MANAGER, actor=manager, note="已解决。", now=at)
        concern_flow.transition(c, A.CONFIRM, role=Role.STATION_MANAGER, actor=manager, now=at)
        # The second is dissatisfied: reopened, resolved again, and closed in the second round.
        concern_flow.rate(c, unit_rating, rep_rating, now=at + timedelta(hours=1))
        if c.status != ConcernStatus.CLOSED:
            concern_flow.transition(c, A.RESOLVE, role=Role.STATION_MANAGER, actor=manager, note="再次处理。", now=at)
            concern_flow.transition(c, A.CONFIRM, role=Role.STATION_MANAGER, actor=manager, now=at)
            concern_flow.rate(c, Rating.BASICALLY_SATISFIED, Rating.BASICALLY_SATISFIED, now=at + timedelta(hours=2))
    # Taken up but still open.
    open_one = factories.concern(world["first"], world["category"], created_at=jan)
    concern_flow.transition(open_one, A.ACCEPT, role=Role.STATION_MANAGER, actor=manager, representative=rep, now=jan)
    _db.session.flush()

    summary = rep_pages.year_summary(rep)
    assert summary.year == year
    assert (summary.duties, summary.residents, summary.hours) == (1, 5, 2.0)
    assert (summary.taken_up, summary.closed) == (3, 2)
    # The final ratings: satisfied, and basically satisfied after the second round.
    assert (summary.rated, summary.satisfied, summary.satisfaction) == (2, 2, 1.0)
    # The colleague did nothing.
    assert rep_pages.year_summary(world["colleague"]).taken_up == 0


def test_the_page_shows_who_where_next_duty_and_the_year(client, world):
    rep = world["rep"]
    tomorrow = local_today() + timedelta(days=1)
    slot = DutySlot(station=world["second"], representative=rep, day=tomorrow, starts_at=time(9), ends_at=time(11))
    _db.session.add(slot)
    _db.session.commit()
    resp = client.get(f"/r/{rep.code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for text in ("王建国", "项城市代表团", "老旧小区改造", "09:00–11:00", "南顿镇联络站"):
        assert text in html
    assert f'href="/s/{world["first"].code}"' in html and f'href="/s/{world["second"].code}"' in html
    assert f'href="/r/{rep.code}/concern"' in html
    # Nothing from another host, no script, within the station page's budget.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html
    assert len(resp.data) < 50_000
    # An anonymous visitor's page is cached and answered 304 when unchanged.
    again = client.get(f"/r/{rep.code}", headers={"If-None-Match": resp.headers["ETag"].strip('"')})
    assert again.status_code == 304


def test_the_station_page_links_each_representative_to_their_page(client, world):
    html = client.get(f"/s/{world['first'].code}").get_data(as_text=True)
    assert f'href="/r/{world["rep"].code}"' in html and f'href="/r/{world["colleague"].code}"' in html


# --- a concern written to a representative --------------------------------------------------


def test_a_concern_written_to_a_representative_waits_for_them(world):
    rep, colleague, manager = world["rep"], world["colleague"], world["manager"]
    concern = write_to(world)
    assert concern.station_id == world["first"].id  # their first station
    assert concern.addressed_rep_id == rep.id and concern.passed_at is None
    # They are told, through the outbox.
    told = _db.session.scalars(sa.select(Outbox).where(Outbox.concern_id == concern.id)).all()
    assert [row.kind for row in told] == ["concern.written_to_rep"]
    # Only they take it up: the colleague at the same station neither sees nor takes it.
    assert can(rep.user, "concern.accept", concern)
    assert not can(colleague.user, "concern.view", concern)
    assert not can(colleague.user, "concern.accept", concern)
    assert concern.id not in set(_db.session.scalars(sa.select(Concern.id).where(concern_scope(colleague.user))))
    assert concern.id in set(_db.session.scalars(sa.select(Concern.id).where(concern_scope(rep.user))))
    # The manager sees it, and may give it to them alone.
    assert can(manager, "concern.view", concern)
    assert takers(concern) == [rep]
    with pytest.raises(TransitionRefused) as refused:
        concern_flow.transition(concern, A.ACCEPT, role=manager.role, actor=manager, representative=colleague)
    assert refused.value.code == "addressed_to_other"
    concern_flow.transition(concern, A.ACCEPT, role=rep.user.role, actor=rep.user, representative=rep)
    assert concern.status == ConcernStatus.ACCEPTED and concern.assigned_rep_id == rep.id


def test_passing_it_to_the_station_needs_a_reason_and_opens_it_to_the_station(world):
    rep, colleague, manager = world["rep"], world["colleague"], world["manager"]
    concern = write_to(world)
    assert not can(colleague.user, "concern.pass_to_station", concern)
    with pytest.raises(TransitionRefused) as refused:
        concern_flow.transition(concern, A.PASS_TO_STATION, role=rep.user.role, actor=rep.user)
    assert refused.value.code == "note_required"
    event = concern_flow.transition(
        concern, A.PASS_TO_STATION, role=rep.user.role, actor=rep.user, note="此事属于交通方面，请站里其他代表跟进。"
    )
    assert (event.action, event.from_status, event.to_status) == (A.PASS_TO_STATION, "submitted", "submitted")
    assert event.is_public and event.actor_id == rep.user_id
    assert concern.passed_at is not None and concern.addressed_rep_id == rep.id
    # The station's managers are told; the colleague now sees it and takes it up.
    assert [row.kind for row in event.notified] == ["concern.passed"]
    assert can(colleague.user, "concern.view", concern) and can(colleague.user, "concern.accept", concern)
    assert not can(rep.user, "concern.pass_to_station", concern)  # once
    with pytest.raises(TransitionRefused):
        concern_flow.transition(concern, A.PASS_TO_STATION, role=manager.role, actor=manager, note="再转")
    concern_flow.transition(concern, A.ACCEPT, role=colleague.user.role, actor=colleague.user, representative=colleague)
    assert concern.assigned_rep_id == colleague.id


def test_an_ordinary_concern_cannot_be_passed(world):
    concern = factories.concern(world["first"], world["category"])
    with pytest.raises(TransitionRefused) as refused:
        concern_flow.transition(concern, A.PASS_TO_STATION, role=Role.STATION_MANAGER, note="x")
    assert refused.value.code == "not_allowed_now"


def test_the_form_files_it_addressed_and_the_tracking_page_says_so(client, world):
    rep = world["rep"]
    form = client.get(f"/r/{rep.code}/concern")
    assert form.status_code == 200 and "王建国" in form.get_data(as_text=True)
    data = {"category": str(world["category"].id), "content": TEXT, "submission_key": secrets.token_urlsafe(24)}
    _db.session.commit()
    resp = client.post(f"/r/{rep.code}/concern", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    code = resp.headers["Location"].split("/t/")[1].split("/")[0]
    # A double tap finds the same concern.
    again = client.post(f"/r/{rep.code}/concern", data=data, content_type="multipart/form-data")
    assert again.headers["Location"] == resp.headers["Location"]
    _db.session.commit()  # a fresh snapshot: the app wrote in its own transaction
    concerns = _db.session.scalars(sa.select(Concern)).all()
    assert len(concerns) == 1 and concerns[0].tracking_code == code
    assert concerns[0].addressed_rep_id == rep.id and concerns[0].station_id == world["first"].id
    html = client.get(f"/t/{code}").get_data(as_text=True)
    assert "王建国" in html and f'href="/r/{rep.code}"' in html


def test_a_refused_form_keeps_what_was_typed(client, world):
    rep = world["rep"]
    data = {"category": str(world["category"].id), "content": "太短", "submission_key": secrets.token_urlsafe(24)}
    _db.session.commit()
    resp = client.post(f"/r/{rep.code}/concern", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "太短" in resp.get_data(as_text=True)
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 0


def test_the_representative_passes_it_from_the_back_office(client, world):
    rep, colleague = world["rep"], world["colleague"]
    concern = write_to(world)
    _db.session.commit()
    login(client, colleague.user)
    assert client.get(f"/manage/concerns/{concern.id}").status_code in (403, 404)
    login(client, rep.user)
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert 'value="pass_to_station"' in page
    resp = client.post(
        f"/manage/concerns/{concern.id}/act",
        data={"action": "pass_to_station", "note": "请站里统筹。", "version": concern.version},
    )
    assert resp.status_code == 302
    _db.session.commit()
    passed = _db.session.get(Concern, concern.id)
    assert passed.passed_at is not None
    passed_event = sa.select(ConcernEvent.note).where(
        ConcernEvent.concern_id == concern.id, ConcernEvent.action == A.PASS_TO_STATION
    )
    assert _db.session.scalar(passed_event) == "请站里统筹。"
    login(client, colleague.user)
    assert client.get(f"/manage/concerns/{concern.id}").status_code == 200


# --- a term that ended ----------------------------------------------------------------------


def test_an_ended_term_says_so_offers_the_stations_and_takes_no_concern(client, world):
    rep = world["rep"]
    rep.term_end = local_today() - timedelta(days=1)
    _db.session.commit()
    html = client.get(f"/r/{rep.code}").get_data(as_text=True)
    assert rep.term_end.strftime("%Y-%m-%d") in html
    assert f'href="/r/{rep.code}/concern"' not in html
    assert f'href="/s/{world["first"].code}"' in html
    assert client.get(f"/r/{rep.code}/concern").status_code == 410
    data = {"category": str(world["category"].id), "content": TEXT, "submission_key": secrets.token_urlsafe(24)}
    resp = client.post(f"/r/{rep.code}/concern", data=data, content_type="multipart/form-data")
    assert resp.status_code == 410
    body = resp.get_data(as_text=True)
    assert TEXT in body and f'href="/s/{world["first"].code}"' in body  # kept to copy, and where to go
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 0
    with pytest.raises(ConcernRefused) as refused:
        write_to(world)
    assert refused.value.code == "rep_not_serving"
    assert client.get(f"/r/{rep.code}/card").status_code == 410


# --- images, cards, the command -------------------------------------------------------------


def test_the_png_decodes_to_the_page_address(client, world):
    code = world["rep"].code
    resp = client.get(f"/r/{code}/qr.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert decode_png(resp.data) == [f"{BASE}/r/{code}"]
    svg = client.get(f"/r/{code}/qr.svg")
    # The one function that makes every image (tests/test_qr.py decodes its SVGs in Chromium).
    assert svg.mimetype == "image/svg+xml" and svg.data == qr_svg(f"{BASE}/r/{code}")


def test_the_card_sheet_has_ten_business_cards(client, world):
    code = world["rep"].code
    html = client.get(f"/r/{code}/card").get_data(as_text=True)
    assert html.count('<article class="rep-card">') == 10
    assert html.count('<section class="card-sheet">') == 1
    assert html.count(f'src="/r/{code}/qr.svg"') == 10 and f"{BASE}/r/{code}" in html
    css = client.get("/static/poster.css").get_data(as_text=True)
    assert "width:90mm;height:54mm" in css and "repeat(2,90mm)" in css
    # A station's cards: one for each representative in office.
    station_html = client.get(f"/s/{world['first'].code}/cards").get_data(as_text=True)
    assert station_html.count('<article class="rep-card">') == 2
    assert "王建国" in station_html and "李红梅" in station_html


def test_the_back_office_links_to_the_station_cards(client, world):
    login(client, world["manager"])
    html = client.get("/manage/").get_data(as_text=True)
    assert f'href="/s/{world["first"].code}/cards"' in html


def test_make_qrcodes_writes_the_representatives_codes_and_cards(app, world, runner, tmp_path):
    ended = factories.representative(stations=[world["first"]], name="赵退任")
    ended.term_end = date(2020, 1, 1)
    _db.session.commit()
    result = runner.invoke(args=["make-qrcodes", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = Path(tmp_path) / "r"
    for rep in (world["rep"], world["colleague"]):
        assert decode_png((folder / f"{rep.code}.png").read_bytes()) == [f"{BASE}/r/{rep.code}"]
        assert (folder / f"{rep.code}.svg").is_file()
    assert not (folder / f"{ended.code}.png").exists()
    cards = (folder / "cards.html").read_text(encoding="utf-8")
    assert cards.count('<article class="rep-card">') == 2
    assert "data:image/svg+xml;base64," in cards and "<style>" in cards
    assert "赵退任" not in cards
    assert "2 representatives" in result.output


def test_staff_find_the_code_page_and_cards_on_the_representative_record(client, world):
    staff = factories.user(Role.CONGRESS_STAFF, region=world["first"].region)
    rep = world["rep"]
    login(client, staff)
    html = client.get(f"/manage/representatives/{rep.id}").get_data(as_text=True)
    assert rep.code in html
    assert f'href="/r/{rep.code}"' in html and f'href="/r/{rep.code}/card"' in html
    station_html = client.get(f"/manage/stations/{world['first'].code}").get_data(as_text=True)
    assert f'href="/s/{world["first"].code}/cards"' in station_html


def test_a_representative_whose_account_is_off_takes_no_concern_either(client, world):
    rep = world["rep"]
    rep.user.active = False
    _db.session.commit()
    assert f'href="/r/{rep.code}/concern"' not in client.get(f"/r/{rep.code}").get_data(as_text=True)
    resp = client.get(f"/r/{rep.code}/concern")
    assert resp.status_code == 410 and f'href="/s/{world["first"].code}"' in resp.get_data(as_text=True)
    with pytest.raises(ConcernRefused) as refused:
        write_to(world)
    assert refused.value.code == "rep_unavailable"


# --- refusals that come before the form's view: the form comes back with the text ------------

RATE_LIMITED = {"RATELIMIT_ENABLED": True, "CONCERN_RATE_LIMIT": "2 per minute", "LOOKUP_RATE_LIMIT": "3 per minute"}


def _form(world, content: str) -> dict:
    return {"category": str(world["category"].id), "content": content, "submission_key": secrets.token_urlsafe(24)}


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_the_rate_limit_is_shared_with_the_station_form_and_keeps_the_text(client, world):
    rep, env = world["rep"], {"REMOTE_ADDR": "10.77.0.9"}
    _db.session.commit()
    first = client.post(f"/s/{world['first'].code}/concern", data=_form(world, f"{TEXT}一"), environ_base=env)
    second = client.post(f"/r/{rep.code}/concern", data=_form(world, f"{TEXT}二"), environ_base=env)
    assert (first.status_code, second.status_code) == (303, 303)
    third = client.post(f"/r/{rep.code}/concern", data=_form(world, f"{TEXT}三"), environ_base=env)
    assert third.status_code == 429
    html = third.get_data(as_text=True)
    assert 'id="concern-form"' in html and f"{TEXT}三" in html and "王建国" in html


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_an_expired_page_brings_the_form_back_with_the_text(client, world):
    rep = world["rep"]
    client.get(f"/r/{rep.code}/concern")
    _db.session.commit()
    resp = client.post(f"/r/{rep.code}/concern", data={**_form(world, TEXT), "csrf_token": "expired"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="concern-form"' in html and TEXT in html
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 0
