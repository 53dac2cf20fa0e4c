"""Product sites benchmark (issue 16): the widget's first render in Chromium on a host page from
another origin, and 304 answers under load compared with full 200s. Prints figures; not a test.

    .venv/bin/python bench/product_sites_bench.py [--loads 20] [--requests 2000] [--clients 8]

Method: `groundswell demo` (SQLite, the demo community, rate limits off) serves on a free port in
its own process; the host page is a static file served from http://localhost:PORT2 (a different
origin, listed in GROUNDSWELL_CORS_ORIGINS). First render = from `page.goto` to the widget's
`data-gs-state="ready"` (questions listed), each load in a fresh browser context (cold HTTP cache),
median and 95th percentile. 304s: CLIENTS threads, each a keep-alive connection, GET
/api/v1/questions/{id} with and without a matching If-None-Match; throughput and latencies.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.http_load import free_port  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def wait_up(url: str, proc) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def load(port: int, path: str, etag: str | None, n: int, clients: int) -> tuple[float, list[float], dict]:
    lat: list[float] = []
    statuses: dict = {}
    lock = threading.Lock()
    per = n // clients

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, seen = [], {}
        for _ in range(per):
            t = time.perf_counter()
            conn.request("GET", path, headers={"If-None-Match": etag} if etag else {})
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
            seen[r.status] = seen.get(r.status, 0) + 1
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, lat, statuses


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=20)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gs-sites-bench-"))
    port, host_port = free_port(), free_port()
    host_origin = f"http://localhost:{host_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update(GROUNDSWELL_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", GROUNDSWELL_RATE_LIMITS="off",
               GROUNDSWELL_CORS_ORIGINS=host_origin, GROUNDSWELL_LOG_LEVEL="warning")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--port", str(port)], env=env, cwd=tmp,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    api = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{api}/healthz", proc)
        raw = (ROOT / "app/web/static/widget.js").read_bytes()
        print(f"widget.js: {len(raw)} bytes, {len(gzip.compress(raw, 9))} bytes gzipped (-9)")
        (tmp / "index.html").write_text(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Aero 14</title></head><body>'
            f'<h1>Kestrel Aero 14</h1><script src="{api}/widget.js" data-product="aero-14" async></script></body></html>')
        host = ThreadingHTTPServer(("127.0.0.1", host_port), partial(SimpleHTTPRequestHandler, directory=str(tmp)))
        SimpleHTTPRequestHandler.log_message = lambda *a: None
        threading.Thread(target=host.serve_forever, daemon=True).start()

        from playwright.sync_api import sync_playwright

        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            for i in range(args.loads + 1):
                ctx = browser.new_context()
                page = ctx.new_page()
                t = time.perf_counter()
                page.goto(f"{host_origin}/index.html")
                page.wait_for_selector('[data-gs-state="ready"]', state="attached", timeout=30_000)
                if i:  # the first load warms the server
                    times.append((time.perf_counter() - t) * 1000)
                ctx.close()
            browser.close()
        host.shutdown()
        print(f"widget first render (goto → questions listed), {len(times)} cold loads: "
              f"median {statistics.median(times):.0f} ms, p95 {pct(times, 95):.0f} ms")

        with urllib.request.urlopen(f"{api}/api/v1/questions?limit=1") as r:
            import json

            qid = json.load(r)["items"][0]["id"]
        path = f"/api/v1/questions/{qid}"
        with urllib.request.urlopen(api + path) as r:
            etag, size = r.headers["ETag"], len(r.read())
        load(port, path, etag, 200, 4)  # warm-up
        for label, tag in (("200 (full body, %d bytes)" % size, None), ("304 (If-None-Match)", etag)):
            secs, lat, statuses = load(port, path, tag, args.requests, args.clients)
            ms = [x * 1000 for x in lat]
            print(f"{label}: {len(lat)} requests, {args.clients} clients: {len(lat) / secs:.0f} req/s, "
                  f"p50 {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms, statuses {statuses}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
