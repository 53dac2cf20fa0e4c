from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class PostQuote(SQLModel, table=True):
    """One post quoting another (`[quote=answer:N]` … `[/quote]` in its body; docs/quoting.md):
    recorded when the quoting post is saved, for "quoted in N posts" on the original and for the
    quoted author's notice. The credit line itself is resolved when the page is rendered."""

    __tablename__ = "post_quotes"
    __table_args__ = (
        UniqueConstraint("quoting_type", "quoting_id", "quoted_type", "quoted_id"),
        Index("ix_post_quotes_quoted", "quoted_type", "quoted_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    quoting_type: str = Field(max_length=8)  # "question" | "answer"
    quoting_id: int
    quoted_type: str = Field(max_length=8)  # "question" | "answer"
    quoted_id: int
    quoted_author_id: int = Field(foreign_key="users.id", index=True)
    quoting_author_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    # The quote was edited out of the quoting post (kept, so that quoting again notifies nobody twice).
    removed_at: datetime | None = Field(default=None)
    # When the quoted author was told (None: not yet; a held post tells them once it is approved).
    notified_at: datetime | None = Field(default=None)


# Credit lines and counts follow the posts they name: their pages are recorded as changed when those change.
from app.quotes import pages as _pages  # noqa: E402

_pages.install()
