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

What SQLAlchemy does on the way that still happens: its `before_cursor_execute` /
`after_cursor_execute` events fire with the same statement and parameters (the NUL check in
app/core/db.py, the statement counters of the tests and benches; the execution context they
receive is None), and a driver error goes through its own exception handling
(`Connection._handle_dbapi_exception`): raised as SQLAlchemy's own (a lock or statement timeout is an OperationalError,
answered with 503 as before), `handle_error` events, and on a lost connection that connection
and the pool's older ones invalidated. The statement runs on the session's own connection and
transaction. Rows are plain dicts: treat them as read-only, as SQLAlchemy's RowMapping is.

A statement runs through SQLAlchemy as before (`Connection.execute`, identical rows) on any other
database or driver, and whenever it needs what the plain path does not do: a bind type with a
processor (for example an Enum stored by name), a value computed per execution, column names
that repeat, a list other than `col IN (...)` (`NOT IN`, a tuple IN), or anything that fails to
compile this way. `col IN (list)` becomes `col = ANY(%(name)s)` with the list (any sequence)
sent as one array, which also gives PostgreSQL one prepared statement per array type (psycopg
picks int2[], int4[] or int8[] by the largest value) instead of one per list length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql.sqltypes import TupleType
from sqlmodel import Session


@dataclass(frozen=True)
class Compiled:
    """A statement ready for the driver: SQL text in psycopg's `%(name)s` style, the literal
    parameters the statement carries, and its result column names in order."""

    sql: str
    defaults: dict[str, Any]
    names: tuple[str, ...]
    processors: tuple[tuple[int, Any], ...] = ()  # (column index, its type's result processor)
    lists: tuple[str, ...] = ()  # parameters sent as one array (`= ANY(...)`)


# For statements built once per process (functools.cache, module constants): a statement built
# per call would be compiled on every call. Past this many the cache stops growing (a guard
# against such a caller), and statements not in it go through SQLAlchemy, with its own cache.
MAX_STATEMENTS = 256
# (id of the statement, dialect settings) -> (the statement, kept so that its id is not reused;
# its plain form or None). Filled by single assignments, which the GIL makes atomic.
_compiled: dict[tuple, tuple[Any, Compiled | None]] = {}


def compile_plain(stmt: Any, dialect: Any) -> Compiled | None:
    """`stmt` compiled for the plain path on `dialect`, or None where it must go through
    SQLAlchemy (see the module docstring for when; also whenever compiling it for the plain path
    fails in any way). Pure: the same statement and dialect give an equal result."""
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    try:
        return _compile(stmt, dialect)
    except Exception:  # noqa: BLE001 - anything unexpected: SQLAlchemy's own path is always right
        return None


def _compile(stmt: Any, dialect: Any) -> Compiled | None:
    compiled = stmt.compile(dialect=dialect)
    # The names SQLAlchemy's rows are keyed by (its RowMapping), as the compiler recorded them.
    result_columns = getattr(compiled, "_result_columns", None)
    if not result_columns or len(result_columns) != len(stmt.selected_columns):
        return None
    names = tuple(c[0] for c in result_columns)
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        return None
    processors = []
    for i, column in enumerate(result_columns):  # (key, name, objects, type), as SQLAlchemy reads them
        process = column[3].dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            processors.append((i, process))
    sql = compiled.string
    defaults: dict[str, Any] = {}
    lists = []
    for key, value in compiled.params.items():  # by the names the SQL text uses
        bind = compiled.binds[key]
        if bind.callable is not None or isinstance(bind.type, TupleType):
            return None  # a value computed per execution; a tuple IN
        if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            return None
        if bind.expanding:
            # `col IN (list)` only; `NOT IN` keeps its marker, and the check below refuses it.
            sql = re.sub(rf"(?<!\bNOT) IN \(__\[POSTCOMPILE_{re.escape(key)}\]\)", f" = ANY(%({key})s)", sql)
            lists.append(key)
            if not bind.required:  # a list written into the statement
                defaults[key] = list(value)
        elif not bind.required:  # a literal the statement carries; the caller gives the rest
            defaults[key] = value
    if "__[POSTCOMPILE_" in sql:
        return None
    return Compiled(sql, defaults, names, tuple(processors), tuple(lists))


def _for(stmt: Any, dialect: Any) -> Compiled | None:
    # What a compiled form depends on besides the statement: engines alike share it.
    key = (id(stmt), dialect.name, dialect.driver, dialect.paramstyle, dialect.label_length,
           dialect.server_version_info)
    hit = _compiled.get(key)
    if hit is not None and hit[0] is stmt:
        return hit[1]
    if len(_compiled) >= MAX_STATEMENTS:
        return None  # SQLAlchemy's path, with its own statement cache
    result = compile_plain(stmt, dialect)
    _compiled[key] = (stmt, result)
    return result


def _run(conn: Connection, plan: Compiled, params: dict[str, Any]) -> list[tuple]:
    """Execute on `conn`'s own DBAPI connection (the session's transaction): the cursor events
    fired as `Connection.execute` fires them (an exception a listener raises, such as the NUL
    check's InvalidInput, comes out as it is), a driver error handed to SQLAlchemy's own exception
    handling (`Connection._handle_dbapi_exception`: wrapped as SQLAlchemy's, `handle_error`
    events, on a lost connection that connection and the pool's older ones invalidated); the rows
    with each column's result processor applied (SQLModel's UTCDateTime: aware UTC datetimes, as
    `Connection.execute` gives). The execution context the events receive is None."""
    values = {**plan.defaults, **params} if plan.defaults else dict(params)
    for name in plan.lists:  # any sequence, as SQLAlchemy takes it; psycopg adapts lists to arrays
        if name in values and not isinstance(values[name], list):
            values[name] = list(values[name])
    sql = plan.sql
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        for fn in conn.dispatch.before_cursor_execute:  # each returns (statement, parameters)
            sql, values = fn(conn, cursor, sql, values, None, False)
        try:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as exc:
            conn._handle_dbapi_exception(exc, sql, values, cursor, None)
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


def _execute(session: Session, stmt: Any, params: dict[str, Any] | None) -> tuple[Compiled | None, Any]:
    """(plan, rows from the plain path) or (None, SQLAlchemy's result), on the session's connection."""
    conn = session.connection()
    plan = _for(stmt, conn.dialect)
    if plan is None:
        return None, conn.execute(stmt, params or {})
    return plan, _run(conn, plan, params or {})


def mappings(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """The rows of `stmt` with `params`, each a mapping by column name (a dict on the plain path,
    SQLAlchemy's RowMapping otherwise), on the session's connection. No autoflush (as
    `session.connection().execute`). Raises sqlalchemy.exc.DBAPIError subclasses on database errors."""
    plan, rows = _execute(session, stmt, params)
    if plan is None:
        return list(rows.mappings())
    return [dict(zip(plan.names, row)) for row in rows]


def tuples(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> list[tuple]:
    """The rows of `stmt` with `params` as tuples in the statement's column order; otherwise as
    `mappings`."""
    plan, rows = _execute(session, stmt, params)
    return [tuple(r) for r in rows] if plan is None else rows
