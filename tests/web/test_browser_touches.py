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


def _shot(page, name: str, viewport) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{viewport[0]}.png"), full_page=True)


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
                expect(page.locator("h1").first).to_contain_text("Groundswell API", timeout=30000)
            except AssertionError:
                raise AssertionError(problems) from None
            expect(page.get_by_text("/api/v1/questions/{question_id}/deflect").first).to_be_attached()
            # styled (its CSS went in through the CSSOM), not a bare document
            assert page.evaluate("getComputedStyle(document.querySelector('.api-content') || document.body).display") != ""
            _shot(page, "redoc", viewport)
        finally:
            browser.close()
    assert [p for p in problems if "favicon" not in p] == []
