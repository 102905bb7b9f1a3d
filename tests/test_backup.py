"""`flask backup` and `flask restore`: a backup restored into an empty database (a second
SQLite file, or a second PostgreSQL database) holds every concern, event, duty and photo."""

import json
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Attachment, ConcernEvent, Duty, utcnow
from models.enums import ConcernStatus, DutyMethod, DutyStatus
from services import backup
from services.storage import LocalStorage
from tests import factories
from tests.conftest import make_app

TABLES = ("concern", "concern_event", "duty", "attachment", "station", "representative", "user_account")


@pytest.fixture(scope="module")
def photo_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("backup-photos")


@pytest.fixture
def app_config(photo_root):
    # Its own photo folder: the backup copies the whole store, not what other tests left.
    return {"UPLOAD_FOLDER": str(photo_root)}


@pytest.fixture
def store(app, photo_root) -> LocalStorage:
    shutil.rmtree(photo_root)
    photo_root.mkdir()
    return LocalStorage(str(photo_root))


@pytest.fixture
def world(db, store):
    """Concerns with their trail and photos, and duties; returns the photos' bytes by key."""
    station = factories.station()
    rep = factories.representative(stations=[station])
    photos: dict[str, bytes] = {}
    for n in range(3):
        concern = factories.concern(station, contact_name="李秀英", contact_mobile="13800138000", consent_at=utcnow())
        for status in (ConcernStatus.SUBMITTED, ConcernStatus.ACCEPTED):
            db.session.add(ConcernEvent(concern=concern, action=status.value, to_status=status, note=f"第{n}件"))
        for color in ((200, 30, 30), (30, 200, 30 + n)):
            data = factories.image_bytes(color=color)
            key = store.save(data, "jpg")
            photos[key] = data
            db.session.add(
                Attachment(
                    concern=concern, storage_key=key, content_type="image/jpeg", size=len(data), width=64, height=48
                )
            )
    for hours in (30, 5):
        start = utcnow() - timedelta(hours=hours)
        db.session.add(
            Duty(
                station=station,
                representative=rep,
                checked_in_at=start,
                checked_out_at=start + timedelta(hours=2),
                method=DutyMethod.QR,
                status=DutyStatus.CLOSED,
                nonce=secrets.token_hex(8),
                notes="接待群众",
            )
        )
    held = store.hold(b"not filed yet", "jpg")  # a held photo is no part of a backup
    db.session.commit()
    return {"photos": photos, "held": held}


@pytest.fixture
def target(base_config, tmp_path):
    """An app on an empty database of the same kind, with its own empty photo folder."""
    url = sa.make_url(base_config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        target_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        admin = None
    else:
        name = f"{url.database}_restore"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        target_url = url.set(database=name).render_as_string(hide_password=False)
    app = make_app(base_config, DATABASE_URL=target_url, UPLOAD_FOLDER=str(tmp_path / "restored-photos"))
    yield app
    with app.app_context():
        _db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rows(engine: sa.Engine, table: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]


def make(runner, folder: Path, *extra: str) -> Path:
    result = runner.invoke(args=["backup", "--to", str(folder), *extra])
    assert result.exit_code == 0, result.output
    made = backup.backups_in(folder)[-1]
    assert f"Backed up to {made}" in result.output
    return made


def restore(app, made: Path, *args: str, **kw):
    # Inside its own context: the command would otherwise run on the app the test is in.
    with app.app_context():
        return app.test_cli_runner().invoke(args=["restore", str(made), *args], **kw)


def test_a_restored_backup_holds_every_concern_event_duty_and_photo(app, runner, world, target, tmp_path):
    made = make(runner, tmp_path / "backups")
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["database"]["kind"] == _db.engine.dialect.name
    assert manifest["alembic_revision"] == _db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert manifest["tables"]["concern"] == 3 and manifest["tables"]["concern_event"] == 6
    assert manifest["tables"]["duty"] == 2 and manifest["tables"]["attachment"] == 6
    assert manifest["photos"] == {
        "folder": "photos",
        "count": 6,
        "bytes": sum(len(d) for d in world["photos"].values()),
    }
    assert len(manifest["database"]["sha256"]) == 64

    result = restore(target, made, "--yes")
    assert result.exit_code == 0, result.output
    assert "Restore verified." in result.output and "DIFFERS" not in result.output

    source = _db.engine
    with target.app_context():
        restored = _db.engine
        assert restored.url != source.url
        for table in TABLES:
            assert rows(restored, table) == rows(source, table), table
        restored_store = LocalStorage(target.config["UPLOAD_FOLDER"])
        for key, data in world["photos"].items():
            assert restored_store.read(key) == data
        assert dict(restored_store.iter_photos()).keys() == world["photos"].keys()  # the held one stayed behind
        with restored.connect() as conn:
            assert conn.scalar(sa.text("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")) == "backup.restored"


def test_refuses_a_database_that_is_not_empty(runner, world, tmp_path):
    made = make(runner, tmp_path / "backups")
    result = runner.invoke(args=["restore", str(made), "--yes"])
    assert result.exit_code == 1
    assert "The target database is not empty" in result.output
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 6


def _tampered(made: Path, into: Path, tamper: str) -> Path:
    copy = into / made.name
    shutil.copytree(made, copy)
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if tamper == "manifest photos":
        manifest["photos"]["count"] += 1
    elif tamper == "manifest rows":
        manifest["tables"]["concern"] -= 1
    elif tamper == "dump byte":
        dump = copy / manifest["database"]["file"]
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
    elif tamper == "missing photo":
        next((copy / "photos").rglob("*.jpg")).unlink()
    manifest_path.write_text("{" if tamper == "not json" else json.dumps(manifest))
    return copy


def test_asks_first_and_refuses_a_backup_that_does_not_match_its_manifest(runner, world, target, tmp_path):
    # One backup and one target for every case: a second database costs a second or two.
    made = make(runner, tmp_path / "backups")
    result = restore(target, made, input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output

    for n, tamper in enumerate(["manifest photos", "dump byte", "missing photo", "not json"]):
        result = restore(target, _tampered(made, tmp_path / str(n), tamper), "--yes")
        assert result.exit_code == 1, (tamper, result.output)
        if tamper == "not json":
            assert "cannot be read as a backup manifest" in result.output
        else:
            assert "The backup does not match its manifest" in result.output, tamper
        with target.app_context():
            assert backup.is_empty(_db.engine)[0], tamper  # refused before anything was touched
        assert not Path(target.config["UPLOAD_FOLDER"]).exists()

    result = restore(target, _tampered(made, tmp_path / "rows", "manifest rows"), "--yes")
    assert result.exit_code == 1, result.output
    assert "Restore verified." not in result.output
    if _db.engine.dialect.name == "sqlite":
        assert "The backup does not match its manifest: rows differ in concern" in result.output
    else:
        # A dump is counted once restored: the check after the restore catches it.
        assert "rows in concern" in result.output and "DIFFERS" in result.output
        assert "does not match the manifest: do not use this database" in result.output


def test_backups_link_the_photos_the_previous_one_holds(runner, world, store, tmp_path):
    first = make(runner, tmp_path / "backups")
    store.save(b"a new photo", "jpg")
    second = make(runner, tmp_path / "backups")
    assert json.loads((second / "manifest.json").read_text())["photos"]["count"] == 7
    key = next(iter(world["photos"]))
    old = LocalStorage(str(first / "photos")).local_path(key)
    new = LocalStorage(str(second / "photos")).local_path(key)
    assert old.stat().st_ino == new.stat().st_ino

    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups"), "--keep", "1"])
    assert result.exit_code == 0, result.output
    (third,) = backup.backups_in(tmp_path / "backups")
    assert third not in (first, second)
    assert f"Removed old backup {first.name}" in result.output and f"Removed old backup {second.name}" in result.output
    assert LocalStorage(str(third / "photos")).read(key) == world["photos"][key]


def test_prune_keeps_the_newest_and_one_a_week(tmp_path):
    names = [
        "mashang-20261102-0200",  # week 45
        "mashang-20261108-0200",  # week 45, its newest
        "mashang-20261110-0200",  # week 46
        "mashang-20261116-0200",  # week 47
        "mashang-20261117-0200",
        "mashang-20261117-0200-2",
        "mashang-20261118-0200",
    ]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    (tmp_path / ".mashang-20261119-0200.partial").mkdir()  # one being made: not a backup
    (tmp_path / "notes").mkdir()

    gone = backup.prune(tmp_path, keep=2, keep_weekly=3)
    assert sorted(p.name for p in gone) == ["mashang-20261102-0200", "mashang-20261116-0200", "mashang-20261117-0200"]
    assert [p.name for p in backup.backups_in(tmp_path)] == [
        "mashang-20261108-0200",
        "mashang-20261110-0200",
        "mashang-20261117-0200-2",
        "mashang-20261118-0200",
    ]
    assert (tmp_path / "notes").is_dir() and (tmp_path / ".mashang-20261119-0200.partial").is_dir()


def test_names_are_local_dates(db, store, tmp_path):
    made = backup.make_backup(db.engine, store, tmp_path, now=datetime(2026, 11, 30, 18, 30, tzinfo=UTC))
    assert made.name == "mashang-20261201-0230"  # 02:30 in Beijing
    assert json.loads((made / "manifest.json").read_text())["created_at"] == "2026-11-30T18:30:00Z"


def test_a_backup_is_for_its_owner_only(db, store, tmp_path):
    made = backup.make_backup(db.engine, store, tmp_path)
    assert made.stat().st_mode & 0o777 == 0o700  # residents' contacts: no other account reads them


def test_a_backup_cut_short_leaves_nothing(db, store, tmp_path, monkeypatch):
    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(backup, "_copy_photos", fail)
    with pytest.raises(OSError):
        backup.make_backup(db.engine, store, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]


def test_cli_options_checked(runner, tmp_path):
    result = runner.invoke(args=["backup", "--to", str(tmp_path), "--keep-weekly", "4"])
    assert result.exit_code == 2 and "--keep-weekly goes with --keep" in result.output
    result = runner.invoke(args=["restore", str(tmp_path), "--yes"])
    assert result.exit_code == 1 and "No manifest.json" in result.output


def test_a_missing_postgresql_client_is_named(monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda _name: None)
    with pytest.raises(backup.BackupRefused) as refused:
        backup._pg_tool("pg_dump")
    assert refused.value.code == "pg_client_missing"
    assert "postgresql-client" in refused.value.message


def test_storage_lists_filed_photos_only(tmp_path):
    store = LocalStorage(str(tmp_path))
    assert list(store.iter_photos()) == []
    key = store.save(b"abc", "jpg")
    store.hold(b"held", "jpg")
    (store.local_path(key).parent / "xx.jpg.part").write_bytes(b"half")
    assert list(store.iter_photos()) == [(key, 3)]
    store.put("AAkey.png", b"png!")
    assert store.read("AAkey.png") == b"png!"
    assert sorted(store.iter_photos()) == sorted([(key, 3), ("AAkey.png", 4)])
