from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_post", "post_type", "post_id"),)

    id: int | None = Field(default=None, primary_key=True)
    post_type: str = Field(max_length=8)  # "question" | "answer"
    post_id: int
    author_id: int = Field(foreign_key="users.id", index=True)
    body: str = Field(max_length=600)
    body_html: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = Field(default=None)
    deleted_by_id: int | None = Field(default=None, foreign_key="users.id")
    source_author: str | None = Field(default=None, max_length=120)
    # Moderation (app/moderation/): hidden by flags, spam check or first-posts review; shown only
    # to its author and moderators (with the reason) until a moderator decides.
    hidden_at: datetime | None = Field(default=None)
    hidden_reason: str | None = Field(default=None, max_length=20)
