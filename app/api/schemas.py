"""Response shapes of the JSON API (CONTRACT.md), built from the shared read models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    reputation: int
    role: Literal["customer", "staff", "moderator", "admin"]
    created_at: datetime

    @classmethod
    def of(cls, u) -> "UserOut":
        display = getattr(u, "shown_name", None) or getattr(u, "display_name", "") or u.username
        return cls(id=u.id, username=u.username, display_name=display, reputation=u.reputation, role=u.role,
                   created_at=u.created_at)


class MeOut(UserOut):
    email: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class ProductOut(BaseModel):
    slug: str
    name: str
    description: str
    question_count: int
    url: str


class QuestionSummaryOut(BaseModel):
    id: int
    title: str
    url: str
    score: int
    answer_count: int
    has_accepted_answer: bool
    tags: list[str]
    product: str | None
    status: Literal["open", "closed", "duplicate"]
    created_at: datetime
    last_activity_at: datetime
    author: UserOut
    excerpt: str

    @classmethod
    def of(cls, v) -> "QuestionSummaryOut":
        return cls(id=v.id, title=v.title, url=v.url, score=v.score, answer_count=v.answer_count,
                   has_accepted_answer=v.has_accepted_answer, tags=v.tags, product=v.product, status=v.status,
                   created_at=v.created_at, last_activity_at=v.last_activity_at, author=UserOut.of(v.author),
                   excerpt=v.excerpt)


class CommentOut(BaseModel):
    id: int
    body: str
    body_html: str
    author: UserOut
    created_at: datetime

    @classmethod
    def of(cls, c) -> "CommentOut":
        return cls(id=c.id, body=c.body, body_html=c.body_html, author=UserOut.of(c.author), created_at=c.created_at)


class AnswerOut(BaseModel):
    id: int
    question_id: int
    body: str
    body_html: str
    author: UserOut
    score: int
    is_accepted: bool
    is_staff: bool = Field(description="written by a staff member: shown with a badge, never ranked higher for it")
    created_at: datetime
    updated_at: datetime | None
    my_vote: int = Field(description="the caller's vote: 1, -1 or 0")
    comments: list[CommentOut]

    @classmethod
    def of(cls, a) -> "AnswerOut":
        return cls(id=a.id, question_id=a.question_id, body=a.body, body_html=a.body_html, author=UserOut.of(a.author),
                   score=a.score, is_accepted=a.is_accepted, is_staff=a.is_staff, created_at=a.created_at,
                   updated_at=a.updated_at, my_vote=a.my_vote, comments=[CommentOut.of(c) for c in a.comments])


class QuestionOut(QuestionSummaryOut):
    body: str
    body_html: str
    accepted_answer_id: int | None
    duplicate_of: int | None
    updated_at: datetime | None
    my_vote: int
    answers: list[AnswerOut] = Field(description="in the platform's ranked order, best first")
    comments: list[CommentOut]

    @classmethod
    def of(cls, v) -> "QuestionOut":  # type: ignore[override]
        base = QuestionSummaryOut.of(v).model_dump()
        return cls(**base, body=v.body, body_html=v.body_html, accepted_answer_id=v.accepted_answer_id,
                   duplicate_of=v.duplicate_of.id if v.duplicate_of else None, updated_at=v.updated_at,
                   my_vote=v.my_vote, answers=[AnswerOut.of(a) for a in v.answers],
                   comments=[CommentOut.of(c) for c in v.comments])


class QuestionList(BaseModel):
    items: list[QuestionSummaryOut]
    next_cursor: str | None


class ProductList(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = None


class VoteOut(BaseModel):
    score: int
    my_vote: int


class RevisionOut(BaseModel):
    number: int
    author: UserOut
    created_at: datetime
    title: str | None
    body: str
    tags: list[str] | None
    comment: str


class RevisionList(BaseModel):
    items: list[RevisionOut]
    next_cursor: str | None = None


class TagOut(BaseModel):
    name: str
    question_count: int


class TagList(BaseModel):
    items: list[TagOut]
    next_cursor: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict] | None = None
