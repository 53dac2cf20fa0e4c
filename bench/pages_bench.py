"""Page throughput under load, against the bare stack's ceiling measured in the same run.

    .venv/bin/python bench/pages_bench.py --url postgresql+psycopg://…   [--duration 10] [--connections 16]

For each route (question page, home list, unanswered list, tag page, search page, API question,
API list) and each visitor kind (anonymous with the page cache, anonymous with the cache off =
every page rendered, signed in), it runs `wrk -t2 -c16 --latency` (Debian's `wrk`; the load
generator shares the machine's cores with the server, as in docs/performance.md) against one
uvicorn process (httptools + uvloop) and prints:

* req/s, p50 and p99 latency (wrk);
* CPU ms per request of the server process (its /proc utime+stime over the run / requests);
* SQL statements per request, counted in this process with SQLAlchemy's before_cursor_execute
  event on a second request to the same page (steady state: templates and aggregates warm);
* the same figures for the bare stack (FastAPI + Jinja2 + 2 SQLite queries, one process), and
  each route's req/s as a share of that ceiling.

The database must be filled first (bench/fill_corpus.py); question ids are sampled from it (500).
Rate limits are off (GROUNDSWELL_RATE_LIMITS=off), logs at warning, semantic search off.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("PAGES_BENCH_APP_ROOT") or Path(__file__).resolve().parent.parent)  # where `app` is
HERE = Path(__file__).resolve().parent

# --- the bare stack: FastAPI + Jinja2 + 2 SQLite queries ------------------------------------------

BARE_TEMPLATE = """<!doctype html><html><head><title>{{ q.title }}</title></head><body>
<h1>{{ q.title }}</h1><div>{{ q.body }}</div>
<ul>{% for a in answers %}<li id="answer-{{ a.id }}"><p>{{ a.body }}</p><span>{{ a.score }}</span></li>{% endfor %}</ul>
</body></html>"""


def bare_app_factory():
    """The ceiling: a page of one question and its answers from two SQLite queries, rendered
    with a compiled Jinja2 template, served by FastAPI (a sync route, as our pages are)."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from jinja2 import Environment

    env = Environment(autoescape=True)
    template = env.from_string(BARE_TEMPLATE)
    path = os.environ["BARE_DB"]
    app = FastAPI()
    import threading

    local = threading.local()

    def db():
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, check_same_thread=False)
        return local.conn

    @app.get("/q/{qid}", response_class=HTMLResponse)
    def page(qid: int):
        conn = db()
        q = conn.execute("SELECT id, title, body FROM q WHERE id = ?", (qid,)).fetchone()
        answers = conn.execute("SELECT id, body, score FROM a WHERE qid = ? ORDER BY score DESC", (qid,)).fetchall()
        return template.render(q={"id": q[0], "title": q[1], "body": q[2]},
                               answers=[{"id": r[0], "body": r[1], "score": r[2]} for r in answers])

    return app


def _bare_db(path: str, n: int = 500) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, title TEXT, body TEXT)")
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, qid INTEGER, body TEXT, score INTEGER)")
    conn.execute("CREATE INDEX a_qid ON a (qid)")
    body = " ".join(["word"] * 150)
    conn.executemany("INSERT INTO q VALUES (?, ?, ?)", [(i, f"Question {i}", body) for i in range(1, n + 1)])
    conn.executemany("INSERT INTO a (qid, body, score) VALUES (?, ?, ?)",
                     [(i, body, k) for i in range(1, n + 1) for k in range(3)])
    conn.commit()
    conn.close()


# --- servers ---------------------------------------------------------------------------------------

def _httpx():
    try:
        import httpx
    except ImportError:  # the test extra installs it under this name (starlette's TestClient uses it)
        import httpx2 as httpx
    return httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict, port: int, wait: float = 120.0) -> subprocess.Popen:
    httpx = _httpx()

    proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks  # utime stime cutime cstime


# --- load --------------------------------------------------------------------------------------------

LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)\b", value)
    if m is None:
        return float("nan")
    number, unit = float(m.group(1)), m.group(2)
    return {"us": number / 1000, "ms": number, "s": number * 1000, "m": number * 60000}[unit]


def load(port: int, paths: list[str], *, pid: int, duration: int, connections: int, headers=()) -> dict:
    """Run wrk against these paths (rotating); req/s, p50/p99 ms, CPU ms per request of `pid`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % ", ".join('"' + p.replace('"', '\\"') + '"' for p in paths))
        script = f.name
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(f"http://127.0.0.1:{port}")
    cpu0 = _cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu1 = _cpu_seconds(pid)
    os.unlink(script)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"50%\s+(\S+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+(\S+)", out).group(1)),
        "cpu_ms": (cpu1 - cpu0) * 1000 / max(requests, 1),
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "requests": requests,
    }


# --- SQL statements per request (in this process) ----------------------------------------------------

def statements_per_request(url: str, paths: dict[str, str], cookie_user: str | None, cache_mb: float) -> dict:
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from app.core.config import Settings
    from app.core.db import make_engine
    from app.main import create_app

    engine = make_engine(url)
    extra = {"page_cache_mb": cache_mb} if "page_cache_mb" in Settings.model_fields else {}  # (older code: no cache)
    settings = Settings(env="production", database_url=url, secret_key="bench-secret-" + "x" * 40, rate_limits="off",
                        search_semantic="off", log_level="warning", search_apply_in_process=False,
                        base_url="http://127.0.0.1", secure_cookies=False, **extra)
    app = create_app(settings, engine)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    out = {}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        if cookie_user:
            _sign_in(client, cookie_user)
        for name, path in paths.items():
            client.get(path)  # warm: templates, aggregates, the search index
            seen.clear()
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)
            out[name] = len([s for s in seen if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))])
    engine.dispose()
    return out


def in_process(url: str, routes: dict[str, list[str]], cache_mb: float, requests: int) -> dict:
    """c=1 in this process (TestClient): CPU ms per request (time.process_time, the client's own
    share included) and wall ms per request, over `requests` requests spread over each route's
    paths, after one warm request per path used. No wrk: for a loaded machine or a quick look."""
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.core.db import make_engine
    from app.main import create_app

    engine = make_engine(url)
    extra = {"page_cache_mb": cache_mb} if "page_cache_mb" in Settings.model_fields else {}
    settings = Settings(env="production", database_url=url, secret_key="bench-secret-" + "x" * 40, rate_limits="off",
                        search_semantic="off", log_level="warning", search_apply_in_process=False,
                        base_url="http://127.0.0.1", secure_cookies=False, **extra)
    app = create_app(settings, engine)
    out = {}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.get("/search?q=wifi", timeout=600)  # the embedded index loads now, not while measuring
        for name, paths in routes.items():
            used = [paths[i % len(paths)] for i in range(requests)]
            for p in dict.fromkeys(used):
                client.get(p)
            cpu, wall = time.process_time(), time.perf_counter()
            for p in used:
                assert client.get(p).status_code == 200, p
            out[name] = ((time.process_time() - cpu) * 1000 / requests, (time.perf_counter() - wall) * 1000 / requests)
    engine.dispose()
    return out


def _sign_in(client, username: str) -> None:
    page = client.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/signin", data={"username": username, "password": "bench-password", "next": "/",
                                     "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]


def _session_cookie(port: int, username: str) -> str:
    httpx = _httpx()

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        _sign_in(client, username)
        return f"gs_session={client.cookies['gs_session']}"


# --- main --------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("GROUNDSWELL_DATABASE_URL"), required=False)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per route and visitor kind")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--kinds", default="cached,rendered,signed-in")
    parser.add_argument("--user", default="user7", help="a customer of the filled corpus, for signed-in pages")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="instead of wrk: N requests per route at c=1 in this process (CPU and wall ms/request)")
    parser.add_argument("--max-inflight", type=int, default=None, metavar="N",
                        help="the server's GROUNDSWELL_MAX_INFLIGHT (default: the application's default; "
                             "figures before 2026-12-03 used 32)")
    parser.add_argument("--skip", default="", help="routes to leave out, comma-separated (e.g. 'search page')")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("pages_bench: needs wrk (apt-get install wrk)")
    if not args.url:
        sys.exit("pages_bench: give --url (a database filled by bench/fill_corpus.py)")
    from sqlalchemy import text

    from app.core.db import make_engine

    engine = make_engine(args.url)
    with engine.connect() as conn:
        n_questions = conn.execute(text("SELECT count(*) FROM questions")).scalar()
        n_answers = conn.execute(text("SELECT count(*) FROM answers")).scalar()
        # Votes cast here, and votes an import brought over (kept apart: app/importer/models.py).
        n_votes = conn.execute(text("SELECT (SELECT count(*) FROM votes) + (SELECT count(*) FROM imported_votes)")).scalar()
        ids = [tuple(r) for r in conn.execute(text(
            "SELECT id, slug FROM questions WHERE deleted_at IS NULL ORDER BY (id * 7919) % 1000003 LIMIT 500"))]
        tag = conn.execute(text("SELECT t.name FROM tags t JOIN question_tags qt ON qt.tag_id = t.id "
                                "GROUP BY t.name ORDER BY count(*) DESC LIMIT 1 OFFSET 5")).scalar()
    engine.dispose()
    words = ["wifi drops", "battery drains", "dock charging", "bluetooth audio", "screen flickers", "firmware update",
             "hdmi monitor", "printer queue", "touchpad gestures", "router timeout"]
    routes = {
        "question page": [f"/questions/{i}/{s}" for i, s in ids],
        "home list": ["/"],
        "unanswered": ["/?sort=unanswered"],
        "tag page": [f"/tags/{tag}"],
        "search page": [f"/search?q={w.replace(' ', '+')}" for w in words],
        "API question": [f"/api/v1/questions/{i}" for i, _ in ids],
        "API list": ["/api/v1/questions?limit=30"],
    }
    for name in filter(None, args.skip.split(",")):
        routes.pop(name.strip(), None)
    print(f"# pages_bench: {n_questions} questions, {n_answers} answers, {n_votes} votes; "
          f"wrk -t2 -c{args.connections} -d{args.duration}s; MAX_INFLIGHT {args.max_inflight or 'default'}; "
          f"load: {os.getloadavg()[0]:.2f} "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")

    if args.in_process:
        print("| visitor | route | CPU ms/req | wall ms/req (c=1) | SQL/req |")
        print("|---|---|---|---|---|")
        for kind in args.kinds.split(","):
            if kind == "signed-in":
                continue
            cache_mb = 0 if kind == "rendered" else 32
            sql = statements_per_request(args.url, {name: paths[0] for name, paths in routes.items()}, None, cache_mb)
            for name, (cpu, wall) in in_process(args.url, routes, cache_mb, args.in_process).items():
                print(f"| {kind} | {name} | {cpu:.1f} | {wall:.1f} | {sql[name]} |", flush=True)
        return

    with tempfile.TemporaryDirectory() as tmp:
        bare_db = os.path.join(tmp, "bare.db")
        _bare_db(bare_db)
        port = _free_port()
        bare = _start([sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(HERE), "pages_bench:bare_app_factory",
                       "--port", str(port), "--log-level", "warning", "--no-access-log", "--loop", "uvloop",
                       "--http", "httptools"], {"BARE_DB": bare_db}, port)
        try:
            load(port, ["/q/1"], pid=bare.pid, duration=2, connections=args.connections)
            ceiling = load(port, [f"/q/{i}" for i in range(1, 501)], pid=bare.pid, duration=args.duration,
                           connections=args.connections)
        finally:
            bare.terminate()
            bare.wait()
    print(f"bare stack (FastAPI + Jinja2 + 2 SQLite queries): {ceiling['rps']:.0f} req/s, p50 {ceiling['p50']:.1f} ms, "
          f"p99 {ceiling['p99']:.1f} ms, {ceiling['cpu_ms']:.2f} CPU ms/req, 2 SQL/req")
    print()
    print(f"| visitor | route | req/s | % of ceiling | p50 ms | p99 ms | CPU ms/req | SQL/req | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        cache_mb = 0 if kind == "rendered" else 32
        env = {"GROUNDSWELL_DATABASE_URL": args.url, "GROUNDSWELL_RATE_LIMITS": "off", "GROUNDSWELL_LOG_LEVEL": "warning",
               "GROUNDSWELL_SEARCH_SEMANTIC": "off", "GROUNDSWELL_SECRET_KEY": "bench-secret-" + "x" * 40,
               "GROUNDSWELL_ENV": "production", "GROUNDSWELL_PAGE_CACHE_MB": str(cache_mb),
               "GROUNDSWELL_SEARCH_APPLY_IN_PROCESS": "false",
               "GROUNDSWELL_SECURE_COOKIES": "false"}  # plain http on 127.0.0.1
        if args.max_inflight:
            env["GROUNDSWELL_MAX_INFLIGHT"] = str(args.max_inflight)
        sql = statements_per_request(args.url, {name: paths[0] for name, paths in routes.items()},
                                     args.user if kind == "signed-in" else None, cache_mb)
        port = _free_port()
        server = _start([sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port),
                         "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools"],
                        env, port)
        try:
            headers = [f"Cookie: {_session_cookie(port, args.user)}"] if kind == "signed-in" else []
            httpx = _httpx()
            # The in-memory search index loads in a background thread at start (60 s at 100k
            # questions); a search waits for it. Measuring before it is loaded would charge its
            # CPU, and its hold on the GIL, to the first routes.
            httpx.get(f"http://127.0.0.1:{port}/search?q=wifi", timeout=900)

            for name, paths in routes.items():
                for p in paths[:3]:  # warm: the search index, templates, aggregates
                    httpx.get(f"http://127.0.0.1:{port}{p}", timeout=300,
                              headers=dict(h.split(": ", 1) for h in headers))
                if kind == "cached":  # fill the cache first: every page once, then measure
                    for p in paths:
                        httpx.get(f"http://127.0.0.1:{port}{p}", timeout=300)
                r = load(port, paths, pid=server.pid, duration=args.duration, connections=args.connections,
                         headers=headers)
                print(f"| {kind} | {name} | {r['rps']:.0f} | {100 * r['rps'] / ceiling['rps']:.0f}% | {r['p50']:.1f} | "
                      f"{r['p99']:.1f} | {r['cpu_ms']:.2f} | {sql[name]} | {r['errors']} |", flush=True)
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
