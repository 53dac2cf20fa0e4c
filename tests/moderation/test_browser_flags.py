"""A member flags an answer in a real browser (Chromium through Playwright, desktop 1280×900 and
phone 390×844) against a real server; a moderator handles the flag from the flag queue; the
flagger is told the flag was helpful and sees it on "Your flags"."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_answer, make_question, make_user
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_in, live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_flag_an_answer_and_a_moderator_handles_it(live_server, session, viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    maya = make_user(session, "maya")
    make_user(session, "raj", reputation=50)
    make_user(session, "omar", role="moderator")
    spammer = make_user(session, "dealz")
    q = make_question(session, maya, title="Dock Pro will not charge my laptop at 100 W")
    a = make_answer(session, q, spammer, body="You are an idiot, read the manual before asking here.")
    session.commit()
    base = live_server
    url = f"{base}/questions/{q.id}/{q.slug}"
    width, height = viewport
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            def person():
                page = browser.new_context(viewport={"width": width, "height": height}).new_page()
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                return page

            def fits(page):
                assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url

            member = person()
            _sign_in(member, base, "raj")
            member.goto(url)
            answer = member.locator(f"#answer-{a.id}")
            answer.locator("summary", has_text="Flag").click()
            answer.get_by_label("Rude or abusive").check()
            answer.get_by_label(re.compile("Details for the moderators")).fill("Insults the asker")
            fits(member)
            answer.get_by_role("button", name="Send flag").click()
            member.wait_for_url(re.compile(re.escape(url)))
            expect(member.get_by_role("status")).to_contain_text("your flag is with the moderators")
            member.goto(f"{base}/moderation/my-flags")
            expect(member.locator(".flag-status").first).to_contain_text("waiting for a moderator")

            moderator = person()
            _sign_in(moderator, base, "omar")
            expect(moderator.get_by_role("link", name=re.compile(r"Flags \(1\)"))).to_have_count(1)
            moderator.goto(f"{base}/moderation/flags")
            group = moderator.locator(f"#flagged-answer-{a.id}")
            expect(group).to_contain_text("Rude or abusive")
            expect(group).to_contain_text("Insults the asker")
            expect(group).to_contain_text("raj")
            fits(moderator)
            group.get_by_label(re.compile("Note to the flaggers")).fill("Removed, thanks")
            group.get_by_role("button", name="Delete the answer").click()
            moderator.wait_for_url(f"{base}/moderation/flags")
            expect(moderator.get_by_role("status")).to_contain_text("1 flag marked helpful")
            expect(moderator.locator(f"#flagged-answer-{a.id}")).to_have_count(0)
            moderator.goto(f"{base}/moderation/audit-log")
            expect(moderator.locator("table")).to_contain_text("flag.helpful")
            expect(moderator.locator("table")).to_contain_text("post.delete")

            member.goto(f"{base}/notifications")
            expect(member.locator("main")).to_contain_text("was marked helpful")
            member.goto(f"{base}/moderation/my-flags")
            expect(member.locator(".flag-status").first).to_contain_text("helpful")
            fits(member)
            member.goto(url)
            expect(member.locator(f"#answer-{a.id}")).to_have_count(0)
        finally:
            browser.close()
    assert problems == []
