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


def _bare_importer(session: Session) -> _Importer:
    """An importer of SITE on `session` with nothing read yet: enough for its look-ups."""
    importer = _Importer.__new__(_Importer)
    importer.s, importer.site, importer._pg = session, SITE, session.get_bind().dialect.name == "postgresql"
    importer._deleted_user = None
    return importer


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
        importer = _bare_importer(session)
        assert importer._mapped_kind([1, 2, 3, None, 9]) == {1: ("question", 101), 2: ("answer", 202)}
        assert importer._mapped("comment", [1, 2, 1]) == {1: 301}
        assert importer._mapped("question", []) == {}
        assert importer._mapped("question", list(range(5000))) == {1: 101}  # past SQLite's 900 per IN list


def test_the_authors_lookup_probes_both_indexes_on_stale_statistics(clean_engine):
    """The look-up of a batch's authors (import_map, then each user's display name) stays two
    index probes per id when the statistics predate the users, as at the start of an import."""
    if clean_engine.dialect.name != "postgresql":
        pytest.skip("plans are checked on PostgreSQL")
    with clean_engine.begin() as conn:
        conn.execute(text("ANALYZE import_map"))
        conn.execute(text("ANALYZE users"))  # statistics of a site with no users yet
        conn.execute(text("INSERT INTO users (username, username_key, email, display_name, bio, role, reputation, "
                          "token_version, is_active, created_at) SELECT 'u' || g, 'u' || g, 'u' || g || '@x.invalid', "
                          "'User ' || g, '', 'customer', 1, 0, true, now() FROM generate_series(1, 20000) g"))
        conn.execute(text("INSERT INTO import_map (site, kind, source_id, local_id) "
                          "SELECT :site, 'user', u.id + 7, u.id FROM users u"), {"site": SITE})
        sql = _Importer.AUTHORS_PG.text.replace(":ids", "%(ids)s").replace(":site", "%(site)s")
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (FORMAT JSON) " + sql, {"ids": list(range(1, 2001)), "site": SITE})
            plan = cur.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    scans = [n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name") in ("import_map", "users")]
    assert {n["Relation Name"] for n in scans} == {"import_map", "users"}, plan
    for node in scans:
        shown = {k: str(node.get(k, ""))[:160] for k in ("Relation Name", "Node Type", "Index Cond", "Filter")}
        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), shown
        key = "source_id" if node["Relation Name"] == "import_map" else "id"
        assert f"{key} = " in node.get("Index Cond", ""), shown  # probed by the batch's id…
        assert "Filter" not in node, shown  # …not a walk over the site's users


def test_a_batchs_authors_are_found_with_their_names(clean_engine):
    """Both databases: each row's local author and the name shown for it; a row whose author is
    not in the dump (or has no id) is credited to the deleted-user placeholder under the name
    the dump gives, and an id mapped to a user that no longer exists counts as not in the dump."""
    with clean_engine.begin() as conn:
        for uid, name in ((41, "Ada Lovelace"), (42, "Grace Hopper")):
            conn.execute(text("INSERT INTO users (id, username, username_key, email, display_name, bio, role, "
                              "reputation, token_version, is_active, created_at) VALUES (:id, :u, :u, :e, :n, '', "
                              "'customer', 1, 0, true, CURRENT_TIMESTAMP)"),
                         {"id": uid, "u": f"user{uid}", "e": f"user{uid}@x.invalid", "n": name})
        conn.execute(text("INSERT INTO import_map (site, kind, source_id, local_id) VALUES "
                          "(:site, 'user', 7, 41), (:site, 'user', 8, 42), (:site, 'user', 9, 4242), "
                          "('other.example', 'user', 10, 41), (:site, 'deleted_user', 0, 42)"), {"site": SITE})
    with Session(clean_engine) as session:
        importer = _bare_importer(session)
        batch = [{"OwnerUserId": "8"}, {"OwnerUserId": "7", "OwnerDisplayName": "ignored"}, {"OwnerUserId": "8"},
                 {"OwnerUserId": "10", "OwnerDisplayName": "Other Site"}, {"OwnerDisplayName": " Anonymous "},
                 {"OwnerUserId": "9", "OwnerDisplayName": "Gone Since"}, {"OwnerUserId": "x"}]
        assert importer._authors(batch) == [(42, "Grace Hopper"), (41, "Ada Lovelace"), (42, "Grace Hopper"),
                                            (42, "Other Site"), (42, "Anonymous"), (42, "Gone Since"),
                                            (42, "deleted user")]
