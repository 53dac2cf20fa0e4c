"""A clean dump lands whole: users, posts, acceptances, comments, votes, links and tags."""

from __future__ import annotations

from sqlmodel import select

from app.accounts.models import User
from app.answers.models import Acceptance, Answer
from app.comments.models import Comment
from app.importer.models import ImportedVote, ImportMap
from app.questions.models import Question, QuestionLink, QuestionTag, Revision, Tag
from app.reputation import service as reputation
from tests.importer.dumps import SITE
from tests.importer.support import run_import


def local(s, kind: str, source_id: int) -> int:
    return s.exec(select(ImportMap.local_id).where(ImportMap.site == SITE, ImportMap.kind == kind,
                                                    ImportMap.source_id == source_id)).one()


def tags_of(s, question_id: int) -> list[str]:
    return list(s.exec(select(Tag.name).join(QuestionTag, QuestionTag.tag_id == Tag.id)
                       .where(QuestionTag.question_id == question_id).order_by(QuestionTag.position)).all())


def test_clean_import_summary(db, std_dump):
    summary = run_import(db, std_dump)
    assert dict(summary.imported) == {"users": 3, "questions": 3, "answers": 3, "acceptances": 1, "comments": 3,
                                      "votes": 10, "duplicates": 1, "related links": 1,
                                      "tags": 4}  # router, wi-fi, reset, unused-tag
    assert not +summary.already  # (zero counts aside)
    assert summary.skipped == {}
    assert summary.posts_read == 6
    text = "\n".join(summary.lines())
    assert SITE in text and "3 questions" in text and "10 votes" in text
    assert any("Posts.xml" in m for m in summary.messages)


def test_users_have_display_names_placeholder_emails_and_no_password(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        users = {u.display_name: u for u in s.exec(select(User)).all()}
        assert set(users) == {"Alice Asker", "Bob Builder", "Chloé Ng"}
        for sid, name in ((1, "Alice Asker"), (2, "Bob Builder"), (3, "Chloé Ng")):
            u = users[name]
            assert u.id == local(s, "user", sid)
            assert u.password_hash is None
            assert u.email.endswith("@imported.invalid") and u.email == u.email.lower()
            assert u.role == "customer" and u.is_active
            assert 3 <= len(u.username) <= 30
        assert len({u.email for u in users.values()}) == 3 and len({u.username for u in users.values()}) == 3


def test_questions_keep_title_sanitised_html_tags_and_attribution(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        q = s.get(Question, local(s, "question", 10))
        assert q.title == "Router reboots every hour"
        assert q.body_format == "html"
        assert "<strong>router</strong>" in q.body and "reboots &amp; drops" in q.body
        assert "<pre><code>uptime: 59 min\n</code></pre>" in q.body  # &#xA; became a real newline
        for text in (q.body, q.body_html):
            assert "<script" not in text and "alert(" not in text
        assert q.source_url == f"https://{SITE}/q/10"
        assert q.source_author == "Alice Asker"
        assert q.author_id == local(s, "user", 1)
        assert q.created_at.year == 2021 and q.created_at.month == 1
        assert tags_of(s, q.id) == ["wi-fi", "router"]  # "<Wi_Fi><router><wi-fi>", normalised and de-duplicated
        assert tags_of(s, local(s, "question", 20)) == ["router", "reset"]  # the newer "|a|b|" form
        assert q.answer_count == 2
        assert s.get(Question, local(s, "question", 30)).answer_count == 0
        # every imported post has its first revision, credited to its author
        rev = s.exec(select(Revision).where(Revision.post_type == "question", Revision.post_id == q.id)).one()
        assert rev.number == 1 and rev.author_id == q.author_id and rev.body == q.body


def test_answers_acceptance_and_comments(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        qid, a11, a12 = local(s, "question", 10), local(s, "answer", 11), local(s, "answer", 12)
        a = s.get(Answer, a11)
        assert a.question_id == qid and a.body_format == "html" and "<em>firmware</em>" in a.body
        assert a.source_url == f"https://{SITE}/a/11" and a.source_author == "Bob Builder"
        assert a.author_id == local(s, "user", 2)
        assert s.get(Answer, a12).source_author == "Chloé Ng"
        assert s.get(Question, qid).accepted_answer_id == a11
        acc = s.exec(select(Acceptance)).one()
        assert (acc.question_id, acc.answer_id, acc.accepted_by_id, acc.revoked_at) == (
            qid, a11, local(s, "user", 1), None)
        assert s.get(Question, local(s, "question", 20)).accepted_answer_id is None

        comments = s.exec(select(Comment).order_by(Comment.created_at, Comment.id)).all()
        assert [(c.post_type, c.post_id, c.body) for c in comments] == [
            ("question", qid, "Which model is it?"), ("answer", a11, "That worked, thanks!"),
            ("answer", a12, "Not for me.\nStill reboots.")]
        assert comments[0].author_id == local(s, "user", 2) and comments[0].source_author == "Bob Builder"
        assert comments[1].author_id == local(s, "user", 1)


def test_votes_become_imported_votes_and_scores(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        votes = s.exec(select(ImportedVote)).all()
        assert len(votes) == 10 and {v.site for v in votes} == {SITE}
        by_post: dict[tuple[str, int], list[int]] = {}
        for v in votes:
            by_post.setdefault((v.post_type, v.post_id), []).append(v.value)
        q10, a11, a12 = local(s, "question", 10), local(s, "answer", 11), local(s, "answer", 12)
        assert sorted(by_post[("question", q10)]) == [-1, 1, 1]
        assert sorted(by_post[("answer", a11)]) == [-1, 1, 1, 1]
        assert sorted(by_post[("answer", a12)]) == [-1, -1, 1]
        # scores are the imported votes (the dump's Score="999" is not trusted)
        assert s.get(Question, q10).score == 1
        assert s.get(Answer, a11).score == 2
        assert s.get(Answer, a12).score == -1
        assert s.get(Answer, local(s, "answer", 21)).score == 0
        assert s.get(Question, local(s, "question", 20)).score == 0


def test_duplicate_and_related_links(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        q10, q20, q30 = (local(s, "question", i) for i in (10, 20, 30))
        dup = s.get(Question, q30)
        assert dup.status == "duplicate" and dup.duplicate_of_id == q10
        assert s.get(Question, q10).status == "open" and s.get(Question, q10).duplicate_of_id is None
        assert s.get(Question, q20).status == "open"
        links = s.exec(select(QuestionLink)).all()
        assert [(link.question_id, link.related_id) for link in links] == [(q20, q10)]


def test_tags_from_tags_xml(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        assert set(s.exec(select(Tag.name)).all()) == {"router", "wi-fi", "reset", "unused-tag"}


def test_reputation_ledger_is_consistent_after_import(db, std_dump, read):
    run_import(db, std_dump)
    with read() as s:
        assert reputation.recompute(s, fix=False).differences == 0
        rep = {u.display_name: u.reputation for u in s.exec(select(User)).all()}
    # Alice: question +5 +5 -2, accepted Bob's answer +2. Bob: answer 3×10 -2, accepted +15.
    # Chloé: answer +10 -2 -2. (The dump's Reputation column, 54321 and 777, is ignored.)
    assert rep == {"Alice Asker": 1 + 10 - 2 + 2, "Bob Builder": 1 + 30 - 2 + 15, "Chloé Ng": 1 + 10 - 4}
