"""Duplicate detection that learns from the community's own duplicate closures.

Every duplicate link in the database (a question closed, or merged, as a duplicate of an
original; native or imported) is a moderator's judgement that two wordings ask the same thing.
Two models are learned from them, each stored as a row of `search_learned_models` and served by
every process (the newest row for the running encoder):

1. A *query adapter*: a 384×384 matrix W = I + Δ/2 applied to the sentence vector of a would-be
   question before it is compared with the stored phrasing vectors,

       similarity(query, phrasing) = cos(W·q, p)

   so the documents' vectors (in `search_documents` and in Meilisearch) never change when the
   model does. Trained with the multiple-negatives ranking loss (softmax over the batch's other
   originals plus HARD_NEGATIVES mined hard negatives per pair: the questions the base model
   ranks highest that are not the original), SGD with momentum, L2 pull of Δ towards zero, fixed
   seed and order: the same links give the same matrix. Stored only when similar() finds more
   held-out originals with it than without (train).
2. A *re-ranker*: LightGBM lambdarank over similar()'s first RERANK_DEPTH candidates and the
   features the in-memory index computes (app.search.embedded.FEATURES), trained on groups
   gathered without leakage (ranker_groups) and, when an adapter is served, through adapters
   learned without each group's own link (adapter_without). Stored only when it beats the base
   order on held-out originals (train_ranker).

Why these and not fine-tuning the encoder or more features: measured on the AskUbuntu history
with 5-fold cross-validation and end to end, see docs/search-research.md.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # same as app.search.embedded
import numpy as np  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.core.db import utcnow, writer  # noqa: E402
from app.questions.models import Question, QuestionStatus  # noqa: E402
from app.search.models import LearnedModel  # noqa: E402
from app.search.ports import DIMENSIONS  # noqa: E402

_log = logging.getLogger("groundswell.search")

# --- training hyper-parameters (chosen on fold 1 of the 5-fold CV over the history, docs/search-research.md) ---
EPOCHS = 8
BATCH = 256
LEARNING_RATE = 0.01
WEIGHT_DECAY = 1e-3  # L2 pull of Δ = W - I towards zero, per step
SCALE = 20.0  # softmax temperature on cosine-like scores (sentence-transformers' MNR default)
HARD_NEGATIVES = 6
SEED = 13
#: The served matrix is I + BLEND·Δ: the full Δ is tuned for the cosine side alone, but in the
#: fused ranking (BM25F over folded duplicates already carries part of the signal) half of it
#: did better: CV fold 1 R@5 0.591 → 0.585 with Δ, → 0.610 with Δ/2 (docs/search-research.md).
BLEND = 0.5
MIN_STEPS = 300  # small communities: more epochs, so a few hundred links still get enough updates


@dataclass
class TrainingSet:
    """Pairs (duplicate's vector, original's vector) and the original's id of each pair.

    queries, positives: float32 (n, 384) unit vectors; groups: int64 (n,) original ids (pairs
    with the same original are not used as each other's negatives); corpus: optional float32
    (m, 384) phrasing vectors of every indexed question with corpus_owner (m,) their question
    ids, used to mine hard negatives.
    """

    queries: np.ndarray
    positives: np.ndarray
    groups: np.ndarray
    corpus: np.ndarray | None = None
    corpus_owner: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def mine_hard_negatives(queries: np.ndarray, groups: np.ndarray, corpus: np.ndarray, owner: np.ndarray,
                        *, per_query: int = HARD_NEGATIVES, exclude: np.ndarray | None = None,
                        chunk: int = 256) -> np.ndarray:
    """For each query the `per_query` corpus rows the base model ranks highest whose owner is
    not the query's original (nor `exclude[i]`, the question the query came from).

    Returns int64 row numbers into `corpus`, shape (n, per_query). Cost: n × m dot products, in
    chunks of `chunk` queries (peak memory chunk × m × 4 bytes: 57 MB for 56k phrasings).
    """
    n = len(queries)
    out = np.zeros((n, per_query), dtype=np.int64)
    depth = min(per_query + 8, len(corpus))
    for start in range(0, n, chunk):
        sims = queries[start:start + chunk] @ corpus.T
        top = np.argpartition(-sims, depth - 1, axis=1)[:, :depth] if depth < sims.shape[1] else \
            np.tile(np.arange(sims.shape[1]), (len(sims), 1))
        for j in range(len(sims)):
            i = start + j
            cand = top[j][np.argsort(-sims[j, top[j]], kind="stable")]
            picked = [c for c in cand if owner[c] != groups[i] and (exclude is None or owner[c] != exclude[i])]
            picked = (picked or [cand[-1]])[:per_query]
            while len(picked) < per_query:  # tiny corpora: repeat the last one
                picked.append(picked[-1])
            out[i] = picked
    return out


def train_adapter(data: TrainingSet, *, epochs: int = EPOCHS, batch: int = BATCH, lr: float = LEARNING_RATE,
                  weight_decay: float = WEIGHT_DECAY, scale: float = SCALE, hard_negatives: int = HARD_NEGATIVES,
                  seed: int = SEED, blend: float = BLEND, deadline: float | None = None) -> np.ndarray:
    """Learn W = I + blend·Δ (float32, 384×384) so that W·q ranks each pair's original first.

    Loss per pair i of a batch: cross-entropy of softmax_j(scale · (W q_i)·k_j) at k_i = its
    positive, over the batch's positives and hard negatives (other pairs of the same original
    masked out). SGD with momentum 0.9, weight decay on Δ = W − I. Deterministic for the
    same inputs (fixed seed; BLAS on one thread). Raises TimeoutError past `deadline`
    (time.monotonic()).
    """
    q = np.ascontiguousarray(data.queries, dtype=np.float32)
    p = np.ascontiguousarray(data.positives, dtype=np.float32)
    groups = np.asarray(data.groups)
    n, d = q.shape
    negatives = None
    if hard_negatives and data.corpus is not None and len(data.corpus):
        negatives = mine_hard_negatives(q, groups, data.corpus, data.corpus_owner, per_query=hard_negatives,
                                        exclude=data.extra.get("query_owner"))
    delta = np.zeros((d, d), dtype=np.float32)
    m = np.zeros_like(delta)  # momentum
    rng = np.random.default_rng(seed)
    step = 0
    epochs = max(epochs, -(-MIN_STEPS // max(1, -(-n // batch))))
    for _epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("training ran past its time budget")
            idx = order[start:start + batch]
            if len(idx) < 2:
                continue
            qb = q[idx]
            keys = p[idx]
            if negatives is not None:
                keys = np.concatenate([keys, data.corpus[negatives[idx].reshape(-1)]])
            qa = qb + qb @ delta.T  # (W q)ᵀ rows
            logits = scale * (qa @ keys.T)
            b = len(idx)
            same = groups[idx][:, None] == groups[idx][None, :]
            np.fill_diagonal(same, False)
            logits[:, :b][same] = -1e9
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            probs[np.arange(b), np.arange(b)] -= 1.0
            probs /= b
            grad = scale * (probs @ keys).T @ qb  # d loss / d W
            step += 1
            # SGD with momentum: the update stays in the span of the data's directions (Adam's
            # per-entry scaling moved all 147k entries alike and wrecked W: ‖Δ‖ 10 on a toy set).
            m = 0.9 * m + grad
            delta -= lr * (m + weight_decay * delta)
    return (np.eye(d, dtype=np.float32) + blend * delta).astype(np.float32)


def adapt(matrix: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
    """W·q re-normalised to unit length (float32, shape (384,)); q itself when matrix is None."""
    vector = np.asarray(vector, dtype=np.float32)
    if matrix is None:
        return vector
    out = matrix @ vector
    norm = float(np.linalg.norm(out))
    return (out / norm).astype(np.float32) if norm > 1e-12 else vector




# === learning to rank: a re-ranker over similar()'s candidates ==================================

#: Folds the known links are split into to gather the ranker's training groups: each part is
#: asked of an index where its own links are not folded in (as a new question would be).
RANKER_INNER_FOLDS = 2
#: The duplicate count (`log_duplicates`) the ranker is served, as a share of the true count. Each
#: inner part's index leaves out that part's titles, so the counts the ranker learned from are
#: about (1 − 1/RANKER_INNER_FOLDS) of what serving shows; scaling them back at serving removes
#: that skew (5-fold CV on the AskUbuntu history, R@5 .634 → .636, MRR@10 .510 → .511, 4 folds
#: of 5 better; dev end to end .640 → .648: docs/search-research.md, "The duplicate count's
#: train/serve skew").
RANKER_COUNT_SCALE = 1.0 - 1.0 / RANKER_INNER_FOLDS
#: LightGBM lambdarank settings (chosen on CV fold 1, docs/search-research.md).
RANKER_PARAMS = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [5], "learning_rate": 0.05,
                 "num_leaves": 15, "min_data_in_leaf": 50, "lambdarank_truncation_level": 20,
                 "feature_fraction": 1.0, "bagging_fraction": 1.0, "deterministic": True,
                 "force_row_wise": True, "num_threads": 1, "seed": SEED, "verbosity": -1}
RANKER_ROUNDS = 200
#: Whether the ranker is trained on (and served with) the adapted query vector, when a query
#: adapter is served: CV folds 1-3 R@5 +0.007, R@1 +0.015 over the ranker on base vectors
#: (docs/search-research.md, "The adapter and the re-ranker together").
RANKER_WITH_ADAPTER = True
#: Whether reindex and the worker train the re-ranker at all.
RANKER_ENABLED = True


def train_ranker_on(x: np.ndarray, y: np.ndarray, sizes: np.ndarray, *, rounds: int = RANKER_ROUNDS,
                    params: dict | None = None) -> str:
    """Train LightGBM lambdarank on query groups and return the model as LightGBM's text format.

    x: float32 (n, len(FEATURES)) candidate rows, group by group; y: int (n,) 1 for the original,
    0 otherwise; sizes: int (g,) rows per group, summing to n. Deterministic for the same input
    (one thread, `deterministic`, fixed seed). Raises ImportError without lightgbm.
    """
    import lightgbm

    data = lightgbm.Dataset(np.asarray(x, dtype=np.float32), label=np.asarray(y), group=np.asarray(sizes),
                            free_raw_data=True, params={"verbosity": -1})
    booster = lightgbm.train({**RANKER_PARAMS, **(params or {})}, data, num_boost_round=rounds)
    return booster.model_to_string()


class Ranker:
    """A stored re-ranker, callable on a (n, len(FEATURES)) float32 matrix: one score per row.

    `count_scale` multiplies each candidate's duplicate count (the `log_duplicates` column,
    log1p of the count; the product is rounded to a whole count) before scoring: 1.0 scores the
    rows as given; the served ranker gets the scale it was trained for (RANKER_COUNT_SCALE,
    stored in its metrics). Raises ValueError for a negative scale.
    """

    def __init__(self, model: str, *, count_scale: float = 1.0) -> None:
        import lightgbm

        if not count_scale >= 0:
            raise ValueError(f"count_scale must be 0 or more, not {count_scale}")
        from app.search.embedded import FEATURES

        self.booster = lightgbm.Booster(model_str=model)
        self.count_scale = float(count_scale)
        self._count_col = FEATURES.index("log_duplicates")

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if self.count_scale != 1.0:  # a copy: the caller's rows stay as they were
            col = self._count_col
            features = np.array(features, dtype=np.float32, copy=True)
            features[:, col] = np.log1p(np.round(np.expm1(features[:, col]) * self.count_scale))
        return self.booster.predict(features, num_threads=1)


# === the database: what to learn from, where the model lives, who serves it =====================

#: Below this many duplicate links nothing is learned and similar() ranks as before. With fewer,
#: the 5-fold CV gain on the AskUbuntu history is within noise (docs/search-research.md).
MIN_LINKS = 500
#: The worker retrains after this many new duplicate links since the served model...
REFRESH_AFTER_LINKS = 200
#: ...and at least this often while the links changed at all (closures reopened, questions deleted).
REFRESH_MAX_AGE = timedelta(days=7)
#: A training that runs longer than this is abandoned (the previous model stays).
TIME_BUDGET_S = 600.0
#: Share of the links held out to check a new model against the base model before it is served.
VALIDATION_SHARE = 0.1
KEEP_VERSIONS = 3
KIND = "query-adapter"
POLL_SECONDS = 1.0  # how often a serving process looks for a newer model (p95 of the poll under load: ~17 ms)


@dataclass
class Served:
    """The model a process serves: its version (row id) and matrix (float32 384×384)."""

    version: int
    matrix: np.ndarray
    links: int
    stamp: tuple = ()  # (id, created_at): what the poll compares
    checked: float = 0.0  # time.monotonic() of the last poll


@dataclass
class Outcome:
    """What a training did: `version` of the stored model, or None with the `reason` it was not."""

    version: int | None
    reason: str
    links: int = 0
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)


def count_links(session: Session) -> int:
    """Duplicate links the database holds: questions closed or merged as duplicates, native or
    imported, not deleted, public (the internal space teaches the public model nothing), pointing
    at an original."""
    return session.execute(select(func.count()).select_from(Question).where(
        Question.status == QuestionStatus.duplicate.value, Question.duplicate_of_id.is_not(None),
        Question.deleted_at.is_(None), Question.visibility == "public")).scalar_one()


def collect(engine: Engine) -> TrainingSet:
    """The training pairs, from the database only: each duplicate link gives (the duplicate's title
    vector, its original's title vector). Vectors come from `search_documents` (the duplicate's
    title is one of its original's stored phrasings), so nothing is re-embedded; links whose
    vectors are not stored (semantic off, beyond the 50 folded phrasings) are skipped.
    The corpus for hard negatives is every stored phrasing vector with its owner.
    """
    from app.search.embedded import phrasing_vectors, stored_alternate

    links: dict[int, list[str]] = {}
    with Session(engine) as session:
        for original, title in session.execute(
                select(Question.duplicate_of_id, Question.title).where(
                    Question.status == QuestionStatus.duplicate.value, Question.duplicate_of_id.is_not(None),
                    Question.deleted_at.is_(None), Question.visibility == "public").order_by(Question.id)):
            links.setdefault(original, []).append(stored_alternate(title))
    queries, positives, groups, corpus, owner = [], [], [], [], []
    titles: list[str] = []  # each pair's duplicate title
    corpus_titles: list[str] = []  # each corpus row's alternate title ("" for the question's own)
    for qid, title_vec, alternates in phrasing_vectors(engine):
        corpus.append(title_vec)
        owner.append(qid)
        corpus_titles.append("")
        for title, vec in alternates.items():
            corpus.append(vec)
            owner.append(qid)
            corpus_titles.append(title)
        for title in links.get(qid, ()):
            vec = alternates.get(title)
            if vec is not None:
                queries.append(vec)
                positives.append(title_vec)
                groups.append(qid)
                titles.append(title)
    dims = (0, DIMENSIONS)
    return TrainingSet(
        queries=np.asarray(queries, dtype=np.float32).reshape(-1, DIMENSIONS),
        positives=np.asarray(positives, dtype=np.float32).reshape(-1, DIMENSIONS),
        groups=np.asarray(groups, dtype=np.int64),
        corpus=np.asarray(corpus, dtype=np.float32).reshape(dims if not corpus else (-1, DIMENSIONS)),
        corpus_owner=np.asarray(owner, dtype=np.int64),
        extra={"titles": titles, "corpus_titles": corpus_titles})


def adapter_without(data: TrainingSet, asked: set[tuple[int, str]], *,
                    deadline: float | None = None) -> np.ndarray | None:
    """A query adapter (train_adapter) learned from `data` (collect()) without the links in
    `asked` ((original id, duplicate title) pairs): their pairs are left out and so are their
    titles' vectors among the hard-negative corpus, as if those duplicates had never been
    closed. For the ranker's training groups (ranker_groups), so that the adapted candidates a
    group is gathered from owe nothing to the group's own link. None when fewer than 2 pairs
    remain. Raises TimeoutError past `deadline`."""
    titles = data.extra.get("titles", [])
    corpus_titles = data.extra.get("corpus_titles", [])
    keep = np.asarray([k for k in range(len(data.queries)) if (int(data.groups[k]), titles[k]) not in asked],
                      dtype=np.int64)
    if len(keep) < 2:
        return None
    corpus, owner = data.corpus, data.corpus_owner
    if corpus is not None and len(corpus_titles) == len(corpus):
        rows = np.asarray([k for k in range(len(corpus))
                           if not corpus_titles[k] or (int(owner[k]), corpus_titles[k]) not in asked], dtype=np.int64)
        corpus, owner = corpus[rows], owner[rows]
    subset = TrainingSet(queries=data.queries[keep], positives=data.positives[keep], groups=data.groups[keep],
                         corpus=corpus, corpus_owner=owner)
    return train_adapter(subset, deadline=deadline)


def _similar_recall(rows: list[dict], links: list[tuple[int, int, str]], matrix: np.ndarray | None,
                    deadline: float | None) -> tuple[float, float]:
    """(recall@5, recall@1) of `links` ((dup, original, title)) asked of similar() over `rows` (the
    stored documents) with those links not folded in, query vectors adapted by `matrix` (None: the
    base vectors): the share of links whose original the base ranking (no re-ranker) puts in the
    first 5 / first place. Links without a stored vector count as misses for both."""
    x, y, _sizes, _originals = ranker_groups(rows, links, parts=1, adapter=matrix, deadline=deadline)
    rank = x[:, 1][y == 1]  # column 1: the candidate's place in the base ranking
    n = max(1, len(links))
    return float((rank < 5).sum()) / n, float((rank < 1).sum()) / n


def train(engine: Engine, *, encoder_name: str, min_links: int | None = None, time_budget: float | None = None,
          log: Callable[[str], None] = lambda _m: None) -> Outcome:
    """Learn a query adapter from the database's duplicate links and store it as the served model.

    Steps: collect the pairs (too few: nothing happens); hold out VALIDATION_SHARE of the
    originals' groups, train on the rest (adapter_without) and check similar()'s recall@5 on the
    held-out titles against the base vectors' (_similar_recall; a model that does worse is not stored); then train on every pair and store the matrix as
    a new row of `search_learned_models` in one short write. Any failure (including the time
    budget) stores nothing, so the previous model keeps being served. Never raises.
    """
    min_links = MIN_LINKS if min_links is None else min_links
    started = time.monotonic()
    deadline = started + (TIME_BUDGET_S if time_budget is None else time_budget)
    try:
        with Session(engine) as session:
            total = count_links(session)
        if total < min_links:
            return Outcome(None, f"{total} duplicate links, fewer than the {min_links} needed to learn", total)
        data = collect(engine)
        n = len(data.queries)
        if n < min_links:
            return Outcome(None, f"{n} duplicate links with stored vectors, fewer than the {min_links} needed", n)
        rng = np.random.default_rng(SEED)
        originals = np.unique(data.groups)
        held_groups = set(rng.choice(originals, size=max(1, int(VALIDATION_SHARE * len(originals))),
                                     replace=False).tolist())
        held = np.flatnonzero(np.isin(data.groups, list(held_groups)))
        log(f"learning from {n:,} duplicate links: checking on {len(held):,} held out…")
        titles = data.extra["titles"]
        asked = {(int(data.groups[k]), titles[k]) for k in held}
        check = adapter_without(data, asked, deadline=deadline)
        if check is None:
            return Outcome(None, f"{n} duplicate links, too few outside the held-out ones to learn", n)
        # The check is the served path's: similar() (keyword + cosine, rank fusion) over an index
        # without the held-out links folded in, their titles asked with and without the adapter.
        # (A cosine-only check, used until 2026-12-01, refused adapters that help the fused ranking:
        # docs/search-research.md.)
        rows = _document_rows(engine)
        held_links = [(0, original, title) for original, title in sorted(asked)]
        base_r5, base_r1 = _similar_recall(rows, held_links, None, deadline)
        learned_r5, learned_r1 = _similar_recall(rows, held_links, check, deadline)
        del rows
        metrics = {"validation_links": int(len(held)), "validation_base_R@5": round(base_r5, 4),
                   "validation_R@5": round(learned_r5, 4), "validation_base_R@1": round(base_r1, 4),
                   "validation_R@1": round(learned_r1, 4), "check": "similar", "epochs": EPOCHS,
                   "learning_rate": LEARNING_RATE, "weight_decay": WEIGHT_DECAY, "hard_negatives": HARD_NEGATIVES,
                   "seed": SEED}
        if learned_r5 < base_r5:
            return Outcome(None, f"the learned model found {learned_r5:.3f} of held-out originals in the top 5, "
                                 f"the base model {base_r5:.3f}: kept the previous state", n, metrics=metrics)
        log(f"held-out recall@5 {base_r5:.3f} -> {learned_r5:.3f}; training on all {n:,} links…")
        matrix = train_adapter(data, deadline=deadline)
        seconds = time.monotonic() - started
        # `links` is what the refresh rule compares with count_links(): every link, used or not
        # (storing n, the pairs with vectors, made the adapter due forever past 200 unused links).
        version = store(engine, matrix, encoder_name=encoder_name, links=total, seconds=seconds, metrics=metrics)
        return Outcome(version, f"model {version} learned from {n:,} links in {seconds:.1f} s "
                                f"(held-out recall@5 {base_r5:.3f} -> {learned_r5:.3f})", n, seconds, metrics)
    except Exception as exc:  # noqa: BLE001 - a failed training must never take serving down
        _log.warning("learning from duplicate links failed: %s: %s", type(exc).__name__, exc)
        return Outcome(None, f"training failed ({type(exc).__name__}: {exc}): kept the previous state")


def store(engine: Engine, matrix: np.ndarray, *, encoder_name: str, links: int = 0, seconds: float = 0.0,
          metrics: dict | None = None) -> int:
    """Store W (384×384, kept as float16) as the newest model, in one short write; older rows
    beyond KEEP_VERSIONS are deleted. Returns its version (row id)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.shape != (DIMENSIONS, DIMENSIONS) or not np.isfinite(matrix).all():
        raise ValueError(f"a query adapter is a finite {DIMENSIONS}x{DIMENSIONS} matrix, not {matrix.shape}")
    with Session(writer(engine)) as session, session.begin():
        row = LearnedModel(kind=KIND, encoder=encoder_name, links=links, seconds=round(seconds, 2),
                           metrics=json.dumps(metrics or {}), blob=matrix.astype(np.float16).tobytes())
        session.add(row)
        session.flush()
        version = int(row.id)
        old = list(session.execute(select(LearnedModel.id).where(LearnedModel.kind == KIND)
                                   .order_by(LearnedModel.id.desc()).offset(KEEP_VERSIONS)).scalars())
        if old:
            session.execute(delete(LearnedModel).where(LearnedModel.id.in_(old)))
    forget_served()  # this process serves the new model from its next call
    return version


def latest(session: Session, encoder_name: str, kind: str = KIND) -> LearnedModel | None:
    """The newest stored model of `kind` (the query adapter by default) for this encoder (the
    served one), or None."""
    return session.execute(select(LearnedModel).where(
        LearnedModel.kind == kind, LearnedModel.encoder == encoder_name)
        .order_by(LearnedModel.id.desc()).limit(1)).scalars().first()


_served: dict[str, Served | None] = {}
_served_lock = threading.Lock()


def _poll(engine: Engine, kind: str, encoder_name: str, load: Callable[[LearnedModel, tuple, float], Any]):
    """The model of `kind` this process serves, shared by `served` and `served_ranker`: the newest
    row for the encoder, checked by its id and creation time alone (one indexed query) at most
    every POLL_SECONDS, and `load(row, stamp, now)` called only when those changed (under a lock,
    once per process). Returns what `load` returned (cached), or None without a row, when the
    table is missing (an unmigrated database ranks as before) or when `load` gives None."""
    key = f"{kind}|{engine.url}#{id(engine.pool)}|{encoder_name}"
    cached = _served.get(key)
    now = time.monotonic()
    if cached is not None and now - cached.checked < POLL_SECONDS:
        return cached
    try:
        with engine.connect() as conn:
            head = conn.execute(select(LearnedModel.id, LearnedModel.created_at).where(
                LearnedModel.kind == kind, LearnedModel.encoder == encoder_name)
                .order_by(LearnedModel.id.desc()).limit(1)).first()
    except Exception as exc:  # noqa: BLE001 - serving goes on with the base model
        _log.warning("learned %s unavailable: %s", kind, exc)
        return None
    if head is None:
        return None
    stamp = (int(head[0]), str(head[1]))
    current = _served.get(key)
    if current is not None and current.stamp == stamp:
        current.checked = now
        return current
    with _served_lock:
        current = _served.get(key)
        if current is not None and current.stamp == stamp:
            return current
        with Session(engine) as session:
            row = session.get(LearnedModel, stamp[0])
            if row is None:
                return current
            loaded = load(row, stamp, now)
            if loaded is not None:
                _served[key] = loaded
            return loaded


def served(engine: Engine, encoder_name: str) -> Served | None:
    """The query adapter this process serves (`_poll`): every process polling the same database
    serves the same version (within POLL_SECONDS of a new one being stored; the storing process
    switches at once). None when there is no model."""
    def load(row: LearnedModel, stamp: tuple, now: float) -> Served:
        matrix = np.frombuffer(row.blob, dtype=np.float16).astype(np.float32).reshape(DIMENSIONS, DIMENSIONS)
        return Served(version=stamp[0], matrix=matrix, links=row.links, stamp=stamp, checked=now)

    return _poll(engine, KIND, encoder_name, load)


def adapt_query(engine: Engine, encoder_name: str, vector: np.ndarray, *, enabled: bool = True) -> np.ndarray:
    """The query vector similar() should use: W·q (unit length) under the served model, else q."""
    if not enabled:
        return np.asarray(vector, dtype=np.float32)
    model = served(engine, encoder_name)
    return adapt(model.matrix if model is not None else None, vector)


def forget_served() -> None:
    """Drop every process-local copy (tests that recreate a database under the same URL)."""
    with _served_lock:
        _served.clear()
        _ranker_tried.clear()
        _adapter_tried.clear()


# --- the learned re-ranker in the database ---------------------------------------------------------

RANKER_KIND = "ranker"
#: Share of the links' originals held out to check a new ranker against the base ranking.
RANKER_VALIDATION_SHARE = 0.1


def _document_rows(engine: Engine) -> list[dict]:
    """Every visible `search_documents` row as a plain dict (what MemoryIndex._apply reads)."""
    from app.search.models import SearchDocument

    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(SearchDocument).where(SearchDocument.visible.is_(True))
                                              .order_by(SearchDocument.question_id)).mappings()]


def _link_titles(engine: Engine) -> list[tuple[int, int, str]]:
    """(duplicate id, original id, duplicate's title) for the duplicate links the ranker learns
    from: every one in the database but those re-pointed down a chain (`duplicate_via_id` set: it
    was closed against a question later closed as a duplicate itself). Their label would be the
    chain's end, which the moderators never named. AskUbuntu dev split end to end: R@5 .644 ->
    .652, R@1 .422 -> .436, R@10 .720 -> .708; neutral in CV (docs/search-research.md, "Chains")."""
    from app.search.embedded import stored_alternate

    with Session(engine) as session:
        return [(int(d), int(o), stored_alternate(t)) for d, o, t in session.execute(
            select(Question.id, Question.duplicate_of_id, Question.title).where(
                Question.status == QuestionStatus.duplicate.value, Question.duplicate_of_id.is_not(None),
                Question.duplicate_via_id.is_(None),
                Question.deleted_at.is_(None), Question.visibility == "public").order_by(Question.id))]


def ranker_groups(rows: list[dict], links: list[tuple[int, int, str]], *, parts: int = RANKER_INNER_FOLDS,
                  adapter: np.ndarray | Callable[[set[tuple[int, str]]], np.ndarray | None] | None = None,
                  deadline: float | None = None, embed: Callable[[list[str]], np.ndarray] | None = None,
                  log: Callable[[str], None] = lambda _m: None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ranker's training groups, gathered without leakage: the links are split into `parts`
    (seeded); for each part an index is built from `rows` with that part's duplicate titles (and
    their vectors) taken out of their originals, and each of those titles is asked of it with its
    stored vector (as a new question would be), giving the first RERANK_DEPTH candidates' features
    and labels (1 = the original). Links whose title is not folded into its original (past the
    50 phrasings) are asked too when `embed` (texts -> (n, 384) unit vectors, the encoder's
    `embed`) is given, else skipped; links whose original is not a visible document (chains) are
    skipped, and so are groups where the original is not among the candidates (they teach a
    ranker nothing).
    `adapter`: None (base vectors), a query adapter matrix applied to every part, or a callable
    given each part's asked links ((original id, duplicate title) pairs) that returns the adapter
    for that part (adapter_without: learned without them) or None; with an adapter the queries
    use adapted vectors and the features get the base vector too (`cosine_base_best`).

    Returns (x float32 (n, len(FEATURES)), y int32 (n,), sizes int64 (g,), originals int64 (g,)).
    Memory: one extra in-memory index at a time. Raises TimeoutError past `deadline`.
    """
    from app.search.embedded import FEATURES, MemoryIndex, _pack, _unpack
    from app.search.ports import SimilarQuery

    by_id = {r["question_id"]: r for r in rows}
    # (dup, original, title, position among the alternates, or -1 when not folded in)
    usable: list[tuple[int, int, str, int]] = []
    unfolded: list[tuple[int, int, str, int]] = []
    for dup, original, title in links:
        row = by_id.get(original)
        if row is None:
            continue
        alternates = row["alternate_titles"].split("\n") if row["alternate_titles"] else []
        if title in alternates:
            usable.append((dup, original, title, alternates.index(title)))
        elif embed is not None:
            unfolded.append((dup, original, title, -1))
    # Links whose title is not among the original's stored phrasings (beyond the 50 folded in,
    # mostly the most asked questions) have no stored vector: embedded here, their groups teach
    # what being asked again and again says (the bench asks them all: docs/search-research.md).
    own_vector: dict[tuple[int, str], np.ndarray] = {}
    if unfolded:
        vectors = np.asarray(embed([t for _d, _o, t, _p in unfolded]), dtype=np.float32)
        own_vector = {(o, t): vectors[k] for k, (_d, o, t, _p) in enumerate(unfolded)}
        usable += unfolded
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("embedding the ranker's training titles ran past its time budget")
    part_of = np.random.default_rng(SEED).permutation(len(usable)) % max(1, parts)
    xs, ys, sizes, originals = [], [], [], []
    for p in range(max(1, parts)):
        asked = [usable[k] for k in range(len(usable)) if part_of[k] == p]
        matrix = adapter({(original, title) for _dup, original, title, _pos in asked}) if callable(adapter) \
            else adapter
        strip: dict[int, set[int]] = {}
        queries: list[tuple[int, str, np.ndarray]] = []
        for _dup, original, title, pos in asked:
            if pos >= 0:
                strip.setdefault(original, set()).add(pos)
            else:
                queries.append((original, title, own_vector[(original, title)]))
        index = MemoryIndex()
        for row in rows:
            gone = strip.get(row["question_id"])
            if gone:
                alternates = row["alternate_titles"].split("\n")
                vecs = _unpack(row["vectors"])
                first = 1 if row["body"] else 0
                if vecs is None or len(vecs) != first + 1 + len(alternates):
                    index._apply(row)
                    continue
                for pos in sorted(gone):
                    queries.append((row["question_id"], alternates[pos], vecs[first + 1 + pos]))
                keep = [k for k in range(len(alternates)) if k not in gone]
                row = {**row, "alternate_titles": "\n".join(alternates[k] for k in keep),
                       "vectors": _pack(np.concatenate([vecs[:first + 1], vecs[first + 1:][keep]]))}
            index._apply(row)
        for original, title, vec in queries:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("gathering the ranker's training data ran past its time budget")
            base = np.asarray(vec, dtype=np.float32)
            ids, feats = index.similar_features(SimilarQuery(title=title, vector=tuple(adapt(matrix, base).tolist())),
                                                base_vector=base if matrix is not None else None)
            y = np.asarray([int(i == original) for i in ids], dtype=np.int32)
            if y.any():
                xs.append(feats)
                ys.append(y)
                sizes.append(len(ids))
                originals.append(original)
        log(f"ranker: part {p + 1}/{parts}: {len(queries):,} links asked, {len(sizes):,} groups so far")
        del index
    if not xs:
        return (np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, np.int32), np.zeros(0, np.int64),
                np.zeros(0, np.int64))
    return (np.concatenate(xs), np.concatenate(ys), np.asarray(sizes, np.int64), np.asarray(originals, np.int64))


def _ranked_quality(scores: np.ndarray, y: np.ndarray, sizes: np.ndarray, k: int = 5,
                    owners: np.ndarray | None = None) -> tuple[float, float]:
    """(recall@k, MRR@10) of groups ranked by `scores` (ties: the base order): the share whose
    label-1 row is among the k best, and the mean reciprocal rank of it within the first 10.
    With `owners` (one original per group), each original counts once: the figures are averaged
    over its groups first, then over the originals."""
    hit, rr, start = np.zeros(len(sizes)), np.zeros(len(sizes)), 0
    for g, size in enumerate(sizes):
        s, lab = scores[start:start + size], y[start:start + size]
        order = np.lexsort((np.arange(size), -s))
        where = np.flatnonzero(lab[order])
        if len(where):
            hit[g] = float(where[0] < k)
            rr[g] = 1.0 / (where[0] + 1) if where[0] < 10 else 0.0
        start += size
    if not len(sizes):
        return 0.0, 0.0
    if owners is None:
        return float(hit.mean()), float(rr.mean())
    _, which = np.unique(owners, return_inverse=True)
    counts = np.bincount(which)
    return (float(np.mean(np.bincount(which, weights=hit) / counts)),
            float(np.mean(np.bincount(which, weights=rr) / counts)))


def train_ranker(engine: Engine, *, encoder_name: str, min_links: int | None = None,
                 time_budget: float | None = None, log: Callable[[str], None] = lambda _m: None,
                 encoder=None) -> Outcome:
    """Learn the re-ranker from the database's duplicate links and store it as the served one.

    Steps: gather the groups (ranker_groups, over the stored documents); hold out
    RANKER_VALIDATION_SHARE of the originals, train on the rest and compare recall@5 on the held
    groups with the base order (a ranker with a lower recall@5 or no better MRR@10 is not stored); then train on
    every group and store LightGBM's model text as a new `search_learned_models` row of kind
    "ranker". Any failure (lightgbm missing, time budget) stores nothing: the previous ranker, or
    none, stays in force. Never raises. `encoder` (app.search.embedding, the served one): embeds
    the titles of links not folded into their original, so they are learned from too.
    """
    min_links = MIN_LINKS if min_links is None else min_links
    started = time.monotonic()
    deadline = started + (TIME_BUDGET_S if time_budget is None else time_budget)
    try:
        with Session(engine) as session:
            total = count_links(session)
        if total < min_links:
            return Outcome(None, f"ranker: {total} duplicate links, fewer than the {min_links} needed to learn", total)
        import lightgbm  # noqa: F401 - fail early, before the costly part

        adapter = None
        if RANKER_WITH_ADAPTER and served(engine, encoder_name) is not None:
            # The groups are gathered with adapted query vectors, as served, but each inner part's
            # adapter is learned without that part's links (adapter_without): the served adapter
            # learned from all of them, and groups asked through it would look easier than the
            # new questions the ranker will meet (measured: docs/search-research.md).
            pairs = collect(engine)

            def adapter(asked: set[tuple[int, str]]) -> np.ndarray:
                matrix = adapter_without(pairs, asked, deadline=deadline)
                if matrix is None:
                    raise _NoPartAdapter
                return matrix
        embed = (lambda texts: encoder.embed(texts, batch_size=32)) if encoder is not None else None  # noqa: E731
        rows, links = _document_rows(engine), _link_titles(engine)
        try:
            x, y, sizes, originals = ranker_groups(rows, links, adapter=adapter, deadline=deadline, embed=embed,
                                                   log=log)
        except _NoPartAdapter:  # too few links outside a part to learn its adapter: base vectors
            adapter = None
            x, y, sizes, originals = ranker_groups(rows, links, deadline=deadline, embed=embed, log=log)
        del rows, links
        pairs = None  # noqa: F841 - the corpus copy is not needed past the gathering
        if len(sizes) < min_links // 2:
            return Outcome(None, f"ranker: {len(sizes)} usable links, too few to learn", int(len(sizes)))
        rng = np.random.default_rng(SEED)
        unique = np.unique(originals)
        held_set = rng.choice(unique, size=max(1, int(RANKER_VALIDATION_SHARE * len(unique))), replace=False)
        held = np.isin(originals, held_set)
        row_group = np.repeat(np.arange(len(sizes)), sizes)
        fit_rows, held_rows = ~held[row_group], held[row_group]
        check = Ranker(train_ranker_on(x[fit_rows], y[fit_rows], sizes[~held]))
        # Column 1 of the features is the base rank. Each held-out original counts once: the most
        # asked originals bring hundreds of groups each, and counted per group a handful of them
        # decided the check (docs/search-research.md, "Folding more than 50 duplicate titles").
        owners = originals[held]
        held_scores, held_y = check(x[held_rows]), y[held_rows]
        base_r5, base_mrr = _ranked_quality(-x[held_rows, 1], held_y, sizes[held], owners=owners)
        learned_r5, learned_mrr = _ranked_quality(held_scores, held_y, sizes[held], owners=owners)
        per_group = (_ranked_quality(-x[held_rows, 1], held_y, sizes[held])[0],
                     _ranked_quality(held_scores, held_y, sizes[held])[0])
        metrics = {"validation_groups": int(held.sum()), "validation_originals": int(len(np.unique(owners))),
                   "validation_base_R@5": round(base_r5, 4),
                   "validation_R@5": round(learned_r5, 4), "validation_base_MRR@10": round(base_mrr, 4),
                   "validation_MRR@10": round(learned_mrr, 4),
                   "validation_base_R@5_per_group": round(per_group[0], 4),
                   "validation_R@5_per_group": round(per_group[1], 4), "groups": int(len(sizes)),
                   "rounds": RANKER_ROUNDS, "with_adapter": adapter is not None,
                   "count_scale": RANKER_COUNT_SCALE,
                   "adapter_version": getattr(served(engine, encoder_name), "version", None) if adapter is not None else None}
        if learned_r5 < base_r5 or learned_mrr <= base_mrr:
            return Outcome(None, f"ranker: held-out recall@5 {learned_r5:.3f}, MRR@10 {learned_mrr:.3f} against "
                                 f"the base ranking's {base_r5:.3f}, {base_mrr:.3f}: kept the previous state",
                           int(len(sizes)), metrics=metrics)
        if time.monotonic() > deadline:
            raise TimeoutError("training ran past its time budget")
        text = train_ranker_on(x, y, sizes)
        seconds = time.monotonic() - started
        version = store_ranker(engine, text, encoder_name=encoder_name, links=total, seconds=seconds, metrics=metrics)
        return Outcome(version, f"ranker {version} learned from {len(sizes):,} links in {seconds:.1f} s "
                                f"(held-out recall@5 {base_r5:.3f} -> {learned_r5:.3f}, MRR@10 {base_mrr:.3f} -> "
                                f"{learned_mrr:.3f})", total, seconds, metrics)
    except Exception as exc:  # noqa: BLE001 - a failed training must never take serving down
        _log.warning("learning the ranker failed: %s: %s", type(exc).__name__, exc)
        return Outcome(None, f"ranker: training failed ({type(exc).__name__}: {exc}): kept the previous state")


def store_ranker(engine: Engine, model: str, *, encoder_name: str, links: int = 0, seconds: float = 0.0,
                 metrics: dict | None = None) -> int:
    """Store a LightGBM model text as the newest ranker (one short write; rows beyond KEEP_VERSIONS
    deleted). Raises ValueError when it does not load as a ranker over FEATURES. Returns its version."""
    from app.search.embedded import FEATURES

    try:
        probe = Ranker(model)
        ok = probe.booster.num_feature() == len(FEATURES)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"not a LightGBM model: {exc}") from exc
    if not ok:
        raise ValueError(f"a ranker scores {len(FEATURES)} features, this one {probe.booster.num_feature()}")
    with Session(writer(engine)) as session, session.begin():
        row = LearnedModel(kind=RANKER_KIND, encoder=encoder_name, links=links, seconds=round(seconds, 2),
                           metrics=json.dumps(metrics or {}), blob=model.encode())
        session.add(row)
        session.flush()
        version = int(row.id)
        old = list(session.execute(select(LearnedModel.id).where(LearnedModel.kind == RANKER_KIND)
                                   .order_by(LearnedModel.id.desc()).offset(KEEP_VERSIONS)).scalars())
        if old:
            session.execute(delete(LearnedModel).where(LearnedModel.id.in_(old)))
    forget_served()
    return version


@dataclass
class ServedRanker:
    """The re-ranker a process serves: its version (row id) and the loaded model."""

    version: int
    ranker: Ranker
    links: int
    stamp: tuple = ()
    checked: float = 0.0
    with_adapter: bool = False


def served_ranker(engine: Engine, encoder_name: str) -> ServedRanker | None:
    """The re-ranker this process serves: the newest "ranker" row for the encoder, polled and
    loaded as `served` does (`_poll`). None without one, without lightgbm, or when the row does
    not load (logged)."""
    def load(row: LearnedModel, stamp: tuple, now: float) -> ServedRanker | None:
        try:
            metrics = json.loads(row.metrics or "{}")
            # Rankers stored before the count was scaled were served it as it is (1.0).
            ranker = Ranker(bytes(row.blob).decode(), count_scale=float(metrics.get("count_scale", 1.0)))
        except Exception as exc:  # noqa: BLE001 - lightgbm missing or a damaged row: base ranking
            _log.warning("learned ranker %s not served: %s", stamp[0], exc)
            return None
        with_adapter = bool(metrics.get("with_adapter"))
        return ServedRanker(version=stamp[0], ranker=ranker, links=row.links, stamp=stamp, checked=now,
                            with_adapter=with_adapter)

    return _poll(engine, RANKER_KIND, encoder_name, load)


def _due(model, links: int, refresh_after: int, max_age: timedelta, now: datetime | None) -> bool:
    if model is None:
        return True
    age = (now or utcnow()) - model.created_at
    return links - model.links >= refresh_after or (age >= max_age and links != model.links)


def latest_ranker(session: Session, encoder_name: str) -> LearnedModel | None:
    """The newest stored re-ranker for this encoder (the served one), or None."""
    return latest(session, encoder_name, RANKER_KIND)


def train_all(engine: Engine, *, encoder_name: str, min_links: int | None = None,
              log: Callable[[str], None] = lambda _m: None, encoder=None) -> str:
    """What reindex runs: the query adapter (train), then the re-ranker (train_ranker), each
    independently (one failing keeps its own previous state). Returns their two reports."""
    reports = [train(engine, encoder_name=encoder_name, min_links=min_links, log=log).reason]
    if RANKER_ENABLED:
        reports.append(train_ranker(engine, encoder_name=encoder_name, min_links=min_links, log=log,
                                    encoder=encoder).reason)
    return "; ".join(reports)


def refresh(engine: Engine, *, encoder_name: str, min_links: int | None = None,
            refresh_after: int | None = None, max_age: timedelta | None = None,
            now: datetime | None = None, encoder=None) -> str:
    """The worker's job: retrain the adapter and the re-ranker when the database holds at least
    `min_links` links and, for each, no model exists, `refresh_after` links were added since the
    served one, or it is older than `max_age` and the count changed (defaults: MIN_LINKS,
    REFRESH_AFTER_LINKS, REFRESH_MAX_AGE). A model of either kind that was not stored (it did not
    beat the base ranking) is retried only after `refresh_after` more links; the ranker is also
    retrained right after a new adapter is stored (RANKER_WITH_ADAPTER). Returns a one-line report
    ("" when nothing was due)."""
    min_links = MIN_LINKS if min_links is None else min_links
    refresh_after = REFRESH_AFTER_LINKS if refresh_after is None else refresh_after
    max_age = REFRESH_MAX_AGE if max_age is None else max_age
    with Session(engine) as session:
        links = count_links(session)
        model = latest(session, encoder_name)
        ranker = latest_ranker(session, encoder_name)
    if links < min_links:
        return ""
    reports = []
    key = f"{engine.url}|{encoder_name}"

    def due(model, tried: dict[str, int]) -> bool:
        """Due, and not a model that was never stored being retried before the links changed."""
        if not _due(model, links, refresh_after, max_age, now):
            return False
        if model is None and key in tried and abs(links - tried[key]) < refresh_after:
            return False
        tried[key] = links
        return True

    adapter_stored = False
    if due(model, _adapter_tried):
        outcome = train(engine, encoder_name=encoder_name, min_links=min_links)
        adapter_stored = outcome.version is not None
        reports.append(outcome.reason)
    # The ranker follows a newly stored adapter (it is served with it, or without any adapter
    # until retrained, when it was trained on base vectors).
    if RANKER_ENABLED and ((RANKER_WITH_ADAPTER and adapter_stored) or due(ranker, _ranker_tried)):
        _ranker_tried[key] = links
        reports.append(train_ranker(engine, encoder_name=encoder_name, min_links=min_links, encoder=encoder).reason)
    return "; ".join(reports)


_ranker_tried: dict[str, int] = {}
_adapter_tried: dict[str, int] = {}


class _NoPartAdapter(Exception):
    """An inner part of the ranker's training has too few links outside it to learn its adapter."""


__all__ = ["DIMENSIONS", "MIN_LINKS", "Outcome", "REFRESH_AFTER_LINKS", "Served", "TrainingSet", "adapt",
           "adapt_query", "collect", "Ranker", "ranker_groups", "served_ranker", "store_ranker", "train_all",
           "train_ranker", "train_ranker_on", "count_links", "forget_served", "latest", "mine_hard_negatives", "refresh",
           "served", "store", "train", "train_adapter"]
