"""The pages of set-password links: /account/set-password/<token> (whose account, choose a
password, signed in; or why the link no longer works), /login/forgot (always the same
answer, limited), and the back office's buttons: invite one, invite many, a new-password
link — within the sender's scope only."""

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AccountLink, AuditLog, Outbox, User, utcnow
from models.enums import RegionLevel, Role
from services import account_links as links
from services import auth as auth_service
from tests import factories
from tests.helpers import login

EN = {"Accept-Language": "en"}
NEW = "my-own-pass-2026"
TOKEN_RE = re.compile(r"/account/set-password/([A-Za-z0-9_\-]{43})")


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def rows() -> list[Outbox]:
    fresh()
    return list(_db.session.scalars(sa.select(Outbox).order_by(Outbox.id)))


def last_token() -> str:
    return TOKEN_RE.search(rows()[-1].body).group(1)


def expire_links() -> None:
    """Every link made a week and more ago, so it has expired (as if time had passed)."""
    fresh()
    _db.session.execute(
        sa.update(AccountLink).values(created_at=utcnow() - timedelta(days=9), expires_at=utcnow() - timedelta(days=2))
    )
    _db.session.commit()


def signed_in_as(client) -> str | None:
    resp = client.get("/account/password")
    return "signed in" if resp.status_code == 200 else None


@pytest.fixture
def world(db):
    province = factories.region("410000", "河南省", RegionLevel.PROVINCE)
    city = factories.region("411600", "周口市", RegionLevel.CITY, parent=province)
    xiangcheng = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    fugou = factories.region("411621", "扶沟县", RegionLevel.COUNTY, parent=city)
    xc_station = factories.station(region=xiangcheng, name="项城市防水行业联络站")
    fg_station = factories.station(region=fugou, name="扶沟县联络站")
    xc_staff = factories.user(Role.CONGRESS_STAFF, username="xc_staff", region=xiangcheng)
    admin = factories.user(Role.ADMIN, username="root")

    def newcomer(station, name, mobile):
        user = factories.representative(stations=[station], name=name).user
        user.password_hash, user.mobile = "", mobile
        return user

    xc_rep = newcomer(xc_station, "王建军", "13812345678")
    fg_rep = newcomer(fg_station, "李红梅", "13812340000")
    db.session.commit()
    return {"xc_staff": xc_staff, "admin": admin, "xc_rep": xc_rep, "fg_rep": fg_rep, "xc_station": xc_station}


def send_invitation(world, user) -> str:
    """An invitation sent as the service sends it; returns its token (read from the SMS)."""
    links.invite(world["admin"], user)
    _db.session.commit()
    return last_token()


# --- the set-password page ------------------------------------------------------------------------


def test_the_page_says_whose_account_it_is(client, world):
    token = send_invitation(world, world["xc_rep"])
    resp = client.get(f"/account/set-password/{token}", headers=EN)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "王建军" in html and "13812345678" in html and world["xc_rep"].username in html
    assert 'name="new"' in html and 'name="repeat"' in html and 'type="password"' in html
    # a secret address: never cached, never sent on as a referrer
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["Referrer-Policy"] == "no-referrer"
    assert "http://" not in html.split("<body", 1)[1].replace("http://www.w3.org", "")  # nothing from another host


def test_setting_the_password_signs_the_person_in(client, world):
    token = send_invitation(world, world["xc_rep"])
    resp = client.post(f"/account/set-password/{token}", data={"new": NEW, "repeat": NEW}, headers=EN)
    assert resp.status_code == 303 and resp.headers["Location"] == "/me"
    page = client.get("/me", headers=EN).get_data(as_text=True)
    assert "Your password is set" in page and "13812345678" in page
    assert signed_in_as(client)
    # and next time, with the mobile number and that password, through the sign-in form
    client.post("/logout")
    resp = client.post("/login", data={"login": "138 1234 5678", "password": NEW}, headers=EN)
    assert resp.status_code == 302 and signed_in_as(client)
    fresh()
    assert [e.action for e in _db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id))][-1] == (
        "account.password_set_via_link"
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"new": NEW, "repeat": NEW + "x"}, "repeat", "not the same"),
        ({"new": "short", "repeat": "short"}, "new", "too short"),
        ({"new": "1234567890", "repeat": "1234567890"}, "new", "too simple"),
        ({"new": "", "repeat": ""}, "new", "fill this in"),
    ],
)
def test_a_refused_password_keeps_the_link(client, world, data, field, message):
    token = send_invitation(world, world["xc_rep"])
    resp = client.post(f"/account/set-password/{token}", data=data, headers=EN)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    match = re.search(rf'<ul class="errors" id="{field}-err"[^>]*>(.*?)</ul>', html, re.S)
    assert match and message in match.group(1).lower()
    assert "王建军" in html and not signed_in_as(client)
    fresh()
    assert _db.session.get(User, world["xc_rep"].id).password_hash == ""
    assert client.post(f"/account/set-password/{token}", data={"new": NEW, "repeat": NEW}).status_code == 303


def test_a_used_link_says_so(client, world, app):
    token = send_invitation(world, world["xc_rep"])
    assert client.post(f"/account/set-password/{token}", data={"new": NEW, "repeat": NEW}).status_code == 303
    other = app.test_client()
    for resp in (
        other.get(f"/account/set-password/{token}", headers=EN),
        other.post(f"/account/set-password/{token}", data={"new": "hijacked-pass-1", "repeat": "hijacked-pass-1"}),
    ):
        assert resp.status_code == 410
    html = other.get(f"/account/set-password/{token}", headers=EN).get_data(as_text=True)
    assert "already been used" in html and "/login/forgot" in html
    fresh()
    assert auth_service.authenticate("13812345678", NEW).id == world["xc_rep"].id


def test_an_expired_and_a_revoked_link_say_what_to_do(client, world, db):
    token = send_invitation(world, world["xc_rep"])
    expire_links()
    resp = client.get(f"/account/set-password/{token}", headers=EN)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 410 and "expired" in html and "send the invitation again" in html

    older = send_invitation(world, world["fg_rep"])
    send_invitation(world, world["fg_rep"])
    html = client.get(f"/account/set-password/{older}", headers=EN).get_data(as_text=True)
    assert "a newer one has been sent" in html


@pytest.mark.parametrize("token", ["nope", "A" * 43, "A" * 3000, "%00" * 43, "Ａ" * 43])
def test_an_unknown_or_forged_token(client, world, token):
    send_invitation(world, world["xc_rep"])
    resp = client.get(f"/account/set-password/{token}", headers=EN)
    assert resp.status_code in (404, 410)
    assert resp.status_code != 500
    resp = client.post(f"/account/set-password/{token}", data={"new": NEW, "repeat": NEW}, headers=EN)
    assert resp.status_code == 404
    fresh()
    assert _db.session.get(User, world["xc_rep"].id).password_hash == ""


def test_an_account_with_no_password_cannot_sign_in(client, world):
    resp = client.post("/login", data={"login": "13812345678", "password": ""}, headers=EN)
    assert resp.status_code in (200, 401) and not signed_in_as(client)
    resp = client.post("/login", data={"login": "13812345678", "password": "anything-at-all"}, headers=EN)
    assert resp.status_code == 401 and "is not right" in resp.get_data(as_text=True)
    fresh()
    assert _db.session.get(User, world["xc_rep"].id).failed_logins == 0


# --- forgot password ------------------------------------------------------------------------------


def test_the_sign_in_page_leads_to_forgot_password(client, world):
    assert 'href="/login/forgot"' in client.get("/login").get_data(as_text=True)
    assert client.get("/login/forgot").status_code == 200


def test_forgot_password_answers_alike_for_known_and_unknown_logins(client, world, db):
    world["xc_rep"].password_hash = auth_service.hash_password("forgotten-pass-1")
    db.session.commit()
    answers = []
    for typed in ("13812345678", "13900000000", "no_such_user", world["xc_rep"].username):
        resp = client.post("/login/forgot", data={"login": typed}, headers=EN)
        assert resp.status_code == 303
        page = client.get(resp.headers["Location"], headers=EN)
        answers.append((resp.headers["Location"], page.status_code, page.get_data(as_text=True)))
    assert len(set(answers)) == 1
    assert "If an account has this mobile number or username" in answers[0][2]
    assert [r.recipient for r in rows()] == ["13812345678", "13812345678"]
    # the link in the SMS works, and signs the person in
    resp = client.post(f"/account/set-password/{last_token()}", data={"new": NEW, "repeat": NEW})
    assert resp.status_code == 303 and signed_in_as(client)


def test_forgot_password_form_refuses_nothing_typed_and_too_much(client, world):
    resp = client.post("/login/forgot", data={"login": "  "}, headers=EN)
    assert resp.status_code == 422 and "fill this in" in resp.get_data(as_text=True).lower()
    resp = client.post("/login/forgot", data={"login": "1" * 200}, headers=EN)
    assert resp.status_code == 422 and "1" * 200 in resp.get_data(as_text=True)  # kept as typed
    assert not rows()


def test_forgot_password_per_account_limit(client, world):
    for _ in range(links.RESETS_PER_DAY + 2):
        assert client.post("/login/forgot", data={"login": "13812345678"}).status_code == 303
    assert len(rows()) == links.RESETS_PER_DAY


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "FORGOT_RATE_LIMIT": "2 per minute"}])
def test_forgot_password_per_address_limit(client, world):
    addr = {"REMOTE_ADDR": "10.88.0.7"}
    for login_name in ("a_one", "b_two"):
        assert client.post("/login/forgot", data={"login": login_name}, environ_base=addr).status_code == 303
    resp = client.post("/login/forgot", data={"login": "13812345678"}, environ_base=addr, headers=EN)
    assert resp.status_code == 429 and "Too many attempts" in resp.get_data(as_text=True)
    assert not rows()
    other = {"REMOTE_ADDR": "10.88.0.8"}
    assert client.post("/login/forgot", data={"login": "13812345678"}, environ_base=other).status_code == 303


def test_forgot_password_needs_csrf(client, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/login/forgot", data={"login": "13812345678"}).status_code == 400
    token = send_invitation(world, world["xc_rep"])
    assert client.post(f"/account/set-password/{token}", data={"new": NEW, "repeat": NEW}).status_code in (400, 422)
    fresh()
    assert _db.session.get(User, world["xc_rep"].id).password_hash == ""


# --- the back office's buttons --------------------------------------------------------------------


def test_county_staff_invite_their_own_representatives_only(client, world):
    login(client, world["xc_staff"])
    resp = client.post(f"/manage/accounts/{world['xc_rep'].id}/invite", data={"next": "/manage/"}, headers=EN)
    assert resp.status_code == 303 and resp.headers["Location"] == "/manage/"
    [row] = rows()
    assert row.recipient == "13812345678" and "项城市" in row.body
    assert client.post(f"/manage/accounts/{world['fg_rep'].id}/invite").status_code == 403
    assert client.post(f"/manage/accounts/{world['admin'].id}/reset-link").status_code == 403
    assert client.post("/manage/accounts/999999/invite").status_code == 404
    assert len(rows()) == 1


def test_other_roles_cannot_invite(client, world):
    manager = factories.user(Role.STATION_MANAGER, managed_stations=[world["xc_station"]])
    _db.session.commit()
    login(client, manager)
    assert client.post(f"/manage/accounts/{world['xc_rep'].id}/invite").status_code == 403
    assert client.post("/manage/accounts/invite", data={"user_ids": [str(world["xc_rep"].id)]}).status_code == 403
    client.post("/logout")
    resp = client.post(f"/manage/accounts/{world['xc_rep'].id}/invite")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert not rows()


def test_a_next_address_off_the_site_is_ignored(client, world):
    login(client, world["xc_staff"])
    resp = client.post(f"/manage/accounts/{world['xc_rep'].id}/invite", data={"next": "https://evil.example/"})
    assert resp.headers["Location"] == "/manage/"


def test_inviting_someone_who_has_a_password_says_so(client, world, db):
    world["xc_rep"].password_hash = auth_service.hash_password("chosen-already-1")
    db.session.commit()
    login(client, world["xc_staff"])
    resp = client.post(f"/manage/accounts/{world['xc_rep'].id}/invite", headers=EN, follow_redirects=True)
    assert "already set a password" in resp.get_data(as_text=True)
    assert not rows()


def test_bulk_invite(client, world, db):
    station = world["xc_station"]
    more = []
    for n in range(3):
        user = factories.representative(stations=[station], name=f"代表{n}").user
        user.password_hash, user.mobile = "", f"1370000000{n}"
        more.append(user)
    db.session.commit()
    login(client, world["xc_staff"])
    ids = [str(world["xc_rep"].id), *(str(u.id) for u in more), str(more[0].id)]  # a repeat counts once
    resp = client.post("/manage/accounts/invite", data={"user_ids": ids, "next": "/manage/"}, headers=EN)
    assert resp.status_code == 303
    assert len(rows()) == 4
    page = client.get("/manage/", headers=EN).get_data(as_text=True)
    assert "Invitations queued to be sent: 4." in page
    # again: everyone already has a live invitation
    client.post("/manage/accounts/invite", data={"user_ids": ids})
    assert len(rows()) == 4
    client.post("/manage/accounts/invite", data={"user_ids": ids, "resend": "y"})
    assert len(rows()) == 8


@pytest.mark.parametrize(
    ("ids", "status"),
    [
        (["fg"], 403),  # another county's representative, among one's own
        (["99999"], 404),
        (["abc"], 400),
        (["99999999999999999999"], 400),
        ([], 400),
    ],
)
def test_bulk_invite_refuses_forged_forms_whole(client, world, ids, status):
    login(client, world["xc_staff"])
    names = {"fg": str(world["fg_rep"].id)}
    data = {"user_ids": [str(world["xc_rep"].id), *(names.get(i, i) for i in ids)] if ids else []}
    assert client.post("/manage/accounts/invite", data=data).status_code == status
    assert not rows()


def test_bulk_invite_has_a_ceiling(client, world, monkeypatch):
    monkeypatch.setattr("views.manage.accounts.BULK_INVITE_MAX", 1)
    login(client, world["admin"])
    data = {"user_ids": [str(world["xc_rep"].id), str(world["fg_rep"].id)]}
    assert client.post("/manage/accounts/invite", data=data).status_code == 400
    assert not rows()


# --- the account's state, as staff see it ---------------------------------------------------------


def test_the_account_state_partial_on_the_admin_page(client, world, db):
    rep = world["xc_rep"]
    login(client, world["admin"])

    def page() -> str:
        return client.get(f"/admin/users/{rep.id}", headers=EN).get_data(as_text=True)

    html = page()
    assert "No account yet" in html and "Send the invitation" in html
    assert f'action="/manage/accounts/{rep.id}/invite"' in html and f'value="/admin/users/{rep.id}"' in html
    client.post(f"/manage/accounts/{rep.id}/invite", data={"next": f"/admin/users/{rep.id}"})
    html = page()
    assert "Invited" in html and "the link works until" in html and "Send the invitation again" in html
    assert "Invitation sent" in html  # history
    expire_links()
    html = page()
    assert "Invitation expired" in html and "Send a new invitation" in html
    fresh()
    links.invite(world["admin"], rep)
    db.session.commit()
    links.use(last_token(), NEW)
    db.session.commit()
    html = page()
    assert "Active" in html and "Send a link to set a new password" in html
    assert f'action="/manage/accounts/{rep.id}/reset-link"' in html


def test_the_page_says_whether_the_invitation_has_left(client, world, db):
    """Queued is not sent: the page follows the message in the outbox."""
    from models import AccountLink, Outbox
    from models.enums import OutboxStatus

    rep = world["xc_rep"]
    login(client, world["admin"])

    def page() -> str:
        return client.get(f"/admin/users/{rep.id}", headers=EN).get_data(as_text=True)

    done = client.post(f"/manage/accounts/{rep.id}/invite", data={"next": f"/admin/users/{rep.id}"})
    assert done.status_code == 303
    assert "Waiting to go out by SMS" in page()
    fresh()
    link = db.session.scalars(sa.select(AccountLink).where(AccountLink.user_id == rep.id)).one()
    assert link.message is not None and link.message.kind == "account.invite"

    db.session.execute(sa.update(Outbox).where(Outbox.id == link.message_id).values(status=OutboxStatus.FAILED))
    db.session.commit()
    html = page()
    assert "Invitation not delivered" in html and "Waiting to go out" not in html

    sent_at = datetime(2026, 3, 2, 1, 5)  # 09:05 in Beijing
    db.session.execute(
        sa.update(Outbox).where(Outbox.id == link.message_id).values(status=OutboxStatus.SENT, sent_at=sent_at)
    )
    db.session.commit()
    html = page()
    assert "Sent 2026-03-02 09:05 by SMS" in html and "not delivered" not in html


def test_setting_a_password_on_a_colleagues_phone_signs_the_colleague_out(client, world):
    from models import UserSession

    login(client, world["xc_staff"])
    token = send_invitation(world, world["xc_rep"])
    assert client.post(f"/account/set-password/{token}", data={"new": NEW, "repeat": NEW}).status_code == 303
    fresh()
    staff_sessions = _db.session.scalars(sa.select(UserSession).where(UserSession.user_id == world["xc_staff"].id))
    assert [s.revoked_reason for s in staff_sessions] == ["signed_out"]
    assert client.get("/me").status_code == 200  # the representative's page: signed in as them
