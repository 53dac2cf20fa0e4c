#!/usr/bin/env python3
"""Full-text search and similar-question latency on an existing Groundswell database, in process.

Point it at a database that holds a real corpus, for example the one
../shared/bench/dedup_eval.py leaves behind (its work folder is printed on failure; it is under
/tmp/gs-dedup-*), after `groundswell reindex`:

  python bench/search_bench.py --db sqlite:////tmp/gs-dedup-XXXX/bench.db \
      --queries ../shared/data/askubuntu-dups/questions.jsonl

Prints: time to load the in-memory index, time to build the full-text part on first use, and
p50/p95 of the search service (`q` = the first 1–3 words of titles, some with a typo; with and
without a filter) and of the similar-question service, each over --n queries.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time

from sqlmodel import Session


def pct(values: list[float]) -> str:
    values = sorted(values)
    return f"p50 {statistics.median(values):.1f} ms, p95 {values[int(0.95 * (len(values) - 1))]:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL of an indexed Groundswell")
    ap.add_argument("--queries", required=True, help="a JSON-lines file with a `title` per line")
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()

    from app.core.config import Settings
    from app.core.db import import_all_models, make_engine
    from app.search import service as search_service

    import_all_models()
    settings = Settings(database_url=a.db, search_apply_in_process=False)
    engine = make_engine(a.db)
    rng = random.Random(7)
    titles = [json.loads(line)["title"] for line in open(a.queries, encoding="utf-8")]
    rng.shuffle(titles)
    titles = titles[: a.n]

    t = time.perf_counter()
    backend = search_service.embedded_backend(settings, engine)
    backend.ensure_index()
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"in-memory index loaded in {time.perf_counter() - t:.2f} s ({backend.index.qid.n:,} documents); "
          f"peak RSS {rss:.0f} MiB (model included)")
    t = time.perf_counter()
    with Session(engine) as s:
        search_service.search(s, settings=settings, engine=engine, q="install")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"full-text part built on first search in {time.perf_counter() - t:.2f} s; peak RSS {rss:.0f} MiB")

    def query_of(title: str) -> str:
        words = [w for w in re.findall(r"[^\W_]+", title.lower()) if len(w) > 3][: rng.randint(1, 3)] or ["ubuntu"]
        if rng.random() < 0.2 and len(words[0]) > 5:  # a typo: two letters swapped
            w = words[0]
            words[0] = w[:2] + w[3] + w[2] + w[4:]
        return " ".join(words)

    for label, extra in (("search", {}), ("search, unsolved only", {"solved": False})):
        times, totals = [], []
        for title in titles:
            q = query_of(title)
            t = time.perf_counter()
            with Session(engine) as s:
                page = search_service.search(s, settings=settings, engine=engine, q=q, **extra)
            times.append((time.perf_counter() - t) * 1000)
            totals.append(page.total)
        print(f"{label}: {pct(times)}; median {statistics.median(totals):,.0f} matches")
    times = []
    for title in titles:
        t = time.perf_counter()
        with Session(engine) as s:
            search_service.similar(s, settings=settings, engine=engine, title=title, limit=10)
        times.append((time.perf_counter() - t) * 1000)
    print(f"similar ({search_service.semantic_status(settings)}): {pct(times)}")


if __name__ == "__main__":
    main()
