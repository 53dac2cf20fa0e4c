"""Private support messages in a real browser (Chromium through Playwright) against a real server,
at the desktop and the phone size: the asker opens the thread from their question page and
answers support's request for a serial number; the agent reads it on the escalation page (the
read is in the audit log) and replies. Both views pass the page checker (overflow + axe).
Screenshots go to $GROUNDSWELL_SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
import re

import pytest

from app.escalation import messages as pm
from app.escalation import service as esc_service

pytestmark = pytest.mark.browser

SERIAL = "KST-2291-40518"


def _shot(page, name: str) -> None:
    folder = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"private-messages-{name}.png"), full_page=True)


def test_the_asker_and_the_agent_exchange_private_messages(page_checker, factory, session):
    from playwright.sync_api import expect

    lena = factory.user("lena", role="staff", display_name="Lena Lindqvist-Haraldsen (Kestrel Support)")
    maya = factory.user("maya", display_name="Maya Fernández-Oyelaran")
    q = factory.question(author=maya, title="Dock Pro will not charge my laptop at 100 W after the firmware update")
    esc, _ = esc_service.escalate(session, actor=lena, question_id=q.id, reason="Charging defect suspected")
    esc_service.claim(session, actor=lena, escalation_id=esc.id)
    pm.post(session, actor=lena, escalation_id=esc.id,
            body="Thanks for your patience. Could you send the **serial number** from the label under the dock?")
    session.commit()
    base = page_checker.base_url

    asker = page_checker.person("maya")
    asker.goto(f"{base}/questions/{q.id}/{q.slug}")
    asker.get_by_role("link", name=re.compile(r"Private messages with support \(1\)")).click()
    asker.wait_for_url(f"{base}/escalations/{esc.id}/messages")
    expect(asker.locator("#private-messages")).to_contain_text("Could you send the serial number")
    asker.get_by_role("button", name="Send privately").click()  # empty: the browser's own check is off
    expect(asker.locator("[data-error-summary]")).to_be_visible()
    asker.get_by_label(re.compile("Private message to our support team")).fill(
        f"Sure: `{SERIAL}`, bought in March (order 2026-03-18-7781).")
    asker.get_by_role("button", name="Send privately").click()
    expect(asker.get_by_role("status")).to_contain_text("Message sent")
    expect(asker.locator(".pm-asker").last).to_contain_text(SERIAL)
    for width, height, size in ((1280, 900, "desktop"), (390, 844, "phone")):
        asker.set_viewport_size({"width": width, "height": height})
        _shot(asker, f"asker-{size}")
    page_checker.check(asker, f"/escalations/{esc.id}/messages", "maya")

    agent = page_checker.person("lena")
    agent.goto(f"{base}/staff/escalations/{esc.id}")
    expect(agent.locator("#private-messages")).to_contain_text(SERIAL)
    expect(agent.locator(".audit-log")).to_contain_text("Private messages read")
    agent.get_by_label(re.compile("Private message to the asker")).fill("A replacement dock is on its way.")
    agent.get_by_role("button", name="Send privately").click()
    expect(agent.get_by_role("status")).to_contain_text("Message sent to the asker")
    expect(agent.locator(".pm-staff").last).to_contain_text("replacement dock")
    for width, height, size in ((1280, 900, "desktop"), (390, 844, "phone")):
        agent.set_viewport_size({"width": width, "height": height})
        _shot(agent, f"agent-{size}")
    page_checker.check(agent, f"/staff/escalations/{esc.id}", "lena")

    asker.set_viewport_size({"width": 1280, "height": 900})
    asker.goto(f"{base}/notifications")
    expect(asker.locator("main")).to_contain_text("You have a new private message from our support team.")
    expect(asker.locator("main")).not_to_contain_text("replacement dock")
    problems = [p for p in page_checker.problems if "status of 4" not in p]
    assert not problems, page_checker.report()
