"""Anti-gaming: no self-votes, the 5-minute vote lock, 40 votes a day, serial voting found and reversed,
sock-puppet signals reported, and the moderators' voting-report API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.answers import service as answers_service
from app.answers.models import Answer
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, RateLimited
from app.questions import service as questions_service
from app.questions.models import Question
from app.questions.schemas import AnswerUpdate, QuestionUpdate
from app.reputation import gaming, policy
from app.reputation import service as reputation
from app.reputation.models import ReputationEvent, VotingReport
from app.votes.models import Vote
from tests.api.conftest import API, assert_problem
from tests.reputation.helpers import day_start, earn, fans, ledger, rep, vote


# --- self-votes and the vote lock -------------------------------------------------------------

def test_no_self_votes(session, factory):
    author = factory.user("author")
    q = factory.question(author)
    a = factory.answer(factory.question(), author=author)
    for post in (q, a):
        with pytest.raises(Forbidden):
            vote(session, author, post, 1)
    assert session.exec(select(Vote)).all() == [] and rep(session, author) == 1


def test_vote_locks_after_five_minutes(session, factory):
    helper = factory.user("helper")
    a = factory.answer(factory.question(), author=helper)
    voter = factory.user("voter", role="moderator")  # may vote down
    t = utcnow() - timedelta(hours=1)
    vote(session, voter, a, 1, now=t)
    assert vote(session, voter, a, 1, now=t + timedelta(minutes=30)) == (1, 1)  # repeating is not a change
    for value in (-1, 0):
        with pytest.raises(Conflict):
            vote(session, voter, a, value, now=t + timedelta(minutes=5, seconds=1))
    assert rep(session, helper) == 11 and session.get(Answer, a.id).score == 1
    # within the 5 minutes a change is fine, and the new vote's own lock starts then
    [other] = fans(session, 1)
    vote(session, other, a, 1, now=t)
    assert vote(session, other, a, 0, now=t + timedelta(minutes=5)) == (1, 0)


def test_vote_unlocks_when_the_post_is_edited_after_it(session, factory):
    helper = factory.user("helper")
    asker = factory.user("asker")
    q = factory.question(asker)
    a = factory.answer(q, author=helper)
    [voter] = fans(session, 1)
    t = utcnow() - timedelta(minutes=30)
    vote(session, voter, a, 1, now=t)
    vote(session, voter, q, 1, now=t)
    with pytest.raises(Conflict):
        vote(session, voter, a, 0, now=utcnow())
    answers_service.edit(session, actor=helper, answer_id=a.id,
                         data=AnswerUpdate(body="Roll back the driver, then reboot twice; it fixed it for me."))
    assert vote(session, voter, a, 0, now=utcnow() + timedelta(seconds=1)) == (0, 0)
    assert rep(session, helper) == 1
    # the question is still locked until it is edited
    with pytest.raises(Conflict):
        vote(session, voter, q, 0, now=utcnow())
    questions_service.edit(session, actor=asker, question_id=q.id,
                           data=QuestionUpdate(body="After the latest update my Wi-Fi drops every 5 minutes."))
    assert vote(session, voter, q, 0, now=utcnow() + timedelta(seconds=1)) == (0, 0)
    assert rep(session, asker) == 1


def test_locked_vote_through_the_api_is_409(client, factory, session, login):
    a = factory.answer(factory.question(), author=factory.user("helper"))
    voter = factory.user("voter")
    vote(session, voter, a, 1, now=utcnow() - timedelta(minutes=6))
    session.commit()
    body = assert_problem(client.post(f"{API}/answers/{a.id}/vote", json={"value": 0}, headers=login("voter")), 409)
    assert "5 minutes" in body["detail"]
    assert client.get(f"{API}/answers/{a.id}").json()["score"] == 1


# --- 40 votes a day ---------------------------------------------------------------------------

def test_the_41st_vote_of_a_day_is_refused(session, factory):
    author = factory.user("author")
    questions = [factory.question(author) for _ in range(42)]
    [voter] = fans(session, 1)
    t = day_start(1)
    for i, q in enumerate(questions[:40]):
        vote(session, voter, q, 1, now=t + timedelta(seconds=i))
    with pytest.raises(RateLimited) as info:
        vote(session, voter, questions[40], 1, now=t + timedelta(minutes=1))
    assert 0 < info.value.retry_after <= 12 * 3600  # until midnight UTC
    assert session.get(Question, questions[40].id).score == 0
    # changing or retracting one of today's votes is not a new vote
    assert vote(session, voter, questions[0], 0, now=t + timedelta(minutes=2)) == (0, 0)
    assert vote(session, voter, questions[40], 1, now=t + timedelta(minutes=3)) == (1, 1)
    assert vote(session, voter, questions[40], 0, now=t + timedelta(minutes=4)) == (0, 0)
    assert vote(session, voter, questions[40], 1, now=t + timedelta(minutes=5)) == (1, 1)
    # the next day brings a new allowance
    assert vote(session, voter, questions[41], 1, now=t + timedelta(days=1)) == (1, 1)
    assert rep(session, author) == 1 + 200 + 5  # and the author's cap held on the first day


def test_switching_a_vote_at_the_daily_limit_is_allowed(session, factory):
    author = factory.user("author")
    answers = [factory.answer(factory.question(), author=author) for _ in range(40)]
    voter = factory.user("voter", role="moderator")
    t = day_start(1)
    for i, a in enumerate(answers):
        vote(session, voter, a, 1, now=t + timedelta(seconds=i))
    assert vote(session, voter, answers[-1], -1, now=t + timedelta(minutes=1)) == (-1, -1)
    with pytest.raises(RateLimited):
        vote(session, voter, factory.answer(factory.question(), author=author), 1, now=t + timedelta(minutes=1))


def test_41st_vote_through_the_api_is_429(client, factory, session, login):
    author = factory.user("author")
    questions = [factory.question(author) for _ in range(41)]
    voter = factory.user("voter")
    for q in questions[:40]:
        vote(session, voter, q, 1)
    session.commit()
    r = client.post(f"{API}/questions/{questions[40].id}/vote", json={"value": 1}, headers=login("voter"))
    body = assert_problem(r, 429)
    assert "40" in body["detail"] and int(r.headers["retry-after"]) > 0


# --- serial voting ----------------------------------------------------------------------------

def _serial_setup(session, factory, n, *, now):
    target = factory.user("target")
    posts = [factory.answer(factory.question(), author=target) for _ in range(n - 1)] + [factory.question(target)]
    [voter] = fans(session, 1)
    for i, p in enumerate(posts):
        vote(session, voter, p, 1, now=now - timedelta(hours=2) + timedelta(minutes=i))
    return target, posts, voter


def test_serial_voting_is_reversed_with_a_reason(session, factory):
    now = utcnow()
    target, posts, voter = _serial_setup(session, factory, 5, now=now)
    [honest] = fans(session, 1, prefix="honest")
    vote(session, honest, posts[0], 1, now=now - timedelta(hours=1))
    assert rep(session, target) == 1 + 4 * 10 + 5 + 10
    result = gaming.detect_serial_voting(session, now=now)
    assert (result.pairs, result.votes_reversed) == (1, 5)

    assert rep(session, target) == 1 + 10  # only the honest vote is left
    assert [session.get(type(p), p.id).score for p in posts] == [1, 0, 0, 0, 0]
    assert session.exec(select(Vote).where(Vote.voter_id == voter.id)).all() == []
    reversed_ = ledger(session, target, counting=False)
    assert len(reversed_) == 5 and {e.reversal_reason for e in reversed_} == {"serial voting"}
    (report,) = session.exec(select(VotingReport)).all()
    assert (report.kind, report.voter_id, report.author_id, report.votes, report.reversed_votes) == (
        "serial_voting", voter.id, target.id, 5, 5)
    assert "reversed" in report.detail and report.resolved_at is None
    # running again finds nothing new
    assert gaming.detect_serial_voting(session, now=now).votes_reversed == 0
    assert reputation.recompute(session, fix=False).differences == 0


def test_four_votes_are_left_alone(session, factory):
    now = utcnow()
    target, posts, voter = _serial_setup(session, factory, 4, now=now)
    assert gaming.detect_serial_voting(session, now=now).votes_reversed == 0
    assert rep(session, target) == 1 + 3 * 10 + 5
    assert session.exec(select(VotingReport)).all() == []


def test_votes_outside_the_window_or_in_both_directions_are_not_serial(session, factory):
    now = utcnow()
    target = factory.user("target")
    posts = [factory.answer(factory.question(), author=target) for _ in range(6)]
    [voter] = fans(session, 1)
    earn(session, voter, 130, first_day_ago=5)
    for i, p in enumerate(posts[:2]):  # two of them long ago
        vote(session, voter, p, 1, now=now - timedelta(hours=30, minutes=i))
    for i, p in enumerate(posts[2:5]):
        vote(session, voter, p, 1, now=now - timedelta(hours=3, minutes=i))
    vote(session, voter, posts[5], -1, now=now - timedelta(hours=1))
    assert gaming.detect_serial_voting(session, now=now).pairs == 0
    assert len(session.exec(select(Vote).where(Vote.voter_id == voter.id, Vote.post_type == "answer",
                                               Vote.post_id.in_([p.id for p in posts]))).all()) == 6


# --- sock puppets -----------------------------------------------------------------------------

def test_new_account_upvoting_a_lookalike_is_reported(session, factory):
    main = factory.user("maya_kestrel", email="maya@kestrel.example")
    q = factory.question(main)
    a = factory.answer(factory.question(), author=main)
    puppet = factory.user("maya_kestrel2", email="m.k@mail.example")
    vote(session, puppet, q, 1)
    (report,) = session.exec(select(VotingReport)).all()
    assert (report.kind, report.voter_id, report.author_id, report.votes) == ("sock_puppet", puppet.id, main.id, 1)
    assert "similar usernames" in report.detail and report.reversed_votes == 0
    vote(session, puppet, a, 1)  # the same open report counts the next vote
    assert [r.votes for r in session.exec(select(VotingReport)).all()] == [2]
    assert rep(session, main) == 1 + 5 + 10  # a signal for moderators: the votes stand


def test_new_account_from_the_same_address_is_reported(session, factory):
    main = factory.user("orbit", email="orbit@one.example", signup_fingerprint="f" * 64)
    a = factory.answer(factory.question(), author=main)
    puppet = factory.user("zzyzx", email="zed@two.example", signup_fingerprint="f" * 64)
    vote(session, puppet, a, 1)
    (report,) = session.exec(select(VotingReport)).all()
    assert report.voter_id == puppet.id and "same address" in report.detail


def test_old_accounts_and_downvotes_are_not_reported(session, factory):
    main = factory.user("maya_kestrel", email="maya@kestrel.example")
    answers = [factory.answer(factory.question(), author=main) for _ in range(2)]
    old = factory.user("maya_kestrel2", email="mk2@kestrel.example",
                       created_at=utcnow() - policy.NEW_ACCOUNT_AGE - timedelta(days=1))
    vote(session, old, answers[0], 1)
    unrelated = factory.user("quentin", email="quentin@else.example")
    vote(session, unrelated, answers[0], 1)
    newmod = factory.user("maya_kestrel3", email="mk3@kestrel.example", role="moderator")
    vote(session, newmod, answers[1], -1)
    assert session.exec(select(VotingReport)).all() == []


def test_signup_through_the_api_records_a_fingerprint(client, session, clean_engine):
    from app.accounts.models import User

    for name in ("first_one", "second_one"):
        r = client.post(f"{API}/auth/register",
                        json={"username": name, "email": f"{name}@x.example", "password": "a-long-enough-password"})
        assert r.status_code == 201, r.text
    with Session(clean_engine) as s:
        prints = [u.signup_fingerprint for u in s.exec(select(User).order_by(User.id)).all()]
    # a keyed hash of the address (the test client's), the same for both, never the address itself
    assert prints[0] and prints[0] == prints[1] and "testclient" not in prints[0] and len(prints[0]) <= 64


# --- voting reports API -----------------------------------------------------------------------

def test_voting_reports_api(client, factory, session, login, fetch, clean_engine):
    target = factory.user("target")
    answers = [factory.answer(factory.question(), author=target) for _ in range(5)]
    [voter] = fans(session, 1)
    for a in answers:
        vote(session, voter, a, 1, now=utcnow() - timedelta(minutes=10))
    factory.user("mod", role="moderator")
    factory.user("staffer", role="staff")
    factory.user("customer")
    session.commit()

    assert_problem(client.get(f"{API}/voting-reports"), 401)
    assert_problem(client.get(f"{API}/voting-reports", headers=login("customer")), 403)
    assert_problem(client.post(f"{API}/voting-reports/detect", headers=login("customer")), 403)
    assert client.get(f"{API}/voting-reports", headers=login("mod")).json()["items"] == []
    assert fetch(Answer, answers[0].id).score == 1

    r = client.post(f"{API}/voting-reports/detect", headers=login("staffer"))
    assert r.status_code == 200, r.text
    assert r.json() == {"patterns": 1, "votes_reversed": 5}
    assert all(fetch(Answer, a.id).score == 0 for a in answers)
    items = client.get(f"{API}/voting-reports", headers=login("mod")).json()["items"]
    assert len(items) == 1
    item = items[0]
    assert (item["kind"], item["voter"]["id"], item["author"]["id"], item["votes"], item["reversed_votes"]) == (
        "serial_voting", voter.id, target.id, 5, 5)
    assert item["author"]["reputation"] == 1 and item["resolved_at"] is None

    assert_problem(client.post(f"{API}/voting-reports/{item['id']}/resolve", headers=login("customer")), 403)
    assert_problem(client.post(f"{API}/voting-reports/{item['id'] + 50}/resolve", headers=login("mod")), 404)
    r = client.post(f"{API}/voting-reports/{item['id']}/resolve", headers=login("mod"))
    assert r.status_code == 200 and r.json()["resolved_at"] is not None
    assert fetch(VotingReport, item["id"]).resolved_by_id is not None
    assert client.get(f"{API}/voting-reports", headers=login("mod")).json()["items"] == []
    assert client.post(f"{API}/voting-reports/detect", headers=login("mod")).json() == {"patterns": 0,
                                                                                        "votes_reversed": 0}
    with Session(clean_engine) as s:
        events = s.exec(select(ReputationEvent).where(ReputationEvent.user_id == target.id)).all()
    assert len(events) == 5 and {e.reversal_reason for e in events} == {"serial voting"}
