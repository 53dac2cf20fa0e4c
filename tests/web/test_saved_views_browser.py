"""The saved-views dashboard in a real browser (Chromium through Playwright, issue 18): columns
side by side on a desktop, stacked on a phone; a column refreshes without a page reload after the
data changes (its Refresh button, and by itself after a minute, not while the tab is hidden); without JavaScript the page is a
stack of lists with a Reload link. Screenshots go to $GROUNDSWELL_SCREENSHOT_DIR when set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.escalation import service as esc_service
from app.savedviews import service as saved_views
from app.savedviews.schemas import ViewCreate
from tests.web.test_browser import _sign_in

pytestmark = pytest.mark.browser

DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
NO_RELOAD = "() => window.__sameDocument === true"


def _shot(page, name: str) -> None:
    shots = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"saved_views_{name}.png"), full_page=True)


def _boxes(page) -> list[dict]:
    return [page.locator("[data-view-column]").nth(i).bounding_box()
            for i in range(page.locator("[data-view-column]").count())]


def _fits(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_columns_dashboard_side_by_side_stacked_live_and_without_javascript(page_checker, factory, session):
    from playwright.sync_api import expect

    factory.product("dock-pro", "Dock Pro")
    lena, maya = factory.user("lena", role="staff"), factory.user("maya")
    q = factory.question(author=maya, title="Dock Pro charges at 60 W only", product="dock-pro", tags=["charging"])
    esc, _ = esc_service.escalate(session, actor=lena, question_id=q.id, reason="Charging defect suspected")
    dock = saved_views.create(session, actor=lena, data=ViewCreate(
        name="Dock Pro, unanswered", filters={"product": "dock-pro", "unanswered": True}))
    saved_views.create(session, actor=lena, data=ViewCreate(name="Unresolved escalations",
                                                            filters={"escalation_status": "active"}))
    saved_views.create(session, actor=lena, data=ViewCreate(name="Many have it too", filters={"has_me_too": True}))
    session.commit()
    # The browser is page_checker's (tests/web/conftest.py); script and console errors are collected.
    base_url, problems = page_checker.base_url, page_checker.problems

    def person(viewport, **kw):
        page = page_checker.browser.new_context(viewport=viewport, **kw).new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _sign_in(page, base_url, "lena")
        return page

    # --- desktop: side by side; the Refresh button brings a new question in, no reload ---
    page = person(DESKTOP)
    page.clock.install()
    page.goto(f"{base_url}/views")
    column = page.locator(f"#view-{dock.id}")
    expect(column.get_by_role("heading", name="Dock Pro, unanswered")).to_be_visible()
    expect(column).to_contain_text("Dock Pro charges at 60 W only")
    expect(column).to_contain_text("1 question")
    expect(page.locator("#view-%d" % (dock.id + 1))).to_contain_text("Escalation: open")
    first, second, third = _boxes(page)
    assert abs(first["y"] - second["y"]) < 1 and abs(second["y"] - third["y"]) < 1
    assert first["x"] + first["width"] <= second["x"] and second["x"] + second["width"] <= third["x"]
    assert _fits(page)
    _shot(page, "desktop")
    page.evaluate("() => { window.__sameDocument = true; }")

    new = factory.question(author=maya, title="Dock Pro fan whines under load", product="dock-pro",
                           tags=["noise"])
    session.commit()
    column.get_by_role("button", name=re.compile("Refresh")).click()
    expect(column).to_contain_text("Dock Pro fan whines under load")
    expect(column).to_contain_text("2 questions")
    expect(column.locator("[data-view-status]")).to_contain_text("Updated at")
    expect(column.locator("[data-view-status]")).to_have_attribute("aria-live", "polite")
    assert page.evaluate(NO_RELOAD), "the page was reloaded"

    # ...and by itself a minute later: the escalation resolved leaves its column
    esc_service.claim(session, actor=lena, escalation_id=esc.id)
    esc_service.resolve(session, actor=lena, escalation_id=esc.id, resolution="Firmware",
                        answer_body="Update the dock to firmware 1.2.3 from the support site, then retry.")
    factory.answer(new, author=lena)
    session.commit()
    escalations = page.locator(f"#view-{dock.id + 1}")
    page.clock.run_for(61_000)
    expect(escalations).to_contain_text("No questions match right now.")
    expect(column).not_to_contain_text("Dock Pro fan whines under load")  # answered: not unanswered
    assert page.evaluate(NO_RELOAD), "the page was reloaded"
    _shot(page, "desktop_refreshed")

    # ...but not while the tab is hidden; coming back refreshes at once (a refresh is due by then)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/column" in r.url else None)
    page.evaluate("""() => { Object.defineProperty(document, "hidden", {value: true, configurable: true});
                             document.dispatchEvent(new Event("visibilitychange")); }""")
    page.clock.run_for(185_000)
    assert fetched == [], "columns were fetched while the tab was hidden"
    factory.question(author=maya, title="Dock Pro hums when idle", product="dock-pro", tags=["noise"])
    session.commit()
    page.evaluate("""() => { Object.defineProperty(document, "hidden", {value: false, configurable: true});
                             document.dispatchEvent(new Event("visibilitychange")); }""")
    expect(column).to_contain_text("Dock Pro hums when idle")
    assert len(fetched) == 3 and page.evaluate(NO_RELOAD)

    # --- phone: the columns stacked, nothing wider than the screen ---
    phone = person(PHONE)
    phone.goto(f"{base_url}/views")
    first, second, third = _boxes(phone)
    assert abs(first["x"] - second["x"]) < 1 and first["y"] + first["height"] <= second["y"]
    assert second["y"] + second["height"] <= third["y"]
    assert _fits(phone)
    _shot(phone, "phone")

    # --- without JavaScript: a stack of lists, no Refresh button, a Reload link ---
    plain = person(DESKTOP, java_script_enabled=False)
    plain.goto(f"{base_url}/views")
    expect(plain.locator(f"#view-{dock.id}")).to_contain_text("Dock Pro hums when idle")
    assert plain.get_by_role("button", name=re.compile("Refresh")).count() == 0
    expect(plain.get_by_role("link", name="Reload")).to_have_attribute("href", "/views")
    first, second, third = _boxes(plain)
    assert abs(first["x"] - second["x"]) < 1 and first["y"] + first["height"] <= second["y"]
    _shot(plain, "no_javascript")
    # the forms work without a script too: move the last column first
    plain.locator(f"#view-{dock.id + 2}").get_by_role("button", name=re.compile("Move earlier")).click()
    plain.locator(f"#view-{dock.id + 2}").get_by_role("button", name=re.compile("Move earlier")).click()
    expect(plain.locator("[data-view-column]").first.get_by_role("heading")).to_have_text("Many have it too")
    assert problems == []
