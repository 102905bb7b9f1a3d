"""`flask create-user` and `flask duty close-stale`, through Flask's CLI runner."""

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from extensions import db as _db
from models import AuditLog, Duty, User, utcnow
from models.enums import DutyMethod, DutyStatus, RegionLevel, RepLevel, Role
from tests import factories

PASSWORD = "correct-horse-7"


def fresh() -> None:
    _db.session.commit()
    _db.session.expire_all()


def find(username: str) -> User | None:
    fresh()
    return _db.session.scalar(sa.select(User).where(User.username == username))


def users() -> int:
    fresh()
    return _db.session.scalar(sa.select(sa.func.count()).select_from(User))


@pytest.fixture
def world(db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    a = factories.station(region=county, code="XCFS2024")
    b = factories.station(region=county, code="XCHY2024")
    unit = factories.unit(name="项城市人民法院", region_obj=county)
    db.session.commit()
    return {"city": city, "county": county, "a": a, "b": b, "unit": unit}


def create(runner, *args, password: str | None = PASSWORD, stdin: bool = True):
    argv = ["create-user", *args]
    if stdin:
        argv.append("--password-stdin")
        return runner.invoke(args=argv, input=f"{password}\n")
    return runner.invoke(args=argv, input=f"{password}\n{password}\n")


# --- create-user -----------------------------------------------------------------------


def test_prompts_for_the_password_twice_without_showing_it(runner, world):
    result = create(runner, "admin2", "--role", "admin", "--name", "第二管理员", stdin=False)
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output
    assert "Created admin 'admin2'" in result.output
    user = find("admin2")
    assert user.role == Role.ADMIN and user.display_name == "第二管理员"
    assert check_password_hash(user.password_hash, PASSWORD) and not user.password_hash.startswith(PASSWORD)
    assert user.password_hash.startswith("scrypt:")


def test_a_mismatched_confirmation_creates_nothing(runner, world):
    result = runner.invoke(
        args=["create-user", "admin2", "--role", "admin", "--name", "X"], input="one-password-1\nother-password-2\n"
    )
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert find("admin2") is None


def test_password_from_stdin(runner, world):
    result = create(runner, "admin2", "--role", "admin", "--name", "第二管理员", "--mobile", "+86 139-0000-1234")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    user = find("admin2")
    assert user.mobile == "13900001234"
    assert check_password_hash(user.password_hash, PASSWORD)


def test_every_role_with_its_scope(runner, world):
    a, b, unit = world["a"], world["b"], world["unit"]
    ok = [
        ("staff1", "congress_staff", "--region", "411600"),
        ("handler1", "unit_handler", "--unit-id", str(unit.id)),
        ("manager1", "station_manager", "--station", a.code, "--station", b.code),
        (
            "rep1", "representative", "--level", "provincial", "--station", a.code,
            "--occupation", "律师", "--delegation", "周口市代表团",
        ),
        ("rep2", "representative", "--level", "township"),
        ("admin1", "admin"),
    ]  # fmt: skip
    for username, role, *scope in ok:
        result = create(runner, username, "--role", role, "--name", "测试", *scope)
        assert result.exit_code == 0, (username, result.output)

    assert find("staff1").region_id == world["city"].id
    assert find("handler1").unit_id == unit.id
    assert {s.code for s in find("manager1").managed_stations} == {a.code, b.code}
    rep = find("rep1").representative
    assert rep.level == RepLevel.PROVINCIAL and [s.code for s in rep.stations] == [a.code]
    assert rep.occupation == "律师" and rep.delegation == "周口市代表团"
    assert find("rep2").representative.stations == []
    assert find("admin1").role == Role.ADMIN
    fresh()
    rows = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "account.created")).all()
    assert len(rows) == len(ok) and all(r.actor_id is None for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "congress_staff"], "--region: Congress staff need the region"),
        (["--role", "congress_staff", "--region", "999999"], "No region with code '999999'"),
        (["--role", "unit_handler"], "--unit-id: A handling unit account needs its unit"),
        (["--role", "unit_handler", "--unit-id", "999999"], "No handling unit with id 999999"),
        (["--role", "station_manager"], "--station: A station manager needs at least one station"),
        (["--role", "station_manager", "--station", "NOPE1234"], "No station with code 'NOPE1234'"),
        (["--role", "representative"], "--level: A representative needs the level"),
        (["--role", "representative", "--region", "411600", "--level", "county"], "--region does not apply"),
        (["--role", "admin", "--station", "XCFS2024"], "--station does not apply"),
        (["--role", "admin", "--level", "county"], "--level does not apply"),
        (["--role", "admin", "--mobile", "12345"], "--mobile: Please enter an 11-digit"),
    ],
)
def test_missing_or_wrong_scope_is_a_clear_error(runner, world, args, message):
    before = users()
    result = create(runner, "someone", "--name", "测试", *args)
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output
    assert users() == before


def test_bad_input_is_a_clear_error(runner, world, db):
    factories.user(Role.ADMIN, username="taken")
    db.session.commit()
    cases = [
        (["taken", "--role", "admin", "--name", "X"], PASSWORD, "USERNAME: This username is already taken."),
        (["TAKEN", "--role", "admin", "--name", "X"], PASSWORD, "already taken"),
        (["13812345678", "--role", "admin", "--name", "X"], PASSWORD, "USERNAME: Use 2 to 40 letters"),
        (["fresh", "--role", "admin", "--name", "X"], "short", "password: The password is too short"),
        (["fresh", "--role", "admin", "--name", "X"], "0000000000", "password: The password is too simple"),
        (["fresh", "--role", "admin", "--name", "  "], PASSWORD, "--name: Please fill this in."),
    ]
    before = users()
    for args, password, message in cases:
        result = create(runner, *args, password=password)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output, (args, result.output)
    assert users() == before


def test_usage_errors_exit_2(runner, world):
    assert create(runner, "x1", "--role", "emperor", "--name", "X").exit_code == 2
    assert create(runner, "x1", "--name", "X").exit_code == 2  # no --role
    assert create(runner, "x1", "--role", "admin").exit_code == 2  # no --name
    assert create(runner, "x1", "--role", "representative", "--level", "galactic", "--name", "X").exit_code == 2
    assert find("x1") is None


def test_help_lists_the_options(runner, app):
    result = runner.invoke(args=["create-user", "--help"])
    assert result.exit_code == 0
    for option in (
        "--role",
        "--name",
        "--mobile",
        "--region",
        "--unit-id",
        "--station",
        "--level",
        "--occupation",
        "--password-stdin",
    ):
        assert option in result.output


# --- duty close-stale ------------------------------------------------------------------


def open_duty(station, rep, hours_ago: float) -> Duty:
    duty = Duty(
        station=station,
        representative=rep,
        checked_in_at=utcnow() - timedelta(hours=hours_ago),
        method=DutyMethod.QR,
        nonce=secrets.token_urlsafe(16),
    )
    _db.session.add(duty)
    _db.session.flush()
    return duty


def test_close_stale(runner, world, db):
    a = world["a"]
    stale = open_duty(a, factories.representative(stations=[a]), hours_ago=13)
    current = open_duty(a, factories.representative(stations=[a]), hours_ago=1)
    db.session.commit()
    stale_id, current_id = stale.id, current.id

    result = runner.invoke(args=["duty", "close-stale"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Closed 1 stale duty."
    fresh()
    assert db.session.get(Duty, stale_id).status == DutyStatus.AUTO_CLOSED
    assert db.session.get(Duty, stale_id).checked_out_at is not None
    assert db.session.get(Duty, current_id).status == DutyStatus.OPEN
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.target_id == stale_id)) == "duty.auto_closed"

    result = runner.invoke(args=["duty", "close-stale"])
    assert result.exit_code == 0 and result.output.strip() == "Closed 0 stale duties."


def test_duty_group_help(runner, app):
    result = runner.invoke(args=["duty", "--help"])
    assert result.exit_code == 0 and "close-stale" in result.output


def test_every_problem_is_listed_at_once(runner, world):
    result = create(runner, "9lives", "--role", "station_manager", "--name", "X", "--mobile", "123", password="short")
    assert result.exit_code == 1
    for message in (
        "USERNAME: Use 2 to 40 letters",
        "--mobile: Please enter an 11-digit",
        "password: The password is too short",
        "--station: A station manager needs at least one station",
    ):
        assert message in result.output, result.output
    assert find("9lives") is None


def test_invite_creates_the_account_without_a_password_and_queues_the_invitation(runner, world):
    from models import AccountLink, AuditLog, Outbox

    argv = ["create-user", "rep_liu", "--role", "representative", "--name", "刘桂兰", "--level", "county"]
    result = runner.invoke(args=[*argv, "--station", "XCFS2024", "--mobile", "13700001234", "--invite"])
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output and "Invitation queued (sms)" in result.output
    user = find("rep_liu")
    assert user.password_hash == ""
    [row] = _db.session.scalars(sa.select(Outbox)).all()
    assert row.recipient == "13700001234" and "/account/set-password/" in row.body
    [link] = _db.session.scalars(sa.select(AccountLink)).all()
    assert link.user_id == user.id and link.created_by_id is None
    [entry] = _db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "account.invited")).all()
    assert entry.actor_id is None


def test_invite_needs_somewhere_to_send_it_and_no_password(runner, world):
    result = runner.invoke(args=["create-user", "ops2", "--role", "admin", "--name", "X", "--invite"])
    assert result.exit_code == 2 and "--mobile or --email" in result.output
    result = runner.invoke(
        args=["create-user", "ops2", "--role", "admin", "--name", "X", "--email", "o@example.org", "--invite"]
        + ["--password-stdin"],
        input="some-password-1\n",
    )
    assert result.exit_code == 2
    assert find("ops2") is None
