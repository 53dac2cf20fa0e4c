"""A moderator's refused thread action (close, lock, protect from the question page) keeps the typed
reason: in a real browser (Chromium through Playwright, desktop 1280×900 and phone 390×844) against
a real server, over plain form posts for what a browser's own checks would stop first, and in the
service for the reason's length limit."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.errors import InvalidInput
from app.moderation import posts
from app.moderation.models import AuditEntry
from app.questions.models import Question
from tests.factories import make_question, make_user
from tests.web.conftest import browsers, chromium_page  # noqa: F401  (fixture)
from tests.web.test_browser import _sign_in, live_server  # noqa: F401  (fixture)


def _audited(session, question_id: int) -> list[str]:
    """The audit log's actions on the question, read in a transaction ended at once (on SQLite an
    open one would hold the write turn the server's next post waits for)."""
    session.expire_all()
    try:
        return [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.target_type == "question",
                                                                        AuditEntry.target_id == str(question_id)))]
    finally:
        session.rollback()


def _state(session, question_id: int) -> tuple[str, bool, bool]:
    """(status, locked, protected) of the stored question, read the same way."""
    session.expire_all()
    try:
        q = session.get(Question, question_id)
        return q.status, q.locked_at is not None, q.protected_at is not None
    finally:
        session.rollback()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_closing_a_question_closed_meanwhile_keeps_the_typed_reason(live_server, session, viewport, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    make_user(session, "omar", role="moderator")
    lena = make_user(session, "lena", role="moderator")
    q = make_question(session, title="Docking station charges but shows no picture")
    session.commit()
    base, width = live_server, viewport[0]
    reason = "Asked again as \"dock: no display\"; <the> answers there cover this one"
    with chromium_page(viewport) as (page, problems):
        _sign_in(page, base, "omar")
        page.goto(f"{base}/questions/{q.id}")
        page.get_by_text("Moderate this thread").click()
        page.get_by_label("Reason (readers of the audit log see it)").fill(reason)
        # Another moderator closes it while this one is typing.
        posts.close(session, actor=lena, question_id=q.id, reason="Off topic")
        session.commit()
        page.get_by_role("button", name="Close", exact=True).click()
        page.wait_for_load_state()

        expect(page.get_by_role("alert")).to_contain_text("This question is not open.")
        field = page.get_by_label("Reason (readers of the audit log see it)")
        expect(field).to_be_visible()  # the form is open again, not folded away
        expect(field).to_have_value(reason)
        expect(field).to_have_attribute("aria-invalid", "true")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"moderate-thread-refused-{width}.png"), full_page=True)
    assert not problems
    session.expire_all()
    closes = session.exec(select(AuditEntry).where(AuditEntry.action == "question.close")).all()
    assert [e.actor_id for e in closes] == [lena.id]  # the other moderator's close only


def test_refused_thread_actions_keep_the_typed_reason(session, browsers):  # noqa: F811
    make_user(session, "omar", role="moderator")
    q = make_question(session)
    session.commit()
    web = browsers()
    web.sign_in("omar")
    page = f"/questions/{q.id}"
    action = f"/questions/{q.id}/moderate"
    long_reason = "Same <b>coupon</b> & \"deal\" links in every reply; " + "y" * 270  # 321 characters

    for do in ("close", "lock", "protect"):
        r = web.submit(page, action, {"do": do, "reason": long_reason})
        assert r.status_code == 422, do
        assert "at most 300 characters" in r.text
        assert 'value="Same &lt;b&gt;coupon&lt;/b&gt; &amp; &#34;deal&#34; links' in r.text  # kept, escaped
        assert '<details class="moderate-thread" open>' in r.text

    r = web.submit(page, action, {"do": "close", "reason": " \u200b\u00a0"})  # nothing visible
    assert r.status_code == 422 and "Say why the question is closed" in r.text

    r = web.submit(page, action, {"do": "reopen", "reason": "no such action"})
    assert r.status_code == 422 and "Choose what to do." in r.text and 'value="no such action"' in r.text

    assert _state(session, q.id) == ("open", False, False)
    assert _audited(session, q.id) == []

    # A reason of exactly 300 characters is taken, and the page redirects as before.
    r = web.submit(page, action, {"do": "lock", "reason": "z" * 300})
    assert r.status_code == 303 and r.headers["location"].startswith(page)
    assert web.follow(r).text.count('<details class="moderate-thread" open>') == 0
    assert _state(session, q.id) == ("open", True, False)
    assert _audited(session, q.id) == ["question.lock"]


def test_the_service_refuses_a_thread_reason_over_the_limit(session):
    mod = make_user(session, "omar", role="moderator")
    q = make_question(session)
    session.commit()
    too_long = "r" * (posts.THREAD_REASON_MAX + 1)

    with pytest.raises(InvalidInput) as refused:
        posts.close(session, actor=mod, question_id=q.id, reason=too_long)
    assert refused.value.errors[0]["loc"] == ["body", "reason"]
    with pytest.raises(InvalidInput):
        posts.set_lock(session, actor=mod, question_id=q.id, locked=True, reason=too_long)
    with pytest.raises(InvalidInput):
        posts.set_protect(session, actor=mod, question_id=q.id, protected=True, reason=too_long)
    session.rollback()

    posts.set_protect(session, actor=mod, question_id=q.id, protected=True, reason="p" * posts.THREAD_REASON_MAX)
    posts.close(session, actor=mod, question_id=q.id, reason="c" * posts.THREAD_REASON_MAX)
    session.commit()
    assert _audited(session, q.id) == ["question.protect", "question.close"]
