"""The webhook events the domains emit (one call each, in the change's own transaction).

Payload `data` carries public facts only (ids, titles, links, public bodies; user names, never
e-mail addresses); a question that is not public (`visibility` other than "public") emits nothing.
"""

from __future__ import annotations

from sqlmodel import Session

from app.webhooks.service import emit


def _public(question, post=None) -> bool:
    """Only what everyone may read goes out: not a deleted, non-public or moderation-hidden
    question or answer (a held post goes out when a moderator approves it)."""
    return (getattr(question, "visibility", "public") in ("public", None) and getattr(question, "deleted_at", None) is None
            and getattr(question, "hidden_at", None) is None
            and (post is None or getattr(post, "hidden_at", None) is None))


def _question(q) -> dict:
    return {"id": q.id, "title": q.title, "url": f"/questions/{q.id}/{q.slug}", "status": q.status,
            "product_id": q.product_id, "author_id": q.author_id, "created_at": q.created_at}


def question_created(session: Session, question) -> None:
    if _public(question):
        emit(session, "question.created", {"question": {**_question(question), "body": question.body}})


def answer_created(session: Session, question, answer) -> None:
    if _public(question, answer):
        emit(session, "answer.created", {"question": _question(question),
                                         "answer": {"id": answer.id, "body": answer.body, "author_id": answer.author_id,
                                                    "created_at": answer.created_at}})


def answer_accepted(session: Session, question, answer_id: int) -> None:
    if _public(question):
        emit(session, "answer.accepted", {"question": _question(question), "answer_id": answer_id})


def question_closed(session: Session, question) -> None:
    if _public(question):
        emit(session, "question.closed", {"question": _question(question), "reason": "duplicate",
                                          "duplicate_of": question.duplicate_of_id})


def escalation(session: Session, kind: str, esc, **extra) -> None:
    """escalation.opened | claimed | resolved | handed_off, with the escalation's fields and its
    question (an external ticket system gets what it needs from a hand-off), `note` the agent's
    text (hand-off: the ticket reference; resolved: the resolution)."""
    from app.questions.models import Question

    question = session.get(Question, esc.question_id)
    extra = {**extra, "question": {**_question(question), "body": question.body} if question else None}
    if kind == "resolved":
        extra["public_answer_id"] = getattr(esc, "public_answer_id", None)
    if kind == "handed_off":
        extra["external_ticket"] = getattr(esc, "external_ticket", None)
    emit(session, f"escalation.{kind}", {"escalation": {
        "id": esc.id, "question_id": esc.question_id, "status": esc.status, "reason": esc.reason,
        "created_at": esc.created_at, "due_at": getattr(esc, "due_at", None),
        "assignee_id": getattr(esc, "assignee_id", None), "resolved_at": getattr(esc, "resolved_at", None),
        "url": f"/api/v1/escalations/{esc.id}"}, **extra})
