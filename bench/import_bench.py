#!/usr/bin/env python3
"""Stack Exchange import speed: posts per second and peak memory, through the real CLI.

Imports (1) the ~42k-question AskUbuntu corpus of ../shared/data/askubuntu-dups, written as a
dump exactly as ../shared/bench/dedup_eval.py writes it, and (2) the real iot.stackexchange
dump of ../shared/data/iot-stackexchange, each into a fresh database, and prints the figures.

    .venv/bin/python bench/import_bench.py [--shared ../shared] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("GROUNDSWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def askubuntu_dump(shared: Path, out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("dedup_eval", shared / "bench" / "dedup_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = shared / "data" / "askubuntu-dups"
    questions = {}
    with open(data / "questions.jsonl", encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            questions[q["id"]] = q
    links = []
    with open(data / "history.jsonl", encoding="utf-8") as f:
        for line in f:
            x = json.loads(line)
            links.append((x["duplicate_id"], x["original_id"]))
    folder = out / "askubuntu"
    mod.write_dump(folder, questions, links)
    return folder


def run_import(folder: Path, site: str, db: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    schema = None
    if db == "sqlite":
        env["GROUNDSWELL_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        schema = f"gs_import_bench_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                        f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"], check=True)
        env["GROUNDSWELL_DATABASE_URL"] = f"{PG}?options=-csearch_path%3D{schema}"
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run(cli + ["migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(cli + ["import-stackexchange", str(folder), "--site", site], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        sys.exit(f"import failed: {p.stderr[-2000:]}")
    counts = re.search(r"([\d,]+) questions, ([\d,]+) answers", p.stdout)
    posts = sum(int(x.replace(",", "")) for x in counts.groups())
    if schema:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                        f"DROP SCHEMA {schema} CASCADE"], check=True)
    return {"posts": posts, "wall": wall, "peak_mib": max(peak_kib, before) / 1024, "summary": p.stdout.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        au = askubuntu_dump(a.shared, Path(tmp))
        for name, folder, site in (("askubuntu (42k questions, 12k duplicate links)", au, "askubuntu.com"),
                                   ("iot.stackexchange (real dump)", a.shared / "data" / "iot-stackexchange",
                                    "iot.stackexchange.com")):
            r = run_import(folder, site, a.db)
            print(f"{name} on {a.db}: {r['posts']:,} posts in {r['wall']:.1f}s wall "
                  f"= {r['posts'] / r['wall']:,.0f} posts/s; peak RSS {r['peak_mib']:.0f} MiB")
            print("  " + r["summary"].replace("\n", "\n  "))


if __name__ == "__main__":
    main()
