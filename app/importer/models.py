from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ImportMap(SQLModel, table=True):
    """Which local row a source row became: re-importing skips what is here (idempotent imports)."""

    __tablename__ = "import_map"
    __table_args__ = (UniqueConstraint("site", "kind", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # user | question | answer | comment | link
    source_id: int
    local_id: int


class ImportedVote(SQLModel, table=True):
    """A vote from an imported archive. Public dumps do not say who voted, so these have no voter;
    they count in scores, in the ranking (as votes of an established member) and, through the
    ledger, in their authors' reputation."""

    __tablename__ = "imported_votes"
    __table_args__ = (
        UniqueConstraint("site", "source_id"),
        Index("ix_imported_votes_post", "post_type", "post_id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=100)
    source_id: int
    post_type: str = Field(max_length=8)
    post_id: int
    value: int
    created_at: datetime
