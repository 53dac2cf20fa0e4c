from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class Role(StrEnum):
    customer = "customer"
    staff = "staff"
    moderator = "moderator"
    admin = "admin"


STAFF_ROLES = frozenset({Role.staff, Role.admin})
MODERATING_ROLES = frozenset({Role.staff, Role.moderator, Role.admin})


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=30, unique=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.customer.value, max_length=16)
    display_name: str = Field(default="", max_length=60)
    bio: str = Field(default="", max_length=2000)
    reputation: int = Field(default=1)
    # Bumped to invalidate every bearer token the user holds.
    token_version: int = Field(default=0)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    # A keyed hash of the address the account signed up from (sock-puppet signals), never the address.
    signup_fingerprint: str | None = Field(default=None, max_length=64)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def can_moderate(self) -> bool:
        return self.role in MODERATING_ROLES

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


class ApiKey(SQLModel, table=True):
    """A key a product site sends as X-API-Key; requests act as its owner."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    key_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = Field(default=None)
