"""Engine, metadata conventions and the one-session-per-request dependency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

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


def make_engine(url: str, **kwargs) -> Engine:
    engine = _make_engine(url, **kwargs)
    _refuse_nul_characters(engine)
    return engine


def _make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

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
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


WRITE_OPTION = "groundswell_write"

# Primary keys are 32-bit integers (PostgreSQL INTEGER): larger ids cannot exist and cannot be bound.
MAX_ID = 2**31 - 1


def writer(engine: Engine) -> Engine:
    """The engine to bind a session that will write (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def import_all_models() -> None:
    """Every table must be imported before metadata is used (Alembic, create_app)."""
    from app.accounts import models as _a  # noqa: F401
    from app.answers import models as _an  # noqa: F401
    from app.comments import models as _c  # noqa: F401
    from app.escalation import models as _e  # noqa: F401
    from app.importer import models as _i  # noqa: F401
    from app.notifications import models as _n  # noqa: F401
    from app.products import models as _p  # noqa: F401
    from app.questions import models as _q  # noqa: F401
    from app.reputation import models as _r  # noqa: F401
    from app.search import models as _s  # noqa: F401
    from app.search import outbox as _outbox
    from app.votes import models as _v  # noqa: F401

    _outbox.install()  # record changed questions for the search index in every writing session


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(request: Request) -> Iterator[Session]:
    """One session and one commit per request; services only flush."""
    engine = request.app.state.engine
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        engine = writer(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
