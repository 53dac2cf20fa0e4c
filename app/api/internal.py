"""The internal space in the API (docs/internal.md): staff list, search and similar internal
questions, and the staff-only links from public questions. For anyone who is not staff, a
moderator or an admin every route here answers 404, as if it did not exist."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.accounts.deps import CurrentUser
from app.api.deps import Id, rate_limit
from app.api.schemas import QuestionList, QuestionSummaryOut
from app.core.db import SessionDep
from app.core.inputs import JsonBody
from app.internal import service as internal
from app.questions import views

router = APIRouter(tags=["internal"])


class InternalLinkIn(JsonBody):
    internal_id: int = Field(ge=1, le=2**31 - 1, description="the internal question to link")
    escalation_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                      description="the escalation of this question the link was made from, if any")


class SimilarInternalOut(BaseModel):
    id: int
    title: str
    url: str
    answer_count: int
    has_accepted_answer: bool
    similarity: float = Field(description="relative match strength (higher is closer); not comparable across queries")


class SimilarInternalList(BaseModel):
    items: list[SimilarInternalOut]


@router.get("/internal/questions", response_model=QuestionList)
def internal_questions(session: SessionDep, user: CurrentUser, q: str | None = Query(default=None, max_length=500),
                       limit: int = Query(default=50, ge=1, le=100)) -> QuestionList:
    """Staff, moderators, admins: internal questions, most recently active first; with `q`, those
    holding every word of it (the search pipeline's stemming and folding), best match first.
    Not paginated beyond `limit` (the internal space is small); `next_cursor` is always null."""
    rows = internal.list_internal(session, actor=user, q=q, limit=limit)
    return QuestionList(items=[QuestionSummaryOut.of(v) for v in views.summaries(session, rows)], next_cursor=None)


@router.get("/internal/similar", response_model=SimilarInternalList)
def internal_similar(session: SessionDep, user: CurrentUser, title: str = Query(min_length=1, max_length=500),
                     body: str = Query(default="", max_length=5000),
                     limit: int = Query(default=5, ge=1, le=20)) -> SimilarInternalList:
    """Staff: internal questions similar to a title (and body), best first, e.g. for an escalated question."""
    hits = internal.similar(session, actor=user, title=title, body=body, limit=limit)
    return SimilarInternalList(items=[SimilarInternalOut(
        id=h.question.id, title=h.question.title, url=views.question_url(h.question.id, h.question.slug),
        answer_count=h.question.answer_count, has_accepted_answer=h.question.accepted_answer_id is not None,
        similarity=round(h.score, 3)) for h in hits])


@router.get("/questions/{question_id}/internal-links", response_model=QuestionList)
def internal_links(question_id: Id, session: SessionDep, user: CurrentUser) -> QuestionList:
    """Staff: the internal questions linked from this public question (customers: 404)."""
    internal.require_staff(user)
    rows = internal.linked_from(session, viewer=user, question_id=question_id)
    return QuestionList(items=[QuestionSummaryOut.of(v) for v in views.summaries(session, rows)], next_cursor=None)


@router.post("/questions/{question_id}/internal-links", status_code=201, response_model=QuestionList,
             dependencies=[rate_limit("write")])
def add_internal_link(question_id: Id, data: InternalLinkIn, session: SessionDep, user: CurrentUser) -> QuestionList:
    """Staff: link an internal question from this public one (idempotent); answers the thread's links."""
    internal.link(session, actor=user, question_id=question_id, internal_id=data.internal_id,
                  escalation_id=data.escalation_id)
    return internal_links(question_id, session, user)


@router.delete("/questions/{question_id}/internal-links/{internal_id}", status_code=204,
               dependencies=[rate_limit("write")])
def remove_internal_link(question_id: Id, internal_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Staff: remove a link."""
    internal.unlink(session, actor=user, question_id=question_id, internal_id=internal_id)
    return Response(status_code=204)
