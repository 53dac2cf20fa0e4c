"""Issue 14's page details, read from the HTML: the "me too" line only when it says something, no
"Escalate" on solved questions, no empty comment block, the escalation page's deadlines as
sentences and its resolve form without a lone radio button."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.answers import service as answers_service
from app.core.db import utcnow
from app.escalation import service as esc_service
from app.web.templating import due, longdate
from tests.web.conftest import text_of


def _page(web, q) -> str:
    r = web.get(f"/questions/{q.id}/{q.slug}")
    assert r.status_code == 200
    return r.text


def test_due_reads_as_a_sentence():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert due(now + timedelta(hours=3), now) == "due in 3 h"
    assert due(now - timedelta(hours=2, minutes=8), now) == "overdue by 2 h 8 min"
    assert due(None, now) == ""


def test_longdate_reads_as_before():
    """The hand-made format gives strftime("%d %b %Y at %H:%M UTC")'s text (C locale) for every month,
    day, hour and minute boundary, and nothing for no date."""
    from datetime import UTC, datetime

    cases = [datetime(2026, m, d, h, mi, tzinfo=UTC) for m in range(1, 13) for d in (1, 9, 28)
             for h, mi in ((0, 0), (9, 5), (23, 59))] + [datetime(999, 12, 31, 23, 59, tzinfo=UTC)]
    for when in cases:
        assert longdate(when) == when.strftime("%d %b %Y at %H:%M UTC")
    assert longdate(datetime(2026, 3, 5, 14, 7, tzinfo=UTC)) == "05 Mar 2026 at 14:07 UTC"
    assert longdate(None) == ""


def test_me_too_line_only_when_it_says_something(factory, browsers, session):
    maya, raj = factory.user("maya"), factory.user("raj")
    q = factory.question(author=maya, title="Dock Pro will not charge my laptop at 100 W")
    session.commit()
    signed_out = browsers()
    assert "this problem too" not in text_of(_page(signed_out, q))  # nobody yet, nothing to press
    raj_web = browsers()
    raj_web.sign_in("raj")
    page = _page(raj_web, q)
    assert "I have this problem too" in page and "0 customers" not in text_of(page)
    raj_web.submit(f"/questions/{q.id}/{q.slug}", f"/questions/{q.id}/me-too")
    assert "1 customer has this problem too" in text_of(_page(signed_out, q))
    # solved: the count stays as information, the button goes
    a = factory.answer(q, author=raj)
    answers_service.accept(session, actor=maya, question_id=q.id, answer_id=a.id)
    session.commit()
    page = _page(raj_web, q)
    assert "1 customer has this problem too" in text_of(page)
    assert "I have this problem too" not in page


def test_no_escalate_on_solved_and_no_empty_comment_block(factory, browsers, session):
    lena, maya, raj = factory.user("lena", role="staff"), factory.user("maya"), factory.user("raj")
    q = factory.question(author=maya, title="Dock Pro will not charge my laptop at 100 W")
    a = factory.answer(q, author=raj)
    session.commit()
    staff = browsers()
    staff.sign_in("lena")
    assert "Escalate to the support queue" in _page(staff, q)
    answers_service.accept(session, actor=maya, question_id=q.id, answer_id=a.id)
    session.commit()
    assert "Escalate to the support queue" not in _page(staff, q)
    # a new account may not comment: an answer without comments shows no comment block at all
    page = _page(browsers(), q)
    assert 'class="comments"' not in page


def test_escalation_page_facts_and_resolve_form(factory, browsers, session):
    lena, maya = factory.user("lena", role="staff"), factory.user("maya")
    q = factory.question(author=maya, title="Dock Pro will not charge my laptop at 100 W")
    esc, _ = esc_service.escalate(session, actor=lena, question_id=q.id, reason="Charging defect suspected",
                                  now=utcnow() - timedelta(days=10))
    session.commit()
    staff = browsers()
    staff.sign_in("lena")
    page = staff.get(f"/staff/escalations/{esc.id}").text
    text = text_of(page)
    assert '<dl class="facts escalation-facts">' in page and 'class="stats' not in page
    assert "overdue by" in text
    assert not re.search(r"due \d[^()]*overdue", text)  # never "due 2 h 8 min overdue"
    # no community answer to point to: no radio buttons, the staff answer field only
    assert 'type="radio"' not in page and 'name="answer_kind" value="staff"' in page
    factory.answer(q, author=factory.user("raj"))
    session.commit()
    page = staff.get(f"/staff/escalations/{esc.id}").text
    assert page.count('type="radio"') == 2
