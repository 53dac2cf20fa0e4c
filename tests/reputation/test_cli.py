"""`groundswell recompute-reputation` and `groundswell worker --once` as an operator runs them: real
processes against the test database (SQLite and PostgreSQL), real exit codes, one-line reasons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import User
from app.answers import service as answers_service
from app.answers.models import Answer
from app.reputation.models import ReputationEvent, VotingReport
from app.votes.models import Vote
from tests.reputation.helpers import day_start, fans, vote
from tests.test_cli import run


def _history(session, factory):
    asker, helper = factory.user("asker"), factory.user("helper")
    q = factory.question(asker)
    a = factory.answer(q, author=helper)
    voters = fans(session, 22)
    t = day_start(2)
    for i, v in enumerate(voters):  # a capped day
        vote(session, v, a, 1, now=t + timedelta(seconds=i))
    vote(session, voters[0], a, 0, now=t + timedelta(minutes=1))
    vote(session, voters[1], q, 1, now=t)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id, now=t)
    session.commit()
    return asker, helper


def test_recompute_check_passes_then_reports_corruption_and_repairs_it(session, factory, db_url, clean_engine):
    asker, helper = _history(session, factory)
    r = run(["recompute-reputation", "--check"], db_url)
    assert r.returncode == 0, r.stderr
    assert "0 missing" in r.stdout and "0 cached balances corrected" in r.stdout and r.stderr.strip() == ""

    session.exec(update(User).where(User.id == helper.id).values(reputation=5000))
    session.exec(update(ReputationEvent).where(ReputationEvent.user_id == asker.id,
                                               ReputationEvent.kind == "question_upvoted").values(amount=50))
    session.commit()
    r = run(["recompute-reputation", "--check"], db_url)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert r.stderr.startswith("groundswell: ") and "differ in 2 places" in r.stderr
    assert "helper: 5000 → 216" in r.stdout and "1 with a wrong amount" in r.stdout
    with Session(clean_engine) as s:  # --check changed nothing
        assert s.get(User, helper.id).reputation == 5000

    r = run(["recompute-reputation"], db_url)
    assert r.returncode == 0, r.stderr
    assert "recomputed" in r.stdout and "1 cached balances corrected" in r.stdout
    with Session(clean_engine) as s:
        assert s.get(User, helper.id).reputation == 1 + 200 + 15
        assert s.get(User, asker.id).reputation == 1 + 5 + 2
    r = run(["recompute-reputation", "--check"], db_url)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_worker_once_runs_the_serial_voting_job(session, factory, db_url, clean_engine):
    target = factory.user("target")
    answers = [factory.answer(factory.question(), author=target) for _ in range(5)]
    [voter] = fans(session, 1)
    for a in answers:
        vote(session, voter, a, 1)
    [fewer] = fans(session, 1)
    for a in answers[:4]:
        vote(session, fewer, a, 1)
    session.commit()

    r = run(["worker", "--once"], db_url)
    assert r.returncode == 0, r.stderr
    assert "serial-voting: 1 serial-voting patterns, 5 votes reversed" in r.stderr
    with Session(clean_engine) as s:
        assert s.exec(select(Vote).where(Vote.voter_id == voter.id)).all() == []
        assert len(s.exec(select(Vote).where(Vote.voter_id == fewer.id)).all()) == 4
        assert [s.get(Answer, a.id).score for a in answers] == [1, 1, 1, 1, 0]
        assert s.get(User, target.id).reputation == 1 + 40
        (report,) = s.exec(select(VotingReport)).all()
        assert (report.kind, report.voter_id, report.reversed_votes) == ("serial_voting", voter.id, 5)
    # the job is idempotent; the ledger stays consistent
    r = run(["worker", "--once"], db_url)
    assert "0 serial-voting patterns, 0 votes reversed" in r.stderr
    assert run(["recompute-reputation", "--check"], db_url).returncode == 0
