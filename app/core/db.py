"""Engine, metadata conventions and the one-session-per-request dependency."""

from __future__ import annotations

import functools
import inspect
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlmodel import Session, SQLModel, create_engine

from app.core import limits
from app.core.config import Settings

# Stable constraint names so that Alembic autogenerate and batch mode (SQLite) agree.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    """Aware UTC timestamps everywhere (SQLModel's UTCDateTime columns refuse naive ones)."""
    return datetime.now(UTC)


def _has_nul(params) -> bool:
    stack = [params]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return False


# Execution option for callers whose values cannot hold NUL (e.g. text parsed from XML).
NUL_CHECKED = "groundswell_nul_checked"


def _refuse_nul_characters(engine: Engine) -> None:
    """PostgreSQL text cannot hold NUL; refuse it as invalid input on every database, at the one
    place every value passes, so that no form, query or path can turn it into a 500."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(conn, cursor, statement, parameters, context, executemany):
        if parameters and not conn.get_execution_options().get(NUL_CHECKED) and _has_nul(parameters):
            from app.core.errors import InvalidInput

            msg = "Text may not contain NUL (\\u0000) characters."
            raise InvalidInput(msg, errors=[{"loc": ["body"], "msg": msg, "type": "value_error"}])


# Defaults of the load limits: the settings' own (GROUNDSWELL_MAX_INFLIGHT, GROUNDSWELL_DB_TIMEOUT).
DEFAULT_MAX_INFLIGHT: int = Settings.model_fields["max_inflight"].default
DEFAULT_DB_TIMEOUT: float = Settings.model_fields["db_timeout"].default
# Connections beyond the requests' own: the search outbox applier, the index warm-up, /readyz.
POOL_MARGIN = 4


def pool_options(max_inflight: int = DEFAULT_MAX_INFLIGHT, db_timeout: float = DEFAULT_DB_TIMEOUT) -> dict:
    """Connection-pool size for a process serving at most `max_inflight` reads, as many searches
    and as many writes at once (app.core.middleware.InflightLimit).

    A request holds its session's connection and a search a second one for a moment (the index
    catching up), so up to 4 x max_inflight + POOL_MARGIN connections: `2 x max_inflight +
    POOL_MARGIN` kept open, `2 x max_inflight` more opened on demand. Waiting for one ends after
    `db_timeout` seconds with sqlalchemy.exc.TimeoutError, which the app answers with 503.
    PostgreSQL: keep workers x (4 x max_inflight + POOL_MARGIN) below its max_connections.
    """
    return {"pool_size": 2 * max_inflight + POOL_MARGIN, "max_overflow": 2 * max_inflight, "pool_timeout": db_timeout}


# A PostgreSQL connection taken from the pool after resting this many seconds is pinged first
# (GROUNDSWELL_DB_PING_AFTER_IDLE).
PING_AFTER_IDLE: float = Settings.model_fields["db_ping_after_idle"].default


def make_engine(url: str, *, max_inflight: int = DEFAULT_MAX_INFLIGHT, db_timeout: float = DEFAULT_DB_TIMEOUT,
                ping_after_idle: float = PING_AFTER_IDLE, **kwargs) -> Engine:
    """An engine whose pool and lock waits are sized for `max_inflight` requests at once and bounded
    by `db_timeout` seconds (pool checkout, SQLite write lock, PostgreSQL row locks); explicit
    SQLAlchemy `kwargs` (pool_size, ...) win. PostgreSQL connections that rested in the pool
    `ping_after_idle` seconds or more are pinged when taken (`_ping_when_idle`)."""
    engine = _make_engine(url, max_inflight=max_inflight, db_timeout=db_timeout, ping_after_idle=ping_after_idle,
                          **kwargs)
    _refuse_nul_characters(engine)
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine the settings describe: GROUNDSWELL_DATABASE_URL with the load limits
    (MAX_INFLIGHT, DB_TIMEOUT) and DB_PING_AFTER_IDLE; for the server, the CLI and the search process."""
    return make_engine(settings.database_url, max_inflight=settings.max_inflight, db_timeout=settings.db_timeout,
                       ping_after_idle=settings.db_ping_after_idle)


def _make_engine(url: str, *, max_inflight: int, db_timeout: float, ping_after_idle: float, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": db_timeout})
        in_memory = make_url(url).database in (None, "", ":memory:")
        if not in_memory:  # memory databases use a single-connection pool without these options
            for key, value in pool_options(max_inflight, db_timeout).items():
                kwargs.setdefault(key, value)
        engine = create_engine(url, **kwargs)
        write_lock = _process_write_lock(engine.url.database or ":memory:")

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints work then).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the write lock up front: a deferred transaction that reads, then writes,
            # fails at once ("database is locked") when another writer committed in between.
            if not conn.get_execution_options().get(WRITE_OPTION):
                conn.exec_driver_sql("BEGIN")
                return
            # SQLite has one writer at a time. Writers of this process queue on a lock that wakes
            # the next one as soon as the last commits, instead of all polling SQLite's busy
            # handler (sleeps of up to 100 ms, unfair: some wait past any timeout). The busy
            # timeout still covers other processes (a second worker, the `worker` command).
            if not write_lock.acquire(timeout=db_timeout):
                raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                    f"database is locked (no write turn within {db_timeout:g} s)"))
            conn.info[_HOLDS_WRITE_LOCK] = write_lock
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release_write_lock(conn.info)
                raise

        # The turn passes on as the transaction ends (the commit event comes just before COMMIT
        # runs: the next writer's BEGIN IMMEDIATE waits out those microseconds in the busy handler).
        event.listen(engine, "commit", lambda conn: _release_write_lock(conn.info))
        event.listen(engine, "rollback", lambda conn: _release_write_lock(conn.info))
        # Never keep the turn past the connection's return to the pool, whatever happened.
        event.listen(engine.pool, "checkin", lambda _dbapi, record: _release_write_lock(record.info))
        return engine
    for key, value in pool_options(max_inflight, db_timeout).items():
        kwargs.setdefault(key, value)
    # The connection returned last is taken first, so that under traffic the same few stay in use
    # (and skip the ping) while the rest rest, and get pinged, or closed by the server's idle limits.
    kwargs.setdefault("pool_use_lifo", True)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_after_idle)
    lock_timeout_ms = int(db_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _pg_connect(dbapi_conn, _record):
        # A statement waiting for a row lock longer than db_timeout fails (SQLSTATE 55P03) and is
        # answered with 503, instead of holding a request slot and a connection indefinitely.
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {lock_timeout_ms}")
        dbapi_conn.commit()

    return engine


_RESTING_SINCE = "groundswell_resting_since"


def _ping_when_idle(engine: Engine, after: float) -> None:
    """Ping a pooled connection before use only when it rested `after` seconds or more.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip (and an autocommit switch
    each way) per request, about 3% of a question page's CPU (issue 11). A connection in steady
    use is alive with near certainty; one that rested may have been closed by a server restart,
    a failover or an idle timeout, and is checked here. A failed ping raises DisconnectionError,
    on which the pool reconnects that entry and tries again (SQLAlchemy's PoolEvents.checkout:
    two attempts in all). A server restart usually takes longer than `after`, so every
    connection that was resting when it began has rested long enough to be pinged once it is
    back. What pre-pinging caught and this does not: a connection the server (or a pooler such
    as PgBouncer, restarted in under `after` seconds) closed less than `after` seconds after its
    last use fails its first statement (500). A connection that dies while in use fails its
    statement either way. `after` = 0 pings at every use (GROUNDSWELL_DB_PING_AFTER_IDLE=0)."""
    from time import monotonic

    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine.pool, "connect")
    def _connected(_dbapi, record):
        record.info[_RESTING_SINCE] = monotonic()

    @event.listens_for(engine.pool, "checkin")
    def _rests(_dbapi, record):
        if record is not None:
            record.info[_RESTING_SINCE] = monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _taken(dbapi_conn, record, _proxy):
        since = record.info.get(_RESTING_SINCE)
        if since is not None and monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: the connection is not usable
            raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


_HOLDS_WRITE_LOCK = "groundswell_holds_write_lock"
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _process_write_lock(database: str) -> threading.Lock:
    """One lock per SQLite database file and process, shared by every engine on that file."""
    key = database if database == ":memory:" else os.path.realpath(database)
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def _release_write_lock(info: dict) -> None:
    held = info.pop(_HOLDS_WRITE_LOCK, None)
    if held is not None:
        held.release()


BUSY_SQLSTATES = {"40001", "40P01", "55P03", "57014"}  # serialization failure, deadlock, lock / statement timeout


def is_busy_error(exc: BaseException) -> bool:
    """Whether a database error means "saturated, try again shortly" rather than a bug: no pool
    connection within the timeout, SQLite's write lock not obtained, or a PostgreSQL lock wait,
    deadlock or serialization failure (the transaction was rolled back; nothing was written)."""
    if isinstance(exc, SATimeoutError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "database is locked" in message or "database is busy" in message
    return getattr(orig, "sqlstate", None) in BUSY_SQLSTATES


WRITE_OPTION = "groundswell_write"

MAX_ID = limits.MAX_ID  # the largest id (app/core/limits.py)


def writer(engine: Engine) -> Engine:
    """The engine to bind a session that will write (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def import_all_models() -> None:
    """Every table must be imported before metadata is used (Alembic, create_app)."""
    from app.accounts import models as _a  # noqa: F401
    from app.answers import models as _an  # noqa: F401
    from app.badges import models as _b  # noqa: F401
    from app.comments import models as _c  # noqa: F401
    from app.escalation import models as _e  # noqa: F401
    from app.follows import models as _f  # noqa: F401
    from app.importer import models as _i  # noqa: F401
    from app.internal import models as _int  # noqa: F401
    from app.mail import models as _m  # noqa: F401
    from app.moderation import models as _m  # noqa: F401
    from app.notifications import models as _n  # noqa: F401
    from app.products import models as _p  # noqa: F401
    from app.questions import models as _q  # noqa: F401
    from app.quotes import models as _quotes  # noqa: F401
    from app.reputation import models as _r  # noqa: F401
    from app.savedviews import models as _sv  # noqa: F401
    from app.search import models as _s  # noqa: F401
    from app.search import outbox as _outbox
    from app.votes import models as _v  # noqa: F401
    from app.webhooks import models as _w  # noqa: F401

    _outbox.install()  # record changed questions for the search index in every writing session


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


# request.state flag: end this request's session with a rollback although no exception reached it.
ROLL_BACK = "roll_back_session"


class _RequestSession:
    """The request's session and whether it has been ended already (see `ends_request_session`)."""

    __slots__ = ("session", "ended")

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ended = False


# The session `get_session` opened for the request being handled in this context. A ContextVar,
# so that a sync endpoint running in a worker thread (anyio copies the context there) finds it.
_REQUEST_SESSION: ContextVar[_RequestSession | None] = ContextVar("groundswell_request_session", default=None)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session and one commit per request; services only flush.

    An async generator, so that opening the session (no I/O: its connection is taken at the first
    statement) costs no trip to the thread pool, which a sync generator dependency pays on entry
    and again on exit (about 84 µs of CPU per trip on the 2-vCPU bench machine; issue 11).

    Ending it (commit; rollback if the commit or the request failed; close) talks to the database:
    - a sync endpoint wrapped by `ends_request_session` (every forum page) ends it in its own
      thread-pool trip once it has returned, before its answer is sent, so this costs no trip;
    - otherwise (an error, an async endpoint, an API route) here, in one trip that is shielded, so
      a cancelled request still returns its connection, and that has a thread limiter of its own
      (as FastAPI gives a sync dependency's exit), so ending a session never waits for a thread
      behind requests that wait for this session's connection or write turn."""
    engine = request.app.state.engine
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        engine = writer(engine)
    session = Session(engine, expire_on_commit=False)
    current = _RequestSession(session)
    _REQUEST_SESSION.set(current)
    commit = False  # an exception (the request failed or was cancelled) skips the line that sets it
    try:
        yield session
        # A forum page answers a DomainError with an error page instead of raising it through here
        # (app/web/deps.WebRoute); it marks the request so that what the failed action flushed is undone.
        commit = not getattr(request.state, ROLL_BACK, False)
    finally:
        if not current.ended:
            current.ended = True
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_end_session, session, commit, limiter=anyio.CapacityLimiter(1))


F = TypeVar("F", bound=Callable[..., Any])


def ends_request_session(endpoint: F) -> F:
    """Wrap a sync endpoint so that, when it returns normally, the request's session (from
    `get_session`, if the request opened one) is committed and closed in the same worker thread,
    saving the separate trip to the thread pool that `get_session` would otherwise take for it
    (issue 11: about a tenth of a question page's CPU went to such trips).

    Only for endpoints whose return value is the answer as it will be sent (a Response, e.g. a
    rendered page): nothing that runs after the endpoint may still need the session or decide
    whether its work should be kept. An exception from the endpoint leaves the session to
    `get_session`, which rolls it back; an exception from the commit propagates as before (the
    session is rolled back and closed). It commits whenever the endpoint returns: code that marks
    the request ROLL_BACK must raise, not return. Idempotent; anything but a plain sync function
    (a coroutine or generator function, a callable object) is returned unchanged, for FastAPI
    would run it differently (on the event loop, or as a stream after the return)."""
    if getattr(endpoint, "ends_request_session", False) or not _plain_sync_function(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        current = _REQUEST_SESSION.get()
        if current is not None and not current.ended:
            current.ended = True
            _end_session(current.session, True)
        return result

    run.ends_request_session = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def _plain_sync_function(fn: Callable[..., Any]) -> bool:
    inner = inspect.unwrap(fn)
    return inspect.isfunction(inner) and not (inspect.iscoroutinefunction(inner) or inspect.isgeneratorfunction(inner)
                                              or inspect.isasyncgenfunction(inner))


def _end_session(session: Session, commit: bool) -> None:
    """Commit (or, when `commit` is False or the commit fails, roll back), then close."""
    with session:
        if not commit:
            session.rollback()
            return
        try:
            session.commit()
        except Exception:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
