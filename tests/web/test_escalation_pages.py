"""The escalation queue in the forum: every page and form, who may see it, CSRF, and the
customers' side on the question page ("I have this problem too", "I still need help")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.core.db import utcnow
from app.escalation import service as esc_service
from app.escalation.models import Escalation, EscalationEvent, MeToo
from app.notifications.models import Notification
from app.questions.models import Question
from tests.web.conftest import csrf_from, db_rows, text_of


def _url(q) -> str:
    return f"/questions/{q.id}/{q.slug}"


@pytest.fixture
def cast(factory, session):
    class C:
        lena = factory.user("lena", role="staff")
        omar = factory.user("omar", role="staff")
        maya = factory.user("maya")
        raj = factory.user("raj")
        mod = factory.user("moderator_mo", role="moderator")

    return C


def _escalated(session, factory, cast, **kw):
    q = factory.question(author=cast.maya, title="Dock Pro will not charge at 100 W", **kw)
    esc, _ = esc_service.escalate(session, actor=cast.lena, question_id=q.id, reason="Firmware suspected")
    session.commit()
    return q, esc


STAFF_PAGES = ["/staff/escalations", "/staff/escalations/{id}", "/staff/escalations/metrics", "/staff/service-levels"]
STAFF_FORMS = ["claim", "release", "assign", "notes", "wait", "resume", "hand-off", "resolve"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_are_for_staff_only(browsers, session, factory, cast, path):
    _q, esc = _escalated(session, factory, cast)
    url = path.format(id=esc.id)
    anonymous = browsers().get(url)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    for name in ("maya", "raj", "moderator_mo"):
        b = browsers()
        b.sign_in(name)
        r = b.get(url)
        assert r.status_code == 403, (name, r.status_code)
        assert "Only staff" in text_of(r.text)
        assert "Firmware suspected" not in r.text
    staff = browsers()
    staff.sign_in("lena")
    r = staff.get(url)
    assert r.status_code == 200


@pytest.mark.parametrize("action", STAFF_FORMS)
def test_staff_forms_refuse_customers_and_need_csrf(browsers, session, factory, cast, action):
    _q, esc = _escalated(session, factory, cast)
    maya = browsers()
    maya.sign_in("maya")
    page = maya.get(_url(_q)).text
    r = maya.post(f"/staff/escalations/{esc.id}/{action}", {"csrf_token": csrf_from(page)})
    assert r.status_code == 403
    lena = browsers()
    lena.sign_in("lena")
    r = lena.post(f"/staff/escalations/{esc.id}/{action}", {"csrf_token": "forged"})
    assert r.status_code == 403 and "expired" in text_of(r.text)
    (row,) = db_rows(session, select(Escalation).execution_options(populate_existing=True))
    assert (row.status, row.assignee_id) == ("open", None)


def test_an_agent_works_the_queue_in_the_forum(browsers, session, factory, cast):
    q, esc = _escalated(session, factory, cast)
    lena = browsers()
    lena.sign_in("lena")
    queue = lena.get("/staff/escalations")
    # The count says what it counts (a trial found "(0)" ambiguous): escalations nobody has claimed.
    assert "Support queue (1) escalation nobody has claimed yet" in text_of(queue.text)
    assert "Dock Pro will not charge at 100 W" in queue.text
    r = lena.submit("/staff/escalations", f"/staff/escalations/{esc.id}/claim")
    assert r.status_code == 303 and r.headers["location"] == f"/staff/escalations/{esc.id}"
    detail = lena.follow(r).text
    assert "Claimed: it is yours now." in text_of(detail)
    assert "Support queue (0) escalations nobody has claimed yet" in text_of(detail)  # claimed: still listed, not counted
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/staff/escalations/{esc.id}/notes",
                    {"body": "Seen this on 1.1 firmware"})
    assert "Seen this on 1.1 firmware" in lena.follow(r).text
    # the note is internal: not on the public thread, not for the asker
    public = browsers().get(_url(q), follow_redirects=True).text
    assert "Seen this on 1.1 firmware" not in public
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/staff/escalations/{esc.id}/wait", {"note": "asked for logs"})
    assert "clock is paused" in text_of(lena.follow(r).text)
    lena.submit(f"/staff/escalations/{esc.id}", f"/staff/escalations/{esc.id}/resume")
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/staff/escalations/{esc.id}/resolve",
                    {"resolution": "Firmware bug", "answer_kind": "staff", "answer_body": "Update the dock to 1.2.3."})
    assert r.status_code == 303 and r.headers["location"] == "/staff/escalations"
    (row,) = db_rows(session, select(Escalation).execution_options(populate_existing=True))
    assert row.status == "resolved"
    kinds = [e.kind for e in db_rows(session, select(EscalationEvent).order_by(EscalationEvent.id))]
    assert kinds == ["created", "claimed", "note", "waiting", "resumed", "resolved"]
    thread = browsers().get(_url(q), follow_redirects=True).text
    assert "Update the dock to 1.2.3." in thread


def test_a_taken_escalation_is_explained_not_an_error_page(browsers, session, factory, cast):
    _q, esc = _escalated(session, factory, cast)
    omar = browsers()
    omar.sign_in("omar")
    page = omar.get("/staff/escalations").text  # Omar sees it open…
    esc_service.claim(session, actor=cast.lena, escalation_id=esc.id)  # …Lena is quicker
    session.commit()
    r = omar.post(f"/staff/escalations/{esc.id}/claim",
                  {"csrf_token": csrf_from(page, f"/staff/escalations/{esc.id}/claim")})
    assert r.status_code == 303
    assert "claimed by lena" in text_of(omar.follow(r).text)


def test_resolve_form_problems_come_back_on_the_form(browsers, session, factory, cast):
    _q, esc = _escalated(session, factory, cast)
    lena = browsers()
    lena.sign_in("lena")
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/staff/escalations/{esc.id}/resolve",
                    {"resolution": "Fixed", "answer_kind": "staff", "answer_body": ""})
    assert r.status_code == 422
    assert "Write the public answer" in text_of(r.text)
    (row,) = db_rows(session, select(Escalation).execution_options(populate_existing=True))
    assert row.status == "open"


def test_resolving_with_a_community_answer_points_to_it(browsers, session, factory, cast):
    q, esc = _escalated(session, factory, cast)
    a = factory.answer(session.get(Question, q.id), author=cast.raj, body="Use the 100 W cable from the box.")
    session.commit()
    lena = browsers()
    lena.sign_in("lena")
    r = lena.submit(f"/staff/escalations/{esc.id}", f"/staff/escalations/{esc.id}/resolve",
                    {"resolution": "Cable", "answer_kind": "community", "answer_id": str(a.id)})
    assert r.status_code == 303
    (row,) = db_rows(session, select(Escalation).execution_options(populate_existing=True))
    assert (row.status, row.public_answer_id) == ("resolved", a.id)


def test_queue_filters_and_breach_marks(browsers, session, factory, cast):
    factory.product("aero-14")
    _q1, e1 = _escalated(session, factory, cast, product="aero-14")
    _q2, e2 = _escalated(session, factory, cast)
    session.exec(update(Escalation).where(Escalation.id == e2.id).values(
        due_at=utcnow() - timedelta(hours=1), respond_by=utcnow() - timedelta(hours=1)))
    session.commit()
    lena = browsers()
    lena.sign_in("lena")
    page = lena.get("/staff/escalations").text
    assert page.index(f'id="escalation-{e2.id}"') < page.index(f'id="escalation-{e1.id}"')  # breached first
    assert "Breached: first response" in text_of(page)
    filtered = lena.get("/staff/escalations?product=aero-14").text
    assert f'id="escalation-{e1.id}"' in filtered and f'id="escalation-{e2.id}"' not in filtered
    assert f'id="escalation-{e1.id}"' not in lena.get("/staff/escalations?status=resolved").text
    assert lena.get("/staff/escalations?assignee=nobody-like-this").status_code == 303


def test_metrics_and_service_level_pages(browsers, session, factory, cast):
    factory.product("aero-14")
    session.commit()
    lena = browsers()
    lena.sign_in("lena")
    page = text_of(lena.get("/staff/escalations/metrics").text)
    assert "time to first response" in page and "solved by the community without staff" in page
    r = lena.submit("/staff/service-levels", "/staff/service-levels/aero-14",
                    {"tier": "priority", "first_response_minutes": "45"})
    assert r.status_code == 303
    page = lena.follow(r).text
    assert 'value="45"' in page and "Service level saved" in text_of(page)


# --- the customers' side -----------------------------------------------------------------------------

def test_me_too_on_the_question_page_and_in_lists(browsers, session, factory, cast):
    q = factory.question(author=cast.maya, title="Dock Pro will not charge at 100 W")
    session.commit()
    raj = browsers()
    raj.sign_in("raj")
    r = raj.submit(_url(q), f"/questions/{q.id}/me-too")
    assert r.status_code == 303 and r.headers["location"].endswith("#support")
    page = raj.follow(r).text
    assert "1 customer has this problem too" in text_of(page)
    assert 'aria-pressed="true"' in page[page.index('id="support"'):]
    assert "1 has this problem too" in text_of(raj.get("/questions").text)
    assert len(db_rows(session, select(MeToo))) == 1
    raj.submit(_url(q), f"/questions/{q.id}/me-too", {"action": "remove"})
    assert db_rows(session, select(MeToo)) == []
    asker = browsers()
    asker.sign_in("maya")
    page = asker.get(_url(q)).text
    assert f'action="/questions/{q.id}/me-too"' not in page  # the asker is counted already


def test_i_still_need_help_after_the_waiting_period(browsers, session, factory, cast):
    q = factory.question(author=cast.maya, title="Dock Pro will not charge at 100 W")
    session.commit()
    maya = browsers()
    maya.sign_in("maya")
    page = maya.get(_url(q)).text
    assert f'action="/questions/{q.id}/escalate"' not in page and "you can ask our support team" in text_of(page)
    session.exec(update(Question).where(Question.id == q.id).values(created_at=utcnow() - timedelta(days=2)))
    session.commit()
    r = maya.submit(_url(q), f"/questions/{q.id}/escalate", {"reason": "Tried both cables"})
    page = maya.follow(r).text
    assert "now with our support team" in text_of(page)
    assert "With our support team" in page[page.index('id="support"'):]
    assert "Firmware" not in page and "lena" not in page  # only the public status
    (row,) = db_rows(session, select(Escalation).execution_options(populate_existing=True))
    assert (row.trigger, row.reason) == ("asker", "Tried both cables")
    # others do not see the status; staff get a link into the queue
    assert "With our support team" not in browsers().get(_url(q)).text
    lena = browsers()
    lena.sign_in("lena")
    assert f'href="/staff/escalations/{row.id}"' in lena.get(_url(q)).text


def test_notifications_page_and_header_count(browsers, session, factory, cast):
    from app.notifications import service as notifications

    notifications.notify(session, [cast.raj.id], kind="question_solved", text="“Dock” is solved.", url="/questions")
    notifications.notify(session, [cast.raj.id], kind="question_solved", text="“Wi-Fi” is solved.", url="/questions")
    session.commit()
    raj = browsers()
    raj.sign_in("raj")
    home = text_of(raj.get("/").text)
    assert "Notifications (2)" in home and "Support queue" not in home
    page = raj.get("/notifications").text
    assert "“Dock” is solved." in page and "“Wi-Fi” is solved." in page
    r = raj.submit("/notifications", "/notifications/read")
    assert r.status_code == 303
    assert "Notifications (0)" in text_of(raj.follow(r).text)
    assert all(n.read_at for n in db_rows(session, select(Notification)))
    assert browsers().get("/notifications").status_code == 303  # sign in first


def test_the_askers_reply_resumes_an_escalation_waiting_on_them(browsers, session, factory, cast):
    q, esc = _escalated(session, factory, cast)
    session.exec(update(Question).where(Question.id == q.id).values(created_at=utcnow() - timedelta(days=2)))
    esc_service.claim(session, actor=cast.lena, escalation_id=esc.id)
    esc_service.wait_on_customer(session, actor=cast.lena, escalation_id=esc.id)
    session.commit()
    maya = browsers()
    maya.sign_in("maya")
    page = maya.get(_url(q)).text
    assert "waiting for your reply" in page
    maya.submit(_url(q), f"/questions/{q.id}/escalate", {"reason": "Here are the logs you asked for"})
    (row,) = db_rows(session, select(Escalation).execution_options(populate_existing=True))
    assert (row.status, row.paused_at) == ("claimed", None)


def test_an_escalation_stays_readable_after_its_question_is_deleted(browsers, session, factory, cast):
    from app.questions import service as questions_service

    q, esc = _escalated(session, factory, cast)
    questions_service.delete_question(session, actor=cast.maya, question_id=q.id)
    session.commit()
    lena = browsers()
    lena.sign_in("lena")
    r = lena.get(f"/staff/escalations/{esc.id}")
    assert r.status_code == 200 and "The question was deleted." in text_of(r.text)
