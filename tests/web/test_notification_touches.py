"""Issue 14 item 4: notifications people expect (Stack Exchange): an answerer hears when the answer
is accepted or upvoted (upvotes at most once per answer per day), an asker when the question is
closed as a duplicate; opening one marks it read; every page's header counts the unread ones
(error pages too); old events read as old."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from app.answers import service as answers_service
from app.core.db import utcnow
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.questions.schemas import AnswerCreate
from app.votes import service as votes_service
from app.web.templating import timeago
from tests.web.conftest import db_rows, text_of


def _kinds(session, user) -> list[str]:
    return [n.kind for n in db_rows(session, select(Notification).where(Notification.user_id == user.id)
                                    .order_by(Notification.id))]


def test_accepting_tells_the_answerer_but_not_a_self_answerer(factory, session):
    raj, maya = factory.user("raj"), factory.user("maya")
    q = factory.question(author=maya)
    a = factory.answer(q, author=raj)
    answers_service.accept(session, actor=maya, question_id=q.id, answer_id=a.id)
    assert _kinds(session, raj) == ["answer_accepted"]
    note = db_rows(session, select(Notification).where(Notification.user_id == raj.id))[0]
    assert note.url == f"/questions/{q.id}/{q.slug}#answer-{a.id}" and q.title in note.text
    own = factory.question(author=maya)
    mine = factory.answer(own, author=maya)
    answers_service.accept(session, actor=maya, question_id=own.id, answer_id=mine.id)
    assert "answer_accepted" not in _kinds(session, maya)


def test_upvotes_are_told_at_most_once_per_answer_per_day(factory, session):
    raj = factory.user("raj")
    q = factory.question()
    a, b = factory.answer(q, author=raj), factory.answer(q, author=raj)
    voters = [factory.user(reputation=500) for _ in range(4)]
    now = utcnow()
    votes_service.cast(session, actor=voters[0], post_type="answer", post_id=a.id, value=1, now=now)
    votes_service.cast(session, actor=voters[1], post_type="answer", post_id=a.id, value=1,
                       now=now + timedelta(hours=5))
    votes_service.cast(session, actor=voters[1], post_type="answer", post_id=b.id, value=1, now=now)
    votes_service.cast(session, actor=voters[2], post_type="answer", post_id=a.id, value=-1, now=now)
    assert _kinds(session, raj) == ["answer_upvoted", "answer_upvoted"]  # one for a, one for b
    votes_service.cast(session, actor=voters[3], post_type="answer", post_id=a.id, value=1,
                       now=now + notifications.UPVOTE_NOTICE_WINDOW + timedelta(minutes=1))
    assert _kinds(session, raj) == ["answer_upvoted"] * 3  # a day later: told again


def test_old_events_are_dated_when_they_happened(factory, session):
    maya, raj = factory.user("maya"), factory.user("raj")
    q = factory.question(author=maya)
    then = utcnow() - timedelta(days=3, hours=2)
    answers_service.post(session, actor=raj, question_id=q.id, data=AnswerCreate(body="Reset the adapter, then reboot."),
                         now=then)
    note = db_rows(session, select(Notification).where(Notification.user_id == maya.id))[0]
    assert timeago(note.created_at) == "3 days ago"
    # naive values (SQLite) are UTC, aware ones in any zone are converted, never read as local time
    from datetime import timezone

    aware = (utcnow() - timedelta(minutes=7)).astimezone(timezone(timedelta(hours=-5)))
    assert timeago(aware) == "7 minutes ago"
    assert timeago((utcnow() - timedelta(days=400)).replace(tzinfo=None)) == "1 year ago"


def test_opening_marks_read_and_every_header_counts(web, factory, session):
    maya, raj = factory.user("maya"), factory.user("raj")
    q = factory.question(author=maya)
    factory.answer(q, author=raj)
    factory.answer(q, author=raj)
    other = factory.question(author=raj)
    factory.answer(other, author=maya)  # raj's notice: maya must not be able to open it
    session.commit()
    web.sign_in("maya")
    assert "Notifications (2)" in text_of(web.get("/questions").text)
    missing = web.get("/no-such-page")
    assert missing.status_code == 404 and "Notifications (2)" in text_of(missing.text)  # error pages too
    listing = web.get("/notifications").text
    opens = re.findall(r'href="(/notifications/(\d+)/open)"', listing)
    assert len(opens) == 2
    r = web.get(opens[0][0])
    assert r.status_code == 303 and r.headers["location"].startswith(f"/questions/{q.id}/{q.slug}#answer-")
    assert "Notifications (1)" in text_of(web.follow(r).text)
    raj_note = db_rows(session, select(Notification).where(Notification.user_id == raj.id))[0]
    r = web.get(f"/notifications/{raj_note.id}/open")  # another member's: as one that does not exist
    assert r.status_code == 404 and "location" not in r.headers
    for missing_id in (raj_note.id + 1000, 2**31 - 1, 99999999999, 0):
        assert web.get(f"/notifications/{missing_id}/open").status_code == 404, missing_id
    gone = web.get(f"/notifications/{raj_note.id + 1000}/open")
    assert re.sub(r"\d+", "N", text_of(gone.text)) == re.sub(r"\d+", "N", text_of(r.text))  # alike, ids aside
    session.expire_all()
    assert db_rows(session, select(Notification.read_at).where(Notification.id == raj_note.id)) == [None]
    assert web.get("/notifications/99999999999/open").status_code == 404
