"""Who is asking: bearer token, X-API-Key, or the forum's session cookie (with CSRF on writes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core import security
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import BadRequest, Forbidden, NotAuthenticated
from app.core.logs import note_user
from app.core.ratelimit import LIMITS, Limit

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def session_uid(request: Request) -> int | None:
    """The user id the forum's session cookie names, unchecked (None when nobody is signed in).
    Reading it needs no database: pages use it to skip resolving the viewer for anonymous visits."""
    uid = request.session.get("uid") if "session" in request.scope else None
    return uid if isinstance(uid, int) else None


def session_user(request: Request, session) -> User | None:
    """The user signed in through the forum's session cookie, if any: the cookie's session must
    still exist in the database (signing out deletes it), so a copied cookie dies with it."""
    uid = session_uid(request)
    if uid is None:
        return None
    user = accounts_service.user_for_session(session, uid, request.session.get("sid"), request.session.get("tv"))
    note_user(user.id if user else None)  # for the request's access line (app/core/logs.py)
    return user


def api_user(request: Request, session: SessionDep, settings: SettingsDep) -> User | None:
    """The API caller, or None for anonymous. Wrong credentials are a 401, never silently anonymous.

    An `X-API-Key` request must have the scope its route needs (app/apikeys/scopes.py): 403
    problem naming it otherwise. Every request counts against the API rate limit of who asks
    (key, user or client address; app/core/ratelimit.py), reported in RateLimit-* headers.

    Both `Authorization` and `X-API-Key` on one request is a 400 problem ("send one credential"),
    checked before either is read: the two may name different people (a key acts as its owner), and
    serving one of them silently would act as someone the caller may not have meant. 400, not 401:
    nothing is wrong with either credential, the request is malformed, as RFC 6750 section 3.1 puts
    it for a client that "uses more than one method for including an access token"
    (`invalid_request`, 400, with `WWW-Authenticate: Bearer error="invalid_request"`). The forum's
    session cookie is not counted: browsers send it by themselves, and a header credential wins."""
    limiter = request.app.state.limiter
    auth = request.headers.get("authorization")
    if auth is not None and request.headers.get("x-api-key") is not None:
        raise BadRequest("Send one credential: either 'Authorization: Bearer <token>' or 'X-API-Key', not both.",
                         headers={"WWW-Authenticate": 'Bearer error="invalid_request", '
                                                      'error_description="send one credential"'})
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("Use 'Authorization: Bearer <token>' with a token from /api/v1/auth/token.")
        found = security.read_token(settings.secret, token.strip(), settings.token_max_age)
        user = accounts_service.user_for_session(session, found[0], found[2], found[1]) if found else None
        if user is None:
            raise NotAuthenticated("The token is invalid or expired; get a new one from /api/v1/auth/token.")
        note_user(user.id)
        request.state.rate_limit = limiter.hit("api-user", f"u{user.id}")
        return user
    key = request.headers.get("x-api-key")
    if key:
        from app.apikeys import scopes as key_scopes
        from app.apikeys import service as apikeys_service

        found_key = apikeys_service.authenticate(session, key.strip())
        if found_key is None:
            raise NotAuthenticated("The API key is unknown or revoked.")
        row, user = found_key
        note_user(user.id)
        limit = LIMITS["api-key"]
        if row.rate_limit:
            limit = Limit(row.rate_limit, 60, limit.what)
        request.state.rate_limit = limiter.hit("api-key", f"k{row.id}", limit)
        route = request.scope.get("route")
        path = getattr(route, "path_format", None) or request.url.path
        if not path.startswith("/api/"):
            path = "/api/v1" + path
        apikeys_service.check(row, scope=key_scopes.required_scope(request.method, path),
                              what=f"{request.method} {path}", origin=request.headers.get("origin"))
        request.state.api_key = row
        # A key reaches the internal space only with the "internal" scope (app/internal/visibility.py):
        # a product site's key owned by a staff account must not show staff-only questions.
        object.__setattr__(user, "_key_scopes", tuple(row.scope_list))
        return user
    user = session_user(request, session)
    if user is not None and request.method not in SAFE_METHODS:
        # Cookie-authenticated writes from scripts must prove they come from our pages.
        if not security.same_token(request.headers.get("x-csrf-token"), request.session.get("csrf")):
            raise Forbidden("Missing or wrong X-CSRF-Token header for a cookie-authenticated request.")
    if user is not None:
        request.state.rate_limit = limiter.hit("api-user", f"u{user.id}")
    else:
        request.state.rate_limit = limiter.hit("api-address", client_key(request))
    return user


def address_budget(request: Request) -> None:
    """The anonymous API rate limit for routes that ignore credentials (sign-up, token)."""
    request.state.rate_limit = request.app.state.limiter.hit("api-address", client_key(request))


def require_api_user(user: Annotated[User | None, Depends(api_user)]) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


OptionalUser = Annotated[User | None, Depends(api_user)]
CurrentUser = Annotated[User, Depends(require_api_user)]


def client_key(request: Request) -> str:
    """The client's address for rate limits and sign-up fingerprints. Behind proxies listed in
    GROUNDSWELL_TRUSTED_PROXIES, uvicorn's ProxyHeadersMiddleware (app/main.py) has already put the
    address from X-Forwarded-For here; from anyone else that header is ignored."""
    return request.client.host if request.client else "unknown"


def bearer_session_id(request: Request, settings: Settings) -> str | None:
    """The sign-in session id of the request's bearer token, if it has a valid one."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = security.read_token(settings.secret, token.strip(), settings.token_max_age)
    return found[2] if found else None
