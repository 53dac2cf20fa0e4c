"""The search port: what every backend implements, and the documents and queries it sees.

A `QuestionDoc` is rebuilt from the database each time (see `app.search.indexer`), so applying
the same document twice, or two versions out of order, always ends with the current state.
Backends return ids and scores only; the service loads the rows, so hidden or deleted content
never leaks from a stale index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# Sentence-embedding width (all-MiniLM-L6-v2).
DIMENSIONS = 384


@dataclass(frozen=True)
class QuestionDoc:
    """One canonical question as the index sees it (duplicates and deleted questions are not docs)."""

    id: int
    title: str
    body: str  # plain text, trimmed
    tags: tuple[str, ...]
    product: str | None  # product slug
    status: str  # "open" | "closed"
    solved: bool  # has an accepted answer
    score: int
    answer_count: int
    created_at: datetime
    accepted_answer: str = ""  # plain text of the accepted answer, trimmed
    # Titles and texts of questions closed as duplicates of this one: alternate phrasings.
    alternate_titles: tuple[str, ...] = ()
    alternate_bodies: tuple[str, ...] = ()
    # One unit vector per phrasing ("title. start of body", title, *alternate_titles; see
    # app.search.embedded._phrasings), each DIMENSIONS floats; None when
    # semantic similarity is off or its extra is not installed.
    vectors: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class Filters:
    product: str | None = None
    tag: str | None = None
    solved: bool | None = None
    status: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    q: str
    filters: Filters = field(default_factory=Filters)
    page: int = 1  # 1-based
    size: int = 20
    # The query's sentence embedding when semantic similarity is on: hybrid search (keyword and
    # vector rankings fused, as on Meilisearch with `hybrid`); None means keyword only.
    vector: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Hit:
    id: int
    score: float  # backend relevance, higher is better (0..1 for similar())
    # Highlighted fragments by field ("title", "body"): HTML-escaped text with <mark> around matches.
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: int
    # facet name ("product", "tags", "solved") -> value -> count over every match, not just this page
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class SimilarQuery:
    title: str
    body: str = ""
    product: str | None = None
    limit: int = 5
    vector: tuple[float, ...] | None = None  # the query's embedding when semantic similarity is on


class SearchUnavailable(RuntimeError):
    """The backend could not answer or apply a change (network, timeout, failed task)."""


class SearchBackend(Protocol):
    name: str

    def ensure_index(self) -> None:
        """Create the index if needed and apply (and verify) its settings."""

    def upsert(self, docs: Sequence[QuestionDoc]) -> None:
        """Add or replace these documents, by id."""

    def delete(self, ids: Sequence[int]) -> None:
        """Remove these ids; unknown ids are ignored."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def similar(self, query: SimilarQuery) -> list[Hit]: ...

    def rebuild(self, batches: Iterable[Sequence[QuestionDoc]]) -> int:
        """Replace the whole index with these documents; readers see the old index until done."""

    def healthy(self) -> bool:
        """Cheap liveness check for /readyz."""
