"""Jinja2 environment: autoescaped templates, a few display filters, no logic.

A context processor gives every page (the error page rendered by app.core.problems included)
what the layout needs: the signed-in viewer, the CSRF token, the flash message and settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined, Undefined

from app.core.paths import templates_dir
from app.questions.tags import tag_path


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


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def longdate(value: datetime | None) -> str:
    """"05 Mar 2026 at 14:07 UTC" (the value's own clock: every stored time is UTC); "" for None.

    Formatted by hand, not with strftime("%d %b %Y at %H:%M UTC"), which gives the same text (the
    C locale's month names, years as written: 353, 2026) in twice the time (1.6 µs against 0.8 µs
    a call, timeit on the 2-vCPU bench machine); a question page formats a dozen, and strftime
    showed as 3% of its profile under load (issue 11, py-spy)."""
    if not value:
        return ""
    return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year} at {value.hour:02d}:{value.minute:02d} UTC"


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural_word or word + 's')}"


def signed(n: int) -> str:
    """A score as people read it: +3, 0, −2 (a real minus sign)."""
    return f"+{n}" if n > 0 else (f"\u2212{-n}" if n < 0 else "0")


def duration(seconds: float | None) -> str:
    """A span as people read it: "45 min", "3 h 20 min", "2 d 4 h"; an em dash for none."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def until(value: datetime | None, now: datetime | None = None) -> str:
    """A deadline from now: "in 3 h", "2 h 10 min overdue"."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = (value - (now or datetime.now(UTC))).total_seconds()
    return f"in {duration(seconds)}" if seconds >= 0 else f"{duration(-seconds)} overdue"


def due(value: datetime | None, now: datetime | None = None) -> str:
    """A deadline as a sentence: "due in 3 h" or "overdue by 2 h 10 min" (never "due … overdue")."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = (value - (now or datetime.now(UTC))).total_seconds()
    return f"due in {duration(seconds)}" if seconds >= 0 else f"overdue by {duration(-seconds)}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def layout_context(request: Request) -> dict[str, Any]:
    """Keys every template may use; routes never pass these themselves."""
    from app.web.deps import csrf_token, layout_nav, pop_flash, viewer_view

    settings = request.app.state.settings
    return {
        "viewer": viewer_view(request),
        "csrf_token": csrf_token(request),
        "flash": pop_flash(request),
        "site_name": settings.site_name,
        "base_url": settings.base_url.rstrip("/"),
        "current_path": request.url.path,
        "nav": layout_nav(request),
    }


def make_templates(strict: bool = False) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(templates_dir()), context_processors=[layout_context])
    env = templates.env
    # Compiled once per process: no stat() of the template files on every render (a changed
    # template needs a restart).
    env.auto_reload = False
    # A plain dict instead of Jinja2's LRU cache (cache_size=-1 does the same at construction):
    # every template fits, and a lookup (each render, each include) takes no lock and does no
    # O(n) reordering; under 16 concurrent renders the LRU's lookups were 2.5% of the question
    # page's profile (issue 11).
    env.cache = {}
    env.undefined = StrictUndefined if strict else Undefined
    env.autoescape = True
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters.update(timeago=timeago, isodate=isodate, longdate=longdate, plural=plural, signed=signed,
                       duration=duration, until=until, due=due, percent=percent, tag_url=tag_path)
    from app.moderation.policy import FLAG_REASONS

    env.globals["flag_reasons"] = FLAG_REASONS
    return templates
