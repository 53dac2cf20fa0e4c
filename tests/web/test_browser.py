"""The whole journey in a real browser (Chromium through Playwright) against a real server:
ask, answer, vote, accept. Runs on each database of the fixtures."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# The live server and Chromium's settings live in tests/web/conftest.py; other test modules import them from here.
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _sign_up(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base_url}/")
    assert page.get_by_role("link", name=re.compile(f"Signed in as {username}")).is_visible()


def test_ask_answer_vote_accept_in_a_browser(live_server):
    from playwright.sync_api import expect, sync_playwright

    base_url = live_server
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            def person():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.on("console", lambda m: problems.append(f"{m.text} ({m.location.get('url')})") if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                return page

            # Maya asks
            maya = person()
            _sign_up(maya, base_url, "maya")
            maya.get_by_role("link", name="Ask a question").first.click()
            maya.get_by_label("Title").fill("Dock Pro will not charge my laptop at 100 W")
            maya.get_by_label("Describe the problem").fill(
                "It only charges at 60 W.\n\n```\ncharger: 60 W\n```\n\nWhat am I missing?")
            maya.get_by_label("Tags").fill("dock, charging")
            maya.get_by_role("button", name="Post your question").click()
            maya.wait_for_url(re.compile(r"/questions/\d+/dock-pro-will-not-charge-my-laptop-at-100-w$"))
            question_url = maya.url
            expect(maya.get_by_role("heading", level=1)).to_have_text("Dock Pro will not charge my laptop at 100 W")
            expect(maya.get_by_role("status")).to_contain_text("Your question is posted")

            # Raj answers
            raj = person()
            _sign_up(raj, base_url, "raj")
            raj.goto(question_url)
            raj.get_by_label("Answer", exact=True).fill("Use the 100 W USB-C cable that came in the box; others carry 60 W.")
            raj.get_by_role("button", name="Post your answer").click()
            expect(raj.get_by_role("status")).to_contain_text("Your answer is posted")
            answer = raj.locator("article.answer").first
            expect(answer).to_contain_text("Use the 100 W USB-C cable")

            # Sam upvotes the answer (with JavaScript: no reload, the button shows it is pressed)
            sam = person()
            _sign_up(sam, base_url, "sam")
            sam.goto(question_url)
            upvote = sam.locator("article.answer").first.get_by_role("button", name="Upvote this answer")
            expect(upvote).to_have_attribute("aria-pressed", "false")
            upvote.click()
            expect(upvote).to_have_attribute("aria-pressed", "true")
            expect(sam.locator("article.answer").first.locator("[data-score]")).to_have_text(re.compile(r"\b1$"))
            sam.reload()
            expect(sam.locator("article.answer").first.locator("[data-score]")).to_have_text(re.compile(r"\b1$"))

            # Maya accepts it
            maya.goto(question_url)
            maya.get_by_role("button", name="Accept this answer").click()
            expect(maya.get_by_role("status")).to_contain_text("Answer accepted")
            accepted = maya.locator("article.answer.is-accepted")
            expect(accepted).to_contain_text("Accepted answer")
            expect(accepted.locator("[data-score]")).to_have_text(re.compile(r"\b1$"))
            expect(maya.locator(".badge-solved")).to_have_text(re.compile("Solved"))
            expect(maya.get_by_role("button", name="Un-accept")).to_be_visible()

            # and the home page shows it solved
            maya.goto(f"{base_url}/")
            expect(maya.locator(".qitem.is-solved")).to_contain_text("Dock Pro will not charge my laptop at 100 W")

            shots = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                maya.goto(question_url)
                maya.screenshot(path=str(Path(shots) / "question-solved.png"), full_page=True)
                maya.set_viewport_size({"width": 390, "height": 844})
                maya.screenshot(path=str(Path(shots) / "question-solved-mobile.png"), full_page=True)
        finally:
            browser.close()
    # No CSP violations or script errors anywhere along the way.
    assert problems == []


def _sign_in(page, base_url: str, username: str) -> None:
    from tests.factories import PASSWORD

    page.goto(f"{base_url}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def test_a_refused_vote_is_explained_without_a_reload(live_server, factory, session):
    """The script votes through the API; when the vote is refused (here: locked in) the
    problem's detail shows by the post, the score stays, and the page is not reloaded."""
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import expect, sync_playwright

    from app.reputation import policy
    from app.votes import service as votes_service

    maya, raj, sam = factory.user("maya"), factory.user("raj"), factory.user("sam")
    q = factory.question(author=maya, title="Dock Pro will not charge my laptop at 100 W")
    a = factory.answer(q, author=raj)
    votes_service.cast(session, actor=sam, post_type="answer", post_id=a.id, value=1,
                       now=datetime.now(UTC) - policy.VOTE_LOCK - timedelta(minutes=1))
    session.commit()
    base_url = live_server
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            _sign_in(page, base_url, "sam")
            url = f"{base_url}/questions/{q.id}/{q.slug}"
            page.goto(url)
            page.evaluate("window.__sameDocument = true")
            answer = page.locator(f"#answer-{a.id}")
            upvote = answer.get_by_role("button", name="Upvote this answer")
            expect(upvote).to_have_attribute("aria-pressed", "true")
            expect(answer.get_by_role("button", name="Downvote this answer")).to_have_count(0)
            upvote.click()  # take it back: refused, the vote is locked in
            expect(answer.locator("[data-vote-problem]")).to_contain_text("Your vote is locked in")
            expect(answer.locator("[data-vote-problem] a")).to_have_attribute("href", "/help/reputation#voting")
            expect(upvote).to_have_attribute("aria-pressed", "true")
            expect(answer.locator("[data-score]")).to_have_text(re.compile(r"\b1$"))
            assert page.evaluate("window.__sameDocument") is True  # no reload, no fallback post
            assert page.url == url
        finally:
            browser.close()
    assert problems == []
