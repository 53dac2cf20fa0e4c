from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Follow(SQLModel, table=True):
    """A user follows a product (slug), a tag (name), a question (id) or a person (username).

    `target_key` is the stable key: the product's or question's id, the tag's name, the user's id
    (as text), so renames do not break a follow."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "target_type", "target_key"),
        Index("ix_follows_target", "target_type", "target_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    target_type: str = Field(max_length=10)  # product | tag | question | user
    target_key: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
