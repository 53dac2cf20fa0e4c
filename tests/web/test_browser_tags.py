"""In a real browser (Chromium through Playwright; server and browser set up as in test_browser.py):
a question's `c#` tag link opens the C# tag page, not `/tags/c` (issue 12), and so do the links of
tags in other scripts and with `.` and `+`; at desktop and phone sizes. A search without results
offers "Ask a question" with the query as the title, and a tag the rule refuses is explained."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_in, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def tagged(factory, session):
    made = {
        "c#": factory.question(title="C# client cannot reach the dock API", tags=["c#", ".net"]),
        "c": factory.question(title="C library for the dock firmware", tags=["c"]),
        "net": factory.question(title="Net connection drops at night", tags=["net"]),
        "c++": factory.question(title="C++ sample for the firmware API", tags=["c++", "роутер"]),
    }
    session.commit()
    return made


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_tag_links_open_their_own_tag_pages(live_server, tagged, viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base_url = live_server
    problems: list[str] = []
    shots = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
    c_sharp = tagged["c#"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=viewport).new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # From the question page: the tag chip under the question
            page.goto(f"{base_url}/questions/{c_sharp.id}/{c_sharp.slug}")
            page.locator("ul.tags").first.get_by_role("link", name="c#", exact=True).click()
            page.wait_for_url(f"{base_url}/tags/c%23")
            expect(page.get_by_role("heading", level=1)).to_have_text("Questions tagged “c#”")
            titles = page.locator("h2.qtitle a")
            expect(titles).to_have_text([c_sharp.title])  # not the C question, not a 404
            if shots:
                suffix = "" if viewport["width"] > 600 else "-mobile"
                page.screenshot(path=str(Path(shots) / f"tag-c-sharp{suffix}.png"), full_page=True)

            # From the list of questions: `.net` must not open `net`, `c++` must not open `c`
            for name, expected, url in ((".net", c_sharp.title, "/tags/.net"),
                                        ("c++", tagged["c++"].title, "/tags/c%2B%2B"),
                                        ("роутер", tagged["c++"].title,
                                         "/tags/%D1%80%D0%BE%D1%83%D1%82%D0%B5%D1%80")):
                page.goto(f"{base_url}/questions")
                page.locator("ol.question-list ul.tags").get_by_role("link", name=name, exact=True).first.click()
                page.wait_for_url(base_url + url)
                expect(page.get_by_role("heading", level=1)).to_have_text(f"Questions tagged “{name}”")
                expect(titles).to_have_text([expected])

            # The address typed by hand, with the character itself
            page.goto(f"{base_url}/tags/c%23?sort=votes")
            expect(titles).to_have_text([c_sharp.title])
        finally:
            browser.close()
    assert problems == []


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_ask_from_an_empty_search_and_a_refused_tag(live_server, factory, session, viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    factory.user("maya")
    session.commit()
    base_url = live_server
    problems: list[str] = []
    shots = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
    suffix = "" if viewport["width"] > 600 else "-mobile"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=viewport).new_page()
            # the refused form answers 422 on purpose; anything else is a problem
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error" and not m.location.get("url", "").endswith("/ask") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            _sign_in(page, base_url, "maya")
            page.goto(f"{base_url}/search?q=" + "принтер не печатает %23 2")
            empty = page.locator("div.empty")
            expect(empty).to_contain_text("No questions match “принтер не печатает # 2”")
            if shots:
                page.screenshot(path=str(Path(shots) / f"search-empty-ask{suffix}.png"), full_page=True)
            empty.get_by_role("link", name="Ask a question").click()
            page.wait_for_url(f"{base_url}/ask?**")
            expect(page.get_by_label("Title")).to_have_value("принтер не печатает # 2")

            page.get_by_label("Describe the problem").fill("The printer shows ready but prints nothing at all.")
            page.get_by_label("Tags").fill("принтер, wi-fi?")
            page.get_by_role("button", name="Post your question").click()
            expect(page.locator("#f-tags-error")).to_contain_text("“wi-fi?” cannot be used")
            expect(page.get_by_label("Tags")).to_have_value("принтер, wi-fi?")
            expect(page.get_by_label("Title")).to_have_value("принтер не печатает # 2")
            if shots:
                page.screenshot(path=str(Path(shots) / f"ask-refused-tag{suffix}.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
