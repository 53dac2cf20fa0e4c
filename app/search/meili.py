"""The Meilisearch backend: the search port over the official `meilisearch` client.

Only `app.search.service.remote_backend()` imports this module. Everything Meilisearch does is a task that
is enqueued and processed later, and the client's `wait_for_task` hands back *failed* tasks
without raising, so every write here waits for its task and checks `status == "succeeded"`
(`check_task`). Every client error (connection refused, timeout, API error, failed task) comes
out as one-line `SearchUnavailable`. Settings are one constant derived from `QuestionDoc`, and
`ensure_index` reads them back to verify they took. See docs/search-meilisearch.md.
"""

from __future__ import annotations

import copy
import dataclasses
import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import meilisearch
import pydantic
import requests
from meilisearch.errors import MeilisearchApiError, MeilisearchError
from meilisearch.models.task import TaskInfo

from app.core.config import Settings, SettingsError
from app.search.breaker import Breaker
from app.search.ports import (
    DIMENSIONS,
    Filters,
    Hit,
    QuestionDoc,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    SimilarQuery,
)

# --- the index shape, derived from QuestionDoc ------------------------------------------------

_DOC_FIELDS = frozenset(f.name for f in dataclasses.fields(QuestionDoc)) - {"vectors"}


def _f(name: str) -> str:
    """A QuestionDoc field name, checked at import so the settings cannot drift from the doc."""
    if name not in _DOC_FIELDS:  # pragma: no cover - guards edits to QuestionDoc
        raise RuntimeError(f"{name!r} is not a QuestionDoc field")
    return name


EMBEDDER = "default"
# Meilisearch's default ranking rules (GET /indexes/{uid}/settings on a fresh index).
DEFAULT_RANKING_RULES = ("words", "typo", "proximity", "attribute", "sort", "exactness")

from app.search import analysis  # noqa: E402  (the embedded backend's analysis: one source of truth)
from app.search.synonyms import SYNONYM_GROUPS  # noqa: E402  (shared with the embedded backend)


def _synonyms(groups: Iterable[Sequence[str]]) -> dict[str, list[str]]:
    """A mutual map over every surface form of each group's entries (`wi-fi`, `wifi`, `wi fi`, ...)."""
    out: dict[str, list[str]] = {}
    for group in groups:
        forms = list(dict.fromkeys(f for entry in group for f in analysis.surface_forms(entry)))
        for word in forms:
            others = [w for w in forms if w != word]
            out.setdefault(word, [])
            out[word].extend(w for w in others if w not in out[word])
    return out


# One constant, sent as-is to PATCH /indexes/{uid}/settings (plus `embedders`, see below).
INDEX_SETTINGS: dict[str, Any] = {
    # Order is weight: a match in the title beats one in an alternate title, tags, body, ...
    "searchableAttributes": [
        _f("title"), _f("alternate_titles"), _f("tags"), _f("body"), _f("accepted_answer"),
        _f("alternate_bodies"),
    ],
    # Everything build_filter() can emit, and the facets search() asks for.
    "filterableAttributes": [_f("product"), _f("tags"), _f("status"), _f("solved")],
    "sortableAttributes": [_f("created_at"), _f("score")],
    # Relevance first; among equally relevant questions, the better voted one.
    "rankingRules": [*DEFAULT_RANKING_RULES, f"{_f('score')}:desc"],
    # Meilisearch's own word sizes, stated so a server default change cannot move them: below 5
    # letters no typo, so short tokens common here (ssd/hdd, dns/vpn, wifi/wiki) never collide.
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}},
    "synonyms": _synonyms(SYNONYM_GROUPS),
    # Letters followed by # or + stay one word (c#, f#, c++), as app.search.analysis keeps them.
    "nonSeparatorTokens": list(analysis.NON_SEPARATORS),
    # Facet lists sorted by count (most common product/tag first) and bounded.
    "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "count"}},
    # Page-based pagination counts exactly up to this many matches.
    "pagination": {"maxTotalHits": 1000},
}

# Only when semantic vectors are in use: the application computes the embeddings itself.
EMBEDDERS: dict[str, Any] = {EMBEDDER: {"source": "userProvided", "dimensions": DIMENSIONS}}


def index_settings(semantic: bool) -> dict[str, Any]:
    """The full settings body: INDEX_SETTINGS plus the embedder, or its removal (`null` resets)."""
    body = copy.deepcopy(INDEX_SETTINGS)
    body["embedders"] = copy.deepcopy(EMBEDDERS) if semantic else None
    return body


FACETS = (_f("product"), _f("tags"), _f("solved"))
FILTER_FIELDS = frozenset(INDEX_SETTINGS["filterableAttributes"])

# Highlight markers: control characters that never survive into indexed text (to_document strips
# them), so after html.escape they can be turned into <mark> safely.
HL_PRE = "\x02"
HL_POST = "\x03"
CROP_LENGTH = 30  # words around the match in the body snippet
CROP_MARKER = "…"
MAX_PAGE_SIZE = 100
SIMILAR_SEMANTIC_RATIO = 0.6  # hybrid: 60 % vector similarity, 40 % keyword relevance
# /search: keyword relevance leads (the embedded backend fuses the vector side at weight 0.5 of 1.5).
SEARCH_SEMANTIC_RATIO = 0.33
# Questions with every word first, then the least useful (most frequent) words are dropped while
# the page is not full; the embedded backend lowers the bar by count instead, which no strategy
# of Meilisearch's does exactly (docs/search.md, "What Meilisearch does differently").
MATCHING_STRATEGY = "frequency"
BATCH_SIZE = 250  # documents per add/delete request
TASK_TIMEOUT = 60.0  # seconds to wait for one task (indexing a batch can take longer than a request)
TASK_POLL_MS = 50
# Seconds a health check may take: the breaker's background probe, and /readyz's own check (which
# must answer within 1 s whatever Meilisearch does).
HEALTH_TIMEOUT = 0.5

_STRIP_MARKERS = {ord(HL_PRE): None, ord(HL_POST): None}


def _text(value: str) -> str:
    return value.translate(_STRIP_MARKERS)


# --- pure functions -------------------------------------------------------------------------


def to_document(doc: QuestionDoc, *, semantic: bool = True) -> dict[str, Any]:
    """The JSON document Meilisearch stores for one question.

    `created_at` becomes a Unix timestamp (int) so it can be sorted on. With `semantic`, the
    index has a userProvided embedder, which requires `_vectors.default` on every document: all
    phrasing vectors as an array of embeddings, or `null` to opt this document out. Without it,
    no `_vectors` is sent at all.
    """
    created = doc.created_at
    if created.tzinfo is None:  # the app stores aware UTC; treat a naive value as UTC too
        created = created.replace(tzinfo=UTC)
    out: dict[str, Any] = {
        "id": int(doc.id),
        "title": _text(doc.title),
        "body": _text(doc.body),
        "tags": [_text(t) for t in doc.tags],
        "product": doc.product,
        "status": doc.status,
        "solved": bool(doc.solved),
        "score": int(doc.score),
        "answer_count": int(doc.answer_count),
        "created_at": int(created.timestamp()),
        "accepted_answer": _text(doc.accepted_answer),
        "alternate_titles": [_text(t) for t in doc.alternate_titles],
        "alternate_bodies": [_text(t) for t in doc.alternate_bodies],
    }
    if semantic:
        if doc.vectors:
            out["_vectors"] = {EMBEDDER: [[round(float(x), 6) for x in v] for v in doc.vectors]}
        else:
            out["_vectors"] = {EMBEDDER: None}
    return out


def quote(value: str) -> str:
    """A filter string literal: double-quoted, with `\\` and `"` escaped.

    Meilisearch's filter parser ends a quoted value at the first unescaped `"`, un-escapes `\\"`,
    then resolves backslash escapes (`\\\\` -> `\\`, since v1.4); escaping both keeps any input
    one literal value.
    """
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter_list(filters: Filters) -> list[str]:
    """Filter conditions (ANDed) for the set fields of `filters`; fields must be whitelisted."""
    conditions: list[str] = []
    for field in dataclasses.fields(filters):
        value = getattr(filters, field.name)
        if value is None:
            continue
        conditions.append(condition(field.name, value))
    return conditions


def condition(field: str, value: str | bool | int) -> str:
    """One `field = value` condition; unknown fields are refused (ValueError)."""
    attr = "tags" if field == "tag" else field
    if attr not in FILTER_FIELDS:
        raise ValueError(f"cannot filter on {field!r}: not a filterable attribute")
    if isinstance(value, bool):
        return f"{attr} = {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"{attr} = {value}"
    if not isinstance(value, str):
        raise ValueError(f"cannot filter {field!r} on a {type(value).__name__}")
    return f"{attr} = {quote(value)}"


def build_filter(filters: Filters) -> str | None:
    """The filter expression for `filters`, or None when nothing is filtered."""
    conditions = build_filter_list(filters)
    return " AND ".join(conditions) if conditions else None


def safe_highlight(text: str) -> str:
    """HTML-escape Meilisearch's highlighted text, then turn the markers into <mark>…</mark>.

    Escaping comes first, so document text can never inject markup; markers are balanced (a stray
    or nested marker is dropped and an open <mark> is closed at the end).
    """
    escaped = html.escape(text, quote=True)
    out: list[str] = []
    open_ = False
    for ch in escaped:
        if ch == HL_PRE:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif ch == HL_POST:
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(ch)
    if open_:
        out.append("</mark>")
    return "".join(out)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_task(task: Any) -> None:
    """Raise SearchUnavailable unless the (finished) task succeeded; a Task model or its dict."""
    status = _field(task, "status")
    if status == "succeeded":
        return
    uid = _field(task, "uid")
    kind = _field(task, "type")
    error = _field(task, "error") or {}
    message = error.get("message") if isinstance(error, Mapping) else str(error)
    code = error.get("code") if isinstance(error, Mapping) else None
    code_part = f" [{code}]" if code else ""
    detail = f": {message}" if message else ""
    raise SearchUnavailable(_one_line(f"meilisearch task {uid} ({kind}) {status}{code_part}{detail}"))


def _task_error_code(task: Any) -> str | None:
    error = _field(task, "error")
    return error.get("code") if isinstance(error, Mapping) else None


_SET_KEYS = frozenset({"filterableAttributes", "sortableAttributes", "nonSeparatorTokens"})


def settings_mismatch(wanted: Mapping[str, Any], actual: Mapping[str, Any], _path: str = "") -> str | None:
    """The first setting (dotted path) whose value read back differs from what was asked, or None.

    Keys the server adds are ignored; filterable/sortable attributes and synonym lists compare as
    sets (the server may reorder them); other lists keep their order (it is weight / precedence).
    `None` asked means "reset", which reads back empty.
    """
    for key, want in wanted.items():
        path = f"{_path}.{key}" if _path else key
        have = actual.get(key) if isinstance(actual, Mapping) else None
        if want is None:
            if have not in (None, {}, []):
                return path
        elif isinstance(want, Mapping):
            if not isinstance(have, Mapping):
                return path
            if key == "synonyms" and not _path:
                if {k: set(v) for k, v in want.items()} != {k: set(v) for k, v in have.items()}:
                    return path
                continue
            sub = settings_mismatch(want, have, path)
            if sub:
                return sub
        elif isinstance(want, (list, tuple)):
            if not isinstance(have, list):
                return path
            if key in _SET_KEYS and not _path:
                if set(want) != set(have):
                    return path
            elif list(want) != have:
                return path
        elif want != have:
            return path
    return None


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def search_params(query: SearchQuery, *, semantic: bool) -> tuple[str, dict[str, Any]]:
    """(q, body) of the search request for `query`.

    Typographic quotes become `"` so a quoted phrase is one on Meilisearch too (an unclosed one
    runs to the end there as here); the matching strategy relaxes a query that has no result
    with every word; with a query vector and semantic on, the search is hybrid, except when a
    phrase is quoted (a requirement the vector side would not honour).
    """
    q = (query.q or "").translate(analysis.QUOTES)
    params: dict[str, Any] = {
        "page": max(1, int(query.page)),
        "hitsPerPage": min(max(1, int(query.size)), MAX_PAGE_SIZE),
        "facets": list(FACETS),
        "attributesToRetrieve": ["id"],
        "attributesToHighlight": ["title", "body"],
        "attributesToCrop": ["body"],
        "cropLength": CROP_LENGTH,
        "cropMarker": CROP_MARKER,
        "highlightPreTag": HL_PRE,
        "highlightPostTag": HL_POST,
        "showRankingScore": True,
        "matchingStrategy": MATCHING_STRATEGY,
    }
    expression = build_filter(query.filters)
    if expression:
        params["filter"] = expression
    if semantic and query.vector is not None and q.strip() and '"' not in q:
        params["vector"] = [float(x) for x in query.vector]
        params["hybrid"] = {"embedder": EMBEDDER, "semanticRatio": SEARCH_SEMANTIC_RATIO}
    return q, params


# --- the backend ----------------------------------------------------------------------------


class MeiliBackend:
    """SearchBackend over a Meilisearch server (sync, blocking; every request has a timeout)."""

    name = "meilisearch"

    def __init__(
        self,
        settings: Settings,
        *,
        client: meilisearch.Client | None = None,
        semantic: bool = False,
        task_timeout: float = TASK_TIMEOUT,
        breaker: Breaker | None = None,
    ) -> None:
        if client is None:
            if not settings.meili_url:
                raise SettingsError(
                    "GROUNDSWELL_MEILI_URL must be set when GROUNDSWELL_SEARCH_BACKEND=meilisearch"
                )
            key = settings.meili_key.get_secret_value() if settings.meili_key else None
            client = meilisearch.Client(settings.meili_url.rstrip("/"), key, timeout=settings.meili_timeout)
        self.client = client
        config = getattr(client, "config", None)
        self.base_url = str(getattr(config, "url", None) or settings.meili_url or "").rstrip("/")
        # Reads (search, similar) go through the breaker; writes are the worker's, retried by the outbox.
        self.breaker = breaker or Breaker(self.health_check, cap=settings.meili_breaker_max)
        self.index_name = settings.meili_index
        self.semantic = semantic
        self.task_timeout = task_timeout
        self.settings_body = index_settings(semantic)

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn every client/network failure into a one-line SearchUnavailable."""
        try:
            yield
        except SearchUnavailable:
            raise
        except MeilisearchApiError as exc:
            code = f" [{exc.code}]" if exc.code else ""
            raise SearchUnavailable(
                _one_line(f"meilisearch {action} failed: HTTP {exc.status_code}{code}: {exc.message}")
            ) from exc
        except MeilisearchError as exc:  # communication and timeout errors
            raise SearchUnavailable(
                _one_line(f"meilisearch {action} failed: {type(exc).__name__}: {exc.message}")
            ) from exc
        except (requests.RequestException, pydantic.ValidationError) as exc:
            raise SearchUnavailable(
                _one_line(f"meilisearch {action} failed: {type(exc).__name__}: {exc}")
            ) from exc

    def _wait(self, info: TaskInfo, *, ok_codes: frozenset[str] = frozenset()) -> None:
        """Wait for a task and check its final status; failures with an `ok_codes` code pass."""
        task = self.client.wait_for_task(
            info.task_uid, timeout_in_ms=int(self.task_timeout * 1000), interval_in_ms=TASK_POLL_MS
        )
        if task.status == "failed" and _task_error_code(task) in ok_codes:
            return
        check_task(task)

    def _create_if_missing(self, uid: str) -> None:
        try:
            info = self.client.get_raw_index(uid)
        except MeilisearchApiError as exc:
            if exc.code != "index_not_found":
                raise
            self._wait(self.client.create_index(uid, {"primaryKey": "id"}),
                       ok_codes=frozenset({"index_already_exists"}))
            return
        primary_key = info.get("primaryKey")
        if primary_key not in (None, "id"):
            raise SearchUnavailable(
                f"meilisearch index {uid!r} has primary key {primary_key!r}, expected 'id'; run a reindex"
            )

    def _read_settings(self, uid: str) -> dict[str, Any]:
        # The raw JSON: Index.get_settings() turns embedders into client models.
        paths = self.client.config.paths
        return self.client.http.get(f"{paths.index}/{uid}/{paths.setting}")

    def _apply_settings(self, uid: str) -> None:
        self._create_if_missing(uid)
        # update_settings edits its argument in place: send a copy.
        self._wait(self.client.index(uid).update_settings(copy.deepcopy(self.settings_body)))
        diff = settings_mismatch(self.settings_body, self._read_settings(uid))
        if diff:
            raise SearchUnavailable(
                f"meilisearch index {uid!r}: setting {diff} reads back different from what was applied"
            )

    def _add(self, uid: str, docs: Sequence[QuestionDoc]) -> int:
        index = self.client.index(uid)
        body = [to_document(d, semantic=self.semantic) for d in docs]
        infos = [index.add_documents(list(chunk), primary_key="id") for chunk in _chunks(body, BATCH_SIZE)]
        for info in infos:
            self._wait(info)
        return len(body)

    # -- the port ---------------------------------------------------------------------------

    def ensure_index(self) -> None:
        with self._guard("ensure_index"):
            self._apply_settings(self.index_name)

    def upsert(self, docs: Sequence[QuestionDoc]) -> None:
        if not docs:
            return
        with self._guard("upsert"):
            self._add(self.index_name, docs)

    def delete(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        paths = self.client.config.paths
        # POST .../documents/delete-batch directly: the client's delete_documents(ids) works but
        # emits a DeprecationWarning on every call.
        url = f"{paths.index}/{self.index_name}/{paths.document}/delete-batch"
        with self._guard("delete"):
            infos = [TaskInfo(**self.client.http.post(url, [int(i) for i in chunk]))
                     for chunk in _chunks(list(ids), BATCH_SIZE)]
            for info in infos:
                self._wait(info)

    def search(self, query: SearchQuery) -> SearchResult:
        q, params = search_params(query, semantic=self.semantic)
        res = self._read("search", q, params)
        hits = []
        for raw in res.get("hits", []):
            formatted = raw.get("_formatted") or {}
            highlights = {
                name: safe_highlight(formatted[name])
                for name in ("title", "body")
                if isinstance(formatted.get(name), str)
            }
            hits.append(Hit(id=int(raw["id"]), score=float(raw.get("_rankingScore", 0.0)),
                            highlights=highlights))
        distribution = res.get("facetDistribution") or {}
        facets = {
            name: {str(value): int(count) for value, count in (distribution.get(name) or {}).items()}
            for name in FACETS
        }
        total = res.get("totalHits", res.get("estimatedTotalHits", len(hits)))
        return SearchResult(hits=hits, total=int(total), facets=facets)

    def similar(self, query: SimilarQuery) -> list[Hit]:
        # Only canonical questions are indexed, so any hit is a candidate original.
        text = " ".join(part for part in (query.title.strip(), query.body.strip()) if part)
        params: dict[str, Any] = {
            "limit": max(1, int(query.limit)),
            "attributesToRetrieve": ["id"],
            "showRankingScore": True,
        }
        if query.product:
            params["filter"] = build_filter(Filters(product=query.product))
        if query.vector is not None and self.semantic:
            params["vector"] = [float(x) for x in query.vector]
            params["hybrid"] = {"embedder": EMBEDDER, "semanticRatio": SIMILAR_SEMANTIC_RATIO}
        res = self._read("similar", text, params)
        return [Hit(id=int(h["id"]), score=float(h.get("_rankingScore", 0.0))) for h in res.get("hits", [])]

    def _read(self, action: str, text: str, params: dict[str, Any]) -> dict[str, Any]:
        """One search request through the breaker: CircuitOpen at once while it is open, and any
        failure (timeout included) opens it."""
        self.breaker.before_call()
        try:
            with self._guard(action):
                res = self.client.index(self.index_name).search(text, params)
        except SearchUnavailable as exc:
            self.breaker.failed(str(exc))
            raise
        self.breaker.succeeded()
        return res

    def rebuild(self, batches: Iterable[Sequence[QuestionDoc]]) -> int:
        """Fill `<index>_rebuild`, swap it with the live index, drop the old one.

        Readers keep using the live index until the swap. Changes written to the live index while
        this runs are lost at the swap unless they are replayed afterwards (the outbox does).
        """
        live = self.index_name
        fresh = f"{live}_rebuild"
        gone = frozenset({"index_not_found"})
        with self._guard("rebuild"):
            self._wait(self.client.delete_index(fresh), ok_codes=gone)  # a stale attempt
            try:
                self._apply_settings(fresh)
                count = 0
                for batch in batches:
                    if batch:
                        count += self._add(fresh, batch)
                self._create_if_missing(live)  # swapping needs both indexes
                self._wait(self.client.swap_indexes([{"indexes": [live, fresh]}]))
            except BaseException:
                self._drop_quietly(fresh)
                raise
            self._wait(self.client.delete_index(fresh), ok_codes=gone)  # the old live index
        return count

    def _drop_quietly(self, uid: str) -> None:
        try:
            self.client.delete_index(uid)
        except Exception:  # noqa: BLE001 - best effort; the next rebuild deletes it anyway
            pass

    def health_check(self) -> bool:
        """GET /health within HEALTH_TIMEOUT seconds: True when the server says it is available.
        Never raises."""
        try:
            response = requests.get(f"{self.base_url}/health", timeout=HEALTH_TIMEOUT)
            return response.status_code == 200 and response.json().get("status") == "available"
        except Exception:  # noqa: BLE001 - any failure means "not available"
            return False

    def healthy(self) -> bool:
        """For /readyz, within HEALTH_TIMEOUT: False at once while the breaker is open (starting its
        probe when due); otherwise a health check, whose failure opens the breaker for reads too."""
        if self.breaker.snapshot().state != "closed":
            self.breaker.poke()
            return False
        if self.health_check():
            return True
        self.breaker.failed(f"GET /health did not answer 'available' within {HEALTH_TIMEOUT} s")
        return False
