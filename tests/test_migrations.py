"""Alembic is the only source of the schema: the models and the migrations must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.core import migrate
from app.core.db import import_all_models, metadata


def test_models_and_migrations_agree(engine):
    import_all_models()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_schema_is_at_head(engine):
    assert not migrate.pending(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"users", "questions", "answers", "votes", "comments", "revisions", "products", "tags"} <= tables


def test_upgrade_downgrade_upgrade_on_a_fresh_sqlite(tmp_path):
    from alembic import command

    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    command.downgrade(migrate.alembic_config(url), "base")
    eng = make_engine(url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert not migrate.pending(eng)
    eng.dispose()
