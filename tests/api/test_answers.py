"""Answers, ranking, votes, accept / switch / un-accept, comments, soft deletes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.answers.models import Answer
from app.comments.models import Comment
from app.core.db import utcnow
from app.questions.models import Question, Revision
from app.votes import service as votes_service
from app.votes.models import Vote
from tests.api.conftest import API, assert_problem

ANSWER_KEYS = {"id", "question_id", "body", "body_html", "author", "score", "is_accepted", "is_staff", "created_at"}
BODY = {"body": "Update the firmware from the support page, then reboot twice."}


def test_post_answer_201(client, factory, session, login, count):
    q = factory.question()
    helper = factory.user("helper")
    session.commit()
    r = client.post(f"{API}/questions/{q.id}/answers", json=BODY, headers=login("helper"))
    assert r.status_code == 201, r.text
    a = r.json()
    assert ANSWER_KEYS <= a.keys()
    assert a["question_id"] == q.id and a["body"] == BODY["body"] and a["author"]["id"] == helper.id
    assert a["score"] == 0 and a["is_accepted"] is False and a["is_staff"] is False
    assert "<p>" in a["body_html"]
    assert r.headers["location"].endswith(f"/api/v1/answers/{a['id']}")
    got = client.get(f"{API}/questions/{q.id}").json()
    assert got["answer_count"] == 1 and [x["id"] for x in got["answers"]] == [a["id"]]
    assert count(Revision, Revision.post_type == "answer", Revision.post_id == a["id"]) == 1


def test_post_answer_refusals(client, factory, session, login, count):
    q = factory.question()
    factory.user("helper")
    session.commit()
    h = login("helper")
    assert_problem(client.post(f"{API}/questions/{q.id}/answers", json=BODY), 401)
    assert_problem(client.post(f"{API}/questions/{q.id + 50}/answers", json=BODY, headers=h), 404)
    assert_problem(client.post(f"{API}/questions/{q.id}/answers", json={"body": "too short"}, headers=h), 422)
    assert_problem(client.post(f"{API}/questions/{q.id}/answers", json={"body": "x" * 30_001}, headers=h), 422)
    assert_problem(client.post(f"{API}/questions/{q.id}/answers", json={}, headers=h), 422)
    assert count(Answer) == 0
    assert client.get(f"{API}/questions/{q.id}").json()["answer_count"] == 0


def test_answers_ranked_accepted_first_then_score_then_age(client, factory, session, login):
    asker = factory.user("asker")
    q = factory.question(asker)
    staff = factory.user("staffer", role="staff")
    old = factory.answer(q)
    high = factory.answer(q)
    high_later = factory.answer(q)
    staff_answer = factory.answer(q, author=staff)
    accepted = factory.answer(q)
    base = utcnow() - timedelta(hours=5)
    for i, a in enumerate([old, high, high_later, staff_answer, accepted]):
        a.created_at = base + timedelta(minutes=i)
    for voter in (factory.user(), factory.user()):
        for a in (high, high_later):
            votes_service.cast(session, actor=voter, post_type="answer", post_id=a.id, value=1)
    session.commit()
    assert client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": accepted.id},
                       headers=login("asker")).status_code == 200
    body = client.get(f"{API}/questions/{q.id}").json()
    assert [a["id"] for a in body["answers"]] == [accepted.id, high.id, high_later.id, old.id, staff_answer.id]
    flags = {a["id"]: (a["is_accepted"], a["is_staff"]) for a in body["answers"]}
    assert flags[accepted.id] == (True, False)
    assert flags[staff_answer.id] == (False, True)  # badged, not boosted
    assert flags[old.id] == (False, False)
    assert body["accepted_answer_id"] == accepted.id


def test_votes_on_answer(client, factory, session, login, count):
    q = factory.question()
    author = factory.user("author")
    a = factory.answer(q, author=author)
    factory.user("voter1", role="moderator")  # may vote down
    factory.user("voter2")
    session.commit()
    url = f"{API}/answers/{a.id}/vote"
    h1, h2 = login("voter1"), login("voter2")
    assert client.post(url, json={"value": 1}, headers=h1).json() == {"score": 1, "my_vote": 1}
    assert client.post(url, json={"value": 1}, headers=h1).json() == {"score": 1, "my_vote": 1}  # repeat: no change
    assert client.post(url, json={"value": 1}, headers=h2).json() == {"score": 2, "my_vote": 1}
    assert client.post(url, json={"value": -1}, headers=h1).json() == {"score": 0, "my_vote": -1}
    assert client.post(url, json={"value": -1}, headers=h1).json() == {"score": 0, "my_vote": -1}
    assert client.post(url, json={"value": 0}, headers=h1).json() == {"score": 1, "my_vote": 0}
    assert client.post(url, json={"value": 0}, headers=h1).json() == {"score": 1, "my_vote": 0}
    assert count(Vote) == 1
    got = client.get(f"{API}/answers/{a.id}", headers=h2).json()
    assert got["score"] == 1 and got["my_vote"] == 1
    assert client.get(f"{API}/questions/{q.id}").json()["answers"][0]["score"] == 1


def test_votes_on_question(client, factory, session, login, fetch):
    asker = factory.user("asker")
    q = factory.question(asker)
    factory.user("voter", role="moderator")  # may vote down
    session.commit()
    url = f"{API}/questions/{q.id}/vote"
    h = login("voter")
    assert client.post(url, json={"value": -1}, headers=h).json() == {"score": -1, "my_vote": -1}
    assert client.post(url, json={"value": 1}, headers=h).json() == {"score": 1, "my_vote": 1}
    assert fetch(Question, q.id).score == 1
    body = client.get(f"{API}/questions/{q.id}", headers=h).json()
    assert body["score"] == 1 and body["my_vote"] == 1
    assert client.get(f"{API}/questions").json()["items"][0]["score"] == 1


def test_vote_refusals(client, factory, session, login, count):
    asker = factory.user("asker")
    q = factory.question(asker)
    a = factory.answer(q, author=factory.user("helper"))
    factory.user("voter")
    session.commit()
    assert_problem(client.post(f"{API}/questions/{q.id}/vote", json={"value": 1}, headers=login("asker")), 403)
    assert_problem(client.post(f"{API}/answers/{a.id}/vote", json={"value": 1}, headers=login("helper")), 403)
    assert_problem(client.post(f"{API}/answers/{a.id}/vote", json={"value": 1}), 401)
    h = login("voter")
    for bad in ({"value": 2}, {"value": "up"}, {}, {"value": 1, "extra": True}):
        assert_problem(client.post(f"{API}/answers/{a.id}/vote", json=bad, headers=h), 422)
    assert_problem(client.post(f"{API}/answers/{a.id + 99}/vote", json={"value": 1}, headers=h), 404)
    assert_problem(client.post(f"{API}/questions/{q.id + 99}/vote", json={"value": 1}, headers=h), 404)
    assert count(Vote) == 0
    assert client.get(f"{API}/questions/{q.id}").json()["score"] == 0


# --- accept -----------------------------------------------------------------------------------

@pytest.fixture
def thread(factory, session):
    asker = factory.user("asker")
    q = factory.question(asker)
    a1 = factory.answer(q, author=factory.user("helper1"))
    a2 = factory.answer(q, author=factory.user("helper2"))
    other_q = factory.question()
    foreign = factory.answer(other_q)
    factory.user("stranger", reputation=50)  # may comment anywhere
    factory.user("staffer", role="staff")
    session.commit()
    return q, a1, a2, foreign


def test_accept_switch_unaccept(client, login, thread, fetch):
    q, a1, a2, _ = thread
    h = login("asker")
    r = client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a1.id}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted_answer_id"] == a1.id and body["has_accepted_answer"] is True
    assert body["answers"][0]["id"] == a1.id and body["answers"][0]["is_accepted"] is True
    r = client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a2.id}, headers=h)
    body = r.json()
    assert body["accepted_answer_id"] == a2.id
    assert [(a["id"], a["is_accepted"]) for a in body["answers"]] == [(a2.id, True), (a1.id, False)]
    # accepting the same answer again is harmless
    assert client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a2.id}, headers=h).json()[
        "accepted_answer_id"] == a2.id
    r = client.delete(f"{API}/questions/{q.id}/accept", headers=h)
    assert r.status_code == 200
    assert r.json()["accepted_answer_id"] is None and r.json()["has_accepted_answer"] is False
    assert not any(a["is_accepted"] for a in r.json()["answers"])
    assert fetch(Question, q.id).accepted_answer_id is None


def test_accept_refused_for_others(client, login, thread, fetch):
    q, a1, _, _ = thread
    assert_problem(client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a1.id}), 401)
    for who in ("stranger", "helper1", "staffer"):  # staff: the question is new
        assert_problem(client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a1.id},
                                   headers=login(who)), 403)
    assert fetch(Question, q.id).accepted_answer_id is None
    assert client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a1.id},
                       headers=login("asker")).status_code == 200
    for who in ("stranger", "staffer"):
        assert_problem(client.delete(f"{API}/questions/{q.id}/accept", headers=login(who)), 403)
    assert fetch(Question, q.id).accepted_answer_id == a1.id


def test_accept_answer_of_another_question_is_422(client, login, thread, fetch):
    q, _, _, foreign = thread
    h = login("asker")
    body = assert_problem(client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": foreign.id},
                                      headers=h), 422)
    assert any("answer_id" in e["loc"] for e in body["errors"])
    assert_problem(client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": 999_999}, headers=h), 422)
    r = client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": 2**70}, headers=h)
    assert_problem(r, 422)
    assert_problem(client.post(f"{API}/questions/{q.id}/accept", json={}, headers=h), 422)
    assert fetch(Question, q.id).accepted_answer_id is None


def test_staff_accepts_only_once_question_is_14_days_old(client, login, thread, session, fetch):
    q, a1, _, _ = thread
    url = f"{API}/questions/{q.id}/accept"
    row = session.get(Question, q.id)
    row.created_at = utcnow() - timedelta(days=13, hours=23)
    session.commit()
    assert_problem(client.post(url, json={"answer_id": a1.id}, headers=login("staffer")), 403)
    row.created_at = utcnow() - timedelta(days=14, minutes=1)
    session.commit()
    r = client.post(url, json={"answer_id": a1.id}, headers=login("staffer"))
    assert r.status_code == 200, r.text
    assert r.json()["accepted_answer_id"] == a1.id
    # a customer who is not the asker still may not, however old the question
    assert_problem(client.delete(url, headers=login("stranger")), 403)
    assert client.delete(url, headers=login("staffer")).status_code == 200
    assert fetch(Question, q.id).accepted_answer_id is None


# --- deletes ----------------------------------------------------------------------------------

def test_delete_accepted_answer_updates_question(client, login, thread, fetch):
    q, a1, a2, _ = thread
    client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a1.id}, headers=login("asker"))
    assert_problem(client.delete(f"{API}/answers/{a1.id}", headers=login("stranger")), 403)
    # its author may not delete an accepted answer (409, issue 10 item 9); staff may
    assert "accepted" in assert_problem(client.delete(f"{API}/answers/{a1.id}", headers=login("helper1")), 409)["detail"]
    assert client.delete(f"{API}/answers/{a1.id}", headers=login("staffer")).status_code == 204
    body = client.get(f"{API}/questions/{q.id}").json()
    assert body["answer_count"] == 1 and body["accepted_answer_id"] is None and body["has_accepted_answer"] is False
    assert [a["id"] for a in body["answers"]] == [a2.id]
    assert_problem(client.get(f"{API}/answers/{a1.id}"), 404)
    assert fetch(Answer, a1.id).deleted_at is not None
    listed = client.get(f"{API}/questions").json()["items"]
    assert {i["id"]: i["answer_count"] for i in listed}[q.id] == 1
    assert [i["id"] for i in client.get(f"{API}/questions?solved=true").json()["items"]] == []
    # deleting twice, voting on or accepting the deleted answer: gone
    assert_problem(client.delete(f"{API}/answers/{a1.id}", headers=login("staffer")), 404)
    assert_problem(client.post(f"{API}/answers/{a1.id}/vote", json={"value": 1}, headers=login("stranger")), 404)
    assert_problem(client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a1.id},
                               headers=login("asker")), 422)


def test_moderator_deletes_answer(client, factory, session, login):
    q = factory.question()
    a = factory.answer(q)
    factory.user("mod", role="moderator")
    session.commit()
    assert client.delete(f"{API}/answers/{a.id}", headers=login("mod")).status_code == 204
    assert client.get(f"{API}/questions/{q.id}").json()["answer_count"] == 0


def test_answers_of_a_deleted_question_are_gone(client, login, thread):
    q, a1, _, _ = thread
    assert client.delete(f"{API}/questions/{q.id}", headers=login("asker")).status_code == 204
    assert_problem(client.get(f"{API}/answers/{a1.id}"), 404)
    assert_problem(client.post(f"{API}/questions/{q.id}/answers", json=BODY, headers=login("stranger")), 404)
    assert_problem(client.post(f"{API}/answers/{a1.id}/comments", json={"body": "Still there?"},
                               headers=login("stranger")), 404)


def test_edit_answer_keeps_revision(client, login, thread, count):
    _, a1, _, _ = thread
    new = {"body": "Update the firmware **and** the dock driver, then reboot."}
    assert_problem(client.patch(f"{API}/answers/{a1.id}", json=new, headers=login("stranger")), 403)
    r = client.patch(f"{API}/answers/{a1.id}", json=new, headers=login("helper1"))
    assert r.status_code == 200 and "<strong>and</strong>" in r.json()["body_html"]
    revs = client.get(f"{API}/answers/{a1.id}/revisions").json()["items"]
    assert [x["number"] for x in revs] == [2, 1] and revs[0]["body"] == new["body"]
    assert count(Revision, Revision.post_type == "answer", Revision.post_id == a1.id) == 2


# --- comments ---------------------------------------------------------------------------------

def test_comments_on_question_and_answer(client, login, thread, count):
    q, a1, _, _ = thread
    h = login("stranger")
    r = client.post(f"{API}/questions/{q.id}/comments", json={"body": "Which *firmware* version?"}, headers=h)
    assert r.status_code == 201, r.text
    c = r.json()
    assert {"id", "body", "body_html", "author", "created_at"} <= c.keys()
    assert c["author"]["username"] == "stranger" and "<em>firmware</em>" in c["body_html"]
    r2 = client.post(f"{API}/answers/{a1.id}/comments", json={"body": "Worked for me."}, headers=h)
    assert r2.status_code == 201
    body = client.get(f"{API}/questions/{q.id}").json()
    assert [x["id"] for x in body["comments"]] == [c["id"]]
    assert [x["id"] for x in next(a for a in body["answers"] if a["id"] == a1.id)["comments"]] == [r2.json()["id"]]
    assert_problem(client.post(f"{API}/questions/{q.id}/comments", json={"body": "x"}, headers=h), 422)
    assert_problem(client.post(f"{API}/questions/{q.id}/comments", json={"body": "y" * 601}, headers=h), 422)
    assert_problem(client.post(f"{API}/questions/{q.id}/comments", json={"body": "Anonymous comment"}), 401)
    assert_problem(client.post(f"{API}/questions/{q.id + 99}/comments", json={"body": "Nowhere"}, headers=h), 404)
    assert count(Comment) == 2


def test_delete_comment(client, login, thread, count):
    q, _, _, _ = thread
    c = client.post(f"{API}/questions/{q.id}/comments", json={"body": "A comment to delete"},
                    headers=login("stranger")).json()
    assert_problem(client.delete(f"{API}/comments/{c['id']}", headers=login("helper1")), 403)
    assert_problem(client.delete(f"{API}/comments/{c['id']}"), 401)
    assert client.delete(f"{API}/comments/{c['id']}", headers=login("stranger")).status_code == 204
    assert client.get(f"{API}/questions/{q.id}").json()["comments"] == []
    assert_problem(client.delete(f"{API}/comments/{c['id']}", headers=login("stranger")), 404)
    assert count(Comment, Comment.deleted_at.is_(None)) == 0
    assert count(Comment) == 1  # soft
