"""The question page's statements run straight on the driver's cursor on PostgreSQL
(app/core/plain.py, issue 11): the same rows, of the same types, as SQLAlchemy's
`Connection.execute`; SQLAlchemy's cursor events still fire; driver errors arrive as SQLAlchemy's
own (a timeout is still a 503), and a lost connection is invalidated. Elsewhere, and for what the
plain path does not handle, the statement goes through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from app.accounts.models import User
from app.badges import service as badges
from app.core import plain
from app.core.db import is_busy_error, make_engine
from app.core.errors import InvalidInput
from app.questions import page_queries as pq
from app.questions.models import Question

ANSWER_TYPES = ("answer", "question")


def _page_statements(dialect: str):
    """(name, statement, whether it takes the viewer) for every statement the page runs through plain."""
    for signed_in in (False, True):
        for staff in (False, True) if signed_in else (False,):
            kind = f"{'signed in' if signed_in else 'anonymous'}{', staff' if staff else ''}"
            yield f"question head, {kind}", pq._question_head_statement(dialect, signed_in, staff), signed_in
            yield f"answers, {kind}", pq._answers_statement(dialect, signed_in, staff), signed_in


# Aggregated lists whose order inside the string is up to the plan; their readers do not depend on it
# (split_tags sorts by position, the ranking's evidence sums).
AGGREGATES = {"tags": pq.SEP, "votes": ",", "imported_votes": ","}


def _normal(rows: list, ordered: bool) -> list:
    """Rows as dicts with their aggregated lists sorted; sorted by id unless the statement orders them
    (without ORDER BY, the two paths may get different plans: `= ANY(array)` against `IN (...)`)."""
    out = []
    for r in rows:
        r = dict(r)
        for key, sep in AGGREGATES.items():
            if r.get(key):
                r[key] = sep.join(sorted(r[key].split(sep)))
        out.append(r)
    return out if ordered else sorted(out, key=lambda r: r["id"])


def _same(expected: list, got: list, ordered: bool = False) -> None:
    expected, got = _normal(expected, ordered), _normal(got, ordered)
    assert got == expected
    for want, have in zip(expected, got):
        for key in want:  # equal is not enough: a naive datetime, a Decimal for an int would differ in use
            assert type(have[key]) is type(want[key]), (key, want[key], have[key])
            if hasattr(want[key], "tzinfo"):
                assert have[key].utcoffset() == want[key].utcoffset(), key


def test_the_page_statements_give_sqlalchemys_rows(session, demo_community):
    conn = session.connection()
    dialect = conn.dialect.name
    questions = [r[0] for r in conn.execute(select(Question.id).order_by(Question.id))]
    users = [r[0] for r in conn.execute(select(User.id).order_by(User.id))]
    assert len(questions) >= 10 and users
    rows = 0
    for name, stmt, takes_viewer in _page_statements(dialect):
        if dialect == "postgresql":
            assert plain.compile_plain(stmt, conn.dialect) is not None, f"{name} would go through SQLAlchemy"
        for i, qid in enumerate(questions):
            params = {"question_id": qid, **({"viewer_id": users[i % len(users)]} if takes_viewer else {})}
            expected = [dict(r) for r in conn.execute(stmt, params).mappings()]
            got = [dict(r) for r in plain.mappings(session, stmt, params)]
            _same(expected, got)
            rows += len(got)
    answers = [r[0] for r in conn.execute(text("SELECT id FROM answers ORDER BY id"))]
    comments = pq._comments_statement(ANSWER_TYPES)
    params = {"ids_0": answers, "ids_1": questions}
    expected = [dict(r) for r in conn.execute(comments, params).mappings()]
    assert expected, "the demo has comments"
    _same(expected, [dict(r) for r in plain.mappings(session, comments, params)], ordered=True)  # ORDER BY
    summaries = pq._summary_statement(dialect)
    expected = [dict(r) for r in conn.execute(summaries, {"ids": questions}).mappings()]
    _same(expected, [dict(r) for r in plain.mappings(session, summaries, {"ids": questions})])
    expected_tallies = [tuple(r) for r in conn.execute(badges._TALLIES, {"ids": users})]
    assert sorted(plain.tuples(session, badges._TALLIES, {"ids": users})) == sorted(expected_tallies)
    assert rows > len(questions)  # answers were compared, not only heads


def test_a_list_parameter_of_any_length_and_an_empty_one(session, factory):
    people = [factory.user() for _ in range(3)]
    session.flush()
    stmt = select(User.__table__.c.username).where(User.__table__.c.id.in_(bindparam("ids", expanding=True)))
    stmt = stmt.order_by(User.__table__.c.username)
    for ids in ([people[0].id], [p.id for p in people], [p.id for p in people] + [2**31 - 1], []):
        expected = [tuple(r) for r in session.connection().execute(stmt, {"ids": ids})]
        assert plain.tuples(session, stmt, {"ids": ids}) == expected
    assert len(plain.tuples(session, stmt, {"ids": [p.id for p in people]})) == 3


def test_sqlalchemys_cursor_events_still_fire(session, factory):
    """Statement counters (the tests' and benches') and the NUL check hang on before_cursor_execute."""
    factory.user(username="eventful")
    session.flush()
    stmt = select(User.__table__.c.id).where(User.__table__.c.username == bindparam("name"))
    seen: list[str] = []
    engine = session.get_bind()

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert len(plain.tuples(session, stmt, {"name": "eventful"})) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1 and "username" in seen[0]
    with pytest.raises(InvalidInput, match="NUL"):
        plain.tuples(session, stmt, {"name": "nul\x00byte"})


def test_what_the_plain_path_does_not_handle_goes_through_sqlalchemy(session, factory):
    q = factory.question()
    session.flush()
    dialect = session.connection().dialect
    since = select(Question.__table__.c.id).where(
        Question.__table__.c.created_at >= bindparam("since", type_=UTCDateTime()))  # a bind processor
    twice = select(Question.__table__.c.id, Question.__table__.c.id.label("id"))  # repeated column names
    not_in = select(Question.__table__.c.id).where(Question.__table__.c.id.not_in(bindparam("ids", expanding=True)))
    for stmt in (since, twice, not_in):
        assert plain.compile_plain(stmt, dialect) is None
    assert plain.tuples(session, since, {"since": q.created_at}) == [(q.id,)]
    assert plain.tuples(session, not_in, {"ids": [q.id + 1]}) == [(q.id,)]
    if dialect.name != "postgresql":
        assert plain.compile_plain(pq._question_head_statement(dialect.name, False, False), dialect) is None


def test_statements_of_other_shapes_give_sqlalchemys_rows(session, factory):
    """Whatever a statement holds, plain.* gives SQLAlchemy's rows: through the plain path or,
    where it cannot take the statement (a Numeric result, a tuple IN, ...), through SQLAlchemy."""
    from sqlalchemy import tuple_

    people = [factory.user() for _ in range(3)]
    session.flush()
    users = User.__table__
    ids = [p.id for p in people]
    statements = [
        (select(func.avg(users.c.reputation).label("mean")), {}),  # Numeric: psycopg's processor needs a coltype
        (select(users.c.username).where(users.c.id.in_(ids)).order_by(users.c.id), {}),  # a list in the statement
        (select(users.c.username).where(tuple_(users.c.id, users.c.username).in_(
            bindparam("pairs", expanding=True))).order_by(users.c.id),
         {"pairs": [(p.id, p.username) for p in people[:2]]}),
        (select(users.c.username).where(users.c.id.in_(bindparam("ids", expanding=True))).order_by(users.c.id),
         {"ids": tuple(ids)}),  # any sequence, as SQLAlchemy takes it
        (select(users.c.username).where(users.c.id.in_(bindparam("ids", expanding=True))).order_by(users.c.id),
         {"ids": set(ids[1:])}),
    ]
    for stmt, params in statements:
        expected = [tuple(r) for r in session.connection().execute(stmt, params)]
        assert expected
        assert plain.tuples(session, stmt, params) == expected
        assert [dict(r) for r in plain.mappings(session, stmt, params)] == \
            [dict(r) for r in session.connection().execute(stmt, params).mappings()]


# --- PostgreSQL: errors -------------------------------------------------------------------------------

@pytest.fixture
def pg_url(db_url) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("driver errors of the plain path: PostgreSQL only")
    return db_url


@pytest.fixture
def pg_engine(pg_url) -> Iterator[Engine]:
    eng = make_engine(pg_url, pool_size=1, max_overflow=0)
    yield eng
    eng.dispose()


@pytest.mark.postgres
def test_a_statement_timeout_is_sqlalchemys_busy_error(pg_engine):
    slow = select(func.pg_sleep(bindparam("seconds")).label("slept"))
    with Session(pg_engine) as s:
        s.connection().execute(text("SET LOCAL statement_timeout = 50"))
        with pytest.raises(OperationalError) as caught:
            plain.tuples(s, slow, {"seconds": 30})
        assert caught.value.orig.sqlstate == "57014"
        assert is_busy_error(caught.value)  # answered with 503 Retry-After, as through SQLAlchemy
        s.rollback()
        assert plain.tuples(s, select(func.pg_backend_pid().label("pid")))  # the connection is still good


@pytest.mark.postgres
def test_a_lost_connection_renews_the_pools_older_connections(pg_url):
    """As through SQLAlchemy: a disconnect error marks every connection the pool opened before it
    as stale (a restart or failover took them all), so the next use of another one reconnects
    instead of failing its first statement."""
    engine = make_engine(pg_url, pool_size=2, max_overflow=0)  # a LIFO pool (app/core/db.py)
    admin = make_engine(pg_url, pool_size=1, max_overflow=0)
    pid_of = select(func.pg_backend_pid().label("pid"))
    try:
        first, second = Session(engine), Session(engine)  # two pooled connections
        [(doomed,)] = plain.tuples(first, pid_of)
        [(other,)] = plain.tuples(second, pid_of)
        second.close()
        first.close()  # returned last: taken first
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": doomed}).scalar_one()
        with Session(engine) as a, Session(engine) as b, Session(engine) as c:
            with pytest.raises(OperationalError) as caught:
                plain.tuples(a, pid_of)
            assert caught.value.connection_invalidated
            a.rollback()
            # The dead entry (returned at once, on invalidation) and the other one, held together.
            pids = {plain.tuples(b, pid_of)[0][0], plain.tuples(c, pid_of)[0][0]}
            assert len(pids) == 2 and not pids & {doomed, other}
    finally:
        engine.dispose()
        admin.dispose()


@pytest.mark.postgres
def test_a_connection_lost_mid_request_is_invalidated(pg_engine, pg_url):
    admin = make_engine(pg_url, pool_size=1, max_overflow=0)
    pid_of = select(func.pg_backend_pid().label("pid"))
    try:
        with Session(pg_engine) as s:
            [(pid,)] = plain.tuples(s, pid_of)
            with admin.connect() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
            with pytest.raises(OperationalError) as caught:
                plain.tuples(s, pid_of)
            assert caught.value.connection_invalidated
            s.rollback()  # no second error on the dead connection
        with Session(pg_engine) as s:  # the pool replaced it
            [(again,)] = plain.tuples(s, pid_of)
            assert again != pid
    finally:
        admin.dispose()
