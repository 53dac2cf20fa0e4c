"""API dependencies: rate limits (writes per user, sign-in/up per client) and refusing NUL characters."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from app.accounts.deps import SAFE_METHODS, OptionalUser, client_key
from app.core.db import SessionDep
from app.core.errors import InvalidInput
from app.core.ids import PathId
from app.products import service as products_service

# Ids in paths: a number a row can have, else 422 (app/core/ids.py: the one place for id bounds).
Id = PathId


def _product_filter(session: SessionDep,
                    product: Annotated[str | None, Query(max_length=60, description="a product's slug; an unknown "
                                                         "one is a 422")] = None) -> str | None:
    """The `?product=` filter of a list, search or queue as a known product's slug (None: no filter).
    An unknown slug is a 422 at `["query", "product"]` on every route alike (it was a 404 on
    /questions, a 422 located in the body on /search and an empty 200 on /escalations)."""
    found = products_service.resolve(session, product, where="query")
    return found.slug if found else None


ProductFilter = Annotated[str | None, Depends(_product_filter)]


def rate_limit(scope: str):
    def _dep(request: Request, user: OptionalUser) -> None:
        key = f"u{user.id}" if user is not None else f"ip:{client_key(request)}"
        request.app.state.limiter.hit(scope, key)

    return Depends(_dep)


# --- NUL characters ---------------------------------------------------------------------------

def _nul_error(loc: list) -> InvalidInput:
    msg = "Text may not contain NUL (\\u0000) characters."
    return InvalidInput(f"{'.'.join(str(p) for p in loc[1:]) or loc[0]}: {msg}",
                        errors=[{"loc": loc, "msg": msg, "type": "value_error"}])


def _walk(value: Any, loc: list) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise _nul_error(loc)
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k, loc)
            _walk(v, [*loc, k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, [*loc, i])


async def reject_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL characters (SQLite would store them): refuse them in paths,
    queries, JSON and form bodies as invalid input (422) on both databases, never a 500."""
    for name, value in request.path_params.items():
        _walk(value, ["path", name])
    for name, value in request.query_params.multi_items():
        _walk(value, ["query", name])
    if request.method in SAFE_METHODS:
        return
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        for name, value in (await request.form()).multi_items():
            _walk(value, ["body", name])
        return
    body = await request.body()  # already read (and cached) by FastAPI
    if b"\\u0000" in body:
        try:
            data = json.loads(body)
        except ValueError:
            return  # malformed JSON is FastAPI's to report (400)
        _walk(data, ["body"])
