"""The outgoing mail log is staff-only, and the service says so itself (app/mail/log.py): the page,
the API and any other caller get the same answer; moderators and customers get 403, visitors 401."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.accounts.permissions import Suspended
from app.core.db import utcnow
from app.core.errors import Forbidden, NotAuthenticated, NotFound
from app.mail import log as mail_log
from app.mail import outbox
from app.mail.models import EmailOutbox
from tests.factories import make_user


def _mail(session, user, token="s3cr3t-reset-token-abcdefghijkl"):
    row = outbox.enqueue(session, to=user.email, user=user, kind="answer_posted", template="notification",
                         subject="Raj answered your question",
                         context={"text": "Raj answered.", "link": f"http://testserver/x?token={token}",
                                  "kind_label": "A new answer to my question"})
    session.flush()
    return row


def test_the_service_refuses_everyone_but_staff(session, settings):
    outbox.configure(settings)
    staff, admin = make_user(session, "lena", role=Role.staff), make_user(session, "root", role=Role.admin)
    mod, maya = make_user(session, "omar", role=Role.moderator), make_user(session, "maya")
    row = _mail(session, maya)
    for who in (mod, maya):
        with pytest.raises(Forbidden):
            mail_log.recent(session, actor=who)
        with pytest.raises(Forbidden):
            mail_log.message(session, actor=who, row_id=row.id)
        with pytest.raises(Forbidden):
            mail_log.requeue(session, actor=who, row_id=row.id)
    with pytest.raises(NotAuthenticated):
        mail_log.recent(session, actor=None)
    for who in (staff, admin):
        listed = mail_log.recent(session, actor=who)
        assert [r.id for r in listed] == [row.id]
        shown = mail_log.message(session, actor=who, row_id=row.id)
        assert "s3cr3t-reset-token" not in shown.text_body and "token=[redacted]" in shown.text_body
        assert mail_log.recent(session, actor=who, status="dead") == []
    with pytest.raises(NotFound):
        mail_log.message(session, actor=staff, row_id=row.id + 1000)
    # the row itself keeps the real link: the worker sends it
    assert "s3cr3t-reset-token" in session.get(EmailOutbox, row.id).text_body


def test_a_suspended_staff_member_reads_but_does_not_requeue(session, settings):
    outbox.configure(settings)
    lena = make_user(session, "lena", role=Role.staff)
    row = _mail(session, make_user(session, "maya"))
    row.status = "dead"
    session.flush()
    lena.suspended_until, lena.suspension_reason = utcnow() + timedelta(days=1), "cooling off"
    session.flush()
    assert [r.id for r in mail_log.recent(session, actor=lena)] == [row.id]
    with pytest.raises(Suspended):
        mail_log.requeue(session, actor=lena, row_id=row.id)
    lena.suspended_until = None
    session.flush()
    assert mail_log.requeue(session, actor=lena, row_id=row.id).status == "pending"
    assert mail_log.requeue(session, actor=lena, row_id=row.id) is None  # no longer dead


def test_the_pages_answer_with_the_services_rule(session, browsers, settings):
    outbox.configure(settings)
    make_user(session, "lena", role=Role.staff)
    make_user(session, "omar", role=Role.moderator)
    row = _mail(session, make_user(session, "maya"))
    session.commit()
    for who, code in (("maya", 403), ("omar", 403), ("lena", 200)):
        b = browsers()
        b.sign_in(who)
        assert b.get("/staff/mail").status_code == code, who
        page = b.get(f"/staff/mail/{row.id}")
        assert page.status_code == code, who
    assert "token=[redacted]" in page.text and "s3cr3t-reset-token" not in page.text
    assert b.get(f"/staff/mail/{row.id + 1000}").status_code == 404
