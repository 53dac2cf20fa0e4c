from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Vote(SQLModel, table=True):
    """One vote per user per post, enforced by the database; retracting deletes the row."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("voter_id", "post_type", "post_id"),
        CheckConstraint("value IN (-1, 1)", name="value"),
        Index("ix_votes_post", "post_type", "post_id"),
        # Reputation events name their vote by id: SQLite must never hand a deleted vote's id to a new one.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    voter_id: int = Field(foreign_key="users.id")
    post_type: str = Field(max_length=8)  # "question" | "answer"
    post_id: int
    value: int
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
