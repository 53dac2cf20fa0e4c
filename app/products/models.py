from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    # A new member's first question or answer about this product waits for review (app/moderation).
    first_posts_review: bool = Field(default=False)
