#!/usr/bin/env python3
"""What authenticating a request costs: SQL statements and latency of `GET /api/v1/me` with a
bearer token and of the forum's front page with a session cookie, in process (FastAPI TestClient)
on a fresh SQLite (or --db) database; and what the password policy costs at sign-up.

  python bench/auth_bench.py [--n 500] [--db postgresql+psycopg://…]

Prints statements per request (counted with a SQLAlchemy event listener), p50/p95 of each
request, and p50/max of the password check (zxcvbn) on a few typical passwords.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time


def pct(values: list[float]) -> str:
    values = sorted(values)
    return f"p50 {statistics.median(values):.2f} ms, p95 {values[int(0.95 * (len(values) - 1))]:.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--db", help="database URL (default: a new SQLite file)")
    a = ap.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from app.core import migrate
    from app.core.config import Settings
    from app.core.db import make_engine
    from app.main import create_app

    url = a.db or f"sqlite:///{tempfile.mkdtemp(prefix='gs-auth-bench-')}/bench.db"
    migrate.upgrade(url)
    engine = make_engine(url)
    settings = Settings(env="test", database_url=url, secret_key="b" * 48, rate_limits="off",
                        search_apply_in_process=False)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
    with TestClient(create_app(settings, engine)) as client:
        password = "sunlit orchard ladder"
        client.post("/api/v1/auth/register", json={"username": "benchy", "email": "benchy@example.com",
                                                   "password": password})
        token = client.post("/api/v1/auth/token", data={"username": "benchy", "password": password}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        browser = TestClient(client.app, headers={"Accept": "text/html"})
        import re

        page = browser.get("/signin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        browser.post("/signin", data={"username": "benchy", "password": password, "csrf_token": csrf},
                     follow_redirects=False)
        for label, call in (("GET /api/v1/me (bearer)", lambda: client.get("/api/v1/me", headers=headers)),
                            ("GET /notifications (cookie)", lambda: browser.get("/notifications"))):
            assert call().status_code == 200
            statements[0] = 0
            call()
            per_request = statements[0]
            times = []
            for _ in range(a.n):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            print(f"{label}: {per_request} SQL statements, {pct(times)} over {a.n}")

    from app.accounts import passwords

    samples = ["sunlit orchard ladder", "password1234", "correct-horse-battery", "Tr0ub4dor&3-extra",
               "x" * 72, "a fairly long passphrase that someone might really use at home"]
    passwords.problem("warm up the dictionaries")
    times = []
    for _ in range(20):
        for p in samples:
            started = time.perf_counter()
            passwords.problem(p, username="benchy", email="benchy@example.com", context=("Kestrel Community",))
            times.append((time.perf_counter() - started) * 1000)
    print(f"password policy check: p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
          f"over {len(times)} checks of {len(samples)} passwords")


if __name__ == "__main__":
    main()
