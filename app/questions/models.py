from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class QuestionStatus(StrEnum):
    open = "open"
    closed = "closed"
    duplicate = "duplicate"


#: Predicates of the partial list indexes (migration 0022); the list filters are written to match
#: them literally (app/questions/service.py: filtered_questions).
UNANSWERED = "answer_count = 0 AND deleted_at IS NULL"
UNSOLVED = "accepted_answer_id IS NULL AND deleted_at IS NULL"


class Question(SQLModel, table=True):
    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_created", "created_at", "id"),
        Index("ix_questions_activity", "last_activity_at", "id"),
        Index("ix_questions_score", "score", "id"),
        Index("ix_questions_duplicate_of", "duplicate_of_id"),  # "Asked again as" on the question page
        # A product's list in each order, read in order (migration 0025; also the product's foreign key).
        Index("ix_questions_product_created", "product_id", "created_at", "id"),
        Index("ix_questions_product_activity", "product_id", "last_activity_at", "id"),
        Index("ix_questions_product_score", "product_id", "score", "id"),
        # The unanswered and unsolved lists, newest first (migration 0022): only the rows they select.
        Index("ix_questions_unanswered", "created_at", "id", postgresql_where=text(UNANSWERED),
              sqlite_where=text(UNANSWERED)),
        Index("ix_questions_unsolved", "created_at", "id", postgresql_where=text(UNSOLVED),
              sqlite_where=text(UNSOLVED)),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=150)
    slug: str = Field(max_length=160)
    body: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text)
    author_id: int = Field(foreign_key="users.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="products.id")
    score: int = Field(default=0)
    answer_count: int = Field(default=0)
    # The accepted answer; kept by the answers service (no FK: questions and answers would reference each other).
    accepted_answer_id: int | None = Field(default=None)
    status: str = Field(default=QuestionStatus.open.value, max_length=16)
    duplicate_of_id: int | None = Field(default=None, foreign_key="questions.id")
    # The question a duplicate was closed against, when that one was later closed as a duplicate
    # itself and this one re-pointed to the end of the chain (app/questions/duplicates.py: close
    # and repair_chains); None while it points at what it was closed against. The moderators'
    # judgement was "same as that one", not "same as where the chain ends": the learned re-ranker
    # does not train on such links (app/search/learned.py, docs/search-research.md). No FK: a
    # record of what happened, kept when that question is later reopened or deleted.
    duplicate_via_id: int | None = Field(default=None)
    # Set when a duplicate's answers were moved to its original (app/questions/duplicates.py: merge).
    merged_into_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = Field(default=None)
    last_activity_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = Field(default=None)
    deleted_by_id: int | None = Field(default=None, foreign_key="users.id")
    # Imported posts keep where they came from and who wrote them there (CC BY-SA attribution).
    source_url: str | None = Field(default=None, max_length=300)
    source_author: str | None = Field(default=None, max_length=120)
    # "markdown" (written here) or "html" (imported, kept as sanitised HTML and edited as such).
    body_format: str = Field(default="markdown", max_length=8)
    # Imported posts: their licence ("CC BY-SA 4.0", from ContentLicense or the date rule in
    # app/importer/stackexchange.py) and when the post became community wiki (CommunityOwnedDate:
    # votes on it give its owner no reputation). None for posts written here.
    license: str | None = Field(default=None, max_length=16)
    community_owned_at: datetime | None = Field(default=None)
    # Moderation (app/moderation/): hidden by flags, spam check or first-posts review; shown only
    # to its author and moderators (with the reason) until a moderator decides.
    hidden_at: datetime | None = Field(default=None)
    hidden_reason: str | None = Field(default=None, max_length=20)
    # Locked: no new answers, comments or votes. Protected: new accounts cannot answer.
    locked_at: datetime | None = Field(default=None)
    protected_at: datetime | None = Field(default=None)
    # "public" or "internal": the staff-only space (issue 18, docs/internal.md, app/internal/).
    # To anyone but staff, moderators and admins an internal question and everything on it does not exist.
    visibility: str = Field(default="public", max_length=16, sa_column_kwargs={"server_default": "public"})

    @property
    def is_solved(self) -> bool:
        return self.accepted_answer_id is not None


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=35, unique=True)


class QuestionTag(SQLModel, table=True):
    __tablename__ = "question_tags"
    # A tag's questions in each list order (newest, most active, highest voted), read in order
    # without reading all of the tag's questions (issue 11; migrations 0023 and 0024).
    __table_args__ = (Index("ix_question_tags_tag_created", "tag_id", "question_created_at", "question_id"),
                      Index("ix_question_tags_tag_activity", "tag_id", "question_last_activity_at", "question_id"),
                      Index("ix_question_tags_tag_score", "tag_id", "question_score", "question_id"))

    question_id: int = Field(foreign_key="questions.id", primary_key=True)
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, index=True)
    position: int = Field(default=0)
    # The question's created_at (which never changes once asked; the demo loader backdates both),
    # copied here for the tag's newest-first list.
    question_created_at: datetime
    # The question's last_activity_at and score, for the tag's "active" and "votes" lists. Set from
    # the question's row when the tag is attached (_set_tags, the importer) and kept equal to it by
    # the database itself: a trigger on questions (migration 0024, `questions_copy_to_tags`) copies
    # every change of either column in the same statement, whichever code path made it.
    question_last_activity_at: datetime
    question_score: int


class Revision(SQLModel, table=True):
    """Every version of a question or answer, the first included: who, when, what."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("post_type", "post_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    post_type: str = Field(max_length=8)  # "question" | "answer"
    post_id: int
    number: int
    title: str | None = Field(default=None, max_length=150)
    body: str = Field(sa_type=Text)
    tags: str | None = Field(default=None, max_length=200)
    product_slug: str | None = Field(default=None, max_length=60)
    author_id: int = Field(foreign_key="users.id")
    comment: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow)


class SuggestedEdit(SQLModel, table=True):
    """An edit proposed by someone without the edit privilege, applied once a reviewer approves it."""

    __tablename__ = "suggested_edits"
    __table_args__ = (Index("ix_suggested_edits_status", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    post_type: str = Field(max_length=8)  # "question" | "answer"
    post_id: int
    author_id: int = Field(foreign_key="users.id")
    title: str | None = Field(default=None, max_length=150)
    body: str = Field(sa_type=Text)
    tags: str | None = Field(default=None, max_length=200)
    comment: str = Field(default="", max_length=300)
    status: str = Field(default="pending", max_length=10)  # pending | approved | rejected
    reviewer_id: int | None = Field(default=None, foreign_key="users.id")
    review_note: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = Field(default=None)


class QuestionLink(SQLModel, table=True):
    """A "related" link between two questions (duplicates use questions.duplicate_of_id)."""

    __tablename__ = "question_links"
    __table_args__ = (UniqueConstraint("question_id", "related_id"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    related_id: int = Field(foreign_key="questions.id")
    created_at: datetime = Field(default_factory=utcnow)


# Wherever questions are written, changes are recorded for the search index (app/search/outbox.py).
from app.search import outbox as _search_outbox  # noqa: E402

_search_outbox.install()
