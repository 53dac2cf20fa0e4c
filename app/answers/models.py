from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Answer(SQLModel, table=True):
    __tablename__ = "answers"

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
