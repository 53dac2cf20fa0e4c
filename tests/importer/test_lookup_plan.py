"""The importer's look-up of what a dump already imported (import_map) stays an index probe per id.

PostgreSQL plans each batch's look-up from the statistics of import_map, and an import changes
that table faster than statistics follow: when the comments pass begins, the statistics hold no
comment at all. The earlier `source_id = ANY(:ids)` was then planned as a walk over every comment
imported so far with the batch's 2,000 ids as a filter (200 ms per batch after 52,000 comments,
and more with each batch: an import quadratic in its size). The look-up now probes the unique
index once per id, whatever the statistics say; these tests hold that, on stale statistics.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.importer.stackexchange import _Importer

SITE = "plans.stackexchange.com"


def _fill_stale(conn) -> None:
    """import_map as at the start of a comments pass, then 30,000 comments later: statistics taken
    when the site had users and questions only."""
    conn.execute(text("INSERT INTO import_map (site, kind, source_id, local_id) "
                      "SELECT :site, 'user', g, g FROM generate_series(1, 5000) g"), {"site": SITE})
    conn.execute(text("INSERT INTO import_map (site, kind, source_id, local_id) "
                      "SELECT :site, 'question', g, g FROM generate_series(1, 5000) g"), {"site": SITE})
    conn.execute(text("ANALYZE import_map"))
    conn.execute(text("INSERT INTO import_map (site, kind, source_id, local_id) "
                      "SELECT :site, 'comment', g, g + 1 FROM generate_series(1, 30000) g"), {"site": SITE})


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_lookup_probes_the_index_on_stale_statistics(clean_engine):
    if clean_engine.dialect.name != "postgresql":
        pytest.skip("plans are checked on PostgreSQL")
    with clean_engine.begin() as conn:
        _fill_stale(conn)
        # The ids of the next batch: new comments (not found) and some already imported.
        ids = list(range(29_001, 31_001))
        sql = _Importer.LOOKUP_PG.text.replace(":ids", "%(ids)s").replace(":site", "%(site)s") \
                                      .replace(":kinds", "%(kinds)s")
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (FORMAT JSON) " + sql, {"ids": ids, "site": SITE, "kinds": ["comment"]})
            plan = cur.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    scans = [n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name") == "import_map"]
    assert scans, plan
    for node in scans:
        shown = {k: str(node.get(k, ""))[:160] for k in ("Node Type", "Index Cond", "Filter")}
        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), shown
        assert "source_id" in node.get("Index Cond", ""), shown  # probed by id…
        assert "Filter" not in node, shown  # …not every comment so far walked and filtered


def test_the_lookup_finds_each_kind_by_source_id(clean_engine):
    """Both databases: the right local id for each (kind, source id), nothing of another kind or site."""
    with clean_engine.begin() as conn:
        conn.execute(text("INSERT INTO import_map (site, kind, source_id, local_id) VALUES "
                          "(:site, 'question', 1, 101), (:site, 'answer', 2, 202), (:site, 'comment', 1, 301), "
                          "('other.example', 'question', 3, 403)"), {"site": SITE})
    with Session(clean_engine) as session:
        importer = _Importer.__new__(_Importer)
        importer.s, importer.site, importer._pg = session, SITE, clean_engine.dialect.name == "postgresql"
        assert importer._mapped_kind([1, 2, 3, None, 9]) == {1: ("question", 101), 2: ("answer", 202)}
        assert importer._mapped("comment", [1, 2, 1]) == {1: 301}
        assert importer._mapped("question", []) == {}
        assert importer._mapped("question", list(range(5000))) == {1: 101}  # past SQLite's 900 per IN list
