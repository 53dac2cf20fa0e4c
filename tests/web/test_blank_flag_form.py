"""The web flag forms refuse a "something else" reason made only of invisible characters the way
the API does (app/core/text.py require_text), and keep what was typed: the question page again,
422, that post's flag form open with the message beside the details. Both databases."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import select

from app.comments import service as comments_service
from app.moderation.models import Flag
from app.questions import views
from app.questions.schemas import CommentCreate
from tests.web.conftest import db_rows


@pytest.fixture
def thread(factory, session):
    author = factory.user("raj")
    factory.user("lena", reputation=500)
    q = factory.question(author)
    answer = factory.answer(q, author)
    comment = comments_service.add(session, actor=author, post_type="question", post_id=q.id,
                                   data=CommentCreate(body="Which driver version is it?"))
    session.commit()
    return q, answer, comment


def _form(page: str, action: str) -> str:
    match = re.search(r'<details class="flag-add[^"]*"([^>]*)>(?:(?!</details>).)*?action="' + re.escape(action)
                      + r'"(.*?)</form>', page, re.DOTALL)
    assert match, action
    return match.group(1) + match.group(2)


@pytest.mark.parametrize("kind", ["question", "answer", "comment"])
def test_a_blank_other_reason_is_refused_and_the_typed_text_kept(web, session, thread, kind):
    q, answer, comment = thread
    post_id = {"question": q.id, "answer": answer.id, "comment": comment.id}[kind]
    web.sign_in("lena")
    url = views.question_url(q.id, q.slug)
    typed = "\u200b\u2060\u00a0"
    r = web.submit(url, f"/{kind}s/{post_id}/flags", {"reason": "other", "text": typed})
    assert r.status_code == 422, r.status_code
    form = _form(r.text, f"/{kind}s/{post_id}/flags")
    assert " open" in form  # that form, opened
    assert "invisible characters" in html.unescape(form)
    assert typed in html.unescape(form)  # the text as typed
    assert re.search(r'value="other"[^>]*(checked|selected)', form)
    # Every other flag form on the page stays closed and empty.
    assert len(re.findall(r'<details class="flag-add[^"]*" open', r.text)) == 1
    assert db_rows(session, select(Flag)) == []
    # With words in it, the same form is accepted.
    r = web.submit(url, f"/{kind}s/{post_id}/flags", {"reason": "other", "text": typed + "Links to a fake shop"})
    assert r.status_code == 303
    assert [f.text for f in db_rows(session, select(Flag))] == ["\u200b\u2060\u00a0Links to a fake shop"]
