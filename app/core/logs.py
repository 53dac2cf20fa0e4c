"""Logs: one logfmt line per record on stderr, one access line per request, a request id.

Format (docs/operations.md, "Logs"): logfmt (key=value pairs separated by spaces, values with
spaces, quotes or `=` in double quotes, as read by Loki, Vector, Heroku and `hl`), e.g.

    time=2026-11-30T10:54:15.123Z level=info logger=groundswell.access msg=request method=GET
    path=/questions/7 status=200 duration_ms=3.1 request_id=4bf92f3577b34da6 client=203.0.113.9 user_id=12

(one line). Every record logged while a request is handled carries its `request_id`, taken
from the request context (a contextvar, which follows the request into the thread pool).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("groundswell.access")

LEVELS = ("debug", "info", "warning", "error")

# The request being handled: {"request_id": str, "user_id": int (once known)}.
_request: ContextVar[dict[str, Any] | None] = ContextVar("groundswell_request", default=None)

# An incoming X-Request-ID is kept only in this shape: no spaces or quotes (one logfmt token), at
# most 128 characters (a UUID, a trace id, an nginx $request_id, base64 ids all fit).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def current_request_id() -> str | None:
    """The id of the request this code runs for, or None outside a request."""
    ctx = _request.get()
    return ctx["request_id"] if ctx else None


def note_user(user_id: int | None) -> None:
    """Record the signed-in user for the request's access line (called where the user is
    resolved: app/accounts/deps.py). Outside a request, nothing happens."""
    ctx = _request.get()
    if ctx is not None and user_id is not None:
        ctx["user_id"] = user_id


def _value(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and not any(c in text for c in ' "=\\\n\r\t'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """`time level logger msg`, then the record's `fields` (extra={"fields": {...}}), then its
    `request_id` (extra, or the current request's), then `exc` (the traceback, escaped onto the
    same line so that a log shipper keeps it with its record)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        pairs: dict[str, Any] = {"time": stamp, "level": record.levelname.lower(), "logger": record.name,
                                 "msg": record.getMessage()}
        pairs.update(getattr(record, "fields", None) or {})
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id and "request_id" not in pairs:
            pairs["request_id"] = request_id
        if record.exc_info:
            pairs["exc"] = self.formatException(record.exc_info)
        return " ".join(f"{key}={_value(value)}" for key, value in pairs.items())


def logging_config(level: str) -> dict[str, Any]:
    """A logging.config.dictConfig dict: every record as one logfmt line on stderr; Groundswell's
    loggers (`groundswell.*`) at `level` (debug, info, warning, error: GROUNDSWELL_LOG_LEVEL),
    other libraries at warning (httpx logs each request at info) or `level` if higher.
    `groundswell serve` hands it to uvicorn, which applies it in every worker process."""
    name = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"logfmt": {"()": LogfmtFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "logfmt", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": max(logging.WARNING, logging.getLevelName(name))},
        "loggers": {"groundswell": {"level": name}},
    }


class RequestLog:
    """One access line per request on `groundswell.access` at info, once the response is done:
    method, path (never the query string: search terms and tokens stay out of the logs),
    status, duration_ms, request_id, client and user_id (when signed in).

    The request id is the incoming `X-Request-ID` when the peer is one of `trusted_proxies` (the
    networks of GROUNDSWELL_TRUSTED_PROXIES) and the id is well formed (REQUEST_ID), else a new
    random one; it is answered in `X-Request-ID`. Must be the outermost middleware: it judges the
    direct peer, and reads `client` afterwards, as uvicorn's ProxyHeadersMiddleware (inside it)
    has resolved it in the same scope. An exception that escapes is logged as status 500 and the
    request context is left in place for the app's 500 handler (which runs outside every
    middleware, app/core/problems.py) to quote the same id.
    """

    def __init__(self, app: ASGIApp, trusted_proxies: list[str] | None = None):
        self.app = app
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies or []]

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.trusted:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:  # a unix socket or a test client's name
            return False
        return any(address in network for network in self.trusted)

    def _request_id(self, scope: Scope) -> str:
        if self._from_trusted_proxy(scope):
            for name, value in scope.get("headers") or []:
                if name == b"x-request-id":
                    incoming = value.decode("latin-1").strip()
                    if REQUEST_ID.fullmatch(incoming):
                        return incoming
                    break
        return uuid.uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        ctx: dict[str, Any] = {"request_id": self._request_id(scope)}
        token = _request.set(ctx)
        header = (b"x-request-id", ctx["request_id"].encode())
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        failed: BaseException | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            failed = exc
            raise
        finally:
            if status is None and isinstance(failed, Exception):
                status = 500  # answered by the 500 handler outside: app/core/problems.py
            client = scope.get("client")
            fields = {"method": scope.get("method"), "path": scope.get("path"), "status": status,
                      "duration_ms": round((time.perf_counter() - started) * 1000, 1), "pid": os.getpid(),
                      "request_id": ctx["request_id"], "client": client[0] if client else None}
            if "user_id" in ctx:
                fields["user_id"] = ctx["user_id"]
            access_log.info("request", extra={"fields": fields})
            if failed is None:
                _request.reset(token)
