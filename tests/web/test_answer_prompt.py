"""Under "Your answer", why there is no answer form is told to everyone alike: a locked thread or a
closed or duplicate question takes no answers, signed in or not. A newcomer's trial found a merged
duplicate offering anonymous visitors "Sign in to answer", which signing in would not have opened.
Both databases."""

from __future__ import annotations

import pytest

from app.moderation import posts
from app.questions import duplicates
from tests.web.conftest import text_of
from tests.web.test_browser import live_server  # noqa: F401  (fixture)

SIGN_IN = "Sign in to answer"


@pytest.fixture
def threads(factory, session):
    mod = factory.user("omar_mod", role="moderator")
    factory.user("maya")
    original = factory.question(title="Wi-Fi drops every few minutes on battery")
    dup = factory.question(title="Wi-Fi keeps disconnecting when unplugged")
    duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    closed = factory.question(title="Which laptop should I buy for gaming")
    posts.close(session, actor=mod, question_id=closed.id, reason="off-topic")
    locked = factory.question(title="Fan noise thread that got heated")
    posts.set_lock(session, actor=mod, question_id=locked.id, locked=True, reason="heated")
    session.commit()
    return {"open": original, "duplicate": dup, "closed": closed, "locked": locked}


def _your_answer(page: str) -> str:
    start = page.index('id="your-answer"')
    return text_of(page[start:page.index("</section>", start)])


@pytest.mark.parametrize("who", [None, "maya"])
@pytest.mark.parametrize("kind, says", [
    ("duplicate", "This question is a duplicate, so it takes no new answers: answer the original question instead."),
    ("closed", "This question is closed, so it takes no new answers."),
    ("locked", "This thread is locked, so it takes no new answers."),
])
def test_a_question_that_takes_no_answers_says_so_to_everyone(web, threads, who, kind, says):
    if who:
        web.sign_in(who)
    q = threads[kind]
    page = web.get(f"/questions/{q.id}/{q.slug}").text
    section = _your_answer(page)
    assert says in section
    assert SIGN_IN not in section and f'action="/questions/{q.id}/answers"' not in page


def test_an_open_question_invites_the_visitor_to_sign_in_and_the_member_to_answer(web, threads):
    q = threads["open"]
    assert SIGN_IN in _your_answer(web.get(f"/questions/{q.id}/{q.slug}").text)
    web.sign_in("maya")
    page = web.get(f"/questions/{q.id}/{q.slug}").text
    assert f'action="/questions/{q.id}/answers"' in page and SIGN_IN not in page


def test_the_duplicate_points_at_its_original(web, threads):
    q, original = threads["duplicate"], threads["open"]
    page = web.get(f"/questions/{q.id}/{q.slug}").text
    section = page[page.index('id="your-answer"'):]
    assert f'<a href="/questions/{original.id}/{original.slug}">the original question</a>' in section


@pytest.mark.browser
def test_the_sign_in_prompt_reads_as_one_sentence_at_both_sizes(live_server, threads):  # noqa: F811
    """The prompt is a flex row (the button, then the sentence): each bare text run of the sentence
    was a flex item of its own, so the gap stood between "create an account" and ";" (seen at
    390 px). The sentence is one item: the ";" follows the link directly."""
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

    q = threads["open"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(f"{live_server}/questions/{q.id}/{q.slug}")
                gap = page.evaluate("""() => {
                    const link = [...document.querySelectorAll(".signin-prompt a")].find(a => a.textContent === "create an account");
                    const text = link.nextSibling, range = document.createRange();
                    range.setStart(text, 0); range.setEnd(text, 1);
                    return range.getBoundingClientRect().left - link.getBoundingClientRect().right; }""")
                assert abs(gap) < 1, (width, gap)
                page.close()
        finally:
            browser.close()
