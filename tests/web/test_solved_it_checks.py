"""The web "Yes, this solved it" (/questions/{id}/solved-it) refuses what the API refuses
(app/search/service.py record_deflection): a title that shows nothing, an answer that is not the
question's. The ask page again, 422, with the message and the typed title; nothing counted. An
unknown product still does not lose the "thank you". Both databases."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.search.models import Deflection
from tests.web.conftest import csrf_from, db_rows


@pytest.fixture
def thread(factory, session):
    author = factory.user("raj")
    q = factory.question(author, title="Bluetooth mouse lags in games on the Aero 14")
    other = factory.question(author, title="Dock Pro will not charge my laptop at 100 W")
    mine, foreign = factory.answer(q), factory.answer(other)
    session.commit()
    return q, other, mine, foreign


def test_the_web_form_refuses_the_same_and_keeps_the_title(browsers, session, factory, thread):
    q, _, mine, foreign = thread
    factory.user("lena")
    session.commit()
    web = browsers()
    web.sign_in("lena")
    token = csrf_from(web.get("/ask").text)
    r = web.post(f"/questions/{q.id}/solved-it", {"csrf_token": token, "title": "\u200b\u200b", "answer_id": mine.id})
    assert r.status_code == 422 and "field-error" in r.text
    assert "invisible characters" in r.text and "value=\"\u200b\u200b\"" in r.text
    r = web.post(f"/questions/{q.id}/solved-it", {"csrf_token": token, "title": "mouse lag in games",
                                                  "answer_id": foreign.id})
    assert r.status_code == 422 and "not an answer to this question" in r.text and "mouse lag in games" in r.text
    assert db_rows(session, select(Deflection)) == []
    r = web.post(f"/questions/{q.id}/solved-it", {"csrf_token": token, "title": "mouse lag in games",
                                                  "answer_id": mine.id, "product": "no-such-product"})
    assert r.status_code == 303 and r.headers["location"].endswith(f"#answer-{mine.id}")
    assert len(db_rows(session, select(Deflection))) == 1
