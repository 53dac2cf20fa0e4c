"""A staff-only link from a public question (or one of its escalations) to an internal question."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class InternalLink(SQLModel, table=True):
    """`question_id` (a public thread) points staff to `internal_id` (an internal question); made
    from the question page or from an escalation of that question (`escalation_id`). Shown to
    staff only: never in a customer's HTML or API answer."""

    __tablename__ = "internal_links"
    __table_args__ = (UniqueConstraint("question_id", "internal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    internal_id: int = Field(foreign_key="questions.id", index=True)
    escalation_id: int | None = Field(default=None, foreign_key="escalations.id")
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
