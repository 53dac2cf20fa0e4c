"""Reads of answers for pages that list them outside their question (a person's profile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.answers.models import Answer
from app.questions.models import Question

ANSWER_LIST_SORTS = (("newest", "Newest"), ("votes", "Most votes"))


@dataclass
class AuthoredAnswer:
    id: int
    score: int
    is_accepted: bool
    created_at: datetime
    question_id: int
    question_title: str
    url: str  # the answer's anchor on its question page
    hidden: str | None = None  # why it is hidden (shown to its author and moderators only)


def by_author(session: Session, user_id: int, *, sort: str = "newest", page: int = 1,
              size: int = 20, viewer=None) -> tuple[list[AuthoredAnswer], int, int]:
    """A person's answers that `viewer` (a User or None) may see — not deleted, in questions not
    deleted, hidden ones (and ones in hidden questions) only for their author and moderators
    (app/moderation/posts.py `visible_to`) — newest first or by score (ties: newest), a 1-based
    page clamped to the last; returns (answers, total, pages)."""
    from app.moderation.posts import hidden_label, visible_to

    base = (select(Answer, Question.title, Question.slug, Question.accepted_answer_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.author_id == user_id, Answer.deleted_at.is_(None), Question.deleted_at.is_(None),
                   visible_to(Answer, viewer), visible_to(Question, viewer)))
    total = int(session.exec(select(func.count()).select_from(base.subquery())).one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    order = ((Answer.score.desc(), Answer.created_at.desc(), Answer.id.desc()) if sort == "votes"
             else (Answer.created_at.desc(), Answer.id.desc()))
    rows = session.exec(base.order_by(*order).offset((page - 1) * size).limit(size)).all()
    items = [AuthoredAnswer(id=a.id, score=a.score, is_accepted=accepted == a.id, created_at=a.created_at,
                            question_id=a.question_id, question_title=title,
                            url=f"/questions/{a.question_id}/{slug}#answer-{a.id}", hidden=hidden_label(a))
             for a, title, slug, accepted in rows]
    return items, total, pages
