"""The concurrent voting scenario shared by the consistency test and its benchmark."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import writer
from app.votes import service as votes_service
from app.votes.models import Vote
from tests.factories import make_answer, make_question, make_user


@dataclass
class Community:
    posts: list[tuple[str, int, int]]  # (post_type, post_id, author_id)
    voter_ids: list[int]
    author_ids: list[int]


@dataclass
class LoadResult:
    operations: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def build_community(session: Session, *, authors: int, voters: int) -> Community:
    author_users = [make_user(session) for _ in range(authors)]
    posts = []
    for author in author_users:
        q = make_question(session, author=author)
        posts.append(("question", q.id, author.id))
        asker = make_user(session)
        other_q = make_question(session, author=asker)
        for _ in range(2):
            a = make_answer(session, other_q, author=author)
            posts.append(("answer", a.id, author.id))
    # Moderators hold every privilege, so they may vote down (and pay -1 on answers) too.
    voter_ids = [make_user(session, role="moderator").id for _ in range(voters)]
    return Community(posts=posts, voter_ids=voter_ids, author_ids=[a.id for a in author_users])


def run_concurrently(engine, community: Community, *, seed: int, rounds: int = 3,
                     on_op: Callable[[], None] | None = None) -> LoadResult:
    """Every voter starts at once and performs `rounds` vote changes on one post: up or down, then a
    switch or a retraction, each in its own transaction, all voters in parallel."""
    rng = random.Random(seed)
    plans = []
    for uid in community.voter_ids:
        post_type, post_id, _author = rng.choice(community.posts)
        values = [rng.choice([1, 1, -1])]
        for _ in range(rounds - 1):
            values.append(rng.choice([v for v in (1, 0, -1) if v != values[-1]]))
        plans.append((uid, post_type, post_id, values))
    barrier = threading.Barrier(len(plans))
    result = LoadResult()
    lock = threading.Lock()

    def voter(plan):
        uid, post_type, post_id, values = plan
        barrier.wait(timeout=60)
        for value in values:
            try:
                with Session(writer(engine)) as s, s.begin():
                    votes_service.cast(s, actor=s.get(User, uid), post_type=post_type, post_id=post_id, value=value)
                with lock:
                    result.operations += 1
            except Exception as exc:  # noqa: BLE001 - every failure is reported by the caller
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        list(pool.map(voter, plans))
    result.seconds = time.perf_counter() - started
    return result


def check_consistency(engine, community: Community) -> None:
    """Every score equals the sum of its votes, and every author's cached balance equals the ledger."""
    from app.answers.models import Answer
    from app.questions.models import Question
    from app.reputation.models import ReputationEvent
    from app.reputation.service import balance_of

    with Session(engine) as s:
        for post_type, post_id, _author in community.posts:
            model = Question if post_type == "question" else Answer
            score = s.exec(select(model.score).where(model.id == post_id)).one()
            votes = s.exec(select(func.coalesce(func.sum(Vote.value), 0))
                           .where(Vote.post_type == post_type, Vote.post_id == post_id)).one()
            assert score == votes, (post_type, post_id, score, votes)
        for uid in community.author_ids + community.voter_ids:
            points = s.exec(select(func.coalesce(func.sum(ReputationEvent.amount), 0))
                            .where(ReputationEvent.user_id == uid, ReputationEvent.reversed_at.is_(None))).one()
            assert s.get(User, uid).reputation == balance_of(int(points)), uid
