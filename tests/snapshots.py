"""Row snapshots: a community built once per database through the real services, then put back
for each later test that needs it, instead of being built again.

Building the demo community (app/demo/loader.py: 49 questions, 117 answers, 1,041 votes through
the real services) took 8 s on SQLite and 18 s on PostgreSQL per test on a quiet 2-core machine
(2026-12-02, the suite's --durations), and seven tests on each database built it. Putting its
rows back takes a fraction of a second. What is put back is exactly what the real build wrote:
the snapshot is taken from the database right after the first build in the run, so no test reads
rows that the services did not write. Tests of the builder itself (the demo loader) still run it.

Datetimes are moved forward by the time since the snapshot was taken, so that the restored
community is as old as it was when built: "due within a day", "active in the last hour" and the
like mean the same in a test that runs half an hour later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from app.core.db import metadata, utcnow, writer


@dataclass
class RowSnapshot:
    """Every row of every table of `app.core.db.metadata` (SQLite: and `sqlite_sequence`), as
    read at `taken_at`. `take(engine)` reads them; `restore(engine)` writes them into emptied
    tables (the suite's `clean_engine` empties every table after each test)."""

    rows: dict[str, list[dict[str, Any]]]
    taken_at: datetime
    sqlite_sequence: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def take(cls, engine: Engine) -> RowSnapshot:
        """Read every table's rows (a few thousand for the demo community)."""
        taken_at = utcnow()
        rows: dict[str, list[dict[str, Any]]] = {}
        sequence: list[tuple[str, int]] = []
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows[table.name] = [dict(r._mapping) for r in conn.execute(table.select())]
            if engine.dialect.name == "sqlite" and has_sqlite_sequence(conn):
                sequence = [tuple(r) for r in conn.execute(text("SELECT name, seq FROM sqlite_sequence"))]
            conn.rollback()
        return cls(rows=rows, taken_at=taken_at, sqlite_sequence=sequence)

    def restore(self, engine: Engine, now: datetime | None = None) -> None:
        """Write the rows back, ids included, into tables that must be empty, in one transaction.
        Foreign keys are not checked while writing (the rows are a consistent
        copy; questions and answers refer to each other): PostgreSQL's `session_replication_role
        = replica` for this transaction (the test server's user is `postgres`, a superuser), and
        SQLite's `defer_foreign_keys`, which checks them at COMMIT. Datetimes move forward by
        `now` (default: the current time) minus `taken_at`. Each PostgreSQL sequence continues
        after its table's largest restored id (the build may have used and deleted higher ones);
        SQLite's `sqlite_sequence` is restored as read. The process's in-memory search indexes
        are forgotten: one kept from an earlier test would take the restored search state
        (the same generation number) for its own and skip the restored documents."""
        from app.search import embedded

        embedded.forget_memory_indexes()
        shift = (now or utcnow()) - self.taken_at
        with writer(engine).begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                conn.execute(text("PRAGMA defer_foreign_keys = ON"))
            for table in metadata.sorted_tables:
                values = [{k: _moved(v, shift) for k, v in row.items()} for row in self.rows[table.name]]
                if values:
                    conn.execute(insert(table), values)
            if engine.dialect.name == "postgresql":
                _continue_sequences(conn)
            elif self.sqlite_sequence:
                conn.execute(text("DELETE FROM sqlite_sequence"))
                conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                             [{"name": n, "seq": s} for n, s in self.sqlite_sequence])


def has_sqlite_sequence(conn) -> bool:
    """Whether this SQLite database has `sqlite_sequence` (made with its first AUTOINCREMENT table)."""
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is not None


def _moved(value: Any, shift: timedelta) -> Any:
    return value + shift if isinstance(value, datetime) else value


def _continue_sequences(conn) -> None:
    """Each serial column's sequence set to its table's largest id (PostgreSQL)."""
    serial = conn.execute(text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')")).all()
    for table_name, column in serial:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:t, :c), m, true) "
            f"FROM (SELECT max({column}) AS m FROM {table_name}) AS top WHERE m IS NOT NULL"),
            {"t": table_name, "c": column})


class Built:
    """A community built once per database and test run by `build(engine) -> result`, then
    restored from its RowSnapshot for every later test (see the module's docstring).

    `get(engine)` returns what the first build returned; its rows are in the (emptied) database
    when it returns. `build` must leave its rows committed and return plain values (ids, text,
    arrays), not ORM objects of a closed session."""

    def __init__(self, build):
        self.build = build
        self._made: dict[str, tuple[RowSnapshot, Any]] = {}

    def get(self, engine: Engine) -> Any:
        key = str(engine.url)
        if key not in self._made:
            result = self.build(engine)
            self._made[key] = (RowSnapshot.take(engine), result)
            return result
        snapshot, result = self._made[key]
        snapshot.restore(engine)
        return result
