"""Spreadsheet imports at a province's county scale: 135 stations and 9,700 representatives.

For each database (a fresh SQLite file; PostgreSQL when a URL is given, in a database of its
own, `mashang_bench_imports`, created and dropped again): migrate, add the sample county's
regions (devtools/sample_county.py), write its sheets as .xlsx, then time, as the back
office does them:

1. units, then stations: parse + preview, then apply (one transaction, committed);
2. representatives: parse + preview, apply, commit;
3. the same representatives sheet again: parse + preview (every row unchanged) — what a
   second upload of the same file costs.

It prints the figures; it asserts nothing. Alone:
`python bench/imports.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]`;
bench/run.py calls it (with BENCH_DATABASE_URL's server when set).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STATIONS, REPRESENTATIVES, UNITS = 135, 9_700, 40
PG_DATABASE = "mashang_bench_imports"


def _print(msg: str) -> None:
    print(msg, flush=True)


def pg_database(server_url: str, create: bool, name: str = PG_DATABASE) -> str:
    """A database of its own on the server of `server_url`: (re)created, or dropped (the
    exports' bench uses it too, with its own name)."""
    url = make_url(server_url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def run_once(database_url: str, folder: Path, log: Callable[[str], None]) -> dict:
    from flask_migrate import upgrade

    from app import create_app
    from devtools import sample_county
    from extensions import db
    from services import imports

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench-imports", "RATELIMIT_ENABLED": False})
    figures: dict = {}
    with app.app_context():
        upgrade()
        sample_county.ensure_regions()
        db.session.commit()
        files = sample_county.write_sheets(folder, stations=STATIONS, representatives=REPRESENTATIVES, units=UNITS)

        def step(kind: str, name: str) -> None:
            content = files[kind].read_bytes()
            started = time.perf_counter()
            result = imports.preview(None, kind, content)
            previewed = time.perf_counter()
            assert result.ok, [(r.number, r.problems) for r in result.rows if r.problems][:3]
            upload = imports.store_upload(None, kind, files[kind].name, content)
            outcome = imports.apply(None, upload)
            db.session.commit()
            done = time.perf_counter()
            figures[name] = {
                "rows": len(result.rows),
                "preview_s": round(previewed - started, 2),
                "apply_s": round(done - previewed, 2),
                "created": outcome.summary["created"],
            }
            took = f"preview {previewed - started:.2f} s, apply {done - previewed:.2f} s"
            log(f"  {name}: {len(result.rows):,} rows, {took}")

        step("units", "units")
        step("stations", "stations")
        step("representatives", "representatives")
        started = time.perf_counter()
        again = imports.preview(None, "representatives", files["representatives"].read_bytes())
        elapsed = time.perf_counter() - started
        figures["representatives_again"] = {
            "rows": len(again.rows),
            "preview_s": round(elapsed, 2),
            "unchanged": again.counts()["unchanged"],
        }
        log(f"  representatives again: {again.counts()['unchanged']:,} unchanged, preview {elapsed:.2f} s")
        db.session.remove()
        db.engine.dispose()
    return figures


def imports_bench(pg_server_url: str | None, log: Callable[[str], None] = _print, keep: bool = False) -> dict:
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="mashang-imports-") as tmp:
        folder = Path(tmp)
        log(f"imports: {STATIONS} stations, {REPRESENTATIVES:,} representatives, {UNITS} units (SQLite)")
        results["sqlite"] = run_once(f"sqlite:///{folder / 'imports.sqlite3'}", folder / "sqlite", log)
        if pg_server_url:
            log("imports: the same on PostgreSQL")
            url = pg_database(pg_server_url, create=True)
            try:
                results["postgresql"] = run_once(url, folder / "pg", log)
            finally:
                if not keep:
                    pg_database(pg_server_url, create=False)
    return results


def table(results: dict) -> str:
    lines = ["", f"Spreadsheet imports ({STATIONS} stations, {REPRESENTATIVES:,} representatives, .xlsx)"]
    lines.append(f"{'':28}" + "".join(f"{kind:>22}" for kind in results))
    for name in ("units", "stations", "representatives"):
        for part in ("preview_s", "apply_s"):
            cells = "".join(f"{results[k].get(name, {}).get(part, '–'):>22}" for k in results)
            lines.append(f"{name + ' ' + part.replace('_s', ' (s)'):28}{cells}")
    cells = "".join(f"{results[k]['representatives_again']['preview_s']:>22}" for k in results)
    lines.append(f"{'same sheet again, preview (s)':28}{cells}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (any database on it) to bench on as well")
    parser.add_argument("--keep", action="store_true", help=f"keep the PostgreSQL database {PG_DATABASE}")
    args = parser.parse_args()
    results = imports_bench(args.database_url, keep=args.keep)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
