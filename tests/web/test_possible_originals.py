"""Folding a duplicate in two clicks: possible originals on the question page, for those who may close."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.questions.models import Question
from tests.web.conftest import db_rows
from tests.web.test_ask_suggestions import forms


@pytest.fixture
def asked_twice(factory, session, clean_engine, settings):
    from app.search import outbox
    from app.search import service as search_service

    raj = factory.user("raj")
    factory.user("omar", role="moderator")
    original = factory.question(author=raj, title="Wi-Fi drops every few minutes after the BIOS update",
                                body="Since BIOS 1.9 the wireless connection drops every few minutes.")
    again = factory.question(title="Wifi keeps disconnecting since updating the BIOS",
                             body="After the BIOS update my wifi disconnects all the time.")
    factory.question(title="Fan runs at full speed when idle", body="The fan never slows down.")
    session.commit()
    search_service.reset_backends()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    yield original, again
    search_service.reset_backends()


def test_a_moderator_closes_a_duplicate_with_one_click(web, session, asked_twice):
    original, again = asked_twice
    web.sign_in("omar")
    page = web.get(f"/questions/{again.id}/{again.slug}").text
    assert "Possible originals" in page
    candidates = [f for f in forms(page) if f["action"] == f"/questions/{again.id}/close-as-duplicate"
                  and f["fields"].get("original") and "similar-yes" in f["class"].split()]
    assert candidates and candidates[0]["fields"]["original"] == str(original.id)
    assert str(again.id) not in [c["fields"]["original"] for c in candidates]  # never itself
    r = web.post(candidates[0]["action"], candidates[0]["fields"])
    assert r.status_code == 303
    session.expire_all()
    closed = db_rows(session, select(Question).where(Question.id == again.id))[0]
    assert (closed.status, closed.duplicate_of_id) == ("duplicate", original.id)


def test_customers_do_not_see_likely_originals(web, factory, session, asked_twice):
    _original, again = asked_twice
    factory.user("maya")
    session.commit()
    web.sign_in("maya")
    assert "Possible originals" not in web.get(f"/questions/{again.id}/{again.slug}").text
