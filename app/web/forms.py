"""Web forms are validated by the same pydantic schemas as the API; this turns their errors
(and the services' InvalidInput) into one plain message per field."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from app.core.errors import Conflict, DomainError, InvalidInput
from app.questions import schemas as qs


def split_tags(text: str | None) -> list[str]:
    """The tags box takes commas or spaces."""
    return [t for t in re.split(r"[,\s]+", text or "") if t]


def _friendly(error: dict[str, Any]) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return "This field is required."
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "This field is required." if n == 1 else f"Use at least {n} characters."
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    if kind == "too_long":
        return f"Use at most {qs.TAGS_MAX} tags."
    if kind in ("int_parsing", "literal_error"):
        return "Choose one of the offered values."
    msg = str(error.get("msg", "This value is not valid."))
    msg = msg.removeprefix("Value error, ")
    msg = msg[:1].upper() + msg[1:]
    return msg if msg.endswith((".", "!", "?")) else msg + "."


def field_errors(exc: Exception, fields: tuple[str, ...] = ()) -> dict[str, str]:
    """{field: message}; problems that belong to no known field go under "form"."""
    out: dict[str, str] = {}

    def put(field: str, message: str) -> None:
        key = field if (not fields or field in fields) else "form"
        out.setdefault(key, message)

    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            put(loc[0] if loc else "form", _friendly(e))
    elif isinstance(exc, InvalidInput) and exc.errors:
        for e in exc.errors:
            loc = [str(p) for p in e.get("loc", ()) if p != "body"]
            put(loc[0] if loc else "form", str(e.get("msg") or exc.detail))
    elif isinstance(exc, Conflict) and "username" in exc.detail.lower() and "username" in fields:
        put("username", exc.detail)
    elif isinstance(exc, Conflict) and "email" in exc.detail.lower() and "email" in fields:
        put("email", exc.detail)
    elif isinstance(exc, DomainError):
        out["form"] = exc.detail
    else:  # pragma: no cover - callers pass only the two kinds above
        out["form"] = str(exc)
    return out


LIMITS = {
    "title": f"{qs.TITLE_MIN}–{qs.TITLE_MAX} characters. Say what goes wrong, e.g. “Wi-Fi drops after the 2.3 update”.",
    "body": (f"{qs.BODY_MIN}–{qs.BODY_MAX:,} characters. Markdown works: **bold**, `code`, "
             "``` for code blocks, - for lists."),
    "answer": (f"{qs.ANSWER_MIN}–{qs.ANSWER_MAX:,} characters. Markdown works: **bold**, `code`, "
               "``` for code blocks, - for lists."),
    "tags": (f"Up to {qs.TAGS_MAX} tags, separated by commas or spaces, e.g. “wifi drivers”: letters of any "
             "language, digits, and # + . - as in “c#”, “.net”, “usb-c”."),
    "comment": f"{qs.COMMENT_MIN}–{qs.COMMENT_MAX} characters. Ask for details or suggest an improvement.",
    "summary": "Optional, up to 300 characters: what you changed and why. Shown on the revisions page.",
}
