"""Importing the same dump twice changes nothing; a later, larger dump adds only what is new."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.answers.models import Answer
from app.core.db import writer
from app.importer.models import ImportMap
from app.importer.stackexchange import DumpError
from app.questions.models import Question
from app.reputation import service as reputation
from tests.importer.dumps import SITE, standard
from tests.importer.support import counts, run_import, snapshot

KINDS = ("users", "questions", "answers", "comments", "votes", "acceptances")


def local(s, kind: str, source_id: int, site: str = SITE) -> int | None:
    return s.exec(select(ImportMap.local_id).where(ImportMap.site == site, ImportMap.kind == kind,
                                                    ImportMap.source_id == source_id)).first()


def test_importing_twice_changes_nothing(db, std_dump):
    first = run_import(db, std_dump)
    before = snapshot(db)
    again = run_import(db, std_dump)
    assert snapshot(db) == before  # every row of every table, not just the counts
    assert sum(again.imported.values()) == 0
    for kind in KINDS:
        assert again.already[kind] == first.imported[kind], kind
    assert again.already["links"] == first.imported["duplicates"] + first.imported["related links"]
    assert again.already["tags"] == first.imported["tags"] == 4  # those of Tags.xml
    assert "already imported" in "\n".join(again.lines())


def test_a_later_larger_dump_adds_only_what_is_new(db, tmp_path, read):
    old = standard()
    run_import(db, old.write(tmp_path / "v1"))
    before = counts(db)
    with read() as s:
        q10, a11 = local(s, "question", 10), local(s, "answer", 11)
        old_title = s.get(Question, q10).title

    new = standard()
    new.posts[0]["Title"] = "Edited later on the site"  # posts already imported are left as they are
    new.user(4, "Dana New")
    new.question(40, "Brand new question", owner=4, tags="<firmware>", created="2021-03-01T09:00:00.000")
    new.answer(41, 40, owner=2, created="2021-03-01T10:00:00.000")
    new.answer(13, 10, owner=4, created="2021-03-02T10:00:00.000")  # a new answer to an old question
    new.upvotes(11, 2, "2021-03-05T00:00:00.000").upvotes(41, 1, "2021-03-05T00:00:00.000")
    new.downvotes(10, 1, "2021-03-06T00:00:00.000")
    new.comment(41, "New comment", user=1).comment(10, "Late comment on an old question", user=4)
    new.link(40, 20, type=1)
    summary = run_import(db, new.write(tmp_path / "v2"))

    assert summary.imported["users"] == 1 and summary.imported["questions"] == 1
    assert summary.imported["answers"] == 2 and summary.imported["comments"] == 2
    assert summary.imported["votes"] == 4 and summary.imported["related links"] == 1
    assert summary.imported["acceptances"] == 0 and summary.already["acceptances"] == 1
    assert summary.already["questions"] == 3 and summary.already["votes"] == 10
    after = counts(db)
    grew = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert grew == {"users": 1, "questions": 1, "answers": 2, "comments": 2, "imported_votes": 4,
                    "question_links": 1, "tags": 1, "question_tags": 1, "revisions": 3, "import_map": 7,
                    "reputation_events": grew["reputation_events"],
                    "search_outbox": 2}  # the new question, and the old one with a new answer
    with read() as s:
        q = s.get(Question, q10)
        assert q.title == old_title and q.score == 0 and q.answer_count == 3  # 1 - 1 (new downvote)
        assert s.get(Answer, a11).score == 4
        assert s.get(Question, local(s, "question", 40)).score == 0
        assert s.get(Answer, local(s, "answer", 41)).score == 1
        assert reputation.recompute(s, fix=False).differences == 0
        bob = s.exec(select(User).where(User.display_name == "Bob Builder")).one()
        assert bob.reputation == 44 + 20 + 10  # two more upvotes on 11, one on 41


def test_product_files_questions_under_an_existing_product(db, factory, session, std_dump, read):
    product = factory.product(slug="kestrel-router", name="Kestrel Router")
    session.commit()
    summary = run_import(db, std_dump, product="kestrel-router")
    assert summary.imported["questions"] == 3
    with read() as s:
        imported = s.exec(select(Question).where(Question.source_url.is_not(None))).all()
        assert len(imported) == 3 and {q.product_id for q in imported} == {product.id}
        assert reputation.recompute(s, fix=False).differences == 0


def test_unknown_product_is_a_dump_error_and_changes_nothing(db, factory, session, std_dump):
    factory.question()
    session.commit()
    before = snapshot(db)
    with pytest.raises(DumpError, match="no product 'nope'"):
        run_import(db, std_dump, product="nope")
    assert snapshot(db) == before


def test_two_sites_in_one_database(db, tmp_path, read):
    """Each site keeps its own source ids: the same ids and names from another site are new rows."""
    run_import(db, standard().write(tmp_path / "a"), site="a.stackexchange.com")
    second = standard()
    second.user(-1, "Community").user(5, "Alice Asker")
    second.question(50, "Owner deleted", owner=999)
    run_import(db, standard().write(tmp_path / "x"), site="x.stackexchange.com")
    summary = run_import(db, second.write(tmp_path / "b"), site="b.stackexchange.com")
    assert summary.imported["users"] == 5 and summary.imported["questions"] == 4
    with read() as s:
        users = s.exec(select(User)).all()
        assert len(users) == 3 + 3 + 5 + 1  # and one placeholder, on site b only
        assert len({u.username for u in users}) == len(users)
        assert s.get(Question, local(s, "question", 10, "b.stackexchange.com")).source_url == \
            "https://b.stackexchange.com/q/10"
        assert reputation.recompute(s, fix=False).differences == 0


def test_imported_usernames_do_not_collide_with_local_accounts(db, factory, session, tmp_path, read):
    factory.user("community-m1")
    factory.user("alice-asker-1")
    session.commit()
    d = standard().user(-1, "Community")
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["users"] == 4
    with read() as s:
        names = [u.username for u in s.exec(select(User)).all()]
        assert len(names) == len(set(names)) == 6


def test_counts_and_scores_after_an_import_into_a_live_forum(db, std_dump, read):
    """An import recounts every question's answers and rescores imported posts from every vote,
    imported or cast here; a native question keeps the score its own votes give it."""
    from sqlalchemy import func

    from app.votes import service as votes_service
    from app.votes.models import Vote
    from tests.factories import make_answer, make_question, make_user

    with Session(writer(db), expire_on_commit=False) as s:
        asker, helper = make_user(s, "native-asker"), make_user(s, "native-helper")
        voter = make_user(s, "native-voter", reputation=5000)
        native = make_question(s, asker, "Native question about the dock firmware")
        make_answer(s, native, helper)
        make_answer(s, native, voter)
        votes_service.cast(s, actor=voter, post_type="question", post_id=native.id, value=1)
        s.commit()
        native_id = native.id
    run_import(db, std_dump)
    with Session(writer(db), expire_on_commit=False) as s:  # a vote cast here on an imported answer
        voter = s.exec(select(User).where(User.username == "native-voter")).one()
        votes_service.cast(s, actor=voter, post_type="answer", post_id=local(s, "answer", 12), value=1)
        s.commit()
    run_import(db, std_dump)  # the finish runs again over what is now there
    with read() as s:
        from app.importer.models import ImportedVote

        def votes_on(post_type: str, post_id: int) -> int:
            native_sum = s.exec(select(func.coalesce(func.sum(Vote.value), 0)).where(
                Vote.post_type == post_type, Vote.post_id == post_id)).one()
            imported_sum = s.exec(select(func.coalesce(func.sum(ImportedVote.value), 0)).where(
                ImportedVote.post_type == post_type, ImportedVote.post_id == post_id)).one()
            return native_sum + imported_sum

        for q in s.exec(select(Question)).all():
            visible = [a for a in s.exec(select(Answer).where(Answer.question_id == q.id)).all()
                       if a.deleted_at is None and a.hidden_at is None]
            assert q.answer_count == len(visible), q.title
            assert q.score == votes_on("question", q.id), q.title
        for a in s.exec(select(Answer)).all():
            assert a.score == votes_on("answer", a.id), a.id
        assert s.get(Question, native_id).score == 1 and s.get(Question, native_id).answer_count == 2
        assert s.get(Question, local(s, "question", 10)).score == 1  # two up, one down, imported (dumps.standard)
        assert s.get(Answer, local(s, "answer", 12)).score == 0  # two down and one up imported, one up cast here
