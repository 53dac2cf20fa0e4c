"""Search tables: the outbox, the embedded index's documents, and deflections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class SearchOutbox(SQLModel, table=True):
    """A question whose search document must be rebuilt; written in the transaction that changed it."""

    __tablename__ = "search_outbox"
    __table_args__ = (
        Index("ix_search_outbox_pending", "next_attempt_at", "id",
              sqlite_where=text("done_at IS NULL"), postgresql_where=text("done_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Set when the embedded index (the fallback, always kept) has this change.
    local_done_at: datetime | None = Field(default=None)
    done_at: datetime | None = Field(default=None)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=500)


class SearchDocument(SQLModel, table=True):
    """The embedded index: one row per question, as last indexed (`visible` false = removed).

    Each serving process keeps an in-memory index built from these rows and catches up on rows
    whose `seq` is above what it has seen, so the API, the worker and `reindex` share one index.
    """

    __tablename__ = "search_documents"

    question_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(index=True)
    visible: bool = Field(default=True)
    title: str = Field(default="", max_length=150)
    body: str = Field(default="", sa_type=Text)
    accepted_answer: str = Field(default="", sa_type=Text)
    tags: str = Field(default="", max_length=200)  # space-separated
    product: str | None = Field(default=None, max_length=60)
    status: str = Field(default="open", max_length=16)
    solved: bool = Field(default=False)
    score: int = Field(default=0)
    answer_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    alternate_titles: str = Field(default="", sa_type=Text)  # newline-separated
    alternate_bodies: str = Field(default="", sa_type=Text)  # form-feed-separated
    # float16 unit vectors, one per phrasing [title, *alternate_titles]; NULL without embeddings.
    vectors: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Hash of the phrasings the vectors were computed from: unchanged text is not re-embedded.
    vectors_key: str | None = Field(default=None, max_length=64)


class SearchState(SQLModel, table=True):
    """Single row (id 1): the embedded index's change counter."""

    __tablename__ = "search_state"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(default=0)
    # Random per row: a process that saw another generation (table emptied, database restored)
    # starts its in-memory index again instead of trusting its sequence number.
    generation: str = Field(default="", max_length=32)
    rebuilt_at: datetime | None = Field(default=None)


class Deflection(SQLModel, table=True):
    """A would-be question answered by an existing one ("Yes, this solved it"): counted once per
    visitor and question (`visitor`: see app/search/service.py:deflection_visitor)."""

    __tablename__ = "deflections"
    __table_args__ = (UniqueConstraint("question_id", "visitor", name="uq_deflections_question_id_visitor"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    visitor: str = Field(max_length=64)
    title: str = Field(max_length=150)
    product_id: int | None = Field(default=None, foreign_key="products.id")
    source: str = Field(default="web", max_length=8)  # web | api
    created_at: datetime = Field(default_factory=utcnow)


class DismissedSuggestion(SQLModel, table=True):
    """A suggestion the asker was shown before posting and passed over ("No, post my question"):
    what did not help, for staff and for tuning duplicate detection."""

    __tablename__ = "dismissed_suggestions"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)  # the question posted anyway
    suggested_id: int = Field(foreign_key="questions.id", index=True)  # what was shown
    created_at: datetime = Field(default_factory=utcnow)


class LearnedModel(SQLModel, table=True):
    """A ranking model learned from the community's duplicate links (app.search.learned).

    The row with the highest id is the one every process serves; a failed training writes
    nothing, so the previous row stays in force. Only the last few rows are kept.
    """

    __tablename__ = "search_learned_models"

    id: int | None = Field(default=None, primary_key=True)  # the version
    kind: str = Field(default="query-adapter", max_length=32)
    # The sentence encoder the vectors came from: a model for another encoder is not served.
    encoder: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    links: int = Field(default=0)  # duplicate links it was trained on
    seconds: float = Field(default=0.0)  # training time
    metrics: str = Field(default="{}", sa_type=Text)  # JSON: held-out figures, hyper-parameters
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float16 W, row-major
