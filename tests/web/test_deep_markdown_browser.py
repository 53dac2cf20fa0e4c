"""Markdown nested as deep as the renderer goes (markdown-it stops at 20 levels) stays within the
page at every size: a post of quotes in quotes, or of lists in lists, must not widen a phone's page
(it did: an answer of `"> " * 3000` made the whole question page 505 px wide at 390 px)."""

from __future__ import annotations

import pytest

from tests.factories import make_answer, make_question, make_user

DEEP = {
    "quotes in quotes": "> " * 3000 + "deep quote: the dock charges at 30 W only",
    "lists in lists": "- " * 3000 + "deep list: the dock charges at 30 W only",
    "ordered lists in quotes": "> 1. " * 400 + "deep mix: the dock charges at 30 W only",
    "quotes in ordered lists": "1. > " * 400 + "deep mix: the dock charges at 30 W only",
}


@pytest.mark.parametrize("kind", list(DEEP))
def test_deeply_nested_posts_fit_the_page(page_checker, session, kind):
    asker, helper = make_user(session, "asker"), make_user(session, "helper")
    question = make_question(session, author=asker, title="Dock Pro only charges at 30 W after the update",
                             body=DEEP[kind])
    make_answer(session, question, helper, body=DEEP[kind])
    session.commit()
    page_checker.check(page_checker.person(), f"/questions/{question.id}/{question.slug}")
    assert not page_checker.problems, page_checker.report()
