"""The webhook events the domains emit (one call each, in the change's own transaction).

Payload `data` carries public facts only (ids, titles, links, public bodies; user names, never
e-mail addresses). A question in the internal space (`visibility` "internal", docs/internal.md)
goes only to endpoints marked `internal` (the payload then says `"visibility": "internal"`).
"""

from __future__ import annotations

from sqlmodel import Session

from app.webhooks.service import emit


def _audience(question, post=None) -> str | None:
    """Who may receive an event about this question (and `post` on it): "public" (every
    subscribed endpoint), "internal" (only endpoints marked internal), or None: nothing goes out
    for a deleted or moderation-hidden question or answer (a held post goes out when a moderator
    approves it)."""
    if (getattr(question, "deleted_at", None) is not None or getattr(question, "hidden_at", None) is not None
            or (post is not None and getattr(post, "hidden_at", None) is not None)):
        return None
    return "public" if getattr(question, "visibility", "public") in ("public", None) else "internal"


def _send(session: Session, event_type: str, question, data: dict, post=None) -> None:
    audience = _audience(question, post)
    if audience is not None:
        if audience == "internal":
            data["question"]["visibility"] = "internal"
        emit(session, event_type, data, internal=audience == "internal")


def _question(q) -> dict:
    return {"id": q.id, "title": q.title, "url": f"/questions/{q.id}/{q.slug}", "status": q.status,
            "product_id": q.product_id, "author_id": q.author_id, "created_at": q.created_at}


def question_created(session: Session, question) -> None:
    _send(session, "question.created", question, {"question": {**_question(question), "body": question.body}})


def answer_created(session: Session, question, answer) -> None:
    _send(session, "answer.created", question, {
        "question": _question(question),
        "answer": {"id": answer.id, "body": answer.body, "author_id": answer.author_id, "created_at": answer.created_at}},
        post=answer)


def answer_accepted(session: Session, question, answer_id: int) -> None:
    _send(session, "answer.accepted", question, {"question": _question(question), "answer_id": answer_id})


def question_closed(session: Session, question) -> None:
    _send(session, "question.closed", question, {"question": _question(question), "reason": "duplicate",
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
    emit(session, f"escalation.{kind}", internal=_audience(question) == "internal" if question else False, data={"escalation": {
        "id": esc.id, "question_id": esc.question_id, "status": esc.status, "reason": esc.reason,
        "created_at": esc.created_at, "due_at": getattr(esc, "due_at", None),
        "assignee_id": getattr(esc, "assignee_id", None), "resolved_at": getattr(esc, "resolved_at", None),
        "url": f"/api/v1/escalations/{esc.id}"}, **extra})
