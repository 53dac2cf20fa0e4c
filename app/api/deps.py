"""Rate-limit dependencies for the API (writes are limited per user, sign-in/up per client)."""

from __future__ import annotations

from fastapi import Depends, Request

from app.accounts.deps import OptionalUser, client_key


def rate_limit(scope: str):
    def _dep(request: Request, user: OptionalUser) -> None:
        key = f"u{user.id}" if user is not None else f"ip:{client_key(request)}"
        request.app.state.limiter.hit(scope, key)

    return Depends(_dep)
