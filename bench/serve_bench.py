#!/usr/bin/env python3
"""Start-up time and memory of `groundswell serve`, per worker process, on an existing database.

    .venv/bin/python bench/serve_bench.py --url postgresql+psycopg://… [--workers 1 --workers 2]
                                          [--semantic off|auto]

For each --workers N it starts `python -m app.cli serve --workers N` on a free port against the
database given (indexed: `groundswell reindex` first, or the embedded index is built from the
search documents that are there), and prints (`--search-process off` for the workers' own copies,
as before the search process, app/search/owner.py):

* seconds from the process's start until `/healthz` answers 200 (the site serves);
* seconds until a search (`/api/v1/search?q=…`) answers 200: with the embedded backend, the
  in-memory index is loaded by then (search waits for it; issue 11: 40–72 s before);
* once every worker is idle again (its CPU time unchanged for 3 s), each process's RSS, PSS
  and USS from /proc/PID/smaps_rollup (PSS shares each shared page among the processes that map
  it; USS is what is the process's alone), summed over the workers and the supervisor.

Uses the machine's own PostgreSQL/SQLite; Meilisearch is not run (no registry ships it): with
GROUNDSWELL_MEILI_URL set the web processes hold no copy of the corpus (app/search/lifecycle.py),
which `tests/test_workers.py` checks. Rate limits off, logs at warning.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pages_bench import _free_port, _httpx, load  # noqa: E402  (the same helpers as the page benchmark)

# For --load: search words and would-be titles a support site's customers type (rotating).
QUERIES = ["printer offline after update", "wifi drops", "battery drains overnight", "bluetooth headset pairing",
           "screen flickers when charging", "usb port not detected", "fan noise under load", "firmware update failed"]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) in MiB, from smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def run(url: str, workers: int, semantic: str, search_process: str, load_seconds: int = 0) -> None:
    httpx = _httpx()
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")},
           "GROUNDSWELL_DATABASE_URL": url, "GROUNDSWELL_RATE_LIMITS": "off", "GROUNDSWELL_LOG_LEVEL": "warning",
           "GROUNDSWELL_SEARCH_SEMANTIC": semantic, "GROUNDSWELL_SECRET_KEY": "bench-secret-" + "x" * 40,
           "GROUNDSWELL_ENV": "production", "GROUNDSWELL_SECURE_COOKIES": "false",
           "GROUNDSWELL_SEARCH_PROCESS": search_process}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    healthy = searched = None
    try:
        while time.perf_counter() - t0 < 900:
            if proc.poll() is not None:
                sys.exit(f"serve exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if healthy is None and httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    healthy = time.perf_counter() - t0
                if healthy is not None:
                    r = httpx.get(base + "/api/v1/search", params={"q": "printer offline after update"}, timeout=900)
                    if r.status_code == 200:
                        searched = time.perf_counter() - t0
                        break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        if searched is None:
            sys.exit("no search answer within 900 s")
        # Every worker warms its own index in the background: wait until all are idle.
        quiet_since, last = time.perf_counter(), None
        while time.perf_counter() - quiet_since < 3:
            now = sum(_cpu(p) for p in _tree(proc.pid))
            if last is None or now - last > 0.02:
                quiet_since, last = time.perf_counter(), now
            time.sleep(0.5)
        idle = time.perf_counter() - t0
        pids = _tree(proc.pid)
        mems = {p: _memory(p) for p in pids}
        print(f"serve --workers {workers}, semantic {semantic}, search process {search_process if workers > 1 else 'n/a'} "
              f"(load before {load:.2f}): /healthz after "
              f"{healthy:.1f}s, first search answered after {searched:.1f}s, all workers idle after {idle:.1f}s")
        for p in pids:
            m = mems[p]
            cmd = _cmdline(p)
            kind = "supervisor" if p == proc.pid and workers > 1 else (
                "search process" if "app.search.owner" in cmd else
                "worker" if "multiprocessing" in cmd or workers == 1 else "helper")
            print(f"  pid {p} ({kind}): RSS {m['rss']:.0f} MiB, PSS {m['pss']:.0f} MiB, USS {m['uss']:.0f} MiB")
        print(f"  all processes: RSS {sum(m['rss'] for m in mems.values()):.0f} MiB, "
              f"PSS {sum(m['pss'] for m in mems.values()):.0f} MiB")
        if load_seconds:
            _search_load(port, proc.pid, load_seconds)
            after = [_memory(p) for p in _tree(proc.pid)]
            print(f"  after the load: all processes RSS {sum(m['rss'] for m in after):.0f} MiB, "
                  f"PSS {sum(m['pss'] for m in after):.0f} MiB (each copy of the index has its full-text part)")
    finally:
        for p in reversed(_tree(proc.pid)):
            try:
                os.kill(p, 15)
            except ProcessLookupError:
                pass
        proc.wait(timeout=60)


def _search_load(port: int, server: int, seconds: int) -> None:
    """wrk -c16 on the search page and on the similar-questions API (rotating QUERIES): req/s,
    p50/p99, and CPU ms per request over every process of the server (and the search process's)."""
    from urllib.parse import quote

    routes = {"search page": [f"/search?q={quote(q)}" for q in QUERIES],
              "similar API": [f"/api/v1/questions/similar?title={quote(q)}&limit=5" for q in QUERIES]}
    # Not measured: 30 s of the same load first, so that every process holding an index has built its
    # full-text part (on its first full-text search, ~20 s at 100k; the search process builds it at start).
    load(port, routes["search page"], pid=server, duration=30, connections=16)
    for name, paths in routes.items():
        pids = _tree(server)
        before = {p: _cpu(p) for p in pids}
        r = load(port, paths, pid=server, duration=seconds, connections=16)
        spent = {p: _cpu(p) - before[p] for p in pids if Path(f"/proc/{p}").exists()}
        requests = max(1, r["requests"])
        owner = sum(v for p, v in spent.items() if "app.search.owner" in _cmdline(p))
        print(f"  {name}: {r['rps']:.0f} req/s, p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, "
              f"{1000 * sum(spent.values()) / requests:.1f} CPU ms/request in all, "
              f"{1000 * owner / requests:.1f} of them in the search process; non-2xx {r.get('errors', 0)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("GROUNDSWELL_DATABASE_URL"))
    ap.add_argument("--workers", type=int, action="append", default=[])
    ap.add_argument("--semantic", default="off", choices=["off", "auto"])
    ap.add_argument("--load", type=int, default=0, metavar="SECONDS",
                    help="then wrk -c16 for SECONDS on the search page and the similar API")
    ap.add_argument("--search-process", action="append", default=[], choices=["auto", "off"],
                    help="GROUNDSWELL_SEARCH_PROCESS for --workers ≥ 2 (repeatable; default auto)")
    a = ap.parse_args()
    if not a.url:
        sys.exit("serve_bench: give --url (a migrated, indexed database)")
    from sqlalchemy import create_engine, text

    eng = create_engine(a.url)
    with eng.connect() as c:
        q = c.execute(text("SELECT count(*) FROM questions")).scalar()
        a_ = c.execute(text("SELECT count(*) FROM answers")).scalar()
        docs = c.execute(text("SELECT count(*) FROM search_documents")).scalar()
    eng.dispose()
    print(f"# serve_bench: {q:,} questions, {a_:,} answers, {docs:,} search documents "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    for n in a.workers or [1, 2]:
        for mode in (a.search_process or ["auto"]) if n > 1 else ["auto"]:
            run(a.url, n, a.semantic, mode, a.load)


if __name__ == "__main__":
    main()
