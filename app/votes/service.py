"""Votes: up (+1), down (-1), retract (0). Scores and reputation stay exact under concurrency.

A vote row holds one value for its whole life: switching deletes it and inserts a new one, so
that every reputation event points at exactly one cause. The voter's vote row is locked (or
created under the unique constraint) and the post's score moves by the difference in one
atomic UPDATE, so parallel voters never overwrite each other's counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.answers.models import Answer
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, RateLimited
from app.reputation import policy
from app.reputation import service as reputation
from app.votes.models import Vote


def _post_model(post_type: str):
    from app.questions.models import Question

    if post_type == "question":
        return Question
    if post_type == "answer":
        return Answer
    raise NotFound(f"Unknown kind of post {post_type!r}.")


def _load_post(session: Session, post_type: str, post_id: int, viewer=None):
    """The visible post and the product it is filed under."""
    from app.answers import service as answers_service
    from app.questions import service as questions_service
    from app.questions.models import Question

    if post_type == "question":
        post = questions_service.get_visible(session, post_id, viewer=viewer)
        return post, post.product_id
    post = answers_service.get_visible(session, post_id, viewer=viewer)
    return post, session.get(Question, post.question_id).product_id


def cast(session: Session, *, actor: User | None, post_type: str, post_id: int, value: int,
         now: datetime | None = None) -> tuple[int, int]:
    """Set the actor's vote on a post; returns (score, my_vote). Repeating a value changes nothing."""
    actor = permissions.require_user(actor)
    if value not in (-1, 0, 1):
        raise ValueError("vote value must be -1, 0 or 1")
    now = now or utcnow()
    model = _post_model(post_type)
    post, product_id = _load_post(session, post_type, post_id, actor)
    from app.moderation import posts as moderated

    ref = moderated.load(session, post_type, post_id, viewer=actor)
    moderated.require_unlocked(ref.question, "vote")
    if actor.id == post.author_id:
        raise Forbidden("You cannot vote on your own post.")
    if value < 0:
        permissions.require_privilege(actor, "downvote", "vote down")

    for attempt in range(2):
        existing = session.exec(
            select(Vote).where(Vote.voter_id == actor.id, Vote.post_type == post_type, Vote.post_id == post_id)
            .with_for_update()
        ).first()
        old = existing.value if existing else 0
        if value == old:
            return _score(session, model, post_id), old
        if existing is not None:
            _require_unlocked(existing, post, now)
        if value != 0:
            _require_daily_allowance(session, actor, now, replacing=existing)
        try:
            with session.begin_nested():
                if existing is not None:
                    session.delete(existing)
                    session.flush()  # the old row must go before its replacement takes the unique key
                new = None
                if value != 0:
                    new = Vote(voter_id=actor.id, post_type=post_type, post_id=post_id, value=value,
                               created_at=now, updated_at=now)
                    session.add(new)
                session.flush()
        except IntegrityError:
            if attempt:
                raise
            continue  # the same user's concurrent vote landed first: read it and apply the difference
        session.exec(update(model).where(model.id == post_id).values(score=model.score + (value - old)))
        # Both balances that may move, locked once in id order: reversing the old vote and
        # recording the new one touch them in different orders otherwise (deadlock).
        reputation.lock_users(session, {post.author_id, actor.id})
        if existing is not None:
            reputation.reverse(session, source_type="vote", source_ids=[existing.id],
                               reason="retracted" if value == 0 else "changed")
        if new is not None:
            reputation.apply(session, reputation.vote_causes(
                vote_id=new.id, voter_id=actor.id, value=value, post_type=post_type, post_id=post_id,
                author_id=post.author_id, product_id=product_id, occurred_at=now,
                community_wiki=post.community_owned_at is not None))
            if value > 0:
                from app.reputation import gaming

                gaming.check_sock_puppet(session, voter=actor, author_id=post.author_id, now=now)
                if post_type == "answer" and old <= 0:
                    _tell_answerer(session, post, now)
        return _score(session, model, post_id), value
    raise AssertionError("unreachable")


def _tell_answerer(session: Session, answer: Answer, now: datetime) -> None:
    """An upvoted answer's author hears of it, at most once per answer per day (Stack Exchange
    style; app.notifications.service.UPVOTE_NOTICE_WINDOW)."""
    from app.notifications import service as notifications
    from app.questions.models import Question

    question = session.get(Question, answer.question_id)
    notifications.notify_answer_upvoted(
        session, author_id=answer.author_id, now=now,
        url=notifications.answer_url(question.id, question.slug, answer.id),
        text=f"Your answer to “{question.title}” was upvoted.")


def _require_unlocked(vote: Vote, post, now: datetime) -> None:
    """A vote can be changed within policy.VOTE_LOCK, or later once the post was edited after it."""
    cast_at = _aware(vote.created_at)
    edited = _aware(post.updated_at) if post.updated_at else None
    if now - cast_at > policy.VOTE_LOCK and not (edited and edited > cast_at):
        minutes = int(policy.VOTE_LOCK.total_seconds() // 60)
        raise Conflict(f"Your vote is locked in: votes can be changed for {minutes} minutes, "
                       "or later if the post is edited.")


def _require_daily_allowance(session: Session, actor: User, now: datetime, replacing: Vote | None = None) -> None:
    """At most policy.VOTES_PER_DAY votes cast per UTC day; changing one of today's votes is not a new one."""
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    used = session.exec(
        select(func.count()).where(Vote.voter_id == actor.id, Vote.created_at >= start)
    ).one()
    if replacing is not None and _aware(replacing.created_at) >= start:
        used -= 1
    if used >= policy.VOTES_PER_DAY:
        tomorrow = start.timestamp() + 86400
        raise RateLimited(f"You have used your {policy.VOTES_PER_DAY} votes for today; more tomorrow (UTC).",
                          retry_after=int(tomorrow - now.timestamp()))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _score(session: Session, model, post_id: int) -> int:
    return session.exec(select(model.score).where(model.id == post_id)).one()


def my_votes(session: Session, user: User | None, post_type: str, post_ids: list[int]) -> dict[int, int]:
    if user is None or not post_ids:
        return {}
    rows = session.exec(
        select(Vote.post_id, Vote.value)
        .where(Vote.voter_id == user.id, Vote.post_type == post_type, Vote.post_id.in_(post_ids))
    ).all()
    return dict(rows)


def remove_votes(session: Session, votes: list[Vote], *, reason: str) -> int:
    """Take votes back (serial voting): scores move back and their reputation events are reversed."""
    for vote in votes:
        model = _post_model(vote.post_type)
        session.exec(update(model).where(model.id == vote.post_id).values(score=model.score - vote.value))
        session.delete(vote)
    session.flush()
    reputation.reverse(session, source_type="vote", source_ids=[v.id for v in votes], reason=reason)
    return len(votes)
