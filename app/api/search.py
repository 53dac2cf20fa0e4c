"""JSON API: similar questions (duplicate detection), full-text search, deflections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.accounts.deps import OptionalUser, SettingsDep, client_key
from app.api.deps import Id, ProductFilter, rate_limit
from app.api.schemas import QuestionSummaryOut
from app.core.db import SessionDep
from app.core.ids import BodyId
from app.core.inputs import JsonBody
from app.questions.models import Question
from app.search import service as search_service

router = APIRouter()


class SimilarOut(BaseModel):
    id: int
    title: str
    url: str
    score: int
    answer_count: int
    has_accepted_answer: bool
    similarity: float = Field(description="0–1; with semantic similarity on, the best cosine similarity between "
                                          "the query and the question's phrasings")
    product: str | None
    tags: list[str]
    status: str
    answer_id: int | None = Field(None, description="the answer to open and to name in \"Yes, this solved it\" "
                                                    "(POST /questions/{id}/deflect): the accepted answer, else the "
                                                    "highest-scored; null when the question has no answer")


class SimilarList(BaseModel):
    items: list[SimilarOut]


class SearchHitOut(QuestionSummaryOut):
    highlights: dict[str, str] = Field(
        description="`title` and `body` as HTML-escaped text with `<mark>` around the matched words")


class SearchList(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None
    total: int
    facets: dict[str, dict[str, int]] = Field(
        description="counts over every match: `product` slug, `tags` (top 20), `solved` true/false")


class DeflectionIn(JsonBody):
    title: str = Field(max_length=150, description="what the customer was about to ask (required: at least one "
                                                   "visible character)")
    product: str | None = None
    answer_id: BodyId | None = Field(None, description="the answer that helped (from /questions/similar's "
                                                       "`answer_id`): an answer to this question, else 422; the "
                                                       "reply's `answer_url` anchors to it")


class DeflectionOut(BaseModel):
    question_id: int
    deflections: int
    counted: bool = Field(description="false when this visitor had already been counted for this question "
                                      "(once per signed-in user; anonymous: per address and browser, per day)")
    answer_url: str | None = Field(None, description="where to send the customer: the question page, anchored "
                                                     "to the answer that helped")


@router.get("/questions/similar", response_model=SimilarList, tags=["search"],
            summary="Questions similar to a would-be question")
def similar_questions(
    request: Request, session: SessionDep, settings: SettingsDep,
    title: Annotated[str | None, Query(max_length=500)] = None,
    body: Annotated[str | None, Query(max_length=10_000)] = None,
    product: ProductFilter = None,
    limit: Annotated[int | None, Query()] = None,
) -> SimilarList:
    """Canonical questions only: a question closed as a duplicate is never returned; its title and
    text count as alternate phrasings of its original. Scoped to `product` when given."""
    items = search_service.similar(session, settings=settings, engine=request.app.state.engine, title=title,
                                   body=body, product=product, limit=limit)
    return SimilarList(items=[SimilarOut(**{k: v for k, v in vars(i).items() if k != 'best_answer_score'}) for i in items])


@router.get("/search", response_model=SearchList, tags=["search"], summary="Full-text search")
def search(
    request: Request, session: SessionDep, settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
    product: ProductFilter = None,
    tag: Annotated[str | None, Query(max_length=35)] = None,
    solved: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query()] = None,
) -> SearchList:
    """Typo-tolerant, every word must match (the last one also as a prefix); without `q`, the newest
    questions matching the filters."""
    page = search_service.search(session, settings=settings, engine=request.app.state.engine, q=q,
                                 product=product, tag=tag, solved=solved, cursor=cursor, limit=limit)
    return SearchList(
        items=[SearchHitOut(**QuestionSummaryOut.of(i.summary).model_dump(), highlights=i.highlights)
               for i in page.items],
        next_cursor=page.next_cursor, total=page.total, facets=page.facets)


@router.post("/questions/{question_id}/deflect", response_model=DeflectionOut, status_code=201, tags=["search"],
             dependencies=[rate_limit("write")], summary="\"Yes, this solved it\": count a deflected question")
def deflect(question_id: Id, data: DeflectionIn, request: Request, response: Response, session: SessionDep,
            user: OptionalUser) -> DeflectionOut:
    """Records that a customer about to ask `title` found their answer in this question instead
    (a question closed as a duplicate counts for its original). Anyone may call it. Counted once
    per visitor and question: 201 when counted, 200 with `counted: false` for a repeat; 409 when the
    question has no answer (nothing there can have solved it); 422 for a blank `title` or an
    `answer_id` that is not a visible answer to this question."""
    visitor = search_service.deflection_visitor(actor=user, secret=request.app.state.settings.secret,
                                                address=client_key(request),
                                                user_agent=request.headers.get("user-agent", ""))
    row, counted = search_service.record_deflection(session, actor=user, question_id=question_id, title=data.title,
                                                    product=data.product, source="api", visitor=visitor,
                                                    answer_id=data.answer_id)
    if not counted:
        response.status_code = 200
    counts = search_service.deflection_counts(session, [row.question_id])
    landed = session.get(Question, row.question_id)
    answer_id = search_service.answer_that_helped(session, row.question_id, data.answer_id)
    url = f"/questions/{landed.id}/{landed.slug}" + (f"#answer-{answer_id}" if answer_id else "")
    return DeflectionOut(question_id=row.question_id, deflections=counts.get(row.question_id, 0), counted=counted,
                         answer_url=url)
