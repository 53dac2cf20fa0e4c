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


def test_0008_gives_existing_addresses_to_their_oldest_account(tmp_path):
    """Upgrading computes the look-alike keys; of two accounts that already share one, the older
    owns the address (and keeps signing in by it), the newer gets none."""
    from sqlalchemy import text

    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    migrate.upgrade(url, "0006_escalation")
    eng = make_engine(url)
    with eng.begin() as conn:
        for name, email in (("first", "ali\u200bce@example.com"), ("second", "\u0430lice@example.com"),
                            ("third", "bob@example.com"), ("imported", "se1.x@imported.invalid")):
            conn.execute(text("INSERT INTO users (username, email, role, display_name, bio, reputation, "
                              "token_version, is_active, created_at) VALUES (:u, :e, 'customer', '', '', 1, 0, 1, "
                              "'2026-01-01 00:00:00')"), {"u": name, "e": email})
    migrate.upgrade(url)
    with eng.connect() as conn:
        keys = dict(conn.execute(text("SELECT username, email_key FROM users")).all())
    eng.dispose()
    assert keys == {"first": "alice@example.com", "second": None, "third": "bob@example.com", "imported": None}
