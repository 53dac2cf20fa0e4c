#!/usr/bin/env python3
"""What indexing whole bodies costs: memory of the embedded full-text index, whole posts vs a cap.

Reads the stored search documents of an indexed Groundswell database (for example the real
iot.stackexchange dump after `groundswell import-stackexchange` and `groundswell reindex`, whose
posts are long, or the database ../shared/bench/dedup_eval.py leaves behind), builds the
in-memory full-text index (postings, lengths and the position stream) once with bodies and
accepted answers cut at --cap characters (2,000: what was indexed before) and once whole, and
prints the Python heap the index holds (tracemalloc; numpy arrays included), the indexed
characters and the build time.

  python bench/index_memory_bench.py --db sqlite:////tmp/iot/bench.db [--cap 2000]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from sqlalchemy import select


def build(rows: list[dict], cap: int | None) -> tuple[float, float, int]:
    """(MiB held by the full-text index, seconds to build it, characters indexed)."""
    from app.search.embedded import MemoryIndex

    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    index = MemoryIndex()
    chars = 0
    for row in rows:
        if cap is not None:
            row = {**row, "body": row["body"][:cap], "accepted_answer": row["accepted_answer"][:cap]}
        chars += len(row["body"]) + len(row["accepted_answer"])
        index._apply(row)
    index._ensure_full()
    seconds = time.perf_counter() - t
    index.full_rows = {}
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del index
    return held, seconds, chars


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL of an indexed Groundswell")
    ap.add_argument("--cap", type=int, default=2000, help="the cap to compare with (characters)")
    a = ap.parse_args()

    from app.core.db import import_all_models, make_engine
    from app.search.models import SearchDocument

    import_all_models()
    engine = make_engine(a.db)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            select(SearchDocument).where(SearchDocument.visible.is_(True))).mappings()]
    for row in rows:
        row["vectors"] = None  # the vectors are the same either way; only the text side is measured
    longer = sum(1 for r in rows if len(r["body"]) > a.cap or len(r["accepted_answer"]) > a.cap)
    print(f"{len(rows):,} questions; {longer:,} have a body or accepted answer longer than {a.cap:,} characters")
    build(rows, None)  # warm the analysis caches, so neither measurement pays for them
    for label, cap in ((f"cut at {a.cap:,}", a.cap), ("whole", None)):
        held, seconds, chars = build(rows, cap)
        print(f"{label}: {chars:,} characters of body and answer; full-text index {held:.1f} MiB; "
              f"built in {seconds:.1f} s")


if __name__ == "__main__":
    main()
