"""POST /questions/{id}/deflect ("Yes, this solved it") checks what it records: `answer_id` must
be a visible answer to that question (or to its original, for a duplicate), else 422 at
["body", "answer_id"]; `title` (what the customer was about to ask, the thing counted) must show,
else 422 at ["body", "title"]. Nothing is counted on a refusal (the web twin:
tests/web/test_solved_it_checks.py). Both databases."""

from __future__ import annotations

import pytest

from app.questions import duplicates
from app.search.models import Deflection
from tests.api.conftest import API, assert_problem


@pytest.fixture
def thread(factory, session):
    author = factory.user("raj")
    q = factory.question(author, title="Bluetooth mouse lags in games on the Aero 14")
    other = factory.question(author, title="Dock Pro will not charge my laptop at 100 W")
    mine, foreign = factory.answer(q), factory.answer(other)
    session.commit()
    return q, other, mine, foreign


def _deflect(client, qid, **body):
    return client.post(f"{API}/questions/{qid}/deflect", json={"title": "mouse lag in games", **body})


def test_an_answer_of_another_question_is_422_and_nothing_counted(client, session, count, thread):
    q, _, mine, foreign = thread
    for answer_id in (foreign.id, 2**31 - 1):
        body = assert_problem(_deflect(client, q.id, answer_id=answer_id), 422)
        assert body["errors"][0]["loc"] == ["body", "answer_id"], body
    assert count(Deflection) == 0
    r = _deflect(client, q.id, answer_id=mine.id)
    assert r.status_code == 201 and r.json()["answer_url"].endswith(f"#answer-{mine.id}")


def test_a_deleted_or_hidden_answer_is_not_one_to_name(client, session, count, factory, thread):
    q, *_ = thread
    hidden, deleted = factory.answer(q), factory.answer(q)
    hidden.hidden_at, hidden.hidden_reason = hidden.created_at, "moderator"
    deleted.deleted_at = deleted.created_at
    session.add_all([hidden, deleted])
    session.commit()
    for answer in (hidden, deleted):
        body = assert_problem(_deflect(client, q.id, answer_id=answer.id), 422)
        assert body["errors"][0]["loc"] == ["body", "answer_id"]
    assert count(Deflection) == 0


@pytest.mark.parametrize("title", ["", "   ", "\u200b", "\u200d\u2060\ufeff", "\u00a0\u200e"], ids=repr)
def test_a_blank_title_is_422_and_nothing_counted(client, count, thread, title):
    q, _, mine, _ = thread
    body = assert_problem(client.post(f"{API}/questions/{q.id}/deflect", json={"title": title, "answer_id": mine.id}),
                          422)
    assert body["errors"][0]["loc"] == ["body", "title"], body
    assert count(Deflection) == 0
    assert_problem(client.post(f"{API}/questions/{q.id}/deflect", json={"answer_id": mine.id}), 422)


def test_a_duplicates_original_answers_count(client, session, count, factory, thread):
    q, _, mine, foreign = thread
    mod = factory.user("mira", role="moderator")
    dup = factory.question(title="Mouse lag in games on my Aero 14 laptop")
    session.commit()
    duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=q.id)
    session.commit()
    r = _deflect(client, dup.id, answer_id=mine.id)
    assert r.status_code == 201 and r.json()["question_id"] == q.id
    assert_problem(_deflect(client, dup.id, answer_id=foreign.id), 422)
    assert count(Deflection) == 1
