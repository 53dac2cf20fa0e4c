"""Quoting with credit in a real browser (Chromium through Playwright) at desktop and phone sizes:
the Quote button inserts the quote block (the selection, or the first paragraph), the posted
answer shows the credit line, the original says "Quoted in 1 post"; the page passes the overflow
and axe checks. Without script, the Quote link opens the answer form prefilled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import make_answer, make_question, make_user
from tests.web.conftest import csrf_from
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_in, live_server  # noqa: F401 (fixture)
from tests.web.test_browser_hardening import _watch

SHOTS = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
FIRST = "Unplug the dock for ten seconds, then plug the laptop in first."


@pytest.fixture
def thread(session):
    alice, bob = make_user(session, "alice", display_name="Alice Lin"), make_user(session, "bob")
    question = make_question(session, make_user(session, "carol"), title="Dock Pro will not charge at 100 W")
    answer = make_answer(session, question, alice, body=f"{FIRST}\n\nIf that fails, update the dock firmware.")
    session.commit()
    return question, answer


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_quote_button_inserts_the_block_and_the_post_credits_the_author(live_server, thread, viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    question, answer = thread
    base_url = live_server
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}).new_page()
            _watch(page, problems, base_url)
            _sign_in(page, base_url, "bob")
            page.goto(f"{base_url}/questions/{question.id}/{question.slug}")
            box = page.locator("#answer-body")
            link = page.locator(f"#answer-{answer.id}").get_by_role("link", name="Quote this answer")
            # keyboard: focus the link and press Enter: the first paragraph goes in
            link.focus()
            link.press("Enter")
            expect(box).to_be_focused()
            expect(box).to_have_value(f"[quote=answer:{answer.id}]\n{FIRST}\n[/quote]\n\n")
            assert page.url.endswith(question.slug)  # stayed on the page, no navigation
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(SHOTS) / f"quote-inserted-{viewport[0]}.png"))
            # a selection quotes only the selection, after what was already typed
            box.fill("Thanks, this worked.\n")
            box.evaluate("b => b.setSelectionRange(b.value.length, b.value.length)")
            page.evaluate("""(id) => {
                const p = document.querySelector('#answer-' + id + ' .prose p:nth-of-type(2)');
                const range = document.createRange();
                range.setStart(p.firstChild, 15); range.setEnd(p.firstChild, 39);
                const s = window.getSelection(); s.removeAllRanges(); s.addRange(range);
            }""", answer.id)
            link.click()
            expect(box).to_have_value(f"Thanks, this worked.\n\n[quote=answer:{answer.id}]\nupdate the dock firmware\n[/quote]\n\n")
            box.press_sequentially("The firmware update did it for me as well.")
            page.get_by_role("button", name="Post your answer").click()
            page.wait_for_url(f"**/questions/{question.id}/{question.slug}#answer-*")
            new_answer = page.locator("article.answer").filter(has_text="did it for me as well")
            credit = new_answer.locator("blockquote .quote-credit")
            expect(credit).to_have_text("Alice Lin wrote in an answer to “Dock Pro will not charge at 100 W”:")
            expect(credit.get_by_role("link", name="Alice Lin")).to_have_attribute("href", "/users/alice")
            expect(credit.locator("a.quote-source")).to_have_attribute(
                "href", f"/questions/{question.id}/{question.slug}#answer-{answer.id}")
            quoted_in = page.locator(f"#answer-{answer.id} details.quoted-in")
            expect(quoted_in.locator("summary")).to_have_text("Quoted in 1 post")
            quoted_in.locator("summary").click()
            expect(quoted_in.get_by_role("link", name="An answer by bob")).to_be_visible()
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], width
            if SHOTS:
                new_answer.scroll_into_view_if_needed()
                page.screenshot(path=str(Path(SHOTS) / f"quote-credited-{viewport[0]}.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []


def test_the_quote_page_passes_overflow_and_axe(page_checker, thread, session):
    question, answer = thread
    make_answer(session, question, make_user(session, "dan"),
                body=f"[quote=answer:{answer.id}]\n{FIRST}\n[/quote]\n\nSame here, and it still works a week later.")
    session.commit()
    page = page_checker.person("bob")
    page_checker.check(page, f"/questions/{question.id}/{question.slug}", who="bob")
    page_checker.check(page_checker.person(), f"/questions/{question.id}/{question.slug}")
    assert not page_checker.problems, page_checker.report()


def test_without_script_the_quote_link_prefills_the_answer_form(browsers, thread, session):
    question, answer = thread
    bob = browsers()
    bob.sign_in("bob")
    url = f"/questions/{question.id}/{question.slug}"
    page = bob.get(url).text
    assert f'href="{url}?quote=answer:{answer.id}#your-answer"' in page
    page = bob.get(f"{url}?quote=answer:{answer.id}").text
    form = page.split('id="answer-body"')[1].split("</textarea>")[0]
    assert f"[quote=answer:{answer.id}]\n{FIRST}\n[/quote]" in form and "update the dock firmware" not in form
    # a reference the viewer may not see, or nonsense, leaves the form empty
    for ref in ("answer:999999", "answer:x", "<script>"):
        form = bob.get(f"{url}?quote={ref}").text.split('id="answer-body"')[1].split("</textarea>")[0]
        assert "[quote" not in form and "<script>" not in form
    # posting it through the form credits alice; signed out, the page has no Quote link
    r = bob.post(f"/questions/{question.id}/answers", {
        "csrf_token": csrf_from(bob.get(url).text, f"/questions/{question.id}/answers"),
        "body": f"[quote=answer:{answer.id}]\n{FIRST}\n[/quote]\n\nWorked for me without any script."})
    assert r.status_code == 303, r.text
    page = bob.get(url).text
    assert 'class="quote-credit"><a href="/users/alice" class="quote-author">Alice Lin</a>' in page
    assert "?quote=" not in browsers().get(url).text


@pytest.mark.parametrize("gone", ["answer deleted", "question deleted", "quoting answer deleted"])
def test_cached_pages_follow_the_quoted_post(app, browsers, thread, session, gone):
    """The anonymous-page cache drops a page whose credit or count changed in another thread."""
    from app.answers import service as answers_service
    from app.questions import service as questions_service

    question, answer = thread
    other = make_question(session, make_user(session, "erin"), title="Laptop charges slowly on the dock")
    quoting = make_answer(session, other, make_user(session, "dan"),
                          body=f"[quote=answer:{answer.id}]\n{FIRST}\n[/quote]\n\nSame here, it worked.")
    mod = make_user(session, "mod", role="moderator")
    session.commit()
    app.state.page_cache.check_interval = 0  # every request asks the outbox what changed
    anon = browsers()
    quoting_url, original_url = f"/questions/{other.id}/{other.slug}", f"/questions/{question.id}/{question.slug}"
    page, original = anon.get(quoting_url).text, anon.get(original_url).text
    assert "quote-credit" in page and "Quoted in 1 post" in original
    assert anon.get(quoting_url).text == page and anon.get(original_url).text == original  # served from the cache
    if gone == "answer deleted":
        answers_service.delete_answer(session, actor=mod, answer_id=answer.id)
    elif gone == "question deleted":
        questions_service.delete_question(session, actor=mod, question_id=question.id)
    else:
        answers_service.delete_answer(session, actor=mod, answer_id=quoting.id)
    session.commit()
    if gone == "quoting answer deleted":
        assert "Quoted in" not in anon.get(original_url).text
    else:
        page = anon.get(quoting_url).text
        assert "quote-credit" not in page and "Alice Lin" not in page and FIRST in page
