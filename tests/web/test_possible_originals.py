"""Folding a duplicate: possible originals on the question page (older questions with an accepted or
upvoted answer), a confirmation step, and a notice to the asker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.notifications.models import Notification
from app.questions.models import Question
from tests.web.conftest import csrf_from, db_rows, text_of
from tests.web.test_ask_suggestions import forms


@pytest.fixture
def asked_twice(factory, session, clean_engine, settings):
    from app.answers import service as answers_service
    from app.core.db import utcnow
    from app.search import outbox
    from app.search import service as search_service

    raj = factory.user("raj")
    factory.user("omar", role="moderator")
    maya = factory.user("maya")
    original = factory.question(author=raj, title="Wi-Fi drops every few minutes after the BIOS update",
                                body="Since BIOS 1.9 the wireless connection drops every few minutes.")
    answer = factory.answer(original, body="Turn off power saving for the wireless adapter in Device Manager.")
    answers_service.accept(session, actor=raj, question_id=original.id, answer_id=answer.id)
    # As similar, but unanswered: nothing there to send the asker to.
    unanswered = factory.question(title="Wi-Fi drops every few minutes since the BIOS update",
                                  body="Since the BIOS update the wireless drops every few minutes.")
    again = factory.question(author=maya, title="Wifi keeps disconnecting since updating the BIOS",
                             body="After the BIOS update my wifi disconnects all the time.")
    # As similar and solved, but asked after this one: it is not the original.
    later = factory.question(author=raj, title="Wi-Fi drops every few minutes after a BIOS update",
                             body="After updating the BIOS the Wi-Fi drops every few minutes.")
    later_answer = factory.answer(later, body="Update the wireless driver after the BIOS.")
    answers_service.accept(session, actor=raj, question_id=later.id, answer_id=later_answer.id)
    factory.question(title="Fan runs at full speed when idle", body="The fan never slows down.")
    now = utcnow()
    for q, age in ((original, 30), (unanswered, 20), (again, 10), (later, 1)):
        session.exec(update(Question).where(Question.id == q.id).values(created_at=now - timedelta(days=age)))
    session.commit()
    search_service.reset_backends()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    yield {"original": original, "again": again, "unanswered": unanswered, "later": later, "maya": maya}
    search_service.reset_backends()


def test_only_older_answered_questions_are_possible_originals(web, asked_twice):
    again = asked_twice["again"]
    web.sign_in("omar")
    page = web.get(f"/questions/{again.id}/{again.slug}").text
    assert "Possible originals" in page
    offered = [f["fields"]["original"] for f in forms(page)
               if f["action"] == f"/questions/{again.id}/close-as-duplicate" and "similar-yes" in f["class"].split()]
    assert offered == [str(asked_twice["original"].id)]  # not unanswered, not newer, never itself


def test_closing_asks_for_confirmation_then_tells_the_asker(web, session, asked_twice):
    original, again, maya = asked_twice["original"], asked_twice["again"], asked_twice["maya"]
    web.sign_in("omar")
    page = web.get(f"/questions/{again.id}/{again.slug}").text
    pick = [f for f in forms(page) if f["action"] == f"/questions/{again.id}/close-as-duplicate"
            and "similar-yes" in f["class"].split()][0]
    assert 'class="button button-secondary button-small"' in page  # a styled button, not a grey block
    first = web.post(pick["action"], pick["fields"])
    assert first.status_code == 200  # the confirmation step: nothing closed yet
    assert "Close as a duplicate?" in first.text and original.title in text_of(first.text)
    assert "its asker is notified" in first.text
    assert db_rows(session, select(Question.status).where(Question.id == again.id)) == ["open"]
    confirm = [f for f in forms(first.text) if f["fields"].get("confirmed") == "1"][0]
    r = web.post(confirm["action"], confirm["fields"])
    assert r.status_code == 303
    session.expire_all()
    closed = db_rows(session, select(Question).where(Question.id == again.id))[0]
    assert (closed.status, closed.duplicate_of_id) == ("duplicate", original.id)
    notes = db_rows(session, select(Notification).where(Notification.user_id == maya.id))
    assert [(n.kind, n.url) for n in notes] == [("question_closed_duplicate", f"/questions/{original.id}/{original.slug}")]
    assert again.title in notes[0].text


def test_the_typed_original_is_confirmed_too_and_a_bad_one_keeps_it_open(web, session, asked_twice):
    again, unanswered = asked_twice["again"], asked_twice["unanswered"]
    web.sign_in("omar")
    url = f"/questions/{again.id}/{again.slug}"
    token = csrf_from(web.get(url).text, f"/questions/{again.id}/close-as-duplicate")
    r = web.post(f"/questions/{again.id}/close-as-duplicate", {"original": "999999", "csrf_token": token})
    assert r.status_code == 303 and "does not exist" in web.follow(r).text
    r = web.post(f"/questions/{again.id}/close-as-duplicate",
                 {"original": f"/questions/{unanswered.id}/x", "csrf_token": token})
    assert r.status_code == 200 and unanswered.title in text_of(r.text)
    assert db_rows(session, select(Question.status).where(Question.id == again.id)) == ["open"]


def test_customers_do_not_see_likely_originals(web, factory, session, asked_twice):
    again = asked_twice["again"]
    web.sign_in("maya")
    assert "Possible originals" not in web.get(f"/questions/{again.id}/{again.slug}").text
