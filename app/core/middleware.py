"""ASGI middleware: request-size limit (413), in-flight request limit (503) and security headers."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """A streamed body passed the limit while the app read it.

    An HTTPException, so that FastAPI's body parsing lets it through instead of answering 400
    ("error parsing the body"); app.core.problems turns it into the same 413 problem as below.
    """

    def __init__(self, max_bytes: int):
        super().__init__(413, too_large_detail(max_bytes))


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def too_large_detail(max_bytes: int) -> str:
    return f"The request body is larger than {max_bytes:,} bytes."


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, whether announced (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send, receive: Receive | None = None) -> None:
        """413 as problem+json; a browser posting a forum form gets the forum's error page instead
        (app.core.problems.wants_page), which tells the visitor that going back keeps what they
        typed."""
        from starlette.requests import Request

        from app.core.problems import problem_response, wants_page

        path = scope.get("path", "")
        body = {
            "type": "/problems/payload-too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": too_large_detail(self.max_bytes),
            "instance": path,
        }
        request = Request(scope)
        if wants_page(request):
            try:
                page = dict(body, detail=body["detail"] + " Go back in your browser: what you typed is still "
                                                          "in the form. Shorten it, or link to large files.")
                response = problem_response(request, page)
                await response(scope, receive or _no_body, send)
                return
            except Exception:  # noqa: BLE001 - the JSON answer below still tells the reason
                logging.getLogger("groundswell").exception("could not render the 413 page")
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


_CSP = ("default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """nosniff, referrer policy, no framing, CSP; and `hsts` (the Strict-Transport-Security value,
    RFC 6797) when given: Settings.hsts_header sets it in production only."""

    def __init__(self, app: ASGIApp, hsts: str | None = None):
        self.app = app
        self.hsts = hsts.encode() if hsts else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"strict-origin-when-cross-origin"),
                         (b"x-frame-options", b"DENY"),
                         (b"content-security-policy", _CSP.encode())]  # /docs too: its assets are ours
                if self.hsts:
                    extra.append((b"strict-transport-security", self.hsts))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _granted(turn: asyncio.Future) -> bool:
    return turn.done() and not turn.cancelled() and bool(turn.result())


class _Lane:
    """`limit` slots and a queue of at most `max_queue` requests, each waiting at most `timeout`
    seconds, served in arrival order (one asyncio event loop per process: no locking needed)."""

    def __init__(self, limit: int, max_queue: int, timeout: float):
        self.limit, self.max_queue, self.timeout = limit, max_queue, timeout
        self.active = 0
        self.waiters: deque[asyncio.Future] = deque()

    async def acquire(self) -> bool:
        """True once the request holds a slot; False when the queue is full or the wait expired."""
        if self.active < self.limit and not self.waiters:
            self.active += 1
            return True
        if len(self.waiters) >= self.max_queue:
            return False
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        self.waiters.append(turn)
        expiry = loop.call_later(self.timeout, lambda: turn.done() or turn.set_result(False))
        try:
            await turn  # True: a finishing request handed its slot over; False: the wait expired
        except asyncio.CancelledError:  # the client went away while waiting
            if _granted(turn):
                self.release()
            raise
        finally:
            expiry.cancel()
            if not _granted(turn):
                try:
                    self.waiters.remove(turn)
                except ValueError:
                    pass
        return _granted(turn)

    def release(self) -> None:
        while self.waiters:
            turn = self.waiters.popleft()
            if not turn.done():
                turn.set_result(True)  # the slot passes on; `active` stays the same
                return
        self.active -= 1


class InflightLimit:
    """At most `limit` reads (GET, HEAD, OPTIONS) and `limit` writes of this process are handled
    at once; the next ones wait in arrival order, at most `max_queue` of each kind and each at
    most `timeout` seconds, and are otherwise refused at once with a 503 problem and
    `Retry-After` (docs/operations.md, "Load and saturation").

    Why: sync endpoints run in anyio's thread pool and each holds a database connection; past
    the pool's size requests used to queue invisibly for 30 s and fail with a 500. Bounding the
    requests in flight to what the pool and thread pool can serve keeps every admitted request
    fast, and makes saturation a quick, explicit answer. Reads and writes queue separately, so
    that a burst of writers (which take turns on SQLite's write lock or a hot row) does not hold
    up pages and API reads. `exempt` path prefixes (liveness, static files) are never limited.
    Reads of `search_paths` (exact paths) have a lane of their own as well: a search may wait
    seconds on its backend (Meilisearch, the search process), and slow searches must not hold
    every read slot while pages and the API wait behind them.
    """

    def __init__(self, app: ASGIApp, limit: int, max_queue: int, timeout: float, retry_after: int = 2,
                 exempt: tuple[str, ...] = ("/healthz", "/static/"), search_paths: tuple[str, ...] = ()):
        self.app, self.retry_after, self.exempt = app, retry_after, exempt
        self.reads, self.writes = _Lane(limit, max_queue, timeout), _Lane(limit, max_queue, timeout)
        self.searches, self.search_paths = _Lane(limit, max_queue, timeout), frozenset(search_paths)
        self.refused = 0
        self._last_warning = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
            lane = self.writes
        else:
            lane = self.searches if scope.get("path") in self.search_paths else self.reads
        if not await lane.acquire():
            await self._refuse(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            lane.release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from app.core.errors import ServiceBusy
        from app.core.problems import problem_body, problem_response

        self.refused += 1
        now = time.monotonic()
        if now - self._last_warning > 10:
            self._last_warning = now
            logging.getLogger("groundswell").warning(
                "saturated: %d reads, %d searches and %d writes in flight, %d, %d and %d waiting; "
                "%d refused with 503 so far", self.reads.active, self.searches.active, self.writes.active,
                len(self.reads.waiters), len(self.searches.waiters), len(self.writes.waiters), self.refused)
        busy = ServiceBusy(retry_after=self.retry_after)
        request = Request(scope, receive)
        body = problem_body(busy.status, busy.title, busy.detail, busy.type, scope.get("path"),
                            retry_after=busy.retry_after)
        response = problem_response(request, body, busy.headers)
        await response(scope, receive, send)


class HeadAsGet:
    """Answer HEAD wherever GET is answered (RFC 9110 §9.3.2): the request goes on as a GET, and
    the response keeps its status and headers (Content-Length included: the GET body's length)
    but not its body. FastAPI registers GET routes without HEAD, so crawlers' and uptime checks'
    HEAD requests got 405; doing it here covers every page, API read, health check, static file
    and /docs at once. A path without GET answers HEAD as it answers GET (405, with `Allow`)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the server's own scope keeps saying HEAD (uvicorn then sends no body either).
        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
