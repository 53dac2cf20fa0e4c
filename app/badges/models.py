from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class AwardedBadge(SQLModel, table=True):
    """One badge held by one user (app/badges/policy.py defines the badges, docs/badges.md explains them).

    Unique per (user, badge, subject), so awarding again is a no-op: `subject` is "" for a badge
    earned once per user, "answer:12" / "question:5" for one earned once per post, "product:3" for
    one earned once per product. A badge whose cause no longer stands (the post deleted or hidden,
    the acceptance undone) is withdrawn: the row stays, with when, and no longer counts; earning it
    again clears `withdrawn_at` (like reversed events in the reputation ledger)."""

    __tablename__ = "awarded_badges"
    __table_args__ = (
        UniqueConstraint("user_id", "badge", "subject", name="uq_awarded_badges_user_badge_subject"),
        Index("ix_awarded_badges_badge_time", "badge", "awarded_at"),  # /badges/{badge}: who holds it
        Index("ix_awarded_badges_user", "user_id", "awarded_at"),  # a profile's badges, the tallies
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    badge: str = Field(max_length=32)  # a key of app.badges.policy.BADGES
    subject: str = Field(default="", max_length=40)
    post_type: str | None = Field(default=None, max_length=8)  # "question" | "answer", for per-post badges
    post_id: int | None = Field(default=None)
    product_id: int | None = Field(default=None, foreign_key="products.id")  # for per-product badges
    awarded_at: datetime = Field(default_factory=utcnow)
    withdrawn_at: datetime | None = Field(default=None)
