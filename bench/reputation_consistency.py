#!/usr/bin/env python3
"""Concurrent voting against the reputation ledger: throughput and exactness.

N voters start at the same moment; each casts a vote, then switches or retracts it (3 changes
each, every change its own transaction). Afterwards every score must equal its votes, every
cached balance its ledger, and `recompute` must find no difference.

    .venv/bin/python bench/reputation_consistency.py                       # PostgreSQL on 127.0.0.1
    .venv/bin/python bench/reputation_consistency.py --db sqlite --voters 200
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.core import migrate  # noqa: E402
from app.core.db import make_engine, writer  # noqa: E402
from app.reputation import service as reputation  # noqa: E402
from tests.reputation_load import build_community, check_consistency, run_concurrently  # noqa: E402

PG = os.environ.get("GROUNDSWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--voters", type=int, default=100)
    ap.add_argument("--authors", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    schema = f"gs_bench_{os.getpid()}"
    if a.db == "postgresql":
        admin = make_engine(PG, pool_size=1, max_overflow=0)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG}{'&' if '?' in PG else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        migrate.upgrade(url)
        # The voters are threads calling the services directly, without the server's admission limit:
        # they may wait long for a connection or SQLite's write turn.
        engine = make_engine(url, db_timeout=120,
                             **({"pool_size": 40, "max_overflow": 0} if a.db == "postgresql" else {}))
        with Session(writer(engine), expire_on_commit=False) as s:
            community = build_community(s, authors=a.authors, voters=a.voters)
            s.commit()
        result = run_concurrently(engine, community, seed=a.seed, rounds=a.rounds)
        check_consistency(engine, community)
        with Session(engine) as s:
            report = reputation.recompute(s, fix=False)
        print(f"database          {a.db}")
        print(f"voters            {a.voters} (all starting together), {len(community.posts)} posts by {a.authors} authors")
        print(f"vote changes      {result.operations} ok, {len(result.errors)} failed")
        print(f"wall time         {result.seconds:.2f} s  ({result.operations / result.seconds:.0f} changes/s)")
        print(f"recompute         {report.summary()}")
        print(f"consistent        {'yes' if report.differences == 0 and not result.errors else 'NO'}")
        for e in result.errors[:5]:
            print(f"  error: {e}")
        engine.dispose()
        return 0 if report.differences == 0 and not result.errors else 1
    finally:
        if a.db == "postgresql":
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
