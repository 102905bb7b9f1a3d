"""Drafts of laws put out for comment (services.drafts): splitting the text into articles
(Chinese numerals up to the hundreds), the comment window (closed at the closing time even
before any job ran), where a draft is shown, moderation and its refusals, the summary per
article, the .xlsx export (read back with openpyxl), masking and erasure."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from extensions import db as _db
from models import AuditLog, DraftComment, DraftLaw, Outbox, utcnow
from models.enums import DraftCommentStatus, DraftItemKind, DraftStatus, RegionLevel, Role
from services import drafts, erasure, exports
from services.errors import DraftRefused, TransitionRefused
from tests import factories

DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """1 → 一, 10 → 十, 23 → 二十三, 105 → 一百零五, 110 → 一百一十 (as drafts write them)."""
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    out = ""
    if hundreds:
        out += DIGITS[hundreds] + "百"
        if tens == 0 and ones:
            return out + "零" + DIGITS[ones]
    if tens:
        out += ("" if tens == 1 and not hundreds else DIGITS[tens]) + "十"
    if ones:
        out += DIGITS[ones]
    return out


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("一", 1),
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("二十三", 23),
        ("九十九", 99),
        ("一百", 100),
        ("一百零五", 105),
        ("一百一十", 110),
        ("一百十二", 112),
        ("一百二十三", 123),
        ("两百", 200),
        ("三百零一", 301),
        ("23", 23),
        ("２３", 23),
    ],
)
def test_chinese_numerals(text, number):
    assert drafts.chinese_number(text) == number


@pytest.mark.parametrize("text", ["", "零", "二三", "百百", "十百", "第", "x"])
def test_what_is_not_a_numeral(text):
    with pytest.raises(ValueError):
        drafts.chinese_number(text)


def test_the_helper_writes_numerals_as_the_parser_reads_them():
    assert [chinese(n) for n in (1, 10, 11, 20, 105, 110, 123)] == [
        "一",
        "十",
        "十一",
        "二十",
        "一百零五",
        "一百一十",
        "一百二十三",
    ]
    assert all(drafts.chinese_number(chinese(n)) == n for n in range(1, 300))


def test_splitting_keeps_chapters_as_headings_and_joins_an_articles_lines():
    text = (
        "周口市城市养犬管理条例（草案）\n\n"
        "第一章　总则\n"
        "第一条　为了规范养犬行为，制定本条例。\n"
        "第二条\n"
        "本条例适用于城市建成区。\n"
        "违反本条例第一条规定的，依法处理。\n"
        "第二章 管理\n"
        "第一节 登记\n"
        "第三条 养犬人应当登记。\n"
    )
    split = drafts.split_text(text)
    assert split.preamble == "周口市城市养犬管理条例（草案）"
    kinds = [(p.kind, p.label) for p in split.pieces]
    assert kinds == [
        (DraftItemKind.CHAPTER, "第一章"),
        (DraftItemKind.ARTICLE, "第一条"),
        (DraftItemKind.ARTICLE, "第二条"),
        (DraftItemKind.CHAPTER, "第二章"),
        (DraftItemKind.SECTION, "第一节"),
        (DraftItemKind.ARTICLE, "第三条"),
    ]
    assert split.pieces[0].text == "总则"
    # A heading alone on its line takes the lines below; "第一条" inside a line is no heading.
    assert split.articles[1].text == "本条例适用于城市建成区。\n违反本条例第一条规定的，依法处理。"
    assert [a.number for a in split.articles] == [1, 2, 3]


def test_splitting_a_long_draft_numbered_into_the_hundreds():
    text = "\n".join(f"第{chinese(n)}条 第{n}条的内容。" for n in range(1, 124))
    split = drafts.split_text(text)
    assert len(split.articles) == 123
    assert split.articles[104].label == "第一百零五条" and split.articles[104].number == 105
    assert split.articles[109].label == "第一百一十条"
    assert split.articles[-1].label == "第一百二十三条" and split.articles[-1].text == "第123条的内容。"


@pytest.mark.parametrize(
    ("text", "code", "details"),
    [
        ("", "text_missing", {}),
        ("本条例草案的说明，没有条文。", "no_articles", {}),
        ("第一条 甲。\n第三条 丙。", "article_numbers", {"expected": 2, "found": "第三条"}),
        ("第一条 甲。\n第一条 甲。", "article_numbers", {"expected": 2, "found": "第一条"}),
        ("第二章 总则\n第一条 甲。", "chapter_numbers", {"expected": 1, "found": "第二章"}),
        ("第一条 甲。\n第二条\n第三条 丙。", "article_empty", {"label": "第二条"}),
    ],
)
def test_splitting_refuses_what_cannot_be_right(text, code, details):
    with pytest.raises(DraftRefused) as refused:
        drafts.split_text(text)
    assert refused.value.code == code
    for key, value in details.items():
        assert refused.value.details[key] == value


# --- a world: a city with two counties, contact points and not ------------------------------


@pytest.fixture
def world(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    other = factories.region("411100", "漯河市", RegionLevel.CITY)
    point = factories.station(region=county, name="花园街道联络站", is_legislative_point=True)
    point2 = factories.station(region=city, name="七一路基层立法联系点", is_legislative_point=True)
    plain = factories.station(region=county, name="莲花街道联络站")
    far = factories.station(region=other, name="漯河联系点", is_legislative_point=True)
    w = {
        "city": city,
        "county": county,
        "other": other,
        "point": point,
        "point2": point2,
        "plain": plain,
        "far": far,
        "staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "staff_far": factories.user(Role.CONGRESS_STAFF, region=other),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[point]),
    }
    _db.session.commit()
    return w


def draft_input(w, **kw) -> drafts.DraftInput:
    values = {
        "title": "周口市城市养犬管理条例（草案）",
        "issuing_body": "周口市人大常委会法制工作委员会",
        "summary": "欢迎提出意见。",
        "closes_at": utcnow() + timedelta(days=14),
        "region": w["city"],
        "text": factories.DRAFT_TEXT,
    }
    values.update(kw)
    return drafts.DraftInput(**values)


def test_staff_prepare_and_publish_a_draft_with_a_trace(world):
    w = world
    draft = drafts.create_draft(w["staff"], draft_input(w))
    assert draft.status == DraftStatus.DRAFT and len(draft.articles) == 3 and len(draft.items) == 5
    assert drafts.open_at(w["point"]) == []  # not before it is published
    assert drafts.publish(w["staff"], draft) is True
    assert drafts.publish(w["staff"], draft) is False  # a double tap
    assert {s.id for s in drafts.stations_of(draft)} == {w["point"].id, w["point2"].id}
    assert drafts.open_at(w["point"]) == [draft] and drafts.open_at(w["plain"]) == []
    assert drafts.open_at(w["far"]) == []
    actions = _db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["draft.created", "draft.published"]
    with pytest.raises(DraftRefused) as refused:
        drafts.update_draft(w["staff"], draft, draft_input(w, title="改了"))
    assert refused.value.code == "not_editable"


def test_editing_a_draft_being_prepared_replaces_its_articles(world):
    w = world
    draft = drafts.create_draft(w["staff"], draft_input(w))
    drafts.update_draft(w["staff"], draft, draft_input(w, text="第一条 只有一条。"))
    _db.session.commit()
    assert [(i.label, i.text) for i in draft.items] == [("第一条", "只有一条。")]
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "draft.changed"))
    assert entry.data["changes"]["articles"] == [3, 1]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": " "}, "title_missing"),
        ({"closes_at": None}, "closes_missing"),
        ({"closes_in": -1}, "closes_in_past"),
        ({"closes_in": 400}, "closes_too_late"),
        ({"region": None}, "region_missing"),
        ({"region": "other"}, "region_out_of_reach"),
        ({"all_stations": False}, "stations_missing"),
        ({"all_stations": False, "stations": ["plain"]}, "not_a_contact_point"),
        ({"all_stations": False, "stations": ["far"]}, "not_a_contact_point"),
        ({"text": "没有条文"}, "no_articles"),
    ],
)
def test_preparing_refuses_with_a_code(world, change, code):
    w = world
    if "closes_in" in change:
        change["closes_at"] = utcnow() + timedelta(days=change.pop("closes_in"))
    if change.get("region") == "other":
        change["region"] = w["other"]
    if "stations" in change:
        change["stations"] = [w[key] for key in change["stations"]]
    with pytest.raises(DraftRefused) as refused:
        drafts.create_draft(w["staff"], draft_input(w, **change))
    assert refused.value.code == code


def test_a_draft_with_no_contact_point_is_not_published(world):
    w = world
    w["point"].is_legislative_point = w["point2"].is_legislative_point = False
    draft = drafts.create_draft(w["staff"], draft_input(w))
    with pytest.raises(DraftRefused) as refused:
        drafts.publish(w["staff"], draft)
    assert refused.value.code == "no_stations"


def test_a_draft_to_chosen_stations_shows_only_there(world):
    w = world
    draft = factories.draft_law(w["city"], stations=[w["point2"]])
    _db.session.commit()
    assert drafts.reaches(draft, w["point2"]) and not drafts.reaches(draft, w["point"])
    assert drafts.open_at(w["point2"]) == [draft] and drafts.open_at(w["point"]) == []
    assert drafts.shown_at(w["point"], draft.id) is None
    # A contact point switched off as such shows nothing any more.
    w["point2"].is_legislative_point = False
    assert drafts.shown_at(w["point2"], draft.id) is None and drafts.open_at(w["point2"]) == []


# --- the comment window --------------------------------------------------------------------


def comment(draft, station, number=None, **kw) -> DraftComment:
    item = drafts.article_of(draft, number) if number else None
    data = drafts.CommentInput(content=kw.pop("content", "建议把登记期限延长到六十日。"), **kw)
    return drafts.submit_comment(draft, station, item, data)


def test_no_comment_after_the_closing_time_even_before_any_job_ran(world):
    w = world
    draft = factories.draft_law(w["city"], closes_at=utcnow() + timedelta(minutes=5))
    _db.session.commit()
    comment(draft, w["point"], 1)
    later = utcnow() + timedelta(minutes=6)
    assert draft.status == DraftStatus.PUBLISHED  # nothing recorded it yet
    assert drafts.effective_status(draft, later) == DraftStatus.CLOSED and not drafts.is_open(draft, later)
    with pytest.raises(DraftRefused) as refused:
        drafts.submit_comment(draft, w["point"], None, drafts.CommentInput("过了截止时间的意见。"), now=later)
    assert refused.value.code == "closed"
    assert drafts.open_at(w["point"], later) == []
    # The job records it, once.
    assert drafts.close_due(later) == 1 and drafts.close_due(later) == 0
    assert draft.status == DraftStatus.CLOSED and draft.closed_at == draft.closes_at


def test_staff_close_a_draft_early(world):
    w = world
    draft = factories.draft_law(w["city"])
    assert drafts.close(w["staff"], draft) is True and drafts.close(w["staff"], draft) is False
    with pytest.raises(DraftRefused) as refused:
        comment(draft, w["point"])
    assert refused.value.code == "closed"
    entry = _db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "draft.closed"))
    assert entry.data == {"early": True}


def test_a_draft_being_prepared_takes_no_comment(world):
    draft = factories.draft_law(world["city"], published=False)
    with pytest.raises(DraftRefused) as refused:
        comment(draft, world["point"])
    assert refused.value.code == "closed"


@pytest.mark.parametrize(
    ("where", "kw", "code"),
    [
        ("plain", {}, "not_here"),
        ("far", {}, "not_here"),
        ("point", {"content": "短"}, "content_length"),
        ("point", {"name": "李秀英"}, "consent_required"),
        ("point", {"mobile": "13803941234"}, "consent_required"),
        ("point", {"mobile": "12345", "consent": True}, "bad_mobile"),
        ("point", {"name": "李" * 31, "consent": True}, "name_too_long"),
    ],
)
def test_commenting_refuses_with_a_code(world, where, kw, code):
    draft = factories.draft_law(world["city"])
    with pytest.raises(DraftRefused) as refused:
        comment(draft, world[where], 1, **kw)
    assert refused.value.code == code


def test_an_article_of_another_draft_or_a_heading_is_refused(world):
    w = world
    draft, other = factories.draft_law(w["city"]), factories.draft_law(w["city"], title="另一部草案")
    heading = next(i for i in draft.items if i.kind == DraftItemKind.CHAPTER)
    for item in (drafts.article_of(other, 1), heading):
        with pytest.raises(DraftRefused) as refused:
            drafts.submit_comment(draft, w["point"], item, drafts.CommentInput("对这一条的意见。"))
        assert refused.value.code == "not_an_article"


def test_a_double_tap_makes_one_comment_and_a_code_gathers_one_residents_comments(world):
    w = world
    draft = factories.draft_law(w["city"])
    data = drafts.CommentInput("建议把登记期限延长到六十日。", name="李秀英", mobile="138 0394 1234", consent=True)
    first = drafts.submit_comment(draft, w["point"], drafts.article_of(draft, 3), data, submission_key="k" * 20)
    again = drafts.submit_comment(draft, w["point"], drafts.article_of(draft, 3), data, submission_key="k" * 20)
    assert again.id == first.id and first.mobile == "13803941234" and first.consent_at is not None
    second = drafts.submit_comment(draft, w["point2"], None, drafts.CommentInput("总体赞成。"), code=first.code)
    stranger = drafts.submit_comment(draft, w["point"], None, drafts.CommentInput("总体赞成，没意见。"))
    assert second.code == first.code and stranger.code != first.code
    assert [c.id for c in drafts.comments_by_code(first.code)] == [first.id, second.id]
    # A code of another draft (or a made-up one) does not join: a fresh code instead.
    other = factories.draft_law(w["city"], title="另一部草案")
    elsewhere = drafts.submit_comment(other, w["point"], None, drafts.CommentInput("另一部的意见。"), code=first.code)
    assert elsewhere.code != first.code
    assert drafts.masked_contact(first) == "李** · 138****1234"


# --- moderation ------------------------------------------------------------------------------


def moderate(w, c, action, **kw):
    kw.setdefault("role", Role.CONGRESS_STAFF)
    return drafts.moderate(w["staff"], c, action, **kw)


def test_moderation_accepts_merges_rejects_and_takes_back_with_a_trail(world):
    w = world
    draft = factories.draft_law(w["city"])
    a, b, c = comment(draft, w["point"], 2), comment(draft, w["point"], 2), comment(draft, w["point"], 3)
    moderate(w, a, "accept")
    moderate(w, b, "merge", merge_into=a)
    event = moderate(w, c, "reject", note="与草案内容无关。")
    _db.session.commit()
    assert (a.status, b.status, c.status) == ("accepted", "merged", "rejected")
    assert b.merged_into_id == a.id and event.note == "与草案内容无关。" and event.is_public
    assert [e.action for e in b.events] == ["merge"] and b.events[0].actor_id == w["staff"].id
    moderate(w, c, "reopen")
    assert c.status == "pending" and c.events[-1].is_public is False
    actions = _db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == [
        "draft.comment.accept",
        "draft.comment.merge",
        "draft.comment.reject",
        "draft.comment.reopen",
    ]


def test_moderation_refusals(world):
    w = world
    draft, other = factories.draft_law(w["city"]), factories.draft_law(w["city"], title="另一部草案")
    a, b, c, d = (comment(draft, w["point"], 1) for _ in range(4))
    elsewhere = comment(other, w["point"], 1)
    _db.session.commit()  # each refusal below rolls back

    def refused(kind, code, *args, **kw):
        with pytest.raises(kind) as caught:
            moderate(w, *args, **kw)
        assert caught.value.code == code
        _db.session.rollback()

    refused(TransitionRefused, "note_required", a, "reject", note="  ")
    refused(TransitionRefused, "role_not_allowed", a, "accept", role=Role.STATION_MANAGER)
    refused(TransitionRefused, "not_allowed_now", a, "reopen")
    refused(TransitionRefused, "not_allowed_now", a, "publish")
    refused(DraftRefused, "merge_target_required", a, "merge")
    refused(DraftRefused, "merge_target_required", a, "merge", merge_into=a)
    refused(DraftRefused, "merge_target_required", a, "merge", merge_into=elsewhere)
    refused(DraftRefused, "reason_too_long", a, "reject", note="长" * 501)
    moderate(w, b, "merge", merge_into=c)
    moderate(w, d, "reject", note="广告。")
    _db.session.commit()
    refused(DraftRefused, "merge_target_merged", a, "merge", merge_into=b)
    refused(DraftRefused, "merge_target_rejected", a, "merge", merge_into=d)
    refused(TransitionRefused, "not_allowed_now", c, "reopen")  # c is waiting: nothing to take back
    refused(DraftRefused, "has_merged", c, "merge", merge_into=a)  # b follows c: no chain
    refused(DraftRefused, "has_merged", c, "reject", note="重复。")
    moderate(w, c, "accept")
    _db.session.commit()
    refused(TransitionRefused, "not_allowed_now", c, "accept")  # twice: the second is refused
    refused(DraftRefused, "has_merged", c, "reopen")
    refused(TransitionRefused, "changed", a, "accept", expected_version=a.version + 1)


def test_the_summary_counts_each_article_and_lists_the_accepted(world):
    w = world
    draft = factories.draft_law(w["city"])
    a, b, c = comment(draft, w["point"], 2), comment(draft, w["point"], 2), comment(draft, w["point"], None)
    comment(draft, w["point"], 3)
    moderate(w, a, "accept")
    moderate(w, b, "merge", merge_into=a)
    moderate(w, c, "reject", note="重复。")
    rows = drafts.summary(draft)
    assert [r.item.label if r.item else None for r in rows] == [None, "第一条", "第二条", "第三条"]
    whole, first, second, third = rows
    assert whole.counts == {DraftCommentStatus.REJECTED: 1} and first.total == 0
    assert second.total == 2 and second.accepted == [a] and second.merged[a.id] == 1
    assert third.counts == {DraftCommentStatus.PENDING: 1}


def test_the_export_has_a_sheet_per_purpose_grouped_by_article_and_masked(world):
    w = world
    draft = factories.draft_law(w["city"])
    a = drafts.submit_comment(
        draft,
        w["point"],
        drafts.article_of(draft, 2),
        drafts.CommentInput("=建议登记免费。", name="李秀英", mobile="13803941234", consent=True),
    )
    b = comment(draft, w["point2"], 1)
    comment(draft, w["point"], None, content="总体赞成。")
    moderate(w, a, "accept")
    moderate(w, b, "reject", note="与本条无关。")
    body = exports.draft_comments_xlsx(draft, drafts.comments_of(draft), utcnow())
    wb = load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["按条款汇总", "意见明细", "说明"]
    counted = [[cell.value for cell in row] for row in wb["按条款汇总"].iter_rows()]
    assert counted[0] == ["条款", "意见总数", "采纳", "合并", "未采纳", "待审核"]
    assert counted[1:] == [
        ["草案整体", 1, 0, 0, 0, 1],
        ["第一条", 1, 0, 0, 1, 0],
        ["第二条", 1, 1, 0, 0, 0],
        ["第三条", 0, 0, 0, 0, 0],
        ["合计", 3, 1, 0, 1, 1],
    ]
    listed = [[cell.value for cell in row] for row in wb["意见明细"].iter_rows(min_row=2)]
    assert [row[0] for row in listed] == ["草案整体", "第一条", "第二条"]  # in the order of the text
    assert listed[1][5:8] == ["未采纳", None, "与本条无关。"]
    assert listed[2][4] == "=建议登记免费。" and listed[2][5] == "采纳" and listed[2][8] == "李** · 138****1234"
    cells = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
    assert "13803941234" not in cells and "李秀英" not in cells


def test_contacts_are_erased_after_the_draft_closed(world, app):
    w = world
    draft = factories.draft_law(w["city"])
    kept = drafts.submit_comment(
        draft, w["point"], None, drafts.CommentInput("总体赞成。", name="李秀英", mobile="13803941234", consent=True)
    )
    _db.session.commit()
    days = app.config["PERSONAL_DATA_DAYS"]
    assert erasure.purge().draft_contacts == 0  # still open
    drafts.close(w["staff"], draft)  # the resident is texted the link to their comments
    _db.session.commit()
    later = utcnow() + timedelta(days=days + 1)
    dry = erasure.purge(dry_run=True, now=later)
    assert (dry.draft_contacts, dry.messages) == (1, 1)
    done = erasure.purge(now=later)
    assert (done.draft_contacts, done.messages) == (1, 1)
    _db.session.expire_all()
    kept = _db.session.get(DraftComment, kept.id)
    assert kept.name is None and kept.mobile is None and kept.content == "总体赞成。"
    sms = _db.session.scalar(sa.select(Outbox).where(Outbox.kind == "draft.closed"))
    assert sms.recipient == "138****1234" and sms.body == "—" and sms.status == "failed"
    assert erasure.purge(now=later).draft_contacts == 0  # a second run erases nothing more


def test_a_draft_is_scoped_to_its_regions_staff(world):
    from services.permissions import can

    w = world
    draft = factories.draft_law(w["county"])
    _db.session.commit()
    assert can(w["staff"], "draft.moderate", draft)  # the city is above the county
    assert not can(w["staff_far"], "draft.moderate", draft)
    assert drafts.drafts_for(w["staff"]) == [draft] and drafts.drafts_for(w["staff_far"]) == []
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(DraftLaw)) == 1


def test_closing_texts_each_resident_who_left_a_number_once_through_the_outbox(world):
    from models import Outbox
    from services.privacy import mask_codes

    w = world
    draft = factories.draft_law(w["city"], closes_at=utcnow() + timedelta(minutes=5))
    with_number = drafts.CommentInput("建议延长登记期限。", mobile="13803941234", consent=True)
    first = drafts.submit_comment(draft, w["point"], drafts.article_of(draft, 1), with_number)
    drafts.submit_comment(draft, w["point"], drafts.article_of(draft, 2), with_number, code=first.code)
    comment(draft, w["point"], 3)  # no number: nobody to tell
    _db.session.commit()
    assert drafts.close_due(utcnow() + timedelta(minutes=6)) == 1
    rows = _db.session.scalars(sa.select(Outbox).where(Outbox.kind == "draft.closed")).all()
    assert len(rows) == 1 and rows[0].recipient == "13803941234"
    assert f"/c/{first.code}" in rows[0].body and "周口市城市养犬管理条例（草案）" in rows[0].body
    assert f"/c/{first.code[:2]}*******" in mask_codes(rows[0].body)
    assert first.code not in mask_codes(rows[0].body)


MODERATION_STEPS = ("accept", "merge", "reject", "reopen", "publish")
MODERATORS = (Role.CONGRESS_STAFF, Role.STATION_MANAGER, Role.ADMIN)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # which comment
            st.sampled_from(MODERATION_STEPS),
            st.sampled_from(MODERATORS),
            st.integers(0, 3),  # the merge target
            st.sampled_from(("", "重复意见。")),  # a reason, or none
        ),
        max_size=25,
    )
)
def test_random_moderation_never_leaves_the_table_and_keeps_merges_whole(world, steps):
    """Moderation through the engine, at random: a step is taken only from a status its row
    allows and by a role it names, or refused with nothing changed; the trail of each comment
    is unbroken; a merged comment always points at a comment of the same draft that is not
    merged or rejected itself (so no chain and no cycle)."""
    from services.drafts import COMMENT_FLOW

    w = world
    draft = factories.draft_law(w["city"])
    comments = [comment(draft, w["point"], 1 + i % 2) for i in range(4)]
    transitions = COMMENT_FLOW.transitions()
    for which, action, role, target, note in steps:
        c = comments[which]
        before, events = c.status, len(c.events)
        try:
            with _db.session.begin_nested():
                event = drafts.moderate(w["staff"], c, action, role=role, note=note, merge_into=comments[target])
        except (TransitionRefused, DraftRefused):
            _db.session.refresh(c)
            assert c.status == before and len(c.events) == events
            continue
        spec = COMMENT_FLOW[event.action]
        assert role in spec.roles and (before, spec.action) in transitions and c.status == spec.target
    for c in comments:
        moves = c.events
        for previous, event in zip(moves, moves[1:], strict=False):
            assert event.from_status == previous.to_status
        assert (moves[-1].to_status if moves else DraftCommentStatus.PENDING) == c.status
        if c.status == DraftCommentStatus.MERGED:
            into = _db.session.get(DraftComment, c.merged_into_id)
            assert into.draft_law_id == c.draft_law_id and into.id != c.id
            assert into.status not in (DraftCommentStatus.MERGED, DraftCommentStatus.REJECTED)
        else:
            assert c.merged_into_id is None
    _db.session.rollback()
