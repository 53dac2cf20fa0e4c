"""Votes: up (+1), down (-1), retract (0). Scores stay exact under concurrency.

The vote row is locked (or created under the unique constraint) and the post's score moves by
the difference in one atomic UPDATE, so parallel voters never overwrite each other's counts.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.answers.models import Answer
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound
from app.votes.models import Vote



def _post_model(post_type: str):
    from app.questions.models import Question

    if post_type == "question":
        return Question
    if post_type == "answer":
        return Answer
    raise NotFound(f"Unknown kind of post {post_type!r}.")


def cast(session: Session, *, actor: User | None, post_type: str, post_id: int, value: int) -> tuple[int, int]:
    """Set the actor's vote on a post; returns (score, my_vote). Repeating a value changes nothing."""
    from app.answers import service as answers_service
    from app.questions import service as questions_service

    actor = permissions.require_user(actor)
    model = _post_model(post_type)
    post = (questions_service.get_visible(session, post_id) if post_type == "question"
            else answers_service.get_visible(session, post_id))
    if not permissions.can_vote(actor, post.author_id):
        raise Forbidden("You cannot vote on your own post.")
    if value not in (-1, 0, 1):
        raise ValueError("vote value must be -1, 0 or 1")

    for attempt in range(2):
        existing = session.exec(
            select(Vote).where(Vote.voter_id == actor.id, Vote.post_type == post_type, Vote.post_id == post_id)
            .with_for_update()
        ).first()
        old = existing.value if existing else 0
        if value == old:
            return _score(session, model, post_id), old
        try:
            with session.begin_nested():
                if value == 0:
                    session.delete(existing)
                elif existing is not None:
                    existing.value, existing.updated_at = value, utcnow()
                else:
                    session.add(Vote(voter_id=actor.id, post_type=post_type, post_id=post_id, value=value))
                session.flush()
        except IntegrityError:
            if attempt:
                raise
            continue  # the same user's concurrent vote landed first: read it and apply the difference
        session.exec(update(model).where(model.id == post_id).values(score=model.score + (value - old)))
        return _score(session, model, post_id), value
    raise AssertionError("unreachable")


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
