"""Public answers (已办结案例): what is listed and what never is, the text as the public
reads it (services.redact), search and pages, and staff withholding an item."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Concern, ConcernEvent, utcnow
from models.enums import ConcernAction as A
from models.enums import ConcernStatus as S
from models.enums import Rating, Role
from services import concern_flow as flow
from services import public_answers
from services.errors import TransitionRefused
from services.limits import PUBLIC_QUERY_MAX
from services.redact import MARKS, has_personal_details, redact
from tests import factories

REPLY = "已安排维修班组，三个工作日内修复路灯。"
CHECK = "已到现场查看，路灯已修好。"
INTERNAL = "内部备注：物业负责人态度消极，需约谈。"


# --- redaction ------------------------------------------------------------------------------


def _mark(kind: str) -> str:
    return str(MARKS[kind])


@pytest.mark.parametrize(
    "number",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 13812345678",
        "+86-138-1234-5678",
        "008613812345678",
        "１３８１２３４５６７８",  # full-width, as Chinese input methods type
    ],
)
def test_mobile_numbers_are_removed_however_written(app, number):
    out = redact(f"请打我电话{number}，谢谢")
    assert out == f"请打我电话{_mark('phone')}，谢谢"


def test_landlines_with_an_area_code_are_removed(app):
    assert redact("座机0394-4321234或（0394）4321234") == f"座机{_mark('phone')}或{_mark('phone')}"


@pytest.mark.parametrize(
    "number",
    ["410105199001011234", "41010519900101123X", "410105900101123", "6222021234567890123", "6222 0212 3456 7890"],
)
def test_id_card_and_bank_card_numbers_are_removed(app, number):
    out = redact(f"我的号码是{number}。")
    assert out == f"我的号码是{_mark('id')}。"
    assert not any(ch.isdigit() for ch in out)


def test_email_addresses_and_chat_accounts_are_removed(app):
    out = redact("邮箱 zhang.san+x@example.com.cn，微信：zhang_san88，QQ 12345678")
    assert "zhang" not in out and "12345678" not in out
    assert out == f"邮箱 {_mark('email')}，微信：{_mark('account')}，QQ {_mark('account')}"


def test_contact_names_and_given_names_are_removed(app):
    out = redact("我是张三丰，住3号楼。三丰的邻居也反映过。", names=["张三丰"])
    assert "张三丰" not in out and "三丰" not in out
    assert out == f"我是{_mark('name')}，住3号楼。{_mark('name')}的邻居也反映过。"
    # a two-character name goes whole; its one-character given name stays (it is everywhere)
    assert redact("李四说，四楼漏水", names=["李四", None, ""]) == f"{_mark('name')}说，四楼漏水"
    assert redact("John Smith wrote", names=["john smith"]) == f"{_mark('name')} wrote"


def test_ordinary_numbers_stay(app):
    text = "2024年3月起，12345热线反映过，3号楼2单元501室，共18户，门牌号202号。"
    assert redact(text) == text
    assert not has_personal_details(text)
    assert has_personal_details("13812345678")


# --- the world ------------------------------------------------------------------------------


@pytest.fixture
def station(db):
    st = factories.station()
    db.session.commit()
    return st


def filed(station, *, public=True, name=None, mobile=None, content=None, created=None) -> Concern:
    kw = {"contact_name": name, "contact_mobile": mobile, "consent_at": utcnow()} if (name or mobile) else {}
    concern = factories.concern(
        station,
        is_public=public,
        content=content or "小区门口的路灯坏了两个月，晚上出行很不方便。",
        created_at=created or utcnow() - timedelta(days=10),
        **kw,
    )
    concern.events.append(ConcernEvent(action=A.SUBMIT, to_status=S.SUBMITTED))
    _db.session.flush()
    return concern


def answered(concern: Concern, *, rep=None, reply=REPLY, reply_public=None, now=None) -> Concern:
    """Taken up, dispatched, answered and checked: waiting for the rating."""
    rep = rep or factories.representative([concern.station])
    flow.transition(concern, A.ACCEPT, role=Role.REPRESENTATIVE, representative=rep, now=now)
    flow.transition(concern, A.DISPATCH, role=Role.CONGRESS_STAFF, unit=factories.unit(), now=now)
    flow.transition(concern, A.REPLY, role=Role.UNIT_HANDLER, note=reply, public=reply_public, now=now)
    flow.transition(concern, A.CONFIRM, role=Role.REPRESENTATIVE, note=CHECK, now=now)
    return concern


def closed(station, *, rating=Rating.SATISFIED, now=None, **kw) -> Concern:
    rep = kw.pop("rep", None)
    concern = answered(filed(station, **kw), rep=rep, now=now)
    flow.rate(concern, rating, rating, "谢谢", now=now)
    _db.session.commit()
    return concern


def listed_ids(station, **kw) -> list[int]:
    return [item.id for item in public_answers.page(station, **kw).items]


# --- what is listed -------------------------------------------------------------------------


def test_a_closed_public_concern_is_listed_with_its_public_answer(station):
    concern = closed(station)
    [item] = public_answers.page(station).items
    assert item.id == concern.id
    assert item.category.id == concern.category_id
    assert item.text == concern.content
    assert item.answer == REPLY and item.check == CHECK
    assert item.working_days == concern.close_working_days is not None
    assert item.closed_at == concern.closed_at
    assert item.first_rating.rating_unit == Rating.SATISFIED and item.final_rating is None
    assert public_answers.is_listed(concern) and public_answers.why_not_listed(concern) is None
    assert public_answers.count(station) == 1


def test_what_is_never_listed(station):
    listed = closed(station)
    not_public = closed(station, public=False)
    withheld = closed(station)
    public_answers.withhold(
        withheld, "涉及个人纠纷", role=Role.STATION_MANAGER, actor=factories.user(Role.STATION_MANAGER)
    )
    waiting = answered(filed(station))  # answered, not yet rated
    open_one = filed(station)
    merged = filed(station)
    flow.transition(merged, A.MERGE, role=Role.STATION_MANAGER, note="重复", merge_into=open_one)
    withdrawn = filed(station)
    flow.withdraw(withdrawn)
    rejected = filed(station)
    flow.transition(rejected, A.REJECT, role=Role.STATION_MANAGER, note="不属于受理范围")
    elsewhere = closed(factories.station())
    _db.session.commit()

    assert listed_ids(station) == [listed.id]
    reasons = {
        not_public: "not_agreed",
        withheld: "withheld",
        waiting: "not_closed",
        open_one: "not_closed",
        merged: "not_answered",
        withdrawn: "not_answered",
        rejected: "not_answered",
    }
    for concern, reason in reasons.items():
        assert not public_answers.is_listed(concern)
        assert public_answers.why_not_listed(concern) == reason, concern.status
        assert public_answers.item(station, concern.id) is None
    assert public_answers.item(station, elsewhere.id) is None  # another station's
    assert public_answers.item(station, listed.id).id == listed.id


def test_the_sql_and_the_python_rule_agree(station):
    concerns = [closed(station), closed(station, public=False), answered(filed(station)), filed(station)]
    _db.session.commit()
    in_sql = set(_db.session.scalars(sa.select(Concern.id).where(public_answers.listed_clause())))
    assert in_sql == {c.id for c in concerns if public_answers.is_listed(c)}


def test_a_reopened_concern_leaves_the_list_until_it_closes_again(station):
    concern = answered(filed(station))
    flow.rate(concern, Rating.DISSATISFIED, Rating.SATISFIED, "没修好")
    _db.session.commit()
    assert concern.status == S.DISPATCHED and listed_ids(station) == []
    second = "已更换整套灯具，并加装一盏。"
    flow.transition(concern, A.REPLY, role=Role.UNIT_HANDLER, note=second)
    flow.transition(concern, A.CONFIRM, role=Role.REPRESENTATIVE)  # no note this time
    flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    _db.session.commit()
    [item] = public_answers.page(station).items
    assert item.answer == second  # the latest answer
    assert item.check == ""  # the first round's check was of the first answer
    assert item.rounds == 2
    assert item.first_rating.rating_unit == Rating.DISSATISFIED
    assert item.final_rating.rating_unit == Rating.SATISFIED


def test_internal_notes_are_never_shown(station):
    concern = answered(filed(station), reply_public=False)  # an answer kept internal
    flow.add_note(
        concern, INTERNAL, role=Role.STATION_MANAGER, actor=factories.user(Role.STATION_MANAGER), public=False
    )
    flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    _db.session.commit()
    [item] = public_answers.page(station).items
    assert item.answer == ""
    shown = " ".join(str(v) for v in vars(item).values())
    assert INTERNAL not in shown and REPLY not in shown


def test_the_published_text_has_no_contact_details(station):
    closed(
        station,
        name="张三丰",
        mobile="13812345678",
        content="我是张三丰，电话13812345678，身份证410105199001011234，楼下路灯坏了。",
    )
    [item] = public_answers.page(station).items
    assert "张三丰" not in item.text and "三丰" not in item.text
    assert "13812345678" not in item.text and "410105199001011234" not in item.text
    assert "楼下路灯坏了" in item.text


def test_the_answer_is_redacted_too(station):
    concern = answered(filed(station, name="李秀英"), reply="李秀英您好，已联系物业，有问题请拨13900001111。")
    flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    _db.session.commit()
    [item] = public_answers.page(station).items
    assert "李秀英" not in item.answer and "13900001111" not in item.answer and "已联系物业" in item.answer


def test_a_representatives_list_holds_what_they_took_up(station):
    mine, theirs = factories.representative([station]), factories.representative([station])
    a = closed(station, rep=mine)
    b = closed(station, rep=theirs)
    assert listed_ids(station, rep=mine) == [a.id]
    assert listed_ids(station, rep=theirs) == [b.id]
    assert public_answers.count(station, mine) == 1
    closed(station, rep=mine, public=False)
    assert public_answers.representatives_with_answers(station) == {mine.id, theirs.id}


# --- search and pages -----------------------------------------------------------------------


def test_search_finds_a_word_in_the_text(station):
    lamp = closed(station, content="小区门口的路灯坏了两个月，晚上出行很不方便。")
    road = closed(station, content="村东头的道路坑洼不平，雨天积水严重。")
    assert listed_ids(station, q="路灯") == [lamp.id]
    assert listed_ids(station, q="积水 道路") == [road.id]
    assert listed_ids(station, q="  ") == [road.id, lamp.id]
    assert listed_ids(station, q="公交") == []


def test_search_never_finds_what_the_public_does_not_see(station):
    closed(station, name="王秀兰", content="我是王秀兰，电话13812345678，楼道灯不亮。")
    # The text holds both, but the published one holds neither: the search must not tell
    # that this concern is the one with that name or number.
    assert listed_ids(station, q="13812345678") == []
    assert listed_ids(station, q="1381234") == []
    assert listed_ids(station, q="王秀兰") == []
    assert len(listed_ids(station, q="楼道灯")) == 1


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("%", False),
        ("_", False),
        ("\\", False),
        ("100%", False),
        ("a_b", False),
        ("'; DROP TABLE concern; --", False),
        ("\x00路灯\x07", True),  # control characters out
        ("ＬＥＤ路灯", False),  # full-width letters read as ASCII
        ("路" * 500, False),
    ],
)
def test_odd_searches_are_plain_words(station, q, found):
    concern = closed(station, content="小区门口的路灯坏了两个月，晚上出行很不方便。")
    assert listed_ids(station, q=q) == ([concern.id] if found else [])


def test_a_search_is_clipped_and_cleaned():
    assert public_answers.clean_query("路" * 500) == "路" * PUBLIC_QUERY_MAX
    assert public_answers.clean_query(" 路灯\t\x00 坏了 ") == "路灯 坏了"
    assert public_answers.clean_query("ＬＥＤ") == "LED"
    assert public_answers.clean_query(None) == ""


def test_pages_of_ten_newest_closed_first_without_repeats(station):
    start = utcnow() - timedelta(days=5)
    made = [closed(station, now=start + timedelta(minutes=i)) for i in range(23)]
    seen, cursor, pages = [], None, 0
    while True:
        result = public_answers.page(station, cursor=cursor)
        pages += 1
        seen += [item.id for item in result.items]
        if result.next_cursor is None:
            break
        cursor = result.next_cursor
    assert pages == 3
    assert seen == [c.id for c in reversed(made)]


@pytest.mark.parametrize("cursor", ["", "nonsense", "2026-1", "99999999999999999999-1", "20261301000000000000-1", "-"])
def test_a_malformed_cursor_is_the_first_page(station, cursor):
    closed(station)
    assert len(public_answers.page(station, cursor=cursor).items) == 1


def test_search_pages_read_the_published_text(station, monkeypatch):
    monkeypatch.setattr(public_answers, "SCAN_BATCH", 4)
    monkeypatch.setattr(public_answers, "SCAN_BATCHES", 2)
    start = utcnow() - timedelta(days=5)
    hits = []
    for n in range(14):
        at = start + timedelta(minutes=n)
        if n % 2:
            hits.append(closed(station, content=f"第{n}号：路灯坏了两个月，晚上出行很不方便。", now=at))
        else:
            # "路灯" only inside the contact name: not a hit as published
            closed(
                station,
                name="路灯人",
                content=f"第{n}号：我是路灯人，门口积水很严重。",
                now=at,
            )
    seen, cursor = [], None
    for _ in range(20):
        result = public_answers.page(station, q="路灯", cursor=cursor, size=3)
        assert len(result.items) <= 3
        seen += [item.id for item in result.items]
        cursor = result.next_cursor
        if cursor is None:
            break
    assert seen == [c.id for c in reversed(hits)]


# --- withholding ----------------------------------------------------------------------------


def test_withholding_needs_a_reason_and_leaves_an_internal_trace(station):
    concern = closed(station)
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    _db.session.commit()  # the refusals below roll back
    with pytest.raises(TransitionRefused) as refused:
        public_answers.withhold(concern, "  ", role=manager.role, actor=manager)
    assert refused.value.code == "note_required"
    _db.session.rollback()
    with pytest.raises(TransitionRefused) as refused:
        public_answers.withhold(concern, "理" * 501, role=manager.role, actor=manager)
    assert refused.value.code == "reason_too_long"
    _db.session.rollback()

    event = public_answers.withhold(concern, "内容涉及他人隐私", role=manager.role, actor=manager)
    _db.session.commit()
    assert concern.public_withheld_at is not None and concern.public_withheld_reason == "内容涉及他人隐私"
    assert event.action == A.WITHHOLD and not event.is_public and event.actor_id == manager.id
    assert event.note == "内容涉及他人隐私"
    assert concern.status == S.CLOSED  # the loop itself is untouched
    assert listed_ids(station) == []
    with pytest.raises(TransitionRefused) as refused:  # withheld already
        public_answers.withhold(concern, "再次", role=manager.role, actor=manager)
    assert refused.value.code == "not_allowed_now"
    _db.session.rollback()

    event = public_answers.release(concern, role=manager.role, actor=manager)
    _db.session.commit()
    assert event.action == A.RELEASE and not event.is_public
    assert concern.public_withheld_at is None and concern.public_withheld_reason is None
    assert listed_ids(station) == [concern.id]
    with pytest.raises(TransitionRefused) as refused:  # not withheld
        public_answers.release(concern, role=manager.role, actor=manager)
    assert refused.value.code == "not_allowed_now"


def test_only_what_the_resident_agreed_to_publish_can_be_withheld(station):
    concern = closed(station, public=False)
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    with pytest.raises(TransitionRefused) as refused:
        public_answers.withhold(concern, "理由", role=manager.role, actor=manager)
    assert refused.value.code == "not_allowed_now"


def test_an_open_concern_can_be_withheld_before_it_closes(station):
    concern = filed(station)
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    public_answers.withhold(concern, "内容敏感", role=manager.role, actor=manager)
    answered(concern)
    flow.rate(concern, Rating.SATISFIED, Rating.SATISFIED)
    _db.session.commit()
    assert concern.status == S.CLOSED and listed_ids(station) == []


def test_withholding_refuses_a_stale_page_and_roles_without_the_step(station):
    concern = closed(station)
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[station])
    _db.session.commit()
    with pytest.raises(TransitionRefused) as refused:
        public_answers.withhold(concern, "理由", role=manager.role, actor=manager, expected_version=concern.version - 1)
    assert refused.value.code == "changed"
    _db.session.rollback()
    handler = factories.user(Role.UNIT_HANDLER, unit=factories.unit())
    with pytest.raises(TransitionRefused) as refused:
        public_answers.withhold(concern, "理由", role=handler.role, actor=handler)
    assert refused.value.code == "role_not_allowed"


def test_the_withheld_columns_hold_together_in_the_database(station):
    concern = closed(station)
    concern.public_withheld_at = utcnow()
    with pytest.raises(sa.exc.IntegrityError):
        _db.session.flush()
    _db.session.rollback()
