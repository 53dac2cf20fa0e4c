from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Answer(SQLModel, table=True):
    __tablename__ = "answers"
    __table_args__ = (
        Index("ix_answers_author_question", "author_id", "question_id", "score"),  # the ranking's author record
        Index("ix_answers_merged_from", "merged_from_question_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    author_id: int = Field(foreign_key="users.id", index=True)
    body: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text)
    score: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = Field(default=None)
    deleted_at: datetime | None = Field(default=None)
    deleted_by_id: int | None = Field(default=None, foreign_key="users.id")
    source_url: str | None = Field(default=None, max_length=300)
    source_author: str | None = Field(default=None, max_length=120)
    # "markdown" (written here) or "html" (imported, kept as sanitised HTML and edited as such).
    body_format: str = Field(default="markdown", max_length=8)
    # Imported posts: their licence ("CC BY-SA 4.0", from ContentLicense or the date rule in
    # app/importer/stackexchange.py) and when the post became community wiki (CommunityOwnedDate:
    # votes on it give its owner no reputation). None for posts written here.
    license: str | None = Field(default=None, max_length=16)
    community_owned_at: datetime | None = Field(default=None)
    # An answer moved here when its duplicate question was merged into this one: where it was written.
    merged_from_question_id: int | None = Field(default=None, foreign_key="questions.id")
    merged_at: datetime | None = Field(default=None)
    # Moderation (app/moderation/): hidden by flags, spam check or first-posts review; shown only
    # to its author and moderators (with the reason) until a moderator decides.
    hidden_at: datetime | None = Field(default=None)
    hidden_reason: str | None = Field(default=None, max_length=20)


class Acceptance(SQLModel, table=True):
    """Each time an asker (or staff) accepts an answer; un-accepting or switching revokes it.

    `questions.accepted_answer_id` says which answer is accepted now; these rows are the history
    the reputation ledger points at.
    """

    __tablename__ = "acceptances"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    answer_id: int = Field(foreign_key="answers.id", index=True)
    accepted_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = Field(default=None)
