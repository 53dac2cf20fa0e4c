"""Jinja2 environment: autoescaped templates, a few display filters, no logic."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined, Undefined

from app.core.paths import templates_dir


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 60:
        return "just now"
    for span, name in ((31536000, "year"), (2592000, "month"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= span:
            n = seconds // span
            return f"{n} {name}{'s' if n != 1 else ''} ago"
    return "just now"


def isodate(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def longdate(value: datetime | None) -> str:
    return value.strftime("%d %b %Y at %H:%M UTC") if value else ""


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural_word or word + 's')}"


def make_templates(strict: bool = False) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(templates_dir()))
    env = templates.env
    env.undefined = StrictUndefined if strict else Undefined
    env.autoescape = True
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters.update(timeago=timeago, isodate=isodate, longdate=longdate, plural=plural)
    return templates
