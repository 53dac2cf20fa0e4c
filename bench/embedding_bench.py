#!/usr/bin/env python3
"""Sentence-encoder benchmark (app/search/embedding.py): load time, memory, query latency, bulk speed.

Titles come from ../shared/data/askubuntu-dups/questions.jsonl when it exists (read at run
time, never copied), else they are generated. Prints:

  load       seconds for load_encoder() in a fresh process (imports, sha256, tokenizer, session)
  rss        resident memory after load, and after the bulk runs
  query      embed_query p50/p95/max over 200 short titles (single-threaded session, warm)
  bulk       embed() sentences/s and CPU seconds over --n titles, batches on 1 thread, then on 2 at once

    .venv/bin/python bench/embedding_bench.py [--n 5000] [--batch-size 16] [--questions PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_QUESTIONS = ROOT.parent / "shared" / "data" / "askubuntu-dups" / "questions.jsonl"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def synthetic_titles(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    verbs = ["install", "remove", "upgrade", "configure", "mount", "fix", "reset", "update", "enable", "disable"]
    things = ["Chrome", "the wifi driver", "an NTFS partition", "Python 3.12", "the NVIDIA driver", "grub",
              "a printer", "Bluetooth headphones", "the firewall", "Docker", "a second monitor", "swap"]
    tails = ["on Ubuntu 22.04", "after suspend", "without internet", "from the terminal", "in a VM",
             "on a Dell laptop", "after the last upgrade", "", "with a USB stick", "as a non-root user"]
    forms = ["How do I {v} {t} {x}?", "Cannot {v} {t} {x}", "{t} stopped working {x}",
             "Is it safe to {v} {t} {x}?", "Error when I try to {v} {t} {x}: permission denied"]
    return [rnd.choice(forms).format(v=rnd.choice(verbs), t=rnd.choice(things), x=rnd.choice(tails)).replace("  ", " ")
            for _ in range(n)]


def load_titles(path: Path, n: int) -> tuple[list[str], str]:
    if path.is_file():
        titles = []
        with path.open(encoding="utf-8") as f:
            for line in f:
                t = json.loads(line).get("title", "").strip()
                if t:
                    titles.append(t)
        if titles:
            rnd = random.Random(7)
            rnd.shuffle(titles)
            while len(titles) < n:
                titles += titles
            return titles[:n], f"{path} ({n} of its titles)"
    return synthetic_titles(n), f"synthetic ({n} titles)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="titles for the bulk run")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    args = ap.parse_args(argv)

    rss0 = rss_mib()
    t0 = time.perf_counter()
    from app.search import embedding
    enc = embedding.load_encoder("auto")
    load_s = time.perf_counter() - t0
    if enc is None:
        print(embedding.semantic_status("auto"))
        return 1
    rss_load = rss_mib()
    titles, source = load_titles(args.questions, max(args.n, args.queries))
    print(f"model      {embedding.semantic_status('auto')}")
    print(f"titles     {source}")
    print(f"load       {load_s:.2f} s   (interpreter before import: {rss0:.0f} MiB)")
    print(f"rss        {rss_load:.0f} MiB after load")

    queries = [t for t in titles if len(t) <= 80][:args.queries]
    for q in queries[:10]:
        enc.embed_query(q)
    lat = []
    for q in queries:
        t = time.perf_counter()
        enc.embed_query(q)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    p = statistics.quantiles(lat, n=100)
    print(f"query      p50 {p[49]:.2f} ms   p95 {p[94]:.2f} ms   max {lat[-1]:.2f} ms   "
          f"({len(lat)} titles <= 80 chars)")

    bulk = titles[:args.n]
    enc.embed(bulk[:64], batch_size=args.batch_size)  # warm up
    for threads in (1, 2):
        t, c = time.perf_counter(), time.process_time()
        enc.embed(bulk, batch_size=args.batch_size, threads=threads)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        print(f"bulk       {threads} thread{'s' if threads > 1 else ' '}  {len(bulk) / dt:7.0f} sentences/s   "
              f"({len(bulk)} titles in {dt:.2f} s, {cpu:.2f} CPU-s, batch {args.batch_size}, "
              f"batches on {threads} thread{'s' if threads > 1 else ''} at once)")
    print(f"rss        {rss_mib():.0f} MiB after the bulk runs (one session)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
