"""`flask seed-scale`: the benchmark's generator, checked at its small size on SQLite."""

import pytest
import sqlalchemy as sa

from app import create_app
from devtools import scale
from extensions import create_sqlite_file, db
from models import Concern, ConcernEvent, Duty, DutySlot, Representative, Station, User, manager_station
from models.enums import ConcernStatus, DutyStatus, Role
from services.concern_flow import TRANSITIONS


@pytest.fixture
def scale_app(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/s.sqlite3", "RATELIMIT_ENABLED": False})
    with app.app_context():
        create_sqlite_file(db.engine)  # the app never creates a database file itself
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_scale_refuses_sqlite_at_scale_and_a_database_with_data(scale_app):
    runner = scale_app.test_cli_runner()
    result = runner.invoke(args=["seed-scale"])
    assert result.exit_code != 0 and "PostgreSQL" in result.output

    result = runner.invoke(args=["seed-scale", "--small", "--concerns", "60000"])
    assert result.exit_code != 0 and "at most" in result.output

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["seed-scale", "--small"])
    assert result.exit_code != 0 and "--force" in result.output
    with scale_app.app_context():
        assert count(Concern) == db.session.scalar(sa.select(sa.func.count()).where(Concern.submission_key.isnot(None)))


def test_seed_scale_small_makes_consistent_data(scale_app):
    runner = scale_app.test_cli_runner()
    result = runner.invoke(args=["seed-scale", "--small", "--stations", "90", "--concerns", "3000"])
    assert result.exit_code == 0, result.output
    assert "Made regions" in result.output

    with scale_app.app_context():
        size = scale.SMALL
        assert count(Station) == 90
        assert count(Representative) == size.representatives
        assert count(Concern) == 3000
        assert count(Duty) >= size.duties
        assert count(DutySlot) > 0
        # Every station has a manager, two stations each (one where a county runs out).
        assert db.session.scalar(sa.select(sa.func.count(manager_station.c.station_id.distinct()))) == 90
        assert {u.role for u in db.session.scalars(sa.select(User))} == {
            Role.CONGRESS_STAFF,
            Role.STATION_MANAGER,
            Role.UNIT_HANDLER,
            Role.REPRESENTATIVE,
        }
        # At most one open duty per representative (the partial unique index would refuse more).
        assert db.session.scalar(sa.select(sa.func.count()).where(Duty.status == DutyStatus.OPEN)) > 0

        statuses = set(db.session.scalars(sa.select(Concern.status).distinct()))
        assert statuses == set(ConcernStatus)
        concerns = db.session.scalars(sa.select(Concern).order_by(Concern.id).limit(400)).all()
        for concern in concerns:
            events = db.session.scalars(
                sa.select(ConcernEvent).where(ConcernEvent.concern_id == concern.id).order_by(ConcernEvent.id)
            ).all()
            assert events[0].action == "submit"
            state = ConcernStatus.SUBMITTED
            for event in events[1:]:
                assert TRANSITIONS[(state, event.action)].target == event.to_status
                state = event.to_status
            assert state == concern.status
            assert [e.created_at for e in events] == sorted(e.created_at for e in events)
            if concern.assigned_rep is not None:
                assert concern.station in concern.assigned_rep.stations
            if concern.unit is not None:
                assert concern.unit.region_id in {r.id for r in concern.station.region.path()}
        codes = db.session.scalars(sa.select(Concern.tracking_code)).all()
        assert len(set(codes)) == len(codes) and all(len(c) == 10 for c in codes)


def test_seed_scale_force_adds_a_second_tree(scale_app):
    runner = scale_app.test_cli_runner()
    small = ["seed-scale", "--small", "--stations", "40", "--reps", "200", "--concerns", "500", "--duties", "500"]
    assert runner.invoke(args=small).exit_code == 0
    result = runner.invoke(args=[*small, "--force", "--no-events"])
    assert result.exit_code == 0, result.output
    with scale_app.app_context():
        assert count(Station) == 80
        assert count(Concern) == 1000
        assert count(ConcernEvent) > 0
