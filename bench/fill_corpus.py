"""Fill a migrated PostgreSQL database with a generated support community, set-based and fast.

    .venv/bin/python bench/fill_corpus.py --questions 100000 [--url postgresql+psycopg://…]

Shaped like the generated Stack Exchange dumps of issue 11 (a support site): 0–6 answers per
question (3 on average: 300k answers for 100k questions), ~150-word bodies with a list and a
code block, 0–6 votes per answer (~900k votes for 100k questions) and a few on questions, about
half the answered questions accepted, 2% closed as duplicates, 1–3 tags per question from 300
(popularity skewed), 8 products, one comment per question and one per two answers, a first
revision per post, the reputation ledger of the votes and acceptances, users' reputation, and
the embedded search index's documents (keyword search; no vectors).

Everything is INSERT … SELECT over generate_series (no rows travel through Python), then ANALYZE.
100k questions take about a minute on a 2-core machine; the importer (app/importer) is the
way to load a real dump, this is for benchmarks (bench/pages_bench.py) and for the plan test
(tests/web/test_page_plans.py). The target must be empty and migrated (`groundswell migrate`).
Every user's password is `bench-password` (one argon2 hash shared by all).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

from sqlalchemy import text
from sqlalchemy.engine import Engine

WORDS = ("wifi drops after update driver laptop battery drains overnight sleep mode dock charging usb power "
         "firmware bluetooth audio crackles screen flickers display brightness keyboard backlight fan noise "
         "thermal throttling reset settings network adapter router connection timeout error code restart boot "
         "bios secure recovery partition disk space update failed install rollback version release notes "
         "support cable adapter port hdmi monitor external resolution scaling touchpad gestures camera privacy "
         "shutter microphone headset pairing profile mobile app sync account login password token printer "
         "scanner queue spooler service windows linux macos kernel module package dependency log file").split()
PRODUCTS = (("aero-14", "Kestrel Aero 14"), ("aero-16", "Kestrel Aero 16"), ("dock-pro", "Dock Pro"),
            ("hub-3", "Hub 3"), ("pen-2", "Kestrel Pen 2"), ("buds", "Kestrel Buds"), ("sync-app", "Kestrel Sync"),
            ("monitor-27", "Kestrel View 27"))
N_TAGS = 300
N_BODIES = 997  # bodies are picked by id modulo this (a prime: answers of one question differ)
PASSWORD = "bench-password"


def _body(i: int) -> str:
    """~150 words of Markdown: two paragraphs, a list and a code block."""
    def words(n: int, seed: int) -> str:
        return " ".join(WORDS[(seed * 7919 + k * 104729 + k * k * 31) % len(WORDS)] for k in range(n))

    return (f"{words(55, i).capitalize()}.\n\n"
            f"- {words(8, i + 1)}\n- {words(8, i + 2)}\n- {words(8, i + 3)}\n\n"
            f"```\n$ kestrel-diag --check {WORDS[i % len(WORDS)]} --verbose\nerror 0x{i:04x}: {words(6, i + 4)}\n```\n\n"
            f"{words(55, i + 5).capitalize()}.")


def _tag_names() -> list[str]:
    names = []
    for i in range(N_TAGS):
        a, b = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
        names.append(a if i < len(WORDS) else f"{a}-{b}")
    seen, out = set(), []
    for n in names:
        while n in seen:
            n += "-x"
        seen.add(n)
        out.append(n[:35])
    return out


def fill(engine: Engine, *, questions: int, users: int | None = None, bodies: int = N_BODIES, echo=print) -> dict:
    """Fill an empty, migrated PostgreSQL database; returns the row counts. See the module docstring.
    `bodies`: distinct post bodies (rendered once each; fewer is faster, for tests)."""
    from app.core.markdown import render_markdown
    from app.core.security import hash_password

    assert engine.dialect.name == "postgresql", "fill_corpus is PostgreSQL-only (generate_series)"
    n_users = users or max(200, questions // 10)
    t0 = time.perf_counter()
    n_bodies = bodies
    bodies = [_body(i) for i in range(n_bodies)]
    steps = [
        ("users", """
            INSERT INTO users (id, username, username_key, email, email_key, password_hash, role, display_name, bio,
                               reputation, token_version, is_active, created_at)
            SELECT i, 'user' || i, 'user' || i, 'user' || i || '@example.com', 'user' || i || '@example.com', :hash,
                   CASE WHEN i <= 3 THEN 'staff' WHEN i <= 6 THEN 'moderator' ELSE 'customer' END, '', '', 1, 0, true,
                   now() - interval '800 days' + (i % 700) * interval '1 day'
            FROM generate_series(1, :users) i"""),
        ("products", None),
        ("tags", None),
        ("bodies", None),
        ("questions", """
            INSERT INTO questions (id, title, slug, body, body_html, author_id, product_id, score, answer_count, status,
                                   created_at, last_activity_at, body_format)
            SELECT i,
                   initcap(w1) || ' ' || w2 || ' ' || w3 || ' after the ' || w4 || ' update (case ' || i || ')',
                   w1 || '-' || w2 || '-' || w3 || '-after-the-' || w4 || '-update-case-' || i,
                   b.body, b.body_html, 1 + (i * 7919::bigint) % :users,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + (i * 31) % 8 END,
                   0, (i * 13) % 7, 'open',
                   now() - interval '730 days' + i * (interval '730 days' / :questions),
                   now() - interval '730 days' + i * (interval '730 days' / :questions) + (i % 48) * interval '1 hour',
                   'markdown'
            FROM (SELECT i, (CAST(:words AS text[]))[1 + (i * 7) % :nwords] w1, (CAST(:words AS text[]))[1 + (i * 11 + 3) % :nwords] w2,
                         (CAST(:words AS text[]))[1 + (i * 17 + 5) % :nwords] w3, (CAST(:words AS text[]))[1 + (i * 23 + 7) % :nwords] w4
                  FROM generate_series(1, :questions) i) s
            JOIN bench_bodies b ON b.bk = s.i % :nbodies"""),
        ("question_tags", """
            INSERT INTO question_tags (question_id, tag_id, position, question_created_at,
                                       question_last_activity_at, question_score)
            SELECT DISTINCT ON (q, t) q, t, p, c, a, s FROM (
                SELECT q.id q, p, q.created_at c, q.last_activity_at a, q.score s,
                       -- skewed: a few tags on many questions, a long tail
                       1 + floor(power(((q.id * 7919::bigint + p * 104729::bigint) % 1000) / 1000.0, 2.5) * :ntags)::int % :ntags t
                FROM questions q, generate_series(0, q.id % 3) p) s
            ORDER BY q, t, p"""),
        ("answers", """
            INSERT INTO answers (question_id, author_id, body, body_html, score, created_at, body_format)
            SELECT q.id, 1 + (q.id * 104729::bigint + k * 7919::bigint) % :users, b.body, b.body_html, 0,
                   q.created_at + k * interval '3 hours', 'markdown'
            FROM questions q CROSS JOIN LATERAL generate_series(1, q.answer_count) k
            JOIN bench_bodies b ON b.bk = (q.id * 7 + k) % :nbodies"""),
        ("votes", """
            INSERT INTO votes (voter_id, post_type, post_id, value, created_at, updated_at)
            SELECT DISTINCT ON (voter, a.id) voter, 'answer', a.id,
                   CASE WHEN (a.id + v) % 8 = 0 THEN -1 ELSE 1 END, a.created_at + v * interval '1 hour',
                   a.created_at + v * interval '1 hour'
            FROM answers a CROSS JOIN LATERAL generate_series(1, (a.id * 5) % 7) v
            CROSS JOIN LATERAL (SELECT 1 + (a.id * 31 + v * 7919::bigint) % :users AS voter) x
            ORDER BY voter, a.id"""),
        ("question votes", """
            INSERT INTO votes (voter_id, post_type, post_id, value, created_at, updated_at)
            SELECT DISTINCT ON (voter, q.id) voter, 'question', q.id, 1, q.created_at + v * interval '1 hour',
                   q.created_at + v * interval '1 hour'
            FROM questions q CROSS JOIN LATERAL generate_series(1, q.id % 3) v
            CROSS JOIN LATERAL (SELECT 1 + (q.id * 37 + v * 104729::bigint) % :users AS voter) x
            ORDER BY voter, q.id"""),
        ("scores", """
            UPDATE answers a SET score = s.total FROM (
                SELECT post_id, sum(value) total FROM votes WHERE post_type = 'answer' GROUP BY post_id) s
            WHERE a.id = s.post_id;
            UPDATE questions q SET score = s.total FROM (
                SELECT post_id, sum(value) total FROM votes WHERE post_type = 'question' GROUP BY post_id) s
            WHERE q.id = s.post_id"""),
        ("acceptances", """
            UPDATE questions q SET accepted_answer_id = f.first_id FROM (
                SELECT question_id, min(id) first_id FROM answers GROUP BY question_id) f
            WHERE q.id = f.question_id AND q.id % 2 = 0;
            INSERT INTO acceptances (question_id, answer_id, accepted_by_id, created_at)
            SELECT q.id, q.accepted_answer_id, q.author_id, q.created_at + interval '1 day'
            FROM questions q WHERE q.accepted_answer_id IS NOT NULL"""),
        ("duplicates", """
            UPDATE questions SET status = 'duplicate', duplicate_of_id = id - 1 WHERE id % 50 = 0 AND id > 1"""),
        ("comments", """
            INSERT INTO comments (post_type, post_id, author_id, body, body_html, created_at)
            SELECT 'question', q.id, 1 + (q.id * 13) % :users, 'Which version of the ' || (CAST(:words AS text[]))[1 + q.id % :nwords]
                   || ' driver do you have installed?', '<p>Which version of the driver do you have installed?</p>',
                   q.created_at + interval '20 minutes'
            FROM questions q;
            INSERT INTO comments (post_type, post_id, author_id, body, body_html, created_at)
            SELECT 'answer', a.id, 1 + (a.id * 17) % :users, 'This worked for me too, thanks.',
                   '<p>This worked for me too, thanks.</p>', a.created_at + interval '2 hours'
            FROM answers a WHERE a.id % 2 = 0"""),
        ("revisions", """
            INSERT INTO revisions (post_type, post_id, number, title, body, tags, author_id, comment, created_at)
            SELECT 'question', q.id, 1, q.title, q.body, '', q.author_id, '', q.created_at FROM questions q;
            INSERT INTO revisions (post_type, post_id, number, title, body, tags, author_id, comment, created_at)
            SELECT 'answer', a.id, 1, NULL, a.body, NULL, a.author_id, '', a.created_at FROM answers a"""),
        ("reputation", """
            INSERT INTO reputation_events (user_id, kind, amount, base_amount, source_type, source_id, post_type, post_id,
                                           product_id, occurred_at, created_at)
            SELECT a.author_id, CASE WHEN v.value > 0 THEN 'answer_upvoted' ELSE 'answer_downvoted' END,
                   CASE WHEN v.value > 0 THEN 10 ELSE -2 END, CASE WHEN v.value > 0 THEN 10 ELSE -2 END,
                   'vote', v.id, 'answer', a.id, q.product_id, v.created_at, v.created_at
            FROM votes v JOIN answers a ON a.id = v.post_id JOIN questions q ON q.id = a.question_id
            WHERE v.post_type = 'answer';
            INSERT INTO reputation_events (user_id, kind, amount, base_amount, source_type, source_id, post_type, post_id,
                                           product_id, occurred_at, created_at)
            SELECT a.author_id, 'answer_accepted', 15, 15, 'acceptance', c.id, 'answer', a.id, q.product_id,
                   c.created_at, c.created_at
            FROM acceptances c JOIN answers a ON a.id = c.answer_id JOIN questions q ON q.id = c.question_id;
            UPDATE users u SET reputation = greatest(1, 1 + s.total) FROM (
                SELECT user_id, sum(amount) total FROM reputation_events WHERE reversed_at IS NULL GROUP BY user_id) s
            WHERE u.id = s.user_id"""),
        ("search documents", """
            INSERT INTO search_documents (question_id, seq, visible, title, body, accepted_answer, tags, product, status,
                                          solved, score, answer_count, created_at, alternate_titles, alternate_bodies)
            SELECT q.id, q.id, true, q.title, q.body, coalesce(a.body, ''),
                   coalesce((SELECT string_agg(t.name, ' ' ORDER BY qt.position) FROM question_tags qt
                             JOIN tags t ON t.id = qt.tag_id WHERE qt.question_id = q.id), ''),
                   p.slug, q.status, q.accepted_answer_id IS NOT NULL, q.score, q.answer_count, q.created_at, '', ''
            FROM questions q LEFT JOIN products p ON p.id = q.product_id LEFT JOIN answers a ON a.id = q.accepted_answer_id;
            INSERT INTO search_state (id, seq, generation) VALUES (1, :questions, :generation)"""),
    ]
    params = {"users": n_users, "questions": questions, "hash": hash_password(PASSWORD), "words": list(WORDS),
              "nwords": len(WORDS), "nbodies": n_bodies, "ntags": N_TAGS, "generation": uuid.uuid4().hex}
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM questions")).scalar():
            raise SystemExit("fill_corpus: the database already has questions; give it an empty, migrated one")
        for name, sql in steps:
            t = time.perf_counter()
            if name == "products":
                for i, (slug, pname) in enumerate(PRODUCTS, 1):
                    conn.execute(text("INSERT INTO products (id, slug, name, description, created_at) "
                                      "VALUES (:i, :s, :n, :d, now())"),
                                 {"i": i, "s": slug, "n": pname, "d": f"Questions about the {pname}."})
            elif name == "tags":
                conn.execute(text("INSERT INTO tags (id, name) VALUES (:i, :n)"),
                             [{"i": i, "n": n} for i, n in enumerate(_tag_names(), 1)])
            elif name == "bodies":
                conn.execute(text("CREATE TEMP TABLE bench_bodies (bk int PRIMARY KEY, body text, body_html text) "
                                  "ON COMMIT DROP"))
                conn.execute(text("INSERT INTO bench_bodies VALUES (:k, :b, :h)"),
                             [{"k": k, "b": b, "h": render_markdown(b)} for k, b in enumerate(bodies)])
            else:
                for part in sql.split(";\n"):
                    for k in ("users", "questions", "nwords", "nbodies", "ntags"):  # integers, written in
                        part = part.replace(f":{k}", str(int(params[k])))
                    conn.execute(text(part), {k: v for k, v in params.items() if f":{k}" in part})
            echo(f"  {name:<18} {time.perf_counter() - t:6.1f} s")
        for table in ("users", "products", "tags", "questions", "answers", "votes", "comments", "revisions",
                      "reputation_events", "acceptances"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    filled = ("users", "products", "tags", "questions", "question_tags", "answers", "votes", "acceptances", "comments",
              "revisions", "reputation_events", "search_documents", "search_state")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE " + ", ".join(filled)))  # the planner's statistics (autovacuum may lag)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                  ("users", "questions", "answers", "votes", "comments", "question_tags", "reputation_events")}
    echo(f"  filled in {time.perf_counter() - t0:.1f} s: {counts}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--url", default=os.environ.get("GROUNDSWELL_DATABASE_URL"))
    args = parser.parse_args()
    if not args.url or not args.url.startswith("postgresql"):
        sys.exit("fill_corpus: give a PostgreSQL URL (--url or GROUNDSWELL_DATABASE_URL)")
    from app.core import migrate
    from app.core.db import make_engine

    migrate.upgrade(args.url)
    engine = make_engine(args.url)
    fill(engine, questions=args.questions, users=args.users)


if __name__ == "__main__":
    main()
