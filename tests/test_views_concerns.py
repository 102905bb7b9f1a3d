"""The back office's concern pages: inbox, detail, the loop's buttons, contact masking."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, Concern, ConcernEvent, Outbox, utcnow
from models.enums import ConcernStatus as S
from models.enums import RegionLevel, Role
from tests import factories
from tests.helpers import login

MOBILE = "13812341234"


@pytest.fixture
def world(db):
    city = factories.region(name="周口市", level=RegionLevel.CITY)
    county = factories.region(name="项城市", parent=city)
    other = factories.region(name="源汇区")
    a = factories.station(region=county, name="A 项城市防水行业联络站")
    b = factories.station(region=other, name="B 漯河食品产业联络站")
    rep = factories.representative(stations=[a], name="王建国")
    colleague = factories.representative(stations=[a], name="黄春燕")
    unit = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    far_unit = factories.unit(region_obj=other, name="源汇区水利局")
    w = {
        "a": a,
        "b": b,
        "rep": rep,
        "colleague": colleague,
        "unit": unit,
        "far_unit": far_unit,
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[a], display_name="李站长"),
        "staff": factories.user(Role.CONGRESS_STAFF, region=city, display_name="周工委"),
        "handler": factories.user(Role.UNIT_HANDLER, unit=unit, display_name="住建局张科长"),
        "admin": factories.user(Role.ADMIN),
    }
    w["concern"] = filed(a, contact_name="张三丰", contact_mobile=MOBILE, consent_at=utcnow())
    w["concern_b"] = filed(b, content="漯河食品产业园区道路坑洼，货车进出困难。")
    db.session.commit()
    return w


def filed(station, **kw) -> Concern:
    concern = factories.concern(station, **kw)
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    return concern


def act(client, concern, action, **form):
    form.setdefault("version", str(concern_version(concern)))
    return client.post(f"/manage/concerns/{concern.id}/act", data={"action": action, **form})


def concern_version(concern) -> int:
    return fresh(concern).version


def fresh(concern) -> Concern:
    """The concern as the last request left it (a new transaction sees its commit)."""
    from extensions import db

    db.session.commit()
    db.session.expire_all()
    return db.session.get(Concern, concern.id)


def buttons(html: str) -> set[str]:
    return set(re.findall(r'name="action" value="([a-z_]+)"', html))


def test_each_role_sees_only_its_scope(client, world):
    login(client, world["manager"])
    page = client.get("/manage/concerns").get_data(as_text=True)
    assert world["concern"].tracking_code[:4] in page.replace("-", "")
    assert "漯河食品产业园区" not in page
    assert client.get(f"/manage/concerns/{world['concern_b'].id}").status_code == 403

    login(client, world["handler"])  # nothing dispatched to the unit yet
    assert client.get(f"/manage/concerns/{world['concern'].id}").status_code == 403
    assert 'class="muted empty"' in client.get("/manage/concerns").get_data(as_text=True)


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get("/manage/concerns")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_whole_loop_through_the_back_office(client, world):
    concern = world["concern"]
    login(client, world["rep"].user)
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert buttons(page) == {"accept"}
    assert act(client, concern, "accept").status_code == 302
    assert fresh(concern).assigned_rep_id == world["rep"].id

    login(client, world["staff"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert buttons(page) == {"dispatch", "reject"}
    assert "源汇区水利局" not in page  # only units of the station's region and above
    due = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%d")
    assert act(client, concern, "dispatch", unit=str(world["unit"].id), due=due).status_code == 302
    assert fresh(concern).unit_id == world["unit"].id and fresh(concern).due_at.strftime("%Y-%m-%d") >= due[:8]

    login(client, world["handler"])
    assert buttons(client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)) == {"reply", "return"}
    assert act(client, concern, "reply", note="已安排维修，三日内完成。").status_code == 302

    login(client, world["rep"].user)
    assert "send_back" in buttons(client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True))
    assert act(client, concern, "confirm", note="已到现场查看").status_code == 302
    concern = fresh(concern)
    assert concern.status == S.CONFIRMED
    assert [e.action for e in concern.events] == ["submit", "accept", "dispatch", "reply", "confirm"]
    assert [e.actor.display_name for e in concern.events[1:]] == ["王建国", "周工委", "住建局张科长", "王建国"]


def test_a_manager_assigns_a_representative_of_the_station_only(client, world):
    concern, other_rep = world["concern"], factories.representative(stations=[world["b"]], name="孙志强")
    login(client, world["manager"])
    response = act(client, concern, "accept", representative=str(other_rep.id))
    assert response.status_code == 409 and 'class="errors"' in response.get_data(as_text=True)
    assert fresh(concern).status == S.SUBMITTED
    act(client, concern, "accept", representative=str(world["colleague"].id))
    assert fresh(concern).assigned_rep_id == world["colleague"].id


def test_a_forged_unit_from_another_region_is_refused(client, world):
    concern = world["concern"]
    login(client, world["rep"].user)
    act(client, concern, "accept")
    login(client, world["staff"])
    response = act(client, concern, "dispatch", unit=str(world["far_unit"].id))
    assert response.status_code == 409 and fresh(concern).status == S.ACCEPTED


@pytest.mark.parametrize("due", ["2026-13-45", "31/12/2030", "2020-01-01"])
def test_a_malformed_or_past_deadline_is_refused_and_the_instructions_kept(client, world, due):
    concern = world["concern"]
    login(client, world["rep"].user)
    act(client, concern, "accept")
    login(client, world["staff"])
    response = act(client, concern, "dispatch", unit=str(world["unit"].id), due=due, note="请三日内到现场查看")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and fresh(concern).status == S.ACCEPTED
    assert "请三日内到现场查看" in page and f'value="{due}"' in page


def test_a_role_cannot_press_a_button_it_is_not_shown(client, world):
    concern = world["concern"]
    login(client, world["manager"])
    assert act(client, concern, "dispatch", unit=str(world["unit"].id)).status_code == 403
    assert act(client, concern, "fly").status_code == 400
    assert fresh(concern).status == S.SUBMITTED


def test_two_people_at_once_the_second_is_told_it_changed_and_keeps_their_text(client, world):
    concern = world["concern"]
    seen = concern_version(concern)
    login(client, world["rep"].user)
    act(client, concern, "accept", version=str(seen))
    login(client, world["manager"])
    response = act(client, concern, "reject", version=str(seen), note="不属于受理范围的理由")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "不属于受理范围的理由" in html  # what they typed is still there
    assert fresh(concern).status == S.ACCEPTED  # nothing overwritten


def test_reasons_are_required_and_shown_beside_the_form(client, world):
    login(client, world["manager"])
    response = act(client, world["concern"], "reject", note="  ")
    assert response.status_code == 409 and 'class="errors"' in response.get_data(as_text=True)
    assert fresh(world["concern"]).status == S.SUBMITTED


def test_contact_is_masked_and_every_full_view_is_recorded(client, world):
    from extensions import db

    concern = world["concern"]
    login(client, world["staff"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert "138****1234" in page and MOBILE not in page and "张三丰" not in page
    assert client.post(f"/manage/concerns/{concern.id}/contact").status_code == 403

    login(client, world["manager"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert MOBILE not in page and "张**" in page
    response = client.post(f"/manage/concerns/{concern.id}/contact")
    assert MOBILE in response.get_data(as_text=True) and response.headers["Cache-Control"] == "no-store"
    db.session.commit()
    logged = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "concern.contact_viewed")).all()
    assert [(e.actor_id, e.target_id) for e in logged] == [(world["manager"].id, concern.id)]


def test_internal_notes_stay_inside_public_replies_reach_the_tracking_page(client, world):
    concern = world["concern"]
    login(client, world["manager"])
    client.post(
        f"/manage/concerns/{concern.id}/note", data={"note": "已电话联系，群众情绪稳定", "visibility": "internal"}
    )
    client.post(
        f"/manage/concerns/{concern.id}/note", data={"note": "<script>alert(1)</script>", "visibility": "public"}
    )
    manage_page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert "已电话联系" in manage_page and "<script>alert(1)" not in manage_page
    track = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "已电话联系" not in track and "&lt;script&gt;alert(1)&lt;/script&gt;" in track
    assert fresh(concern).status == S.SUBMITTED


def test_recategorising_is_visible_on_the_timeline(client, world):
    concern = world["concern"]
    new = factories.category(name_zh="交通出行", name_en="Transport")
    login(client, world["manager"])
    response = client.post(
        f"/manage/concerns/{concern.id}/category", data={"category": str(new.id), "version": str(concern.version)}
    )
    assert response.status_code == 302
    assert fresh(concern).category_id == new.id
    assert "交通出行" in client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)


def test_filters_search_and_overdue(client, world):
    from extensions import db

    a = world["a"]
    late = filed(a, content="化粪池堵塞已经一个月，污水外溢到路面上。")
    late.due_at = utcnow() - timedelta(days=2)
    db.session.commit()
    login(client, world["manager"])
    page = client.get("/manage/concerns", query_string={"overdue": "1"}).get_data(as_text=True)
    assert "化粪池" in page and "路灯" not in page
    page = client.get("/manage/concerns", query_string={"q": "路灯 两个月"}).get_data(as_text=True)
    assert "路灯" in page and "化粪池" not in page
    page = client.get("/manage/concerns", query_string={"q": "100%_"}).get_data(as_text=True)
    assert "路灯" not in page  # % and _ are searched for literally
    assert "化粪池" not in client.get("/manage/concerns", query_string={"status": "closed"}).get_data(as_text=True)
    assert "化粪池" in client.get("/manage/concerns", query_string={"stage": "0"}).get_data(as_text=True)
    assert client.get("/manage/concerns", query_string={"stage": "x", "category": "9" * 30}).status_code == 200


def test_keyset_pages_hold_every_concern_once(client, world):
    from extensions import db

    base = utcnow() - timedelta(days=1)
    for n in range(30):
        c = filed(world["a"], content=f"第{n:02d}号意见：小区门口需要增加停车位。")
        c.created_at = base + timedelta(minutes=n // 3)  # equal timestamps on purpose
    db.session.commit()
    login(client, world["manager"])
    seen, url = [], "/manage/concerns"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r"第(\d\d)号意见", html)
        more = re.search(r'href="(/manage/concerns\?[^"]*after=[^"]+)"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert sorted(seen) == [f"{n:02d}" for n in range(30)]
    assert seen == sorted(seen, reverse=True)


def test_a_representative_has_boxes_to_take_and_to_supervise(client, world):
    concern = world["concern"]
    login(client, world["rep"].user)
    take = client.get("/manage/concerns").get_data(as_text=True)
    assert "路灯" in take
    assert "路灯" not in client.get("/manage/concerns", query_string={"box": "supervise"}).get_data(as_text=True)
    act(client, concern, "accept")
    assert "路灯" in client.get("/manage/concerns", query_string={"box": "supervise"}).get_data(as_text=True)
    me = client.get("/me").get_data(as_text=True)
    assert "box=supervise" in me


def test_the_resident_sees_every_step_but_not_the_internal_instructions(client, world):
    concern = world["concern"]
    login(client, world["rep"].user)
    act(client, concern, "accept")
    login(client, world["staff"])
    act(client, concern, "dispatch", unit=str(world["unit"].id), note="请住建局内部协调物业公司")
    track = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "住建局内部协调" not in track
    timeline = track.split('class="timeline"')[1]
    assert timeline.count('<span class="what">') == 3  # filed, taken up, dispatched


def test_merging_by_a_typed_tracking_code_in_the_viewers_care(client, world):
    concern, original = world["concern"], filed(world["a"], content="同一路段路灯不亮的问题，上周已经反映过。")
    login(client, world["manager"])
    # Another station's concern is not the manager's to merge into.
    response = act(client, concern, "merge", target=world["concern_b"].tracking_code, note="同一问题")
    assert response.status_code == 409 and fresh(concern).status == S.SUBMITTED
    typed = f"{original.tracking_code[:5].lower()}-{original.tracking_code[5:]}"
    assert act(client, concern, "merge", target=typed, note="同一问题").status_code == 302
    assert fresh(concern).status == S.MERGED and fresh(concern).merged_into_id == original.id


def test_an_answer_resolved_on_the_spot_is_sent_back_to_the_representative(client, world):
    concern = world["concern"]
    login(client, world["rep"].user)
    act(client, concern, "accept")
    act(client, concern, "resolve", note="已协调物业当场修好")
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert buttons(page) == {"confirm"}  # not their own answer back to a unit it never had
    login(client, world["manager"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert buttons(page) == {"confirm", "send_back_to_rep"}
    assert act(client, concern, "send_back", note="再看看").status_code == 409  # the forged button
    assert act(client, concern, "send_back_to_rep", note="请再核实一次").status_code == 302
    assert fresh(concern).status == S.ACCEPTED and fresh(concern).unit_id is None
    login(client, world["rep"].user)
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert "resolve" in buttons(page)


def test_a_note_on_taking_it_up_stays_inside(client, world):
    concern = world["concern"]
    login(client, world["manager"])
    page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    act(client, concern, "accept", representative=str(world["rep"].id), note="请刘桂兰代表跟进。")
    assert fresh(concern).events[-1].is_public is False
    tracking = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "请刘桂兰代表跟进" not in tracking
    # every note field says beside it whether the resident reads it
    labels = re.findall(r'<label for="note-[a-z_]+">([^<]+)</label>', page)
    assert labels and all(("内部" in text) or ("群众可见" in text) for text in labels), labels


@pytest.mark.parametrize("typed", ["displayed", "lower", "full_width", "spaced"])
def test_staff_find_a_concern_by_the_code_as_read_out(client, world, typed):
    concern = world["concern"]
    shown = f"{concern.tracking_code[:5]}-{concern.tracking_code[5:]}"
    query = {
        "displayed": shown,
        "lower": shown.lower(),
        "full_width": "".join(chr(ord(c) + 0xFEE0) for c in shown),  # ＡＢ１２－…
        "spaced": f" {shown.replace('-', ' ')} ",
    }[typed]
    login(client, world["manager"])
    page = client.get("/manage/concerns", query_string={"q": query}).get_data(as_text=True)
    assert f"/manage/concerns/{concern.id}" in page


def test_words_for_the_resident_stay_on_the_tracking_page_which_names_who_handles_it(client, world):
    concern = world["concern"]
    login(client, world["rep"].user)
    act(client, concern, "accept")
    login(client, world["staff"])
    act(client, concern, "dispatch", unit=str(world["unit"].id))
    login(client, world["handler"])
    act(client, concern, "reply", note="已安排维修")
    login(client, world["rep"].user)
    act(client, concern, "confirm")
    staff_page = client.get(f"/manage/concerns/{concern.id}").get_data(as_text=True)
    assert "等待您评价" not in staff_page and "等待群众评价" in staff_page
    tracking = client.get(f"/t/{concern.tracking_code}").get_data(as_text=True)
    assert "等待您评价" in tracking
    assert "王建国" in tracking and "项城市住房和城乡建设局" in tracking


def _dispatched_page(client, world, concern) -> str:
    login(client, world["rep"].user)
    act(client, concern, "accept")
    login(client, world["staff"])
    data = {"action": "dispatch", "unit": str(world["unit"].id), "version": str(concern_version(concern))}
    return client.post(f"/manage/concerns/{concern.id}/act", data=data, follow_redirects=True).get_data(as_text=True)


def test_a_dispatch_never_claims_the_unit_was_told_when_nobody_could_be(client, world):
    world["handler"].email, world["handler"].mobile = None, None  # no way to reach them
    page = _dispatched_page(client, world, world["concern"])
    assert "已通知承办单位" not in page and "未能通知" in page and "住建局张科长" in page


def test_a_dispatch_says_who_was_told_and_the_units_sms_has_the_deadline(client, world, db):
    world["handler"].email, world["handler"].mobile = None, "13900139009"
    page = _dispatched_page(client, world, world["concern"])
    assert "139****9009（短信）" in page and "未能通知" not in page
    db.session.commit()  # a new transaction sees what the requests wrote
    sms = db.session.scalars(sa.select(Outbox).where(Outbox.recipient == "13900139009")).one()
    assert "办理期限" in sms.body


def test_a_dispatch_to_a_unit_with_no_handler_account_says_nobody_there_was_told(client, world, db):
    empty = factories.unit(region_obj=world["a"].region, name="项城市水利局")
    world["unit"] = empty
    db.session.commit()
    page = _dispatched_page(client, world, world["concern"])
    assert "未能通知" in page and "项城市水利局" in page
    db.session.commit()
    row = db.session.scalars(sa.select(Outbox).where(Outbox.kind == "concern.dispatched")).one()
    assert (row.channel, row.status, row.recipient) == ("none", "failed", "项城市水利局")
    concern_page = client.get(f"/manage/concerns/{world['concern'].id}").get_data(as_text=True)
    assert "承办单位没有在用的经办人账号" in concern_page


def test_the_not_notified_list_holds_what_was_not_sent_in_scope_until_staff_say_they_told_them(client, world, db):
    world["handler"].email, world["handler"].mobile = None, None
    _dispatched_page(client, world, world["concern"])
    db.session.commit()
    row = db.session.scalars(sa.select(Outbox).where(Outbox.channel == "none")).one()

    login(client, world["staff"])
    assert "无法发送的通知：1" in client.get("/manage/").get_data(as_text=True)
    listing = client.get("/manage/not-notified").get_data(as_text=True)
    assert "住建局张科长" in listing and world["concern"].tracking_code[:4] in listing
    assert "账号没有邮箱或手机号" in listing

    outsider = factories.user(Role.CONGRESS_STAFF, region=world["b"].region, display_name="源汇工委")
    db.session.commit()
    login(client, outsider)
    assert "住建局张科长" not in client.get("/manage/not-notified").get_data(as_text=True)
    assert client.post(f"/manage/not-notified/{row.id}/handled").status_code == 403
    login(client, world["handler"])
    assert client.get("/manage/not-notified").status_code == 403

    login(client, world["staff"])
    done = client.post(
        f"/manage/not-notified/{row.id}/handled", data={"next": f"/manage/concerns/{world['concern'].id}"}
    )
    assert done.headers["Location"].endswith(f"/manage/concerns/{world['concern'].id}")
    assert "住建局张科长" not in client.get("/manage/not-notified").get_data(as_text=True)
    assert "住建局张科长" in client.get("/manage/not-notified?handled=1").get_data(as_text=True)
    assert "无法发送的通知" not in client.get("/manage/").get_data(as_text=True)
    concern_page = client.get(f"/manage/concerns/{world['concern'].id}").get_data(as_text=True)
    assert "已由周工委另行告知" in concern_page
    db.session.commit()
    assert (
        db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "notification.handled")).one().target_id
        == row.id
    )


def test_the_concern_merged_into_lists_the_merged_ones_with_their_ratings(client, world, db):
    twin = filed(world["a"], content="同一段路的路灯也坏了，晚上看不见路。")
    db.session.commit()
    login(client, world["manager"])
    merged = act(client, twin, "merge", target=world["concern"].tracking_code, note="同一处")
    assert merged.status_code == 302
    page = client.get(f"/manage/concerns/{world['concern'].id}").get_data(as_text=True)
    assert "合并到本件的反映" in page and f"/manage/concerns/{twin.id}" in page


def test_the_loser_whose_step_is_gone_gets_their_note_back_to_copy(client, world):
    """Both reject at once: the second's step is no longer offered, so its form is not on
    the page; the note they typed is shown in a box of its own instead of being lost."""
    concern = world["concern"]
    seen = concern_version(concern)
    login(client, world["manager"])
    assert act(client, concern, "reject", version=str(seen), note="先到的理由").status_code == 302
    response = act(client, concern, "reject", version=str(seen), note="后到的、没保存的理由")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "reject" not in re.findall(r'name="action" value="([a-z_]+)"', html)  # the step is gone
    box = re.search(r'<textarea id="unsaved-note"[^>]*readonly[^>]*>(.*?)</textarea>', html, re.S)
    assert box and box.group(1).strip() == "后到的、没保存的理由"
    assert fresh(concern).status == S.REJECTED


def test_the_admin_reads_a_concern_but_cannot_recategorise_it(client, db, world):
    concern = world["concern"]
    other = factories.category(name_zh="交通出行")
    db.session.commit()
    before = fresh(concern).category_id
    login(client, world["admin"])
    page = client.get(f"/manage/concerns/{concern.id}")
    assert page.status_code == 200
    assert f"/manage/concerns/{concern.id}/category" not in page.get_data(as_text=True)
    resp = client.post(
        f"/manage/concerns/{concern.id}/category",
        data={"category": str(other.id), "version": str(concern_version(concern))},
    )
    assert resp.status_code == 403
    assert fresh(concern).category_id == before
