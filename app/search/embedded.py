"""The embedded search backend: no service to run, the default.

Storage is a table in our own database (`search_documents`, one row per question, with the
phrasings' sentence vectors as float16 bytes), so the web process, the worker and `reindex`
share one index. Each process keeps an in-memory index built from those rows and catches up on
rows whose `seq` is newer than what it has seen (one indexed query per search).

Ranking:
- Similar questions (duplicate detection): BM25F over the question's title and the titles of
  questions closed as its duplicates (weighted higher: they are proven alternate phrasings of
  the same problem), fused by reciprocal rank fusion with the best cosine similarity between
  the query's sentence vector and any of those phrasings. Without vectors, BM25F alone.
- Full-text search: BM25F over title, tags, body, accepted answer and the duplicates' text,
  with typo tolerance (unknown words match vocabulary words one or two edits away) and prefix
  matching of the last word, filters, facet counts and highlighted snippets.
The figures behind the weights are in docs/search.md (tuned on the AskUbuntu dev split).
"""

from __future__ import annotations

import bisect
import hashlib
import html
import math
import os
import threading
import uuid
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

# One BLAS thread (see app/cli.py); only effective when numpy is not loaded yet.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.db import utcnow, writer
from app.search import analysis, embedding, indexer
from app.search.models import SearchDocument, SearchState
from app.search.ports import (DIMENSIONS, Hit, QuestionDoc, SearchQuery, SearchResult,
                              SimilarQuery)

# --- tuning (see docs/search.md for how these were chosen) ---------------------------------------
SIMILAR_K1, SIMILAR_B = 0.9, 0.1
SIMILAR_FIELDS = {"title": 1.0, "alternate_titles": 2.0}
SIMILAR_BODY_WEIGHT = 0.3  # query-side weight of words from the optional body
SEARCH_K1, SEARCH_B = 1.2, 0.5
SEARCH_FIELDS = {"title": 3.0, "alternate_titles": 1.0, "tags": 2.0, "body": 1.0,
                 "accepted_answer": 1.0, "alternate_bodies": 0.3}
CANDIDATES = 100  # each ranking's depth before fusion
RRF_K = 10
RRF_KEYWORD_WEIGHT = 0.25
RRF_SEMANTIC_WEIGHT = 1.0
SEMANTIC_FLOOR = 0.3  # cosine below which a question with no word in common is not suggested
ALTERNATES_BONUS = 0.05  # × ln(1 + number of folded duplicates): often-asked problems first
# Full-text search: adjacent query words found adjacent in a question multiply its keyword score by
# up to 1 + PROXIMITY_BOOST (the share of neighbouring query-word pairs found next to each other),
# checked on the best PROXIMITY_DEPTH candidates; Meilisearch's "proximity" ranking rule.
PROXIMITY_BOOST = 1.0
PROXIMITY_DEPTH = 100
PROXIMITY_WINDOW = 2  # "next to each other": the second word at most this many positions later
# Hybrid search: the sentence-vector side joins the keyword side by rank fusion at this weight (the
# keyword side has weight 1); a question no query word matched needs this cosine to be included.
SEARCH_SEMANTIC_WEIGHT = 0.5
# ... and at this weight when no question has every query word: a customer's sentence, where the
# meaning says more than which of its words a question happens to share.
SEARCH_SEMANTIC_WEIGHT_RELAXED = 1.0
# Lowering the bar goes on until at least this many questions match (or the page is filled, if
# deeper), so the fusion with the vector side has candidates to choose from.
RELAX_POOL = 50
#: The search's tag facet lists this many tags, most frequent among the results first (then by name).
TAG_FACETS = 20
SEARCH_SEMANTIC_FLOOR = 0.55
#: The learned ranker (app.search.learned) re-orders this many of the base ranking's first candidates.
RERANK_DEPTH = 50
#: The learned ranker's features, one column each (MemoryIndex._features).
FEATURES = ("fused_score", "fused_rank", "bm25f", "bm25f_rel", "keyword_rank", "cosine_best", "cosine_gap",
            "semantic_rank", "cosine_title", "cosine_title_body", "cosine_alternates_mean",
            "cosine_alternates_max", "phrasings_over_0.6", "log_duplicates", "query_terms_in_title",
            "title_terms_in_query", "title_length_ratio", "votes", "solved", "age_days", "cosine_base_best")
_GAP = -1  # between fields in the position stream: no phrase spans two fields


def tokens(text: str) -> list[str]:
    """Index terms of a text (app.search.analysis: normalised, folded, stemmed, compounds split)."""
    return analysis.index_terms(text) if text else []


def stored_alternate(title: str) -> str:
    """A duplicate's title as its original's `alternate_titles` stores it: one title per line, so
    a line break inside a title becomes a space."""
    return title.replace("\n", " ")


def vectors_key(doc: QuestionDoc, encoder_name: str = "") -> str:
    """sha256 hex of the document's phrasings and, for any encoder but the default one, its name:
    stored vectors are reused only when both are unchanged (switching to the int8 encoder
    re-embeds). The default encoder's keys stay the phrasings' alone, as they were before
    encoders had a choice, so an upgrade does not re-embed every question."""
    named = [] if encoder_name in ("", embedding.MODEL_NAME) else [encoder_name]
    return hashlib.sha256("\n".join([*named, *_phrasings(doc)]).encode()).hexdigest()


BODY_PHRASING_CHARS = 300


def _phrasings(doc: QuestionDoc) -> list[str]:
    """What gets a sentence vector: the title with the start of the body (terse titles are often
    explained there), the title alone, and the titles of the duplicates folded into it."""
    phrasings = [doc.title]
    if doc.body:
        phrasings.insert(0, f"{doc.title}. {doc.body[:BODY_PHRASING_CHARS]}")
    return [*phrasings, *doc.alternate_titles]


# === storage (search_documents) ==================================================================

def _next_seq(session: Session, count: int) -> int:
    """Reserve `count` sequence numbers; returns the first. The row lock serialises writers."""
    state = session.get(SearchState, 1, with_for_update=True)
    if state is None:
        state = SearchState(id=1, seq=0, generation=uuid.uuid4().hex)
        session.add(state)
        session.flush()
    first = state.seq + 1
    state.seq += count
    session.flush()
    return first


def index_questions(session: Session, ids: Iterable[int], *, encoder=None) -> tuple[int, int]:
    """Rebuild the stored documents of these questions (and their originals) from the database."""
    prepared = prepare_questions(session, ids, encoder=encoder)
    store(session, prepared)
    return len(prepared.rows), len(prepared.gone)


@dataclass
class Prepared:
    """Documents ready to store: built and embedded outside any write lock."""

    rows: list[dict]
    gone: list[int]


def prepare_questions(session: Session, ids: Iterable[int], *, encoder=None) -> Prepared:
    ids = indexer.expand(session, ids)
    docs, gone = indexer.build(session, ids)
    return prepare(session, docs, gone, encoder=encoder)


def write_documents(session: Session, docs: Sequence[QuestionDoc], gone: Sequence[int], *, encoder=None) -> None:
    store(session, prepare(session, docs, gone, encoder=encoder))


def prepare(session: Session, docs: Sequence[QuestionDoc], gone: Sequence[int], *, encoder=None) -> Prepared:
    """Rows for these documents, with vectors: reused when the phrasings did not change, else embedded."""
    return _embedded(_planned(session, docs, gone, encoder), encoder)


@dataclass
class _Plan:
    """What `prepare` needs from the database, before the embedding: the vectors to reuse
    (question id -> (key, packed blob), or (None, None) without an encoder) and the documents
    to embed, each with its key."""

    docs: Sequence[QuestionDoc]
    gone: Sequence[int]
    blobs: dict[int, tuple[str | None, bytes | None]]
    to_embed: list[tuple[QuestionDoc, str]]


def _planned(session: Session, docs: Sequence[QuestionDoc], gone: Sequence[int], encoder) -> _Plan:
    existing = {}
    want = [d.id for d in docs]
    for start in range(0, len(want), 500):
        for qid, key, blob in session.execute(
            select(SearchDocument.question_id, SearchDocument.vectors_key, SearchDocument.vectors)
            .where(SearchDocument.question_id.in_(want[start:start + 500]))
        ):
            existing[qid] = (key, blob)
    blobs: dict[int, tuple[str | None, bytes | None]] = {}
    to_embed: list[tuple[QuestionDoc, str]] = []
    name = getattr(encoder, "name", "")
    for d in docs:
        key = vectors_key(d, name)
        old = existing.get(d.id)
        if d.vectors is not None:
            blobs[d.id] = (key, _pack(np.asarray(d.vectors, dtype=np.float32)))
        elif old and old[0] == key and old[1] is not None and encoder is not None:
            blobs[d.id] = old
        elif encoder is not None:
            to_embed.append((d, key))
        else:
            blobs[d.id] = (None, None)
    return _Plan(docs, gone, blobs, to_embed)


def _embedded(plan: _Plan, encoder, threads: int = 1) -> Prepared:
    """The plan's rows, embedding what it lists with up to `threads` batches at once (no
    database access: may run on another thread)."""
    blobs = plan.blobs
    if plan.to_embed:
        phrasings = [_phrasings(d) for d, _key in plan.to_embed]
        texts = [p for ps in phrasings for p in ps]
        matrix = encoder.embed(texts, threads=threads)
        start = 0
        for (d, key), ps in zip(plan.to_embed, phrasings, strict=True):
            blobs[d.id] = (key, _pack(matrix[start:start + len(ps)]))
            start += len(ps)
    rows = []
    for d in plan.docs:
        key, blob = blobs[d.id]
        rows.append(dict(
            question_id=d.id, visible=True, title=d.title, body=d.body,
            accepted_answer=d.accepted_answer, tags=" ".join(d.tags), product=d.product, status=d.status,
            solved=d.solved, score=d.score, answer_count=d.answer_count, created_at=d.created_at,
            alternate_titles="\n".join(stored_alternate(t) for t in d.alternate_titles),
            alternate_bodies="\f".join(b.replace("\f", " ") for b in d.alternate_bodies),
            vectors=blob, vectors_key=key))
    return Prepared(rows, list(plan.gone))


def store(session: Session, prepared: Prepared) -> None:
    """Write prepared rows with fresh sequence numbers (a short write transaction)."""
    if not prepared.rows and not prepared.gone:
        return
    seq = _next_seq(session, len(prepared.rows) + len(prepared.gone))
    rows = []
    for row in prepared.rows:
        rows.append({**row, "seq": seq})
        seq += 1
    for qid in prepared.gone:
        rows.append(dict(question_id=qid, seq=seq, visible=False, title="", body="", accepted_answer="",
                         tags="", product=None, status="gone", solved=False, score=0, answer_count=0,
                         created_at=utcnow(), alternate_titles="", alternate_bodies="", vectors=None,
                         vectors_key=None))
        seq += 1
    _upsert_rows(session, rows)


def _upsert_rows(session: Session, rows: list[dict]) -> None:
    table = SearchDocument.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        stmt = dialect_insert(table).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.question_id],
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != "question_id"})
        session.execute(stmt)


def _pack(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype=np.float16).tobytes()


def _unpack(blob: bytes | None) -> np.ndarray | None:
    if not blob:
        return None
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, DIMENSIONS)


def _row_to_doc(row: SearchDocument) -> QuestionDoc:
    vecs = _unpack(row.vectors)
    return QuestionDoc(
        id=row.question_id, title=row.title, body=row.body, tags=tuple(row.tags.split()) if row.tags else (),
        product=row.product, status=row.status, solved=row.solved, score=row.score,
        answer_count=row.answer_count, created_at=row.created_at, accepted_answer=row.accepted_answer,
        alternate_titles=tuple(row.alternate_titles.split("\n")) if row.alternate_titles else (),
        alternate_bodies=tuple(row.alternate_bodies.split("\f")) if row.alternate_bodies else (),
        vectors=tuple(tuple(float(x) for x in v) for v in vecs) if vecs is not None else None)


def stored_documents(session: Session, ids: Iterable[int]) -> tuple[list[QuestionDoc], list[int]]:
    """The stored documents (with vectors) for these ids, and the ids that are not in the index."""
    wanted = sorted(set(ids))
    docs, found = [], set()
    for start in range(0, len(wanted), 500):
        for row in session.execute(select(SearchDocument).where(
                SearchDocument.question_id.in_(wanted[start:start + 500]), SearchDocument.visible.is_(True))).scalars():
            docs.append(_row_to_doc(row))
            found.add(row.question_id)
    return docs, [i for i in wanted if i not in found]


def iter_stored(engine: Engine, batch: int = 500):
    """Every visible stored document, in batches (for a Meilisearch rebuild)."""
    last = 0
    while True:
        with Session(engine) as session:
            rows = list(session.execute(select(SearchDocument).where(
                SearchDocument.question_id > last, SearchDocument.visible.is_(True))
                .order_by(SearchDocument.question_id).limit(batch)).scalars())
            if not rows:
                return
            yield [_row_to_doc(r) for r in rows]
            last = rows[-1].question_id


def phrasing_vectors(engine: Engine, batch: int = 1000):
    """Yield (question id, title vector, {alternate title: its vector}) for every visible stored
    document with vectors, reading the phrasings in `_phrasings` order (for app.search.learned)."""
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(SearchDocument.question_id, SearchDocument.body,
                                       SearchDocument.alternate_titles, SearchDocument.vectors)
                                .where(SearchDocument.question_id > last, SearchDocument.visible.is_(True))
                                .order_by(SearchDocument.question_id).limit(batch)).all()
        if not rows:
            return
        for qid, body, alternates, blob in rows:
            vecs = _unpack(blob)
            titles = alternates.split("\n") if alternates else []
            first = 1 if body else 0
            if vecs is None or len(vecs) != first + 1 + len(titles):
                continue
            yield qid, vecs[first], dict(zip(titles, vecs[first + 1:]))
        last = rows[-1][0]


def rebuild_all(engine: Engine, *, encoder=None, progress=lambda done, total: None, chunk: int = 256) -> int:
    """Rebuild every stored document from the database; rows for vanished questions are hidden.

    Chunks of `chunk` questions, in id order, go through a two-stage pipeline: while one chunk
    is embedded (on a thread of its own; the encoder releases the GIL and runs
    `embedding.BULK_THREADS` batches at once, app.search.embedding), the next is read and built
    from the database and the one before is stored, each in a short transaction of its own;
    chunks are stored in order. Returns the number of documents written (visible ones);
    `progress(done, total)` is called after each chunk is stored. An error of the embedding is
    raised when its chunk's turn to be stored comes; chunks stored before it stay stored (a
    reindex is idempotent: run it again).
    """
    from app.questions.models import Question

    with Session(engine) as session:
        total = session.execute(select(func.count()).select_from(Question)).scalar_one()
    done, last, indexed = 0, 0, 0
    pending = None  # (future of Prepared, ids) of the chunk being embedded

    def stored(future, ids: list[int]) -> None:
        nonlocal done, indexed
        prepared = future.result()
        with Session(writer(engine)) as session, session.begin():
            store(session, prepared)
        done, indexed = done + len(ids), indexed + len(prepared.rows)
        progress(done, total)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reindex-embed") as embedder:
        while True:
            queued = None
            with Session(engine) as session:  # build without holding the write lock
                ids = list(session.execute(select(Question.id).where(Question.id > last)
                                           .order_by(Question.id).limit(chunk)).scalars())
                if ids:
                    docs, gone = indexer.build(session, ids)
                    plan = _planned(session, docs, gone, encoder)
                    # Queued before the previous chunk is stored, so the encoder never waits for
                    # the store; chunks are still stored in order.
                    queued = (embedder.submit(_embedded, plan, encoder, embedding.BULK_THREADS), ids)
            if pending is not None:
                stored(*pending)
            pending = queued
            if not ids:
                break
            last = ids[-1]
    # Stored rows whose question no longer exists at all.
    with Session(writer(engine)) as session, session.begin():
        orphans = list(session.execute(select(SearchDocument.question_id).where(
            SearchDocument.visible.is_(True),
            SearchDocument.question_id.not_in(select(Question.id)))).scalars())
        if orphans:
            write_documents(session, [], orphans)
        state = session.get(SearchState, 1, with_for_update=True)
        if state is not None:
            state.rebuilt_at = utcnow()
    return indexed


# === in-memory index =============================================================================

class _Grow:
    """A numpy array that grows by doubling."""

    def __init__(self, dtype, width: int | None = None) -> None:
        self.width = width
        self.data = np.zeros((64, width) if width else 64, dtype=dtype)
        self.n = 0

    def append(self, values) -> int:
        values = np.asarray(values, dtype=self.data.dtype)
        count = len(values) if values.ndim == (2 if self.width else 1) else 1
        need = self.n + count
        if need > len(self.data):
            size = max(need, 2 * len(self.data))
            new = np.zeros((size, self.width) if self.width else size, dtype=self.data.dtype)
            new[: self.n] = self.data[: self.n]
            self.data = new
        start = self.n
        self.data[start:need] = values
        self.n = need
        return start

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


class _Bm25:
    """BM25F postings over slots: per term, the slots and their field-weighted term frequency.

    With `positions`, each slot's per-position term ids are kept as well (fields separated by a
    gap), for phrases and proximity: about 4 bytes per word of indexed text.
    """

    def __init__(self, fields: dict[str, float], k1: float, b: float, *, positions: bool = False) -> None:
        self.fields, self.k1, self.b = fields, k1, b
        self.postings: dict[str, tuple[array, array]] = {}
        self.df: dict[str, int] = {}
        self.doc_terms: dict[int, tuple[str, ...]] = {}
        self.dl = _Grow(np.float32)
        self.total_len = 0.0
        self.docs = 0
        self.positions = positions
        self.term_id: dict[str, int] = {}
        self.stream = _Grow(np.int32)
        self.stream_at: dict[int, tuple[int, int]] = {}

    def add(self, slot: int, texts: dict[str, Iterable[str]]) -> dict[str, list[str]]:
        """Index one slot; returns the terms of each field (for the typo vocabulary)."""
        weights: dict[str, float] = {}
        length = 0.0
        seen: dict[str, list[str]] = {}
        ids: list[int] = []
        for field, weight in self.fields.items():
            for text in texts.get(field, ()):
                if not text:
                    continue
                terms, parts = analysis.index_text(text)
                seen.setdefault(field, []).extend(terms)
                length += weight * len(parts)
                for t in terms:
                    weights[t] = weights.get(t, 0.0) + weight
                if self.positions:
                    if ids:
                        ids.append(_GAP)
                    term_id = self.term_id
                    for p in parts:
                        tid = term_id.get(p)
                        if tid is None:
                            tid = term_id[p] = len(term_id)
                        ids.append(tid)
        while self.dl.n <= slot:
            self.dl.append(0.0)
        self.dl.data[slot] = length
        self.total_len += length
        self.docs += 1
        for t, w in weights.items():
            post = self.postings.get(t)
            if post is None:
                post = self.postings[t] = (array("i"), array("f"))
            post[0].append(slot)
            post[1].append(w)
            self.df[t] = self.df.get(t, 0) + 1
        self.doc_terms[slot] = tuple(weights)
        if self.positions and ids:
            self.stream_at[slot] = (self.stream.append(np.asarray(ids, dtype=np.int32)), len(ids))
        return seen

    def positions_of(self, slot: int) -> np.ndarray:
        at = self.stream_at.get(slot)
        if at is None:
            return np.zeros(0, dtype=np.int32)
        return self.stream.data[at[0]:at[0] + at[1]]

    def slots_of(self, term: str) -> np.ndarray:
        post = self.postings.get(term)
        if post is None or not self.df.get(term):
            return np.zeros(0, dtype=np.int32)
        return np.frombuffer(post[0], dtype=np.int32)

    def term_scores(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(slots, BM25F contribution of `term` in each), dead slots included."""
        post = self.postings.get(term)
        if post is None or not self.df.get(term) or not self.docs:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        avgdl = max(self.total_len / self.docs, 1e-6)
        slots = np.frombuffer(post[0], dtype=np.int32)
        tf = np.frombuffer(post[1], dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.dl.view[slots] / avgdl)
        return slots, (self.idf(term) * tf * (self.k1 + 1) / (tf + norm)).astype(np.float32)

    def phrase_slots(self, terms: Sequence[str], candidates: np.ndarray) -> np.ndarray:
        """The candidate slots where `terms` occur at adjacent positions, in order."""
        ids = [self.term_id.get(t) for t in terms]
        if any(i is None for i in ids):
            return np.zeros(0, dtype=np.int32)
        out = []
        for slot in candidates.tolist():
            seq = self.positions_of(slot)
            if len(seq) < len(ids):
                continue
            starts = np.flatnonzero(seq[: len(seq) - len(ids) + 1] == ids[0])
            for j in range(1, len(ids)):
                if not len(starts):
                    break
                starts = starts[seq[starts + j] == ids[j]]
            if len(starts):
                out.append(slot)
        return np.asarray(out, dtype=np.int32)

    def remove(self, slot: int) -> None:
        terms = self.doc_terms.pop(slot, None)
        if terms is None:
            return
        self.total_len -= float(self.dl.data[slot])
        self.docs -= 1
        for t in terms:
            self.df[t] -= 1
        self.stream_at.pop(slot, None)  # its positions stay in `stream` as garbage until a restart

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.docs - df + 0.5) / (df + 0.5))

    def scores(self, query: dict[str, float], size: int) -> np.ndarray:
        """Dense BM25F scores for every slot (dead slots included; the caller masks them)."""
        out = np.zeros(size, dtype=np.float32)
        if not self.docs:
            return out
        avgdl = max(self.total_len / self.docs, 1e-6)
        dl = self.dl.view
        for term, qweight in query.items():
            post = self.postings.get(term)
            if post is None or not self.df.get(term):
                continue
            slots = np.frombuffer(post[0], dtype=np.int32)
            tf = np.frombuffer(post[1], dtype=np.float32)
            norm = self.k1 * (1 - self.b + self.b * dl[slots] / avgdl)
            out[slots] += qweight * self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
        return out


class MemoryIndex:
    """The in-process view of `search_documents`; thread-safe, caught up before each read."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seq = -1
        self.generation = ""
        self.slot_of: dict[int, int] = {}
        self.text_key: dict[int, str] = {}
        self.qid = _Grow(np.int64)
        self.alive = _Grow(np.bool_)
        self.product = _Grow(np.int32)
        self.status = _Grow(np.int8)
        self.solved = _Grow(np.bool_)
        self.score = _Grow(np.int32)
        self.created = _Grow(np.float64)
        self.alternates = _Grow(np.int32)
        self.products: dict[str | None, int] = {None: 0}
        self.tag_codes: dict[str, int] = {}
        # Each question's tags as (slot, tag code) pairs in flat arrays, for the tag filter and the
        # tag facet in numpy: a slot's pairs are tag_span[slot] = (start, count); replaced or dead
        # ones have code -1. (A dict of tags per slot, walked in Python, cost 50 ms per search at
        # 100k questions: issue 11.)
        self.tag_slot = _Grow(np.int32)
        self.tag_code = _Grow(np.int32)
        self.tag_span: dict[int, tuple[int, int]] = {}
        self.titles = _Bm25(SIMILAR_FIELDS, SIMILAR_K1, SIMILAR_B)
        self.full: _Bm25 | None = None  # built on the first full-text search
        self.full_rows: dict[int, dict] = {}  # slot -> texts, kept only until the full index exists
        self.vectors = _Grow(np.float32, DIMENSIONS)
        self.vector_owner = _Grow(np.int32)
        # Per slot, for the learned ranker's features: where its phrasing vectors start, how many,
        # which of them is the title alone, and the title's index terms.
        self.vec_start = _Grow(np.int32)
        self.vec_count = _Grow(np.int32)
        self.vec_title = _Grow(np.int32)
        self.title_terms: dict[int, frozenset[str]] = {}
        self.newest = 0.0  # the newest question's creation time (ages count back from it: deterministic)
        self.vocabulary: list[str] = []
        self._vocab_seen: set[str] = set()
        self._vocab_sorted: list[str] = []  # for prefix completion, re-sorted when the vocabulary grew

    # -- keeping up --------------------------------------------------------------------------------
    def catch_up(self, engine: Engine) -> None:
        with engine.connect() as conn:
            state = conn.execute(select(SearchState.seq, SearchState.generation).where(SearchState.id == 1)).first()
            seq, generation = (state[0], state[1]) if state else (0, "")
            if seq == self.seq and generation == self.generation:
                return
            with self.lock:
                if seq == self.seq and generation == self.generation:
                    return
                if generation != self.generation and self.seq >= 0:
                    self.__init__()  # the table was emptied or restored: start again
                query = select(SearchDocument).where(SearchDocument.seq > self.seq).order_by(SearchDocument.seq)
                if self.seq < 0:
                    query = select(SearchDocument).where(SearchDocument.visible.is_(True))
                last = self.seq
                for row in conn.execute(query).mappings():
                    self._apply(row)
                    last = max(last, row["seq"])
                self.seq, self.generation = max(seq, last), generation

    def _apply(self, row) -> None:
        qid = row["question_id"]
        old = self.slot_of.get(qid)
        if not row["visible"]:
            if old is not None:
                self._kill(old)
                del self.slot_of[qid]
            return
        key = hashlib.md5("\x00".join((row["title"], row["alternate_titles"], row["tags"], row["body"],
                                       row["accepted_answer"], row["alternate_bodies"],
                                       row["vectors_key"] or "")).encode()).hexdigest()
        if old is not None and self.text_key.get(qid) == key:
            self._set_meta(old, row)  # only votes, status or the like changed: no re-tokenising
            return
        if old is not None:
            self._kill(old)
        slot = self.qid.append(qid)
        self.alive.append(True)
        for g in (self.product, self.status, self.solved, self.score, self.created, self.alternates,
                  self.vec_start, self.vec_count, self.vec_title):
            g.append(0)
        self.slot_of[qid], self.text_key[qid] = slot, key
        self._set_meta(slot, row)
        alternates = row["alternate_titles"].split("\n") if row["alternate_titles"] else []
        self.alternates.data[slot] = len(alternates)
        self.titles.add(slot, {"title": [row["title"]], "alternate_titles": alternates})
        self.title_terms[slot] = frozenset(tokens(row["title"]))
        texts = {"title": [row["title"]], "alternate_titles": alternates, "tags": [row["tags"]],
                 "body": [row["body"]], "accepted_answer": [row["accepted_answer"]],
                 "alternate_bodies": row["alternate_bodies"].split("\f") if row["alternate_bodies"] else []}
        if self.full is not None:
            self._add_full(slot, texts)
        else:
            self.full_rows[slot] = texts
        vecs = _unpack(row["vectors"])
        if vecs is not None and len(vecs):
            self.vec_start.data[slot] = self.vectors.append(vecs)
            self.vec_count.data[slot] = len(vecs)
            # _phrasings order: [title. body start], title, alternates
            self.vec_title.data[slot] = max(0, len(vecs) - 1 - len(alternates))
            self.vector_owner.append(np.full(len(vecs), slot, dtype=np.int32))

    def _set_meta(self, slot: int, row) -> None:
        product = row["product"]
        if product not in self.products:
            self.products[product] = len(self.products)
        self.product.data[slot] = self.products[product]
        self.status.data[slot] = 1 if row["status"] == "closed" else 0
        self.solved.data[slot] = bool(row["solved"])
        self.score.data[slot] = row["score"]
        created = row["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        self.created.data[slot] = created.timestamp()
        self.newest = max(self.newest, created.timestamp())
        codes = []
        for tag in (row["tags"] or "").split():
            if tag not in self.tag_codes:
                self.tag_codes[tag] = len(self.tag_codes)
            codes.append(self.tag_codes[tag])
        span = self.tag_span.get(slot)
        if codes != (self.tag_code.data[span[0]:span[0] + span[1]].tolist() if span else []):
            self._drop_tag_pairs(slot)
            if codes:
                start = self.tag_slot.append(np.full(len(codes), slot, dtype=np.int32))
                self.tag_code.append(np.asarray(codes, dtype=np.int32))
                self.tag_span[slot] = (start, len(codes))

    def _drop_tag_pairs(self, slot: int) -> None:
        span = self.tag_span.pop(slot, None)
        if span is not None:
            self.tag_code.data[span[0]:span[0] + span[1]] = -1

    def _kill(self, slot: int) -> None:
        self.alive.data[slot] = False
        self.titles.remove(slot)
        if self.full is not None:
            self.full.remove(slot)
        self.full_rows.pop(slot, None)
        self._drop_tag_pairs(slot)
        self.title_terms.pop(slot, None)

    def _add_full(self, slot: int, texts: dict) -> None:
        seen = self.full.add(slot, texts)
        for field in ("title", "tags", "body"):
            for t in seen.get(field, ()):
                if t not in self._vocab_seen and len(t) >= 4 and t.isalpha():
                    self._vocab_seen.add(t)
                    self.vocabulary.append(t)

    def _ensure_full(self) -> None:
        if self.full is None:
            self.full = _Bm25(SEARCH_FIELDS, SEARCH_K1, SEARCH_B, positions=True)
            for slot, texts in self.full_rows.items():
                if self.alive.data[slot]:
                    self._add_full(slot, texts)
            self.full_rows = {}

    # -- reading -----------------------------------------------------------------------------------
    def _mask(self, product: str | None = None, tag: str | None = None, solved: bool | None = None,
              status: str | None = None) -> np.ndarray | None:
        mask = self.alive.view.copy()
        if product is not None:
            code = self.products.get(product)
            if code is None:
                return None
            mask &= self.product.view == code
        if solved is not None:
            mask &= self.solved.view == solved
        if status is not None:
            mask &= self.status.view == (1 if status == "closed" else 0)
        if tag is not None:
            code = self.tag_codes.get(tag)
            if code is None:
                return None
            has = np.zeros(len(mask), dtype=bool)
            has[self.tag_slot.view[self.tag_code.view == code]] = True
            mask &= has
        return mask

    def _nearest(self, vector, mask: np.ndarray, sims: np.ndarray | None = None) -> dict[int, float]:
        """slot -> best cosine of any of its phrasings to `vector`, for the nearest phrasings in `mask`."""
        sims = (self.vectors.view @ np.asarray(vector, dtype=np.float32)) if sims is None else sims.copy()
        owners = self.vector_owner.view
        sims[~mask[owners]] = -2
        best: dict[int, float] = {}
        for row in _top(sims, CANDIDATES * 3):
            if sims[row] <= -2:
                break
            slot = int(owners[row])
            if slot not in best:
                best[slot] = float(sims[row])
        return best

    def _pool(self, query: SimilarQuery, mask: np.ndarray) -> dict:
        """The base ranking's working set: BM25F scores, keyword and semantic ranks, cosines, the
        rank-fused order (every candidate of either ranking, best first) and the phrasing sims."""
        n = self.qid.n
        weights: dict[str, float] = {}
        for t in tokens(query.title):
            weights[t] = weights.get(t, 0.0) + 1.0
        for t in tokens(query.body[:5000])[:200]:
            weights[t] = weights.get(t, 0.0) + SIMILAR_BODY_WEIGHT
        keyword = self.titles.scores(weights, n)
        keyword[~mask] = 0
        keyword_rank = [s for s in _top(keyword, CANDIDATES) if keyword[s] > 0]
        cosine: dict[int, float] = {}
        semantic_rank: list[int] = []
        sims = None
        if query.vector is not None and self.vectors.n:
            sims = self.vectors.view @ np.asarray(query.vector, dtype=np.float32)
            best = self._nearest(query.vector, mask, sims)
            # Semantic-only candidates must be at least loosely related (no keyword in common).
            keyword_set = set(keyword_rank)
            best = {s: c for s, c in best.items() if c >= SEMANTIC_FLOOR or s in keyword_set}
            cosine = best
            bonus = {s: c + ALTERNATES_BONUS * math.log1p(int(self.alternates.data[s])) for s, c in best.items()}
            semantic_rank = sorted(bonus, key=bonus.get, reverse=True)[:CANDIDATES]
        fused: dict[int, float] = {}
        if semantic_rank:
            for rank, slot in enumerate(keyword_rank):
                fused[slot] = fused.get(slot, 0.0) + RRF_KEYWORD_WEIGHT / (RRF_K + rank + 1)
            for rank, slot in enumerate(semantic_rank):
                fused[slot] = fused.get(slot, 0.0) + RRF_SEMANTIC_WEIGHT / (RRF_K + rank + 1)
            order = sorted(fused, key=fused.get, reverse=True)
        else:
            order = keyword_rank
        return {"weights": weights, "keyword": keyword, "keyword_rank": keyword_rank, "cosine": cosine,
                "semantic_rank": semantic_rank, "fused": fused, "order": order, "sims": sims}

    def similar(self, query: SimilarQuery, *, ranker=None, base_vector=None) -> list[Hit]:
        """The questions most like `query`, best first. With `ranker` (app.search.learned: a
        callable scoring a (n, len(FEATURES)) float32 matrix), the first RERANK_DEPTH candidates of
        the base ranking are re-ordered by its scores (ties keep the base order); `base_vector` is
        the query's vector before the learned adapter, for the features."""
        with self.lock:
            mask = self._mask(product=query.product)
            if mask is None or not mask.any():
                return []
            pool = self._pool(query, mask)
            order, cosine, keyword = pool["order"], pool["cosine"], pool["keyword"]
            if ranker is not None and len(order) > 1 and pool["sims"] is not None:
                head = order[:RERANK_DEPTH]
                scores = np.asarray(ranker(self._features(query, pool, head, base_vector)), dtype=np.float64)
                if len(scores) == len(head) and np.isfinite(scores).all():
                    order = [head[i] for i in np.lexsort((np.arange(len(head)), -scores))] + order[RERANK_DEPTH:]
            order = order[: query.limit]
            if pool["semantic_rank"]:
                return [Hit(int(self.qid.data[s]), round(max(0.0, cosine.get(s, 0.0)), 4)) for s in order]
            # Keyword only: similarity = the share of the query's weight the title matched, roughly.
            ceiling = sum(w * self.titles.idf(t) * (SIMILAR_K1 + 1) / (1 + SIMILAR_K1)
                          for t, w in pool["weights"].items())
            return [Hit(int(self.qid.data[s]), round(min(1.0, float(keyword[s]) / ceiling), 4) if ceiling else 0.0)
                    for s in order]

    def rerank(self, query: SimilarQuery, hits: Sequence[Hit], ranker, base_vector=None) -> list[Hit]:
        """`hits` (another backend's candidates, best first) with the first RERANK_DEPTH re-ordered
        by `ranker` over this index's features for them (their rank in `hits` is the base rank);
        hits this index does not hold keep their place after the re-ordered ones."""
        with self.lock:
            mask = self._mask(product=query.product)
            if mask is None or query.vector is None or not self.vectors.n:
                return list(hits)
            pool = self._pool(query, mask)
            head = [self.slot_of[h.id] for h in hits[:RERANK_DEPTH] if h.id in self.slot_of]
            if len(head) < 2:
                return list(hits)
            scores = np.asarray(ranker(self._features(query, pool, head, base_vector)), dtype=np.float64)
            if len(scores) != len(head) or not np.isfinite(scores).all():
                return list(hits)
            by_id = {h.id: h for h in hits}
            known = [by_id[int(self.qid.data[head[i]])] for i in np.lexsort((np.arange(len(head)), -scores))]
            seen = {h.id for h in known}
            return known + [h for h in hits if h.id not in seen]

    def similar_features(self, query: SimilarQuery, *, base_vector=None,
                         depth: int | None = None) -> tuple[list[int], np.ndarray]:
        """(question ids in the base ranking's order, their feature rows (n, len(FEATURES)) float32)
        for the first `depth` (RERANK_DEPTH) candidates: what the learned ranker is trained on."""
        with self.lock:
            mask = self._mask(product=query.product)
            if mask is None or not mask.any():
                return [], np.zeros((0, len(FEATURES)), dtype=np.float32)
            pool = self._pool(query, mask)
            if pool["sims"] is None:
                return [], np.zeros((0, len(FEATURES)), dtype=np.float32)
            head = pool["order"][: depth or RERANK_DEPTH]
            return [int(self.qid.data[s]) for s in head], self._features(query, pool, head, base_vector)

    def _features(self, query: SimilarQuery, pool: dict, head: list[int], base_vector=None) -> np.ndarray:
        """One row of FEATURES per candidate slot in `head` (float32; NaN where a value does not
        exist, e.g. no body phrasing); see FEATURES for what each column is."""
        keyword, cosine, sims = pool["keyword"], pool["cosine"], pool["sims"]
        kw_rank = {s: r for r, s in enumerate(pool["keyword_rank"])}
        sem_rank = {s: r for r, s in enumerate(pool["semantic_rank"])}
        fused = pool["fused"]
        kw_max = max(float(keyword[head].max()), 1e-9) if head else 1.0
        cos_max = max(cosine.values()) if cosine else 0.0
        q_terms = set(tokens(query.title))
        base = None if base_vector is None else np.asarray(base_vector, dtype=np.float32)
        phrasing_vectors = self.vectors.view
        now = self.newest
        out = np.full((len(head), len(FEATURES)), np.nan, dtype=np.float32)
        for i, s in enumerate(head):
            start, count, title = int(self.vec_start.data[s]), int(self.vec_count.data[s]), int(self.vec_title.data[s])
            row = out[i]
            row[0] = fused.get(s, 0.0)
            row[1] = i
            row[2] = keyword[s]
            row[3] = keyword[s] / kw_max
            row[4] = kw_rank.get(s, CANDIDATES)
            best = cosine.get(s)
            if count:
                own = sims[start:start + count]
                best = float(own.max()) if best is None else best
                row[8] = own[title]
                if title > 0:
                    row[9] = own[0]
                alts = own[title + 1:]
                if len(alts):
                    row[10] = float(alts.mean())
                    row[11] = float(alts.max())
                row[12] = float((own >= 0.6).sum())
                if base is not None:  # only the candidates' own phrasings, not the whole matrix
                    row[20] = float((phrasing_vectors[start:start + count] @ base).max())
            if best is not None:
                row[5] = best
                row[6] = best - cos_max
            row[7] = sem_rank.get(s, CANDIDATES)
            row[13] = math.log1p(int(self.alternates.data[s]))
            t_terms = self.title_terms.get(s, frozenset())
            common = len(q_terms & t_terms)
            row[14] = common / max(1, len(q_terms))
            row[15] = common / max(1, len(t_terms))
            row[16] = len(t_terms) / max(1, len(q_terms))
            row[17] = float(self.score.data[s])
            row[18] = float(self.solved.data[s])
            row[19] = (now - float(self.created.data[s])) / 86400.0
        return out

    def search(self, query: SearchQuery) -> tuple[list[tuple[int, float]], int, dict[str, dict[str, int]], set[str]]:
        """(qid, score) for the page, total, facets, and the index terms matched (for highlights).

        Matching like a search engine, not a filter: questions that match every clause come
        first; while fewer than RELAX_POOL (or the page) match, questions missing one clause
        follow, then two,
        down to questions matching one clause (quoted phrases are always required). Between
        questions that miss as many, the rarer words count more (BM25F), with the proximity
        boost; fused with the sentence-vector ranking when the query has a vector.
        """
        with self.lock:
            self._ensure_full()
            n = self.qid.n
            f = query.filters
            mask = self._mask(product=f.product, tag=f.tag, solved=f.solved, status=f.status)
            if mask is None:
                return [], 0, {}, set()
            parsed = analysis.parse_query(query.q, typing=not query.q.endswith(" "))
            clauses = parsed.clauses
            matched_terms: set[str] = set()
            need = max(query.page * query.size, RELAX_POOL)
            if not clauses:
                scores = np.where(mask, self.created.view, -np.inf)
                total = int(mask.sum())
                facets = self._facets(mask)
                start = (query.page - 1) * query.size
                order = _top(scores, start + query.size)[start:]
                return ([(int(self.qid.data[s]), float(scores[s])) for s in order if np.isfinite(scores[s])],
                        total, facets, matched_terms)
            has, part = [], []
            for clause in clauses:
                if clause.expandable:
                    for alt in list(clause.alternatives):
                        if len(alt.terms) == 1 and alt.weight == 1.0:
                            for v, w in self._variants(alt.terms[0], last=clause.last).items():
                                clause.add((v,), w)
                h, sc = self._clause(clause, n)
                has.append(h & mask)
                part.append(sc)
                if h.any():
                    matched_terms.update(t for a in clause.alternatives for t in a.terms)
            level = self._levels(clauses, has, mask, need)
            in_set = level < len(clauses)
            keyword = np.zeros(n, dtype=np.float32)
            for h, sc in zip(has, part):
                keyword += np.where(h, sc, 0)
            keyword = keyword + 0.01 * np.log1p(np.maximum(self.score.view, 0)) + 0.05 * self.solved.view
            keyword = self._proximity(clauses, keyword, in_set)
            # Keyword order: level first (more clauses matched), then score.
            kw_key = np.where(in_set, keyword.astype(np.float64) - level * 1e6, -np.inf)
            final = kw_key
            if query.vector is not None and self.vectors.n:
                # A quoted phrase is a requirement: then the vector side only reorders what matched.
                join = not any(c.required for c in clauses)
                relaxed = not (in_set & (level == 0)).any()
                weight = SEARCH_SEMANTIC_WEIGHT_RELAXED if relaxed else SEARCH_SEMANTIC_WEIGHT
                final, in_set = self._hybrid(query.vector, kw_key, in_set, mask, join=join, weight=weight)
            total = int(in_set.sum())
            facets = self._facets(in_set)
            start = (query.page - 1) * query.size
            order = _top(np.where(in_set, final, -np.inf), start + query.size)[start:]
            page = [(int(self.qid.data[s]), float(final[s])) for s in order if in_set[s]]
            return page, total, facets, matched_terms

    def _clause(self, clause: analysis.Clause, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(slots matching any alternative, best weighted BM25F of a matching alternative)."""
        full = self.full
        has = np.zeros(n, dtype=bool)
        best = np.zeros(n, dtype=np.float32)
        for alt in clause.alternatives:
            if len(alt.terms) == 1:
                slots, sc = full.term_scores(alt.terms[0])
                if not len(slots):
                    continue
            else:
                candidates = None
                for t in alt.terms:
                    slots_t = full.slots_of(t)
                    candidates = slots_t if candidates is None else np.intersect1d(candidates, slots_t,
                                                                                   assume_unique=True)
                    if not len(candidates):
                        break
                if candidates is None or not len(candidates):
                    continue
                candidates = candidates[self.alive.view[candidates]]
                slots = full.phrase_slots(alt.terms, candidates)
                if not len(slots):
                    continue
                sc = np.zeros(len(slots), dtype=np.float32)
                for t in alt.terms:
                    t_slots, t_sc = full.term_scores(t)
                    dense = np.zeros(n, dtype=np.float32)
                    dense[t_slots] = t_sc
                    sc += dense[slots]
                sc /= len(alt.terms)  # a phrase is one clause: its words' mean, so "wi fi" is not twice "wifi"
            has[slots] = True
            best[slots] = np.maximum(best[slots], alt.weight * sc)
        return has, best

    @staticmethod
    def _levels(clauses: list[analysis.Clause], has: list[np.ndarray], mask: np.ndarray, need: int) -> np.ndarray:
        """Per slot, how many optional clauses it misses (len(clauses): not a result).

        Questions that match every clause are the results while they fill the page (`need`);
        otherwise the bar is lowered one clause at a time, down to one. Quoted phrases are
        always required. Results rank by fewest clauses missed, then by score.
        """
        n = len(mask)
        required = mask.copy()
        matched = np.zeros(n, dtype=np.int32)
        optional = 0
        for clause, h in zip(clauses, has):
            if clause.required:
                required &= h
            else:
                matched += h
                optional += 1
        missed = optional - matched
        level = np.full(n, len(clauses), dtype=np.int32)
        if not optional:
            level[required] = 0
            return level
        for bar in range(optional, 0, -1):
            chosen = required & (matched >= bar)
            if int(chosen.sum()) >= need or bar == 1:
                level[chosen] = missed[chosen]
                break
        return level

    def _proximity(self, clauses: list[analysis.Clause], keyword: np.ndarray, in_set: np.ndarray) -> np.ndarray:
        """Multiply the best candidates' scores by 1 + PROXIMITY_BOOST × the share of neighbouring
        clause pairs whose words stand within PROXIMITY_WINDOW positions, in order."""
        if len(clauses) < 2:
            return keyword
        full = self.full
        ids = []
        for clause in clauses:
            firsts = {full.term_id.get(a.terms[0]) for a in clause.alternatives}
            lasts = {full.term_id.get(a.terms[-1]) for a in clause.alternatives}
            ids.append((np.asarray([i for i in firsts if i is not None], dtype=np.int32),
                        np.asarray([i for i in lasts if i is not None], dtype=np.int32)))
        pairs = len(clauses) - 1
        candidates = [s for s in _top(np.where(in_set, keyword, -np.inf), PROXIMITY_DEPTH) if in_set[s]]
        out = keyword.copy()
        seqs = [full.positions_of(s) for s in candidates]
        kept = [i for i, seq in enumerate(seqs) if len(seq)]
        if not kept:
            return out
        # All candidates' position streams end to end, each position tagged with its candidate:
        # one membership test per clause end instead of one per candidate and pair.
        stream = np.concatenate([seqs[i] for i in kept])
        owner = np.repeat(np.arange(len(kept)), [len(seqs[i]) for i in kept])

        def where(wanted: np.ndarray) -> np.ndarray:
            if len(wanted) == 1:  # the usual case; np.isin costs ~20 µs even for one value
                return stream == wanted[0]
            return np.isin(stream, wanted)

        near = np.zeros(len(kept), dtype=np.int32)
        for j in range(pairs):
            ends, starts = where(ids[j][1]), where(ids[j + 1][0])
            found = np.zeros(len(kept), dtype=bool)
            for gap in range(1, min(PROXIMITY_WINDOW, len(stream) - 1) + 1):
                hit = ends[:-gap] & starts[gap:] & (owner[:-gap] == owner[gap:])
                found[owner[:-gap][hit]] = True
            near += found
        for k, i in enumerate(kept):
            if near[k]:
                slot = candidates[i]
                out[slot] = keyword[slot] * (1 + PROXIMITY_BOOST * int(near[k]) / pairs)
        return out

    def _hybrid(self, vector, kw_key: np.ndarray, in_set: np.ndarray, mask: np.ndarray, *, join: bool,
                weight: float):
        """Reciprocal rank fusion of the keyword order and the sentence-vector order, as the
        similar-question side does; with `join`, questions no keyword matched join from
        cosine SEARCH_SEMANTIC_FLOOR."""
        best = {s: c for s, c in self._nearest(vector, mask).items()
                if in_set[s] or (join and c >= SEARCH_SEMANTIC_FLOOR)}
        if not best:
            return kw_key, in_set
        fused = np.full(len(kw_key), -np.inf, dtype=np.float64)
        fused[in_set] = 0.0
        for rank, slot in enumerate(_top(kw_key, CANDIDATES)):
            if in_set[slot]:
                fused[slot] += 1.0 / (RRF_K + rank + 1)
        semantic = sorted(best, key=best.get, reverse=True)[:CANDIDATES]
        joined = in_set.copy()
        for rank, slot in enumerate(semantic):
            if not joined[slot]:
                joined[slot] = True
                fused[slot] = 0.0
            fused[slot] += weight / (RRF_K + rank + 1)
        # Beyond both top lists the keyword order still decides (tiny, order-preserving tie-break).
        tail = joined & np.isfinite(kw_key)
        if tail.any():
            lo, hi = float(kw_key[tail].min()), float(kw_key[tail].max())
            fused[tail] += 1e-6 * (kw_key[tail] - lo) / ((hi - lo) or 1.0)
        return fused, joined

    def _variants(self, term: str, *, last: bool) -> dict[str, float]:
        """Vocabulary terms within 1–2 edits of `term` (typos), and completions of the last word.
        Edits are counted as Meilisearch counts them (Damerau-Levenshtein, here its optimal string
        alignment form): two neighbouring letters swapped, "frimware", are one edit, as are a
        letter added, dropped or changed; one edit from 5 letters, two from 9 (Meilisearch's
        minWordSizeForTypos defaults)."""
        full = self.full
        out: dict[str, float] = {}
        if len(term) >= 5 and term.isalpha():
            from rapidfuzz import process
            from rapidfuzz.distance import OSA

            limit = 1 if len(term) < 9 else 2
            for candidate, distance, _ in process.extract(term, self.vocabulary, scorer=OSA.distance,
                                                          score_cutoff=limit, limit=5):
                if candidate != term and full.df.get(candidate):
                    out.setdefault(candidate, 0.6 if distance == 1 else 0.4)
        if last and len(term) >= 3 and term.isalpha() and len(out) < 4:
            if len(self._vocab_sorted) != len(self.vocabulary):
                self._vocab_sorted = sorted(self.vocabulary)
            ordered = self._vocab_sorted
            at = bisect.bisect_left(ordered, term)
            while at < len(ordered) and ordered[at].startswith(term) and len(out) < 6:
                candidate = ordered[at]
                if candidate != term and full.df.get(candidate):
                    out.setdefault(candidate, 0.7)
                at += 1
        return out

    def _facets(self, mask: np.ndarray) -> dict[str, dict[str, int]]:
        names = {code: name for name, code in self.products.items()}
        product_counts = np.bincount(self.product.view[mask], minlength=len(self.products))
        products = {names[c]: int(v) for c, v in enumerate(product_counts) if v and names[c] is not None}
        solved_n = int((self.solved.view & mask).sum())
        tag_names = {code: name for name, code in self.tag_codes.items()}
        codes, slots = self.tag_code.view, self.tag_slot.view
        live = (codes >= 0) & mask[slots]  # a dropped pair's slot is still a valid index of mask
        counts = np.bincount(codes[live], minlength=len(self.tag_codes))
        present = np.flatnonzero(counts)
        if len(present) > TAG_FACETS:  # only tags at least as frequent as the TAG_FACETS-th can be shown
            present = present[counts[present] >= np.partition(counts[present], -TAG_FACETS)[-TAG_FACETS]]
        tags = dict(sorted(((tag_names[int(c)], int(counts[c])) for c in present),
                           key=lambda kv: (-kv[1], kv[0]))[:TAG_FACETS])
        return {"product": products, "tags": tags,
                "solved": {"true": solved_n, "false": int(mask.sum()) - solved_n}}


def _top(scores: np.ndarray, k: int) -> list[int]:
    if k <= 0 or not len(scores):
        return []
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(len(scores))
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


# === highlighting ================================================================================

def highlight(text: str, terms: Iterable[str], *, crop: int | None = None) -> str:
    """HTML-escaped `text` with <mark> around the words whose index terms are in `terms`.

    Matching goes through the same analysis as indexing (so `cafe` marks "Café", `install`
    marks "installing", `固件` marks those two characters of a longer run), and the marks are
    placed on the original text. With `crop`, about that many tokens (at least 1) around the first
    match.
    """
    if not text:
        return ""
    if crop is not None:
        crop = max(1, crop)
    wanted = set(terms)
    toks: list[analysis.Token] = []
    spans: list[tuple[int, int]] = []
    first = None
    for i, tok in enumerate(analysis.iter_tokens(text)):
        if crop is not None and first is not None and i > max(0, first - crop // 3) + crop:
            break  # past the cropped window (and the one token that says more text follows)
        toks.append(tok)
        hit = False
        if len(tok.parts) > 1 and len(tok.part_spans) == len(tok.parts):  # a compound: wi-fi, c++, .net
            whole_matched = wanted.intersection(set(tok.terms) - set(tok.parts)) or wanted.issuperset(tok.parts)
            if whole_matched and not wanted.isdisjoint(tok.terms):
                spans.append((tok.start, tok.end))
                hit = True
            else:
                for (a, b), p in zip(tok.part_spans, tok.parts):
                    if p in wanted:
                        spans.append((a, b))
                        hit = True
        elif not wanted.isdisjoint(tok.terms):
            spans.append((tok.start, tok.end))
            hit = True
        if hit and first is None:
            first = i
    lo, hi, prefix, suffix = 0, len(text), "", ""
    if crop is not None and len(toks) > crop:
        start_tok = max(0, (first or 0) - crop // 3)
        end_tok = min(len(toks), start_tok + crop)
        lo, hi = toks[start_tok].start, toks[end_tok - 1].end
        prefix = "…" if start_tok > 0 else ""
        suffix = "…" if end_tok < len(toks) else ""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, at = [prefix], lo
    for a, b in merged:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        out.append(html.escape(text[at:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        at = b
    out.append(html.escape(text[at:hi]))
    out.append(suffix)
    return "".join(out)


# === the backend =================================================================================

_indexes: dict[str, MemoryIndex] = {}
_indexes_lock = threading.Lock()


def memory_index(engine: Engine) -> MemoryIndex:
    key = str(engine.url) + f"#{id(engine.pool)}" if engine.url.database in (None, "", ":memory:") else str(engine.url)
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = MemoryIndex()
        return index


def forget_memory_indexes() -> None:
    """Drop every in-memory index (tests that recreate a database under the same URL)."""
    with _indexes_lock:
        _indexes.clear()


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, engine: Engine, *, encoder=None) -> None:
        self.engine, self.encoder = engine, encoder

    @property
    def index(self) -> MemoryIndex:
        return memory_index(self.engine)

    def ensure_index(self) -> None:
        self.index.catch_up(self.engine)

    def upsert(self, docs: Sequence[QuestionDoc]) -> None:
        with Session(writer(self.engine)) as session, session.begin():
            write_documents(session, docs, [], encoder=self.encoder)

    def delete(self, ids: Sequence[int]) -> None:
        with Session(writer(self.engine)) as session, session.begin():
            write_documents(session, [], list(ids))

    def similar(self, query: SimilarQuery) -> list[Hit]:
        index = self.index
        index.catch_up(self.engine)
        return index.similar(query)

    def similar_reranked(self, query: SimilarQuery, ranker, base_vector=None) -> list[Hit]:
        """similar() with the first RERANK_DEPTH candidates re-ordered by the learned ranker."""
        index = self.index
        index.catch_up(self.engine)
        return index.similar(query, ranker=ranker, base_vector=base_vector)

    def rerank(self, query: SimilarQuery, hits: Sequence[Hit], ranker, base_vector=None) -> list[Hit]:
        """Another backend's hits re-ordered by the learned ranker (features from this index)."""
        index = self.index
        index.catch_up(self.engine)
        return index.rerank(query, hits, ranker, base_vector)

    def search(self, query: SearchQuery) -> SearchResult:
        index = self.index
        index.catch_up(self.engine)
        page, total, facets, words = index.search(query)
        ids = [qid for qid, _ in page]
        texts = {}
        if ids:
            with self.engine.connect() as conn:
                texts = {r.question_id: (r.title, r.body) for r in conn.execute(
                    select(SearchDocument.question_id, SearchDocument.title, SearchDocument.body)
                    .where(SearchDocument.question_id.in_(ids)))}
        hits = []
        for qid, score in page:
            title, body = texts.get(qid, ("", ""))
            hits.append(Hit(qid, score, {"title": highlight(title, words), "body": highlight(body, words, crop=30)}))
        return SearchResult(hits=hits, total=total, facets=facets)

    def rebuild(self, batches: Iterable[Sequence[QuestionDoc]]) -> int:
        count = 0
        for docs in batches:
            self.upsert(docs)
            count += len(docs)
        return count

    def healthy(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(SearchState.seq).limit(1))
            return True
        except Exception:  # noqa: BLE001
            return False


__all__ = ["EmbeddedBackend", "MemoryIndex", "highlight", "index_questions", "iter_stored", "phrasing_vectors",
           "rebuild_all", "stored_documents", "tokens", "write_documents"]
