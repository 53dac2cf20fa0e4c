"""In-process rate limits (sliding window per key).

One process's memory holds the counters: with several workers each enforces its own share.
`GROUNDSWELL_RATE_LIMITS=off` turns every limit off (benchmarks and load tests only).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from app.core.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int
    what: str  # said to the user: "sign-in attempts", "new questions"…


# The documented limits (docs/operations.md, "Rate limits").
LIMITS: dict[str, Limit] = {
    "sign-in": Limit(10, 300, "sign-in attempts"),
    "sign-up": Limit(5, 3600, "sign-ups"),
    "question": Limit(10, 3600, "new questions"),
    "write": Limit(60, 600, "posts, edits and comments"),
    "vote": Limit(60, 600, "votes"),
}


class RateLimiter:
    def __init__(self, enabled: bool = True, clock: Callable[[], float] = time.monotonic):
        self.enabled = enabled
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
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
            if len(self._hits) > 100_000:  # bound memory: forget idle keys
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - LIMITS[k[0]].seconds]:
                    del self._hits[k]

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        h = seconds // 3600
        return "hour" if h == 1 else f"{h} hours"
    m = seconds // 60
    return "minute" if m == 1 else f"{m} minutes"
