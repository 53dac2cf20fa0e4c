#!/usr/bin/env python3
"""A learned re-ranker over similar()'s candidates: k-fold cross-validation over the history, and the dev check.

Same data and folds as bench/dedup_learn_bench.py (AskUbuntu, ../shared/data/askubuntu-dups;
history links folded into their originals; title-only queries; the real MemoryIndex). For each
outer fold, its duplicates are removed from the forum and become the queries; the ranker learns
only from the other folds' links. To learn from a link, the ranker must see the candidates as they
were before that link was known, so the known links are split into --inner parts; for each part an
index is built with that part's duplicates neither folded in nor present, its titles are asked, and
the first RERANK_DEPTH candidates with their features (app.search.embedded.FEATURES) and a label
(1 = the original) become a query group. LightGBM's lambdarank is trained on all the groups
(app.search.learned.train_ranker_on), then the outer fold's queries are ranked by the index with
every known link folded in, before and after re-ranking.

  python bench/dedup_ltr_bench.py --cache /tmp/gs-learn-cache --folds 5 --use 3
  python bench/dedup_ltr_bench.py --cache /tmp/gs-learn-cache --dev
  python bench/dedup_ltr_bench.py ... --adapter      # the query adapter too (features and candidates),
                                                   # one per inner part learned without its links, as served
  python bench/dedup_ltr_bench.py ... --adapter --blend 1.0   # serve I + Δ instead of I + Δ/2
  python bench/dedup_ltr_bench.py ... --count-scales 1 0.75  # the same ranker evaluated again with
                                                   # each candidate's duplicate count scaled by S
                                                   # ("after" scales it by 1 - 1/inner, as served)

Prints R@1/5/10 and MRR@10 before/after per fold and on average, training seconds, the
similar() latency p50/p95 with and without the ranker (query vector given), peak RSS and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_learn_bench
from dedup_learn_bench import Bench, World  # noqa: E402

from app.search import learned  # noqa: E402
from app.search.ports import SimilarQuery  # noqa: E402


def groups_for(b: Bench, idx, links, matrix=None):
    """Feature rows, labels and group sizes for `links` asked of `idx` (groups without the original dropped)."""
    rows, labels, sizes = [], [], []
    for dup, gold in links:
        base = b.T[dup]
        vec = learned.adapt(matrix, base)
        ids, feats = idx.similar_features(SimilarQuery(title=b.titles[dup], vector=tuple(vec.tolist())),
                                          base_vector=base if matrix is not None else None)
        y = np.asarray([int(i == gold) for i in ids], dtype=np.int32)
        if not y.any():
            continue
        rows.append(feats)
        labels.append(y)
        sizes.append(len(ids))
    return rows, labels, sizes


def evaluate(b: Bench, idx, queries, matrix=None, ranker=None) -> dict:
    hits = {1: 0, 5: 0, 10: 0}
    mrr, lat = 0.0, []
    for dup, gold in queries:
        base = b.T[dup]
        vec = learned.adapt(matrix, base)
        t = time.perf_counter()
        res = idx.similar(SimilarQuery(title=b.titles[dup], vector=tuple(vec.tolist()), limit=10),
                          ranker=ranker, base_vector=base if matrix is not None else None)
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
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--use", type=int, default=0)
    ap.add_argument("--only", type=int, default=0, help="run only fold N (1-based)")
    ap.add_argument("--inner", type=int, default=learned.RANKER_INNER_FOLDS)
    ap.add_argument("--dev", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--adapter", action="store_true", help="also learn the query adapter (features, candidates)")
    ap.add_argument("--blend", type=float, default=learned.BLEND, help="with --adapter: serve I + BLEND·Δ")
    ap.add_argument("--count-scales", type=float, nargs="*", default=[],
                    help="also evaluate the ranker with each candidate's duplicate count scaled by S at serving")
    ap.add_argument("--save-groups", type=Path, help="write the training groups of each fold here (npz)")
    ap.add_argument("--alternates-max", type=int, default=dedup_learn_bench.ALTERNATES_MAX,
                    help="duplicate titles folded into one original (default: the product's indexer.ALTERNATES_MAX)")
    a = ap.parse_args()
    dedup_learn_bench.ALTERNATES_MAX = a.alternates_max
    b = Bench(a.data, a.cache)
    runs = []
    if a.dev:
        runs.append(("dev", b.history, b.dev))
    else:
        perm = np.random.default_rng(a.seed).permutation(len(b.history))
        for f in range(a.use or a.folds):
            if a.only and f + 1 != a.only:
                continue
            held = set(perm[f::a.folds].tolist())
            runs.append((f"fold {f + 1}/{a.folds}", [b.history[k] for k in range(len(b.history)) if k not in held],
                         [b.history[k] for k in sorted(held)]))
    print(f"{len(b.forum):,} forum questions, {len(b.history):,} history links, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for name, known, queries in runs:
        removed = [d for d, _ in queries] if not a.dev else []
        t0 = time.perf_counter()
        rows, labels, sizes = [], [], []
        part_of = np.random.default_rng(learned.SEED).permutation(len(known)) % a.inner
        for p in range(a.inner):
            part = [known[k] for k in range(len(known)) if part_of[k] == p]
            rest = [known[k] for k in range(len(known)) if part_of[k] != p]
            world = World(b, rest, removed + [d for d, _ in part])
            matrix = b.train(rest, world, blend=a.blend)[0] if a.adapter else None
            r, y, g = groups_for(b, world.index(), part, matrix)
            rows += r
            labels += y
            sizes += g
            print(f"  {name}: inner part {p + 1}/{a.inner}: {len(g):,} of {len(part):,} links have the original "
                  f"in the first {sum(sizes) // max(1, len(sizes))} candidates ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
        gather_s = time.perf_counter() - t0
        if a.save_groups:
            np.savez_compressed(a.save_groups.with_name(f"{a.save_groups.stem}-{name.split('/')[0].replace(' ', '')}.npz"),
                                x=np.concatenate(rows), y=np.concatenate(labels), g=np.asarray(sizes))
        t1 = time.perf_counter()
        model = learned.train_ranker_on(np.concatenate(rows), np.concatenate(labels), np.asarray(sizes))
        train_s = time.perf_counter() - t1
        # As served: the count scaled back by what each inner part's index left out (RANKER_COUNT_SCALE).
        ranker = learned.Ranker(model, count_scale=1.0 - 1.0 / a.inner)
        world = World(b, known, removed)
        matrix = b.train(known, world, blend=a.blend)[0] if a.adapter else None
        idx = world.index()
        before = evaluate(b, idx, queries)
        adapted = evaluate(b, idx, queries, matrix) if matrix is not None else None
        after = evaluate(b, idx, queries, matrix, ranker)
        scaled = {f"after@{s:g}": evaluate(b, idx, queries, matrix, learned.Ranker(model, count_scale=s))
                  for s in a.count_scales}
        row = {"split": name, "links": len(known), "queries": len(queries), "groups": len(sizes),
               "gather_s": round(gather_s, 1), "train_s": round(train_s, 1), "before": before,
               **({"adapter": adapted} if adapted else {}), "after": after, **scaled, "load": round(os.getloadavg()[0], 1)}
        results.append(row)
        print(json.dumps(row), flush=True)
    if len(results) > 1:
        for side in ("before", "adapter", "after", *(f"after@{s:g}" for s in a.count_scales)):
            if side not in results[0]:
                continue
            summary = {m: f"{np.mean([r[side][m] for r in results]):.4f} ± {np.std([r[side][m] for r in results]):.4f}"
                       for m in ("R@1", "R@5", "R@10", "MRR@10")}
            print(f"{side} (mean ± sd over {len(results)} folds): {json.dumps(summary)}")
    print(f"ranker training {np.mean([r['train_s'] for r in results]):.1f} s, gathering "
          f"{np.mean([r['gather_s'] for r in results]):.0f} s per model; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
