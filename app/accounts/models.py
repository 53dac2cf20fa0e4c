from __future__ import annotations

from datetime import UTC, datetime
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
    # identity.username_key: names that pass for each other share it (raj_builds, raj-builds). Not
    # unique (imported dumps may hold such pairs); a new account may not take a key already held.
    username_key: str | None = Field(default=None, max_length=30, index=True)
    # As typed (normalised: app/accounts/identity.py). Not unique: see email_key.
    email: str = Field(max_length=254)
    # The look-alike key of the address (identity.email_key) for the account that owns it; unique.
    # NULL when the address was already owned by another account at sign-up: sign-up answers the
    # same either way (it must not tell whether an address is registered), so such an account is
    # created but never owns the address (no sign-in by it, no account e-mail to it).
    # A sign-up with an owned address sends the owner one notice (app/mail/accounts.py: after_signup).
    email_key: str | None = Field(default=None, max_length=254, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.customer.value, max_length=16)
    display_name: str = Field(default="", max_length=60)
    bio: str = Field(default="", max_length=2000)
    reputation: int = Field(default=1)
    # Bumped by "sign out everywhere": every session cookie and bearer token carries it.
    token_version: int = Field(default=0)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    # A keyed hash of the address the account signed up from (sock-puppet signals), never the address.
    signup_fingerprint: str | None = Field(default=None, max_length=64)
    # Moderation (app/moderation/suspensions.py): no writes anywhere until this time (UTC).
    suspended_until: datetime | None = Field(default=None)
    suspension_reason: str | None = Field(default=None, max_length=300)

    @property
    def is_suspended(self) -> bool:
        if self.suspended_until is None:
            return False
        until = self.suspended_until if self.suspended_until.tzinfo else self.suspended_until.replace(tzinfo=UTC)
        return until > utcnow()

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
    """A key a product site sends as X-API-Key; requests act as its owner, within its scopes
    (app/apikeys: the service and the scope of every route)."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    key_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = Field(default=None)
    # The secret's first characters ("gsk_AbCdEfGh"), to recognise it in lists; not secret.
    prefix: str = Field(default="", max_length=16)
    # Space-separated scope names (app/apikeys/scopes.py SCOPES).
    scopes: str = Field(default="read", max_length=300)
    # Space-separated origins a browser may use the key from; empty: any (server-side use).
    allowed_origins: str = Field(default="", max_length=2000)
    # Requests per minute for this key; None: LIMITS["api-key"].
    rate_limit: int | None = Field(default=None)
    last_used_at: datetime | None = Field(default=None)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class AuthSession(SQLModel, table=True):
    """One sign-in: a forum session (kind "web") or a bearer token (kind "token").

    The signed cookie or token carries its random id; a request is signed in only while the row
    exists and has not expired, so signing out (deleting the row) ends a copied cookie or token
    at once. Sign-in adds a row and clears the user's expired ones."""

    __tablename__ = "auth_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
