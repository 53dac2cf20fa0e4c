"""A duplicate's text reaches the canonical question at the end of its chain: after re-pointing, and
also when a chain is stored (data written before the rule), in search and in similar questions."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.questions import duplicates
from app.questions.models import Question
from tests.factories import make_question, make_user


@pytest.fixture
def chain(forum):
    mod = make_user(forum, "omar", role="moderator")
    a = make_question(forum, title="Trackpad gestures ignored after hibernation", body="Swiping with two fingers does nothing.")
    b = make_question(forum, title="Touchpad stops scrolling after resume", body="Scrolling with the pad is dead since then.")
    c = make_question(forum, title="Pointer frozen when the laptop wakes", body="The cursor will not move at all.")
    other = make_question(forum, title="Keyboard backlight stays off", body="No light on the keys in the dark.")
    forum.commit()
    return a, b, c, other, mod


def test_a_duplicate_of_a_closed_original_still_counts_for_the_canonical_one(searcher, forum, chain):
    a, b, c, _other, mod = chain
    duplicates.close_as_duplicate(forum, actor=mod, question_id=a.id, original_id=b.id)
    forum.commit()
    duplicates.close_as_duplicate(forum, actor=mod, question_id=b.id, original_id=c.id)
    forum.commit()
    searcher.index()
    # "gestures" and "hibernation" are only in A's title; "scrolling" only in B's.
    for words in ("gestures hibernation", "scrolling"):
        assert [i.summary.id for i in searcher.search(words).items] == [c.id], words
    assert [i.id for i in searcher.similar("Trackpad gestures ignored after hibernation", limit=3)][:1] == [c.id]
    ids = [i.id for i in searcher.similar("trackpad gestures hibernation", limit=10)]
    assert a.id not in ids and b.id not in ids


def test_a_stored_chain_folds_along_its_whole_length(searcher, forum, chain):
    a, b, c, _other, _mod = chain
    # As data written before the rule could be: A → B → C, set directly.
    forum.execute(update(Question).where(Question.id == b.id).values(status="duplicate", duplicate_of_id=c.id))
    forum.execute(update(Question).where(Question.id == a.id).values(status="duplicate", duplicate_of_id=b.id))
    forum.commit()
    from app.search import outbox

    outbox.emit(forum.connection(), [a.id])  # only A is reported changed: its chain must still be followed
    forum.commit()
    searcher.index()
    assert [i.summary.id for i in searcher.search("gestures hibernation").items] == [c.id]


def test_reopening_the_canonical_question_of_a_chain_keeps_each_text_somewhere(searcher, forum, chain):
    a, b, c, _other, mod = chain
    duplicates.close_as_duplicate(forum, actor=mod, question_id=a.id, original_id=b.id)
    duplicates.close_as_duplicate(forum, actor=mod, question_id=b.id, original_id=c.id)
    forum.commit()
    duplicates.reopen(forum, actor=mod, question_id=b.id)
    forum.commit()
    searcher.index()
    assert [i.summary.id for i in searcher.search("gestures hibernation").items] == [c.id]
    assert [i.summary.id for i in searcher.search("scrolling").items] == [b.id]


def test_a_much_asked_question_folds_every_duplicates_title_and_the_first_bodies(forum):
    """A question closed against 60 times carries all 60 duplicate titles as phrasings (past the
    earlier cap of 50: the most asked questions are what new duplicates are closed against) and
    the bodies of the first ALTERNATE_BODIES_MAX only, oldest first (both databases)."""
    from app.search import indexer
    from tests.factories import make_question, make_user

    author = make_user(forum, "asker_many")
    original = make_question(forum, author=author, title="Touchpad stops working after suspend on the Aero 14")
    dups = [make_question(forum, author=author, title=f"Touchpad dead after waking up, case {n:02d}",
                          body=f"Report {n:02d}: after resume the touchpad does nothing at all.") for n in range(60)]
    forum.execute(update(Question).where(Question.id.in_([d.id for d in dups]))
                  .values(status="duplicate", duplicate_of_id=original.id))
    forum.commit()
    [doc], gone = indexer.build(forum, [original.id])
    assert gone == []
    assert list(doc.alternate_titles) == [f"Touchpad dead after waking up, case {n:02d}" for n in range(60)]
    assert len(doc.alternate_bodies) == indexer.ALTERNATE_BODIES_MAX == 50
    assert doc.alternate_bodies[0].startswith("Report 00") and doc.alternate_bodies[-1].startswith("Report 49")
