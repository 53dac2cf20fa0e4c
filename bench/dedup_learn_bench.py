#!/usr/bin/env python3
"""Learning from duplicate closures: k-fold cross-validation over the history, and the dev check.

Data: the AskUbuntu set of ../shared/data/askubuntu-dups (questions, 12,000 history links, 500
dev links), used as ../shared/bench/dedup_eval.py uses it: the dev duplicates are not in the
forum; history duplicates are folded into their originals as alternate phrasings; queries are
titles only.

Cross-validation (what the model's settings were chosen on; the dev split is only a final check):
the history links are split into k folds (seeded). For each fold, its duplicates are removed from
the forum (as unseen questions are), the other folds' links are folded in and are all the model
learns from; the fold's duplicate titles are the queries. Each query is ranked by the real
in-memory index (app.search.embedded.MemoryIndex: BM25F + cosine over phrasings, fused), once
with the base query vector and once with the learned adapter applied.

  python bench/dedup_learn_bench.py --cache /tmp/gs-learn-cache          # 5-fold CV
  python bench/dedup_learn_bench.py --cache /tmp/gs-learn-cache --dev    # train on all, dev queries
  python bench/dedup_learn_bench.py ... --folds 5 --use 2                # only the first 2 folds

The first run embeds the corpus (titles, and "title. start of body" where there is a body) with
the app's encoder and caches the vectors in --cache (several minutes on a loaded 2-core machine).
Prints R@1/5/10 and MRR@10 before/after per fold and on average, training seconds, the index's
similar() latency p50/p95 (query vector given, as after embedding), peak RSS and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

from app.questions.duplicates import resolve_chains  # noqa: E402
from app.search import indexer, learned  # noqa: E402
from app.search.embedded import MemoryIndex, _pack  # noqa: E402
from app.search.ports import SimilarQuery  # noqa: E402


def load(data: Path, cache: Path):
    questions = [json.loads(line) for line in open(data / "questions.jsonl", encoding="utf-8")]
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "titles.npy").exists():
        from app.search.embedding import load_encoder
        from app.search.indexer import plain

        encoder = load_encoder()
        if encoder is None:
            raise SystemExit("the semantic extra is needed to embed the corpus")
        t = time.perf_counter()
        np.save(cache / "titles.npy", encoder.embed([q["title"] for q in questions], batch_size=32).astype(np.float16))
        with_body = [i for i, q in enumerate(questions) if q["body"]]
        texts = [f"{questions[i]['title']}. {plain(questions[i]['body'], 'html', 2000)[:300]}" for i in with_body]
        np.save(cache / "bodies.npy", encoder.embed(texts, batch_size=16).astype(np.float16))
        (cache / "bodies_idx.json").write_text(json.dumps(with_body))
        print(f"embedded the corpus in {time.perf_counter() - t:.0f} s", flush=True)
    titles = np.load(cache / "titles.npy").astype(np.float32)
    bodies = np.load(cache / "bodies.npy").astype(np.float32)
    body_of = {i: bodies[k] for k, i in enumerate(json.loads((cache / "bodies_idx.json").read_text()))}
    return questions, titles, body_of


# Duplicate titles folded into one original, as the product's index folds them (app.search.indexer);
# the benches' --alternates-max changes it for a run.
ALTERNATES_MAX = indexer.ALTERNATES_MAX


class World:
    """The forum as the index sees it, given the links that are known (folded) and the questions removed."""

    def __init__(self, bench, known, removed) -> None:
        dups = {d for d, _ in known} | set(removed)
        # Each known duplicate folds into the end of its chain, as the product's index folds it
        # (app.search.indexer; the importer and close_as_duplicate re-point chains): a link whose
        # original was itself closed counts for that one's original. Until 2026-12-06 such titles
        # were dropped here (their original is no document), which made the benches' worlds kinder
        # than the product's (docs/search-research.md, "Chains").
        end = resolve_chains(dict(known))  # the product's rule; None: a loop's reopened member itself
        self.alts: dict[int, list[int]] = {}
        for d, o in sorted(known):
            self.alts.setdefault(end.get(o) or o, []).append(d)
        self.docs = [i for i in bench.forum if i not in dups]
        self.b = bench

    def phrasings(self, i: int) -> list[np.ndarray]:
        b = self.b
        return ([b.body_of[i]] if i in b.body_of else []) + [b.T[i]] + [b.T[a] for a in self.alts.get(i, [])[:ALTERNATES_MAX]]

    def corpus(self):
        vecs, owner = [], []
        for i in self.docs:
            ph = self.phrasings(i)
            vecs.extend(ph)
            owner.extend([i] * len(ph))
        return np.asarray(vecs, np.float32), np.asarray(owner, np.int64)

    def index(self) -> MemoryIndex:
        idx = MemoryIndex()
        created = datetime(2014, 1, 1, tzinfo=UTC)
        titles = self.b.titles
        for seq, i in enumerate(self.docs, 1):
            alts = self.alts.get(i, [])[:ALTERNATES_MAX]
            idx._apply(dict(question_id=i, seq=seq, visible=True, title=titles[i], body="", accepted_answer="",
                            tags="ubuntu", product=None, status="open", solved=False, score=0,
                            created_at=created, alternate_titles="\n".join(titles[a] for a in alts),
                            alternate_bodies="", vectors=_pack(np.asarray(self.phrasings(i))), vectors_key="x"))
        return idx


class Bench:
    def __init__(self, data: Path, cache: Path) -> None:
        questions, self.T, self.body_of = load(data, cache)
        self.ids = [q["id"] for q in questions]
        self.titles = [q["title"] for q in questions]
        pos = {q: i for i, q in enumerate(self.ids)}
        dev = [json.loads(line) for line in open(data / "dev.jsonl", encoding="utf-8")]
        dev_ids = {h["duplicate_id"] for h in dev}
        self.dev = [(pos[h["duplicate_id"]], pos[h["original_id"]]) for h in dev]
        self.history = [(pos[h["duplicate_id"]], pos[h["original_id"]])
                        for h in map(json.loads, open(data / "history.jsonl", encoding="utf-8"))
                        if h["duplicate_id"] not in dev_ids and h["original_id"] not in dev_ids]
        self.forum = [i for i in range(len(self.ids)) if self.ids[i] not in dev_ids]

    def train(self, known, world: World, blend: float) -> tuple[np.ndarray, float]:
        corpus, owner = world.corpus()
        data = learned.TrainingSet(queries=self.T[[d for d, _ in known]], positives=self.T[[o for _, o in known]],
                                   groups=np.asarray([o for _, o in known]), corpus=corpus, corpus_owner=owner)
        t = time.perf_counter()
        matrix = learned.train_adapter(data, blend=blend)
        return matrix, time.perf_counter() - t

    def evaluate(self, idx: MemoryIndex, matrix, queries) -> dict:
        hits = {1: 0, 5: 0, 10: 0}
        mrr, lat = 0.0, []
        for dup, gold in queries:
            vec = learned.adapt(matrix, self.T[dup])
            t = time.perf_counter()
            res = idx.similar(SimilarQuery(title=self.titles[dup], vector=tuple(vec.tolist()), limit=10))
            lat.append((time.perf_counter() - t) * 1000)
            ranked = [h.id for h in res]
            if gold in ranked:
                r = ranked.index(gold) + 1
                mrr += 1 / r
                for k in hits:
                    hits[k] += r <= k
        n = max(len(queries), 1)
        lat.sort()
        return {**{f"R@{k}": round(v / n, 4) for k, v in hits.items()}, "MRR@10": round(mrr / n, 4),
                "p50_ms": round(lat[len(lat) // 2], 2), "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/askubuntu-dups"))
    ap.add_argument("--cache", type=Path, required=True, help="folder for the corpus vectors (not in the repo)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--use", type=int, default=0, help="run only the first N folds (0: all)")
    ap.add_argument("--dev", action="store_true", help="train on all the history, measure on the dev split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blend", type=float, default=learned.BLEND, help="serve I + BLEND·Δ (default: the product's)")
    a = ap.parse_args()
    b = Bench(a.data, a.cache)
    runs = []
    if a.dev:
        runs.append(("dev", b.history, b.dev))
    else:
        perm = np.random.default_rng(a.seed).permutation(len(b.history))
        for f in range(a.use or a.folds):
            held_rows = set(perm[f::a.folds].tolist())
            runs.append((f"fold {f + 1}/{a.folds}", [b.history[k] for k in range(len(b.history)) if k not in held_rows],
                         [b.history[k] for k in sorted(held_rows)]))
    print(f"{len(b.forum):,} forum questions, {len(b.history):,} history links, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for name, known, queries in runs:
        world = World(b, known, [d for d, _ in queries] if not a.dev else [])
        matrix, seconds = b.train(known, world, blend=a.blend)
        idx = world.index()
        before, after = b.evaluate(idx, None, queries), b.evaluate(idx, matrix, queries)
        row = {"split": name, "links": len(known), "queries": len(queries), "train_s": round(seconds, 1),
               "before": before, "after": after, "load": round(os.getloadavg()[0], 1)}
        results.append(row)
        print(json.dumps(row), flush=True)
    if len(results) > 1:
        for side in ("before", "after"):
            summary = {m: f"{np.mean([r[side][m] for r in results]):.4f} ± {np.std([r[side][m] for r in results]):.4f}"
                       for m in ("R@1", "R@5", "R@10", "MRR@10")}
            print(f"{side} (mean ± sd over {len(results)} folds): {json.dumps(summary)}")
    print(f"training {np.mean([r['train_s'] for r in results]):.0f} s per model; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
