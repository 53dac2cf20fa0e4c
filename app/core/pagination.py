"""Opaque cursors for keyset pagination: stable while new rows arrive."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.core.errors import field_error

T = TypeVar("T")
MAX_LIMIT = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query") from None
    if not isinstance(values, list) or len(values) != arity:
        raise field_error("cursor", "The cursor is not valid for this list; start again from the first page.", "query")
    return values


def clamp_limit(limit: int | None, default: int = 20) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > MAX_LIMIT:
        raise field_error("limit", f"limit must be between 1 and {MAX_LIMIT}.", "query")
    return limit
