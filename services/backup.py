"""Backups that can be restored, and the restore that proves it.

A backup is one dated folder, made under a hidden name and renamed when complete (so a
backup cut short never looks like one):

    mashang-20261201-0930/
        mashang-20261201-0930.sqlite3   SQLite: sqlite3's online backup (the app keeps running)
        mashang-20261201-0930.dump      PostgreSQL: pg_dump --format=custom
        photos/ab/abXYZ….jpg            every filed photo, laid out as LocalStorage lays them
        manifest.json                   what the restore checks: time, database kind, Alembic
                                        revision, rows per table, photos' count and bytes,
                                        the dump's size and sha256

Photos are a folder, not an archive: a photo never changes under its key, so a photo that
the previous backup already holds is hard-linked from it rather than copied. Each backup
stays complete on its own (restore or delete any one), yet a nightly backup of a province
costs the disk only the day's new photos; an archive would copy them all every night.

The database is copied first, then the photos: a photo filed in between is one extra file,
never a record whose photo is missing (only a purge between the two could leave that, and
the restore's check reports it).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from extensions import sqlite_file
from services.clock import local_now
from services.errors import DomainError
from services.storage import LocalStorage

FORMAT = 1
MANIFEST = "manifest.json"
PHOTOS = "photos"
NAME_RE = re.compile(r"^mashang-(\d{8})-(\d{4})(?:-(\d+))?$")
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".dump"}
PG_CLIENT_HINT = (
    "install Debian's postgresql-client (apt-get install postgresql-client), of the server's version or newer"
)


class BackupRefused(DomainError):
    pass


# --- what a database holds -------------------------------------------------------------


def table_counts(conn: sa.Connection) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision and the rows of every table (but Alembic's own)."""
    names = sorted(n for n in sa.inspect(conn).get_table_names() if n != "alembic_version")
    counts = {name: int(conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0) for name in names}
    revision = None
    if sa.inspect(conn).has_table("alembic_version"):
        revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    return revision, counts


def is_empty(engine: sa.Engine) -> tuple[bool, list[str]]:
    """Whether the database has no tables at all (a SQLite file that is not there yet counts)."""
    path = sqlite_file(engine)
    if path is not None and not os.path.exists(path):
        return True, []
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
    return not names, names


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(engine: sa.Engine) -> tuple[str, dict[str, str]]:
    """A libpq URI for pg_dump/pg_restore, and the environment carrying the password
    (never on the command line, where `ps` shows it)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupRefused("pg_client_missing", f"{name} was not found: {PG_CLIENT_HINT}.")
    return found


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupRefused("pg_tool_failed", f"{Path(argv[0]).name} failed (exit {done.returncode}): {tail}")


# --- making one ------------------------------------------------------------------------


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One backup or prune at a time per folder (two timers, two machines sharing it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupRefused("busy", f"Another backup is running in {folder}.") from None
        yield


def _fresh_name(folder: Path, now: datetime | None) -> str:
    base = f"mashang-{local_now(now):%Y%m%d-%H%M}"
    name, n = base, 1
    while (folder / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _backup_sqlite(engine: sa.Engine, target: Path) -> dict[str, Any]:
    path = sqlite_file(engine)
    if path is None or not os.path.exists(path):
        raise BackupRefused("no_database_file", "The SQLite database is not a file on this machine.")
    source = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True)
    copy = sqlite3.connect(target)
    try:
        # One step: a consistent snapshot while the app goes on writing (WAL readers never
        # block writers), the same pages as the live file.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()
    plain = sa.create_engine(f"sqlite:///{target}")
    try:
        with plain.connect() as conn:
            revision, counts = table_counts(conn)
    finally:
        plain.dispose()
    return {"revision": revision, "tables": counts}


def _backup_postgresql(engine: sa.Engine, target: Path) -> dict[str, Any]:
    pg_dump = _pg_tool("pg_dump")
    uri, env = _libpq(engine)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # pg_dump reads the snapshot this transaction exported: the row counts in the
            # manifest are those of the dump exactly, however busy the database.
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            revision, counts = table_counts(conn)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", "--file", str(target), "--dbname", uri], env)
        server = conn.scalar(sa.text("SHOW server_version"))
    return {"revision": revision, "tables": counts, "server_version": server}


def _copy_photos(store: LocalStorage, into: LocalStorage, previous: LocalStorage | None) -> tuple[int, int]:
    count = total = 0
    for key, size in store.iter_photos():
        target = into.local_path(key)
        old = previous.local_path(key) if previous is not None else None
        if old is not None and old.is_file() and old.stat().st_size == size:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(old, target)
            except OSError:  # another file system, or one without hard links
                shutil.copyfile(old, target)
        else:
            data = store.read(key)
            if data is None:
                continue  # deleted since it was listed
            into.put(key, data)
        count += 1
        total += target.stat().st_size
    return count, total


def backups_in(folder: Path) -> list[Path]:
    """The complete backups in a folder, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if NAME_RE.match(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=_sort_key)


def _sort_key(path: Path) -> tuple[str, str, int]:
    m = NAME_RE.match(path.name)
    assert m is not None
    return m.group(1), m.group(2), int(m.group(3) or 1)


def make_backup(engine: sa.Engine, store: LocalStorage, folder: Path, *, now: datetime | None = None) -> Path:
    """Back up the database and the photos into a new dated folder inside `folder`."""
    kind = engine.dialect.name
    if kind not in SUFFIXES:
        raise BackupRefused("unsupported_database", f"Cannot back up a {kind} database.")
    with _locked(folder):
        name = _fresh_name(folder, now)
        work = folder / f".{name}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(mode=0o700)  # residents' names, mobiles and photos: the owner's eyes only
        try:
            dump = work / f"{name}{SUFFIXES[kind]}"
            database = _backup_sqlite(engine, dump) if kind == "sqlite" else _backup_postgresql(engine, dump)
            earlier = backups_in(folder)
            previous = LocalStorage(str(earlier[-1] / PHOTOS)) if earlier else None
            photos, photo_bytes = _copy_photos(store, LocalStorage(str(work / PHOTOS)), previous)
            manifest = {
                "format": FORMAT,
                "name": name,
                "created_at": (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "database": {
                    "kind": kind,
                    "file": dump.name,
                    "bytes": dump.stat().st_size,
                    "sha256": _sha256(dump),
                    **({"server_version": database["server_version"]} if "server_version" in database else {}),
                },
                "alembic_revision": database["revision"],
                "tables": database["tables"],
                "photos": {"folder": PHOTOS, "count": photos, "bytes": photo_bytes},
            }
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            os.rename(work, folder / name)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return folder / name


# --- retention -------------------------------------------------------------------------


def prune(folder: Path, *, keep: int, keep_weekly: int = 0) -> list[Path]:
    """Delete the backups beyond the newest `keep`, but for the newest backup of each of
    the `keep_weekly` most recent weeks; returns those deleted."""
    with _locked(folder):
        found = backups_in(folder)
        kept = set(found[-keep:]) if keep > 0 else set()
        weeks: dict[tuple[int, int], Path] = {}
        for path in found:  # oldest first: the last one seen in a week is its newest
            day = datetime.strptime(_sort_key(path)[0], "%Y%m%d").date()
            iso = day.isocalendar()
            weeks[(iso.year, iso.week)] = path
        if keep_weekly > 0:
            kept.update(weeks[week] for week in sorted(weeks)[-keep_weekly:])
        gone = [path for path in found if path not in kept]
        for path in gone:
            shutil.rmtree(path)
        return gone


# --- restoring -------------------------------------------------------------------------


@dataclass
class Backup:
    folder: Path
    manifest: dict[str, Any]

    @property
    def dump(self) -> Path:
        return self.folder / self.manifest["database"]["file"]

    @property
    def photos(self) -> LocalStorage:
        return LocalStorage(str(self.folder / PHOTOS))


def _mismatch(what: str) -> BackupRefused:
    return BackupRefused("manifest_mismatch", f"The backup does not match its manifest: {what}. Not restored.")


def open_backup(path: Path) -> Backup:
    """A backup folder (or its manifest or dump) whose files match its manifest."""
    folder = path if path.is_dir() else path.parent
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        database = manifest["database"]
        name = str(database["file"])
        expected = (str(database["kind"]), int(database["bytes"]), str(database["sha256"]))
        tables = {str(k): int(v) for k, v in manifest["tables"].items()}
        photo_count, photo_bytes = int(manifest["photos"]["count"]), int(manifest["photos"]["bytes"])
    except FileNotFoundError:
        raise BackupRefused("no_manifest", f"No {MANIFEST} in {folder}: not a backup made by `flask backup`.") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BackupRefused("bad_manifest", f"{folder / MANIFEST} cannot be read as a backup manifest.") from None
    if manifest.get("format") != FORMAT or "/" in name or "\\" in name or expected[0] not in SUFFIXES:
        raise BackupRefused("bad_manifest", f"{folder / MANIFEST} is not a manifest this version can restore.")
    backup = Backup(folder, manifest)
    if not backup.dump.is_file():
        raise _mismatch(f"{name} is missing")
    if backup.dump.stat().st_size != expected[1] or _sha256(backup.dump) != expected[2]:
        raise _mismatch(f"{name} is not the file it names (size or sha256 differ)")
    count = total = 0
    for _key, size in backup.photos.iter_photos():
        count += 1
        total += size
    if (count, total) != (photo_count, photo_bytes):
        raise _mismatch(f"{count} photos ({total} bytes) where it lists {photo_count} ({photo_bytes} bytes)")
    if expected[0] == "sqlite":  # the file itself can be counted before anything is touched
        plain = sa.create_engine(f"sqlite:///file:{quote(str(backup.dump.resolve()))}?mode=ro&uri=true")
        try:
            with plain.connect() as conn:
                found = table_counts(conn)[1]
        except sa.exc.SQLAlchemyError:
            raise _mismatch(f"{name} is not a SQLite database") from None
        finally:
            plain.dispose()
        differ = sorted(t for t in set(found) | set(tables) if found.get(t) != tables.get(t))
        if differ:
            raise _mismatch("rows differ in " + ", ".join(differ))
    return backup


def check_target(engine: sa.Engine, backup: Backup) -> None:
    kind = backup.manifest["database"]["kind"]
    if engine.dialect.name != kind:
        raise BackupRefused(
            "wrong_kind", f"This is a {kind} backup; DATABASE_URL names a {engine.dialect.name} database."
        )
    empty, names = is_empty(engine)
    if not empty:
        shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
        raise BackupRefused(
            "not_empty",
            f"The target database is not empty ({len(names)} tables: {shown}). A backup is restored "
            "into an empty database only: create a new one (do not run `flask db upgrade` on it) "
            "and point DATABASE_URL at it.",
        )


def _restore_sqlite(engine: sa.Engine, backup: Backup) -> None:
    path = sqlite_file(engine)
    if path is None:
        raise BackupRefused("no_database_file", "DATABASE_URL must name a SQLite file to restore into.")
    engine.dispose()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup.dump, tmp)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)  # an empty database's journal must not be replayed onto the copy
    os.replace(tmp, target)


def _restore_postgresql(engine: sa.Engine, backup: Backup) -> None:
    pg_restore = _pg_tool("pg_restore")
    uri, env = _libpq(engine)
    engine.dispose()
    # One transaction: a restore that fails part-way leaves the database empty, as it was.
    argv = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run([*argv, "--dbname", uri, str(backup.dump)], env)


def restore(engine: sa.Engine, store: LocalStorage, backup: Backup) -> int:
    """Put the backup's database into the (empty) target and its photos into the store;
    returns how many photos were written."""
    check_target(engine, backup)
    if backup.manifest["database"]["kind"] == "sqlite":
        _restore_sqlite(engine, backup)
    else:
        _restore_postgresql(engine, backup)
    written = 0
    source = backup.photos
    for key, _size in source.iter_photos():
        data = source.read(key)
        if data is not None:
            store.put(key, data)
            written += 1
    return written


@dataclass
class Verification:
    lines: list[tuple[str, int | str | None, int | str | None]] = field(default_factory=list)
    # Photos that records name but neither the backup nor the store holds: a warning, not
    # a failure, as the restore cannot bring back what the backup never had.
    missing_photos: int = 0

    @property
    def ok(self) -> bool:
        return all(expected == found for _what, expected, found in self.lines)


def verify(engine: sa.Engine, store: LocalStorage, backup: Backup) -> Verification:
    """Compare the restored database and store with the manifest."""
    result = Verification()
    manifest = backup.manifest
    with engine.connect() as conn:
        revision, counts = table_counts(conn)
        result.lines.append(("alembic revision", manifest["alembic_revision"], revision))
        for table in sorted(set(manifest["tables"]) | set(counts)):
            result.lines.append((f"rows in {table}", manifest["tables"].get(table), counts.get(table)))
        keys = conn.scalars(sa.text("SELECT storage_key FROM attachment")).all() if "attachment" in counts else []
    in_store = dict(store.iter_photos())
    backed_up = dict(backup.photos.iter_photos())
    present = sum(1 for key, size in backed_up.items() if in_store.get(key) == size)
    result.lines.append(("photos", manifest["photos"]["count"], present))
    result.missing_photos = sum(1 for key in keys if key not in in_store)
    return result
