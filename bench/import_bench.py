#!/usr/bin/env python3
"""Stack Exchange import speed: posts per second and peak memory, through the real CLI.

Imports (1) the ~42k-question AskUbuntu corpus of ../shared/data/askubuntu-dups, written as a
dump exactly as ../shared/bench/dedup_eval.py writes it, and (2) the real iot.stackexchange
dump of ../shared/data/iot-stackexchange, each into a fresh database, and prints the figures.
With --generated N (repeatable) it imports full generated dumps instead (bench/gen_dump.py: N
questions, 3 answers each, ~3 votes and 1 comment per post), written once under --cache, and
prints rows/s per file from the importer's own progress lines.

    .venv/bin/python bench/import_bench.py [--shared ../shared] [--db sqlite|postgresql]
    .venv/bin/python bench/import_bench.py --db postgresql --generated 10000 --generated 100000
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
                        f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"], check=True,
                       env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})
        env["GROUNDSWELL_DATABASE_URL"] = f"{PG}?options=-csearch_path%3D{schema}"
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run(cli + ["migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *cli, "import-stackexchange", str(folder), "--site", site],
                       env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        sys.exit(f"import failed: {p.stderr[-2000:]}")
    # /usr/bin/time's last line: the import process's own peak RSS in KiB (RUSAGE_CHILDREN is the
    # largest of every child so far, migrate included).
    own_kib, user_s, sys_s = p.stderr.strip().splitlines()[-1].split()
    own_kib, cpu = int(own_kib), float(user_s) + float(sys_s)
    counts = re.search(r"([\d,]+) questions, ([\d,]+) answers", p.stdout)
    posts = sum(int(x.replace(",", "")) for x in counts.groups())
    if schema:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc",
                        f"DROP SCHEMA {schema} CASCADE"], check=True,
                       env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})
    steps = [line.strip() for line in p.stderr.splitlines()
             if line.startswith("  ") and re.search(r" in [\d.]+s\b", line)]
    return {"posts": posts, "wall": wall, "peak_mib": own_kib / 1024, "summary": p.stdout.strip(), "steps": steps,
            "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--generated", type=int, action="append", default=[],
                    help="questions in a generated dump (bench/gen_dump.py); repeatable")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "groundswell-dumps",
                    help="where generated dumps are kept between runs")
    a = ap.parse_args()
    if a.generated:
        sys.path.insert(0, str(ROOT / "bench"))
        from gen_dump import generate

        for n in a.generated:
            folder = a.cache / f"generated-{n}"
            if not (folder / "PostLinks.xml").exists():
                print(f"writing a {n:,}-question dump to {folder}…", file=sys.stderr)
                generate(folder, n, seed=1)
            load = os.getloadavg()
            r = run_import(folder, "generated.stackexchange.com", a.db)
            print(f"generated dump, {n:,} questions, on {a.db}: {r['posts']:,} posts in {r['wall']:.1f}s wall "
                  f"= {r['posts'] / r['wall']:,.0f} posts/s; peak RSS of the import process {r['peak_mib']:.0f} MiB; "
                  f"its CPU {r['cpu']:.0f}s ({r['posts'] / max(r['cpu'], 1e-6):,.0f} posts per CPU-second; the "
                  f"database server's CPU not included) (load average before: {load[0]:.2f} {load[1]:.2f} "
                  f"{load[2]:.2f})")
            for line in r["steps"]:
                print("  " + line)
            print("  " + r["summary"].replace("\n", "\n  "))
        return
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
