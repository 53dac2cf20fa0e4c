#!/usr/bin/env python3
"""Reindex speed: questions per second of `groundswell reindex`, semantic on and off, against the
sentence encoder's own throughput on the same texts.

Imports a generated dump (bench/gen_dump.py, N questions with 3 answers each) into a fresh
database, then times, each in its own process:
1. `groundswell reindex` with GROUNDSWELL_SEARCH_SEMANTIC=auto (every question embedded: a
   fresh database has no stored vectors);
2. the same again (every vector reused: nothing changed, nothing is embedded);
3. `groundswell reindex` with GROUNDSWELL_SEARCH_SEMANTIC=off (keyword only);
and the encoder alone on the phrasings the reindex embeds (two per question: title with the
start of the body, and the title), in batches sorted by length, `BULK_THREADS` at once, as the
reindex has `Encoder.embed` do.
Prints questions/s, CPU seconds of each process and the machine's load average.

    .venv/bin/python bench/reindex_bench.py --questions 2000 [--db sqlite|postgresql] [--encoder float|int8]
(needs the `semantic` extra for the semantic figures)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("GROUNDSWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
QUIET = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}


def timed(args: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process, stderr) of `python -m app.cli ARGS`."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%U %S", sys.executable, "-m", "app.cli", *args], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{args[0]} failed: {p.stderr[-2000:]}")
    user, system = p.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), p.stderr


def encoder_alone(env: dict, n: int) -> str:
    code = f"""
import os, time, resource
from sqlalchemy import create_engine, text
from app.search import embedding
from app.search.embedded import BODY_PHRASING_CHARS
enc = embedding.load_encoder("auto", arithmetic=os.environ.get("GROUNDSWELL_SEARCH_ENCODER", "float"))
if enc is None:
    print("encoder: not available (install the semantic extra)"); raise SystemExit
eng = create_engine(os.environ["GROUNDSWELL_DATABASE_URL"])
with eng.connect() as c:
    rows = c.execute(text("SELECT title, body FROM search_documents LIMIT {n}")).all()
texts = [p for t, b in rows for p in (f"{{t}}. {{b[:BODY_PHRASING_CHARS]}}", t)]
t0, c0 = time.perf_counter(), time.process_time()
enc.embed(texts, threads=embedding.BULK_THREADS)  # as the reindex does
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(f"encoder alone: {{len(texts):,}} phrasings of {{len(rows):,}} questions in {{wall:.1f}}s wall, "
      f"{{cpu:.1f}} CPU-s "
      f"= {{len(rows) / wall:,.0f}} questions/s ({{len(texts) / cpu:,.0f}} phrasings per CPU-second)")
"""
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    return (p.stdout or p.stderr[-1500:]).strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=2000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--encoder", choices=["float", "int8"], default="float",
                    help="GROUNDSWELL_SEARCH_ENCODER for the reindex and the encoder alone")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "groundswell-dumps")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_dump import generate

    folder = a.cache / f"generated-{a.questions}"
    if not (folder / "PostLinks.xml").exists():
        generate(folder, a.questions, seed=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env["GROUNDSWELL_SEARCH_ENCODER"] = a.encoder
    schema = None
    if a.db == "sqlite":
        env["GROUNDSWELL_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/reindex.db"
    else:
        schema = f"gs_reindex_bench_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                        f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"], check=True, env=QUIET)
        env["GROUNDSWELL_DATABASE_URL"] = f"{PG}?options=-csearch_path%3D{schema}"
    try:
        timed(["migrate"], env)
        timed(["import-stackexchange", str(folder), "--site", "generated.stackexchange.com"], env)
        n = a.questions
        print(f"reindex of {n:,} questions (generated dump, 3 answers each) on {a.db}, encoder {a.encoder}; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for label, semantic in (("semantic on, fresh (every question embedded)", "auto"),
                                ("semantic on, again (every vector reused)", "auto"),
                                ("keyword only", "off")):
            wall, cpu, err = timed(["reindex"], {**env, "GROUNDSWELL_SEARCH_SEMANTIC": semantic,
                                                 "GROUNDSWELL_SEARCH_LEARNING": "off"})
            print(f"  {label}: {wall:.1f}s wall = {n / wall:,.0f} questions/s; {cpu:.1f} CPU-s "
                  f"({n / max(cpu, 1e-6):,.0f} questions per CPU-second)")
        print("  " + encoder_alone({**env, "GROUNDSWELL_SEARCH_SEMANTIC": "auto"}, n))
        print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if schema:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                            f"DROP SCHEMA {schema} CASCADE"], check=True, env=QUIET)


if __name__ == "__main__":
    main()
