"""Representatives' suggestions through the pages: the representative files and rates on
/me/suggestions, staff register, assign and mark 重点 in the back office, units reply and
report done; who may see what; refusals keep what was typed; the tracking page says the
concern went further."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, Outbox, Suggestion
from models.enums import Rating, RegionLevel, ReplyClass, Role
from models.enums import SuggestionAction as A
from models.enums import SuggestionStatus as S
from services import suggestion_flow as flow
from services.clock import local_today
from tests import factories
from tests.helpers import login


@pytest.fixture
def world(db):
    county = factories.region(name="项城市", level=RegionLevel.COUNTY)
    station = factories.station(region=county)
    author = factories.representative(stations=[station], name="王建国")
    cosigner = factories.representative(stations=[station], name="黄春燕")
    lead = factories.unit(region_obj=county, name="项城市住房和城乡建设局")
    co = factories.unit(region_obj=county, name="项城市财政局")
    elsewhere = factories.region(name="源汇区", level=RegionLevel.COUNTY)
    w = {
        "station": station,
        "author": author,
        "cosigner": cosigner,
        "lead": lead,
        "co": co,
        "staff": factories.user(Role.CONGRESS_STAFF, region=county),
        "other_staff": factories.user(Role.CONGRESS_STAFF, region=elsewhere),
        "lead_handler": factories.user(Role.UNIT_HANDLER, unit=lead),
        "co_handler": factories.user(Role.UNIT_HANDLER, unit=co),
        "concern": factories.concern(station, assigned_rep=author),
    }
    db.session.commit()
    return w


TEXT = "花园街道多个老旧小区雨水管网老化堵塞，每逢大雨积水严重，建议纳入年度改造计划并安排专项资金。"


def _file(client, w, **changes):
    data = {
        "title": "关于老旧小区雨水管网改造的建议",
        "content": TEXT,
        "signers": [str(w["cosigner"].id)],
        "concerns": [str(w["concern"].id)],
        **changes,
    }
    return client.post("/me/suggestions/new", data=data)


def _act(client, url, s, action, **data):
    return client.post(url, data={"action": action, "version": str(s.version), **data})


def _fresh(db, ident) -> Suggestion:
    db.session.rollback()  # a new transaction: what the requests committed
    return db.session.get(Suggestion, ident)


def test_the_whole_loop_through_the_pages(client, db, world):
    w = world
    login(client, w["author"].user)
    response = _file(client, w)
    assert response.status_code == 302
    db.session.rollback()
    s = db.session.scalars(sa.select(Suggestion)).one()
    mine = f"/me/suggestions/{s.id}"
    manage = f"/manage/suggestions/{s.id}"
    page = client.get(mine).get_data(as_text=True)
    assert "关于老旧小区雨水管网改造的建议" in page and "黄春燕" in page

    login(client, w["cosigner"].user)
    assert _act(client, f"{mine}/act", s, A.COSIGN).status_code == 302
    login(client, w["author"].user)
    assert _act(client, f"{mine}/act", _fresh(db, s.id), A.SUBMIT).status_code == 302

    login(client, w["staff"])
    assert "关于老旧小区" in client.get("/manage/suggestions").get_data(as_text=True)
    assert _act(client, f"{manage}/act", _fresh(db, s.id), A.REGISTER).status_code == 302
    s = _fresh(db, s.id)
    response = _act(
        client,
        f"{manage}/act",
        s,
        A.ASSIGN,
        lead_unit=str(w["lead"].id),
        co_units=[str(w["co"].id)],
        days="30",
    )
    assert response.status_code == 302
    assert _act(client, f"{manage}/act", _fresh(db, s.id), A.MARK_KEY, note="民生重点").status_code == 302
    assert "关于老旧小区" in client.get("/manage/suggestions/key").get_data(as_text=True)

    login(client, w["co_handler"])
    assert _act(client, f"{manage}/act", _fresh(db, s.id), A.OPINION, note="同意，资金予以保障").status_code == 302
    login(client, w["lead_handler"])
    assert "同意，资金予以保障" in client.get(manage).get_data(as_text=True)  # the lead unit reads it
    planned = (local_today() + timedelta(days=120)).isoformat()
    response = _act(
        client, f"{manage}/act", _fresh(db, s.id), A.REPLY, reply_class="B", planned_on=planned, note="已列入计划"
    )
    assert response.status_code == 302

    login(client, w["author"].user)
    assert "同意，资金予以保障" not in client.get(mine).get_data(as_text=True)  # internal to the units
    assert _act(client, f"{mine}/act", _fresh(db, s.id), A.RATE_REPLY, rating="satisfied").status_code == 302
    assert _fresh(db, s.id).status == S.IMPLEMENTING

    login(client, w["lead_handler"])
    assert _act(client, f"{manage}/act", _fresh(db, s.id), A.REPORT_DONE, note="改造完成").status_code == 302
    login(client, w["author"].user)
    response = _act(client, f"{mine}/act", _fresh(db, s.id), A.RATE_RESULT, rating="basically_satisfied")
    assert response.status_code == 302
    s = _fresh(db, s.id)
    assert s.status == S.CLOSED and s.is_key and s.reply_class == ReplyClass.B
    assert (s.rating_reply, s.rating_result) == (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)
    db.session.rollback()
    audited = set(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.target_type == "suggestion")))
    assert {"suggestion.register", "suggestion.assign", "suggestion.mark_key", "suggestion.reply"} <= audited
    kinds = set(db.session.scalars(sa.select(Outbox.kind)))
    assert {"suggestion.cosign", "suggestion.assigned", "suggestion.replied", "suggestion.done"} <= kinds


def test_a_refused_form_keeps_what_was_typed(client, db, world):
    login(client, world["author"].user)
    response = _file(client, world, content="太短了")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "关于老旧小区雨水管网改造的建议" in page and "太短了" in page
    assert "至少" in page or "at least" in page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suggestion)) == 0


def test_a_refused_step_says_why_and_keeps_the_note(client, db, world):
    w = world
    s = factories.suggestion(w["author"], lead_unit=w["lead"])
    db.session.commit()
    login(client, w["lead_handler"])
    response = _act(client, f"/manage/suggestions/{s.id}/act", s, A.REPLY, reply_class="B", note="计划明年实施")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "计划明年实施" in page
    assert _fresh(db, s.id).status == S.ASSIGNED


def test_an_outdated_page_is_refused_as_changed(client, db, world):
    w = world
    s = factories.suggestion(w["author"], status=S.SUBMITTED)
    db.session.commit()
    login(client, w["staff"])
    response = client.post(
        f"/manage/suggestions/{s.id}/act", data={"action": "register", "version": str(s.version - 1)}
    )
    assert response.status_code == 409
    assert "建议" in response.get_data(as_text=True)


def test_who_sees_which_suggestion(client, db, world):
    w = world
    s = factories.suggestion(w["author"], lead_unit=w["lead"])
    db.session.commit()
    for user, code in (
        (w["other_staff"], 403),
        (w["co_handler"], 403),
        (w["cosigner"].user, 403),
        (w["staff"], 200),
        (w["lead_handler"], 200),
    ):
        login(client, user)
        assert client.get(f"/manage/suggestions/{s.id}").status_code == code, user.username
    login(client, w["other_staff"])
    assert "关于老旧小区" not in client.get("/manage/suggestions?box=all").get_data(as_text=True)
    # a step by someone outside its scope is refused before anything changes
    login(client, w["co_handler"])
    assert _act(client, f"/manage/suggestions/{s.id}/act", s, A.REPLY, reply_class="A", note="x").status_code == 403


def test_a_township_staff_member_has_no_key_list(client, db, world):
    township = factories.region(name="花园街道", level=RegionLevel.TOWNSHIP, parent=world["station"].region)
    login(client, factories.user(Role.CONGRESS_STAFF, region=township))
    db.session.commit()
    assert client.get("/manage/suggestions/key").status_code == 403


def test_the_tracking_page_says_the_concern_went_further(client, db, world):
    w = world
    s = factories.suggestion(w["author"], status=S.DRAFT)
    s.concerns = [w["concern"]]
    db.session.commit()
    track = f"/t/{w['concern'].tracking_code}"
    assert "关于老旧小区" not in client.get(track).get_data(as_text=True)
    flow.transition(s, A.SUBMIT, role=Role.REPRESENTATIVE, actor=w["author"].user)
    db.session.commit()
    page = client.get(track).get_data(as_text=True)
    assert "关于老旧小区雨水管网改造的建议" in page
    assert "花园街道多个老旧小区" not in page  # the title and status only


def test_phone_pages_render_for_the_representative(client, db, world):
    login(client, world["author"].user)
    assert client.get("/me/suggestions").status_code == 200
    page = client.get("/me/suggestions/new").get_data(as_text=True)
    assert 'name="signers"' in page and "黄春燕" in page
