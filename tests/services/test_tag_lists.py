"""A tag's lists read the tag's own indexes (the copies of the question's creation time, last
activity and score beside each tag: migrations 0023 and 0024): each must list exactly what the
questions' own order gives, page after page, and the copies must follow every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update

from app.questions import service as questions_service
from app.questions.models import Question, QuestionTag

questions, question_tags = Question.__table__, QuestionTag.__table__


def _pages(session, **filters) -> list[int]:
    ids, cursor = [], None
    for _ in range(50):  # a cursor that did not move on fails the test instead of hanging it
        page = questions_service.list_questions(session, limit=2, cursor=cursor, **filters)
        ids += [q.id for q in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
    raise AssertionError(f"still paging after 50 pages: {ids[:20]}")


def test_a_tags_newest_and_unanswered_lists_page_in_the_questions_order(session, factory):
    author = factory.user()
    tagged = [factory.question(author=author, tags=["router", "wifi"] if i % 2 else ["router"]) for i in range(8)]
    others = [factory.question(author=author, tags=["wifi"]) for _ in range(2)]
    base = datetime(2025, 3, 1, 12, tzinfo=UTC)
    # Ties on the creation time (an import keeps the dump's dates) and an order unlike the ids'.
    offsets = [5, 3, 3, 9, 1, 9, 0, 7]
    for q, minutes in zip(tagged, offsets, strict=True):
        when = base + timedelta(minutes=minutes)
        # As the importer writes them: the tag's copy is the question's own creation time. (Typed
        # statements: SQLite keeps timestamps as text, in the column type's format.)
        session.execute(update(questions).where(questions.c.id == q.id).values(created_at=when))
        session.execute(update(question_tags).where(question_tags.c.question_id == q.id).values(question_created_at=when))
    session.execute(update(questions).where(questions.c.id == tagged[1].id).values(deleted_at=base))
    session.execute(update(questions).where(questions.c.id == tagged[4].id).values(hidden_at=base))
    session.execute(update(questions).where(questions.c.id == tagged[6].id).values(visibility="internal"))
    factory.answer(tagged[3])
    session.expire_all()
    assert len(_pages(session, sort="newest")) == 7  # not looping: each page moves on

    listed = [(offsets[i], q.id) for i, q in enumerate(tagged) if i not in (1, 4, 6)]
    newest = [qid for _, qid in sorted(listed, reverse=True)]
    assert newest == [tagged[5].id, tagged[3].id, tagged[7].id, tagged[0].id, tagged[2].id]
    assert _pages(session, tag="router", sort="newest") == newest
    assert _pages(session, tag="Router", sort="newest") == newest  # the tag's normal form
    assert _pages(session, tag="router", sort="unanswered") == [i for i in newest if i != tagged[3].id]
    assert _pages(session, tag="router", sort="newest", solved=False) == newest
    # The other sorts list the same questions (their order: the tests below).
    assert sorted(_pages(session, tag="router", sort="votes")) == sorted(newest)
    assert sorted(_pages(session, tag="wifi", sort="active")) == sorted(
        [tagged[i].id for i in (3, 5, 7)] + [q.id for q in others])
    assert _pages(session, tag="no-such-tag", sort="newest") == []


def test_a_question_asked_and_retagged_carries_its_creation_time_beside_each_tag(session, factory):
    from app.questions.schemas import QuestionUpdate

    author = factory.user()
    q = factory.question(author=author, tags=["router"])
    questions_service.edit(session, actor=author, question_id=q.id, data=QuestionUpdate(tags=["modem", "router"]))
    rows = session.execute(text("SELECT question_created_at FROM question_tags WHERE question_id = :id"),
                           {"id": q.id}).scalars().all()
    assert len(rows) == 2
    created = session.execute(text("SELECT created_at FROM questions WHERE id = :id"), {"id": q.id}).scalar()
    assert all(r == created for r in rows), (rows, created)


def test_a_stale_copy_still_pages_through_every_question_once(session, factory):
    # Were a question's creation time changed without its tags' copy (a bulk backdating that
    # forgot them), the tag's list is in the copy's order but still lists each question once:
    # the cursor holds the value the list is sorted on.
    author = factory.user()
    qs = [factory.question(author=author, tags=["router"]) for _ in range(5)]
    # The second newest by its copy, so it ends the first page of two.
    session.execute(update(questions).where(questions.c.id == qs[3].id)
                    .values(created_at=datetime(2020, 1, 1, tzinfo=UTC)))
    session.expire_all()
    listed = _pages(session, tag="router", sort="newest")
    assert sorted(listed) == sorted(q.id for q in qs) and len(listed) == 5


def _copies_follow(session) -> list:
    """The question_tags rows whose copies differ from their question's row (none expected)."""
    return session.execute(text(
        "SELECT qt.question_id, qt.tag_id, qt.question_score, q.score, qt.question_last_activity_at, "
        "q.last_activity_at FROM question_tags qt JOIN questions q ON q.id = qt.question_id "
        "WHERE qt.question_score <> q.score OR qt.question_last_activity_at <> q.last_activity_at "
        "OR qt.question_created_at <> q.created_at")).all()


def test_a_tags_lists_follow_votes_answers_comments_and_edits_in_every_order(session, factory):
    """Each tag's list, in each order, is the whole community's list in that order with only the
    tag's questions kept, after real votes, answers, comments, retags and a score set in SQL."""
    from app.comments import service as comments_service
    from app.questions.schemas import CommentCreate
    from app.questions.schemas import QuestionUpdate
    from app.votes import service as votes_service

    author = factory.user()
    voters = [factory.user(reputation=500) for _ in range(3)]
    tags = [["router"], ["router", "wifi"], ["wifi"], ["router", "modem"], ["modem"], ["router"], ["wifi", "router"]]
    qs = [factory.question(author=author, tags=t) for t in tags]
    base = datetime(2025, 3, 1, 12, tzinfo=UTC)
    # Votes: ties on the score (then by id), negative scores, a vote changed and one retracted.
    casts = [(0, 0, 1), (0, 1, 1), (1, 1, 1), (0, 2, -1), (1, 3, 1), (0, 5, -1), (1, 5, -1),
             (0, 6, 1), (1, 6, 1), (2, 6, 1), (0, 6, -1), (1, 6, 0)]  # the last two: changed, retracted
    for voter, i, value in casts:
        votes_service.cast(session, actor=voters[voter], post_type="question", post_id=qs[i].id, value=value, now=base)
    # Activity: an answer, a comment, an edit of the body, a retag (new rows beside new tags).
    factory.answer(qs[0])
    comments_service.add(session, actor=voters[2], post_type="question", post_id=qs[3].id,
                         data=CommentCreate(body="Which firmware version is on the router now?"))
    questions_service.edit(session, actor=author, question_id=qs[4].id,
                           data=QuestionUpdate(body="The modem drops its line every night at two, since 2.3."))
    questions_service.edit(session, actor=author, question_id=qs[2].id, data=QuestionUpdate(tags=["wifi", "router"]))
    # A change made in SQL (the importer's set-based recount, a repair): the database keeps the copies.
    session.execute(update(questions).where(questions.c.id == qs[5].id).values(score=7))
    session.execute(update(questions).where(questions.c.id == qs[1].id)
                    .values(last_activity_at=base + timedelta(days=1000)))  # after the others
    session.expire_all()
    assert _copies_follow(session) == []

    scores = dict(session.execute(text("SELECT id, score FROM questions")).all())
    assert [scores[q.id] for q in qs] == [1, 2, -1, 1, 0, 7, 0]  # ties at 1 and 0, a negative, a 7 set in SQL
    tagged = {t: {row[0] for row in session.execute(text(
        "SELECT qt.question_id FROM question_tags qt JOIN tags g ON g.id = qt.tag_id WHERE g.name = :t"), {"t": t})}
        for t in ("router", "wifi", "modem")}
    assert qs[2].id in tagged["router"]  # retagged
    for sort in ("newest", "active", "votes", "unanswered"):
        everyone = _pages(session, sort=sort)
        for tag, ids in tagged.items():
            assert _pages(session, tag=tag, sort=sort) == [i for i in everyone if i in ids], (sort, tag)
    assert _pages(session, tag="router", sort="votes")[0] == qs[5].id
    assert _pages(session, tag="router", sort="active")[0] == qs[1].id


def test_the_copies_follow_a_vote_taken_back_and_a_recount(session, factory):
    """Votes removed for serial voting move the score back (remove_votes: one UPDATE per vote),
    and reputation's and the importer's set-based statements change scores in bulk; the copies
    follow each, on both databases, without any code path updating question_tags itself."""
    from sqlmodel import select

    from app.votes import service as votes_service
    from app.votes.models import Vote

    author = factory.user()
    voter = factory.user(reputation=500)
    qs = [factory.question(author=author, tags=["router", "wifi"]) for _ in range(3)]
    for q in qs:
        votes_service.cast(session, actor=voter, post_type="question", post_id=q.id, value=1)
    by_post = {v.post_id: v for v in session.exec(select(Vote).where(Vote.voter_id == voter.id)).all()}
    votes_service.remove_votes(session, [by_post[qs[0].id], by_post[qs[1].id]], reason="serial voting")
    session.execute(text("UPDATE questions SET score = score + 10 WHERE id <> :id"), {"id": qs[0].id})
    session.expire_all()
    assert _copies_follow(session) == []
    copies = session.execute(text("SELECT question_id, question_score FROM question_tags ORDER BY question_id, tag_id"))
    want = {qs[0].id: 0, qs[1].id: 10, qs[2].id: 11}
    assert [(qid, score) for qid, score in copies] == [(q, want[q]) for q in sorted(want) for _ in range(2)]
