"""Real dumps are messy: dangling references, deleted owners, tag wikis, odd vote types, NUL
characters, very long titles, missing optional files. None of them stops an import."""

from __future__ import annotations

from sqlmodel import select

from app.accounts.models import User
from app.answers.models import Answer
from app.comments.models import Comment
from app.importer.models import ImportedVote, ImportMap
from app.questions.models import Question, QuestionLink, Tag
from app.reputation import service as reputation
from tests.importer.dumps import SITE, Dump
from tests.importer.support import run_import


def local(s, kind: str, source_id: int) -> int | None:
    return s.exec(select(ImportMap.local_id).where(ImportMap.site == SITE, ImportMap.kind == kind,
                                                    ImportMap.source_id == source_id)).first()


def test_references_to_posts_not_in_the_dump_are_skipped_and_counted(db, tmp_path, read):
    d = Dump().user(1, "Alice")
    d.question(10, "Printer offline", owner=1).answer(11, 10, owner=1)
    d.answer(12, 999, owner=1)   # its question is not in the dump
    d.answer(13, None, owner=1)  # no ParentId at all
    d.upvotes(11, 2).vote(555, 2).vote(556, 3).vote(12, 2)  # 3 votes on posts not imported
    d.comment(10, "ok", user=1).comment(777, "on a missing post", user=1).comment(13, "on a skipped answer")
    d.link(10, 888, type=1).link(889, 10, type=3)
    summary = run_import(db, d.write(tmp_path / "d"))

    assert summary.imported["answers"] == 1 and summary.imported["votes"] == 2
    assert summary.imported["comments"] == 1
    assert summary.imported["duplicates"] == 0 and summary.imported["related links"] == 0
    assert summary.skipped["answers to a question not in the dump"] == 2
    assert summary.skipped["votes on posts not in the dump"] == 3
    assert summary.skipped["comments on posts not in the dump (or empty)"] == 2
    assert summary.skipped["links to questions not in the dump"] == 2
    text = "\n".join(summary.lines())
    assert "skipped:" in text and "3 votes on posts not in the dump" in text
    with read() as s:
        assert local(s, "answer", 12) is None and local(s, "answer", 13) is None
        assert len(s.exec(select(Answer)).all()) == 1
        assert len(s.exec(select(ImportedVote)).all()) == 2
        assert len(s.exec(select(Comment)).all()) == 1
        assert s.exec(select(QuestionLink)).all() == []
        q = s.get(Question, local(s, "question", 10))
        assert q.status == "open" and q.answer_count == 1
        assert reputation.recompute(s, fix=False).differences == 0


def test_posts_of_deleted_users_belong_to_a_placeholder_credited_by_name(db, tmp_path, read):
    d = Dump().user(1, "Alice")
    d.question(10, "Owner was deleted", owner=42)                     # OwnerUserId not in Users.xml
    d.question(20, "Owner only named", OwnerDisplayName="Old Timer")  # no OwnerUserId, a name
    d.answer(21, 20, OwnerDisplayName="Gone Guy").answer(22, 20, owner=1)
    d.comment(21, "from a deleted account", UserDisplayName="Ghost")
    d.upvotes(21, 2).vote(21, 1)
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["questions"] == 2 and summary.imported["answers"] == 2
    with read() as s:
        placeholders = s.exec(select(User).where(User.display_name == "deleted user")).all()
        assert len(placeholders) == 1
        ghost = placeholders[0]
        assert not ghost.is_active and ghost.password_hash is None and ghost.email.endswith("@imported.invalid")
        q10, q20 = s.get(Question, local(s, "question", 10)), s.get(Question, local(s, "question", 20))
        assert q10.author_id == ghost.id and q10.source_author == "deleted user"
        assert q20.author_id == ghost.id and q20.source_author == "Old Timer"
        a21 = s.get(Answer, local(s, "answer", 21))
        assert a21.author_id == ghost.id and a21.source_author == "Gone Guy" and a21.score == 2
        assert s.get(Answer, local(s, "answer", 22)).source_author == "Alice"
        c = s.exec(select(Comment)).one()
        assert c.author_id == ghost.id and c.source_author == "Ghost"
        assert reputation.recompute(s, fix=False).differences == 0
        assert ghost.reputation == 1 + 20  # the placeholder's posts keep their votes, through the ledger


def test_tag_wiki_posts_and_other_vote_types_are_skipped(db, tmp_path, read):
    d = Dump().user(1, "Alice")
    d.question(10, "A real question", owner=1).answer(11, 10, owner=1)
    d.post(Id=50, PostTypeId=4, CreationDate="2021-01-01T00:00:00.000", Body="<p>Excerpt</p>", OwnerUserId=1)
    d.post(Id=51, PostTypeId=5, CreationDate="2021-01-01T00:00:00.000", Body="<p>Tag wiki</p>", OwnerUserId=1)
    d.post(Id=52, PostTypeId=7, CreationDate="2021-01-01T00:00:00.000", Body="<p>Privilege wiki</p>")
    d.upvotes(11, 1).downvotes(11, 1).vote(11, 1)
    for vote_type in (4, 5, 6, 8, 9, 10, 12, 15, 16):  # offensive, favourite, close, bounty, spam…
        d.vote(10, vote_type, UserId=1)
    d.vote(50, 2)  # a vote on a tag wiki
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["questions"] == 1 and summary.imported["answers"] == 1
    assert summary.skipped["tag-wiki and other non-question, non-answer posts"] == 3
    assert summary.skipped["votes of other kinds (favourites, close, bounty, spam…)"] == 9
    assert summary.skipped["votes on posts not in the dump"] == 1
    assert summary.imported["votes"] == 2
    with read() as s:
        assert len(s.exec(select(Question)).all()) == 1
        assert local(s, "question", 50) is None and local(s, "answer", 51) is None
        assert sorted(v.value for v in s.exec(select(ImportedVote)).all()) == [-1, 1]
        assert s.get(Question, local(s, "question", 10)).score == 0


def test_nul_and_control_characters_are_dropped(db, tmp_path, read):
    d = Dump().user(1, "Al\x00ice")
    d.question(10, "Wi-Fi\x00 drops\x01", owner=1, body="<p>Before\x00after</p>\n", tags="<wi\x00fi>")
    d.answer(11, 10, owner=1, body="<p>A\x00B</p>")
    d.comment(10, "nul\x00 here", user=1)
    folder = d.write(tmp_path / "d")  # written as &#x0; and &#x1;, as an XML writer does
    assert b"&#x0;" in (folder / "Posts.xml").read_bytes()
    summary = run_import(db, folder)
    assert summary.imported["questions"] == 1 and summary.imported["comments"] == 1
    with read() as s:
        q = s.get(Question, local(s, "question", 10))
        assert q.title == "Wi-Fi drops"
        assert q.body == "<p>Beforeafter</p>\n"
        assert s.exec(select(Tag.name)).all() == ["wifi"]
        assert s.exec(select(Answer.body)).one() == "<p>AB</p>"
        assert s.exec(select(Comment.body)).one() == "nul here"
        assert s.get(User, local(s, "user", 1)).display_name == "Alice"


def test_raw_nul_byte_in_an_attribute(db, tmp_path, read):
    """Not even XML (expat refuses it), but broken exports carry them: dropped as well."""
    folder = Dump().question(10, "Title with NUL", body="<p>Update me</p>").write(tmp_path / "d")
    posts = folder / "Posts.xml"
    posts.write_bytes(posts.read_bytes().replace(b"Update", b"Up\x00date"))
    run_import(db, folder)
    with read() as s:
        assert s.exec(select(Question.body)).one() == "<p>Update me</p>"


def test_very_long_titles_and_names_are_truncated(db, tmp_path, read):
    long_title = "Why " + "does my router reboot " * 20
    d = Dump().user(1, "N" * 100).question(10, long_title, owner=1, tags="<" + "x" * 40 + "><ok>")
    d.comment(10, "c" * 700, user=1)
    run_import(db, d.write(tmp_path / "d"))
    with read() as s:
        q = s.get(Question, local(s, "question", 10))
        assert len(q.title) == 150 and q.title == " ".join(long_title.split())[:150]
        assert len(q.slug) <= 160
        assert q.source_author == "N" * 60
        assert s.exec(select(Tag.name)).all() == ["ok"]  # a tag longer than 35 characters is left out
        assert len(s.exec(select(Comment.body)).one()) == 600


def test_only_posts_xml(db, tmp_path, read):
    d = Dump().user(1, "Alice")
    d.question(10, "Lonely question", owner=1, accepted=11).answer(11, 10, owner=2)
    d.upvotes(11, 3).comment(10, "hi").link(10, 10).tag("spare")
    folder = d.write(tmp_path / "d", files=("Posts.xml",))
    summary = run_import(db, folder)
    assert summary.imported["questions"] == 1 and summary.imported["answers"] == 1
    assert summary.imported["acceptances"] == 1
    assert summary.imported["users"] == 0 and summary.imported["votes"] == 0 and summary.imported["comments"] == 0
    with read() as s:
        users = s.exec(select(User)).all()
        assert [u.display_name for u in users] == ["deleted user"]  # owners unknown without Users.xml
        q = s.get(Question, local(s, "question", 10))
        assert q.accepted_answer_id == local(s, "answer", 11) and q.score == 0 and q.answer_count == 1
        assert s.exec(select(Tag.name)).all() == ["router"]
        # an acceptance between two posts of the same (unknown) owner earns nothing
        assert reputation.recompute(s, fix=False).differences == 0
        assert users[0].reputation == 1


def test_empty_optional_files_and_empty_posts(db, tmp_path, read):
    d = Dump().question(10, "Just one", body="")
    folder = d.write(tmp_path / "d")
    summary = run_import(db, folder)
    assert summary.imported["questions"] == 1 and summary.imported["users"] == 0
    with read() as s:
        assert s.exec(select(Question.body)).one() == ""


def test_ids_that_are_not_numbers_are_skipped(db, tmp_path, read):
    """Rows without a usable Id are skipped and counted as such, in every file: not reported as
    "already imported" (they never were) nor as votes on posts missing from the dump."""
    d = Dump().user(1, "Alice")
    d.question(10, "Fine", owner=1).answer(11, 10, owner=1)
    d.post(Id="x", PostTypeId=1, Title="Broken", Body="", CreationDate="2021-01-01T00:00:00.000")
    d.post(PostTypeId=1, Title="No id at all", Body="", CreationDate="2021-01-01T00:00:00.000")
    d.answer(11, 10, owner=1, Id="1.5")
    d.comment(10, "no id here", Id="").comment(10, "fine")
    d.vote(11, 2, id=None).vote(11, 2, date="not a date").vote(11, 2, Id="seven")
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["questions"] == 1 and summary.imported["votes"] == 2
    assert summary.imported["answers"] == 1 and summary.imported["comments"] == 1
    assert summary.skipped["posts without an id (a missing or non-numeric Id)"] == 3
    assert summary.skipped["comments without an id (a missing or non-numeric Id)"] == 1
    assert summary.skipped["votes without an id (a missing or non-numeric Id)"] == 1
    assert not +summary.already and "votes on posts not in the dump" not in summary.skipped
    again = run_import(db, d.write(tmp_path / "d"))
    assert again.skipped == summary.skipped and not +again.imported
    with read() as s:
        assert s.get(Answer, local(s, "answer", 11)).score == 2


def test_usernames_from_names_without_ascii_letters(db, tmp_path, read):
    d = Dump().user(1, "张伟").user(2, "Ünïcødé Ünsérnàme").user(3, "   ").user(-1, "Community")
    d.question(10, "Q", owner=1)
    run_import(db, d.write(tmp_path / "d"))
    with read() as s:
        names = {u.display_name: u.username for u in s.exec(select(User)).all()}
    assert names == {"张伟": "user-1", "Ünïcødé Ünsérnàme": "unicde-unsername-2", "user 3": "user-3-3",
                     "Community": "community-m1"}


def test_rows_repeating_an_id_are_skipped_not_a_crash(db, tmp_path, read):
    d = Dump().user(1, "Alice").user(1, "Alice again")
    d.question(10, "First copy", owner=1, accepted=11).question(10, "Second copy", owner=1)
    d.answer(11, 10, owner=1).answer(11, 10, owner=1, body="<p>again</p>")
    d.question(20, "Other", owner=1)
    d.comment(10, "once", id=5).comment(10, "twice", id=5)
    d.vote(11, 2, id=7).vote(11, 2, id=7)
    d.link(20, 10, id=3).link(20, 10, id=3).link(20, 10, type=3, id=4).link(20, 10, type=3, id=4)
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["questions"] == 2 and summary.imported["answers"] == 1
    assert summary.imported["comments"] == 1 and summary.imported["votes"] == 1
    assert summary.imported["duplicates"] == 1 and summary.imported["related links"] == 1
    assert summary.skipped["posts repeating the id of an earlier row"] == 2
    assert summary.skipped["links repeating the id of an earlier row"] == 2
    with read() as s:
        q = s.get(Question, local(s, "question", 10))
        assert q.title == "First copy" and q.answer_count == 1 and q.accepted_answer_id == local(s, "answer", 11)
        assert s.exec(select(User.display_name).where(User.display_name.like("Alice%"))).all() == ["Alice"]
        assert reputation.recompute(s, fix=False).differences == 0


def test_a_question_repeated_in_another_batch_is_accepted_once(db, tmp_path, read, monkeypatch):
    """Both copies carry an AcceptedAnswerId (the second a different one): the first copy's
    acceptance counts, the repeat is already accepted, whichever batches they fall in."""
    from app.answers.models import Acceptance
    from app.importer import stackexchange

    monkeypatch.setattr(stackexchange, "BATCH", 2)
    monkeypatch.setattr(stackexchange._batches, "__defaults__", (2,))  # rows read: batches of 2
    d = Dump().user(1, "Alice")
    # Rows in batches of 2: [q10, a11], [q10 again, q20], [a12, a21], [q10 a third time]: the
    # first two copies are staged side by side, the third in a later batch of the stage.
    d.question(10, "First copy", owner=1, accepted=11).answer(11, 10, owner=1)
    d.question(10, "Second copy", owner=1, accepted=12).question(20, "Other", owner=1, accepted=21)
    d.answer(12, 10, owner=1).answer(21, 20, owner=1)
    d.question(10, "Third copy", owner=1, accepted=12)
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["acceptances"] == 2 and summary.already["acceptances"] == 2
    with read() as s:
        q = s.get(Question, local(s, "question", 10))
        assert q.title == "First copy" and q.accepted_answer_id == local(s, "answer", 11)
        assert len(s.exec(select(Acceptance).where(Acceptance.question_id == q.id)).all()) == 1
        assert reputation.recompute(s, fix=False).differences == 0


def test_an_acceptance_named_only_by_a_repeat_or_not_a_number(db, tmp_path, read):
    """The first copy of question 10 names no accepted answer, its repeat does: the repeat's
    acceptance counts (as when every row was read for acceptances). An AcceptedAnswerId that is
    not a number is counted as an accepted answer not in the dump."""
    d = Dump().user(1, "Alice")
    d.question(10, "First copy", owner=1).answer(11, 10, owner=1)
    d.question(10, "Second copy", owner=1, accepted=11)
    d.question(20, "Other", owner=1)
    d.posts[-1]["AcceptedAnswerId"] = "abc"
    summary = run_import(db, d.write(tmp_path / "d"))
    assert summary.imported["acceptances"] == 1
    assert summary.skipped["accepted answers not in the dump"] == 1
    with read() as s:
        assert s.get(Question, local(s, "question", 10)).accepted_answer_id == local(s, "answer", 11)
        assert s.get(Question, local(s, "question", 20)).accepted_answer_id is None


def test_repeated_and_id_less_votes_count_once_and_a_larger_dump_adds_only_new_votes(db, tmp_path, read):
    """Votes go in set-based on PostgreSQL (one INSERT … SELECT … ON CONFLICT) and batch by batch
    on SQLite: both must give the same counts for a repeated vote id, a vote with no id, a vote on
    a missing post, and a second, larger dump of the same site."""
    d = Dump().user(1, "Alice").user(2, "Bob")
    d.question(10, "Router drops Wi-Fi", owner=1).answer(11, 10, owner=2)
    d.vote(11, 2, id=900).vote(11, 2, id=900)  # the same vote twice (a concatenated dump)
    d.vote(11, 3, id=901).vote(10, 2, id=902)
    d.vote(11, 2, id=903, Id="")               # no usable id: skipped, not imported
    d.vote(404, 2, id=904)                     # a post that is not in the dump
    first = run_import(db, d.write(tmp_path / "one"))
    assert first.imported["votes"] == 3
    assert first.already["votes"] == 1
    assert first.skipped["votes on posts not in the dump"] == 1
    assert first.skipped["votes without an id (a missing or non-numeric Id)"] == 1
    d.vote(10, 2, id=905).vote(11, 2, id=906)
    second = run_import(db, d.write(tmp_path / "two"))
    assert second.imported["votes"] == 2 and second.already["votes"] == 4
    with read() as s:
        votes = sorted((v.source_id, v.value) for v in s.exec(select(ImportedVote)).all())
        assert votes == [(900, 1), (901, -1), (902, 1), (905, 1), (906, 1)]
        answer = s.get(Answer, local(s, "answer", 11))
        question = s.get(Question, local(s, "question", 10))
        assert (answer.score, question.score) == (1, 2)
        assert reputation.recompute(s, fix=False).differences == 0
