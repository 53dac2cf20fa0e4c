"""Cross-origin calls from product sites to the JSON API (and nowhere else).

Starlette's CORSMiddleware, narrowed to what Groundswell promises in docs/api.md ("Calling from a
product page"):

- only `/api/` paths take part: the forum's pages, forms and static files never answer a
  cross-origin script, whatever the origin list says;
- an origin that is not listed gets no `Access-Control-*` header at all (Starlette sends
  `Access-Control-Expose-Headers` to every origin), only `Vary: Origin` so a shared cache keeps
  the listed origins' answers apart;
- a refused preflight is a problem+json 403 that says what was refused (origin, method or a
  header), not Starlette's plain-text 400.

The methods and request headers allowed are every one the API answers or reads
(`CORS_ALLOW_METHODS`, `CORS_ALLOW_HEADERS`); tests/api/test_cors.py checks each against the
routes, so a new method or conditional header cannot be forgotten here again.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.problems import PROBLEM, problem_body

API_PREFIX = "/api/"

# Every method some /api/v1 route answers (GET also answers HEAD, which is CORS-safelisted).
CORS_ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

# Every request header a product page's script may need to set: credentials (a bearer token or
# an API key), a JSON body, a conditional GET with the ETag it was given (`If-None-Match`,
# app/core/httpcache.py) and its own request id for support (`X-Request-ID`, app/core/logs.py).
CORS_ALLOW_HEADERS = ("Authorization", "X-API-Key", "Content-Type", "If-None-Match", "X-Request-ID")


class ApiCors(CORSMiddleware):
    """CORS for `/api/` paths and listed origins only (module docstring).

    `allow_origins` is the exact list of origins (scheme://host[:port], no trailing slash), from
    `GROUNDSWELL_CORS_ORIGINS`; credentials (cookies) are never allowed cross-origin. Preflight
    answers are cached by browsers for `max_age` seconds."""

    def __init__(self, app: ASGIApp, *, allow_origins: Sequence[str], expose_headers: Sequence[str],
                 max_age: int = 600) -> None:
        super().__init__(app, allow_origins=allow_origins, allow_credentials=False,
                         allow_methods=CORS_ALLOW_METHODS, allow_headers=CORS_ALLOW_HEADERS,
                         expose_headers=expose_headers, max_age=max_age)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers):
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        refused = answer.body.decode().removeprefix("Disallowed CORS ").split(", ")
        what = {"origin": f"the origin {request_headers['origin']!r} is not one of GROUNDSWELL_CORS_ORIGINS",
                "method": f"the method {request_headers['access-control-request-method']!r} is not one the API "
                          f"answers ({', '.join(CORS_ALLOW_METHODS)})",
                "headers": "a requested header is not one the API reads cross-origin "
                           f"({', '.join(CORS_ALLOW_HEADERS)})",
                "private-network": "private-network access is not offered"}
        detail = "Cross-origin call refused: " + "; ".join(what.get(r, r) for r in refused) + "."
        headers = {k: v for k, v in answer.headers.items()  # the Vary only: nothing is granted
                   if k.lower() == "vary"}
        return JSONResponse(problem_body(403, "Cross-origin call refused", detail), status_code=403,
                            media_type=PROBLEM, headers=headers)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if message["type"] == "http.response.start" and origin is not None and not self.is_allowed_origin(origin):
            headers = MutableHeaders(scope=message)
            headers.add_vary_header("Origin")
            await send(message)
            return
        await super().send(message, send, request_headers)
