"""Scores stay exact under concurrent voting (no lost updates): PostgreSQL row locks and atomic
increments; on SQLite, writers queue on BEGIN IMMEDIATE instead of failing with "database is locked"."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, select

from app.core.db import writer
from app.questions.models import Question
from app.votes import service as votes_service
from app.votes.models import Vote
from tests.factories import make_question, make_user


def _vote_all(engine, voter_ids, post_type, post_id, value):
    barrier = threading.Barrier(len(voter_ids))
    errors = []

    def one(uid):
        from app.accounts.models import User

        try:
            barrier.wait(timeout=30)
            with Session(writer(engine)) as s, s.begin():
                votes_service.cast(s, actor=s.get(User, uid), post_type=post_type, post_id=post_id, value=value)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=len(voter_ids)) as pool:
        list(pool.map(one, voter_ids))
    return errors


def test_fifty_parallel_upvotes_count_exactly_fifty(session, clean_engine):
    question = make_question(session)
    voters = [make_user(session).id for _ in range(50)]
    session.commit()
    errors = _vote_all(clean_engine, voters, "question", question.id, 1)
    assert errors == []
    with Session(clean_engine) as s:
        assert s.exec(select(Question.score).where(Question.id == question.id)).one() == 50
        assert len(s.exec(select(Vote).where(Vote.post_id == question.id)).all()) == 50


def test_parallel_votes_and_retractions_leave_score_equal_to_votes(session, clean_engine):
    question = make_question(session)
    voters = [make_user(session, role="moderator").id for _ in range(40)]  # they may vote down
    session.commit()
    assert _vote_all(clean_engine, voters, "question", question.id, 1) == []
    # Half retract, a quarter switch to down, all at once.
    retract, switch = voters[:20], voters[20:30]
    barrier_errors = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        f1 = pool.submit(_vote_all, clean_engine, retract, "question", question.id, 0)
        f2 = pool.submit(_vote_all, clean_engine, switch, "question", question.id, -1)
        barrier_errors += f1.result() + f2.result()
    assert barrier_errors == []
    with Session(clean_engine) as s:
        score = s.exec(select(Question.score).where(Question.id == question.id)).one()
        total = sum(v.value for v in s.exec(select(Vote).where(Vote.post_id == question.id)).all())
    assert score == total == 10 - 10  # 10 remaining up, 10 down


def test_same_user_racing_itself_counts_once(session, clean_engine):
    question = make_question(session)
    voter = make_user(session)
    session.commit()
    assert _vote_all(clean_engine, [voter.id] * 8, "question", question.id, 1) == []
    with Session(clean_engine) as s:
        assert s.exec(select(Question.score).where(Question.id == question.id)).one() == 1
