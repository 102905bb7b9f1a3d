"""The public answers pages (/s/<code>/answers, one item, a representative's list) and the
back office's publication card: withholding with a reason, releasing, who may."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Concern, ConcernEvent, utcnow
from models.enums import ConcernAction as A
from models.enums import ConcernStatus as S
from models.enums import Rating, Role
from services import concern_flow as flow
from services.limits import CONCERN_CONTENT_MAX, NOTE_MAX
from tests import factories
from tests.helpers import login
from tests.test_public_answers import REPLY, answered, closed, filed

ROOT = Path(__file__).resolve().parent.parent
EN = {"Accept-Language": "en"}


@pytest.fixture
def station(db):
    st = factories.station()
    db.session.commit()
    return st


def get(client, url, **kw):
    resp = client.get(url, **kw)
    return resp, resp.get_data(as_text=True)


# --- the public list --------------------------------------------------------------------------


def test_the_station_list_shows_answers_without_contact_details(client, station):
    concern = closed(
        station,
        name="张三丰",
        mobile="13812345678",
        content="我是张三丰，电话13812345678，小区门口的路灯坏了。",
    )
    flow.add_note(
        concern,
        "内部备注：不要外传",
        role=Role.STATION_MANAGER,
        actor=factories.user(Role.STATION_MANAGER),
        public=False,
    )
    _db.session.commit()
    resp, html = get(client, f"/s/{station.code}/answers")
    assert resp.status_code == 200
    assert "小区门口的路灯坏了" in html and REPLY in html
    for secret in ("张三丰", "13812345678", "138****5678", "内部备注", concern.tracking_code):
        assert secret not in html, secret
    assert "〔姓名已隐去〕" in html and "〔电话已隐去〕" in html
    assert "评价：答复满意，代表满意" in html and "办结用时：" in html
    assert f'/s/{station.code}/answers/{concern.id}"' in html  # the whole item
    assert "<script" not in html  # nothing needs JavaScript


def test_only_listed_concerns_appear(client, station):
    closed(station, content="这一件同意公开，已经办结了。")
    closed(station, public=False, content="这一件不同意公开展示。")
    answered(filed(station, content="这一件已经答复，还在等评价。"))
    _db.session.commit()
    _resp, html = get(client, f"/s/{station.code}/answers")
    assert "同意公开，已经办结" in html
    assert "不同意公开展示" not in html and "还在等评价" not in html


def test_the_item_page_shows_the_whole_text_and_404s_otherwise(client, station):
    long_text = "路灯" + "很久没有修好，" * 60 + "结尾在这里。"
    listed = closed(station, content=long_text)
    hidden = closed(station, public=False)
    resp, html = get(client, f"/s/{station.code}/answers")
    assert "结尾在这里" not in html  # clipped on the list
    resp, html = get(client, f"/s/{station.code}/answers/{listed.id}")
    assert resp.status_code == 200 and "结尾在这里" in html
    assert get(client, f"/s/{station.code}/answers/{hidden.id}")[0].status_code == 404
    other = factories.station()
    _db.session.commit()
    assert get(client, f"/s/{other.code}/answers/{listed.id}")[0].status_code == 404
    assert get(client, "/s/NOSUCHCODE/answers")[0].status_code == 404


def test_a_representatives_list(client, station):
    mine, theirs = factories.representative([station], name="黄春燕"), factories.representative([station])
    idle = factories.representative([station])
    closed(station, rep=mine, content="黄代表跟进的这一件已经办结。")
    closed(station, rep=theirs, content="另一位代表跟进的这一件。")
    resp, html = get(client, f"/s/{station.code}/answers?rep={mine.id}")
    assert resp.status_code == 200
    assert "黄代表跟进" in html and "另一位代表跟进" not in html
    assert "黄春燕" in html
    # the representatives with something on the list are offered as filters
    _resp, html = get(client, f"/s/{station.code}/answers")
    assert f"rep={mine.id}" in html and f"rep={theirs.id}" in html
    assert f"rep={idle.id}" not in html
    # one without answers still has a (empty) list of their own
    resp, html = get(client, f"/s/{station.code}/answers?rep={idle.id}")
    assert resp.status_code == 200 and "黄代表跟进" not in html


# (A NUL byte is dropped as the query arrives, app.NulFreeDict: "rep=%00" is "rep=", the whole list.)
@pytest.mark.parametrize("rep", ["abc", "-1", "999999", "1e3", "%00999999"])
def test_an_unknown_representative_is_404(client, station, rep):
    factories.representative([station])
    _db.session.commit()
    assert get(client, f"/s/{station.code}/answers?rep={rep}")[0].status_code == 404


def test_another_stations_representative_is_404(client, station):
    elsewhere = factories.representative([factories.station()])
    _db.session.commit()
    assert get(client, f"/s/{station.code}/answers?rep={elsewhere.id}")[0].status_code == 404


def test_search(client, station):
    closed(station, content="小区门口的路灯坏了两个月，晚上出行很不方便。")
    closed(station, content="村东头的道路坑洼不平，雨天积水严重。")
    resp, html = get(client, f"/s/{station.code}/answers?q=积水")
    assert resp.status_code == 200
    assert "积水严重" in html and "路灯坏了" not in html
    assert 'value="积水"' in html  # the word stays in the box
    _resp, html = get(client, f"/s/{station.code}/answers?q=公交")
    assert "公交" in html and "积水严重" not in html  # "no answer contains …"


@pytest.mark.parametrize(
    "query",
    [
        "q=%25",
        "q=_",
        "q=%00",
        "q=" + "路" * 3000,
        "q=%27%22%3E%3Cscript%3E",
        "after=garbage",
        "after=",
        "q=a&q=b",
        "code=x",
    ],
)
def test_odd_input_is_never_an_error(client, station, query):
    closed(station)
    resp, html = get(client, f"/s/{station.code}/answers?{query}")
    assert resp.status_code == 200
    assert "<script>" not in html


def test_pages_link_to_older_answers_without_javascript(client, station):
    start = utcnow() - timedelta(days=3)
    made = [
        closed(station, content=f"第{i:02d}件：小区门口的路灯坏了。", now=start + timedelta(minutes=i))
        for i in range(12)
    ]
    _resp, html = get(client, f"/s/{station.code}/answers")
    assert "第11件" in html and "第02件" in html and "第01件" not in html
    older = re.search(r'href="([^"]*after=[^"]+)" rel="next"', html)
    assert older
    _resp, html = get(client, older.group(1).replace("&amp;", "&"))
    assert "第01件" in html and "第00件" in html and "第02件" not in html
    assert 'rel="next"' not in html
    assert f'href="/s/{station.code}/answers"' in html  # back to the newest
    assert len(made) == 12


def test_a_misspelt_station_code_redirects_with_the_search(client, db):
    st = factories.station(code="KMQXP7")
    db.session.commit()
    resp = client.get("/s/kmqxp7/answers?q=路灯&rep=&code=x")
    assert resp.status_code == 301
    location = resp.headers["Location"]
    assert location.startswith("/s/KMQXP7/answers?") and "q=" in location and "code=" not in location
    assert client.get(location).status_code == 200
    assert st.code == "KMQXP7"


def test_the_page_stays_within_the_budget(client, station):
    """The station-page budget, worst case: ten items of the longest text and answer, plus
    the stylesheet (DESIGN.md: ≤ 50 KB, nothing from another host)."""
    start = utcnow() - timedelta(days=3)
    for i in range(12):
        concern = answered(
            filed(station, content="路" * CONCERN_CONTENT_MAX), reply="答" * NOTE_MAX, now=start + timedelta(minutes=i)
        )
        flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    _db.session.commit()
    _resp, html = get(client, f"/s/{station.code}/answers")
    css = (ROOT / "static" / "style.css").read_bytes()
    assert len(html.encode()) + len(css) <= 50_000
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_station_page_links_to_the_answers(client, station):
    _resp, html = get(client, f"/s/{station.code}")
    assert f'href="/s/{station.code}/answers"' in html


def test_the_tracking_page_says_when_the_concern_is_listed(client, station):
    listed = closed(station)
    private = closed(station, public=False)
    _resp, html = get(client, f"/t/{listed.tracking_code}")
    assert f'href="/s/{station.code}/answers"' in html
    _resp, html = get(client, f"/t/{private.tracking_code}")
    assert f'href="/s/{station.code}/answers"' not in html


def test_english(client, station):
    closed(station, mobile="13812345678", name="张三丰", content="我是张三丰，电话13812345678，路灯坏了。")
    _resp, html = get(client, f"/s/{station.code}/answers", headers=EN)
    assert "Answered concerns" in html and "[phone number removed]" in html and "13812345678" not in html


# --- the back office: the flag, withholding and releasing ----------------------------------------


@pytest.fixture
def people(station):
    rep = factories.representative([station])
    people = {
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[station]),
        "other_manager": factories.user(Role.STATION_MANAGER, managed_stations=[factories.station()]),
        "staff": factories.user(Role.CONGRESS_STAFF, region=station.region),
        "rep": rep.user,
        "handler": factories.user(Role.UNIT_HANDLER, unit=factories.unit()),
    }
    _db.session.commit()
    return people


def post_publication(client, concern, action="withhold", reason="涉及他人隐私", version=None):
    data = {"action": action, "reason": reason, "version": str(version or concern.version)}
    return client.post(f"/manage/concerns/{concern.id}/publication", data=data)


def reload(concern) -> Concern:
    """The concern as the requests left it (a new transaction sees their commits)."""
    _db.session.commit()
    _db.session.expire_all()
    return _db.session.get(Concern, concern.id)


def test_staff_see_whether_the_resident_agreed_and_whether_it_is_listed(client, station, people):
    listed = closed(station)
    private = closed(station, public=False)
    waiting = answered(filed(station))
    _db.session.commit()
    login(client, people["manager"])
    _resp, html = get(client, f"/manage/concerns/{listed.id}")
    assert "反映人同意公开" in html and "公开展示中" in html
    assert f'href="/s/{station.code}/answers"' in html
    assert "暂停公开展示" in html  # the manager may withhold it
    _resp, html = get(client, f"/manage/concerns/{private.id}")
    assert "反映人未同意公开展示" in html and "暂停公开展示" not in html
    _resp, html = get(client, f"/manage/concerns/{waiting.id}")
    assert "办结后将公开展示" in html


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_overseers_withhold_with_a_reason_and_release(client, station, people, who):
    concern = closed(station)
    login(client, people[who])
    resp = post_publication(client, concern, reason="内容涉及邻里纠纷当事人")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith(f"/manage/concerns/{concern.id}"), resp.headers["Location"]
    concern = reload(concern)
    assert concern.public_withheld_reason == "内容涉及邻里纠纷当事人"
    event = _db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.action == A.WITHHOLD)).one()
    assert event.actor_id == people[who].id and not event.is_public
    _resp, html = get(client, f"/s/{station.code}/answers")
    assert concern.content not in html
    _resp, html = get(client, f"/manage/concerns/{concern.id}")
    assert "内容涉及邻里纠纷当事人" in html and "恢复公开展示" in html
    # the resident's timeline does not show the internal reason
    _resp, html = get(client, f"/t/{concern.tracking_code}")
    assert "内容涉及邻里纠纷当事人" not in html

    resp = post_publication(client, concern, action="release", reason="")
    assert resp.status_code == 302
    assert reload(concern).public_withheld_at is None
    _resp, html = get(client, f"/s/{station.code}/answers")
    assert concern.content in html


def test_the_reason_is_required(client, station, people):
    concern = closed(station)
    login(client, people["manager"])
    resp = post_publication(client, concern, reason="   ")
    assert resp.status_code == 409
    assert "请填写暂停公开展示的理由" in resp.get_data(as_text=True)
    assert reload(concern).public_withheld_at is None


def test_a_stale_page_is_refused(client, station, people):
    concern = closed(station)
    login(client, people["manager"])
    resp = post_publication(client, concern, version=concern.version - 1)
    assert resp.status_code == 409
    assert reload(concern).public_withheld_at is None


def test_a_concern_not_agreed_to_cannot_be_withheld(client, station, people):
    concern = closed(station, public=False)
    login(client, people["manager"])
    resp = post_publication(client, concern)
    assert resp.status_code == 409
    assert "反映人未同意公开展示，或已暂停公开" in resp.get_data(as_text=True)


@pytest.mark.parametrize("who", ["rep", "handler", "other_manager"])
def test_others_may_not_withhold(client, station, people, who):
    concern = closed(station, rep=people["rep"].representative)
    concern.unit_id = people["handler"].unit_id  # the handler's own concern, even so
    _db.session.commit()
    login(client, people[who])
    assert post_publication(client, concern).status_code == 403
    assert reload(concern).public_withheld_at is None
    if who != "other_manager":
        _resp, html = get(client, f"/manage/concerns/{concern.id}")
        assert "公开展示" in html and 'name="reason"' not in html


def test_signed_out_is_sent_to_sign_in(client, station):
    concern = closed(station)
    resp = post_publication(client, concern)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_withholding_needs_the_csrf_token(client, station, people):
    concern = closed(station)
    login(client, people["manager"])
    assert post_publication(client, concern).status_code == 400
    assert reload(concern).public_withheld_at is None


def test_the_status_of_a_withheld_concern_is_unchanged(client, station, people):
    concern = closed(station)
    login(client, people["manager"])
    post_publication(client, concern)
    assert reload(concern).status == S.CLOSED
