"""A tag's list by creation time reads the tag's own index (question_tags.question_created_at,
migration 0023): it must list exactly what the questions' own order gives, page after page."""

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
    # The other sorts (by the question's own changing columns) list the same questions.
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
