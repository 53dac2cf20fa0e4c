"""A support agent works the queue in a real browser (Chromium through Playwright) against a
real server: the escalated question is in the queue, she claims it from the queue page, reads
the thread, resolves it with a public answer; the asker is told."""

from __future__ import annotations

import re

import pytest

from app.escalation import metoo
from app.escalation import service as esc_service
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _sign_in, live_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_an_agent_claims_and_resolves_from_the_queue_page(live_server, factory, session):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    lena, maya, raj = factory.user("lena", role="staff"), factory.user("maya"), factory.user("raj")
    q = factory.question(author=maya, title="Dock Pro will not charge my laptop at 100 W")
    esc, _ = esc_service.escalate(session, actor=lena, question_id=q.id, reason="Charging defect suspected")
    metoo.add(session, actor=raj, question_id=q.id)
    session.commit()
    base_url = live_server
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            def person():
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                return page

            agent = person()
            _sign_in(agent, base_url, "lena")
            agent.get_by_role("link", name=re.compile(r"Support queue")).click()
            agent.wait_for_url(f"{base_url}/staff/escalations")
            row = agent.locator(f"#escalation-{esc.id}")
            expect(row).to_contain_text("Dock Pro will not charge my laptop at 100 W")
            expect(row).to_contain_text("Open")
            row.get_by_role("button", name=re.compile("Claim")).click()
            agent.wait_for_url(f"{base_url}/staff/escalations/{esc.id}")
            expect(agent.get_by_role("status")).to_contain_text("Claimed: it is yours now.")
            expect(agent.locator("[data-status]")).to_contain_text("Claimed by")
            agent.get_by_label("Internal note (never shown publicly)").fill("Dock firmware 1.1 drops to 60 W.")
            agent.get_by_role("button", name="Add note").click()
            expect(agent.locator(".audit-log")).to_contain_text("Dock firmware 1.1 drops to 60 W.")
            agent.get_by_label("Resolution summary (internal)").fill("Firmware defect, fixed in 1.2.3")
            agent.get_by_label("Staff answer (public, Markdown)").fill(
                "Update the Dock Pro to firmware 1.2.3 from the support site; it charges at 100 W again.")
            agent.get_by_role("button", name="Resolve").click()
            agent.wait_for_url(f"{base_url}/staff/escalations")
            expect(agent.get_by_role("status")).to_contain_text("Resolved")
            expect(agent.locator(f"#escalation-{esc.id}")).to_have_count(0)

            # the asker is told, and the fix is on the public thread
            asker = person()
            _sign_in(asker, base_url, "maya")
            asker.get_by_role("link", name=re.compile(r"Notifications \(1\)")).click()
            asker.get_by_role("link", name=re.compile("Our support team answered")).click()
            expect(asker.locator("article.answer").first).to_contain_text("firmware 1.2.3")
            expect(asker.locator("article.answer .badge-staff").first).to_be_visible()
            expect(asker.locator("#support")).to_contain_text("Answered by our support team")
        finally:
            browser.close()
    assert problems == []


_VALUE_OFFSETS = """() => [...document.querySelectorAll(".stack-table td[data-label]")].map(td => {
  const range = document.createRange();
  range.selectNodeContents(td);
  const first = [...range.getClientRects()].find(r => r.width > 0);
  const cs = getComputedStyle(td);
  const top = td.getBoundingClientRect().top + parseFloat(cs.paddingTop);
  return {label: td.dataset.label, text: td.innerText.trim().slice(0, 40),
          offset: first ? first.top - top : 0, line: parseFloat(cs.lineHeight) || 24};
})"""


def test_a_long_value_in_the_phone_queue_starts_beside_its_label(live_server, factory, session):  # noqa: F811
    """At 390 px the queue is one card per escalation, each value beside its label. A value longer
    than one line (a long assignee name; in the demo "Unanswered past the product's threshold")
    was wrapped by the flex row onto a line of its own, leaving a blank row after the label."""
    from playwright.sync_api import sync_playwright

    lena = factory.user("lena", role="staff", display_name="Lena Lindqvist-Haraldsen (Kestrel Support, EMEA desk)")
    q = factory.question(author=factory.user("maya"), title="Dock Pro will not charge my laptop at 100 W")
    esc, _ = esc_service.escalate(session, actor=lena, question_id=q.id, reason="Charging defect suspected")
    esc_service.claim(session, actor=lena, escalation_id=esc.id)
    session.commit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            _sign_in(page, live_server, "lena")
            page.goto(f"{live_server}/staff/escalations")
            cells = page.evaluate(_VALUE_OFFSETS)
            assert {c["label"] for c in cells} >= {"Why", "Due", "Affected", "Status", "Assignee"}
            assignee = next(c for c in cells if c["label"] == "Assignee")
            height = page.locator(f"#escalation-{esc.id} td[data-label=Assignee]").bounding_box()["height"]
            assert height > 1.5 * assignee["line"]  # the long name really takes two lines or more
            late = [c for c in cells if c["offset"] > c["line"] / 2]
            assert late == [], late
        finally:
            browser.close()
