"""Rate limits, shared by every server process through the `limits` library.

Storage: Redis when `GROUNDSWELL_REDIS_URL` is set (every process and machine counts in the same
place, so the total holds however many workers serve), else this process's memory (each process
enforces its own share, as before). The strategy is the fixed window of `limits`
(https://limits.readthedocs.io/en/stable/strategies.html#fixed-window): one counter per
(limit, key) that expires at the end of its window; Redis does each count in one Lua script.
`GROUNDSWELL_RATE_LIMITS=off` turns every limit off (benchmarks and load tests only).

If Redis does not answer, requests are let through (fail open) and a warning is logged: a limit
that cannot be counted must not take the whole site down.

Refused attempts are not held against a person: a write that ends in 422 (invalid input) or 409
(conflict) wrote nothing, so `RefundRefusedAttempts` gives its hits back (a customer who picks a
reserved name or a weak password a few times can still sign up). Sign-in attempts always count.
A request refused with 429 does not count either.

Every API response carries the limit that applies to its caller (key, user or address) in the
headers of draft-ietf-httpapi-ratelimit-headers-07: `RateLimit-Limit`, `RateLimit-Remaining`,
`RateLimit-Reset` (seconds until the window ends) and `RateLimit-Policy` (`N;w=SECONDS`);
`RateLimitHeaders` writes them from what `hit` returned.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import RateLimited

log = logging.getLogger("groundswell.ratelimit")


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int
    what: str  # said to the user: "sign-in attempts", "new questions"…


@dataclass(frozen=True)
class Usage:
    """What a hit left: the limit, the hits left in the window, seconds until it resets."""

    limit: Limit
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        """The draft-07 RateLimit-* fields for this usage."""
        return {
            "RateLimit-Limit": str(self.limit.count),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(max(0, self.reset)),
            "RateLimit-Policy": f"{self.limit.count};w={self.limit.seconds}",
        }


# The documented limits (docs/operations.md, "Rate limits"; docs/product-sites.md for the API ones).
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
    # Every API request counts against one of these, by who asks (app/accounts/deps.py): an API key
    # against its own limit (ApiKey.rate_limit per minute, this one when unset), a signed-in user,
    # or, anonymously, the client's address.
    "api-key": Limit(600, 60, "API requests with this key"),
    "api-user": Limit(600, 60, "API requests"),
    "api-address": Limit(300, 60, "API requests from your address"),
}


# Scopes whose hits are given back when the request is refused as invalid or conflicting; never
# "sign-in" (a wrong password must count) nor the spraying limit.
REFUNDABLE_SCOPES = frozenset({"sign-up", "question", "write", "vote"})
REFUNDED_STATUSES = frozenset({409, 422})

# The hits of the request being handled: (limiter, scope, key, limit), set by RefundRefusedAttempts.
# Sync endpoints run in a worker thread with a copy of this context: they append to the same list.
_request_hits: ContextVar[list | None] = ContextVar("groundswell_request_hits", default=None)


def _item(limit: Limit) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(limit.count, limit.seconds)


class RateLimiter:
    """Counts hits per (scope, key) in `storage_url` ("redis://…", or memory when None).

    `prefix` namespaces the keys in a shared Redis (tests use their own). `clock` returns epoch
    seconds; it is only used to turn the storage's reset times into delays."""

    def __init__(self, enabled: bool = True, storage_url: str | None = None, *, prefix: str = "groundswell",
                 clock: Callable[[], float] = time.time):
        self.enabled = enabled
        self._clock = clock
        if storage_url:
            self.storage = storage_from_string(storage_url, key_prefix=prefix)
        else:
            self.storage = MemoryStorage()
        self.shared = bool(storage_url)
        self._strategy = FixedWindowRateLimiter(self.storage)

    def hit(self, scope: str, key: str, limit: Limit | None = None) -> Usage | None:
        """Count one attempt against LIMITS[scope] (or `limit`) for `key`; return the usage left.

        Raises RateLimited (429, Retry-After and the RateLimit-* headers) when the window is full;
        the refused attempt is not counted. Returns None when limits are off or the storage fails."""
        if not self.enabled:
            return None
        limit = limit or LIMITS[scope]
        item = _item(limit)
        try:
            allowed = self._strategy.hit(item, scope, key)
            if not allowed:
                self.storage.incr(item.key_for(scope, key), item.get_expiry(), amount=-1)
            reset_at, remaining = self._strategy.get_window_stats(item, scope, key)
        except Exception as exc:  # noqa: BLE001 - Redis down: fail open, say so
            log.warning("rate limit storage unavailable, request let through: %s", exc)
            return None
        usage = Usage(limit, remaining, max(0, math.ceil(reset_at - self._clock())))
        if not allowed:
            retry = max(1, usage.reset)
            raise RateLimited(
                f"Too many {limit.what}: at most {limit.count} per {_span(limit.seconds)}. "
                f"Try again in {retry} seconds.",
                retry_after=retry, headers=usage.headers(),
            )
        hits = _request_hits.get()
        if hits is not None and scope in REFUNDABLE_SCOPES:
            hits.append((self, scope, key, limit))
        return usage

    def refund(self, scope: str, key: str, limit: Limit | None = None) -> None:
        """Give back one hit counted for (`scope`, `key`) in the current window."""
        item = _item(limit or LIMITS[scope])
        try:
            if self.storage.get(item.key_for(scope, key)) > 0:
                self.storage.incr(item.key_for(scope, key), item.get_expiry(), amount=-1)
        except Exception as exc:  # noqa: BLE001
            log.warning("rate limit storage unavailable, refund lost: %s", exc)

    def check_distinct(self, scope: str, key: str, value: str) -> None:
        """Raise RateLimited when `key` (an address) has already named `LIMITS[scope].count`
        different values (identities) within the window and `value` is not one of them."""
        if not self.enabled:
            return
        limit = LIMITS[scope]
        counter, seen = _item(limit), _item(Limit(1, limit.seconds, ""))
        try:
            if not self._strategy.test(seen, scope + ":seen", key, value):
                return  # already named: no new account
            if self._strategy.test(counter, scope, key):
                return
            reset_at, _ = self._strategy.get_window_stats(counter, scope, key)
        except Exception as exc:  # noqa: BLE001
            log.warning("rate limit storage unavailable, request let through: %s", exc)
            return
        retry = max(1, math.ceil(reset_at - self._clock()))
        raise RateLimited(
            f"Too many {limit.what} from your address: at most {limit.count} per {_span(limit.seconds)}. "
            f"Try again in {retry} seconds.",
            retry_after=retry,
        )

    def hit_distinct(self, scope: str, key: str, value: str) -> None:
        """Count `value` (e.g. the account of a failed sign-in) as named by `key` now; a value
        already named in the window is not counted twice."""
        if not self.enabled:
            return
        limit = LIMITS[scope]
        try:
            if self._strategy.hit(_item(Limit(1, limit.seconds, "")), scope + ":seen", key, value):
                self._strategy.hit(_item(limit), scope, key)
        except Exception as exc:  # noqa: BLE001
            log.warning("rate limit storage unavailable, not counted: %s", exc)

    def reset(self) -> None:
        """Forget every count (tests; on Redis, only the keys under this limiter's prefix)."""
        self.storage.reset()


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
                for limiter, limit_scope, key, limit in hits:
                    limiter.refund(limit_scope, key, limit)


class RateLimitHeaders:
    """ASGI middleware: API responses (paths under /api/) carry the RateLimit-* headers of the
    usage the request's authentication recorded in `request.state.rate_limit` (a Usage)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                usage = (scope.get("state") or {}).get("rate_limit")
                if isinstance(usage, Usage):
                    names = {k.lower() for k, _ in message.get("headers", [])}
                    extra = [(k.lower().encode(), v.encode()) for k, v in usage.headers().items()
                             if k.lower().encode() not in names]
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        h = seconds // 3600
        return "hour" if h == 1 else f"{h} hours"
    m = seconds // 60
    return "minute" if m == 1 else f"{m} minutes"
