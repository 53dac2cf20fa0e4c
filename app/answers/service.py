"""Answers: post, edit (with revisions), delete (soft), accept and un-accept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.answers.models import Acceptance, Answer
from app.answers.schemas import AnswerCreate, AnswerUpdate
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_error
from app.core.markdown import render_body, render_markdown
from app.moderation import audit
from app.questions import service as questions_service
from app.questions.models import Question, QuestionStatus
from app.reputation import service as reputation


def get_visible(session: Session, answer_id: int, *, viewer: User | None = None, for_update: bool = False) -> Answer:
    """The live answer, NotFound when it or its question is gone, or `viewer` may not see the
    answer or its question (app/moderation/posts.py `can_see`: hidden by moderation, or internal;
    questions_service.get_visible)."""
    from app.moderation.posts import can_see

    stmt = select(Answer).where(Answer.id == answer_id, Answer.deleted_at.is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    answer = session.exec(stmt).first()
    gone = NotFound(f"Answer {answer_id} does not exist or was deleted.")
    if answer is None or not can_see(viewer, answer):
        raise gone
    # An answer on a deleted or unseen (internal) question is gone too, in the same words: naming
    # the question would tell a customer that an internal answer exists, and where.
    try:
        questions_service.get_visible(session, answer.question_id, viewer=viewer)
    except NotFound:
        raise gone from None
    return answer


def for_question(session: Session, question_id: int) -> list[Answer]:
    return list(session.exec(
        select(Answer).where(Answer.question_id == question_id, Answer.deleted_at.is_(None))
    ).all())


def post(session: Session, *, actor: User | None, question_id: int, data: AnswerCreate,
         notify_asker: bool = True, now: datetime | None = None) -> Answer:
    """Post an answer; the asker is notified in-app unless the caller tells them itself
    (resolving an escalation sends one notification with the answer's link). `now` dates the
    answer and its notice (the demo loader and importers post answers in the past)."""
    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, viewer=actor)
    from app.moderation import posts as moderated
    from app.moderation import review, spam

    moderated.load(session, "question", question.id, viewer=actor)  # a hidden question: 404 to others
    if question.status != QuestionStatus.open:
        where = " as a duplicate; answer the original question instead" if question.status == "duplicate" else ""
        raise Conflict(f"This question is closed{where}.")
    moderated.require_unlocked(question, "answer")
    moderated.require_may_answer_protected(actor, question)
    held = spam.screen(session, actor=actor, kind="answer", text=data.body) or review.first_post_hold(
        session, actor=actor, product_id=question.product_id)
    now = now or utcnow()
    answer = Answer(question_id=question.id, author_id=actor.id, body=data.body,
                    body_html=render_markdown(data.body), created_at=now,
                    hidden_at=now if held else None, hidden_reason=held)
    session.add(answer)
    session.flush()
    # Atomic increment: concurrent answers must not lose a count. A held answer is not counted until
    # it is approved (answer_count counts only answers everyone can see; docs/moderation.md).
    session.exec(update(Question).where(Question.id == question.id)
                 .values(answer_count=Question.answer_count + (0 if held else 1), last_activity_at=now))
    questions_service.add_revision(session, post_type="answer", post_id=answer.id, author=actor,
                                   body=answer.body, created_at=now)
    from app.quotes import service as quotes

    quotes.record(session, post_type="answer", post=answer, question=question, actor=actor, now=now)
    session.refresh(question)
    if held:
        review.tell_author(session, kind="answer", post_url=f"/questions/{question.id}/{question.slug}#answer-{answer.id}",
                           author_id=actor.id, reason=held, title=question.title, now=now)
    if notify_asker and question.author_id != actor.id and not held:  # the asker hears about every answer (in-app)
        from app.notifications import service as notifications

        notifications.notify(session, [question.author_id], kind="answer_posted", now=now,
                             url=f"/questions/{question.id}/{question.slug}#answer-{answer.id}",
                             text=f"{actor.shown_name} answered your question “{question.title}”.")
    from app.follows import service as follows

    follows.on_answer_posted(session, question, answer, actor, now)  # followers, mentions, auto-follow
    from app.webhooks import events as webhook_events

    webhook_events.answer_created(session, question, answer)
    return answer


def edit(session: Session, *, actor: User | None, answer_id: int, data: AnswerUpdate) -> Answer:
    actor = permissions.require_user(actor)
    answer = get_visible(session, answer_id, viewer=actor, for_update=True)
    if not permissions.can_edit_post(actor, answer.author_id):
        raise Forbidden(questions_service.EDIT_REFUSED)
    questions_service._require_unlocked_edit(actor, session.get(Question, answer.question_id))
    before = answer.body
    edited = apply_edit(session, answer, author=actor, data=data)
    if actor.id != answer.author_id and actor.can_moderate and before != edited.body:
        audit.record(session, actor=actor, action="post.edit", target_type="answer", target_id=answer.id,
                     reason=data.comment or None, details={"author_id": answer.author_id})
    return edited


def apply_edit(session: Session, answer: Answer, *, author: User, data: AnswerUpdate) -> Answer:
    """Apply an edit whose permission was checked (directly, or by approving a suggestion)."""
    if data.body == answer.body:
        return answer
    now = utcnow()
    answer.body, answer.body_html, answer.updated_at = data.body, render_body(data.body, answer.body_format), now
    questions_service.add_revision(session, post_type="answer", post_id=answer.id, author=author,
                                   body=answer.body, comment=data.comment, created_at=now)
    question = session.get(Question, answer.question_id)
    from app.quotes import service as quotes

    quotes.record(session, post_type="answer", post=answer, question=question, actor=author, now=now)
    questions_service.touch(session, question, now)
    session.flush()
    return answer


def delete_answer(session: Session, *, actor: User | None, answer_id: int, reason: str | None = None) -> Answer:
    """Soft-delete (author, or a moderator: audited with `reason`); reverses its reputation."""
    actor = permissions.require_user(actor)
    answer = get_visible(session, answer_id, viewer=actor, for_update=True)
    if not permissions.can_delete_post(actor, answer.author_id):
        raise Forbidden("Only the author or a moderator can delete this answer.")
    question = session.get(Question, answer.question_id)
    refusal = permissions.answer_delete_refusal(actor, answer.author_id, question.accepted_answer_id == answer.id,
                                                question.author_id)
    if refusal:
        raise Conflict(refusal)
    answer.deleted_at, answer.deleted_by_id = utcnow(), actor.id
    # A hidden answer was already taken out of answer_count when it was hidden.
    values: dict = {"answer_count": Question.answer_count - (1 if answer.hidden_at is None else 0)}
    if question.accepted_answer_id == answer.id:
        values["accepted_answer_id"] = None
        _revoke_acceptances(session, question.id, reason="answer deleted")
    # A moved answer may still be accepted on the duplicate it came from (app/questions/duplicates.py);
    # that ends too (its reputation is reversed with the answer's, below).
    for acceptance in session.exec(select(Acceptance).where(Acceptance.answer_id == answer.id,
                                                            Acceptance.revoked_at.is_(None))).all():
        acceptance.revoked_at = utcnow()
    session.exec(update(Question).where(Question.id == answer.question_id).values(**values))
    session.flush()
    reputation.reverse(session, post=("answer", answer.id), reason="post deleted")
    session.refresh(question)
    if actor.id != answer.author_id:
        audit.record(session, actor=actor, action="post.delete", target_type="answer", target_id=answer.id,
                     reason=reason, details={"question_id": answer.question_id, "author_id": answer.author_id})
    return answer


def accept(session: Session, *, actor: User | None, question_id: int, answer_id: int,
           now: datetime | None = None) -> Question:
    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    _require_accept(actor, question)
    answer = None
    if 1 <= answer_id <= MAX_ID:  # a larger id cannot exist, and cannot be bound in a query
        answer = session.exec(select(Answer).where(Answer.id == answer_id, Answer.deleted_at.is_(None))).first()
    if answer is None or answer.question_id != question.id:
        raise field_error("answer_id", f"Answer {answer_id} is not an answer to this question.")
    if question.accepted_answer_id != answer.id:
        now = now or utcnow()
        _revoke_acceptances(session, question.id, reason="switched")
        acceptance = Acceptance(question_id=question.id, answer_id=answer.id, accepted_by_id=actor.id, created_at=now)
        session.add(acceptance)
        question.accepted_answer_id = answer.id
        questions_service.touch(session, question, now)
        session.flush()
        reputation.apply(session, reputation.acceptance_causes(
            acceptance_id=acceptance.id, answer_id=answer.id, answer_author_id=answer.author_id,
            asker_id=question.author_id, product_id=question.product_id, occurred_at=now))
        from app.escalation import metoo  # the customers who have the same problem hear it is solved

        metoo.question_solved(session, question, now)
        if answer.author_id != actor.id:  # the answerer hears their answer was accepted (Stack Exchange does)
            from app.notifications import service as notifications

            notifications.notify(session, [answer.author_id], kind="answer_accepted", now=now,
                                 url=notifications.answer_url(question.id, question.slug, answer.id),
                                 text=f"Your answer to “{question.title}” was accepted.")
        from app.webhooks import events as webhook_events

        webhook_events.answer_accepted(session, question, answer.id)
    return question


def unaccept(session: Session, *, actor: User | None, question_id: int) -> Question:
    actor = permissions.require_user(actor)
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    _require_accept(actor, question)
    if question.accepted_answer_id is not None:
        _revoke_acceptances(session, question.id, reason="unaccepted")
        question.accepted_answer_id = None
        questions_service.touch(session, question)
        session.flush()
    return question


def _revoke_acceptances(session: Session, question_id: int, *, reason: str) -> None:
    """End the question's current acceptance and reverse the reputation it gave."""
    current = session.exec(select(Acceptance).where(Acceptance.question_id == question_id,
                                                    Acceptance.revoked_at.is_(None))).all()
    if not current:
        return
    now = utcnow()
    for acceptance in current:
        acceptance.revoked_at = now
    session.flush()
    reputation.reverse(session, source_type="acceptance", source_ids=[a.id for a in current], reason=reason)


def _require_accept(actor: User, question: Question) -> None:
    if not permissions.can_accept(actor, question.author_id, utcnow() - question.created_at):
        raise Forbidden("Only the person who asked can accept an answer "
                        f"(staff may, once a question is {permissions.STAFF_ACCEPT_AFTER.days} days old).")
