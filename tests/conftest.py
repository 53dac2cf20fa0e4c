"""Test fixtures: real databases (SQLite and PostgreSQL), schema from the Alembic migrations.

Every test that asks for `engine` (or anything built on it) runs once on SQLite and once on
PostgreSQL. PostgreSQL comes from GROUNDSWELL_TEST_POSTGRES_URL (default: the local server,
database `test`); when it does not answer those runs are skipped with the reason, unless
GROUNDSWELL_TEST_REQUIRE_POSTGRES=1 (as in CI), when they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core import migrate, security
from app.core.config import Settings
from app.core.db import make_engine, metadata, writer
from tests.snapshots import Built, has_sqlite_sequence

PG_URL = os.environ.get("GROUNDSWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("GROUNDSWELL_TEST_REQUIRE_POSTGRES") == "1"
TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-checks"

# Real argon2id, cheaper parameters: the suite creates hundreds of accounts.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
security._DUMMY_HASH = security._hasher.hash("not-a-real-password")

_pg_problem: str | None = None


def _postgres_reason() -> str | None:
    global _pg_problem
    if _pg_problem is None:
        try:
            eng = make_engine(PG_URL, pool_size=1, max_overflow=0)
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
            eng.dispose()
            _pg_problem = ""
        except Exception as exc:  # noqa: BLE001
            _pg_problem = f"PostgreSQL at {PG_URL} does not answer ({str(exc).splitlines()[0][:120]})"
    return _pg_problem or None


def _reset_schema(engine: Engine, url: str) -> None:
    """Build the schema with the migrations, as production does (PostgreSQL: in this run's own schema)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    migrate.upgrade(url)


# Each test run gets its own PostgreSQL schema, so that runs sharing the server never collide.
PG_SCHEMA = f"gs_test_{os.getpid()}"


def _pg_run_url() -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{PG_SCHEMA}"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    reason = _postgres_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(reason + " and GROUNDSWELL_TEST_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    yield _pg_run_url()
    eng = make_engine(PG_URL, pool_size=1, max_overflow=0)
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    eng.dispose()


@pytest.fixture(scope="session")
def engine(db_url) -> Iterator[Engine]:
    # Concurrency tests run 100 threads straight at the services, without the server's admission
    # limit (docs/operations.md): they may wait long for a connection or SQLite's write turn.
    eng = make_engine(db_url, db_timeout=120,
                      **({} if db_url.startswith("sqlite") else {"pool_size": 20, "max_overflow": 60}))
    _reset_schema(eng, db_url)
    yield eng
    eng.dispose()


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence")) if has_sqlite_sequence(conn) else None


@pytest.fixture
def clean_engine(engine) -> Iterator[Engine]:
    """The engine, with every table emptied after the test."""
    yield engine
    _truncate(engine)


@pytest.fixture
def session(clean_engine) -> Iterator[Session]:
    """A writing session; tests commit when they want a later request or thread to see their rows."""
    with Session(writer(clean_engine), expire_on_commit=False) as s:
        yield s
        s.rollback()


def make_settings(db_url: str, **overrides) -> Settings:
    values = dict(env="test", database_url=db_url, secret_key=TEST_SECRET, rate_limits="off",
                  search_apply_in_process=False, signup_min_seconds=0)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def app(clean_engine, settings):
    from app.main import create_app

    return create_app(settings, clean_engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


from tests.factories import *  # noqa: E402,F401,F403  (factory fixtures)


def _load_demo(engine: Engine) -> str:
    from app.demo import loader

    return loader.load(engine)


_DEMO = Built(_load_demo)


@pytest.fixture
def demo_community(clean_engine) -> str:
    """The demo community (app/demo) in the test database; returns the loader's summary. The real
    loader runs the first time per database in a run; later tests get the rows it wrote put back
    (tests/snapshots.py: 8–18 s per load against a fraction of a second)."""
    return _DEMO.get(clean_engine)


@pytest.fixture(autouse=True)
def _spam_defaults():
    """create_app configures the process-wide spam check (app/moderation/spam.py): reset it after
    each test, so that no test inherits another's external checker or new-account limits."""
    yield
    from app.moderation import spam

    spam.reset()


@pytest.fixture(autouse=True)
def _forget_fastapi_call_caches():
    """FastAPI keeps process-wide caches of how it classified each dependency callable
    (fastapi/dependencies/models.py, `functools.lru_cache` of 4,096 entries each). Their keys
    hold the callables, and through the closures create_app makes, every app a test built: the
    suite's process grew by about 6 MB per app test (1,375 MiB peak for tests/web on SQLite, 444
    MiB with this), and at the end of a full run the interpreter spent 1–2 minutes freeing
    the heap before it exited. Production builds one app per process, so only the suite leaks."""
    yield
    import fastapi.dependencies.models as fastapi_models

    for name, value in vars(fastapi_models).items():
        if name.endswith("_cached") and hasattr(value, "cache_clear"):
            value.cache_clear()
