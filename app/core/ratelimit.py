"""In-process rate limits (sliding window per key).

One process's memory holds the counters: with several workers each enforces its own share.
`GROUNDSWELL_RATE_LIMITS=off` turns every limit off (benchmarks and load tests only).

Refused attempts are not held against a person: a write that ends in 422 (invalid input) or 409
(conflict) wrote nothing, so `RefundRefusedAttempts` gives its hits back (a customer who picks a
reserved name or a weak password a few times can still sign up). Sign-in attempts always count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int
    what: str  # said to the user: "sign-in attempts", "new questions"…


# The documented limits (docs/operations.md, "Rate limits").
LIMITS: dict[str, Limit] = {
    # Keyed on the client address and the normalised identity tried (accounts.service.sign_in_key).
    "sign-in": Limit(10, 300, "sign-in attempts"),
    # Password spraying (one password over many accounts): failed sign-ins from one address may
    # name at most this many different accounts (counted with hit_distinct, checked by check_distinct).
    "sign-in-accounts": Limit(20, 3600, "sign-in attempts on different accounts"),
    "sign-up": Limit(5, 3600, "sign-ups"),
    # Password-reset, verification and change-of-address requests per client address (app/api/mail.py);
    # the mail itself is also limited per address and account (app/mail/outbox.py MAIL_LIMITS).
    "mail-request": Limit(10, 3600, "e-mail requests"),
    "question": Limit(10, 3600, "new questions"),
    "write": Limit(60, 600, "posts, edits and comments"),
    "vote": Limit(60, 600, "votes"),
    "preview": Limit(300, 600, "Markdown previews"),  # the ask form previews as one types (debounced)
}


# Scopes whose hits are given back when the request is refused as invalid or conflicting; never
# "sign-in" (a wrong password must count) nor the spraying limit.
REFUNDABLE_SCOPES = frozenset({"sign-up", "question", "write", "vote"})
REFUNDED_STATUSES = frozenset({409, 422})

# The hits of the request being handled: (limiter, scope, key, time), set by RefundRefusedAttempts.
# Sync endpoints run in a worker thread with a copy of this context: they append to the same list.
_request_hits: ContextVar[list | None] = ContextVar("groundswell_request_hits", default=None)


class RateLimiter:
    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.monotonic):
        self.enabled = enabled
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._seen: dict[tuple[str, str], dict[str, float]] = {}
        self._lock = threading.Lock()

    def hit(self, scope: str, key: str) -> None:
        """Count one attempt; raise RateLimited (429, Retry-After) when the window is full."""
        if not self.enabled:
            return
        limit = LIMITS[scope]
        now = self._clock()
        with self._lock:
            window = self._hits.setdefault((scope, key), deque())
            while window and window[0] <= now - limit.seconds:
                window.popleft()
            if len(window) >= limit.count:
                retry = math.ceil(window[0] + limit.seconds - now)
                raise RateLimited(
                    f"Too many {limit.what}: at most {limit.count} per {_span(limit.seconds)}. "
                    f"Try again in {retry} seconds.",
                    retry_after=retry,
                )
            window.append(now)
            hits = _request_hits.get()
            if hits is not None and scope in REFUNDABLE_SCOPES:
                hits.append((self, scope, key, now))
            if len(self._hits) > 100_000:  # bound memory: forget idle keys
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - LIMITS[k[0]].seconds]:
                    del self._hits[k]

    def refund(self, scope: str, key: str, at: float) -> None:
        """Forget the hit counted at `at` for (`scope`, `key`), if it is still in the window."""
        with self._lock:
            window = self._hits.get((scope, key))
            if window is not None:
                try:
                    window.remove(at)
                except ValueError:
                    pass

    def check_distinct(self, scope: str, key: str, value: str) -> None:
        """Raise RateLimited when `key` (an address) has already named `LIMITS[scope].count`
        different values (identities) within the window and `value` is not one of them."""
        if not self.enabled:
            return
        limit = LIMITS[scope]
        now = self._clock()
        with self._lock:
            seen = self._fresh(scope, key, now, limit)
            if value not in seen and len(seen) >= limit.count:
                retry = math.ceil(min(seen.values()) + limit.seconds - now)
                raise RateLimited(
                    f"Too many {limit.what} from your address: at most {limit.count} per {_span(limit.seconds)}. "
                    f"Try again in {retry} seconds.",
                    retry_after=retry,
                )

    def hit_distinct(self, scope: str, key: str, value: str) -> None:
        """Count `value` (e.g. the account of a failed sign-in) as named by `key` now."""
        if not self.enabled:
            return
        limit = LIMITS[scope]
        now = self._clock()
        with self._lock:
            self._fresh(scope, key, now, limit)[value] = now
            if len(self._seen) > 100_000:  # bound memory: forget idle keys
                for k in [k for k, v in self._seen.items() if not v or max(v.values()) <= now - LIMITS[k[0]].seconds]:
                    del self._seen[k]

    def _fresh(self, scope: str, key: str, now: float, limit: Limit) -> dict[str, float]:
        seen = self._seen.setdefault((scope, key), {})
        for old in [v for v, at in seen.items() if at <= now - limit.seconds]:
            del seen[old]
        return seen

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
            self._seen.clear()


class RefundRefusedAttempts:
    """ASGI middleware: a request answered 409 or 422 gives back the rate-limit hits it counted in
    REFUNDABLE_SCOPES (nothing was written; the person may correct the input and try again)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        hits: list = []
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = _request_hits.set(hits)
        try:
            await self.app(scope, receive, send_status)
        finally:
            _request_hits.reset(token)
            if status in REFUNDED_STATUSES:
                for limiter, limit_scope, key, at in hits:
                    limiter.refund(limit_scope, key, at)


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        h = seconds // 3600
        return "hour" if h == 1 else f"{h} hours"
    m = seconds // 60
    return "minute" if m == 1 else f"{m} minutes"
