""""I have this problem too": signed-in customers other than the asker add themselves (once);
the count shows on the question and in lists; they hear when the question is solved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict
from app.escalation import service as escalation_service
from app.escalation.models import MeToo
from app.notifications import service as notifications
from app.questions import service as questions_service
from app.questions.models import Question, QuestionStatus


def add(session: Session, *, actor: User | None, question_id: int, now: datetime | None = None) -> int:
    """Add the actor; returns the new count. May open an escalation (the product's threshold)."""
    actor = permissions.require_user(actor)
    now = now or utcnow()
    question = questions_service.get_visible(session, question_id, viewer=actor)
    from app.internal.visibility import is_internal

    if is_internal(question):
        raise Conflict("\"I have this problem too\" is for customers on public questions.")
    if question.author_id == actor.id:
        raise Conflict("You asked this question: it counts you already.")
    if question.status == QuestionStatus.duplicate:
        raise Conflict("This question was closed as a duplicate: say so on the original question instead.")
    try:
        with session.begin_nested():
            session.add(MeToo(question_id=question.id, user_id=actor.id, created_at=now))
            session.flush()
    except IntegrityError:
        raise Conflict("You have said you have this problem too already.") from None
    escalation_service.refresh_affected(session, question.id, now)
    return counts(session, [question.id]).get(question.id, 0)


def remove(session: Session, *, actor: User | None, question_id: int) -> int:
    actor = permissions.require_user(actor)
    questions_service.get_visible(session, question_id, viewer=actor)
    session.exec(delete(MeToo).where(MeToo.question_id == question_id, MeToo.user_id == actor.id))
    session.flush()
    esc = escalation_service.open_for(session, question_id)
    if esc is not None:
        esc.affected = escalation_service.affected_count(session, question_id)
        session.flush()
    return counts(session, [question_id]).get(question_id, 0)


def counts(session: Session, question_ids: list[int]) -> dict[int, int]:
    if not question_ids:
        return {}
    return {qid: int(n) for qid, n in session.exec(
        select(MeToo.question_id, func.count()).where(MeToo.question_id.in_(question_ids))
        .group_by(MeToo.question_id)).all()}


def has(session: Session, user: User | None, question_id: int) -> bool:
    if user is None:
        return False
    return session.exec(select(MeToo.id).where(MeToo.question_id == question_id,
                                               MeToo.user_id == user.id)).first() is not None


def question_solved(session: Session, question: Question, now: datetime | None = None) -> int:
    """Tell the customers who had the same problem that it is solved (called when an answer is accepted)."""
    users = list(session.exec(select(MeToo.user_id).where(MeToo.question_id == question.id)).all())
    return notifications.notify(session, users, kind="question_solved", now=now,
                                url=f"/questions/{question.id}/{question.slug}#answer-{question.accepted_answer_id}",
                                text=f"“{question.title}”, which you have too, is solved.")


def any_condition():
    """SQL condition on Question: at least one customer said "I have this problem too" (list filters)."""
    from sqlalchemy import exists

    return exists().where(MeToo.question_id == Question.id)
