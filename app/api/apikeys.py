"""JSON API: API keys for product sites (staff and admins; a person must sign in, keys cannot
manage keys). Every action goes through app/apikeys/service.py."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.accounts import service as accounts_service
from app.accounts.deps import CurrentUser
from app.accounts.models import User
from app.api.deps import Id, rate_limit
from app.api.schemas import UserOut
from app.apikeys import service as apikeys_service
from app.apikeys.scopes import SCOPES
from app.core.db import SessionDep
from app.core.inputs import JsonBody

router = APIRouter(tags=["api keys"])


class ApiKeyIn(JsonBody):
    name: str = Field(max_length=80)
    owner: str | None = Field(default=None, description="username the key acts as; default: you")
    scopes: list[str] = Field(description="any of: " + ", ".join(SCOPES))
    allowed_origins: list[str] = Field(default_factory=list, description="browser origins allowed; empty: any")
    rate_limit: int | None = Field(default=None, ge=1, le=1_000_000, description="requests per minute (1–1,000,000); default 600")


class ApiKeyPatch(JsonBody):
    name: str | None = Field(default=None, max_length=80)
    scopes: list[str] | None = None
    allowed_origins: list[str] | None = None
    rate_limit: int | None = Field(default=None, ge=1, le=1_000_000)


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    owner: UserOut
    scopes: list[str]
    allowed_origins: list[str]
    rate_limit: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the secret, shown this once: send it as X-API-Key")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: None = None


def _out(session, row, cls=ApiKeyOut, **extra):
    key = row
    owner = session.get(User, key.user_id)
    return cls(id=key.id, name=key.name, prefix=key.prefix, owner=UserOut.of(owner), scopes=key.scope_list,
               allowed_origins=key.allowed_origins.split(), rate_limit=key.rate_limit, created_at=key.created_at,
               last_used_at=key.last_used_at, revoked_at=key.revoked_at, **extra)


@router.get("/api-keys", response_model=ApiKeyList)
def list_keys(session: SessionDep, user: CurrentUser) -> ApiKeyList:
    """Keys you may manage (admins: all; others: the keys you own), newest first, revoked ones included."""
    return ApiKeyList(items=[_out(session, k) for k in apikeys_service.list_keys(session, actor=user)])


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreatedOut, dependencies=[rate_limit("write")])
def create_key(data: ApiKeyIn, session: SessionDep, user: CurrentUser) -> ApiKeyCreatedOut:
    """Create a key; the answer carries the secret (`key`) this once."""
    owner = accounts_service.get_by_username(session, data.owner) if data.owner else user
    key, plain = apikeys_service.create(session, actor=user, owner=owner, name=data.name, scopes=data.scopes,
                                        allowed_origins=data.allowed_origins, rate_limit=data.rate_limit)
    return _out(session, key, ApiKeyCreatedOut, key=plain)


@router.get("/api-keys/{key_id}", response_model=ApiKeyOut)
def get_key(key_id: Id, session: SessionDep, user: CurrentUser) -> ApiKeyOut:
    return _out(session, apikeys_service.get(session, actor=user, key_id=key_id, owner_ok=True))


@router.patch("/api-keys/{key_id}", response_model=ApiKeyOut, dependencies=[rate_limit("write")])
def update_key(key_id: Id, data: ApiKeyPatch, session: SessionDep, user: CurrentUser) -> ApiKeyOut:
    """Change name, scopes, origins or rate limit (`"rate_limit": null` restores the default)."""
    key = apikeys_service.update(session, actor=user, key_id=key_id, name=data.name, scopes=data.scopes,
                                 allowed_origins=data.allowed_origins, rate_limit=data.rate_limit,
                                 clear_rate_limit="rate_limit" in data.model_fields_set and data.rate_limit is None)
    return _out(session, key)


@router.post("/api-keys/{key_id}/rotate", response_model=ApiKeyCreatedOut, dependencies=[rate_limit("write")])
def rotate_key(key_id: Id, session: SessionDep, user: CurrentUser) -> ApiKeyCreatedOut:
    """A new secret for the key (shown this once); the old one stops working at once."""
    key, plain = apikeys_service.rotate(session, actor=user, key_id=key_id)
    return _out(session, key, ApiKeyCreatedOut, key=plain)


@router.delete("/api-keys/{key_id}", status_code=204, dependencies=[rate_limit("write")])
def revoke_key(key_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Revoke the key for good; requests with it get 401 at once."""
    apikeys_service.revoke(session, actor=user, key_id=key_id)
    return Response(status_code=204)
