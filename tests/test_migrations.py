"""Alembic is the only source of the schema: the models and the migrations must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.core import migrate
from app.core.db import import_all_models, metadata


def test_models_and_migrations_agree(engine):
    import_all_models()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_schema_is_at_head(engine):
    assert not migrate.pending(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"users", "questions", "answers", "votes", "comments", "revisions", "products", "tags"} <= tables


def test_upgrade_downgrade_upgrade_on_a_fresh_sqlite(tmp_path):
    from alembic import command

    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    command.downgrade(migrate.alembic_config(url), "base")
    eng = make_engine(url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert not migrate.pending(eng)
    eng.dispose()


def test_0008_gives_existing_addresses_to_their_oldest_account(tmp_path):
    """Upgrading computes the look-alike keys; of two accounts that already share one, the older
    owns the address (and keeps signing in by it), the newer gets none."""
    from sqlalchemy import text

    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    migrate.upgrade(url, "0006_escalation")
    eng = make_engine(url)
    with eng.begin() as conn:
        for name, email in (("first", "ali\u200bce@example.com"), ("second", "\u0430lice@example.com"),
                            ("third", "bob@example.com"), ("imported", "se1.x@imported.invalid")):
            conn.execute(text("INSERT INTO users (username, email, role, display_name, bio, reputation, "
                              "token_version, is_active, created_at) VALUES (:u, :e, 'customer', '', '', 1, 0, 1, "
                              "'2026-01-01 00:00:00')"), {"u": name, "e": email})
    migrate.upgrade(url)
    with eng.connect() as conn:
        keys = dict(conn.execute(text("SELECT username, email_key FROM users")).all())
    eng.dispose()
    assert keys == {"first": "alice@example.com", "second": None, "third": "bob@example.com", "imported": None}


def _rows_at_0025(conn) -> None:
    """A user, a question with an answer and a comment, and notices linking to them (and elsewhere)."""
    from sqlalchemy import text

    conn.execute(text("INSERT INTO users (id, username, email, role, display_name, bio, reputation, token_version, "
                      "is_active, created_at) VALUES (1, 'maya', 'maya@example.com', 'customer', "
                      "'Maya\u202e\n  Lin\u200b', '', 1, 0, 1, '2026-01-01 00:00:00')"))
    conn.execute(text("INSERT INTO questions (id, title, slug, body, body_html, author_id, score, answer_count, "
                      "status, created_at, last_activity_at) VALUES (7, 'Wi-Fi\tdrops\r\nafter  sleep\u0007', "
                      "'wi-fi-drops', 'b', '<p>b</p>', 1, 0, 1, 'open', '2026-01-02 00:00:00', "
                      "'2026-01-02 00:00:00')"))
    conn.execute(text("INSERT INTO answers (id, question_id, author_id, body, body_html, score, created_at) "
                      "VALUES (8, 7, 1, 'a', '<p>a</p>', 0, '2026-01-03 00:00:00')"))
    conn.execute(text("INSERT INTO comments (id, post_type, post_id, author_id, body, body_html, created_at) "
                      "VALUES (9, 'answer', 8, 1, 'c', '<p>c</p>', '2026-01-04 00:00:00')"))
    for nid, url in ((1, "/questions/7/wi-fi-drops"), (2, "/questions/7/wi-fi-drops#answer-8"),
                     (3, "/questions/7/wi-fi-drops?page=2#comment-9"), (4, "/users/maya"),
                     (5, "/questions/7/wi-fi-drops#answer-999"), (6, "/questions/70/nothing-here")):
        conn.execute(text("INSERT INTO notifications (id, user_id, kind, text, url, created_at) VALUES "
                          "(:id, 1, 'mention', :t, :url, '2026-01-05 00:00:00')"),
                     {"id": nid, "url": url, "t": "New answer on\n“Wi-Fi\u2066 drops”\t "})


def test_0026_stores_the_post_of_each_notice_from_its_link_and_downgrades(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'notices.db'}"
    migrate.upgrade(url, "0025_product_list_indexes")
    eng = make_engine(url)
    with eng.begin() as conn:
        _rows_at_0025(conn)
    migrate.upgrade(url, "0026_notification_posts")
    with eng.connect() as conn:
        got = {r.id: (r.question_id, r.post_type, r.post_id) for r in conn.execute(
            text("SELECT id, question_id, post_type, post_id FROM notifications"))}
    assert got == {1: (7, "question", 7), 2: (7, "answer", 8), 3: (7, "comment", 9), 4: (None, None, None),
                   5: (None, None, None), 6: (None, None, None)}  # no such answer, no such question
    command.downgrade(migrate.alembic_config(url), "0025_product_list_indexes")
    assert "post_id" not in {c["name"] for c in inspect(eng).get_columns("notifications")}
    eng.dispose()


def test_0027_cleans_one_line_texts_stored_before_and_downgrades(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'texts.db'}"
    migrate.upgrade(url, "0025_product_list_indexes")
    eng = make_engine(url)
    with eng.begin() as conn:
        _rows_at_0025(conn)
        conn.execute(text("INSERT INTO products (id, slug, name, description, created_at) VALUES "
                          "(1, 'aero-14', :n, '', '2026-01-01 00:00:00'), (2, 'blank', :b, '', '2026-01-01 00:00:00')"),
                     {"n": "Kestrel\r\nAero\u00a0 14\u200b", "b": "\u200b\t"})
        conn.execute(text("INSERT INTO revisions (id, post_type, post_id, number, title, body, author_id, comment, "
                          "created_at) VALUES (1, 'question', 7, 1, :t, 'b', 1, '', '2026-01-02 00:00:00')"),
                     {"t": "Wi-Fi\tdrops\r\nafter  sleep\u0007"})
        conn.execute(text("INSERT INTO tags (id, name) VALUES (1, :n)"), {"n": "wi\u200bfi"})
    migrate.upgrade(url, "0027_single_line_texts")
    with eng.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
        assert one("SELECT display_name FROM users") == "Maya Lin"
        assert one("SELECT title FROM questions") == "Wi-Fi drops after sleep"
        assert one("SELECT slug FROM questions") == "wi-fi-drops"  # links stay
        assert one("SELECT title FROM revisions") == "Wi-Fi drops after sleep"
        assert one("SELECT name FROM products WHERE id = 1") == "Kestrel Aero 14"
        assert one("SELECT name FROM products WHERE id = 2") == "blank"  # nothing left: the slug
        assert {r[0] for r in conn.execute(text("SELECT text FROM notifications"))} == {"New answer on “Wi-Fi drops”"}
        assert one("SELECT name FROM tags") == "wi\u200bfi"  # tag names are left alone
        assert one("SELECT count(*) FROM search_outbox WHERE question_id = 7") == 1  # re-indexed
    command.downgrade(migrate.alembic_config(url), "0025_product_list_indexes")
    migrate.upgrade(url)  # and up again: the cleaning finds nothing left to do
    with eng.connect() as conn:
        assert conn.execute(text("SELECT title FROM questions")).scalar_one() == "Wi-Fi drops after sleep"
    eng.dispose()
