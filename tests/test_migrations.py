"""The schema the Alembic migrations build (the one every test runs on) is the models' schema."""

import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Migrate


def test_migrations_are_at_head(app, db):
    config = app.extensions["migrate"].migrate.get_config(directory=app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"more than one head: {heads}"
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == heads[0]


def test_migrated_schema_matches_the_models(app, db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_check_constraint_is_in_the_database(app, db):
    inspector = sa.inspect(db.engine)
    missing = {}
    for table in db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint) and c.name}
        present = {c["name"] for c in inspector.get_check_constraints(table.name)}
        if wanted - present:
            missing[table.name] = sorted(wanted - present)
    assert not missing
    assert "ck_concern_contact_needs_consent" in {c["name"] for c in inspector.get_check_constraints("concern")}


def _words(clause) -> list[str]:
    text = str(clause.compile() if hasattr(clause, "compile") else clause)
    return [w for w in re.findall(r"[a-z_]+", text.lower()) if w != "text"]


def test_partial_indexes_keep_their_condition(app, db):
    dialect = db.engine.dialect.name
    inspector = sa.inspect(db.engine)
    checked = 0
    for table in db.metadata.sorted_tables:
        reflected = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            where = index.dialect_options[dialect].get("where") if dialect in index.dialect_options else None
            if where is None:
                continue
            assert index.name in reflected, f"{index.name} missing"
            found = reflected[index.name]
            assert bool(found["unique"]) == index.unique
            got = found.get("dialect_options", {}).get(f"{dialect}_where")
            assert got is not None, f"{index.name} lost its WHERE clause"
            # PostgreSQL keeps "x IN (a, b)" as "x = ANY (ARRAY[a, b])".
            words = set(_words(where)) - ({"in"} if "any" in _words(got) else set())
            assert words <= set(_words(got)), (index.name, str(where), str(got))
            checked += 1
    assert checked >= 1  # one open duty per representative


def test_migrate_extension_is_configured_for_batch_mode(app):
    migrate = app.extensions["migrate"]
    assert isinstance(migrate.migrate, Migrate)
    assert migrate.configure_args.get("render_as_batch") is True


def test_concerns_left_dispatched_without_a_unit_go_back_to_their_representative(base_config, tmp_path):
    """0009 repairs the dead end earlier versions left: dispatched with no unit."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from extensions import db as _db
    from models import Concern, ConcernEvent
    from models.enums import ConcernStatus
    from tests import factories

    app = create_app({**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    with app.app_context():
        # The rows are made by today's models (at head), then the schema is taken back
        # to 0008 (0009's downgrade leaves data alone), so later columns do not matter.
        upgrade()
        stuck = factories.concern()
        stuck.assigned_rep = factories.representative([stuck.station])
        stuck.status = ConcernStatus.DISPATCHED
        healthy = factories.concern(stuck.station)
        healthy.status, healthy.unit = ConcernStatus.DISPATCHED, factories.unit()
        _db.session.commit()
        stuck_id, healthy_id = stuck.id, healthy.id
        _db.session.remove()
        downgrade(revision="0008")
        upgrade()
        _db.session.expire_all()
        assert _db.session.get(Concern, stuck_id).status == ConcernStatus.ACCEPTED
        assert _db.session.get(Concern, healthy_id).status == ConcernStatus.DISPATCHED
        events = _db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == stuck_id)).all()
        assert [(e.action, e.is_public) for e in events] == [("send_back_to_rep", False)]
        _db.session.remove()
        _db.engine.dispose()


# Releases upgrade one app server at a time after `flask db upgrade` (deploy/README.md §9): the
# old code keeps serving on the new schema, so a migration only adds. Dropping, renaming or
# changing a column waits for a release whose code no longer uses it; a new NOT NULL column
# has a server default, so the old code's INSERTs still work. Indexes may be replaced.
ONLY_ADD_FROM = "0008"  # the migrations before it predate rolling upgrades
REFUSED_IN_UPGRADE = {"drop_column", "drop_table", "alter_column", "rename_table", "drop_constraint"}
# Reviewed exceptions: a CHECK dropped and made again wider (a new role: every old value is
# still allowed, so the old code's rows and INSERTs pass).
# 0021: a live booking on a slot becomes "on a slot or a reception day, exactly one"; the old code
# never sets reception_day_id, so its rows and INSERTs pass.
WIDENED = {("0020_officials.py", "drop_constraint"), ("0021_reception_bookings.py", "drop_constraint")}


def _upgrade_calls(path):
    import ast

    tree = ast.parse(path.read_text())
    upgrade = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade")
    return [node for node in ast.walk(upgrade) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]


def _not_null_without_default(call) -> bool:
    import ast

    keywords = {k.arg: k.value for k in call.keywords}
    nullable = keywords.get("nullable")
    return isinstance(nullable, ast.Constant) and nullable.value is False and "server_default" not in keywords


def test_migrations_since_rolling_upgrades_only_add():
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    checked, refused = 0, []
    for path in sorted(folder.glob("*.py")):
        if path.name < ONLY_ADD_FROM:
            continue
        checked += 1
        for call in _upgrade_calls(path):
            name = call.func.attr
            if name in REFUSED_IN_UPGRADE and (path.name, name) not in WIDENED:
                refused.append(f"{path.name}:{call.lineno} {name}")
            if name == "add_column":
                columns = [a for a in call.args if getattr(getattr(a, "func", None), "attr", "") == "Column"]
                if any(_not_null_without_default(column) for column in columns):
                    refused.append(f"{path.name}:{call.lineno} NOT NULL without a server default")
    assert checked >= 8
    assert refused == []


def test_the_only_add_check_finds_a_drop(tmp_path):
    migration = tmp_path / "0099_x.py"
    migration.write_text(
        "def upgrade():\n    with op.batch_alter_table('t') as b:\n        b.drop_column('c')\n"
        "        b.add_column(sa.Column('d', sa.Integer(), nullable=False))\n"
    )
    names = [call.func.attr for call in _upgrade_calls(migration)]
    assert "drop_column" in names
    add = next(call for call in _upgrade_calls(migration) if call.func.attr == "add_column")
    assert _not_null_without_default(add.args[0])


def test_existing_representatives_get_a_code_each(base_config, tmp_path):
    """0017 gives every representative already there their code (代表码): distinct, from the
    station codes' alphabet; its downgrade takes the code and the addressed concerns' columns away."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from extensions import db as _db
    from models import Representative
    from services.codes import ALPHABET, REP_CODE_LENGTH
    from tests import factories

    app = create_app({**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    with app.app_context():
        upgrade()
        station = factories.station()
        ids = [factories.representative([station], name=f"代表{i}").id for i in range(5)]
        _db.session.commit()
        _db.session.remove()
        downgrade(revision="0018_station_board")
        columns = {c["name"] for c in sa.inspect(_db.engine).get_columns("representative")}
        assert "code" not in columns
        upgrade()
        codes = dict(_db.session.execute(sa.select(Representative.id, Representative.code)).all())
        assert sorted(codes) == sorted(ids)
        assert len(set(codes.values())) == len(ids)
        assert all(len(c) == REP_CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes.values())
        _db.session.remove()
        _db.engine.dispose()


def test_a_representative_the_old_release_made_gets_a_code_from_make_qrcodes(app, db, runner, tmp_path):
    """During a rolling upgrade the previous release still creates representatives, without
    a code (the column stays nullable); `flask make-qrcodes` after the restarts gives them one."""
    from models import Representative
    from tests import factories

    station = factories.station()
    rep = factories.representative([station], name="旧版本建的代表")
    db.session.execute(sa.update(Representative).where(Representative.id == rep.id).values(code=None))
    db.session.commit()
    assert "旧版本建的代表" in app.test_client().get(f"/s/{station.code}").get_data(as_text=True)
    result = runner.invoke(args=["make-qrcodes", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Gave 1 representatives their code" in result.output
    db.session.expire_all()
    code = db.session.get(Representative, rep.id).code
    assert code and (tmp_path / "r" / f"{code}.png").is_file()
