"""Text must arrive as UTF-8: a request whose path, query, form or JSON carries bytes that are
not UTF-8 is refused with 422 (a problem under /api/, the error page on the forum) before any
route sees it.

Starlette decodes query strings and form fields with errors="replace", so such bytes would
otherwise be stored as U+FFFD (the customer's text silently changed); JSON that is not UTF-8
was a 400 "malformed", and a JSON escape for a lone surrogate ("\\ud800") cannot be stored in
PostgreSQL at all. Percent-escapes are decoded to bytes first, so "%FF" counts as the byte it is.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MSG = "Text must be UTF-8; this contains bytes that are not (nothing was saved)."
# A JSON escape of half a UTF-16 pair ("\\ud800" with no "\\udc00" after it) is valid JSON syntax
# but no character at all: said as what it is, at the field that holds it.
SURROGATE_MSG = ("Text must be whole characters; this holds a lone surrogate escape (\\ud800–\\udfff without "
                 "its pair), half of a character (nothing was saved).")


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def bad_urlencoded(raw: bytes) -> str | None:
    """The name of the first `a=b&c=d` field (name or value) that is not UTF-8 once percent-decoded."""
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        decoded_name = unquote_to_bytes(name.replace(b"+", b" "))
        if _not_utf8(decoded_name) or _not_utf8(unquote_to_bytes(value.replace(b"+", b" "))):
            return decoded_name.decode("utf-8", "replace")
    return None


def bad_multipart(raw: bytes, content_type: str) -> str | None:
    """The name of the first text field (a part without a filename) that is not UTF-8, or of a
    part whose name or filename is not; uploaded files' contents are not text and not checked."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        return None  # Starlette answers a multipart body without a boundary itself
    found: list[str] = []
    part: dict[str, Any] = {}
    header = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][header["field"].lower()] = header["value"]
        header["field"] = header["value"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["data"] += data[start:end]

    def on_part_end() -> None:
        disposition = part["headers"].get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"")
        text_field = b"filename" not in options
        if _not_utf8(disposition) or (text_field and _not_utf8(bytes(part["data"]))):
            found.append(name.decode("utf-8", "replace"))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        parser.write(raw)
        parser.finalize()
    except Exception:  # noqa: BLE001 - a broken multipart body is Starlette's to report (400)
        return None
    return found[0] if found else None


def _lone_surrogate_at(value: Any, loc: list) -> list | None:
    """The JSON path (keys and list indexes after `loc`) of the first string, or object key, that
    holds a lone surrogate; None when there is none."""
    if isinstance(value, str):
        return loc if _not_utf8_str(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            if _not_utf8_str(k):
                return loc
            found = _lone_surrogate_at(v, [*loc, k])
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _lone_surrogate_at(v, [*loc, i])
            if found is not None:
                return found
    return None


def _not_utf8_str(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def bad_json(raw: bytes) -> tuple[list, str] | None:
    """(loc, message) when the JSON text is not UTF-8 (`["body"]`: bytes have no field) or escapes
    a lone surrogate ("\\ud800": the field holding it, e.g. `["body", "tags", 0]`); else None."""
    if _not_utf8(raw):
        return ["body"], MSG
    lowered = raw.lower()
    if b"\\ud8" in lowered or b"\\ud9" in lowered or b"\\uda" in lowered or b"\\udb" in lowered \
            or b"\\udc" in lowered or b"\\udd" in lowered or b"\\ude" in lowered or b"\\udf" in lowered:
        try:
            where = _lone_surrogate_at(json.loads(raw), ["body"])
        except ValueError:
            return None  # malformed JSON is FastAPI's to report (400)
        return None if where is None else (where, SURROGATE_MSG)
    return None


def problem_location(scope: Scope, body: bytes | None) -> tuple[list, str] | None:
    """Where the request carries text that is not UTF-8 (a problem's `loc`) and what is wrong
    there (MSG, or SURROGATE_MSG for a JSON lone surrogate escape), or None."""
    raw_path = scope.get("raw_path")
    if raw_path is not None and _not_utf8(unquote_to_bytes(raw_path)):
        return ["path"], MSG
    name = bad_urlencoded(scope.get("query_string") or b"")
    if name is not None:
        return ["query", name], MSG
    if body is None:
        return None
    ctype = _content_type(scope)
    lowered = ctype.lower()
    if lowered.startswith("application/x-www-form-urlencoded"):
        name = bad_urlencoded(body)
    elif lowered.startswith("multipart/form-data"):
        name = bad_multipart(body, ctype)
    elif lowered.startswith("application/json") or "+json" in lowered.split(";")[0]:
        return bad_json(body)
    else:
        return None
    return None if name is None else (["body", name], MSG)


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers") or []:
        if key == b"content-type":
            return value.decode("latin-1")
    return ""


def _checks_body(scope: Scope) -> bool:
    ctype = _content_type(scope).lower()
    return scope.get("method") in BODY_METHODS and (
        ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data", "application/json"))
        or "+json" in ctype.split(";")[0])


class RequireUtf8:
    """ASGI middleware: 422 for text that is not UTF-8 (see the module docstring). Bodies of the
    checked types are read in full (BodySizeLimit, outside it, bounds them) and passed on as read."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: bytes | None = None
        if _checks_body(scope):
            chunks = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    await self.app(scope, _replay([message], receive), send)  # the client went away
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        found = problem_location(scope, body)
        if found is not None:
            await self._refuse(scope, receive, send, *found)
            return
        if body is None:
            await self.app(scope, receive, send)
        else:
            await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, where: list, msg: str) -> None:
        from app.core.problems import problem_body, problem_response

        request = Request(scope, receive)
        place = ".".join(str(p) for p in where[1:]) or where[0]
        body = problem_body(422, "Invalid input", f"{place}: {msg}", "/problems/invalid-input", scope.get("path"),
                            errors=[{"loc": where, "msg": msg, "type": "unicode_error"}])
        response = problem_response(request, body)
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
