"""Issue 14 items 4–9 in a real browser (Chromium through Playwright), at 1280×900 and 390×844:
/redoc offline under the CSP, the ask page (product first, preview, tag suggestions), the
duplicate confirmation, directories and profiles without horizontal overflow."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_in, live_server  # noqa: F401 (fixture)
from tests.web.test_browser_hardening import _watch

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
VIEWPORTS = [(1280, 900), (390, 844)]


def _shot(page, name: str, viewport, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{viewport[0]}.png"), full_page=full_page)


def _no_overflow(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (page.url, width)


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
def test_redoc_renders_offline_under_the_csp(live_server, viewport):  # noqa: F811
    import urllib.request

    from playwright.sync_api import expect, sync_playwright

    base_url = live_server
    with urllib.request.urlopen(f"{base_url}/redoc") as r:
        csp = r.headers["content-security-policy"]
        html = r.read().decode()
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "https://" not in html and "<script>" not in html  # no CDN, no inline script
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())  # offline
            page = context.new_page()
            _watch(page, problems, base_url)
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{base_url}/redoc")
            try:
                expect(page.locator("#redoc h1")).to_contain_text("Groundswell API", timeout=90000)  # ReDoc's own h1
            except AssertionError:
                raise AssertionError(f"ReDoc did not render; problems: {problems}") from None
            expect(page.get_by_text("/api/v1/questions/{question_id}/deflect").first).to_be_attached()
            # styled (its CSS went in through the CSSOM), not a bare document
            assert page.evaluate("getComputedStyle(document.querySelector('.api-content') || document.body).display") != ""
            _shot(page, "redoc", viewport, full_page=False)  # the whole reference is too tall to capture
        finally:
            browser.close()
    assert [p for p in problems if "favicon" not in p] == []


@pytest.fixture
def forum(factory, session):
    """Two products, tags in use, an answered question and a newer duplicate candidate."""
    from app.answers import service as answers_service

    factory.product("dock-pro", "Dock Pro")
    raj, maya = factory.user("raj"), factory.user("maya")
    factory.user("omar", role="moderator")
    original = factory.question(author=raj, title="Wi-Fi drops every few minutes after the BIOS update",
                                tags=["wifi", "bios"], product="dock-pro")
    answer = factory.answer(original, body="Turn off power saving for the wireless adapter in Device Manager.")
    answers_service.accept(session, actor=raj, question_id=original.id, answer_id=answer.id)
    factory.question(tags=["wifi-6e", "windows"])
    again = factory.question(author=maya, title="Wifi keeps disconnecting since updating the BIOS",
                             body="After the BIOS update my wifi disconnects all the time.", tags=["wifi"])
    session.commit()
    return {"original": original, "again": again, "answer": answer}


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
def test_ask_page_previews_and_suggests_tags(live_server, forum, viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base_url = live_server
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}).new_page()
            _watch(page, problems, base_url)
            _sign_in(page, base_url, "maya")
            page.goto(f"{base_url}/ask")
            fields = page.locator("#ask-form select, #ask-form input:not([type=hidden]), #ask-form textarea")
            assert fields.first.get_attribute("name") == "product"  # the product comes first
            expect(page.locator("[data-preview-button]")).to_be_hidden()  # the preview follows the typing
            page.get_by_label("Describe the problem").fill("It **stops** at 60 W.\n\n- cable\n- dock\n\n<img src=x onerror=alert(1)>")
            preview = page.locator("[data-md-preview]")
            expect(preview).to_be_visible()
            expect(preview.locator("strong")).to_have_text("stops")
            expect(preview.locator("li")).to_have_count(2)
            assert preview.locator("img").count() == 0  # sanitised as posts are
            tags = page.get_by_role("combobox", name="Tags")
            tags.press_sequentially("wi")
            listbox = page.get_by_role("listbox", name="Tag suggestions")
            expect(listbox).to_be_visible()
            expect(listbox.get_by_role("option")).to_have_count(3)  # wifi, wifi-6e, windows
            expect(tags).to_have_attribute("aria-expanded", "true")
            tags.press("ArrowDown")
            expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
            assert tags.get_attribute("aria-activedescendant") == listbox.get_by_role("option").first.get_attribute("id")
            _no_overflow(page)
            _shot(page, "ask-touches", viewport)
            tags.press("Enter")  # picks the tag, does not post the form
            expect(tags).to_have_value("wifi, ")
            expect(listbox).to_be_hidden()
            assert page.url.endswith("/ask")
            tags.press_sequentially("bi")
            expect(listbox.get_by_role("option")).to_have_count(1)
            tags.press("Escape")
            expect(listbox).to_be_hidden()
        finally:
            browser.close()
    assert problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
def test_closing_a_duplicate_is_confirmed_and_pages_fit(live_server, forum, session, settings, clean_engine,
                                                        viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from app.questions.models import Question
    from app.search import outbox
    from app.search import service as search_service
    from tests.web.conftest import db_rows

    search_service.reset_backends()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    base_url, original, again = live_server, forum["original"], forum["again"]
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}).new_page()
            _watch(page, problems, base_url)
            _sign_in(page, base_url, "omar")
            page.goto(f"{base_url}/questions/{again.id}/{again.slug}")
            page.locator("details.close-duplicate summary").click()
            button = page.get_by_role("button", name=f"Close as a duplicate of “{original.title}”")
            expect(button).to_be_visible()
            assert button.evaluate("b => getComputedStyle(b).backgroundColor") != "rgb(239, 239, 239)"  # styled
            button.click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Close as a duplicate?")
            _no_overflow(page)
            _shot(page, "confirm-duplicate", viewport)
            assert db_rows(session, select_status(Question, again.id)) == ["open"]
            page.get_by_role("button", name="Yes, close as a duplicate").click()
            expect(page.get_by_role("status")).to_contain_text("the asker is told")
            assert db_rows(session, select_status(Question, again.id)) == ["duplicate"]
            for path in ("/tags", "/users", "/users?product=dock-pro", "/users/raj", "/users/raj?tab=answers",
                         "/users/raj?tab=reputation", "/notifications"):
                page.goto(base_url + path)
                expect(page.locator("main h1").first).to_be_visible()
                _no_overflow(page)
                _shot(page, path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-"), viewport)
        finally:
            browser.close()
            search_service.reset_backends()
    assert problems == []


def select_status(model, qid):
    from sqlmodel import select

    return select(model.status).where(model.id == qid)
