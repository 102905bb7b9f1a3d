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
import threading
from dataclasses import astuple
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Concern, FigureAreaCell, FigureCell, Representative, Station
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
    other = factories.region(name="商丘市", level=RegionLevel.CITY)  # a second top-level region
    places = [town_a, town_a, county_a, county_b, town_b, city, other]
    stations = [factories.station(name=f"联络站{n}", region=region) for n, region in enumerate(places)]
    reps = [factories.representative(stations=[station], name=f"代表{n}") for n, station in enumerate(stations)]
    units = [
        factories.unit(name="项城市住建局", region_obj=county_a),
        factories.unit(name="扶沟县城管局", region_obj=county_b),
        factories.unit(name="周口市交通局", region_obj=city),
        factories.unit(name="商丘市交通局", region_obj=other),
    ]
    viewers = {
        "admin": factories.user(Role.ADMIN),
        "city staff": factories.user(Role.CONGRESS_STAFF, region=city),
        "other city staff": factories.user(Role.CONGRESS_STAFF, region=other),
        "county staff": factories.user(Role.CONGRESS_STAFF, region=county_a),
        "manager": factories.user(Role.STATION_MANAGER, managed_stations=[stations[0], stations[3]]),
        "unit handler": factories.user(Role.UNIT_HANDLER, unit=units[0]),
        "city unit handler": factories.user(Role.UNIT_HANDLER, unit=units[2]),
        "representative": reps[0].user,  # counted over the concerns either way
    }
    db.session.commit()
    regions = [city, county_a, county_b, town_a, other]
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


def test_a_table_cut_to_the_busiest_rows_has_the_rows_and_totals_of_the_live_count(db, monkeypatch):
    rnd = random.Random(42)
    world = _world(db)
    _walk(db, rnd, world)
    monkeypatch.setattr(figures, "MAX_ROWS", 3)  # of seven stations and five units (none included)
    _stations, _reps, _units, _category, viewers, regions = world
    hidden = 0
    for period in _periods(rnd)[:6]:
        now = moment(rnd, FIRST_DAY, DAYS + 10)
        for user in viewers.values():
            _same_figures(user, period, now, regions)
            hidden += figures.figures(user, "station", period, now).hidden
    assert hidden > 0  # some tables were cut


def _cells(db) -> dict:
    """Every cell and area cell that counts something (one emptied by later changes is kept
    as zeros; a rebuild makes none)."""
    db.session.expire_all()
    cells = {}
    for model, key in ((FigureCell, "station_id"), (FigureAreaCell, "region_id")):
        for c in db.session.execute(sa.select(model)).scalars():
            values = tuple(getattr(c, f) for f in figure_cells.CELL_FIELDS)
            if any(values):
                cells[(model.__tablename__, c.span, c.first_day, getattr(c, key), c.unit_key)] = values
    return cells


def _assert_cells_as_rebuilt(db) -> None:
    kept = _cells(db)
    assert kept
    figure_cells.rebuild(db.session.connection())
    assert _cells(db) == kept
    db.session.rollback()


def _backfill_of_migration(db, name: str) -> None:
    """A migration's own backfill, run on the test database."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Op:
        @staticmethod
        def execute(sql: str) -> None:
            db.session.execute(sa.text(sql))

    module.op = Op
    if name == "0030_daily_figures":
        module._backfill(db.engine.dialect.name)
    else:
        module._backfill()


def test_rebuilding_and_the_migrations_backfill_make_the_cells_kept_by_the_flushes(db, runner):
    _walk(db, random.Random(5), _world(db), n=30)
    kept = _cells(db)
    assert {key[0] for key in kept} == {"figure_cell", "figure_area_cell"}
    result = runner.invoke(args=["figures", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "figure cells rebuilt" in result.output
    assert _cells(db) == kept
    db.session.execute(sa.delete(FigureCell))
    db.session.execute(sa.delete(FigureAreaCell))
    _backfill_of_migration(db, "0030_daily_figures")
    _backfill_of_migration(db, "0033_area_figures")
    _backfill_of_migration(db, "0034_region_figures")
    db.session.commit()
    assert _cells(db) == kept


def _same_figures(user, period: Period, now: datetime, regions=()) -> None:
    """Every grouping's table, and the region table of each of `regions` the viewer may
    roll up, summed from the cells equals the one counted over the concerns."""
    labels = {"directly": "d", "no_unit": "n"}
    for by in GROUPINGS:
        roots = [None] + ([r for r in regions if may_roll_up(user, r)] if by == "region" else [])
        for root in roots:
            kept = figures.figures(user, by, period, now, root=root, labels=labels)
            live = figures.figures(user, by, period, now, root=root, labels=labels, live=True)
            assert _table(kept) == _table(live), (user.username, by, root and root.name)


def test_stations_and_regions_moved_to_other_regions_take_their_area_cells_along(db):
    stations, _reps, _units, _category, viewers, regions = world = _world(db)
    _walk(db, random.Random(11), world, n=30)
    city, county_a, county_b, town_a, other = regions
    period, now = Period(date(2025, 1, 1), date(2026, 12, 31)), utc_at(FIRST_DAY + timedelta(days=40), time(9))
    province = factories.region(name="河南省", level=RegionLevel.PROVINCE)
    province_staff = factories.user(Role.CONGRESS_STAFF, region=province)
    db.session.commit()
    moves = [
        lambda: setattr(stations[0], "region", other),  # a station to another top-level region
        lambda: setattr(county_b, "parent", other),  # a county, with its township and their stations
        lambda: setattr(other, "parent", province),  # a top-level region under a new one
        lambda: setattr(city, "parent", province),  # and the other one: now one province
        lambda: setattr(stations[0], "region", city),  # within the province: from one city to the other
        lambda: setattr(town_a, "parent", county_b),  # a township to another county of the same city
        lambda: setattr(stations[1], "region", county_a),  # a station up from its township to its county
    ]
    for move in moves:
        move()
        # A concern changed in the same transaction counts where its station is now.
        concern = db.session.scalars(sa.select(Concern).where(Concern.station_id == stations[0].id)).first()
        concern.unit = None
        db.session.commit()
        _assert_cells_as_rebuilt(db)
        for name in ("admin", "city staff", "other city staff", "county staff", "unit handler", "city unit handler"):
            _same_figures(viewers[name], period, now, [province, *regions])
        _same_figures(province_staff, period, now, [province, *regions])


def _statements(db):
    """The SQL sent inside the block (a list filled as it runs)."""
    sent: list[str] = []

    def grab(_conn, _cursor, statement, _parameters, _context, _executemany):
        sent.append(statement)

    return sent, grab


def test_a_transaction_counts_each_concern_before_and_after_once_however_often_it_flushes(db):
    stations, reps, units, category, viewers, _regions = _world(db)
    filed = moment(random.Random(3))
    concern = submit_concern(
        stations[0], ConcernInput(category_id=category.id, content="小区路灯坏了很久，晚上出行不便。"), [], storage=None
    )
    db.session.commit()
    sent, grab = _statements(db)
    sa.event.listen(db.engine, "before_cursor_execute", grab)
    try:
        data = ConcernInput(category_id=category.id, content="楼道里的灯也不亮了，请派人修。")
        second = submit_concern(stations[1], data, [], storage=None)
        rep = reps[0]
        flow.transition(concern, A.ACCEPT, role=rep.user.role, actor=rep.user, representative=rep, now=filed)
        db.session.flush()
        staff = viewers["city staff"]
        flow.transition(concern, A.DISPATCH, role=staff.role, actor=staff, unit=units[0], note="转办", now=filed)
        db.session.flush()
        second.station = stations[2]
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", grab)
    counted = [s for s in sent if "counted_days" in s]
    assert len(counted) == 2  # the first concern before its first change; both at the commit
    assert len([s for s in sent if s.lstrip().upper().startswith("INSERT INTO FIGURE_CELL")]) == 1
    assert len([s for s in sent if s.lstrip().upper().startswith("INSERT INTO FIGURE_AREA_CELL")]) == 1
    _assert_cells_as_rebuilt(db)


def _tables_read(db, user, by: str, period: Period, root=None) -> set[str]:
    sent, grab = _statements(db)
    sa.event.listen(db.engine, "before_cursor_execute", grab)
    try:
        figures.figures(user, by, period, utc_at(FIRST_DAY, time(9)), root=root)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", grab)
    return {table for table in ("figure_cell", "figure_area_cell") for s in sent if f"FROM {table}" in s}


def test_whole_regions_over_whole_months_are_summed_from_the_area_cells(db):
    _stations, _reps, _units, _category, viewers, regions = _world(db)
    city, county_a = regions[0], regions[1]
    year, days = Period(date(2025, 1, 1), date(2025, 12, 31)), Period(date(2025, 1, 1), date(2025, 12, 30))
    admin, staff, handler = viewers["admin"], viewers["county staff"], viewers["unit handler"]
    # The child regions' cells, and the stations directly in the region shown (the city).
    assert _tables_read(db, admin, "region", year, root=city) == {"figure_area_cell", "figure_cell"}
    assert _tables_read(db, admin, "region", year) == {"figure_area_cell"}
    assert _tables_read(db, staff, "unit", year) == {"figure_area_cell"}
    assert _tables_read(db, handler, "region", year, root=county_a) == {"figure_area_cell", "figure_cell"}
    # By station: the stations' cells for the rows, the area cells for the totals.
    assert _tables_read(db, staff, "station", year) == {"figure_area_cell", "figure_cell"}
    # A period with single days, a manager's few stations: the stations' cells.
    assert _tables_read(db, admin, "region", days, root=city) == {"figure_cell"}
    assert _tables_read(db, staff, "unit", days) == {"figure_cell"}
    assert _tables_read(db, admin, "station", days) == {"figure_cell"}
    assert _tables_read(db, viewers["manager"], "region", year) == {"figure_cell"}
    assert _tables_read(db, viewers["manager"], "station", year) == {"figure_cell"}


def test_savepoints_and_a_later_commit_hook_leave_the_cells_as_the_concerns(db):
    stations, _reps, units, category, _viewers, _regions = _world(db)
    data = ConcernInput(category_id=category.id, content="小区路灯坏了很久，晚上出行不便。")
    first, second = (submit_concern(s, data, [], storage=None) for s in stations[:2])
    db.session.commit()
    first.unit = units[0]
    db.session.flush()
    with db.session.begin_nested() as savepoint:  # rolled back: the second concern as it was
        second.unit = units[1]
        first.station = stations[3]
        db.session.flush()
        savepoint.rollback()
    with db.session.begin_nested():  # kept
        second.station = stations[4]
        db.session.flush()
    db.session.commit()
    _assert_cells_as_rebuilt(db)

    def late(session):  # a hook after the cells' own: its change is flushed after theirs
        second.unit = units[2]

    sa.event.listen(Session, "before_commit", late)
    try:
        first.unit = units[1]
        db.session.commit()
    finally:
        sa.event.remove(Session, "before_commit", late)
    assert db.session.get(Concern, second.id).unit_id == units[2].id
    _assert_cells_as_rebuilt(db)


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


def test_concurrent_writers_and_a_move_between_top_level_regions_leave_the_cells_as_the_concerns(db, app):
    """Writers filing and accepting concerns in their own sessions while another moves a
    station between top-level regions and back: no increment lost, none counted under the
    wrong region (PostgreSQL: the writers' shared advisory lock against the mover's)."""
    app.config["SQLITE_IMMEDIATE_OUTSIDE_REQUESTS"] = True  # SQLite: one writer at a time
    stations, reps, _units, category, _viewers, regions = _world(db)
    station_ids, rep_ids = [s.id for s in stations[:3]], [r.id for r in reps[:3]]
    moved_id, homes = stations[0].id, [regions[4].id, regions[0].id]
    category_id = category.id
    db.session.commit()
    errors: list[Exception] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                for i in range(8):
                    station = db.session.get(Station, station_ids[(n + i) % 3])
                    data = ConcernInput(category_id=category_id, content=f"路灯坏了很久，请尽快修好。{n}-{i}")
                    concern = submit_concern(station, data, [], storage=None)
                    db.session.commit()
                    if i % 2 == 0:
                        rep = db.session.get(Representative, rep_ids[(n + i) % 3])
                        flow.transition(concern, A.ACCEPT, role=rep.user.role, actor=rep.user, representative=rep)
                        db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)

    def mover() -> None:
        try:
            with app.app_context():
                for i in range(6):
                    db.session.get(Station, moved_id).region_id = homes[i % 2]
                    db.session.commit()
                db.session.remove()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=mover)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Concern)) == 24
    _assert_cells_as_rebuilt(db)
