"""Private support messages in the forum: the asker's page (linked from their question page only),
the thread on the staff escalation page (each read audited), the form (CSRF, typed text kept on
error), no caching, 404 for everyone else."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.escalation import messages as pm
from app.escalation.models import EscalationEvent, EscalationMessage
from tests.api.test_private_messages import claimed_escalation
from tests.web.conftest import db_rows
from tests.web.test_escalation_pages import cast  # noqa: F401  (fixture: lena, omar, maya, raj, moderator_mo)

SERIAL = "KST-4471-99812"


@pytest.fixture
def escalated(session, factory, cast):
    q, esc = claimed_escalation(session, factory, cast.maya, cast.lena, "Dock Pro will not charge at 100 W")
    pm.post(session, actor=cast.lena, escalation_id=esc.id, body="Could you send the dock's serial number?")
    session.commit()
    return q, esc


def test_the_asker_finds_the_thread_from_their_question_and_nobody_else_does(browsers, cast, escalated):
    q, esc = escalated
    link = f'href="/escalations/{esc.id}/messages"'
    maya = browsers()
    maya.sign_in("maya")
    page = maya.get(f"/questions/{q.id}/{q.slug}")
    assert link in page.text and "Private messages with support (1)" in page.text
    for name in ("raj", "moderator_mo", "lena"):
        other = browsers()
        other.sign_in(name)
        assert link not in other.get(f"/questions/{q.id}/{q.slug}").text
    assert link not in browsers().get(f"/questions/{q.id}/{q.slug}").text

    page = maya.get(f"/escalations/{esc.id}/messages")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    assert "Could you send the dock" in page.text and "Our support team" in page.text
    assert 'href="/users/lena"' not in page.text  # customers never learn who holds their escalation
    assert '<meta name="robots" content="noindex">' in page.text
    for name in ("raj", "moderator_mo"):
        other = browsers()
        other.sign_in(name)
        r = other.get(f"/escalations/{esc.id}/messages")
        assert r.status_code == 404 and "dock's serial" not in r.text
    r = browsers().get(f"/escalations/{esc.id}/messages")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    staff = browsers()
    staff.sign_in("omar")
    r = staff.get(f"/escalations/{esc.id}/messages")
    assert r.status_code == 303 and r.headers["location"] == f"/staff/escalations/{esc.id}#private-messages"


def test_the_asker_replies_the_form_keeps_text_on_error_and_needs_its_token(browsers, cast, escalated, session):
    q, esc = escalated
    maya = browsers()
    maya.sign_in("maya")
    url, action = f"/escalations/{esc.id}/messages", f"/escalations/{esc.id}/messages"
    r = maya.submit(url, action, {"body": " x "})
    assert r.status_code == 422
    assert "error-summary" in r.text and "> x </textarea>" in r.text  # the typed text is kept
    r = maya.post(action, {"body": f"Serial {SERIAL}", "csrf_token": "forged"})
    assert r.status_code == 403
    assert db_rows(session, select(EscalationMessage.body)) == ["Could you send the dock's serial number?"]
    r = maya.submit(url, action, {"body": f"Serial **{SERIAL}**"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"{url}#message-")
    page = maya.follow(r)
    assert f"<strong>{SERIAL}</strong>" in page.text and "Message sent" in page.text
    assert "Private messages with support (2)" in maya.get(f"/questions/{q.id}/{q.slug}").text


def test_staff_read_and_write_on_the_escalation_page_and_each_read_is_audited(browsers, cast, escalated, session):
    q, esc = escalated
    lena = browsers()
    lena.sign_in("lena")
    page = lena.get(f"/staff/escalations/{esc.id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    assert 'id="private-messages"' in page.text and "Could you send the dock" in page.text
    assert "Private messages read" in page.text  # this very read, in the audit log shown below
    lena.get(f"/staff/escalations/{esc.id}")
    reads = db_rows(session, select(EscalationEvent.actor_id).where(EscalationEvent.kind == "messages_read"))
    assert reads == [cast.lena.id, cast.lena.id]
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/escalations/{esc.id}/messages", {"body": "?"})
    assert r.status_code == 422 and "Private message to the asker" in r.text and ">?</textarea>" in r.text
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/escalations/{esc.id}/messages",
                    {"body": "We are sending a new dock."})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/staff/escalations/{esc.id}#message-")
    # a moderator cannot open the escalation page at all
    mo = browsers()
    mo.sign_in("moderator_mo")
    assert mo.get(f"/staff/escalations/{esc.id}").status_code == 403
