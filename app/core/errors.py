"""Domain errors: services raise these; the API turns them into RFC 9457 problems, the web into pages."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    type: str = "about:blank"
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def _type(slug: str) -> str:
    return f"/problems/{slug}"


class BadRequest(DomainError):
    """A request that is malformed as a whole (not one field): 400 problem."""

    status, type, title = 400, _type("bad-request"), "Bad request"


class InvalidInput(DomainError):
    status, type, title = 422, _type("invalid-input"), "Invalid input"


class NotAuthenticated(DomainError):
    status, type, title = 401, _type("not-authenticated"), "Sign-in required"

    def __init__(self, detail: str = "Sign in to do this.", **kw):
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(DomainError):
    status, type, title = 403, _type("forbidden"), "Not allowed"


class NotFound(DomainError):
    status, type, title = 404, _type("not-found"), "Not found"


class Conflict(DomainError):
    status, type, title = 409, _type("conflict"), "Conflict"


class PayloadTooLarge(DomainError):
    status, type, title = 413, _type("payload-too-large"), "Request body too large"


class RateLimited(DomainError):
    status, type, title = 429, _type("rate-limited"), "Too many requests"

    def __init__(self, detail: str, retry_after: int, headers: dict[str, str] | None = None):
        super().__init__(detail, headers={**(headers or {}), "Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class ServiceBusy(DomainError):
    """The server is saturated (every request slot, database connection or write lock is taken):
    503 with Retry-After, so that clients retry shortly instead of waiting or seeing a 500."""

    status, type, title = 503, _type("busy"), "Server busy"

    def __init__(self, detail: str = "The server is busy right now; please try again in a moment.",
                 retry_after: int = 2):
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


def field_error(field: str, message: str, where: str = "body") -> InvalidInput:
    """One invalid field (where: "body" or "query"), in the same `errors` shape as request validation."""
    return InvalidInput(message, errors=[{"loc": [where, field], "msg": message, "type": "value_error"}])
