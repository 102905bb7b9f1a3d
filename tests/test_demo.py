"""The demo data: complete enough to show every feature, and safe to load twice."""

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app import create_app
from devtools.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from extensions import db
from models import Category, Concern, Region, Representative, Station, Unit, User, representative_station
from models.enums import RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind

CITIES = {"410500": "安阳市", "411100": "漯河市", "411600": "周口市", "410400": "平顶山市", "411700": "驻马店市"}
COUNTIES = {
    "411681": "项城市",
    "411627": "太康县",
    "411621": "扶沟县",
    "411625": "郸城县",
    "411603": "淮阳区",
    "411624": "沈丘县",
    "411623": "商水县",
    "411622": "西华县",
}


@pytest.fixture
def demo_app(tmp_path):
    """An app of its own on an empty schema, so this module needs no shared fixture."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite3", "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _station_codes() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Station.name, Station.code)).tuples().all())


def _membership_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(representative_station))


def test_seed_demo_twice_adds_nothing_and_keeps_codes(demo_app):
    with demo_app.app_context():
        first = seed_demo()
        db.session.commit()
        codes = _station_codes()
        memberships = _membership_count()

        second = seed_demo()
        db.session.commit()

        assert second == first
        assert _station_codes() == codes
        assert _membership_count() == memberships
        assert first["stations"] >= 12
        assert first == {
            "regions": db.session.scalar(sa.select(sa.func.count()).select_from(Region)),
            "stations": len(codes),
            "representatives": db.session.scalar(sa.select(sa.func.count()).select_from(Representative)),
            "categories": db.session.scalar(sa.select(sa.func.count()).select_from(Category)),
            "units": db.session.scalar(sa.select(sa.func.count()).select_from(Unit)),
            "users": db.session.scalar(sa.select(sa.func.count()).select_from(User)),
            "concerns": db.session.scalar(sa.select(sa.func.count()).select_from(Concern)),
        }


def test_demo_covers_every_kind_category_level_and_unit_kind(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        stations = db.session.scalars(sa.select(Station)).all()
        assert len(stations) >= 12
        assert {s.kind for s in stations} == set(StationKind)
        assert {s.category for s in stations} == set(StationCategory)
        assert len({s.code for s in stations}) == len(stations)
        for station in stations:
            assert (station.kind == StationKind.STATION) == (station.parent_id is None), station.name
            assert station.opens_at is not None and station.closes_at is not None, station.name
            assert station.intro and station.address and station.phone, station.name
            if station.kind != StationKind.POST:
                assert 2 <= len(station.representatives) <= 6, station.name

        reps = db.session.scalars(sa.select(Representative)).all()
        assert {r.level for r in reps} == set(RepLevel)
        assert any(len(r.stations) >= 2 for r in reps)
        assert all(r.user.role == Role.REPRESENTATIVE for r in reps)

        unit_kinds = set(db.session.scalars(sa.select(Unit.kind).distinct()))
        assert {UnitKind.GOVERNMENT, UnitKind.SUPERVISION, UnitKind.COURT, UnitKind.PROCURATORATE} <= unit_kinds

        categories = db.session.scalars(sa.select(Category).order_by(Category.sort_order)).all()
        assert categories[-1].name_zh == "其他"


def test_demo_regions_have_their_real_codes(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        by_code = {r.code: r for r in db.session.scalars(sa.select(Region))}
        assert by_code["410000"].name == "河南省"
        for code, name in CITIES.items():
            assert by_code[code].name == name
            assert by_code[code].level == RegionLevel.CITY
            assert by_code[code].parent.code == "410000"
        for code, name in COUNTIES.items():
            assert by_code[code].name == name
            assert by_code[code].level == RegionLevel.COUNTY
            assert by_code[code].parent.code == "411600"
        for region in by_code.values():
            if region.level == RegionLevel.TOWNSHIP:
                assert len(region.code) == 9 and region.code.startswith(region.parent.code), region.name
        station = db.session.scalar(sa.select(Station).where(Station.name == "淮阳区驻京人大代表联络站"))
        assert station.region.code == "411603"
        assert station.category == StationCategory.OUT_OF_TOWN


def test_every_demo_account_signs_in_with_the_demo_password(demo_app):
    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        assert {Role(role) for _username, role, _name in DEMO_ACCOUNTS} == set(Role)
        hashes = set()
        for username, role, name in DEMO_ACCOUNTS:
            user = db.session.scalar(sa.select(User).where(User.username == username))
            assert user is not None, username
            assert user.role == Role(role)
            assert user.display_name == name
            if user.role == Role.CONGRESS_STAFF:
                assert user.region is not None
            if user.role == Role.UNIT_HANDLER:
                assert user.unit is not None
            if user.role == Role.STATION_MANAGER:
                assert user.managed_stations
            hashes.add(user.password_hash)
        # One hash for every demo user (hashing is slow), and it matches the demo password.
        assert len(hashes) == 1
        assert check_password_hash(hashes.pop(), DEMO_PASSWORD)


def test_seed_demo_command(demo_app):
    runner = demo_app.test_cli_runner()

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output

    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output


def test_demo_roster_fills_two_weeks_once_and_never_double_books(demo_app):
    from models import DutySlot

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        slots = db.session.scalars(sa.select(DutySlot)).all()
        assert slots, "the demo roster is empty"
        assert {s.station_id for s in slots} and all(s.day.weekday() < 5 for s in slots)
        places = [(s.representative_id, s.day, s.starts_at) for s in slots]
        assert len(places) == len(set(places))
        seed_demo()
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DutySlot)) == len(slots)


def test_demo_concerns_run_the_whole_loop_with_unbroken_trails(demo_app):
    from datetime import timedelta

    from devtools.demo import CONCERNS
    from models import ConcernEvent, Outbox, utcnow
    from models.enums import ConcernStatus
    from services.concern_flow import TRANSITIONS, is_overdue

    with demo_app.app_context():
        seed_demo()
        db.session.commit()
        now = utcnow()

        concerns = db.session.scalars(sa.select(Concern).order_by(Concern.id)).all()
        assert len(concerns) == len(CONCERNS) >= 40
        assert {c.status for c in concerns} == set(ConcernStatus)
        assert any(c.rounds == 2 and c.status == ConcernStatus.CLOSED for c in concerns)
        assert any(c.rounds == 2 and c.status != ConcernStatus.CLOSED for c in concerns)
        # Two with deadlines chosen on dispatch and one taken up three weeks ago: overdue even
        # across the longest holiday.
        assert sum(is_overdue(c, now) for c in concerns) >= 3
        actions = {e.action for c in concerns for e in c.events}
        assert {"submit", "accept", "dispatch", "reply", "resolve", "confirm", "rate", "reopen", "reject"} <= actions
        assert {"merge", "withdraw", "return", "send_back", "auto_close", "note"} <= actions

        for concern in concerns:
            events = concern.events
            assert events[0].action == "submit" and events[0].created_at == concern.created_at
            assert now - timedelta(days=43) < concern.created_at <= now
            times = [e.created_at for e in events]
            assert times == sorted(times) and times[-1] <= now, concern.content
            status = ConcernStatus.SUBMITTED
            for event in events[1:]:
                if event.action in ("note", "comment"):
                    continue
                # Each step leaves from where the one before arrived, by a rule of the table.
                assert event.from_status == status, (concern.content, event.action)
                assert TRANSITIONS[(status, event.action)].target == event.to_status
                status = event.to_status
            assert status == concern.status
            if concern.status == ConcernStatus.MERGED:
                assert concern.merged_into_id is not None
            if concern.status == ConcernStatus.REJECTED:
                assert events[-1].note
            if concern.contact_mobile:
                assert concern.contact_mobile.startswith("138") and concern.consent_at == concern.created_at
            if concern.unit is not None:
                # Handled by its own county's or city's unit.
                region_ids = {r.id for r in concern.station.region.path()}
                assert concern.unit.region_id in region_ids
            if concern.assigned_rep is not None:
                assert concern.station in concern.assigned_rep.stations
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConcernEvent)) > 3 * len(concerns)


def test_demo_accounts_find_work_in_their_inbox(demo_app):
    from devtools.demo import _DEMO_REP_USERNAMES
    from models.enums import ConcernStatus
    from services.inbox import InboxFilter, page

    def inbox(username: str, box: str) -> list[Concern]:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return page(user, InboxFilter(box=box), size=100).concerns

    with demo_app.app_context():
        seed_demo()
        db.session.commit()

        for handler in ("xc_housing", "xc_court"):
            waiting = inbox(handler, "handle")
            assert len(waiting) >= 2, handler
            assert all(c.status == ConcernStatus.DISPATCHED and c.due_at for c in waiting)
        for username in _DEMO_REP_USERNAMES:
            assert inbox(username, "take"), username
            supervise = inbox(username, "supervise")
            assert any(c.status == ConcernStatus.REPLIED for c in supervise), username
        for manager in ("xc_manager", "lh_manager", "ay_manager"):
            assert any(c.status == ConcernStatus.SUBMITTED for c in inbox(manager, "all")), manager
        for staff in ("zk_staff", "xc_staff", "lh_staff"):
            assert inbox(staff, "all"), staff
