"""The administrator's account pages (/admin): who may open them, creating an account of
every role with its scope (and its invitation), and switching off, unlocking and sending a
link to set a new password — each leaving an AuditLog row."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import AccountLink, AuditLog, Outbox, User, utcnow
from models.enums import RegionLevel, RepLevel, Role
from services import auth as auth_service
from services.auth import AuthRefused
from tests import factories
from tests.helpers import login

NEW_PASSWORD = "brand-new-pass-42"
TOKEN_RE = re.compile(r"/account/set-password/([A-Za-z0-9_\-]{43})")
EN = {"Accept-Language": "en"}


def fresh() -> None:
    """End the test's own transaction (a SQLite reader keeps its snapshot) and forget
    what it loaded, so the next read sees what the app committed."""
    _db.session.commit()
    _db.session.expire_all()


def audit(action: str, target: User | None = None) -> list[AuditLog]:
    fresh()
    stmt = sa.select(AuditLog).where(AuditLog.action == action)
    if target is not None:
        stmt = stmt.where(AuditLog.target_type == "user", AuditLog.target_id == target.id)
    return list(_db.session.scalars(stmt))


def error_of(html: str, field_id: str) -> str:
    """The text of the error list the form macro renders beside a field ('' if none)."""
    match = re.search(rf'<ul class="errors" id="{field_id}-err"[^>]*>(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def error_fields(html: str) -> set[str]:
    return set(re.findall(r'<ul class="errors" id="([\w-]+)-err"', html))


def listed(html: str) -> dict[str, str]:
    """The accounts in the list: display name → the text of its item."""
    block = re.search(r'<ul class="accounts">(.*?)</ul>', html, re.S)
    if block is None:
        return {}
    items = re.findall(r'<li[^>]*>\s*<a class="name"[^>]*>([^<]+)</a>(.*?)</li>', block.group(1), re.S)
    return {name: re.sub(r"<[^>]+>", " ", rest) for name, rest in items}


def fetch(user_id: int) -> User:
    fresh()
    return _db.session.get(User, user_id)


@pytest.fixture
def world(db):
    province = factories.region("410000", "河南省", RegionLevel.PROVINCE)
    city = factories.region("411600", "周口市", RegionLevel.CITY, parent=province)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    a = factories.station(region=county, name="项城市防水行业联络站")
    b = factories.station(region=county, name="花园街道联络站")
    unit = factories.unit(name="项城市住房和城乡建设局", region_obj=county)
    admin = factories.user(Role.ADMIN, username="root", display_name="系统管理员")
    db.session.commit()
    return {"city": city, "county": county, "a": a, "b": b, "unit": unit, "admin": admin}


@pytest.fixture
def admin_client(client, world):
    login(client, world["admin"])
    return client


def base_form(role: str, **extra) -> dict:
    data = {
        "username": f"new_{role}",
        "display_name": "李娜",
        "mobile": "",
        "role": role,
    }
    data.update(extra)
    return data


def new_user(username: str) -> User:
    fresh()
    return _db.session.scalar(sa.select(User).where(User.username == username))


# --- who may open the pages ------------------------------------------------------------


def admin_urls(target_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/"),
        ("GET", "/admin/users"),
        ("GET", "/admin/users/new"),
        ("POST", "/admin/users/new"),
        ("GET", f"/admin/users/{target_id}"),
        ("POST", f"/admin/users/{target_id}/active"),
        ("POST", f"/admin/users/{target_id}/unlock"),
        ("POST", f"/admin/users/{target_id}/contact"),
        ("POST", f"/manage/accounts/{target_id}/invite"),
        ("POST", f"/manage/accounts/{target_id}/reset-link"),
    ]


def test_anonymous_is_sent_to_the_login_page(client, world):
    for method, url in admin_urls(world["admin"].id):
        resp = client.open(url, method=method, data={"active": "0", "new_password": NEW_PASSWORD})
        assert resp.status_code == 302, url
        assert resp.headers["Location"].startswith("/login"), url
    assert fetch(world["admin"].id).active
    assert not audit("account.switched_off")


@pytest.mark.parametrize("role", [Role.REPRESENTATIVE, Role.STATION_MANAGER, Role.CONGRESS_STAFF, Role.UNIT_HANDLER])
def test_other_roles_are_refused(client, world, role):
    kw = {
        Role.CONGRESS_STAFF: {"region": world["city"]},
        Role.UNIT_HANDLER: {"unit": world["unit"]},
        Role.STATION_MANAGER: {"managed_stations": [world["a"]]},
    }.get(role, {})
    someone = factories.user(role, **kw)
    login(client, someone)
    target = world["admin"]
    for method, url in admin_urls(target.id):
        resp = client.open(url, method=method, data={"active": "0", "new_password": NEW_PASSWORD, **base_form("admin")})
        assert resp.status_code == 403, url
    target = fetch(target.id)
    assert target.active and target.session_version == 0
    assert new_user("new_admin") is None
    assert not _db.session.scalars(sa.select(AuditLog)).all()


def test_a_switched_off_administrator_is_signed_out(client, world):
    login(client, world["admin"])
    world["admin"].active = False
    _db.session.commit()
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_admin_pages_need_csrf(client, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    other = factories.user(Role.REPRESENTATIVE)
    login(client, world["admin"])
    for url in (f"/admin/users/{other.id}/active", f"/admin/users/{other.id}/unlock"):
        assert client.post(url, data={"active": "0"}).status_code == 400
    other.mobile = "13900007777"
    _db.session.commit()
    assert client.post(f"/manage/accounts/{other.id}/reset-link").status_code == 400
    assert client.post(f"/manage/accounts/{other.id}/invite").status_code == 400
    assert not audit("account.reset_sent") and not audit("account.invited")
    assert client.post("/admin/users/new", data=base_form("admin")).status_code in (400, 422)
    assert fetch(other.id).active
    assert new_user("new_admin") is None


# --- the list --------------------------------------------------------------------------


def test_list_shows_role_scope_and_state(admin_client, world, db):
    rep = factories.representative(stations=[world["a"]], name="黄春燕", level=RepLevel.PROVINCIAL)
    manager = factories.user(
        Role.STATION_MANAGER, username="xc_manager", display_name="孟凡平", managed_stations=[world["b"]]
    )
    staff = factories.user(Role.CONGRESS_STAFF, username="zk_staff", display_name="刘晓梅", region=world["city"])
    handler = factories.user(Role.UNIT_HANDLER, username="xc_housing", display_name="赵鹏", unit=world["unit"])
    manager.active = False
    handler.locked_until = utcnow() + timedelta(minutes=10)
    rep.user.mobile = "13812345678"
    db.session.commit()

    html = admin_client.get("/admin/users", headers=EN).get_data(as_text=True)
    for name in ("黄春燕", "孟凡平", "刘晓梅", "赵鹏", "系统管理员"):
        assert name in html
    assert "Provincial people&#39;s congress deputy" in html and "项城市防水行业联络站" in html  # rep's scope
    assert "花园街道联络站" in html  # manager's station
    assert "河南省 周口市" in html  # staff's region
    assert "项城市住房和城乡建设局" in html  # handler's unit
    assert "138****5678" in html and "13812345678" not in html
    items = listed(html)
    assert "Switched off" in items["孟凡平"]
    assert "Locked until" in items["赵鹏"]
    assert "Switched off" not in items["刘晓梅"] and "Locked" not in items["刘晓梅"]
    assert f'href="/admin/users/{staff.id}"' in html


def test_list_filters_by_role_and_searches(admin_client, world, db):
    factories.representative(stations=[world["a"]], name="黄春燕")
    factories.user(Role.CONGRESS_STAFF, username="zk_staff", display_name="刘晓梅", region=world["city"])
    factories.user(
        Role.CONGRESS_STAFF, username="xc_staff", display_name="陈磊", region=world["county"], mobile="13900001111"
    )
    db.session.commit()

    html = admin_client.get("/admin/users?role=congress_staff").get_data(as_text=True)
    assert set(listed(html)) == {"刘晓梅", "陈磊"}
    assert 'href="/admin/users?role=congress_staff" aria-current="page"' in html

    html = admin_client.get("/admin/users?role=representative").get_data(as_text=True)
    assert set(listed(html)) == {"黄春燕"}

    html = admin_client.get("/admin/users?role=nonsense").get_data(as_text=True)
    assert set(listed(html)) == {"黄春燕", "刘晓梅", "陈磊", "系统管理员"}  # an unknown role shows all

    assert set(listed(admin_client.get("/admin/users?q=ZK_").get_data(as_text=True))) == {"刘晓梅"}
    assert set(listed(admin_client.get("/admin/users?q=139 0000 1111").get_data(as_text=True))) == {"陈磊"}
    assert set(listed(admin_client.get("/admin/users?q=陈").get_data(as_text=True))) == {"陈磊"}
    html = admin_client.get("/admin/users?role=representative&q=ZK_").get_data(as_text=True)
    assert listed(html) == {}


def test_list_pages_through_many_accounts(admin_client, world, db):
    for i in range(auth_service.PAGE_SIZE + 5):
        factories.user(Role.REPRESENTATIVE, username=f"rep{i:03d}", display_name=f"代表{i:03d}")
    db.session.commit()
    first = admin_client.get("/admin/users?role=representative").get_data(as_text=True)
    assert len(listed(first)) == auth_service.PAGE_SIZE
    assert "代表054" in listed(first) and "代表004" not in listed(first)  # newest first
    more = re.search(r'href="(/admin/users\?[^"]*before=\d+)"', first).group(1).replace("&amp;", "&")
    assert "role=representative" in more
    second = admin_client.get(more).get_data(as_text=True)
    assert set(listed(second)) == {f"代表{i:03d}" for i in range(5)}
    assert "before=" not in second


# --- creating accounts of every role ----------------------------------------------------


def test_new_account_form_offers_every_role_and_scope(admin_client, world):
    html = admin_client.get("/admin/users/new", headers=EN).get_data(as_text=True)
    for role in Role:
        assert f'<option value="{role.value}"' in html
    for level in RepLevel:
        assert f'<option value="{level.value}"' in html
    for name in ("username", "display_name", "mobile", "role", "region", "unit", "stations", "level"):
        assert f'name="{name}"' in html
    # Staff never type anyone's password: the person sets their own through the invitation.
    assert 'type="password"' not in html and 'name="password"' not in html
    assert (
        'name="stations" multiple' in html
        or re.search(r'<select[^>]*multiple[^>]*name="stations"', html)
        or (re.search(r'<select[^>]*name="stations"[^>]*multiple', html))
    )
    assert "项城市防水行业联络站" in html and "项城市住房和城乡建设局" in html and "周口市" in html
    # ?role= preselects the role (the list's "New account" keeps its filter)
    html = admin_client.get("/admin/users/new?role=unit_handler").get_data(as_text=True)
    assert '<option selected value="unit_handler">' in html or '<option value="unit_handler" selected>' in html


def test_create_representative(admin_client, world):
    a, b = world["a"], world["b"]
    data = base_form(
        "representative",
        username="rep_huang",
        display_name="黄春燕",
        mobile="+86 138 1234 5678",
        stations=[str(a.id), str(b.id)],
        level="provincial",
        delegation="周口市代表团",
        occupation="农业合作社理事长",
    )
    resp = admin_client.post("/admin/users/new", data=data)
    assert resp.status_code == 303
    user = new_user("rep_huang")
    assert resp.headers["Location"] == f"/admin/users/{user.id}"
    assert user.role == Role.REPRESENTATIVE and user.mobile == "13812345678"
    assert user.display_name == "黄春燕"
    rep = user.representative
    assert rep.level == RepLevel.PROVINCIAL
    assert rep.delegation == "周口市代表团" and rep.occupation == "农业合作社理事长"
    assert {s.id for s in rep.stations} == {a.id, b.id}
    assert user.region_id is None and user.unit_id is None and user.managed_stations == []
    # No password yet: nobody can sign in to it until the person sets one.
    assert user.password_hash == "" and not user.has_password
    with pytest.raises(AuthRefused) as refused:
        auth_service.authenticate("138 1234 5678", "")
    assert refused.value.details["reason"] == "no_password"
    [entry] = audit("account.created", user)
    assert entry.actor_id == world["admin"].id and entry.data["role"] == "representative"
    assert entry.data["password"] is False
    # ... and the invitation went out in the same step, by SMS to the mobile number.
    [invited] = audit("account.invited", user)
    assert invited.actor_id == world["admin"].id and invited.data == {"channel": "sms", "to": "138****5678"}
    [row] = _db.session.scalars(sa.select(Outbox)).all()
    assert (row.channel, row.recipient, row.kind) == ("sms", "13812345678", "account.invite")
    assert "项城市" in row.body and "黄春燕" in row.body  # the congress of the stations' county, by name
    assert TOKEN_RE.search(row.body)
    [link] = _db.session.scalars(sa.select(AccountLink)).all()
    assert link.user_id == user.id and link.purpose == "invite" and link.channel == "sms"


def test_create_representative_without_stations(admin_client, world):
    resp = admin_client.post("/admin/users/new", data=base_form("representative", level="township"))
    assert resp.status_code == 303
    user = new_user("new_representative")
    assert user.representative.level == RepLevel.TOWNSHIP and user.representative.stations == []


def test_an_account_with_no_contact_is_created_and_the_page_says_no_invitation_went(admin_client, world):
    resp = admin_client.post("/admin/users/new", data=base_form("admin"), headers=EN, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "no invitation was sent" in html and "neither mobile number nor e-mail" in html
    user = new_user("new_admin")
    assert user is not None and user.password_hash == ""
    assert not audit("account.invited") and not _db.session.scalars(sa.select(Outbox)).all()


def test_a_forged_password_field_is_ignored(admin_client, world):
    data = base_form("admin", password="correct-horse-7", email="li@example.org")
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = new_user("new_admin")
    assert user.password_hash == ""
    [row] = _db.session.scalars(sa.select(Outbox)).all()
    assert (row.channel, row.recipient) == ("email", "li@example.org")
    assert row.subject and TOKEN_RE.search(row.body)


def test_create_station_manager(admin_client, world):
    a, b = world["a"], world["b"]
    data = base_form("station_manager", stations=[str(a.id), str(b.id)])
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = new_user("new_station_manager")
    assert user.role == Role.STATION_MANAGER
    assert {s.id for s in user.managed_stations} == {a.id, b.id}
    assert user.representative is None and user.region_id is None and user.unit_id is None
    assert audit("account.created", user)


def test_create_congress_staff(admin_client, world):
    data = base_form("congress_staff", region=str(world["city"].id))
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = new_user("new_congress_staff")
    assert user.role == Role.CONGRESS_STAFF and user.region_id == world["city"].id
    assert user.unit_id is None and user.managed_stations == [] and user.representative is None
    assert audit("account.created", user)


def test_create_unit_handler(admin_client, world):
    data = base_form("unit_handler", unit=str(world["unit"].id))
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = new_user("new_unit_handler")
    assert user.role == Role.UNIT_HANDLER and user.unit_id == world["unit"].id
    assert user.region_id is None and user.managed_stations == []
    assert audit("account.created", user)


def test_create_admin(admin_client, world):
    assert admin_client.post("/admin/users/new", data=base_form("admin")).status_code == 303
    user = new_user("new_admin")
    assert user.role == Role.ADMIN and user.region_id is None and user.unit_id is None
    assert audit("account.created", user)


def test_an_account_is_given_an_email_address_and_contact_details_can_change(admin_client, world, db):
    data = base_form("unit_handler", unit=str(world["unit"].id), email=" zhang@zhujian.example.gov.cn ")
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = new_user("new_unit_handler")
    assert user.email == "zhang@zhujian.example.gov.cn"
    resp = admin_client.post(f"/admin/users/{user.id}/contact", data={"email": "nope", "mobile": ""}, headers=EN)
    assert resp.status_code == 422 and "name@example.org" in error_of(resp.get_data(as_text=True), "email")
    resp = admin_client.post(f"/admin/users/{user.id}/contact", data={"email": "", "mobile": "139 0000 2222"})
    assert resp.status_code == 303
    user = fetch(user.id)
    assert (user.email, user.mobile) == (None, "13900002222")
    [entry] = audit("account.contact_changed", user)
    assert "13900002222" not in str(entry.data)  # the log says what changed, not the number


def test_scope_fields_of_other_roles_are_ignored(admin_client, world):
    """Without JavaScript every scope field is on the page; only the chosen role's count."""
    data = base_form(
        "unit_handler",
        unit=str(world["unit"].id),
        region=str(world["city"].id),
        stations=[str(world["a"].id)],
        level="county",
        occupation="律师",
    )
    assert admin_client.post("/admin/users/new", data=data).status_code == 303
    user = new_user("new_unit_handler")
    assert user.unit_id == world["unit"].id
    assert user.region_id is None and user.managed_stations == [] and user.representative is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"role": "congress_staff"}, "region", "Congress staff need the region"),
        ({"role": "unit_handler"}, "unit", "needs its unit"),
        ({"role": "station_manager"}, "stations", "at least one station"),
        ({"role": "representative"}, "level", "level of their congress"),
        ({"role": "admin", "username": "taken_one"}, "username", "already taken"),
        ({"role": "admin", "username": "13812345678"}, "username", "starting with a letter"),
        ({"role": "admin", "username": "with space"}, "username", "starting with a letter"),
        ({"role": "admin", "mobile": "12345"}, "mobile", "11-digit"),
        ({"role": "admin", "mobile": "13900001111"}, "mobile", "already uses this mobile"),
        ({"role": "admin", "email": "not-an-address"}, "email", "name@example.org"),
        ({"role": "admin", "display_name": "名" * 61}, "display_name", "60 characters"),
        ({"role": "representative", "level": "county", "occupation": "x" * 121}, "occupation", "120"),
        ({"role": ""}, "role", "choose a role"),
        ({"role": "emperor"}, "role", "choose a role"),
        ({"role": "admin", "username": ""}, "username", "starting with a letter"),
        ({"role": "admin", "display_name": " "}, "display_name", "fill this in"),
        ({"role": "station_manager", "stations": ["999999"]}, "stations", "from the list"),
    ],
)
def test_refusals_are_shown_beside_their_field(admin_client, world, db, data, field, message):
    factories.user(Role.ADMIN, username="taken_one", mobile="13900001111")
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    form = base_form(data["role"] or "admin")
    form.update(data)
    resp = admin_client.post("/admin/users/new", data=form, headers=EN)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert error_fields(html) == {field}, error_fields(html)
    assert message.lower() in error_of(html, field).lower()
    assert "The account was not created" in html
    # what was typed is still there
    if form.get("display_name") and field != "display_name":
        assert form["display_name"] in html
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before
    assert not audit("account.created")


def test_refusals_follow_the_visitors_language(admin_client, world):
    """The messages are msgids; with Chinese asked for they go through the zh_Hans catalogue
    (compared with gettext itself, so this holds while the catalogue is being filled)."""
    from flask_babel import force_locale, gettext

    resp = admin_client.post("/admin/users/new", data=base_form("congress_staff"), headers={"Accept-Language": "zh-CN"})
    with force_locale("zh_Hans"):
        expected = gettext("Congress staff need the region they look after.")
    assert error_of(resp.get_data(as_text=True), "region") == expected
    assert '<html lang="zh-CN">' in resp.get_data(as_text=True)


# --- switching off and on, unlocking, resetting -----------------------------------------


def test_switch_off_and_on(admin_client, world, client, app):
    user = factories.user(Role.REPRESENTATIVE, username="wang")
    _db.session.commit()
    other = app.test_client()
    login(other, user)
    assert other.get("/account/password").status_code == 200

    resp = admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/admin/users/{user.id}"
    user = fetch(user.id)
    assert not user.active and user.session_version == 1
    assert other.get("/account/password").status_code == 302  # signed out at once
    [entry] = audit("account.switched_off", user)
    assert entry.actor_id == world["admin"].id
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "Switched off" in html and "Switch this account on again" in html

    # repeating the same switch changes nothing and writes nothing
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    assert len(audit("account.switched_off", user)) == 1

    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert fetch(user.id).active
    assert len(audit("account.switched_on", user)) == 1
    assert auth_service.authenticate("wang", "secret-pass").id == user.id


def test_an_administrator_cannot_switch_off_themselves(admin_client, world):
    admin = world["admin"]
    resp = admin_client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True, headers=EN)
    assert "You cannot switch off your own account." in resp.get_data(as_text=True)
    assert fetch(admin.id).active
    assert not audit("account.switched_off")


def test_unlock(admin_client, world, db):
    user = factories.user(Role.STATION_MANAGER, username="locked_one", managed_stations=[world["a"]])
    user.locked_until = utcnow() + timedelta(minutes=12)
    user.failed_logins = 0
    db.session.commit()
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "Locked until" in html and f'action="/admin/users/{user.id}/unlock"' in html

    resp = admin_client.post(f"/admin/users/{user.id}/unlock")
    assert resp.status_code == 303
    user = fetch(user.id)
    assert user.locked_until is None and user.failed_logins == 0
    [entry] = audit("account.unlocked", user)
    assert entry.actor_id == world["admin"].id and entry.data["was_locked"] is True
    assert auth_service.authenticate("locked_one", "secret-pass").id == user.id
    # the history reads as what happened, in Chinese too
    history = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "已解锁" in history and "未锁定" not in history


def test_unlock_clears_the_count_of_wrong_passwords(admin_client, world, db):
    user = factories.user(Role.REPRESENTATIVE, username="fumbler")
    user.failed_logins = 3
    db.session.commit()
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "3 wrong passwords" in html
    admin_client.post(f"/admin/users/{user.id}/unlock")
    assert fetch(user.id).failed_logins == 0
    assert audit("account.unlocked", user)[0].data == {"failures": 3, "was_locked": False}


def test_a_link_to_set_a_new_password(admin_client, world, app, db):
    """The administrator never types the password: a link goes to the person, who sets it."""
    user = factories.user(Role.CONGRESS_STAFF, username="xc_staff", region=world["county"], mobile="13900003333")
    user.locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    other = app.test_client()
    login(other, user)
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert f'action="/manage/accounts/{user.id}/reset-link"' in html and "Send a link to set a new password" in html

    resp = admin_client.post(
        f"/manage/accounts/{user.id}/reset-link", data={"next": f"/admin/users/{user.id}"}, headers=EN
    )
    assert resp.status_code == 303 and resp.headers["Location"] == f"/admin/users/{user.id}"
    [entry] = audit("account.reset_sent", user)
    assert entry.actor_id == world["admin"].id and entry.data == {"channel": "sms", "to": "139****3333"}
    # Until the link is used, nothing changes: the old password works, the session goes on.
    assert fetch(user.id).session_version == 0
    assert other.get("/account/password").status_code == 200
    [row] = _db.session.scalars(sa.select(Outbox)).all()
    token = TOKEN_RE.search(row.body).group(1)
    assert row.recipient == "13900003333" and row.kind == "account.reset"
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "Link to set a new password sent" in html  # the account's history

    phone = app.test_client()  # the person's own phone
    resp = phone.post(f"/account/set-password/{token}", data={"new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert resp.status_code == 303
    user = fetch(user.id)
    assert user.session_version == 1 and user.locked_until is None
    assert other.get("/account/password").status_code == 302  # that session has ended
    assert auth_service.authenticate("xc_staff", NEW_PASSWORD).id == user.id
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "Password set through a link" in html


def test_a_link_cannot_go_to_an_account_nobody_can_reach(admin_client, world, db):
    user = factories.user(Role.REPRESENTATIVE, username="wang")
    db.session.commit()
    html = admin_client.get(f"/admin/users/{user.id}", headers=EN).get_data(as_text=True)
    assert "add one so that a link can be sent" in html and "/reset-link" not in html
    resp = admin_client.post(f"/manage/accounts/{user.id}/reset-link", headers=EN, follow_redirects=True)
    assert "neither a mobile number nor an e-mail address" in resp.get_data(as_text=True)
    assert fetch(user.id).session_version == 0
    assert not audit("account.reset_sent") and not _db.session.scalars(sa.select(AccountLink)).all()


def test_unknown_account_is_404(admin_client, world):
    assert admin_client.get("/admin/users/999999").status_code == 404
    assert admin_client.post("/admin/users/999999/unlock").status_code == 404


def test_every_admin_action_leaves_a_trace(admin_client, world):
    """Create, switch off, switch on, unlock, reset: one AuditLog row each, by the admin."""
    data = base_form("congress_staff", region=str(world["city"].id), mobile="13900004444")
    admin_client.post("/admin/users/new", data=data)
    user = new_user("new_congress_staff")
    for url, data in (
        (f"/admin/users/{user.id}/active", {"active": "0"}),
        (f"/admin/users/{user.id}/active", {"active": "1"}),
        (f"/admin/users/{user.id}/unlock", {}),
        (f"/manage/accounts/{user.id}/invite", {}),
        (f"/manage/accounts/{user.id}/reset-link", {}),
    ):
        assert admin_client.post(url, data=data).status_code == 303
    fresh()
    rows = _db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()
    assert [r.action for r in rows] == [
        "account.created",
        "account.invited",
        "account.switched_off",
        "account.switched_on",
        "account.unlocked",
        "account.invite_resent",
        "account.reset_sent",
    ]
    assert {(r.actor_id, r.target_type, r.target_id) for r in rows} == {(world["admin"].id, "user", user.id)}


def test_every_wrong_field_is_marked_at_once(admin_client, world, db):
    factories.user(Role.ADMIN, username="taken_one")
    db.session.commit()
    data = base_form("station_manager", username="taken_one", mobile="12345", display_name="")
    resp = admin_client.post("/admin/users/new", data=data, headers=EN)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    # all found by the service in one go
    assert error_fields(html) == {"display_name", "username", "mobile", "stations"}
    assert "already taken" in error_of(html, "username")
    assert "11-digit" in error_of(html, "mobile")
    assert "at least one station" in error_of(html, "stations")
    assert "fill this in" in error_of(html, "display_name").lower()
