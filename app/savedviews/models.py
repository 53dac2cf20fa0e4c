"""A saved view: a named, validated question-list filter owned by one person (docs/saved-views.md).

The filter is kept as typed columns, not JSON, so the database checks its shape and the same
migration works on SQLite and PostgreSQL. The product is stored by id (a renamed slug keeps the view)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class SavedView(SQLModel, table=True):
    __tablename__ = "saved_views"
    __table_args__ = (
        Index("ix_saved_views_owner_position", "owner_id", "position", "id"),
        Index("ix_saved_views_shared", "shared", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id")
    name: str = Field(max_length=60)
    position: int = Field(default=0)  # the column's place on the owner's dashboard, left to right
    shared: bool = Field(default=False)  # staff only: the staff team sees it read-only
    sort: str = Field(default="newest", max_length=12)  # newest | active | votes
    # The filter (every part optional; all given parts must hold).
    product_id: int | None = Field(default=None, foreign_key="products.id")
    tag: str | None = Field(default=None, max_length=35)
    unanswered: bool = Field(default=False)
    unsolved: bool = Field(default=False)
    has_me_too: bool = Field(default=False)
    # Staff only (they read the escalation queue):
    escalation_status: str | None = Field(default=None, max_length=12)  # queries.STATUS_FILTERS
    breaching_hours: int | None = Field(default=None)  # an escalation's clock runs out within N hours
    assigned_to_me: bool = Field(default=False)  # "me" is whoever reads the view
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
