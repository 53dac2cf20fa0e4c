"""Closing a question as a duplicate of a canonical one, and reopening it.

Moderators, staff and users with the close privilege (500 reputation) may do it. The duplicate
keeps its page with a banner pointing at the original; the original lists its duplicates.
Folding answers into the original (merge) is left to the search work.
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import MAX_ID
from app.core.errors import Conflict, field_error
from app.questions import service as questions_service
from app.questions.models import Question, QuestionStatus


def close_as_duplicate(session: Session, *, actor: User | None, question_id: int, original_id: int) -> Question:
    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, for_update=True)
    permissions.require_privilege(actor, "close", "close questions as duplicates")
    if question.status == QuestionStatus.duplicate:
        raise Conflict("This question is already closed as a duplicate; reopen it first to point it elsewhere.")
    if original_id == question.id:
        raise field_error("original_id", "A question cannot be a duplicate of itself.")
    original = None
    if 1 <= original_id <= MAX_ID:
        original = session.exec(select(Question).where(Question.id == original_id,
                                                       Question.deleted_at.is_(None))).first()
    if original is None:
        raise field_error("original_id", f"Question {original_id} does not exist or was deleted.")
    if original.status == QuestionStatus.duplicate:
        raise field_error("original_id", f"Question {original_id} is itself a duplicate of question "
                                         f"{original.duplicate_of_id}; close against that one.")
    question.status = QuestionStatus.duplicate.value
    question.duplicate_of_id = original.id
    questions_service.touch(session, question)
    session.flush()
    return question


def reopen(session: Session, *, actor: User | None, question_id: int) -> Question:
    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, for_update=True)
    permissions.require_privilege(actor, "close", "reopen questions")
    if question.status == QuestionStatus.open:
        raise Conflict("This question is open already.")
    question.status, question.duplicate_of_id = QuestionStatus.open.value, None
    questions_service.touch(session, question)
    session.flush()
    return question


def duplicates_of(session: Session, question_id: int) -> list[Question]:
    return list(session.exec(select(Question).where(
        Question.duplicate_of_id == question_id, Question.status == QuestionStatus.duplicate.value,
        Question.deleted_at.is_(None)).order_by(Question.created_at, Question.id)).all())
