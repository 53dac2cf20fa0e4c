from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Notification(SQLModel, table=True):
    """One in-app notice for one user: what happened, where to look, and whether it was read."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
                      # the digest job's candidates: who has something recent (app/mail/digests.py)
                      Index("ix_notifications_created", "created_at", "user_id"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(max_length=32)  # "question_solved" | "escalation_resolved" | "escalation_assigned" | …
    text: str = Field(max_length=300)
    url: str = Field(max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = Field(default=None)
    # The post the notice is about (migration 0026), None for notices about no post (badges,
    # suspensions, escalations, API keys): `post_type` "question" | "answer" | "comment" and its id,
    # and the question of its thread when the notice was made. Whether the recipient may still see
    # that post is judged when the notice is counted, listed or mailed
    # (app/notifications/service.py visible_condition). No foreign keys: posts are never removed
    # for good, and a notice must not hold up anything else.
    question_id: int | None = Field(default=None)
    post_type: str | None = Field(default=None, max_length=8)
    post_id: int | None = Field(default=None)
