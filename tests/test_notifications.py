"""Who hears about which concern event: Outbox rows queued by services/notifications.py."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import ConcernEvent, Outbox, utcnow
from models.enums import ConcernStatus as S
from models.enums import OutboxStatus, Rating, Role
from services import concern_flow as flow
from services.clock import to_local
from services.codes import format_tracking_code
from services.errors import TransitionRefused
from services.notifications import told_whom
from tests import factories

RESIDENT = "13800138000"


def rows(db) -> list[Outbox]:
    db.session.flush()
    return list(db.session.scalars(sa.select(Outbox).order_by(Outbox.id)))


def clear(db) -> None:
    db.session.execute(sa.delete(Outbox))


@pytest.fixture
def world(db):
    """A concern with a resident's mobile, its representative, a unit with handlers, staff."""
    region = factories.region()
    station = factories.station(region=region)
    rep = factories.representative(stations=[station])
    rep.user.email = "rep@example.org"
    unit = factories.unit(region_obj=region)
    handler_mail = factories.user(Role.UNIT_HANDLER, unit=unit, email="handler@example.org")
    handler_sms = factories.user(Role.UNIT_HANDLER, unit=unit, mobile="13900139001")
    factories.user(Role.UNIT_HANDLER, unit=unit, mobile="13900139002", active=False)
    factories.user(Role.UNIT_HANDLER, unit=factories.unit(region_obj=region), mobile="13900139003")
    staff = factories.user(Role.CONGRESS_STAFF, region=region, mobile="13700137000")
    manager = factories.user(Role.STATION_MANAGER, mobile="13600136000")
    concern = factories.concern(
        station_obj=station, contact_name="李女士", contact_mobile=RESIDENT, consent_at=utcnow()
    )
    concern.events.append(ConcernEvent(action="submit", to_status=S.SUBMITTED))
    db.session.flush()
    return {
        "concern": concern,
        "rep": rep,
        "unit": unit,
        "handlers": [handler_mail, handler_sms],
        "staff": staff,
        "manager": manager,
    }


def step(w, action, **kw):
    """Drive the concern through one transition with a sensible actor for the action."""
    actors = {
        "accept": (Role.REPRESENTATIVE, w["rep"].user),
        "dispatch": (Role.CONGRESS_STAFF, w["staff"]),
        "reply": (Role.UNIT_HANDLER, w["handlers"][0]),
        "return": (Role.UNIT_HANDLER, w["handlers"][0]),
        "confirm": (Role.REPRESENTATIVE, w["rep"].user),
        "send_back": (Role.REPRESENTATIVE, w["rep"].user),
        "resolve": (Role.REPRESENTATIVE, w["rep"].user),
        "reject": (Role.STATION_MANAGER, w["manager"]),
    }
    role, actor = actors[action]
    kw.setdefault("role", role)
    kw.setdefault("actor", actor)
    if action == "accept":
        kw.setdefault("representative", w["rep"])
    if action == "dispatch":
        kw.setdefault("unit", w["unit"])
    if flow.CONCERN_FLOW[action].note_required:
        kw.setdefault("note", "已安排维修人员现场查看")
    return flow.transition(w["concern"], action, **kw)


def to(w, status) -> None:
    """Walk the happy path up to `status`, then forget what was queued on the way."""
    path = [("accept", S.ACCEPTED), ("dispatch", S.DISPATCHED), ("reply", S.REPLIED), ("confirm", S.CONFIRMED)]
    for action, reached in path:
        if w["concern"].status == status:
            break
        step(w, action)
        assert w["concern"].status == reached


def test_the_resident_hears_by_sms_when_a_representative_takes_it_up(db, world):
    concern = world["concern"]
    step(world, "accept")
    [row] = rows(db)  # the representative took it up themselves: nobody tells them
    assert (row.channel, row.recipient, row.kind, row.concern_id) == ("sms", RESIDENT, "concern.accepted", concern.id)
    assert f"http://mashang.test/t/{concern.tracking_code}" in row.body
    assert row.status.value == "pending" and row.attempts == 0


@pytest.mark.parametrize(
    "contact",
    [
        {"contact_mobile": None, "contact_name": None, "consent_at": None},
        {"is_anonymous": True},
    ],
    ids=["no-mobile", "anonymous"],
)
def test_no_sms_to_a_resident_who_left_no_mobile_or_stayed_anonymous(db, world, contact):
    for key, value in contact.items():
        setattr(world["concern"], key, value)
    step(world, "accept")
    step(world, "dispatch")
    assert [r.recipient for r in rows(db)] == ["handler@example.org", "13900139001"]


def test_a_representative_assigned_by_someone_else_hears_by_email_without_the_residents_data(db, world):
    concern, rep = world["concern"], world["rep"]
    step(world, "accept", role=Role.STATION_MANAGER, actor=world["manager"])
    resident, mail = rows(db)
    assert resident.recipient == RESIDENT
    assert (mail.channel, mail.recipient, mail.kind) == ("email", rep.user.email, "concern.accepted")
    assert format_tracking_code(concern.tracking_code) in mail.subject and mail.subject in mail.body
    assert f"#{concern.id}" not in mail.body  # staff read out the tracking code, never a row id
    assert "http://mashang.test/manage" in mail.body and concern.category.name_zh in mail.body
    for private in (RESIDENT, "李女士", concern.content, concern.tracking_code):
        assert private not in mail.body and private not in mail.subject


def test_staff_without_email_get_an_sms_and_without_either_a_row_never_sent(db, world):
    rep = world["rep"]
    rep.user.email, rep.user.mobile = None, "13500135000"
    step(world, "accept", role=Role.STATION_MANAGER, actor=world["manager"])
    sms = rows(db)[-1]
    assert (sms.channel, sms.recipient, sms.subject) == ("sms", "13500135000", "")
    assert format_tracking_code(world["concern"].tracking_code) in sms.body and "http://mashang.test/manage" in sms.body

    clear(db)
    world["concern"].status = S.SUBMITTED
    rep.user.mobile = None
    step(world, "accept", role=Role.STATION_MANAGER, actor=world["manager"])
    resident, missed = rows(db)
    assert resident.recipient == RESIDENT
    # nobody can be told: a row that is never sent, so that staff see it on the concern
    assert (missed.channel, missed.status) == ("none", OutboxStatus.FAILED) and rep.user.username in missed.recipient
    told = told_whom([resident, missed])
    # the resident once, masked (a username may hold the digits 13 too: count the mask)
    assert told.count("138****8000") == 1 and RESIDENT not in told and rep.user.display_name in told


def test_dispatch_tells_the_units_active_handlers_with_the_deadline(db, world):
    to(world, S.ACCEPTED)
    clear(db)
    due = utcnow() + timedelta(days=10)
    step(world, "dispatch", due_at=due)
    mail, sms = rows(db)  # not the resident, not the inactive handler, not another unit's
    assert (mail.channel, mail.recipient, mail.kind) == ("email", "handler@example.org", "concern.dispatched")
    assert (sms.channel, sms.recipient, sms.kind) == ("sms", "13900139001", "concern.dispatched")
    assert to_local(due).strftime("%Y-%m-%d %H:%M") in mail.body


def test_a_reply_tells_the_representative_and_the_resident_but_keeps_internal_notes_in(db, world):
    to(world, S.DISPATCHED)
    clear(db)
    step(world, "reply", note="路灯已于本周修复")
    resident, rep = rows(db)
    assert (resident.recipient, resident.kind) == (RESIDENT, "concern.replied")
    assert (rep.recipient, rep.kind) == ("rep@example.org", "concern.replied")
    assert "路灯已于本周修复" in rep.body  # public: the resident reads it on the page anyway

    clear(db)
    step(world, "send_back")
    clear(db)
    step(world, "reply", note="内部：施工队下周进场", public=False)
    [rep] = rows(db)  # the resident could not read an internal answer: not told of it
    assert rep.recipient == "rep@example.org" and "施工队" not in rep.body


def test_send_back_tells_the_unit(db, world):
    to(world, S.REPLIED)
    clear(db)
    step(world, "send_back", note="答复未说明维修时间", public=True)
    assert [(r.recipient, r.kind) for r in rows(db)] == [
        ("handler@example.org", "concern.sent_back"),
        ("13900139001", "concern.sent_back"),
    ]
    assert "答复未说明维修时间" in rows(db)[0].body  # the e-mail carries the public reason


def test_a_rejection_tells_the_resident_why_but_only_a_public_reason(db, world):
    step(world, "reject", note="该事项属于物业服务合同纠纷，请联系小区物业公司或社区居委会协调处理，谢谢理解")
    [row] = rows(db)
    assert row.kind == "concern.rejected" and "该事项属于物业服务合同纠纷" in row.body
    assert "谢谢理解" not in row.body and "…" in row.body  # cut short; the page has it all

    clear(db)
    world["concern"].status = S.SUBMITTED
    step(world, "reject", note="内部：重复投诉", public=False)
    [row] = rows(db)
    assert "重复投诉" not in row.body and world["concern"].tracking_code in row.body


def test_confirm_asks_the_resident_to_rate_by_the_deadline(db, world):
    to(world, S.REPLIED)
    clear(db)
    step(world, "confirm")
    [row] = rows(db)
    concern = world["concern"]
    assert (row.recipient, row.kind) == (RESIDENT, "concern.confirmed")
    assert to_local(concern.due_at).strftime("%Y-%m-%d") in row.body
    assert f"http://mashang.test/t/{concern.tracking_code}" in row.body


def test_a_return_tells_the_representative_and_whoever_dispatched_it(db, world):
    to(world, S.DISPATCHED)
    clear(db)
    step(world, "return", note="不属于本单位职责")
    assert [(r.recipient, r.kind) for r in rows(db)] == [
        ("rep@example.org", "concern.returned"),
        ("13700137000", "concern.returned"),
    ]


def test_a_dissatisfied_rating_reopens_and_tells_the_representative_and_the_unit(db, world):
    to(world, S.CONFIRMED)
    clear(db)
    flow.rate(world["concern"], Rating.DISSATISFIED, Rating.SATISFIED, "路灯还是不亮")
    assert world["concern"].status == S.DISPATCHED
    assert [(r.recipient, r.kind) for r in rows(db)] == [
        ("rep@example.org", "concern.reopened"),
        ("handler@example.org", "concern.reopened"),
        ("13900139001", "concern.reopened"),
    ]


def test_merge_and_on_the_spot_resolution_tell_the_resident(db, world):
    other = factories.concern(station_obj=world["concern"].station)
    step(world, "accept")
    clear(db)
    step(world, "resolve")
    assert [(r.recipient, r.kind) for r in rows(db)] == [(RESIDENT, "concern.resolved")]

    second = factories.concern(station_obj=other.station, contact_mobile="13800138111", consent_at=utcnow())
    clear(db)
    flow.transition(second, "merge", role=Role.STATION_MANAGER, actor=world["manager"], note="重复", merge_into=other)
    [row] = rows(db)
    assert (row.recipient, row.kind) == ("13800138111", "concern.merged")
    assert other.tracking_code not in row.body  # the other resident's code is theirs alone


def test_a_public_reply_reaches_the_resident_and_an_internal_note_nobody(db, world):
    concern = world["concern"]
    flow.add_note(concern, "已联系供电所", role=Role.REPRESENTATIVE, actor=world["rep"].user, public=False)
    assert rows(db) == []
    flow.add_note(concern, "已联系供电所，本周内修复", role=Role.REPRESENTATIVE, actor=world["rep"].user, public=True)
    [row] = rows(db)
    assert (row.recipient, row.kind) == (RESIDENT, "concern.commented")


def test_rows_go_with_the_change_when_it_is_rolled_back_or_refused(db, world):
    db.session.commit()
    concern_id = world["concern"].id
    step(world, "accept")
    assert len(rows(db)) == 1
    db.session.rollback()
    assert rows(db) == [] and world["concern"].status == S.SUBMITTED

    with pytest.raises(TransitionRefused):
        step(world, "reply")  # not allowed from submitted
    with pytest.raises(TransitionRefused):
        step(world, "reject", note="  ")
    assert rows(db) == []
    assert db.session.get(type(world["concern"]), concern_id).status == S.SUBMITTED


def test_events_nobody_needs_to_hear_about_queue_nothing(db, world):
    to(world, S.CONFIRMED)
    clear(db)
    flow.auto_close_due(utcnow() + timedelta(days=30))
    assert world["concern"].status == S.CLOSED and rows(db) == []
