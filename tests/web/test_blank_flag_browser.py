"""In a real browser (Chromium, 1280 and 390 px wide): a "something else" flag whose details are
only zero-width spaces comes back on the question page with that flag form open, the message
beside the details and the text kept; adding words sends it. The page fits the phone."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_answer, make_question, make_user
from tests.web.conftest import chromium_page
from tests.web.test_browser import _sign_in, live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_blank_reason_is_refused_in_place(live_server, session, viewport):  # noqa: F811
    from playwright.sync_api import expect

    maya = make_user(session, "maya")
    make_user(session, "raj", reputation=50)
    q = make_question(session, maya, title="Dock Pro will not charge my laptop at 100 W")
    a = make_answer(session, q, make_user(session), body="Buy the new dock from our partner shop, link below.")
    session.commit()
    url = f"{live_server}/questions/{q.id}/{q.slug}"
    width = viewport[0]
    with chromium_page(viewport) as (page, problems):
        _sign_in(page, live_server, "raj")
        page.goto(url)
        answer = page.locator(f"#answer-{a.id}")
        answer.locator("summary", has_text="Flag").click()
        answer.get_by_role("radio", name="Something else (say what)").check()
        details = answer.get_by_label(re.compile("Details for the moderators"))
        details.fill("\u200b\u200b\u2060")
        answer.get_by_role("button", name="Send flag").click()
        page.wait_for_load_state()
        answer = page.locator(f"#answer-{a.id}")
        expect(answer.locator("details.flag-add[open]")).to_have_count(1)
        expect(answer.locator(".field-error")).to_contain_text("invisible characters")
        details = answer.get_by_label(re.compile("Details for the moderators"))
        assert details.input_value() == "\u200b\u200b\u2060"
        expect(answer.get_by_role("radio", name="Something else (say what)")).to_be_checked()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        details.fill("Advertises a shop")
        answer.get_by_role("button", name="Send flag").click()
        expect(page.get_by_role("status")).to_contain_text("your flag is with the moderators")
    assert problems == []
