"""Every error as RFC 9457 problem+json on the API, as a friendly page on the web."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.db import is_busy_error
from app.core.errors import DomainError, NotFound, PayloadTooLarge, ServiceBusy
from app.core.logs import current_request_id
from app.core.middleware import BodyTooLarge

log = logging.getLogger("groundswell")
PROBLEM = "application/problem#json".replace("#", "+")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_DATA_TYPES = ("application/json", "application/problem+json")


def _accept_q(accept: str) -> dict[str, float]:
    """{media range: q} of an Accept header (RFC 9110 §12.5.1), names lower-cased; a bad q counts as 1."""
    out: dict[str, float] = {}
    for item in accept.split(",")[:50]:
        kind, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 1.0
        if kind:
            out[kind.lower()] = max(q, out.get(kind.lower(), 0.0))
    return out


def wants_page(request: Request) -> bool:
    """The one rule for how an error is answered: the forum's HTML error page (same status) or an
    RFC 9457 problem+json. A page when the path is not under /api/ and the request accepts HTML
    (`text/html` or `application/xhtml+xml`, any case, q > 0) at least as much as JSON: a browser's
    page load or form post. Everything else gets the problem: the API always, and clients that ask
    for JSON or send no Accept at all (curl, scripts). Used by every error answer, including those
    given before a route runs (413 too large, 422 not UTF-8, 503 saturated, 400 undecodable body)."""
    if is_api(request):
        return False
    q = _accept_q(request.headers.get("accept", ""))
    page = max((q.get(t, 0.0) for t in _PAGE_TYPES), default=0.0)
    data = max((q.get(t, 0.0) for t in _DATA_TYPES), default=0.0)
    return page > 0 and page >= data


def problem_body(status: int, title: str, detail: str, type_: str = "about:blank", instance: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None):
    """The error `body` (problem_body) as the forum's error page or as problem+json (wants_page)."""
    status = body["status"]
    if not wants_page(request):
        return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"problem": body}, status_code=status, headers=headers)


def _clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        item = {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        out.append(item)
    return out


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Statuses Starlette's router raises itself, as the same typed problems the services raise.
HTTP_PROBLEMS = {404: (NotFound.type, NotFound.title), 405: ("/problems/method-not-allowed", "Method not allowed")}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (RFC 9110 §15.5.6: a 405 lists them all in
    `Allow`). Starlette names only the methods of the first route whose path matched, so a path
    served by several routes (GET from one, POST from another) got a partial list. Each method is
    tried against the app's routes (included routers answer for all of theirs); HEAD is listed
    wherever GET is."""
    allowed = []
    for method in _METHODS:
        probe = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", ""),
                 "method": method, "headers": [], "query_string": b""}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed:  # app.core.middleware.HeadAsGet answers it
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return allowed


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        body = problem_body(exc.status, exc.title, exc.detail, exc.type, request.url.path,
                            errors=exc.errors, retry_after=getattr(exc, "retry_after", None),
                            required_scope=getattr(exc, "required_scope", None),
                            suspended_until=getattr(exc, "suspended_until", None))
        return problem_response(request, body, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            body = problem_body(400, "Malformed JSON", "The request body is not valid JSON.",
                                "/problems/malformed-json", request.url.path)
            return problem_response(request, body)
        if not is_api(request) and all(e.get("loc", ("",))[0] == "path" for e in errors):
            body = problem_body(404, "Not found", "There is no such page.", "/problems/not-found", request.url.path)
            return problem_response(request, body)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        detail = f"{where}: {first.get('msg', 'invalid')}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        body = problem_body(422, "Invalid input", detail, "/problems/invalid-input", request.url.path,
                            errors=_clean_errors(errors))
        return problem_response(request, body)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge):
        body = problem_body(413, PayloadTooLarge.title, exc.detail, PayloadTooLarge.type, request.url.path)
        return problem_response(request, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else {
            404: "There is no such page or resource.",
            405: "This method is not allowed here.",
        }.get(exc.status_code, phrase)
        # One type, one title (RFC 9457 §3.1.3): the router's own 404 is the same problem as a
        # service's NotFound; other statuses keep about:blank, whose title is the status phrase.
        type_, phrase = HTTP_PROBLEMS.get(exc.status_code, ("about:blank", phrase))
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # FastAPI could not decode the body at all (not UTF-8, broken form encoding): not a
            # JSON syntax error, so not /problems/malformed-json with another title.
            phrase, detail, type_ = "Malformed request body", "The request body could not be decoded.", \
                "/problems/malformed-body"
        body = problem_body(exc.status_code, phrase, detail, type_, request.url.path)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # a mounted app (static files) keeps the Allow it gave
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "GET, HEAD")
        return problem_response(request, body, headers or None)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: Exception):
        # No connection, no SQLite write turn, a PostgreSQL lock wait or deadlock: the transaction
        # was rolled back, nothing was written; the client may retry (docs/operations.md).
        if not is_busy_error(exc):
            return _internal_error(request, exc)
        log.warning("database busy on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0][:200])
        return await _domain(request, ServiceBusy())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return _internal_error(request, exc)


def _internal_error(request: Request, exc: Exception):
    """A 500 problem quoting the request id (`request_id` and `X-Request-ID`), logged with the same
    id, so that an operator finds the traceback from what the user reports (docs/operations.md)."""
    request_id = current_request_id()
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc,
              extra={"request_id": request_id})
    body = problem_body(500, "Internal server error",
                        "Something went wrong on our side; nothing you did. Please try again.",
                        "/problems/internal-error", request.url.path, request_id=request_id)
    return problem_response(request, body, {"X-Request-ID": request_id} if request_id else None)
