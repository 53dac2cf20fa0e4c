"""app/core/bulk.indexes_built_after: a table's indexes dropped for a bulk insert and built again
exactly as they were; a row that breaks a key or the unique constraint fails; the tables its keys
point to stay free; a table another transaction holds, or that the user does not own, is left
alone; reputation's recompute builds the same ledger either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.bulk import indexes_built_after
from app.reputation import service as reputation
from tests.reputation.helpers import vote

TABLE = "reputation_events"


def _shape(conn) -> tuple[list, list]:
    """The table's indexes (definitions) and constraints (definitions), as PostgreSQL prints them."""
    indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
                                "AND schemaname = current_schema() ORDER BY indexname"), {"t": TABLE}).all()
    constraints = conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                    "WHERE conrelid = CAST(:t AS regclass) ORDER BY conname"), {"t": TABLE}).all()
    return [tuple(r) for r in indexes], [tuple(r) for r in constraints]


def _index_oids(conn) -> set[int]:
    return set(conn.execute(text("SELECT indexrelid::int FROM pg_index WHERE indrelid = CAST(:t AS regclass) "
                                 "AND NOT indisprimary"), {"t": TABLE}).scalars())


def _event(conn, user_id: int, source_id: int) -> None:
    conn.execute(text(
        "INSERT INTO reputation_events (user_id, kind, amount, base_amount, source_type, source_id, post_type, "
        "post_id, occurred_at, created_at) VALUES (:u, 'answer_upvoted', 10, 10, 'vote', :s, 'answer', 1, :t, :t)"),
        {"u": user_id, "s": source_id, "t": datetime(2026, 1, 1, tzinfo=UTC)})


def _postgres_only(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("indexes are built after the rows on PostgreSQL only")


def test_sqlite_is_left_as_it_is(clean_engine):
    if clean_engine.dialect.name != "sqlite":
        pytest.skip("the SQLite case")
    with clean_engine.begin() as conn:
        before = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE tbl_name = :t"), {"t": TABLE}).all()
        with indexes_built_after(conn, TABLE) as rebuilt:
            assert rebuilt is False
            assert conn.execute(text("SELECT name, sql FROM sqlite_master WHERE tbl_name = :t"),
                                {"t": TABLE}).all() == before


def test_indexes_and_keys_come_back_as_they_were(clean_engine, factory, session):
    _postgres_only(clean_engine)
    user = factory.user()
    session.commit()
    with clean_engine.begin() as conn:
        shape, oids = _shape(conn), _index_oids(conn)
        settings = text("SELECT current_setting('maintenance_work_mem'), current_setting('lock_timeout')")
        before = conn.execute(settings).one()
        assert len(shape[0]) >= 5 and any("FOREIGN KEY" in d for _, d in shape[1])  # something to rebuild
        with indexes_built_after(conn, TABLE) as rebuilt:
            assert rebuilt is True
            inside = _shape(conn)
            assert [name for name, _ in inside[0]] == ["pk_reputation_events"]  # only the primary key stays
            # ... with the foreign keys: dropping one would lock `users` (below)
            assert [name for name, _ in inside[1]] == ["fk_reputation_events_product_id_products",
                                                       "fk_reputation_events_user_id_users", "pk_reputation_events"]
            for source_id in range(50):
                _event(conn, user.id, source_id)
        assert _shape(conn) == shape
        assert _index_oids(conn).isdisjoint(oids)  # built anew
        assert conn.execute(settings).one() == before  # the build's memory and the lock's wait, as they were
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reputation_events")).scalar() == 50


@pytest.mark.parametrize("broken", ["unknown user", "duplicate"])
def test_a_row_that_breaks_a_key_or_the_unique_constraint_fails_and_nothing_is_lost(clean_engine, factory, session, broken):
    _postgres_only(clean_engine)
    user = factory.user()
    session.commit()
    with clean_engine.connect() as conn:
        shape = _shape(conn)
    with pytest.raises(IntegrityError), clean_engine.begin() as conn:
        with indexes_built_after(conn, TABLE):
            _event(conn, user.id, 1)
            _event(conn, user.id + 1000 if broken == "unknown user" else user.id, 2 if broken == "unknown user" else 1)
    with clean_engine.connect() as conn:
        assert _shape(conn) == shape
        assert conn.execute(text("SELECT count(*) FROM reputation_events")).scalar() == 0


def test_the_tables_its_keys_point_to_stay_free_for_other_transactions(clean_engine, factory, session):
    """While the ledger is held for the bulk insert, a vote elsewhere can still lock and update
    its users' rows (dropping the ledger's foreign keys locked all of `users` until the import
    ended, and deadlocked with a vote holding a user's row: found in review)."""
    _postgres_only(clean_engine)
    imported, voter = factory.user(), factory.user()
    session.commit()
    with clean_engine.begin() as conn, indexes_built_after(conn, TABLE) as rebuilt:
        assert rebuilt is True
        _event(conn, imported.id, 1)  # its key check holds `imported`'s row (as any insert would), not others
        with clean_engine.begin() as vote:
            vote.execute(text("SET LOCAL lock_timeout = '500ms'"))
            vote.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": voter.id})
            vote.execute(text("UPDATE users SET reputation = reputation + 10 WHERE id = :id"), {"id": voter.id})
            vote.execute(text("SELECT count(*) FROM products"))


def test_a_table_another_transaction_holds_is_left_alone(clean_engine, factory, session):
    _postgres_only(clean_engine)
    user = factory.user()
    session.commit()
    with clean_engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM reputation_events"))  # holds ACCESS SHARE until it ends
        with clean_engine.begin() as conn:
            shape, oids = _shape(conn), _index_oids(conn)
            timeout = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar()
            with indexes_built_after(conn, TABLE, lock_timeout_ms=100) as rebuilt:
                assert rebuilt is False
                assert _shape(conn) == shape and _index_oids(conn) == oids
                _event(conn, user.id, 1)
            assert conn.execute(text("SELECT current_setting('lock_timeout')")).scalar() == timeout
        reader.rollback()
    with clean_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reputation_events")).scalar() == 1


def test_recompute_builds_the_same_ledger_with_the_indexes_built_after(clean_engine, factory, session):
    """A ledger rebuilt from nothing (as an import does) is the one the services wrote, whether its
    indexes were built after the rows (PostgreSQL) or maintained row by row."""
    authors = [factory.user() for _ in range(3)]
    voters = [factory.user(reputation=500) for _ in range(6)]
    base = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for i, author in enumerate(authors):
        q = factory.question(author=author)
        answer = factory.answer(q, author=authors[(i + 1) % 3])
        for j, voter in enumerate(voters):
            vote(session, voter, q, 1 if j % 3 else -1, now=base + timedelta(minutes=j))
            vote(session, voter, answer, 1, now=base + timedelta(minutes=j))
    session.commit()
    ledger_sql = text("SELECT user_id, kind, source_type, source_id, amount FROM reputation_events "
                      "WHERE reversed_at IS NULL ORDER BY user_id, kind, source_type, source_id")
    # The authors' balances (the voters' were set by hand, to let them vote, so no ledger explains them).
    balances_sql = text("SELECT id, reputation FROM users WHERE id IN (:a, :b, :c) ORDER BY id").bindparams(
        a=authors[0].id, b=authors[1].id, c=authors[2].id)
    with clean_engine.connect() as conn:
        ledger, balances = conn.execute(ledger_sql).all(), conn.execute(balances_sql).all()
        oids = _index_oids(conn) if clean_engine.dialect.name == "postgresql" else set()
    assert len(ledger) >= 30
    with Session(clean_engine) as s:
        s.execute(text("DELETE FROM reputation_events"))
        s.execute(text("UPDATE users SET reputation = 1"))
        report = reputation.recompute(s, bulk_from=1)
        s.commit()
    assert report.missing_events == len(ledger)
    with clean_engine.connect() as conn:
        assert conn.execute(ledger_sql).all() == ledger
        assert conn.execute(balances_sql).all() == balances
        if clean_engine.dialect.name == "postgresql":
            assert _index_oids(conn).isdisjoint(oids) and len(_index_oids(conn)) == len(oids)
    with Session(clean_engine) as s:
        assert reputation.recompute(s, fix=False).missing_events == 0


def test_a_table_the_user_does_not_own_is_left_alone(clean_engine, factory, session):
    """A deployment whose migrations run as another role: the import's user may write the ledger
    but not drop its indexes, so it leaves them in place instead of failing."""
    _postgres_only(clean_engine)
    user = factory.user()
    session.commit()
    role = "gs_bulk_not_owner"
    with clean_engine.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
    try:
        with clean_engine.begin() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON reputation_events TO {role}"))
            conn.execute(text(f"GRANT USAGE ON SEQUENCE reputation_events_id_seq TO {role}"))
            conn.execute(text(f"GRANT SELECT, REFERENCES ON users, products TO {role}"))
            shape = _shape(conn)
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            with indexes_built_after(conn, TABLE) as rebuilt:
                assert rebuilt is False
                _event(conn, user.id, 1)
            conn.execute(text("RESET ROLE"))
            assert _shape(conn) == shape
            conn.execute(text(f'REVOKE ALL ON SCHEMA "{schema}" FROM {role}'))
            conn.execute(text(f"REVOKE ALL ON reputation_events, reputation_events_id_seq, users, products FROM {role}"))
    finally:
        with clean_engine.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
