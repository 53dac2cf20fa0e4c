"""The anonymous-page cache: rendered forum pages for visitors who are not signed in.

Discourse and Stack Overflow both serve anonymous visitors (most of a support forum's traffic:
people arriving from a web search) from a cache of rendered pages. Here:

* **What**: the question page and the list pages (home, /questions, product and tag pages,
  unanswered lists, any `?sort=&tag=&solved=&cursor=`), rendered for nobody in particular (no
  viewer, no CSRF token, no flash message); keyed by path and query string.
* **Where**: in the serving process's memory, a bounded LRU (`GROUNDSWELL_PAGE_CACHE_MB`, default
  32 MB of page bodies, per process: with `serve --workers N` each worker has its own copy).
* **Invalidation**: by the same transactional outbox that feeds search (`search_outbox`, one row
  per changed question, written in the writer's transaction by app/search/outbox.py: questions,
  answers, tags, votes, comments, accepts, deletes, merges, "me too" and escalations). Each
  process remembers the highest outbox id it has seen; at most every `GROUNDSWELL_PAGE_CACHE_CHECK`
  seconds (default 1.0; 0 = every request) one indexed range query (`WHERE id > :seen`) tells it
  which questions changed since: their pages and every list page are dropped. A commit in the
  process itself forces the check on its next request, so a process always sees its own writes.
  Other processes see a write at most `GROUNDSWELL_PAGE_CACHE_CHECK` seconds late.
* **Bounded staleness** for what no outbox row describes (a user's reputation or name shown next
  to a post, the titles of linked duplicates): an entry lives at most `GROUNDSWELL_PAGE_CACHE_TTL`
  seconds (default 60).
* **Races**: a page rendered while the process learnt of a change (its outbox position moved
  during the render) is served but not stored.

A hit costs one dictionary lookup (plus, once per check interval, the outbox query): no session,
no ORM, no template. The cache is a performance device only; `GROUNDSWELL_PAGE_CACHE_MB=0` turns
it off and every page is rendered as before.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

# Rows read per check; more than this many changes since the last check drop the whole cache.
CHECK_BATCH = 1000
MAX_AGGREGATES = 1000  # distinct aggregates kept (per product, per period…)


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    etag: str  # a strong validator: '"' + the body's hash + '"'
    media_type: str
    question_id: int | None  # None for list pages (dropped on every change)
    stored_at: float  # time.monotonic()


def etag_of(body: bytes) -> str:
    """A strong ETag for a page body (RFC 9110 §8.8.3): its BLAKE2b digest, 16 bytes in hex, quoted."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header (a list of entity tags, or *) names this ETag; weak
    comparison as RFC 9110 §13.1.2 prescribes for If-None-Match."""
    if not if_none_match:
        return False
    value = if_none_match.strip()
    if value == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in value.split(","))


class PageCache:
    """A bounded LRU of rendered anonymous pages, invalidated from `search_outbox` (see the module
    docstring). Thread-safe: sync routes run in a thread pool.

    `max_bytes` bounds the sum of stored bodies (0 disables the cache); `ttl` is an entry's
    longest life in seconds; `check_interval` the longest time in seconds between two outbox
    checks."""

    def __init__(self, engine: Engine, *, max_bytes: int, ttl: float = 60.0, check_interval: float = 1.0):
        self.engine = engine
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.check_interval = check_interval
        self._entries: OrderedDict[str, CachedPage] = OrderedDict()
        self._aggregates: dict[tuple, tuple[int | None, float, object]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._seen: int | None = None  # highest outbox id known; None until the first check
        self._next_check = 0.0
        self.hits = self.misses = self.checks = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    # --- invalidation ---------------------------------------------------------------------------

    def changed_here(self) -> None:
        """This process committed outbox rows: check before serving the next page."""
        self._next_check = 0.0

    def position(self) -> int | None:
        """The outbox position the cache is at (compare before and after rendering)."""
        return self._seen

    def due(self) -> bool:
        """Whether the next request should check the outbox first (`refresh`)."""
        return time.monotonic() >= self._next_check

    def refresh(self, now: float | None = None) -> None:
        """Catch up with the outbox if the check interval has passed (one indexed query)."""
        from app.search.models import SearchOutbox

        now = time.monotonic() if now is None else now
        if now < self._next_check:
            return
        self._next_check = now + self.check_interval
        seen = self._seen
        table = SearchOutbox.__table__
        with self.engine.connect() as conn:
            if seen is None:
                rows = conn.execute(select(table.c.id, table.c.question_id).order_by(table.c.id.desc()).limit(1)).all()
            else:
                # One indexed range read: the row we last saw (still there unless pruned) and every newer one.
                rows = conn.execute(select(table.c.id, table.c.question_id).where(table.c.id >= seen)
                                    .order_by(table.c.id).limit(CHECK_BATCH + 2)).all()
        self.checks += 1
        with self._lock:
            if seen is None:
                self._clear()
                self._seen = rows[0][0] if rows else 0
            elif seen and (not rows or rows[0][0] != seen):
                # The row we saw is gone (the outbox was pruned or emptied: SQLite may then hand out
                # its id again), so newer rows cannot be told apart: start over.
                self._clear()
                self._seen = rows[-1][0] if rows else 0
            else:
                new = [r for r in rows if r[0] != seen]
                if len(new) > CHECK_BATCH:
                    self._clear()
                elif new:
                    changed = {qid for _, qid in new}
                    for key in [k for k, e in self._entries.items() if e.question_id is None or e.question_id in changed]:
                        self._drop(key)
                if new:
                    self._seen = new[-1][0]

    # --- community aggregates -------------------------------------------------------------------

    def aggregate(self, key: tuple, compute, max_age: float | None = None):
        """A community-wide aggregate (popular tags, questions per product, top contributors),
        whose query reads rows in proportion to the community's size: computed once, then served
        from memory; recomputed only when the outbox has moved since *and* the value is at least
        `max_age` seconds old (default: the cache's TTL). So a list page renders in the same time
        at 2k and at 100k questions, and the sidebar lags the community by at most that long.
        Per process, like the pages. `compute()` runs in the caller's thread."""
        max_age = self.ttl if max_age is None else max_age
        if self.due():
            self.refresh()
        now = time.monotonic()
        with self._lock:
            found = self._aggregates.get(key)
        if found is not None:
            position, at, value = found
            if position == self._seen or now - at < max_age:
                return value
        position = self._seen
        value = compute()
        with self._lock:
            self._aggregates[key] = (position, now, value)
            if len(self._aggregates) > MAX_AGGREGATES:
                self._aggregates.pop(next(iter(self._aggregates)))
        return value

    # --- entries --------------------------------------------------------------------------------

    def get(self, key: str) -> CachedPage | None:
        """The cached page for `key`, or None when absent or older than the TTL. Call `refresh()`
        first when `due()` (it queries the database; this does not)."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            if time.monotonic() - entry.stored_at > self.ttl:
                self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, body: bytes, *, media_type: str, question_id: int | None,
            position: int | None) -> CachedPage:
        """Store a page rendered when the cache was at outbox `position`; a page rendered across a
        change (the position moved meanwhile) is returned but not stored."""
        entry = CachedPage(body, etag_of(body), media_type, question_id, time.monotonic())
        if not self.enabled or len(body) > self.max_bytes // 4:
            return entry
        with self._lock:
            if position is None or position != self._seen:
                return entry
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._entries:
                self._drop(next(iter(self._entries)))
        return entry

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def _clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


_caches: "weakref.WeakSet[PageCache]" = weakref.WeakSet()  # told about this process's commits


def register(cache: PageCache) -> None:
    """Have `cache` check the outbox on its next request whenever this process commits outbox rows."""
    from app.search import outbox

    outbox.on_commit(_changed_here)
    _caches.add(cache)


def _changed_here() -> None:
    for cache in list(_caches):
        cache.changed_here()
