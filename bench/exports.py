"""The inbox's export at its limit: 50,000 concerns as .xlsx and as CSV.

For each database (a fresh SQLite file; PostgreSQL when a URL is given, in a database of its
own, `mashang_bench_exports`, created and dropped again): migrate, add a county with one
station, a unit and a representative, and 50,000 concerns (the demo's texts, mixed
statuses, half with contact details). Then, as the back office does it for congress staff
of the county (services.exports.concern_export: the query, the rows, the file):

1. the time: wall seconds and the process's CPU seconds (the machine may be shared: CPU
   time is what this process itself spent), best of a few runs, beside the 2 s target;
2. the memory: the peak of Python's allocations during the export (tracemalloc, a run of
   its own since tracing slows it down) and the rise of the process's peak resident set
   (VmHWM, reset before), at 5,000 and at 50,000 rows: streamed means the same peak for
   both, not ten times more.

It prints the figures; it asserts nothing. Alone:
`python bench/exports.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]`;
bench/run.py calls it (with BENCH_DATABASE_URL's server when set).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imports import pg_database  # noqa: E402 (bench/imports.py, beside this script)

ROWS = 50_000
SMALL_ROWS = 5_000
TARGET_SECONDS = 2.0
PG_DATABASE = "mashang_bench_exports"
FORMATS = ("xlsx", "csv")


def _print(msg: str) -> None:
    print(msg, flush=True)


def _peak_rss_reset() -> None:
    """Reset the kernel's peak resident set (VmHWM) of this process, where Linux allows it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def seed(rows: int) -> int:
    """A county, a station, a unit, a representative, `rows` concerns; the staff's user id."""
    from devtools.demo import SCALE_CONTENTS
    from extensions import db
    from models import Category, Concern, Region, Representative, Station, Unit, User, utcnow
    from models.enums import ConcernStatus, Rating, RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
    from services import figure_cells
    from services.codes import new_rep_code, new_station_code

    county = Region(code="41168199", name="项城市", level=RegionLevel.COUNTY)
    station = Station(
        code=new_station_code(),
        name="花园街道人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.INDUSTRY,
        address="项城市莲花大道18号",
        opening_hours="周一至周五 9:00–17:30",
        phone="0394-4321234",
        region=county,
    )
    category = Category(code="bench_urban", name_zh="城乡建设", name_en="Urban and rural")
    unit = Unit(name="项城市住房和城乡建设局", kind=UnitKind.GOVERNMENT, region=county)
    rep_user = User(username="bench_rep", display_name="李代表", password_hash="-", role=Role.REPRESENTATIVE)
    rep = Representative(
        user=rep_user, code=new_rep_code(), level=RepLevel.COUNTY, occupation="教师", stations=[station]
    )
    staff = User(
        username="bench_staff", display_name="县人大常委会", password_hash="-", role=Role.CONGRESS_STAFF, region=county
    )
    db.session.add_all([county, station, category, unit, rep, staff])
    db.session.flush()
    rnd = random.Random(17)
    now = utcnow()
    statuses = [ConcernStatus.CLOSED, ConcernStatus.DISPATCHED, ConcernStatus.SUBMITTED, ConcernStatus.REPLIED]
    texts = [text for _category, text in SCALE_CONTENTS]
    batch = []
    for n in range(rows):
        status = statuses[n % len(statuses)]
        taken = status != ConcernStatus.SUBMITTED
        contact = n % 2 == 0
        created = now - timedelta(minutes=rows - n)
        batch.append(
            {
                "tracking_code": f"X{n:09d}",
                "station_id": station.id,
                "category_id": category.id,
                "content": rnd.choice(texts),
                "status": status,
                "assigned_rep_id": rep.id if taken else None,
                "unit_id": unit.id if taken and status != ConcernStatus.CLOSED else None,
                "contact_name": "张三丰" if contact else None,
                "contact_mobile": f"138{n:08d}" if contact else None,
                "consent_at": created if contact else None,
                "created_at": created,
                "due_at": created + timedelta(days=7) if status != ConcernStatus.CLOSED else None,
                "closed_at": created + timedelta(days=5) if status == ConcernStatus.CLOSED else None,
                "rating_unit": Rating.SATISFIED.value if status == ConcernStatus.CLOSED else None,
                "rating_rep": Rating.SATISFIED.value if status == ConcernStatus.CLOSED else None,
            }
        )
        if len(batch) == 5_000:
            db.session.execute(sa.insert(Concern).execution_options(figures_unaffected=True), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(Concern).execution_options(figures_unaffected=True), batch)
    # The bulk insert went past the flushes that keep the figures' cells.
    figure_cells.rebuild(db.session.connection())
    db.session.commit()
    return staff.id


def run_once(database_url: str, log: Callable[[str], None], runs: int) -> dict:
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from models import User, utcnow
    from services import exports
    from services.inbox import InboxFilter

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench-exports", "RATELIMIT_ENABLED": False})
    figures: dict = {}
    with app.app_context(), app.test_request_context():
        upgrade()
        started = time.perf_counter()
        staff_id = seed(ROWS)
        log(f"  {ROWS:,} concerns seeded in {time.perf_counter() - started:.1f} s")

        def export(fmt: str, limit: int) -> tuple[int, int]:
            db.session.remove()
            user = db.session.get(User, staff_id)
            made = exports.concern_export(user, InboxFilter(), utcnow(), fmt, limit)
            assert made.file is not None
            size = exports.file_size(made.file)
            for _chunk in exports.stream(made.file):  # as the response sends it
                pass
            db.session.rollback()
            return made.rows, size

        for fmt in FORMATS:
            export(fmt, 1_000)  # warm: imports, caches, the statement
            walls, cpus = [], []
            for _ in range(runs):
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                rows, size = export(fmt, ROWS)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            memory = {}
            for limit in (SMALL_ROWS, ROWS):
                gc.collect()
                _peak_rss_reset()
                before = _peak_rss_mb()
                tracemalloc.start()
                export(fmt, limit)
                _current, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                after = _peak_rss_mb()
                memory[limit] = {
                    "python_peak_mb": round(peak / 2**20, 1),
                    "rss_rise_mb": round(after - before, 1) if after is not None and before is not None else None,
                }
            figures[fmt] = {
                "rows": rows,
                "bytes": size,
                "wall_s": round(min(walls), 2),
                "cpu_s": round(min(cpus), 2),
                "wall_runs": [round(w, 2) for w in walls],
                "memory": memory,
            }
            log(
                f"  {fmt}: {rows:,} rows, {size / 2**20:.1f} MB, {min(walls):.2f} s wall, {min(cpus):.2f} s CPU; "
                f"Python peak {memory[SMALL_ROWS]['python_peak_mb']} MB at {SMALL_ROWS:,} rows, "
                f"{memory[ROWS]['python_peak_mb']} MB at {ROWS:,}"
            )
        db.session.remove()
        db.engine.dispose()
    return figures


def exports_bench(pg_server_url: str | None, log: Callable[[str], None] = _print, runs: int = 3) -> dict:
    """The figures for a fresh SQLite file and, given a server, for PostgreSQL."""
    results: dict = {"reference_loop_s": reference_loop_seconds()}
    with tempfile.TemporaryDirectory(prefix="mashang-exports-") as folder:
        log(f"exports: {ROWS:,} concerns as .xlsx and CSV (SQLite)")
        results["sqlite"] = run_once(f"sqlite:///{folder}/exports.sqlite3", log, runs)
    if pg_server_url:
        log(f"exports: {ROWS:,} concerns as .xlsx and CSV (PostgreSQL)")
        url = pg_database(pg_server_url, create=True, name=PG_DATABASE)
        try:
            results["postgresql"] = run_once(url, log, runs)
        finally:
            pg_database(pg_server_url, create=False, name=PG_DATABASE)
    return results


def reference_loop_seconds() -> float:
    """CPU seconds of a plain Python loop of 10 million additions: how fast this machine's
    Python is right now, to read the export's CPU seconds by on a shared machine."""
    started = time.process_time()
    total = 0
    for n in range(10_000_000):
        total += n
    return round(time.process_time() - started, 2)


def table(results: dict) -> str:
    small_k, big_k = f"{SMALL_ROWS // 1000}k", f"{ROWS // 1000}k"
    lines = [
        "=" * 100,
        f"Exports: the inbox's {ROWS:,} newest concerns as a file (services.exports.concern_export: "
        "query, rows, file, sent in chunks)",
        f"  {'database':<12}{'format':<8}{'rows':>8}{'MB':>7}{'wall s':>9}{'CPU s':>8}   < {TARGET_SECONDS:.0f} s"
        f"   Python peak MB {small_k} / {big_k}   RSS rise MB {small_k} / {big_k}",
    ]
    for database, figures in results.items():
        if database == "reference_loop_s":
            continue
        for fmt, f in figures.items():
            small, big = f["memory"][SMALL_ROWS], f["memory"][ROWS]
            lines.append(
                f"  {database:<12}{fmt:<8}{f['rows']:>8,}{f['bytes'] / 2**20:>7.1f}{f['wall_s']:>9.2f}"
                f"{f['cpu_s']:>8.2f}   {'ok' if f['wall_s'] < TARGET_SECONDS else 'MISS':<6}"
                f"   {small['python_peak_mb']:>14} / {big['python_peak_mb']:<6}"
                f"   {small['rss_rise_mb']!s:>12} / {big['rss_rise_mb']!s}"
            )
    if "reference_loop_s" in results:
        lines.append(
            f"  Reference: 10 million Python additions took {results['reference_loop_s']} s CPU here "
            "(the same loop elsewhere scales the figures); a shared, loaded machine stretches them all."
        )
    lines.append("=" * 100)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (its database is made and dropped)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per format; the best is kept")
    args = parser.parse_args()
    print(table(exports_bench(args.database_url, runs=args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
