"""Hot read statements run straight on the driver's cursor (PostgreSQL with psycopg).

The question page's statements are Core SELECTs built once per process (app/questions/page_queries.py).
Executing one through SQLAlchemy still costs more Python than PostgreSQL spends on it: the
execution context, the compiled cache's key, the result's metadata and psycopg's
`cursor.description` (one Column object per column, on every statement: about 4% of the page's
CPU at 40-50 columns) add about 0.1-0.15 ms per statement, a quarter of a rendered question
page's samples under load with five statements (py-spy, docs/performance.md "Statements on the
driver's cursor"). Here each statement is compiled once per process into its SQL text, its
literal parameters and its column names, and run with `cursor.execute` + `fetchall`; rows come
back as plain dicts (or tuples) keyed by the statement's column names.

What SQLAlchemy does on the way that still happens:
- its `before_cursor_execute` / `after_cursor_execute` events fire with the same connection,
  statement and parameters (the NUL check in app/core/db.py, the statement counters of the tests
  and benches);
- a driver error is raised as SQLAlchemy's own (`sqlalchemy.exc.DBAPIError.instance`: a lock or
  statement timeout is an OperationalError, answered with 503 as before), and a lost connection
  invalidates the pool's entry, as `Connection.execute` does;
- the statement runs on the session's own connection and transaction.

A statement runs through SQLAlchemy as before (`Connection.execute`, identical rows) on any other
database or driver, and whenever it needs what the plain path does not do: a bind type with a
processor (for example an Enum stored by name), column names that repeat, or an expanding parameter other than `col IN (...)`. Such an
expanding parameter becomes `col = ANY(%(name)s)` with the list sent as one array, which also gives
PostgreSQL one prepared statement whatever the list's length.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session


@dataclass(frozen=True)
class Compiled:
    """A statement ready for the driver: SQL text in psycopg's `%(name)s` style, the literal
    parameters the statement carries, and its result column names in order."""

    sql: str
    defaults: dict[str, Any]
    names: tuple[str, ...]
    processors: tuple[tuple[int, Any], ...] = ()  # (column index, its type's result processor)


# For statements built once per process (functools.cache, module constants): a statement built
# per call would be compiled on every call. Past this many the cache stops growing (a guard
# against such a caller), and further statements are compiled each time they run.
MAX_STATEMENTS = 256
_compiled: dict[tuple[int, str], tuple[Any, Compiled | None]] = {}
_compiled_lock = threading.Lock()


def compile_plain(stmt: Any, dialect: Any) -> Compiled | None:
    """`stmt` compiled for the plain path on `dialect`, or None where it must go through
    SQLAlchemy (see the module docstring for when). Pure: the same statement and dialect give an
    equal result."""
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    compiled = stmt.compile(dialect=dialect)
    # The names SQLAlchemy's rows are keyed by (its RowMapping), as the compiler recorded them.
    result_columns = getattr(compiled, "_result_columns", None)
    if not result_columns or len(result_columns) != len(stmt.selected_columns):
        return None
    names = tuple(c[0] for c in result_columns)
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        return None
    processors = []
    for i, column in enumerate(stmt.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            processors.append((i, process))
    sql = compiled.string
    defaults: dict[str, Any] = {}
    for key, value in compiled.params.items():  # by the names the SQL text uses
        bind = compiled.binds[key]
        if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            return None
        if bind.expanding:
            # `col IN (list)` only; `NOT IN` keeps its marker, and the check below refuses it.
            sql = re.sub(rf"(?<!\bNOT) IN \(__\[POSTCOMPILE_{re.escape(key)}\]\)", f" = ANY(%({key})s)", sql)
        elif not bind.required:  # a literal the statement carries; the caller gives the rest
            defaults[key] = value
    if "__[POSTCOMPILE_" in sql:
        return None
    return Compiled(sql, defaults, names, tuple(processors))


def _for(stmt: Any, dialect: Any) -> Compiled | None:
    key = (id(stmt), dialect.name + "+" + dialect.driver)
    hit = _compiled.get(key)
    if hit is not None and hit[0] is stmt:
        return hit[1]
    result = compile_plain(stmt, dialect)
    with _compiled_lock:
        if len(_compiled) < MAX_STATEMENTS:
            _compiled[key] = (stmt, result)  # the statement is kept, so its id cannot be reused
    return result


def _run(conn: Connection, plan: Compiled, params: dict[str, Any]) -> list[tuple]:
    """Execute on `conn`'s own DBAPI connection, firing the cursor events, wrapping driver errors;
    the rows with each column's result processor applied (SQLModel's UTCDateTime: aware UTC
    datetimes, as `Connection.execute` gives)."""
    values = {**plan.defaults, **params} if plan.defaults else params
    dialect = conn.dialect
    fairy = conn.connection  # the pool's entry; its DBAPI connection holds the session's transaction
    dbapi_conn = fairy.dbapi_connection
    cursor = dbapi_conn.cursor()
    sql = plan.sql
    try:
        for fn in conn.dispatch.before_cursor_execute:  # as Connection._execute_context calls them
            sql, values = fn(conn, cursor, sql, values, None, False)
        try:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            disconnect = dialect.is_disconnect(exc, dbapi_conn, cursor)
            wrapped = DBAPIError.instance(sql, values, exc, dialect.loaded_dbapi.Error, dialect=dialect,
                                          connection_invalidated=disconnect)
            if disconnect:
                conn.invalidate(wrapped)
            raise wrapped from exc
        for fn in conn.dispatch.after_cursor_execute:
            fn(conn, cursor, sql, values, None, False)
        if plan.processors and rows:
            processed = []
            for row in rows:
                row = list(row)
                for i, process in plan.processors:
                    row[i] = process(row[i])
                processed.append(tuple(row))
            return processed
        return rows
    finally:
        if not cursor.closed:
            cursor.close()


def mappings(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """The rows of `stmt` with `params`, each a mapping by column name (a dict on the plain path,
    SQLAlchemy's RowMapping otherwise), on the session's connection. No autoflush (as
    `session.connection().execute`). Raises sqlalchemy.exc.DBAPIError subclasses on database errors."""
    conn = session.connection()
    plan = _for(stmt, conn.dialect)
    if plan is None:
        return list(conn.execute(stmt, params or {}).mappings())
    names = plan.names
    return [dict(zip(names, row)) for row in _run(conn, plan, params or {})]


def tuples(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> list[tuple]:
    """The rows of `stmt` with `params` as tuples in the statement's column order; otherwise as
    `mappings`."""
    conn = session.connection()
    plan = _for(stmt, conn.dialect)
    if plan is None:
        return [tuple(r) for r in conn.execute(stmt, params or {})]
    return _run(conn, plan, params or {})
