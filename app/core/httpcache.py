"""HTTP caching for the public GETs of the JSON API (issue 16 item 3; RFC 9110 §8.8.3, §13.1.2;
RFC 9111 §5.2).

For the routes in RULES, a 200 answer gets a weak `ETag` (a digest of the body: any edit that
changes what is shown changes it) and `If-None-Match` with a matching tag is answered 304 with no
body. `Cache-Control` depends on who asks:

* anonymous (no `Authorization`, no `X-API-Key`, no forum cookie) and no `Set-Cookie` in the answer:
  `public, max-age=N, stale-while-revalidate=N` with N per route below: shared caches (a CDN in
  front of the site, the product site's proxy) may serve it;
* anyone with credentials: `private, no-cache` (the answer may hold their vote, staff-only
  questions): only their own browser keeps it, and revalidates it every time (a 304 is cheap).

`Vary: Authorization, X-API-Key, Cookie` is always sent, so no cache hands one caller's answer
to another; CORS adds `Vary: Origin` where it applies.

Lifetimes (seconds) — lists change often, single objects less, products rarely:
"""

from __future__ import annotations

import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RULES: list[tuple[re.Pattern, int]] = [
    (re.compile(r"^/api/v1/questions$"), 30),
    (re.compile(r"^/api/v1/questions/similar$"), 60),
    (re.compile(r"^/api/v1/questions/\d+$"), 60),
    (re.compile(r"^/api/v1/search$"), 60),
    (re.compile(r"^/api/v1/products$"), 300),
    (re.compile(r"^/api/v1/products/[^/]+$"), 300),
]
VARY = "Authorization, X-API-Key, Cookie"
SESSION_COOKIE = "gs_session"


def merge_vary(*values: str) -> str:
    """One Vary value from several (comma-separated) ones, each field name once, first spelling and
    order kept, compared case-insensitively (RFC 9110 section 12.5.5; `*` alone wins)."""
    seen: dict[str, str] = {}
    for value in values:
        for name in (value or "").split(","):
            name = name.strip()
            if name and name.lower() not in seen:
                seen[name.lower()] = name
    return "*" if "*" in seen else ", ".join(seen.values())


class VaryMerge:
    """Outermost ASGI middleware: the response's Vary header(s) become one, without duplicates
    (the session middleware, the API cache rules and CORS each add names of their own)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                vary = [v.decode("latin-1") for k, v in headers if k.lower() == b"vary"]
                if vary:
                    message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != b"vary"]
                               + [(b"vary", merge_vary(*vary).encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, wrapped)


def max_age_for(path: str) -> int | None:
    """The shared-cache lifetime of `path` in seconds, or None when it is not cacheable."""
    for pattern, seconds in RULES:
        if pattern.match(path):
            return seconds
    return None


def etag_for(body: bytes) -> str:
    """A weak entity tag for a body: W/"<32 hex digits of its SHA-256>"."""
    return 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2) of an If-None-Match value with `etag`."""
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == bare for t in if_none_match.split(","))


class HttpCache:
    """ASGI middleware applying the module's rules to GET requests of the listed API routes."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        max_age = max_age_for(scope.get("path", ""))
        if max_age is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        personal = ("authorization" in headers or "x-api-key" in headers
                    or SESSION_COOKIE + "=" in headers.get("cookie", ""))
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                await _finish()
                return
            await send(message)

        async def _finish() -> None:
            body = b"".join(chunks)
            status = start["status"]
            out = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"cache-control", b"etag")]
            if status != 200:
                await send({**start, "headers": out})
                await send({"type": "http.response.body", "body": body})
                return
            private = personal or any(k.lower() == b"set-cookie" for k, _ in out)
            tag = etag_for(body)
            control = "private, no-cache" if private else f"public, max-age={max_age}, stale-while-revalidate={max_age}"
            vary = [v.decode() for k, v in out if k.lower() == b"vary"]
            out = [(k, v) for k, v in out if k.lower() != b"vary"]
            out += [(b"etag", tag.encode()), (b"cache-control", control.encode()),
                    (b"vary", merge_vary(*vary, VARY).encode())]
            inm = headers.get("if-none-match")
            if inm and matches(inm, tag):
                kept = [(k, v) for k, v in out if k.lower() not in (b"content-length", b"content-type")]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": out})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
