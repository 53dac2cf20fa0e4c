"""A circuit breaker for reads from a remote search backend (Meilisearch).

A Meilisearch that accepts connections but never answers would otherwise make every search,
similar-questions call and /readyz wait the full request timeout (5 s), on every request. The
breaker remembers the failure instead:

- **closed**: reads go to the remote backend. A failure (error or timeout) opens the breaker.
- **open**: reads fail at once (`CircuitOpen`, a `SearchUnavailable`), so the caller answers
  from the embedded index without touching the network, for a backoff period: 1 s after the
  first failure, doubling after each failed probe (2 s, 4 s …), capped (60 s by default,
  `GROUNDSWELL_MEILI_BREAKER_MAX`).
- **half-open**: the first read after the backoff starts ONE probe in a background thread — a
  `GET /health` with a short timeout (0.5 s), never a user's search — and still answers from the
  fallback. The probe closes the breaker when the server answers, or opens it again with the
  next, longer backoff.

A small state machine of our own rather than `pybreaker` (1.4.1 on PyPI, maintained): pybreaker's
half-open trial is the next real call (a user would wait out the timeout again), its reset
timeout is fixed (no exponential backoff with a cap) and its clock is not injectable, which the
tests need to step through backoff without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.search.ports import SearchUnavailable

log = logging.getLogger("groundswell.search")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
BACKOFF_FIRST = 1.0  # seconds open after the first failure
BACKOFF_MAX = 60.0  # default cap, seconds (GROUNDSWELL_MEILI_BREAKER_MAX)


class CircuitOpen(SearchUnavailable):
    """The breaker is open: the remote backend was not asked (use the fallback)."""


def backoff(failures: int, cap: float = BACKOFF_MAX) -> float:
    """Seconds to stay open after `failures` consecutive failures (1, 2, …): 1, 2, 4 … ≤ cap."""
    return min(BACKOFF_FIRST * 2 ** max(0, min(failures - 1, 30)), cap)


def _start_thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="search-breaker-probe", daemon=True).start()


@dataclass(frozen=True)
class BreakerState:
    state: str  # closed | open | half-open
    failures: int  # consecutive failures (0 when closed)
    reason: str | None  # the last failure, one line
    retry_in: float  # seconds until the next probe may start (0 when closed or probing)


class Breaker:
    """Thread-safe. `probe()` returns True when the remote answers its health check; `clock` is
    monotonic seconds; `spawn(fn)` runs fn in the background (a daemon thread by default)."""

    def __init__(self, probe: Callable[[], bool], *, cap: float = BACKOFF_MAX,
                 clock: Callable[[], float] = time.monotonic,
                 spawn: Callable[[Callable[[], None]], None] = _start_thread, name: str = "meilisearch") -> None:
        self.probe, self.cap, self.clock, self.spawn, self.name = probe, cap, clock, spawn, name
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._reason: str | None = None
        self._retry_at = 0.0
        self.probes = 0  # probes started, for /readyz and the tests

    # -- reads --------------------------------------------------------------------------------

    def before_call(self) -> None:
        """Raise CircuitOpen unless reads may go to the remote now; when the backoff is over,
        start the single background probe (this read still uses the fallback)."""
        with self._lock:
            if self._state == CLOSED:
                return
            start = self._state == OPEN and self.clock() >= self._retry_at
            if start:
                self._state = HALF_OPEN
                self.probes += 1
            reason = self._reason
        if start:
            self.spawn(self._run_probe)
        raise CircuitOpen(f"{self.name} circuit open after: {reason}")

    def succeeded(self) -> None:
        with self._lock:
            if self._state == CLOSED:
                self._failures, self._reason = 0, None

    def failed(self, reason: str) -> None:
        """A read failed or timed out: open (or stay open with the next backoff)."""
        with self._lock:
            self._open(reason)

    def _open(self, reason: str) -> None:
        self._failures += 1
        self._reason = " ".join(str(reason).split())[:300]
        self._state = OPEN
        self._retry_at = self.clock() + backoff(self._failures, self.cap)

    # -- the probe ----------------------------------------------------------------------------

    def _run_probe(self) -> None:
        try:
            ok, reason = bool(self.probe()), "health check failed"
        except Exception as exc:  # noqa: BLE001 - any failure keeps the breaker open
            ok, reason = False, f"health check failed: {type(exc).__name__}: {exc}"
        with self._lock:
            if ok:
                self._state, self._failures, self._reason = CLOSED, 0, None
            else:  # keep the first failure's reason: it says what went wrong
                self._open(self._reason or reason)
        log.info("search: %s probe %s", self.name, "succeeded, reads go there again" if ok else "failed")

    # -- reading the state --------------------------------------------------------------------

    def snapshot(self) -> BreakerState:
        with self._lock:
            retry_in = max(0.0, self._retry_at - self.clock()) if self._state == OPEN else 0.0
            return BreakerState(self._state, self._failures, self._reason, retry_in)

    def poke(self) -> None:
        """Start the probe if it is due, without a read (for /readyz)."""
        try:
            self.before_call()
        except CircuitOpen:
            pass
