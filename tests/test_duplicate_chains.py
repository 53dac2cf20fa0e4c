"""Duplicates point at a canonical question: closing a question re-points its duplicates, loops are
refused, and migration 0007 repairs chains and loops already stored (service, API, migration)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text
from sqlmodel.sql.sqltypes import UTCDateTime

from app.core import migrate
from app.core.db import make_engine
from app.core.errors import InvalidInput
from app.questions import duplicates
from app.questions.duplicates import resolve_chains
from app.questions.models import Question
from app.search.models import SearchOutbox
from tests.factories import token_headers

API = "/api/v1"


# --- the pure rule ----------------------------------------------------------------------------

@pytest.mark.parametrize("edges,expected", [
    ({}, {}),
    ({1: 2}, {1: 2}),  # already canonical: nothing to change
    ({1: 2, 2: 3}, {1: 3, 2: 3}),  # a chain ends at its last question
    ({1: 2, 2: 3, 3: 4, 5: 3}, {1: 4, 2: 4, 3: 4, 5: 4}),  # a tree of chains
    ({8: 9, 9: 8}, {8: None, 9: 8}),  # a loop: the lowest id is reopened, the other points at it
    ({7: 5, 5: 6, 6: 7}, {5: None, 6: 5, 7: 5}),  # a loop of three, entered anywhere
    ({1: 4, 4: 3, 3: 4, 2: 1}, {3: None, 4: 3, 1: 3, 2: 3}),  # tails leading into a loop
    ({1: 2, 3: 3}, {1: 2, 3: None}),  # a question pointing at itself is a loop of one
])
def test_resolve_chains(edges, expected):
    assert resolve_chains(edges) == expected
    # Deterministic whatever order the rows come in.
    assert resolve_chains(dict(reversed(list(edges.items())))) == expected


def test_resolve_chains_is_idempotent():
    edges = {10: 11, 11: 12, 12: 10, 13: 11, 20: 21}
    once = resolve_chains(edges)
    repaired = {q: t for q, t in once.items() if t is not None}
    assert all(t not in repaired for t in repaired.values())  # no chains left
    assert resolve_chains(repaired) == repaired


# --- the service and the API ------------------------------------------------------------------

@pytest.fixture
def three(factory, session):
    a = factory.question(title="Fan whirrs loudly when the laptop wakes")
    b = factory.question(title="Laptop fan noisy after sleep")
    c = factory.question(title="Fan runs at full speed after resume from standby")
    mod = factory.user("omar", role="moderator")
    session.commit()
    return a, b, c, mod


def test_closing_an_original_re_points_its_duplicates(session, three):
    a, b, c, mod = three
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=b.id)
    before = a.last_activity_at
    duplicates.close_as_duplicate(session, actor=mod, question_id=b.id, original_id=c.id)
    session.refresh(a)
    assert (a.status, a.duplicate_of_id) == ("duplicate", c.id)
    assert a.last_activity_at >= before
    assert [q.id for q in duplicates.duplicates_of(session, c.id)] == [a.id, b.id]
    assert duplicates.duplicates_of(session, b.id) == []
    # Reopening the middle one does not move A back: the re-pointing is not a state of B.
    duplicates.reopen(session, actor=mod, question_id=b.id)
    session.refresh(a)
    assert a.duplicate_of_id == c.id


def test_a_re_pointed_duplicate_keeps_what_it_was_closed_against(session, three, factory):
    a, b, c, mod = three
    d = factory.question(title="Fan loud at wake-up, BIOS updated")
    e = factory.question(title="Cooling fan spins up after every resume")
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=b.id)
    duplicates.close_as_duplicate(session, actor=mod, question_id=b.id, original_id=c.id)
    duplicates.close_as_duplicate(session, actor=mod, question_id=d.id, original_id=c.id)
    for q in (a, b, d):
        session.refresh(q)
    # (points at, closed against when re-pointed)
    assert [(q.duplicate_of_id, q.duplicate_via_id) for q in (a, b, d)] == [(c.id, b.id), (c.id, None), (c.id, None)]
    # The chain grows at its end: each keeps the question it was first closed against.
    duplicates.close_as_duplicate(session, actor=mod, question_id=c.id, original_id=e.id)
    for q in (a, b, d):
        session.refresh(q)
    assert [(q.duplicate_of_id, q.duplicate_via_id) for q in (a, b, d)] == [(e.id, b.id), (e.id, c.id), (e.id, c.id)]
    # Reopened, it is no duplicate at all; closed again, it points where it was closed.
    duplicates.reopen(session, actor=mod, question_id=a.id)
    session.refresh(a)
    assert (a.status, a.duplicate_of_id, a.duplicate_via_id) == ("open", None, None)
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=e.id)
    session.refresh(a)
    assert (a.duplicate_of_id, a.duplicate_via_id) == (e.id, None)


def test_loops_are_refused_with_the_loop_named(session, three):
    a, b, c, mod = three
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=b.id)
    duplicates.close_as_duplicate(session, actor=mod, question_id=b.id, original_id=c.id)
    with pytest.raises(InvalidInput) as loop:
        duplicates.close_as_duplicate(session, actor=mod, question_id=c.id, original_id=a.id)
    assert f"loop: {c.id} → {a.id} → {c.id}" in loop.value.detail
    session.refresh(c)
    assert c.status == "open"


def test_closing_against_a_duplicate_names_the_end_of_its_chain(session, three, factory):
    a, b, c, mod = three
    d = factory.question(title="Another fan question")
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=b.id)
    with pytest.raises(InvalidInput) as refused:
        duplicates.close_as_duplicate(session, actor=mod, question_id=d.id, original_id=a.id)
    assert f"duplicate of question {b.id}; close against that one" in refused.value.detail


def test_re_pointing_records_every_affected_question_in_the_search_outbox(session, three):
    a, b, c, mod = three
    duplicates.close_as_duplicate(session, actor=mod, question_id=a.id, original_id=b.id)
    session.commit()
    first = session.execute(select(sa.func.max(SearchOutbox.id))).scalar() or 0
    duplicates.close_as_duplicate(session, actor=mod, question_id=b.id, original_id=c.id)
    session.commit()
    recorded = set(session.execute(select(SearchOutbox.question_id).where(SearchOutbox.id > first)).scalars())
    assert {a.id, b.id, c.id} <= recorded


def test_api_re_points_and_refuses_a_loop(client, three):
    a, b, c, _ = three
    headers = token_headers(client, "omar")
    for dup, original in ((a, b), (b, c)):
        r = client.post(f"{API}/questions/{dup.id}/close-as-duplicate", json={"original_id": original.id},
                        headers=headers)
        assert r.status_code == 200, r.text
    assert client.get(f"{API}/questions/{a.id}").json()["duplicate_of"] == c.id
    assert sorted(client.get(f"{API}/questions/{c.id}").json()["duplicates"]) == sorted([a.id, b.id])
    r = client.post(f"{API}/questions/{c.id}/close-as-duplicate", json={"original_id": b.id}, headers=headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert f"{c.id} → {b.id} → {c.id}" in r.json()["detail"]
    assert client.get(f"{API}/questions/{c.id}").json()["status"] == "open"


# --- migration 0007 repairs what is stored ----------------------------------------------------

BEFORE = "0006_escalation"
REPAIR = "0007_dupes_licences"


@pytest.fixture
def old_db(db_url, tmp_path):
    """A database of its own, migrated up to the revision before the repair."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'old.db'}"
        yield url
        return
    from tests.conftest import PG_SCHEMA, PG_URL

    schema = f"{PG_SCHEMA}_m"
    admin = make_engine(PG_URL, pool_size=1, max_overflow=0)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


_users = sa.table("users", *(sa.column(c) for c in (
    "id", "username", "email", "role", "display_name", "bio", "reputation", "token_version", "is_active")),
    sa.column("created_at", UTCDateTime()))
_questions = sa.table("questions", *(sa.column(c) for c in (
    "id", "title", "slug", "body", "body_html", "author_id", "score", "answer_count", "status", "duplicate_of_id",
    "source_url", "body_format")), sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()),
    sa.column("last_activity_at", UTCDateTime()))


def _when(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_migration_repairs_chains_and_loops_and_dates_licences(old_db):
    migrate.upgrade(old_db, BEFORE)
    eng = make_engine(old_db)
    # 3 → 2 → 1 (a chain), 4 ⇄ 5 (a loop), 6 → 4 (into the loop), 9 → 7 (fine as it is); 7 written here.
    links = {2: 1, 3: 2, 4: 5, 5: 4, 6: 4, 9: 7}
    created = {1: _when(2010), 2: _when(2011, 4, 7), 3: _when(2011, 4, 8), 4: _when(2018, 5, 1),
               5: _when(2018, 5, 2), 6: _when(2020), 7: _when(2015), 8: _when(2009), 9: _when(2022)}
    edited = {8: _when(2019)}  # edited after 2018-05-02: its latest revision is CC BY-SA 4.0
    with eng.begin() as conn:
        conn.execute(sa.insert(_users), [{"id": 1, "username": "u1", "email": "u1@example.com", "role": "customer",
                                          "display_name": "U", "bio": "", "reputation": 1, "token_version": 0,
                                          "is_active": True, "created_at": _when(2009)}])
        conn.execute(sa.insert(_questions), [
            {"id": i, "title": f"Question {i}", "slug": f"question-{i}", "body": "b", "body_html": "<p>b</p>",
             "author_id": 1, "score": 0, "answer_count": 0, "status": "duplicate" if i in links else "open",
             "duplicate_of_id": None, "source_url": None if i == 7 else f"https://x.stackexchange.com/q/{i}",
             "body_format": "html", "created_at": created[i], "updated_at": edited.get(i),
             "last_activity_at": created[i]} for i in range(1, 10)])
        for q, original in links.items():
            conn.execute(sa.update(_questions).where(_questions.c.id == q).values(duplicate_of_id=original))
    migrate.upgrade(old_db, REPAIR)
    with eng.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(Question.id, Question.status, Question.duplicate_of_id,
                                                     Question.license))}
        queued = set(conn.execute(select(SearchOutbox.question_id)).scalars())
    eng.dispose()
    state = {i: (r.status, r.duplicate_of_id) for i, r in rows.items()}
    assert state == {1: ("open", None), 2: ("duplicate", 1), 3: ("duplicate", 1),
                     4: ("open", None), 5: ("duplicate", 4), 6: ("duplicate", 4),
                     7: ("open", None), 8: ("open", None), 9: ("duplicate", 7)}
    # Re-pointed or reopened questions and their old and new originals are reindexed; 9 → 7 is untouched.
    assert {1, 2, 3, 4, 5} <= queued and not {7, 9} & queued
    assert {i: r.license for i, r in rows.items()} == {
        1: "CC BY-SA 2.5", 2: "CC BY-SA 2.5", 3: "CC BY-SA 3.0", 4: "CC BY-SA 3.0", 5: "CC BY-SA 4.0",
        6: "CC BY-SA 4.0", 7: None, 8: "CC BY-SA 4.0", 9: "CC BY-SA 4.0"}


# --- at the same moment -------------------------------------------------------------------------

def _close_all(engine, moderator_id: int, pairs: list[tuple[int, int]]) -> list[Exception | None]:
    """Each (question, original) closed in its own transaction, all started at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import Session

    from app.accounts.models import User
    from app.core.db import writer

    barrier = threading.Barrier(len(pairs))

    def one(pair):
        try:
            barrier.wait(timeout=30)
            with Session(writer(engine)) as s, s.begin():
                duplicates.close_as_duplicate(s, actor=s.get(User, moderator_id), question_id=pair[0],
                                              original_id=pair[1])
            return None
        except Exception as exc:  # noqa: BLE001 - returned and asserted by the test
            return exc

    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        return list(pool.map(one, pairs))


def test_concurrent_closes_never_make_a_loop_or_a_chain(session, clean_engine, factory):
    mod = factory.user("omar", role="moderator")
    qs = [factory.question(title=f"Concurrent closing question number {n}") for n in range(12)]
    session.commit()
    loops = [(qs[i].id, qs[i + 1].id) for i in range(0, 6, 2)]
    pairs = loops + [(b, a) for a, b in loops]
    chains = [(qs[i].id, qs[i + 1].id, qs[i + 2].id) for i in (6, 9)]
    pairs += [(a, b) for a, b, _ in chains] + [(b, c) for _, b, c in chains]
    results = _close_all(clean_engine, mod.id, pairs)
    unexpected = [r for r in results if r is not None and not isinstance(r, InvalidInput)]
    assert unexpected == []  # no deadlock, no 500
    session.expire_all()
    edges = {q.id: q.duplicate_of_id for q in session.execute(select(Question)).scalars() if q.status == "duplicate"}
    session.commit()
    assert all(original not in edges for original in edges.values())  # every duplicate points at a canonical one
    for a, b in loops:  # exactly one of each pair won
        assert (a in edges) != (b in edges)
    for a, b, c in chains:  # B → C always; A → C when it came first (re-pointed), else refused
        assert edges[b] == c and edges.get(a) in (c, None)
