"""A moderator's refused action on a member's moderation page keeps what was typed, in a real
browser (Chromium through Playwright, desktop 1280×900 and phone 390×844) against a real server,
and over plain form posts for the refusals a browser's own checks would stop first."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from app.accounts.models import User
from tests.factories import make_user
from tests.web.conftest import browsers, chromium_page  # noqa: F401  (fixture)
from tests.web.test_browser import _sign_in, live_server  # noqa: F401  (fixture)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_refused_destroy_keeps_the_typed_form(live_server, session, viewport, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    make_user(session, "omar", role="moderator")
    spammer = make_user(session, "dealz")
    session.commit()
    base, width = live_server, viewport[0]
    with chromium_page(viewport) as (page, problems):
        _sign_in(page, base, "omar")
        page.goto(f"{base}/users/dealz/moderate")
        page.get_by_label("Also block").select_option("domain")
        page.get_by_label("Type dealz to confirm").fill("deals")  # a typo
        page.get_by_role("button", name="Destroy spammer").click()
        page.wait_for_load_state()

        expect(page.get_by_role("alert")).to_contain_text("Type the username to confirm")
        expect(page.get_by_label("Also block")).to_have_value("domain")
        expect(page.get_by_label("Type dealz to confirm")).to_have_value("deals")
        expect(page.get_by_label(re.compile("Reason \\(the member sees it\\)"))).to_have_value("")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"moderate-refused-{width}.png"), full_page=True)
    assert not problems
    session.expire_all()
    assert session.get(User, spammer.id).is_active  # nothing was destroyed


def test_a_refused_suspension_keeps_the_typed_reason_and_days(session, browsers, engine):  # noqa: F811
    make_user(session, "omar", role="moderator")
    member = make_user(session, "raj")
    session.commit()
    web = browsers()
    web.sign_in("omar")
    reason = "Posted the same <b>link</b> & \"offer\" in 14 threads today; " + "x" * 280  # over 300 characters

    r = web.submit("/users/raj/moderate", "/users/raj/moderate", {"do": "suspend", "days": "7", "reason": reason})

    assert r.status_code == 422
    assert "at most 300 characters" in r.text
    assert 'value="Posted the same &lt;b&gt;link&lt;/b&gt; &amp; &#34;offer&#34;' in r.text  # kept, escaped
    r = web.submit("/users/raj/moderate", "/users/raj/moderate", {"do": "suspend", "days": "0", "reason": "spam"})
    assert r.status_code == 422 and "whole number from 1" in r.text
    assert 'name="days" type="number" min="1" max="3650" value="0"' in r.text
    assert 'name="reason" type="text" maxlength="300" required value="spam"' in r.text
    with Session(engine) as s:
        assert s.get(User, member.id).suspended_until is None


def test_lifting_a_suspension_that_is_not_there_says_so(session, browsers):  # noqa: F811
    make_user(session, "omar", role="moderator")
    make_user(session, "raj")
    session.commit()
    web = browsers()
    web.sign_in("omar")

    r = web.submit("/users/raj/moderate", "/users/raj/moderate", {"do": "lift"})

    assert r.status_code == 409 and "raj is not suspended" in r.text
