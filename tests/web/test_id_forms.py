"""Issue 10 item 6 on the forum: an id beyond the database's range, typed into a form or an
address, is a message or a 404/422 page on both databases, never a 500 and never acted on."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.db import MAX_ID
from app.core.pagination import encode_cursor
from app.notifications.models import Notification
from app.questions.models import Question
from tests.web.conftest import csrf_from, db_rows

BIG = [str(MAX_ID + 1), "99999999999999999999", "0", "²"]


@pytest.fixture
def thread(factory, session):
    asker = factory.user("asker")
    factory.user("mod", role="moderator")
    q = factory.question(author=asker, title="Wi-Fi drops after the 2.3 update on the Aero 14")
    a = factory.answer(q, author=factory.user("helper"), body="Roll the Wi-Fi driver back to 22.1.")
    session.commit()
    return {"q": q, "a": a}


@pytest.mark.parametrize("value", BIG)
def test_accept_with_an_impossible_answer_id(web, session, thread, value):
    q = thread["q"]
    web.sign_in("asker")
    token = csrf_from(web.get(f"/questions/{q.id}/{q.slug}").text, f"/questions/{q.id}/accept")
    r = web.post(f"/questions/{q.id}/accept", {"csrf_token": token, "answer_id": value})
    assert r.status_code == 422 and "Choose the answer to accept" in r.text
    session.expire_all()
    assert session.get(Question, q.id).accepted_answer_id is None


@pytest.mark.parametrize("value", BIG[:2])
def test_close_as_duplicate_of_an_impossible_original(web, session, thread, value):
    q = thread["q"]
    web.sign_in("mod")
    page = web.get(f"/questions/{q.id}/{q.slug}").text
    r = web.post(f"/questions/{q.id}/close-as-duplicate",
                 {"csrf_token": csrf_from(page, f"/questions/{q.id}/close-as-duplicate"), "original": value})
    assert r.status_code == 303
    assert 'role="alert"' in web.follow(r).text
    session.expire_all()
    assert session.get(Question, q.id).status == "open"


@pytest.mark.parametrize("value", BIG)
def test_marking_an_impossible_notification_read_marks_nothing(web, session, factory, value):
    from app.notifications import service as notifications

    maya = factory.user("maya")
    notifications.notify(session, [maya.id], kind="answer", text="Raj answered", url="/questions/1/x")
    session.commit()
    web.sign_in("maya")
    token = csrf_from(web.get("/notifications").text)
    r = web.post("/notifications/read", {"csrf_token": token, "id": value})
    assert r.status_code == 303
    assert [n.read_at for n in db_rows(session, select(Notification))] == [None]


@pytest.mark.parametrize("path", [f"/questions/{MAX_ID + 1}/x", f"/questions/{2**63}/x", f"/q/{MAX_ID + 1}",
                                  f"/answers/{MAX_ID + 1}/edit", f"/questions/{MAX_ID + 1}/revisions"])
def test_impossible_ids_in_addresses_are_404_pages(web, thread, path):
    web.sign_in("asker")
    r = web.get(path)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


def test_impossible_id_in_a_posted_address_is_404_and_nothing_is_stored(web, session, thread):
    q = thread["q"]
    web.sign_in("asker")
    token = csrf_from(web.get(f"/questions/{q.id}/{q.slug}").text, f"/questions/{q.id}/answers")
    r = web.post(f"/questions/{MAX_ID + 1}/answers", {"csrf_token": token, "body": "A long enough answer body."})
    assert r.status_code == 404


@pytest.mark.parametrize("cursor", [["2026-01-01T00:00:00+00:00", MAX_ID + 1], ["2026-01-01T00:00:00+00:00", 2**70]])
def test_forged_list_cursor_is_a_422_page(web, thread, cursor):
    r = web.get(f"/questions?cursor={encode_cursor(cursor)}")
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
