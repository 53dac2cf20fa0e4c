"""PostgreSQL connections are pinged when taken from the pool only after resting
(app/core/db._ping_when_idle, issue 11): a connection the server closed while it rested is
replaced without the request noticing; one in steady use is not pinged (no round trip per request).

The server closes a pooled connection here with pg_terminate_backend, from another connection,
as a restart, a failover or an idle timeout would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.core.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(db_url) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("connections closed by the server: PostgreSQL only")
    return db_url


@pytest.fixture
def admin(pg_url) -> Iterator[Engine]:
    eng = make_engine(pg_url, pool_size=1, max_overflow=0)
    yield eng
    eng.dispose()


def _pool_of_one(url: str, ping_after_idle: float) -> Engine:
    return make_engine(url, pool_size=1, max_overflow=0, ping_after_idle=ping_after_idle)


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as conn:
        # With a timeout (PostgreSQL 14+), it returns once the backend has exited (true), or false
        # after 5 s: no sleep in the test.
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()


def test_a_connection_closed_while_resting_is_replaced_unnoticed(pg_url, admin):
    engine = _pool_of_one(pg_url, ping_after_idle=0)  # every connection counts as rested
    try:
        first = _backend(engine)
        _terminate(admin, first)
        second = _backend(engine)  # the ping failed, the pool connected anew: no error
        assert second != first
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_url, admin):
    """The control: the same closure within the resting time reaches the statement (no ping ran),
    which fails; the pool then starts afresh."""
    engine = _pool_of_one(pg_url, ping_after_idle=3600)
    try:
        first = _backend(engine)
        _terminate(admin, first)
        with pytest.raises(OperationalError) as failed:
            _backend(engine)
        assert failed.value.connection_invalidated
        assert _backend(engine) != first
    finally:
        engine.dispose()


def test_the_setting_reaches_the_servers_engine(pg_url, admin):
    """GROUNDSWELL_DB_PING_AFTER_IDLE=0 restores a ping at every use in the application's own engine."""
    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(pg_url, db_ping_after_idle=0))
    try:
        first = _backend(app.state.engine)
        _terminate(admin, first)
        assert _backend(app.state.engine) != first
    finally:
        app.state.engine.dispose()
