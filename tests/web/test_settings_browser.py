"""Account settings in a real browser (Chromium through Playwright), desktop and phone: change the
password with a mistake first, then sign out everywhere; the other browser is signed out too."""

from __future__ import annotations

import re

import pytest

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_up, live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", list(SIZES))
def test_change_password_and_sign_out_everywhere(live_server, size, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    base_url = live_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            mine = browser.new_context(viewport=SIZES[size])
            page = mine.new_page()
            _sign_up(page, base_url, "wren")
            elsewhere = browser.new_context(viewport=SIZES[size]).new_page()
            elsewhere.goto(f"{base_url}/signin")
            elsewhere.get_by_label("Username").fill("wren")
            elsewhere.get_by_label("Password").fill("a long enough password")
            elsewhere.get_by_role("button", name="Sign in").click()
            expect(elsewhere.get_by_role("link", name=re.compile("Signed in as wren"))).to_be_visible()

            page.goto(f"{base_url}/users/wren")
            page.get_by_role("link", name="Account settings").click()
            page.wait_for_url(f"{base_url}/settings")
            page.get_by_label("Current password").fill("a long enough password")
            page.get_by_label("New password").fill("password1234")
            page.get_by_role("button", name="Change password").click()
            expect(page.get_by_text("Choose a less common password").first).to_be_visible()
            page.screenshot(path=str(tmp_path / f"settings-error-{size}.png"), full_page=True)
            page.get_by_label("Current password").fill("a long enough password")
            page.get_by_label("New password").fill("sunlit orchard ladder")
            page.get_by_role("button", name="Change password").click()
            expect(page.get_by_text("Your password is changed")).to_be_visible()
            page.screenshot(path=str(tmp_path / f"settings-{size}.png"), full_page=True)

            elsewhere.reload()
            expect(elsewhere.get_by_role("link", name="Sign in")).to_be_visible()

            page.get_by_role("button", name="Sign out everywhere").click()
            expect(page.get_by_text("You are signed out everywhere")).to_be_visible()
            expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        finally:
            browser.close()
