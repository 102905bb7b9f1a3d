"""The figures summed from the cells (services.figure_cells) are the figures counted over the
concerns (services.figures with live=True, the reference): random concerns filed through
the real service at random stations, at random local times (many on the edges of a local
day), walked through the loop by whoever may take each step, rated, merged, reopened,
sent to units, some filed during a representative's duty, some moved to another station
or unit by hand; then every viewer's table for random periods, every grouping and every
region they may roll up, compared row by row. On SQLite and, with TEST_DATABASE_URL, on
PostgreSQL."""

import importlib.util
import random
from dataclasses import astuple
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Concern, FigureCell
from models.enums import ConcernAction as A
from models.enums import ConcernStatus as S
from models.enums import Rating, RegionLevel, Role
from services import concern_flow as flow
from services import figure_cells, figures
from services.clock import day_start, utc_at
from services.concerns import ConcernInput, submit_concern
from services.duty import CheckInRefused, Proof, check_in, check_out
from services.errors import DomainError
from services.figures import GROUPINGS, Period
from services.permissions import can, may_roll_up
from services.workflow import RESIDENT, SYSTEM
from tests import factories

FIRST_DAY = date(2025, 12, 1)  # three months around a new year: days, months and years
DAYS = 75
SECRET = "test-secret"
# Local times of day a moment is drawn from besides random ones: a local day's edges.
EDGES = (time(0, 0), time(0, 0, 0, 1), time(23, 59, 59, 999_999), time(23, 59, 59), time(8, 0), time(7, 59, 59))


def moment(rnd: random.Random, first: date = FIRST_DAY, days: int = DAYS) -> datetime:
    day = first + timedelta(days=rnd.randrange(days))
    at = rnd.choice(EDGES) if rnd.random() < 0.4 else time(rnd.randrange(24), rnd.randrange(60))
    return utc_at(day, at)


def later(rnd: random.Random, after: datetime) -> datetime:
    """A moment after `after`: minutes, hours or days later, sometimes just over a local midnight."""
    if rnd.random() < 0.25:
        midnight = day_start((after + timedelta(hours=8)).date() + timedelta(days=rnd.randrange(1, 4)))
        return midnight + timedelta(microseconds=rnd.choice((0, 1, 999_999)))
    return after + timedelta(minutes=rnd.choice((1, 30, 600, 1500, 4000, 20_000)))


def _world(db):
    city = factories.region(name="周口市", level=RegionLevel.CITY)
    county_a = factories.region(name="项城市", parent=city)
    county_b = factories.region(name="扶沟县", parent=city)
    town_a = factories.region(name="花园街道", level=RegionLevel.TOWNSHIP, parent=county_a)
    town_b = factories.region(name="练寺镇", level=RegionLevel.TOWNSHIP, parent=county_b)
    factories.region(name="西华县", parent=city)  # quiet: a row of zeros
    places = [town_a, town_a, county_a, county_b, town_b, city]
    stations = [factories.station(name=f"联络站{n}", region=region) for n, region in enumerate(places)]
    reps = [factories.representative(stations=[station], name=f"代表{n}") for n, station in enumerate(stations)]
    units = [
        factories.unit(name="项城市住建局", region_obj=county_a),
        factories.unit(name="扶沟县城管局", region_obj=county_b),
        factories.unit(name="周口市交通局", region_obj=city),
    ]
    viewers = {
        "admin": factories.user(Role.ADMIN),
        "city staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "county staff": factories.user(Role.CONGRESS_STAFF, region=county_a),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[stations[0], stations[3]]),
        "unit handler": factories.user(Role.UNIT_HANDLER, unit=units[0]),
        "city unit handler": factories.user(Role.UNIT_HANDLER, unit=units[2]),
        "representative": reps[0].user,  # counted over the concerns either way
    }
    db.session.commit()
    regions = [city, county_a, county_b, town_a]
    return stations, reps, units, factories.category(), viewers, regions


def _step(rnd: random.Random, concern: Concern, rep, admin, units, others, now: datetime) -> bool:
    """One step someone may take now; False when there is none."""
    moves = [
        (who, spec)
        for spec in flow.CONCERN_FLOW
        if spec.target is not None and spec.applies(concern) and spec.action not in flow.REOPENS
        for who in (admin, rep.user, RESIDENT, SYSTEM)
        if (
            who in spec.roles
            if isinstance(who, str)
            else spec.button is not None and can(who, spec.permission, concern)
        )
    ]
    if not moves:
        return False
    who, spec = rnd.choice(moves)
    if spec.action == A.RATE:
        flow.rate(concern, rnd.choice(list(Rating)), rnd.choice(list(Rating)), "评价", now=now)
        return True
    kwargs: dict = {}
    if spec.action == A.ACCEPT:
        kwargs["representative"] = rep
    if spec.action == A.DISPATCH:
        kwargs["unit"] = rnd.choice(units)
    if spec.action == A.MERGE:
        targets = [c for c in others if c.id != concern.id and c.status not in flow.FINAL_STATUSES]
        if not targets:
            return False
        kwargs["merge_into"] = rnd.choice(targets)
    role = who if isinstance(who, str) else who.role
    actor = None if isinstance(who, str) else who
    flow.transition(concern, spec.action, role=role, actor=actor, note="说明情况", now=now, **kwargs)
    return True


def _walk(db, rnd: random.Random, world, n: int = 45) -> list[Concern]:
    stations, reps, units, category, viewers, _regions = world
    admin = viewers["admin"]
    made: list[Concern] = []
    nonce = 0
    for _ in range(n):
        i = rnd.randrange(len(stations))
        station, rep = stations[i], reps[i]
        filed = moment(rnd)
        duty = None
        if rnd.random() < 0.25:  # filed while the station's representative is on duty
            nonce += 1
            try:
                duty = check_in(
                    rep,
                    station,
                    nonce=f"nonce-{nonce:04d}",
                    proof=Proof(),
                    secret=SECRET,
                    now=filed - timedelta(minutes=5),
                )
            except CheckInRefused:
                duty = None
        concern = submit_concern(
            station,
            ConcernInput(category_id=category.id, content="小区路灯坏了很久，晚上出行不便。"),
            [],
            storage=None,
            now=filed,
        )
        if duty is not None:
            check_out(rep, duty, residents_received=1, now=filed + timedelta(minutes=5))
        made.append(concern)
        now = filed
        for _ in range(rnd.randrange(9)):
            now = later(rnd, now)
            try:
                if not _step(rnd, concern, rep, admin, units, made, now):
                    break
            except DomainError:
                break
        if rnd.random() < 0.1:  # corrected by hand: another station, another unit
            concern.station = rnd.choice(stations)
            if concern.unit_id is not None:
                concern.unit = rnd.choice(units)
        # Flushed and committed in varying groups.
        if rnd.random() < 0.5:
            db.session.commit()
        else:
            db.session.flush()
    db.session.commit()
    return made


def _table(fig: figures.Figures) -> tuple:
    rows = [(r.key, r.name, r.note, astuple(r.counts), r.drill, r.directly) for r in fig.rows]
    return (
        fig.by,
        rows,
        astuple(fig.total),
        fig.hidden,
        fig.root.id if fig.root else None,
        [r.id for r in fig.trail],
    )


def _periods(rnd: random.Random) -> list[Period]:
    fixed = [
        Period(FIRST_DAY, FIRST_DAY + timedelta(days=DAYS + 30)),
        Period(date(2025, 12, 1), date(2025, 12, 31)),
        Period(date(2025, 1, 1), date(2025, 12, 31)),
        Period(date(2026, 1, 1), date(2026, 12, 31)),
        Period(date(2025, 12, 31), date(2026, 1, 1)),
        Period(date(2026, 1, 15), date(2026, 1, 15)),
        Period(date(2024, 11, 30), date(2027, 2, 1)),
    ]
    randoms = []
    for _ in range(8):
        a = FIRST_DAY + timedelta(days=rnd.randrange(-20, DAYS + 20))
        b = a + timedelta(days=rnd.randrange(0, 70))
        randoms.append(Period(a, b))
    return fixed + randoms


@pytest.mark.parametrize("seed", [20251201, 7, 1991])
def test_the_cells_give_the_live_figures_on_random_data(db, seed):
    rnd = random.Random(seed)
    world = _world(db)
    _walk(db, rnd, world)
    _stations, _reps, _units, _category, viewers, regions = world
    statuses = set(db.session.scalars(sa.select(Concern.status)))
    assert S.CLOSED in statuses and len(statuses) >= 4, statuses  # the walk reached far enough to test
    compared = 0
    for period in _periods(rnd):
        now = moment(rnd, FIRST_DAY, DAYS + 10)
        for name, user in viewers.items():
            for by in GROUPINGS:
                roots = [None] + ([r for r in regions if may_roll_up(user, r)] if by == "region" else [])
                for root in roots:
                    kept = figures.figures(user, by, period, now, root=root, labels={"directly": "d", "no_unit": "n"})
                    live = figures.figures(
                        user, by, period, now, root=root, labels={"directly": "d", "no_unit": "n"}, live=True
                    )
                    if _table(kept) != _table(live):
                        a, b = _table(kept), _table(live)
                        diff = [(x, y) for x, y in zip(a[1], b[1], strict=False) if x != y] or (len(a[1]), len(b[1]))
                        raise AssertionError((name, by, period, root and root.name, now, diff, a[2], b[2]))
                    compared += 1
    assert compared > 300


def _cells(db) -> dict:
    rows = db.session.execute(sa.select(FigureCell)).scalars()
    return {
        (c.span, c.first_day, c.station_id, c.unit_key): tuple(getattr(c, f) for f in figure_cells.CELL_FIELDS)
        for c in rows
        if c.received or c.closed
    }


def _backfill_of_migration(db) -> None:
    """Migration 0030's own backfill, run on the test database."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0030_daily_figures.py"
    spec = importlib.util.spec_from_file_location("daily_figures_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Op:
        @staticmethod
        def execute(sql: str) -> None:
            db.session.execute(sa.text(sql))

    module.op = Op
    module._backfill(db.engine.dialect.name)


def test_rebuilding_and_the_migrations_backfill_make_the_cells_kept_by_the_flushes(db, runner):
    _walk(db, random.Random(5), _world(db), n=30)
    kept = _cells(db)
    assert kept
    result = runner.invoke(args=["figures", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "figure cells rebuilt" in result.output
    db.session.expire_all()
    assert _cells(db) == kept
    db.session.execute(sa.delete(FigureCell))
    _backfill_of_migration(db)
    db.session.commit()
    assert _cells(db) == kept


def test_the_period_is_covered_by_whole_years_months_and_days():
    cover = figure_cells.cover
    assert cover(date(2026, 1, 1), date(2026, 12, 31)) == [("year", date(2026, 1, 1))]
    assert cover(date(2025, 12, 30), date(2026, 2, 2)) == [
        ("day", date(2025, 12, 30)),
        ("day", date(2025, 12, 31)),
        ("month", date(2026, 1, 1)),
        ("day", date(2026, 2, 1)),
        ("day", date(2026, 2, 2)),
    ]
    assert cover(date(2024, 2, 1), date(2024, 2, 29)) == [("month", date(2024, 2, 1))]  # a leap February
    days = cover(date(2025, 3, 5), date(2027, 6, 3))
    covered = [d for span, first in days for d in _days(span, first)]
    assert covered == [
        date(2025, 3, 5) + timedelta(days=n) for n in range((date(2027, 6, 3) - date(2025, 3, 5)).days + 1)
    ]


def _days(span: str, first: date) -> list[date]:
    end = {
        "day": first,
        "month": figure_cells._month_after(first) - timedelta(days=1),
        "year": date(first.year, 12, 31),
    }
    return [first + timedelta(days=n) for n in range((end[span] - first).days + 1)]


def test_a_concern_filed_in_the_last_microsecond_of_a_local_day_counts_on_that_day(db):
    station = factories.station()
    admin = factories.user(Role.ADMIN)
    last = utc_at(date(2025, 12, 31), time(23, 59, 59, 999_999))  # 15:59:59.999999 UTC
    factories.concern(station, created_at=last)
    factories.concern(station, created_at=last + timedelta(microseconds=1))  # 1 January in China
    db.session.commit()
    year_2025 = figures.by_station(admin, Period(date(2025, 1, 1), date(2025, 12, 31)), last)
    assert year_2025.total.received == 1
    new_year = figures.by_station(admin, Period(date(2026, 1, 1), date(2026, 1, 1)), last)
    assert new_year.total.received == 1


def test_an_update_statement_on_concerns_is_refused_unless_it_leaves_the_figures_alone(db):
    concern = factories.concern(factories.station())
    db.session.commit()
    with pytest.raises(RuntimeError, match="figures"):
        db.session.execute(sa.update(Concern).where(Concern.id == concern.id).values(status=S.CLOSED))
    db.session.rollback()
    with pytest.raises(RuntimeError, match="figures"):
        db.session.execute(sa.delete(Concern).where(Concern.id == concern.id))
    db.session.rollback()
    db.session.execute(
        sa.update(Concern)
        .where(Concern.id == concern.id)
        .values(reminded_at=None)
        .execution_options(synchronize_session=False, figures_unaffected=True)
    )
