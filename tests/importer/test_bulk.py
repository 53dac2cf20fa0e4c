"""The bulk import path at a size well beyond the other fixtures: a full generated dump
(bench/gen_dump.py: answers, comments, votes, acceptances, duplicate links), its memory, its
set-based reputation, and the comment fast path. Memory is compared between two dump sizes in
real import processes, never timed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.core.markdown import render_markdown
from app.importer.stackexchange import comment_html, rows
from app.reputation import service as reputation
from tests.importer.support import scalar

ROOT = Path(__file__).resolve().parents[2]
SMALL, LARGE = 300, 1500  # questions; ×4 posts, ×12 votes, ×4 comments: the large one is 5× the small

# The peak RSS of the import process may differ by this much between a dump and one five times
# its size (allocator noise, a larger batch of text); anything kept per row (ORM objects, every
# vote or event in a Python list, as the importer did before issue 11) grows far beyond it:
# ~80 MB between these two sizes.
MEMORY_SLACK_KIB = 24 * 1024


def _gen_dump():
    spec = importlib.util.spec_from_file_location("gen_dump", ROOT / "bench" / "gen_dump.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    gen = _gen_dump()
    base = tmp_path_factory.mktemp("generated")
    return {n: (gen.generate(base / f"q{n}", n, seed=7), base / f"q{n}") for n in (SMALL, LARGE)}


PEAK = """
import resource, sys
from app.cli import main
code = main(sys.argv[2:])
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def _import(folder: Path, site: str, db_url: str, tmp_path: Path) -> tuple[int, str]:
    """Run `groundswell import-stackexchange` in its own process; (its peak RSS in KiB, stdout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env["GROUNDSWELL_DATABASE_URL"] = db_url
    out = tmp_path / f"peak-{site}"
    p = subprocess.run([sys.executable, "-c", PEAK, str(out), "import-stackexchange", str(folder), "--site", site],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    return int(out.read_text()), p.stdout


def test_memory_does_not_grow_with_the_dump(db, db_url, dumps, tmp_path):
    (small_counts, small), (large_counts, large) = dumps[SMALL], dumps[LARGE]
    assert large_counts["Posts.xml"] == 5 * small_counts["Posts.xml"] == 5 * 4 * SMALL
    peak_small, out_small = _import(small, "small.stackexchange.com", db_url, tmp_path)
    peak_large, out_large = _import(large, "large.stackexchange.com", db_url, tmp_path)
    assert f"{SMALL:,} questions, {3 * SMALL:,} answers" in out_small
    assert f"{LARGE:,} questions, {3 * LARGE:,} answers" in out_large
    assert peak_large - peak_small < MEMORY_SLACK_KIB, (
        f"peak RSS {peak_small / 1024:.0f} MiB for {4 * SMALL:,} posts, {peak_large / 1024:.0f} MiB for "
        f"{4 * LARGE:,} posts")
    # The whole dump came over, and the set-based finish agrees with the object-by-object reference.
    assert scalar(db, "SELECT count(*) FROM answers") == 3 * (SMALL + LARGE)
    assert scalar(db, "SELECT count(*) FROM questions WHERE accepted_answer_id IS NOT NULL") == (SMALL + LARGE) // 2
    assert scalar(db, "SELECT count(*) FROM questions WHERE answer_count <> 3") == 0
    assert scalar(db, "SELECT count(*) FROM imported_votes") > 10 * (SMALL + LARGE)
    with Session(db) as s:
        assert reputation.recompute_in_python(s, fix=False).differences == 0
        assert reputation.recompute(s, fix=False).differences == 0
    # Scores are the sums of the imported votes.
    assert scalar(db, "SELECT count(*) FROM answers a WHERE a.score <> (SELECT COALESCE(SUM(v.value), 0) "
                      "FROM imported_votes v WHERE v.post_type = 'answer' AND v.post_id = a.id)") == 0


def test_set_based_recompute_repairs_what_the_reference_repairs(db, dumps):
    """Damage the ledger of an imported dump; recompute (SQL) reports and repairs exactly what
    recompute_in_python (the object-by-object reference) sees."""
    from app.importer.stackexchange import import_dump

    import_dump(db, dumps[SMALL][1], site="small.stackexchange.com")
    with Session(db) as s, s.begin():
        conn = s.connection()
        conn.exec_driver_sql("DELETE FROM reputation_events WHERE id IN (SELECT id FROM reputation_events "
                             "ORDER BY id LIMIT 5)")
        conn.exec_driver_sql("UPDATE reputation_events SET amount = amount + 3 WHERE id IN "
                             "(SELECT id FROM reputation_events ORDER BY id DESC LIMIT 4)")
        conn.exec_driver_sql("UPDATE users SET reputation = 999 WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 3)")
        conn.exec_driver_sql("DELETE FROM imported_votes WHERE id IN (SELECT id FROM imported_votes ORDER BY id "
                             "LIMIT 2)")
    with Session(db) as s:
        want = reputation.recompute_in_python(s, fix=False)
        got = reputation.recompute(s, fix=False)
        assert (got.missing_events, got.wrong_amounts, got.stale_events, got.balances_changed, got.users,
                got.events_checked) == (want.missing_events, want.wrong_amounts, want.stale_events,
                                        want.balances_changed, want.users, want.events_checked)
        assert sorted(got.changed_users) == sorted(want.changed_users)
        assert got.differences > 0
    with Session(db) as s, s.begin():
        reputation.recompute(s, fix=True)
    with Session(db) as s:
        assert reputation.recompute_in_python(s, fix=False).differences == 0


def test_the_daily_cap_in_sql_matches_the_reference(db, tmp_path):
    """One author upvoted 30 times on one day (300 points before the cap of 200), as an import
    brings them: both recomputes cap the day the same way."""
    from app.importer.stackexchange import import_dump
    from tests.importer.dumps import Dump

    d = Dump().user(1, "Asker").user(2, "Helper")
    d.question(10, "Router keeps rebooting every night", owner=1, created="2021-03-01T08:00:00.000")
    for i in range(30):
        d.answer(100 + i, 10, owner=2, created="2021-03-01T09:00:00.000")
    for i in range(30):
        d.vote(100 + i, 2, "2021-03-02T00:00:00.000")
    import_dump(db, d.write(tmp_path / "capped"), site="capped.stackexchange.com")
    with Session(db) as s:
        assert reputation.recompute_in_python(s, fix=False).differences == 0
        assert reputation.recompute(s, fix=False).differences == 0
    assert scalar(db, "SELECT reputation FROM users WHERE display_name = 'Helper'") == 1 + 200


@pytest.mark.parametrize("text", [
    "Have you tried a factory reset?", "It's fine (really) - ok; yes: 3.5", "see http://x.com now",
    "Use *this* one", "1. first", "- a list", "# heading", "> quote", "a_b_c is fine", "x  y",
    "ends with a colon:", "mailto:me@example.com", "Check the //path", "Hello <b>bold</b>", "A & B",
    "Done.", "Is it (a) or (b)?", "ok", "Z", "tab\there", "She said \"no\"", "100% sure", "See [link](x)",
])
def test_comment_fast_path_is_render_markdown(text):
    assert comment_html(text) == render_markdown(text)


def test_comment_fast_path_on_every_generated_comment(dumps):
    for r in rows(dumps[SMALL][1] / "Comments.xml"):
        text = r["Text"].strip()[:600]
        assert comment_html(text) == render_markdown(text)


def test_the_dumps_scores_are_a_first_guess_the_votes_correct(db, read, tmp_path):
    """Each post starts with the Score and AnswerCount its dump states; the finish rewrites only
    the posts where those disagree with the imported votes and answers (a real dump's agree for
    nearly every post, so nearly nothing is written twice). Wrong, malformed and out-of-range
    values end as the votes and answers say, and the import reports how many it rewrote."""
    from app.answers.models import Answer
    from app.importer.stackexchange import import_dump
    from app.questions.models import Question
    from tests.importer.dumps import Dump

    d = Dump().user(1, "Asker").user(2, "Helper")
    # Right: 2 up, 1 down on the question; 1 answer.
    d.question(10, "Router keeps rebooting every night", owner=1, Score=1, AnswerCount=1)
    d.answer(100, 10, owner=2, Score=3)
    d.upvotes(10, 2).downvotes(10, 1).upvotes(100, 3)
    # Wrong in every way the dump may be: too high, negative, not a number, past PostgreSQL's integer.
    d.question(11, "Wi-Fi drops on battery", owner=1, Score=5, AnswerCount=-2)
    d.answer(101, 11, owner=2, Score="-4")
    d.answer(102, 11, owner=2, Score="lots")
    d.question(12, "Fan never stops", owner=1, Score="99999999999", AnswerCount="3000000000")
    d.answer(103, 12, owner=2, Score=1)  # right: one up vote
    d.upvotes(12, 1).upvotes(103, 1)
    d.question(13, "Dock Pro not detected", owner=1, Score=0, AnswerCount=-1)  # no answers: -1 read as 0, right
    lines: list[str] = []
    summary = import_dump(db, d.write(tmp_path / "scores"), site="scores.stackexchange.com", progress=lines.append)

    with read() as s:
        questions = {q.source_url.rsplit("/", 1)[1]: (q.score, q.answer_count) for q in s.exec(select(Question))}
        answers = {a.source_url.rsplit("/", 1)[1]: a.score for a in s.exec(select(Answer))}
    assert questions == {"10": (1, 1), "11": (0, 2), "12": (1, 1), "13": (0, 0)}
    assert answers == {"100": 3, "101": 0, "102": 0, "103": 1}
    # Question 11 (score and count), 12 (score and count); answer 101 (-4). Answer 102's "lots"
    # was read as 0, which the votes confirm. (Starting every post at 0 would rewrite questions
    # 10 and 12 and answers 100 and 103 instead.)
    assert summary.recounted == {"questions": 2, "answers": 1}
    assert any("2 questions and 1 answers recounted" in line for line in lines), lines


def test_a_generated_dump_states_the_scores_its_votes_make(db, dumps):
    """bench/gen_dump.py writes each post's Score as its votes make it, as a real dump does, so the
    importer's finish rewrites no score there (the benchmark measures the case real dumps bring)."""
    from app.importer.stackexchange import import_dump

    summary = import_dump(db, dumps[SMALL][1], site="small.stackexchange.com")
    assert summary.recounted == {"questions": 0, "answers": 0}
    assert scalar(db, "SELECT count(*) FROM answers a WHERE a.score <> (SELECT COALESCE(SUM(v.value), 0) "
                      "FROM imported_votes v WHERE v.post_type = 'answer' AND v.post_id = a.id)") == 0


def test_html_is_cleaned_once_per_new_post_and_ahead_only_while_rows_are_new(db, tmp_path, monkeypatch):
    """The reading thread cleans bodies and comments ahead (stackexchange._read_ahead) while the
    rows turn out new: on a first import each new post's body and each comment is cleaned exactly
    once; on a re-run, where every row is already imported, only the first batches of each pass
    are cleaned ahead (the reader is at most a few batches ahead), not every row."""
    from app.importer import reader, stackexchange
    from tests.importer.support import run_import

    gen = _gen_dump()
    folder = tmp_path / "q60"
    gen.generate(folder, 60, seed=3)
    monkeypatch.setattr(stackexchange._batches, "__defaults__", (10,))  # many batches per pass
    cleaned: list[str] = []
    real_clean, real_comment = reader.clean_html, reader.comment_html
    for module in (reader, stackexchange):  # ahead (reader.prepare_rows) and by the importer itself (_body)
        monkeypatch.setattr(module, "clean_html", lambda v: cleaned.append("post") or real_clean(v))
        monkeypatch.setattr(module, "comment_html", lambda t: cleaned.append("comment") or real_comment(t))

    first = run_import(db, folder)
    posts = first.imported["questions"] + first.imported["answers"]
    assert posts == 240
    assert cleaned.count("post") == posts
    assert cleaned.count("comment") == sum(1 for r in rows(folder / "Comments.xml") if (r.get("Text") or "").strip())

    cleaned.clear()
    again = run_import(db, folder)
    assert again.imported["questions"] == again.imported["answers"] == again.imported["comments"] == 0
    # Ahead of the first verdict the reader may have cleaned up to 4 batches of 10 rows per pass.
    assert cleaned.count("post") <= 2 * 4 * 10
    assert cleaned.count("comment") <= 4 * 10
    assert cleaned.count("post") < posts / 2
