"""Helpers for the reputation tests: vote, read balances and ledger rows afresh, earn points for real.

Reputation is a cache of the ledger, so a test that needs a user with standing earns it through
real votes (never by setting `user.reputation`, which the next ledger change would overwrite).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.accounts.models import User
from app.answers.models import Answer
from app.core.db import utcnow
from app.questions.models import Question
from app.reputation.models import ReputationEvent
from app.votes import service as votes_service
from tests.factories import make_answer, make_question, make_user

_seq = itertools.count(1)


def post_type_of(post) -> str:
    if isinstance(post, Answer):
        return "answer"
    if isinstance(post, Question):
        return "question"
    raise TypeError(post)


def vote(session: Session, voter: User, post, value: int = 1, now: datetime | None = None) -> tuple[int, int]:
    return votes_service.cast(session, actor=voter, post_type=post_type_of(post), post_id=post.id, value=value,
                              now=now)


def rep(session: Session, user: User) -> int:
    """The cached balance as the database holds it now."""
    session.flush()
    return session.exec(select(User.reputation).where(User.id == user.id)).one()


def ledger(session: Session, user: User, *, counting: bool | None = None) -> list[ReputationEvent]:
    """The user's events, oldest first (counting=True: not reversed; False: reversed only)."""
    session.flush()
    stmt = select(ReputationEvent).where(ReputationEvent.user_id == user.id)
    if counting is True:
        stmt = stmt.where(ReputationEvent.reversed_at.is_(None))
    elif counting is False:
        stmt = stmt.where(ReputationEvent.reversed_at.is_not(None))
    rows = list(session.exec(stmt.order_by(ReputationEvent.occurred_at, ReputationEvent.id)).all())
    for r in rows:
        session.refresh(r)
    return rows


def day_start(days_ago: int = 0, hour: int = 12) -> datetime:
    """Noon (UTC) of a day in the past: far from midnight, so that minutes later is still the same day."""
    now = utcnow()
    return datetime(now.year, now.month, now.day, hour, tzinfo=UTC) - timedelta(days=days_ago)


def fans(session: Session, n: int, prefix: str = "fan") -> list[User]:
    """New accounts whose names resemble nobody else's (no sock-puppet reports)."""
    out = []
    for _ in range(n):
        k = next(_seq)
        name = f"{prefix}{k}x{k * 7919 % 1000}"
        out.append(make_user(session, name, email=f"{prefix}-{k}-{'abcdefghij'[k % 10]}@fans.example"))
    return out


def earn(session: Session, user: User, points: int, *, product: str | None = None, first_day_ago: int = 2) -> int:
    """Give `user` at least `points` reputation the honest way: answers of theirs upvoted by other users,
    20 votes (the daily cap's 200 points) per day, on days at least `first_day_ago` in the past
    (outside the serial-voting window). Returns the new balance."""
    n_votes = -(-points // 10)
    voters = fans(session, min(n_votes, 20))
    asker = make_user(session, f"asker{next(_seq)}x")
    day = first_day_ago
    while n_votes > 0:
        q = make_question(session, asker, product=product)
        a = make_answer(session, q, author=user)
        batch = min(n_votes, 20)
        when = day_start(day)
        for i, v in enumerate(voters[:batch]):
            vote(session, v, a, 1, now=when + timedelta(seconds=i))
        n_votes -= batch
        day += 1
    session.refresh(user)
    return user.reputation
