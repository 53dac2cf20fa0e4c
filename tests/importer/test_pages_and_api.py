"""Imported posts on the page and in the API: attribution, HTML bodies, ranking by imported votes."""

from __future__ import annotations

from sqlmodel import select

from app.importer.models import ImportMap
from tests.importer.dumps import SITE, Dump
from tests.importer.support import run_import


def local(read, kind: str, source_id: int) -> int:
    with read() as s:
        return s.exec(select(ImportMap.local_id).where(ImportMap.site == SITE, ImportMap.kind == kind,
                                                        ImportMap.source_id == source_id)).one()


def test_question_page_credits_the_source_and_shows_the_html(db, client, std_dump, read):
    run_import(db, std_dump)
    qid = local(read, "question", 10)
    r = client.get(f"/questions/{qid}")  # redirects to the slugged URL
    assert r.status_code == 200
    page = r.text
    assert "Router reboots every hour" in page
    assert "Originally posted by Alice Asker at" in page
    assert f'href="https://{SITE}/q/10"' in page and f'href="https://{SITE}/a/11"' in page
    assert "Originally posted by Bob Builder at" in page
    assert "creativecommons.org/licenses/by-sa" in page and "CC BY-SA" in page
    assert "<strong>router</strong>" in page and "<em>firmware</em>" in page  # HTML, not escaped Markdown
    assert "&lt;strong&gt;" not in page and "alert(" not in page


def test_api_question_has_source_fields_and_imported_answers(db, client, std_dump, read):
    run_import(db, std_dump)
    qid = local(read, "question", 10)
    r = client.get(f"/api/v1/questions/{qid}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source_url"] == f"https://{SITE}/q/10" and body["source_author"] == "Alice Asker"
    assert "<strong>router</strong>" in body["body_html"] and "<script" not in body["body_html"]
    assert body["accepted_answer_id"] == local(read, "answer", 11)
    answers = {a["id"]: a for a in body["answers"]}
    a11 = answers[local(read, "answer", 11)]
    assert a11["source_url"] == f"https://{SITE}/a/11" and a11["source_author"] == "Bob Builder"
    assert a11["score"] == 2 and a11["is_accepted"]
    dup = client.get(f"/api/v1/questions/{local(read, 'question', 30)}").json()
    assert dup["duplicate_of"] == qid and dup["status"] == "duplicate"


def test_answers_of_an_imported_question_are_ranked_by_imported_votes(db, client, tmp_path, read):
    d = Dump().user(1, "Asker").user(2, "Early").user(3, "Popular").user(4, "Wrong")
    d.question(10, "Which cable do I need?", owner=1)
    d.answer(11, 10, owner=2, body="<p>Any cable.</p>", created="2021-01-02T09:00:00.000")
    d.answer(12, 10, owner=3, body="<p>A Cat6 cable.</p>", created="2021-01-03T09:00:00.000")
    d.answer(13, 10, owner=4, body="<p>A garden hose.</p>", created="2021-01-01T09:00:00.000")
    d.upvotes(12, 4).downvotes(13, 2)
    run_import(db, d.write(tmp_path / "d"))
    qid = local(read, "question", 10)
    expected = [local(read, "answer", 12), local(read, "answer", 11), local(read, "answer", 13)]
    api = client.get(f"/api/v1/questions/{qid}").json()
    assert [a["id"] for a in api["answers"]] == expected  # not the chronological 13, 11, 12
    page = client.get(f"/questions/{qid}").text
    positions = [page.index(f'id="answer-{aid}"') for aid in expected]
    assert positions == sorted(positions)
