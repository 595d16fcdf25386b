"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db as _db
from composition import create_app
from tests.support import running


def schema_differences(connection) -> list:
    """What `flask db migrate` would generate: empty when migrations and models agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
    return compare_metadata(context, _db.metadata)


def test_migrated_database_matches_the_models(app, db):
    with db.engine.connect() as connection:
        differences = schema_differences(connection)
    assert differences == [], "models and migrations differ; run scripts/regen_initial_migration.sh:\n" + "\n".join(
        map(repr, differences)
    )


def test_migrations_have_one_head(app):
    config = app.extensions["migrate"].migrate.get_config(app.extensions["migrate"].directory)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    application = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'roundtrip.db'}"})
    with running(application):
        upgrade()
        downgrade(revision="base")
        with _db.engine.connect() as connection:
            left = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        assert left == []
        upgrade()
        with _db.engine.connect() as connection:
            assert schema_differences(connection) == []
