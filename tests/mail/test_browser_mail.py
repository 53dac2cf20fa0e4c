"""Follow buttons and the notification settings page in a real browser (Chromium via Playwright),
desktop (1280×900) and phone (390×844): no horizontal scrolling, state kept across reloads."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from app.mail import delivery
from tests.factories import make_product, make_question, make_user
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_up, live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("size", list(SIZES))
def test_follow_buttons_and_preferences(live_server, clean_engine, size, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with Session(clean_engine, expire_on_commit=False) as s:
        raj = make_user(s, "raj")
        make_product(s, slug="dock-pro", name="Dock Pro")
        q = make_question(s, author=raj, title="Dock Pro will not charge at 100 W", tags=["dock"], product="dock-pro")
        s.commit()
    base_url = live_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=SIZES[size]).new_page()
            _sign_up(page, base_url, "wren")
            for path, label in (("/products/dock-pro", "product"), ("/tags/dock", "tag"),
                                (f"/questions/{q.id}/{q.slug}", "question"), ("/users/raj", "raj")):
                page.goto(base_url + path)
                button = page.get_by_role("button", name=re.compile(f"^Follow {label}"))
                expect(button).to_have_attribute("aria-pressed", "false")
                _no_sideways_scroll(page)
                button.click()
                page.wait_for_url(base_url + path)
                expect(page.get_by_role("button", name=re.compile(f"Following {label}"))).to_have_attribute(
                    "aria-pressed", "true")
            page.screenshot(path=str(tmp_path / f"follow-{size}.png"), full_page=True)
            page.goto(f"{base_url}/following")
            expect(page.get_by_role("link", name="Dock Pro will not charge at 100 W").first).to_be_visible()
            _no_sideways_scroll(page)

            page.goto(f"{base_url}/settings")
            page.get_by_role("link", name="Notification settings").click()
            page.wait_for_url(f"{base_url}/settings/notifications")
            expect(page.get_by_text("not confirmed yet")).to_be_visible()
            _no_sideways_scroll(page)
            page.get_by_label("A new question in a product or tag I follow").select_option("email")
            page.get_by_label("Upvotes on my answers").select_option("off")
            page.get_by_label("Time zone").select_option("Europe/Berlin")
            page.get_by_label("Digests arrive at").select_option("18")
            page.get_by_label("Follow the questions I ask or answer").uncheck()
            page.get_by_role("button", name="Save notification settings").click()
            expect(page.get_by_text("Your notification settings are saved")).to_be_visible()
            page.screenshot(path=str(tmp_path / f"preferences-{size}.png"), full_page=True)
            page.reload()
            expect(page.get_by_label("A new question in a product or tag I follow")).to_have_value("email")
            expect(page.get_by_label("Upvotes on my answers")).to_have_value("off")
            expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
            expect(page.get_by_label("Digests arrive at")).to_have_value("18")
            expect(page.get_by_label("Follow the questions I ask or answer")).not_to_be_checked()
        finally:
            browser.close()
    with Session(clean_engine) as s:
        from sqlmodel import select

        from app.accounts.models import User

        wren = s.exec(select(User).where(User.username == "wren")).one()
        prefs = delivery.preferences(s, wren.id)
        assert prefs["followed_new_question"] == "email" and prefs["answer_upvoted"] == "off"
        assert delivery.mail_settings(s, wren.id).timezone == "Europe/Berlin"
