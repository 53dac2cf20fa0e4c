from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class ReputationEvent(SQLModel, table=True):
    """One change of one user's reputation and its cause. Unique per cause, so replaying is a no-op.

    A reversed event stays in the ledger (with when and why) and no longer counts.
    `users.reputation` is a cache of max(1, 1 + sum of the amounts that count).
    """

    __tablename__ = "reputation_events"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "source_type", "source_id"),
        Index("ix_reputation_events_user_time", "user_id", "occurred_at"),
        Index("ix_reputation_events_post", "post_type", "post_id"),
        Index("ix_reputation_events_product_time", "product_id", "occurred_at"),
        Index("ix_reputation_events_time", "occurred_at"),  # top contributors this month
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(max_length=32)
    amount: int  # what counts, after the daily cap
    base_amount: int  # what the policy gives before the cap
    source_type: str = Field(max_length=16)  # "vote" | "acceptance"
    source_id: int
    post_type: str = Field(max_length=8)  # the post the cause is about
    post_id: int
    product_id: int | None = Field(default=None, foreign_key="products.id")
    occurred_at: datetime  # when the cause happened (the vote, the acceptance)
    created_at: datetime = Field(default_factory=utcnow)
    reversed_at: datetime | None = Field(default=None)
    reversal_reason: str | None = Field(default=None, max_length=40)


class VotingReport(SQLModel, table=True):
    """A suspicious voting pattern for moderators: serial voting (reversed) or sock-puppet signals."""

    __tablename__ = "voting_reports"
    __table_args__ = (Index("ix_voting_reports_open", "resolved_at", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # "serial_voting" | "sock_puppet"
    voter_id: int = Field(foreign_key="users.id")
    author_id: int = Field(foreign_key="users.id")
    votes: int = Field(default=0)  # how many votes the pattern covers
    reversed_votes: int = Field(default=0)
    detail: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = Field(default=None)
    resolved_by_id: int | None = Field(default=None, foreign_key="users.id")
