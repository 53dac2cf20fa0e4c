"""Helpers for the importer tests: run an import, and look at the whole database before and after."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from app.core.db import metadata
from app.importer.stackexchange import import_dump
from tests.importer.dumps import SITE


def counts(engine: Engine) -> dict[str, int]:
    """Rows in every table."""
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in metadata.sorted_tables}


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table (sorted): "the database is exactly as it was" means this is equal."""
    with engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t)).all()), key=repr)
                for t in metadata.sorted_tables}


def run_import(engine: Engine, folder, site: str = SITE, **kw):
    """import_dump, with the progress messages kept on the summary (as .messages)."""
    messages: list[str] = []
    summary = import_dump(engine, folder, site=site, progress=messages.append, **kw)
    summary.messages = messages
    return summary


def scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
