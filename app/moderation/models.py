from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class AuditEntry(SQLModel, table=True):
    """One moderator, staff or admin action: who, when, what, why. Append-only: rows are never
    updated or deleted by the application (app/moderation/audit.py is the only writer)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action", "action", "id"),
                      Index("ix_audit_log_target", "target_type", "target_id"))

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    action: str = Field(max_length=40)
    target_type: str = Field(max_length=20)
    target_id: str | None = Field(default=None, max_length=80)
    reason: str | None = Field(default=None, max_length=500)
    details: str | None = Field(default=None, sa_type=Text)  # JSON
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Flag(SQLModel, table=True):
    """A member's flag on a question, answer or comment. One open flag per member per post
    (partial unique index); a moderator's decision marks it helpful or declined."""

    __tablename__ = "flags"
    __table_args__ = (
        Index("ix_flags_post", "post_type", "post_id"),
        Index("ix_flags_status", "status", "created_at"),
        UniqueConstraint("post_type", "post_id", "flagger_id", "open_key", name="uq_flags_open_per_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_type: str = Field(max_length=8)  # question | answer | comment
    post_id: int
    flagger_id: int = Field(foreign_key="users.id", index=True)
    reason: str = Field(max_length=20)
    text: str = Field(default="", max_length=500)
    original_id: int | None = Field(default=None)
    weight: int = Field(default=1)  # the flagger's flag weight when flagging (docs/moderation.md)
    status: str = Field(default="open", max_length=10)  # open | helpful | declined
    # Non-NULL while open: the unique (post_type, post_id, flagger_id, open_key) makes one open flag
    # per member per post on both databases without a partial index.
    open_key: int | None = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    handled_at: datetime | None = Field(default=None)
    handled_by_id: int | None = Field(default=None, foreign_key="users.id")
    outcome: str | None = Field(default=None, max_length=20)  # the action taken: deleted, dismissed, …
    note: str = Field(default="", max_length=300)


class BlockedEmail(SQLModel, table=True):
    """An address (`kestrel@spam.example`) or a whole domain (`@spam.example`) that may not sign up."""

    __tablename__ = "blocked_emails"

    id: int | None = Field(default=None, primary_key=True)
    pattern: str = Field(max_length=254, unique=True)
    reason: str = Field(default="", max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
