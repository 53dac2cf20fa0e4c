"""Load and saturation through a real uvicorn server and real HTTP (docs/operations.md, "Load and
saturation"): 100 simultaneous voters all succeed with an exact score; beyond the per-process
limits requests are refused at once with a 503 problem and Retry-After, never a 500, and nothing
accepted is lost. bench/concurrency_bench.py measures the same through `groundswell serve`."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.answers.models import Answer
from app.core import security
from app.core.db import make_engine, writer
from app.main import create_app
from app.votes.models import Vote
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_answer, make_question, make_user
from tests.http_load import burst, request, serve


def _community(session, voters: int):
    """A question, an answer to vote on, and `voters` users with API tokens (committed)."""
    question = make_question(session)
    answer = make_answer(session, question)
    users = [make_user(session) for _ in range(voters)]
    tokens = [security.issue_token(TEST_SECRET, u.id, u.token_version,
                                   accounts_service.start_session(session, u, kind="token", max_age=3600))
              for u in users]
    session.commit()
    return answer.id, tokens


def _votes(engine, answer_id: int) -> tuple[int, int]:
    """(the answer's score, the number of vote rows on it)."""
    with Session(engine) as s:
        score = s.execute(select(Answer.score).where(Answer.id == answer_id)).scalar_one()
        rows = s.execute(select(func.count()).select_from(Vote).where(
            Vote.post_type == "answer", Vote.post_id == answer_id)).scalar_one()
    return score, rows


def _vote_jobs(answer_id: int, tokens: list[str], value: int = 1) -> list[tuple]:
    return [("POST", f"/api/v1/answers/{answer_id}/vote", t, {"value": value}) for t in tokens]


class _HeldAnswer:
    """Keeps every vote on the answer waiting on the database until released: PostgreSQL holds the
    answer's row lock, SQLite the write lock (BEGIN IMMEDIATE), as a slow writer would."""

    def __init__(self, engine, answer_id: int):
        self.session = Session(writer(engine))
        self.session.execute(select(Answer.id).where(Answer.id == answer_id).with_for_update())

    def release(self) -> None:
        self.session.close()  # rolls back; a second call does nothing


def _burst_while_held(app, engine, answer_id: int, jobs: list[tuple], refusals: int, while_held=None) -> list:
    """Send `jobs` at once while the answer is held in the database; release it once `refusals`
    replies were 503 (so every request has arrived and been admitted, queued or refused), after
    calling `while_held(port)` if given."""
    refused = threading.Semaphore(0)
    held = _HeldAnswer(engine, answer_id)
    result = {}
    try:
        with serve(app) as port:
            sender = threading.Thread(target=lambda: result.update(replies=burst(
                port, jobs, on_reply=lambda r: r.status == 503 and refused.release())[0]))
            sender.start()
            for _ in range(refusals):
                assert refused.acquire(timeout=60), "the requests beyond capacity were not refused"
            if while_held is not None:
                while_held(port)
            held.release()
            sender.join(timeout=120)
    finally:
        held.release()
    return result["replies"]


@pytest.mark.parametrize("value", [1, -1])
def test_100_simultaneous_voters_on_one_answer_all_succeed_with_an_exact_score(session, clean_engine, db_url, value):
    answer_id, tokens = _community(session, 100)
    if value < 0:  # voting down is a privilege: moderators hold every privilege
        from app.accounts.models import User

        for t in tokens:
            uid = security.read_token(TEST_SECRET, t, 3600)[0]
            session.get(User, uid).role = "moderator"
        session.commit()
    app = create_app(make_settings(db_url), clean_engine)
    with serve(app) as port:
        replies, _ = burst(port, _vote_jobs(answer_id, tokens, value))
    statuses = Counter(r.status for r in replies)
    assert statuses == {200: 100}, statuses
    assert sorted(r.body["my_vote"] for r in replies) == [value] * 100
    # Each answer reports the score after its own vote: 100 distinct values, ending at the total.
    assert sorted(r.body["score"] * value for r in replies) == list(range(1, 101))
    assert _votes(clean_engine, answer_id) == (100 * value, 100)


def test_requests_beyond_the_inflight_limit_and_queue_get_a_quick_503_and_nothing_is_lost(session, clean_engine,
                                                                                           db_url):
    """Limit 3 at once and 4 waiting: of 20 simultaneous votes held up in the database, 13 are
    refused at once with 503 + Retry-After (and write nothing); the 7 others succeed once the
    database lets go."""
    answer_id, tokens = _community(session, 20)
    settings = make_settings(db_url, max_inflight=3, max_queue=4, queue_timeout=60, db_timeout=60)
    replies = _burst_while_held(create_app(settings, clean_engine), clean_engine, answer_id,
                                _vote_jobs(answer_id, tokens), refusals=13)
    assert Counter(r.status for r in replies) == {200: 7, 503: 13}
    for r in replies:
        if r.status == 503:
            assert r.retry_after is not None and int(r.retry_after) >= 1
            assert r.content_type.startswith("application/problem+json")
            assert r.body["type"] == "/problems/busy" and r.body["status"] == 503
    assert _votes(clean_engine, answer_id) == (7, 7)


def test_a_request_that_waits_past_the_queue_timeout_gets_503(session, clean_engine, db_url):
    answer_id, tokens = _community(session, 6)
    settings = make_settings(db_url, max_inflight=2, max_queue=100, queue_timeout=0.2, db_timeout=60)
    # The two admitted hold their slots (waiting on the database); the four queued ones expire.
    replies = _burst_while_held(create_app(settings, clean_engine), clean_engine, answer_id,
                                _vote_jobs(answer_id, tokens), refusals=4)
    assert Counter(r.status for r in replies) == {200: 2, 503: 4}
    assert all(r.retry_after for r in replies if r.status == 503)
    assert _votes(clean_engine, answer_id) == (2, 2)


def test_saturated_writes_hold_up_no_reads_and_a_browser_gets_a_503_page(session, clean_engine, db_url):
    """Reads and writes queue separately: while every write slot is taken and the write queue is
    full, API and page reads still answer 200; a form posted by a browser gets the forum's error
    page, with the same status and Retry-After."""
    import http.client

    answer_id, tokens = _community(session, 2)
    settings = make_settings(db_url, max_inflight=1, max_queue=0, queue_timeout=60, db_timeout=60)
    seen = []

    def while_writes_are_saturated(port):
        seen.append(request(port, "GET", "/api/v1/questions?limit=5").status)
        for method in ("GET", "POST"):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(method, f"/answers/{answer_id}/vote" if method == "POST" else "/",
                         body="value=1" if method == "POST" else None,
                         headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            seen.append((resp.status, resp.getheader("Retry-After"), resp.getheader("Content-Type"),
                         resp.read().decode()))
            conn.close()

    replies = _burst_while_held(create_app(settings, clean_engine), clean_engine, answer_id,
                                _vote_jobs(answer_id, tokens), refusals=1, while_held=while_writes_are_saturated)
    assert Counter(r.status for r in replies) == {200: 1, 503: 1}
    api_read, page, form = seen
    assert api_read == 200 and page[0] == 200
    status, retry_after, content_type, html = form
    assert status == 503 and retry_after == "2" and content_type.startswith("text/html")
    assert "Server busy" in html and "try again" in html


def test_waiting_past_the_database_timeout_is_a_503_not_a_500(session, clean_engine, db_url):
    """A vote that cannot get the answer's lock (PostgreSQL lock_timeout) or SQLite's write lock
    within db_timeout is rolled back and answered 503 + Retry-After."""
    answer_id, tokens = _community(session, 2)
    engine = make_engine(db_url, db_timeout=0.3)
    app = create_app(make_settings(db_url, db_timeout=0.3), engine)
    held = _HeldAnswer(clean_engine, answer_id)
    try:
        with serve(app) as port:
            reply = request(port, "POST", f"/api/v1/answers/{answer_id}/vote", tokens[0], {"value": 1})
            assert reply.status == 503, reply
            assert reply.retry_after and reply.body["type"] == "/problems/busy"
            held.release()
            assert request(port, "POST", f"/api/v1/answers/{answer_id}/vote", tokens[1], {"value": 1}).status == 200
    finally:
        held.release()
        engine.dispose()
    assert _votes(clean_engine, answer_id) == (1, 1)


def test_no_free_database_connection_within_the_timeout_is_a_503(session, clean_engine, db_url):
    answer_id, tokens = _community(session, 1)
    engine = make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    app = create_app(make_settings(db_url), engine)
    try:
        with serve(app) as port:
            with engine.connect() as conn:  # the only connection is taken
                conn.execute(text("SELECT 1"))
                reply = request(port, "POST", f"/api/v1/answers/{answer_id}/vote", tokens[0], {"value": 1})
            assert reply.status == 503 and reply.retry_after, reply
            assert request(port, "POST", f"/api/v1/answers/{answer_id}/vote", tokens[0], {"value": 1}).status == 200
    finally:
        engine.dispose()
    assert _votes(clean_engine, answer_id) == (1, 1)
