"""services.account_links: invitations and new-password links — sending, resending and
revoking, expiry, single use, forged tokens, "forgot password" and its limit, the message
in the outbox and the link in it, and where an account stands."""

import hashlib
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from extensions import db as _db
from models import AccountLink, AuditLog, Outbox, User, UserSession, utcnow
from models.enums import RegionLevel, Role
from services import account_links as links
from services import auth as auth_service
from services import outbox, sessions
from services.account_links import LinkRefused
from services.auth import AuthRefused
from tests import factories

T0 = utcnow().replace(microsecond=0)
NEW = "my-own-pass-2026"
TOKEN_RE = re.compile(r"http://mashang\.test/account/set-password/([A-Za-z0-9_\-]{43})$")


def token_of(row: Outbox) -> str:
    """The token in a message: the last thing in an SMS, on the first line of an e-mail."""
    found = [TOKEN_RE.search(line) for line in row.body.splitlines()]
    [match] = [m for m in found if m]
    return match.group(1)


def rows() -> list[Outbox]:
    return list(_db.session.scalars(sa.select(Outbox).order_by(Outbox.id)))


def audit(action: str) -> list[AuditLog]:
    return list(_db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


@pytest.fixture
def world(db):
    province = factories.region("410000", "河南省", RegionLevel.PROVINCE)
    city = factories.region("411600", "周口市", RegionLevel.CITY, parent=province)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    town = factories.region("411681100", "花园街道", RegionLevel.TOWNSHIP, parent=county)
    station = factories.station(region=town, name="花园街道联络站")
    staff = factories.user(Role.CONGRESS_STAFF, username="zk_staff", region=city)
    rep = factories.representative(stations=[station], name="王建军")
    rep.user.username = "rep_wang"
    rep.user.mobile = "13812345678"
    rep.user.password_hash = ""
    db.session.commit()
    return {"county": county, "city": city, "station": station, "staff": staff, "rep": rep.user}


# --- invitations ----------------------------------------------------------------------------------


def test_an_invitation_is_an_sms_with_a_link_whose_token_only_the_message_holds(world, db):
    staff, rep = world["staff"], world["rep"]
    link = links.invite(staff, rep, now=T0)
    db.session.commit()
    assert (link.purpose, link.channel, link.created_by_id) == ("invite", "sms", staff.id)
    assert link.expires_at == T0 + timedelta(days=links.INVITE_DAYS)
    [row] = rows()
    assert (row.channel, row.recipient, row.kind, row.concern_id) == ("sms", "13812345678", "account.invite", None)
    # Named after the staff member's congress, addressed to the person, the link last.
    assert "周口市" in row.body and "王建军" in row.body
    token = token_of(row)
    assert len(token) == 43 and token not in link.token_hash
    assert link.token_hash == hashlib.sha256(f"account-link:{token}".encode()).hexdigest()
    assert links.check(token, T0).id == link.id
    [entry] = audit("account.invited")
    assert (entry.actor_id, entry.target_id) == (staff.id, rep.id)
    assert entry.data == {"channel": "sms", "to": "138****5678"}
    assert "13812345678" not in str(entry.data)


def test_an_email_when_there_is_no_mobile(world, db):
    rep = world["rep"]
    rep.mobile, rep.email = None, "wang@example.org"
    link = links.invite(world["staff"], rep, now=T0)
    [row] = rows()
    assert link.channel == "email" and (row.channel, row.recipient) == ("email", "wang@example.org")
    assert row.subject and links.check(token_of(row), T0).id == link.id


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"mobile": None, "email": None}, "no_contact"),
        ({"active": False}, "inactive"),
        ({"password_hash": auth_service.hash_password("already-chosen-1")}, "already_has_password"),
    ],
)
def test_invitation_refusals(world, db, change, code):
    rep = world["rep"]
    for key, value in change.items():
        setattr(rep, key, value)
    with pytest.raises(LinkRefused) as refused:
        links.invite(world["staff"], rep, now=T0)
    assert refused.value.code == code
    assert not rows() and not db.session.scalars(sa.select(AccountLink)).all() and not audit("account.invited")


def test_sending_again_ends_the_earlier_link(world, db):
    staff, rep = world["staff"], world["rep"]
    first = links.invite(staff, rep, now=T0)
    second = links.invite(staff, rep, now=T0 + timedelta(days=2))
    db.session.commit()
    old, new = (token_of(r) for r in rows())
    with pytest.raises(LinkRefused) as refused:
        links.check(old, T0 + timedelta(days=2))
    assert refused.value.code == "revoked"
    assert links.check(new, T0 + timedelta(days=2)).id == second.id
    db.session.refresh(first)
    assert first.revoked_at == T0 + timedelta(days=2)
    assert [e.action for e in db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id))] == [
        "account.invited",
        "account.invite_resent",
    ]


def test_an_invitation_expires(world, db):
    links.invite(world["staff"], world["rep"], now=T0)
    token = token_of(rows()[0])
    assert links.check(token, T0 + timedelta(days=links.INVITE_DAYS, seconds=-1))
    with pytest.raises(LinkRefused) as refused:
        links.check(token, T0 + timedelta(days=links.INVITE_DAYS))
    assert refused.value.code == "expired"
    with pytest.raises(LinkRefused):
        links.use(token, NEW, now=T0 + timedelta(days=30))
    assert not db.session.get(User, world["rep"].id).has_password


def test_a_link_works_once_and_the_person_then_signs_in_by_mobile(world, db):
    rep = world["rep"]
    rep.locked_until, rep.failed_logins = T0 + timedelta(minutes=10), 3
    links.invite(world["staff"], rep, now=T0)
    token = token_of(rows()[0])
    with pytest.raises(AuthRefused) as refused:
        auth_service.authenticate("13812345678", NEW, now=T0)
    assert refused.value.details["reason"] == "no_password"

    user = links.use(token, NEW, now=T0 + timedelta(hours=1))
    db.session.commit()
    assert check_password_hash(user.password_hash, NEW)
    assert user.session_version == 1 and user.locked_until is None and user.failed_logins == 0
    assert user.last_login_at == T0 + timedelta(hours=1)
    assert auth_service.authenticate("138 1234 5678", NEW, now=T0 + timedelta(hours=2)).id == rep.id
    [entry] = audit("account.password_set_via_link")
    assert entry.actor_id == rep.id and entry.data["purpose"] == "invite" and entry.data["first"] is True
    assert NEW not in str(entry.data)

    with pytest.raises(LinkRefused) as refused:
        links.use(token, "another-pass-99", now=T0 + timedelta(hours=2))
    assert refused.value.code == "used"
    assert check_password_hash(db.session.get(User, rep.id).password_hash, NEW)


def test_a_weak_password_is_refused_and_the_link_still_works(world, db):
    links.invite(world["staff"], world["rep"], now=T0)
    token = token_of(rows()[0])
    for weak, code in (("short", "password_too_short"), ("1234567890", "password_too_simple")):
        with pytest.raises(AuthRefused) as refused:
            links.use(token, weak, now=T0)
        assert refused.value.code == code
    assert links.use(token, NEW, now=T0).has_password


def test_setting_the_password_ends_every_session_of_the_account(world, db):
    rep = world["rep"]
    rep.password_hash = auth_service.hash_password("the-old-one-12")
    sessions.start(rep, user_agent="phone", ip="10.0.0.1", now=T0)
    links.send_reset(world["staff"], rep, now=T0)
    links.use(token_of(rows()[0]), NEW, now=T0 + timedelta(minutes=5))
    db.session.commit()
    [record] = db.session.scalars(sa.select(UserSession)).all()
    assert record.revoked_reason == "password_set"


@pytest.mark.parametrize(
    "token",
    ["", "x", "A" * 43, "A" * 42 + "!", "A" * 44, "A" * 5000, "../../etc/passwd", "Ａ" * 43, "A" * 42 + "\x00"],
)
def test_forged_and_unknown_tokens(world, db, token):
    links.invite(world["staff"], world["rep"], now=T0)
    with pytest.raises(LinkRefused) as refused:
        links.check(token, T0)
    assert refused.value.code == "unknown"


def test_a_switched_off_account_cannot_use_its_link_nor_after_it_is_switched_on(world, db):
    admin = factories.user(Role.ADMIN)
    links.invite(world["staff"], world["rep"])
    token = token_of(rows()[0])
    auth_service.set_active(admin, world["rep"], False)
    with pytest.raises(LinkRefused) as refused:
        links.check(token)
    assert refused.value.code == "revoked"
    auth_service.set_active(admin, world["rep"], True)
    with pytest.raises(LinkRefused) as refused:
        links.check(token)
    assert refused.value.code == "revoked"


def test_a_new_mobile_number_ends_the_link_sent_to_the_old_one(world, db):
    links.invite(world["staff"], world["rep"], now=T0)
    token = token_of(rows()[0])
    assert auth_service.set_contact(world["staff"], world["rep"], email=None, mobile="13900001111")
    with pytest.raises(LinkRefused) as refused:
        links.check(token, utcnow())
    assert refused.value.code == "revoked"


def test_the_invitation_names_the_county_congress_above_a_township(world, db):
    """A township people's congress has no standing committee: the county's invites."""
    admin = factories.user(Role.ADMIN)
    assert links.issuer(admin, world["rep"]).name == "项城市"
    assert links.issuer(world["staff"], world["rep"]).name == "周口市"  # the inviting office
    assert links.issuer(admin, admin) is None
    links.invite(admin, world["rep"], now=T0)
    assert "项城市" in rows()[0].body


# --- many at once ---------------------------------------------------------------------------------


def test_invite_many_skips_who_needs_no_invitation(world, db):
    staff, county = world["staff"], world["county"]
    station = world["station"]

    def rep(name: str, **kw) -> User:
        user = factories.representative(stations=[station], name=name).user
        user.password_hash = ""
        for key, value in kw.items():
            setattr(user, key, value)
        return user

    fresh_one = rep("甲", mobile="13800000001")
    waiting = rep("乙", mobile="13800000002")
    by_mail = rep("丙", email="bing@example.org")
    nobody = rep("丁")
    off = rep("戊", mobile="13800000005", active=False)
    has_password = factories.representative(stations=[station], name="己").user
    has_password.mobile = "13800000006"
    links.invite(staff, waiting, now=T0)
    db.session.commit()
    assert county  # the stations' county; the staff member is of the city above

    everyone = [fresh_one, waiting, by_mail, nobody, off, has_password]
    counts = links.invite_many(staff, everyone, T0 + timedelta(hours=1))
    assert (counts.sent, counts.already_invited, counts.no_contact, counts.inactive, counts.has_password) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert {r.recipient for r in rows()} == {"13800000001", "13800000002", "bing@example.org"}

    counts = links.invite_many(staff, everyone, T0 + timedelta(hours=2), resend=True)
    assert counts.sent == 3 and counts.already_invited == 0
    assert len(audit("account.invite_resent")) == 3


# --- forgot password ------------------------------------------------------------------------------


def test_forgot_password_sends_a_short_lived_link_to_the_account(world, db):
    rep = world["rep"]
    rep.password_hash = auth_service.hash_password("forgotten-pass-1")
    link = links.request_reset("１３８ １２３４ ５６７８", now=T0)  # full-width, as some phones type
    assert link is not None and link.purpose == "reset" and link.created_by_id is None
    assert link.expires_at == T0 + timedelta(minutes=links.RESET_MINUTES)
    [row] = rows()
    assert row.recipient == "13812345678" and row.kind == "account.reset" and "60" in row.body
    # the old password works until the link is used
    assert auth_service.authenticate("rep_wang", "forgotten-pass-1", now=T0).id == rep.id
    links.use(token_of(row), NEW, now=T0 + timedelta(minutes=59))
    assert auth_service.authenticate("rep_wang", NEW, now=T0 + timedelta(hours=1)).id == rep.id
    [entry] = audit("account.reset_requested")
    assert entry.actor_id is None and entry.data == {"sent": True, "channel": "sms", "to": "138****5678"}


def test_forgot_password_link_expires_after_an_hour(world, db):
    links.request_reset("rep_wang", now=T0)
    with pytest.raises(LinkRefused) as refused:
        links.check(token_of(rows()[0]), T0 + timedelta(minutes=links.RESET_MINUTES))
    assert refused.value.code == "expired"


@pytest.mark.parametrize("login", ["nobody_here", "13900009999", "", "   ", "x" * 500])
def test_forgot_password_for_an_unknown_login_does_nothing(world, db, login):
    assert links.request_reset(login, now=T0) is None
    assert not rows() and not db.session.scalars(sa.select(AccountLink)).all()


def test_forgot_password_says_nothing_for_accounts_nobody_can_reach(world, db):
    rep = world["rep"]
    rep.mobile = None
    assert links.request_reset("rep_wang", now=T0) is None
    rep.mobile, rep.active = "13812345678", False
    assert links.request_reset("rep_wang", now=T0) is None
    assert not rows()
    assert [e.data["reason"] for e in audit("account.reset_requested")] == ["no_contact", "inactive"]


def test_forgot_password_is_limited_per_account_per_day(world, db):
    for n in range(links.RESETS_PER_DAY):
        assert links.request_reset("rep_wang", now=T0 + timedelta(minutes=n)) is not None
    assert links.request_reset("rep_wang", now=T0 + timedelta(hours=3)) is None
    assert len(rows()) == links.RESETS_PER_DAY
    assert audit("account.reset_requested")[-1].data == {"sent": False, "reason": "limit"}
    # links staff send are not counted against the person
    assert links.send_reset(world["staff"], world["rep"], now=T0 + timedelta(hours=3))
    # a day later, again
    assert links.request_reset("rep_wang", now=T0 + timedelta(days=1, minutes=1)) is not None


# --- where an account stands ----------------------------------------------------------------------


def test_states(world, db):
    staff, rep = world["staff"], world["rep"]
    assert links.state_of(rep, T0).state == "not_invited"
    link = links.invite(staff, rep, now=T0)
    state = links.state_of(rep, T0 + timedelta(hours=1))
    assert (state.state, state.link.id, state.live) == ("invited", link.id, True)
    assert links.state_of(rep, T0 + timedelta(days=8)).state == "invite_expired"
    links.use(token_of(rows()[0]), NEW, now=T0 + timedelta(days=1))
    assert links.state_of(rep, T0 + timedelta(days=1)).state == "active"
    rep.active = False
    assert links.state_of(rep, T0).state == "switched_off"
    other = factories.representative(name="李四").user
    found = links.states([rep, other], T0)
    assert set(found) == {rep.id, other.id} and found[other.id].state == "active"  # the factory's password


# --- the message on its way -----------------------------------------------------------------------


def test_the_demo_log_shows_the_link_and_production_hides_it(world, db, app, caplog):
    links.invite(world["staff"], world["rep"], now=T0)
    db.session.commit()
    token = token_of(rows()[0])
    app.config["OUTBOX_LOG_FULL_BODY"] = True
    with caplog.at_level(logging.INFO):
        assert outbox.deliver_due()["sent"] == 1
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("outbox")]
    assert f"http://mashang.test/account/set-password/{token}" in line and "138****5678" in line

    caplog.clear()
    links.invite(world["staff"], world["rep"], now=utcnow())
    db.session.commit()
    token = token_of(rows()[-1])
    app.config["OUTBOX_LOG_FULL_BODY"] = False
    with caplog.at_level(logging.INFO):
        assert outbox.deliver_due()["sent"] == 1
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("outbox")]
    assert token not in line and "/account/set-password/********" in line
