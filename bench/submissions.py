"""The CPU a submission costs, with the figures' cells kept and without them.

For each database (a fresh SQLite file; PostgreSQL when a URL is given, in a database of
its own, `mashang_bench_submissions`, created and dropped again): migrate, add a city with
a county, a township and a few stations, then file N concerns through
services.concerns.submit_concern and commit each, as the resident's form does, and take
an accepted concern through one step (accept, in a transaction of its own) N times. The
same with the cells' listeners off (services.figure_cells.listen(False)), alternating the
two in rounds so that a shared machine weighs on both alike.

Per submission: this process's CPU (time.process_time; on PostgreSQL the server's CPU is
not in it) and the wall time, median of the rounds. It asserts nothing. Alone:
`python bench/submissions.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imports import pg_database  # noqa: E402 (bench/imports.py, beside this script)

PG_DATABASE = "mashang_bench_submissions"
TEXT = "小区门口的路灯坏了很久，晚上出行很不方便，希望尽快修好。"


def _print(msg: str) -> None:
    print(msg, flush=True)


def seed() -> tuple[list[int], int, int]:
    """Stations (their ids), a category and a representative serving at all of them."""
    from extensions import db
    from models import Category, Region, Representative, Station, User
    from models.enums import RegionLevel, RepLevel, Role, StationCategory, StationKind
    from services.codes import new_rep_code, new_station_code

    city = Region(code="41160099", name="周口市", level=RegionLevel.CITY)
    county = Region(code="41168199", name="项城市", level=RegionLevel.COUNTY, parent=city)
    town = Region(code="41168101", name="花园街道", level=RegionLevel.TOWNSHIP, parent=county)
    stations = [
        Station(
            code=new_station_code(),
            name=f"花园街道人大代表联络站{n}",
            kind=StationKind.STATION,
            category=StationCategory.COMMUNITY,
            address="项城市莲花大道18号",
            opening_hours="周一至周五 9:00–17:30",
            phone="0394-4321234",
            region=region,
        )
        for n, region in enumerate((town, town, county, city))
    ]
    category = Category(code="bench_urban", name_zh="城乡建设", name_en="Urban and rural")
    user = User(username="bench_rep", display_name="李代表", password_hash="-", role=Role.REPRESENTATIVE)
    rep = Representative(user=user, code=new_rep_code(), level=RepLevel.COUNTY, occupation="教师", stations=stations)
    db.session.add_all([city, county, town, *stations, category, rep])
    db.session.commit()
    return [s.id for s in stations], category.id, rep.id


def timed(n: int, act: Callable[[int], None]) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of act(0 … n-1)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        act(i)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


def run_once(database_url: str, log: Callable[[str], None], n: int, rounds: int) -> dict:
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models import Concern, Representative, Station
    from models.enums import ConcernAction, Role
    from services import concern_flow, figure_cells
    from services.concerns import ConcernInput, submit_concern

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench-submissions", "RATELIMIT_ENABLED": False})
    results: dict[str, dict[str, list[float]]] = {}
    with app.app_context(), app.test_request_context():
        upgrade()
        station_ids, category_id, rep_id = seed()
        filed: list[int] = []

        def submit(i: int) -> None:
            station = db.session.get(Station, station_ids[i % len(station_ids)])
            data = ConcernInput(category_id=category_id, content=f"{TEXT}（{len(filed)}）")
            concern = submit_concern(station, data, [], storage=None)  # type: ignore[arg-type]
            db.session.commit()
            filed.append(concern.id)
            db.session.remove()

        def accept(_i: int) -> None:
            concern = db.session.get(Concern, filed.pop())
            rep = db.session.get(Representative, rep_id)
            concern_flow.transition(
                concern, ConcernAction.ACCEPT, role=Role.REPRESENTATIVE, actor=rep.user, representative=rep
            )
            db.session.commit()
            db.session.remove()

        for warm in (True, False):
            figure_cells.listen(warm)
            timed(20, submit)
            timed(20, accept)
        for _ in range(rounds):
            for cells in (True, False):
                figure_cells.listen(cells)
                mode = "cells kept" if cells else "cells off"
                for name, act in (("submission", submit), ("accept", accept)):
                    cpu, wall = timed(n, act)
                    entry = results.setdefault(f"{name}, {mode}", {"cpu": [], "wall": []})
                    entry["cpu"].append(cpu)
                    entry["wall"].append(wall)
        figure_cells.listen(True)
        for label, entry in results.items():
            log(
                f"  {label:<26} {statistics.median(entry['cpu']):6.2f} ms CPU, "
                f"{statistics.median(entry['wall']):6.2f} ms wall (median of {rounds} rounds of {n})"
            )
        db.session.remove()
        db.engine.dispose()
    return {k: {m: round(statistics.median(v), 2) for m, v in e.items()} for k, e in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="also on this PostgreSQL server")
    parser.add_argument("-n", type=int, default=100, help="submissions per round and mode")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _print(f"SQLite, {args.n} submissions and accepts per round:")
        run_once(f"sqlite:///{folder}/submissions.db", _print, args.n, args.rounds)
    if args.database_url:
        url = pg_database(args.database_url, create=True, name=PG_DATABASE)
        try:
            _print(f"PostgreSQL, {args.n} submissions and accepts per round:")
            run_once(url, _print, args.n, args.rounds)
        finally:
            pg_database(args.database_url, create=False, name=PG_DATABASE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
