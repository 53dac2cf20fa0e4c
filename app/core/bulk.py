"""Bulk loading into PostgreSQL: build a table's indexes once, after the rows.

PostgreSQL's manual ("Populating a Database", §14.4.3 Remove Indexes) advises loading a large
number of rows into a table without its indexes and creating them afterwards: one sort per index
costs far less than maintaining each index row by row. Measured here on the ledger of the 100k
generated dump (1.27M reputation events, docs/import.md): 26.3 s to insert them with the 5
secondary indexes, the unique constraint and the 2 foreign keys in place, 17.1 s without the keys,
2.3 s with nothing, plus 5.2 s to build the indexes. With the keys kept (below), the whole ledger
step of that import took 30 s instead of 39 s.

Foreign keys stay: dropping one locks the table it points to (`users`) until the transaction
ends, so on a live site every request would wait for the import, and a vote holding a user's row
while it waits for the ledger would deadlock with it (found in review, reproduced).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

# What building the indexes may use at least (PostgreSQL's default, 64MB, makes large sorts spill
# to disk); a server set higher keeps its own value.
BUILD_MEMORY = "256MB"


@contextmanager
def indexes_built_after(conn: Connection, table: str, *, lock_timeout_ms: int = 2000) -> Iterator[bool]:
    """Within the caller's transaction on PostgreSQL: drop `table`'s secondary indexes and unique
    constraints (those no foreign key depends on), run the body, then create them again exactly
    as they were (their definitions as PostgreSQL prints them), with at least `BUILD_MEMORY` for
    the sorts. Yields True when it did so. The primary key and foreign keys stay.

    It needs the table to itself (ACCESS EXCLUSIVE, held until the transaction ends, as any DDL):
    when another transaction holds it for more than `lock_timeout_ms`, nothing is dropped and the
    body runs with the indexes in place (yields False), so a busy site's import is slower, never
    stuck behind a reader; likewise when the database user does not own the table (a deployment
    whose migrations run as another role). On SQLite it yields False and changes nothing.
    While the table is held, every other transaction that reads or writes it waits for the
    caller's to end: the caller should hold no lock such a transaction may already have (take
    row locks elsewhere first) and end soon after.
    A row that breaks a unique constraint fails when the constraint is added back
    (IntegrityError), not in the body: the caller's transaction must then be rolled back, which
    restores everything (DDL is transactional in PostgreSQL).
    """
    if conn.dialect.name != "postgresql":
        yield False
        return
    restore = _take(conn, table, lock_timeout_ms)
    if restore is None:
        yield False
        return
    yield True
    memory = _set_local(conn, "maintenance_work_mem", BUILD_MEMORY, at_least=True)
    for statement in restore:
        conn.execute(text(statement))
    _set_local(conn, "maintenance_work_mem", memory)


def _set_local(conn: Connection, name: str, value: str, *, at_least: bool = False) -> str:
    """Set a setting for the rest of the transaction (set_config(…, true)); with `at_least`, only
    when `value` is larger (a size). Returns the value it had, to set it back."""
    previous = conn.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar()
    if not at_least or conn.execute(text("SELECT pg_size_bytes(:v) > pg_size_bytes(:p)"),
                                    {"v": value, "p": previous}).scalar():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return previous


def _take(conn: Connection, table: str, lock_timeout_ms: int) -> list[str] | None:
    """Lock `table`, drop what indexes_built_after rebuilds, and return the statements that create
    it again (indexes, then unique constraints); None when the lock was not granted within
    `lock_timeout_ms` (or waiting for it closed a deadlock) or the user does not own the table."""
    quote = conn.dialect.identifier_preparer.quote
    owner = conn.execute(text("SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class "
                              "WHERE oid = CAST(:t AS regclass)"), {"t": quote(table)}).scalar()
    if not owner:  # only the table's owner may drop and create its indexes: leave them be
        return None
    savepoint = conn.begin_nested()
    try:
        previous = _set_local(conn, "lock_timeout", f"{int(lock_timeout_ms)}ms")
        conn.execute(text(f"LOCK TABLE {quote(table)} IN ACCESS EXCLUSIVE MODE"))
    except OperationalError:
        savepoint.rollback()  # lock_timeout goes back with it
        return None
    savepoint.commit()
    _set_local(conn, "lock_timeout", previous)
    oid = {"t": quote(table)}
    constraints = conn.execute(text(
        "SELECT k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "WHERE k.conrelid = CAST(:t AS regclass) AND k.contype = 'u' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid) "
        "ORDER BY k.conname"), oid).all()
    indexes = conn.execute(text(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid) "
        "ORDER BY c.relname"), oid).all()
    for name, _definition in constraints:
        conn.execute(text(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}"))
    for name, _definition in indexes:
        conn.execute(text(f"DROP INDEX {quote(name)}"))
    return ([definition for _name, definition in indexes]
            + [f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
               for name, definition in constraints])
