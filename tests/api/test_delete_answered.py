"""Issue 10 item 9: an asker may not delete a thread whose answer by someone else is accepted or
upvoted, nor an author their accepted answer (409 saying why); moderators, staff and admins may."""

from __future__ import annotations

import pytest

from app.answers import service as answers_service
from app.answers.models import Answer
from app.questions.models import Question
from app.reputation.models import ReputationEvent
from app.votes import service as votes_service
from tests.api.conftest import API, assert_problem


@pytest.fixture
def thread(session, factory):
    asker, helper, voter = factory.user("asker"), factory.user("helper"), factory.user("voter")
    q = factory.question(author=asker, title="Wi-Fi drops after the 2.3 update on the Aero 14")
    a = factory.answer(q, author=helper, body="Roll the Wi-Fi driver back to 22.1; 23.0 has the bug.")
    session.commit()
    return {"asker": asker, "helper": helper, "voter": voter, "q": q, "a": a}


def _helper_points(count, thread) -> int:
    return count(ReputationEvent, ReputationEvent.user_id == thread["helper"].id, ReputationEvent.reversed_at.is_(None))


def test_asker_cannot_delete_a_question_whose_answer_is_accepted_and_upvoted(client, login, session, thread, count,
                                                                             fetch):
    q, a = thread["q"], thread["a"]
    votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=a.id, value=1)
    answers_service.accept(session, actor=thread["asker"], question_id=q.id, answer_id=a.id)
    session.commit()
    earned = _helper_points(count, thread)
    assert earned == 2
    r = client.delete(f"{API}/questions/{q.id}", headers=login("asker"))
    body = assert_problem(r, 409)
    assert "accepted answer by another member" in body["detail"]
    assert fetch(Question, q.id).deleted_at is None
    assert client.get(f"{API}/questions/{q.id}").status_code == 200
    assert _helper_points(count, thread) == earned  # the answerer keeps the reputation
    assert client.get(f"{API}/questions/{q.id}", headers=login("asker")).json()["can_delete"] is False


@pytest.mark.parametrize("what", ["upvoted", "accepted"])
def test_either_an_upvote_or_an_acceptance_alone_protects_the_thread(client, login, session, thread, fetch, what):
    q, a = thread["q"], thread["a"]
    if what == "upvoted":
        votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=a.id, value=1)
    else:
        answers_service.accept(session, actor=thread["asker"], question_id=q.id, answer_id=a.id)
    session.commit()
    body = assert_problem(client.delete(f"{API}/questions/{q.id}", headers=login("asker")), 409)
    assert ("upvoted" if what == "upvoted" else "accepted") in body["detail"]
    assert fetch(Question, q.id).deleted_at is None


def test_asker_may_delete_when_the_answers_are_unvoted_negative_or_their_own(client, login, session, factory, thread,
                                                                           fetch):
    q, a = thread["q"], thread["a"]
    votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=a.id, value=1)
    votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=a.id, value=0)  # retracted
    own = factory.answer(q, author=thread["asker"], body="Self-answer: the 22.1 driver fixed it for me.")
    votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=own.id, value=1)
    answers_service.accept(session, actor=thread["asker"], question_id=q.id, answer_id=own.id)
    session.commit()
    assert client.get(f"{API}/questions/{q.id}", headers=login("asker")).json()["can_delete"] is True
    r = client.delete(f"{API}/questions/{q.id}", headers=login("asker"))
    assert r.status_code == 204, r.text
    assert fetch(Question, q.id).deleted_at is not None


@pytest.mark.parametrize("role", ["moderator", "staff", "admin"])
def test_moderators_keep_the_power(client, login, session, factory, thread, count, fetch, role):
    q, a = thread["q"], thread["a"]
    votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=a.id, value=1)
    answers_service.accept(session, actor=thread["asker"], question_id=q.id, answer_id=a.id)
    factory.user("mod", role=role)
    session.commit()
    assert client.get(f"{API}/questions/{q.id}", headers=login("mod")).json()["can_delete"] is True
    assert client.delete(f"{API}/questions/{q.id}", headers=login("mod")).status_code == 204
    assert fetch(Question, q.id).deleted_at is not None
    assert _helper_points(count, thread) == 0  # a moderator's deletion reverses the thread's reputation


def test_author_cannot_delete_an_accepted_answer(client, login, session, thread, fetch):
    q, a = thread["q"], thread["a"]
    answers_service.accept(session, actor=thread["asker"], question_id=q.id, answer_id=a.id)
    session.commit()
    assert client.get(f"{API}/answers/{a.id}", headers=login("helper")).json()["can_delete"] is False
    body = assert_problem(client.delete(f"{API}/answers/{a.id}", headers=login("helper")), 409)
    assert "accepted" in body["detail"]
    assert fetch(Answer, a.id).deleted_at is None
    # once un-accepted it is theirs to delete again (an upvote does not protect an answer from its author)
    votes_service.cast(session, actor=thread["voter"], post_type="answer", post_id=a.id, value=1)
    session.commit()
    assert client.delete(f"{API}/questions/{q.id}/accept", headers=login("asker")).status_code == 200
    assert client.delete(f"{API}/answers/{a.id}", headers=login("helper")).status_code == 204


def test_a_self_answer_that_is_accepted_must_be_unaccepted_first(client, login, session, factory, thread):
    q = thread["q"]
    own = factory.answer(q, author=thread["asker"], body="Self-answer: the 22.1 driver fixed it for me.")
    answers_service.accept(session, actor=thread["asker"], question_id=q.id, answer_id=own.id)
    factory.user("mod", role="moderator")
    session.commit()
    body = assert_problem(client.delete(f"{API}/answers/{own.id}", headers=login("asker")), 409)
    assert "Un-accept it first" in body["detail"]
    assert client.delete(f"{API}/answers/{own.id}", headers=login("mod")).status_code == 204
