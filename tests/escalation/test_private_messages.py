"""Private support messages inside an escalation (app/escalation/messages.py), through the real
services on both databases: who reads and writes, the staff-access audit, notifications (and that
no e-mail carries the text), retention with a driven clock, nothing reaching search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.accounts import lifecycle
from app.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from app.escalation import messages as pm
from app.escalation.models import EscalationEvent, EscalationMessage
from app.mail import accounts as mail_accounts
from app.mail.models import EmailOutbox
from app.notifications.models import Notification
from app.search.models import SearchOutbox
from tests.factories import PASSWORD

SERIAL = "Serial KST-4471-99812, order 2026-55310, 14 Rue des Lilas, Lyon"


def events(session, esc, kind=None):
    stmt = select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id)
    if kind:
        stmt = stmt.where(EscalationEvent.kind == kind)
    return list(session.exec(stmt.order_by(EscalationEvent.id)).all())


def notes_of(session, user):
    return list(session.exec(select(Notification).where(Notification.user_id == user.id)).all())


# --- who -------------------------------------------------------------------------------------------

def test_private_messages_visible_to_exactly_the_asker_and_staff(session, desk, factory, clock):
    esc = desk.escalation()
    mod = factory.user("mo_mod", role="moderator")
    raj = factory.user("raj")
    pm.post(session, actor=desk.lena, escalation_id=esc.id, body=f"Please send your serial. {SERIAL}", now=clock())
    pm.post(session, actor=desk.maya, escalation_id=esc.id, body=SERIAL, now=clock.advance(minutes=3))
    for reader in (desk.maya, desk.lena, desk.omar, desk.admin):
        thread = pm.read(session, actor=reader, escalation_id=esc.id, now=clock())
        assert [m.body for m in thread.messages][-1] == SERIAL
        assert thread.is_staff_view == (reader is not desk.maya)
    assert [m.from_staff for m in pm.read(session, actor=desk.maya, escalation_id=esc.id).messages] == [True, False]
    # moderators moderate; they are not support staff: the thread does not exist for them
    for stranger in (mod, raj):
        with pytest.raises(NotFound):
            pm.read(session, actor=stranger, escalation_id=esc.id)
        with pytest.raises(NotFound):
            pm.post(session, actor=stranger, escalation_id=esc.id, body="Hello there")
    with pytest.raises(NotAuthenticated):
        pm.read(session, actor=None, escalation_id=esc.id)
    # the same answer as for an escalation that does not exist: existence is not revealed
    with pytest.raises(NotFound) as missing:
        pm.read(session, actor=raj, escalation_id=esc.id + 1000)
    with pytest.raises(NotFound) as hidden:
        pm.read(session, actor=raj, escalation_id=esc.id)
    assert str(missing.value.detail).replace(str(esc.id + 1000), "N") == str(hidden.value.detail).replace(str(esc.id), "N")
    # a deactivated staff member is no longer staff
    desk.omar.is_active = False
    with pytest.raises(Forbidden):
        pm.read(session, actor=desk.omar, escalation_id=esc.id)


def test_bad_input_and_closed_threads_are_refused(session, desk, clock):
    esc = desk.escalation("claimed")
    for body in ("", "   ", "x", "\u200b\u200b\u200b"):
        with pytest.raises(InvalidInput):
            pm.post(session, actor=desk.maya, escalation_id=esc.id, body=body, now=clock())
    with pytest.raises(InvalidInput):
        pm.post(session, actor=desk.maya, escalation_id=esc.id, body="a" * (pm.MESSAGE_MAX + 1), now=clock())
    resolved = desk.escalation("resolved")
    with pytest.raises(Conflict, match="resolved"):
        pm.post(session, actor=desk.lena, escalation_id=resolved.id, body="One more thing", now=clock())
    assert session.exec(select(func.count()).select_from(EscalationMessage)).one() == 0


def test_markdown_is_rendered_and_sanitised(session, desk, clock):
    esc = desk.escalation()
    pm.post(session, actor=desk.maya, escalation_id=esc.id, now=clock(),
            body="**Serial** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>")
    html = pm.read(session, actor=desk.maya, escalation_id=esc.id).messages[0].body_html
    assert "<strong>Serial</strong>" in html
    assert "<script" not in html and 'href="javascript:' not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # raw HTML is shown as text


# --- audit -------------------------------------------------------------------------------------------

def test_each_staff_read_is_in_the_audit_log_without_the_text(session, desk, clock):
    esc = desk.escalation()
    pm.read(session, actor=desk.lena, escalation_id=esc.id)  # an empty thread: nothing was seen
    assert events(session, esc, "messages_read") == []
    pm.post(session, actor=desk.maya, escalation_id=esc.id, body=SERIAL, now=clock())
    pm.read(session, actor=desk.maya, escalation_id=esc.id)  # the asker's own reads are not audited
    assert events(session, esc, "messages_read") == []
    pm.read(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(minutes=1))
    pm.read(session, actor=desk.omar, escalation_id=esc.id, now=clock.advance(minutes=1))
    pm.read(session, actor=desk.lena, escalation_id=esc.id, now=clock.advance(minutes=1))
    reads = events(session, esc, "messages_read")
    assert [e.actor_id for e in reads] == [desk.lena.id, desk.omar.id, desk.lena.id]
    assert all("KST-4471" not in e.detail and "(1)" in e.detail for e in reads)
    assert reads[1].created_at == clock() - timedelta(minutes=1)


# --- notifications -------------------------------------------------------------------------------------

def _verified(session, user):
    mail_accounts.mark_verified(session, user)
    session.flush()


def test_staff_writing_notifies_the_asker_and_the_email_never_carries_the_text(session, desk, clock):
    esc = desk.escalation("claimed")
    _verified(session, desk.maya)
    pm.post(session, actor=desk.lena, escalation_id=esc.id, body=f"Thanks! {SERIAL}", now=clock())
    (note,) = [n for n in notes_of(session, desk.maya) if n.kind == "private_message"]
    assert note.url == f"/escalations/{esc.id}/messages" and "KST-4471" not in note.text
    mails = list(session.exec(select(EmailOutbox).where(EmailOutbox.kind == "private_message")).all())
    assert len(mails) == 1 and mails[0].to_addr == desk.maya.email
    assert f"/escalations/{esc.id}/messages" in mails[0].text_body
    for part in (mails[0].subject, mails[0].text_body, mails[0].html_body):
        assert "KST-4471" not in part and "Lilas" not in part
    assert [n for n in notes_of(session, desk.lena) if n.kind.startswith("private_message")] == []


def test_the_askers_message_notifies_the_assignee_or_every_agent(session, desk, clock):
    claimed = desk.escalation("claimed")  # lena holds it
    pm.post(session, actor=desk.maya, escalation_id=claimed.id, body=SERIAL, now=clock())
    assert [n.url for n in notes_of(session, desk.lena)] == [f"/staff/escalations/{claimed.id}#private-messages"]
    assert notes_of(session, desk.omar) == [] and notes_of(session, desk.admin) == []
    open_one = desk.escalation("open")  # nobody holds it: the whole queue hears
    pm.post(session, actor=desk.maya, escalation_id=open_one.id, body="Order 2026-55310", now=clock())
    for agent in (desk.lena, desk.omar, desk.admin):
        assert any(n.kind == "private_message_staff" and "55310" not in n.text for n in notes_of(session, agent))
    assert [n for n in notes_of(session, desk.maya) if n.kind.startswith("private_message")] == []


def test_the_askers_message_while_waiting_on_them_resumes_the_clock(session, desk, clock):
    esc = desk.escalation("waiting")
    due = esc.due_at
    clock.advance(hours=2)
    pm.post(session, actor=desk.maya, escalation_id=esc.id, body="Here it is: " + SERIAL, now=clock())
    assert esc.status == "claimed" and esc.paused_at is None
    assert esc.due_at == due + timedelta(hours=2)
    assert events(session, esc)[-1].kind == "resumed"


# --- never public ----------------------------------------------------------------------------------------

def test_a_message_writes_nothing_to_the_search_outbox(session, desk, clock):
    esc = desk.escalation("claimed")
    session.flush()
    before = session.exec(select(func.count()).select_from(SearchOutbox)).one()
    pm.post(session, actor=desk.lena, escalation_id=esc.id, body=SERIAL, now=clock())
    pm.post(session, actor=desk.maya, escalation_id=esc.id, body=SERIAL, now=clock())
    session.flush()
    assert session.exec(select(func.count()).select_from(SearchOutbox)).one() == before


def test_the_askers_data_export_has_their_threads_and_deleting_the_account_deletes_them(session, desk, clock):
    esc = desk.escalation("claimed")
    pm.post(session, actor=desk.lena, escalation_id=esc.id, body="Send me the serial please", now=clock())
    pm.post(session, actor=desk.maya, escalation_id=esc.id, body=SERIAL, now=clock())
    mine = lifecycle.export_data(session, desk.maya)["private_messages"]
    assert [(m["from"], m["body"]) for m in mine] == [("support", "Send me the serial please"), ("you", SERIAL)]
    # staff's own export holds no customer's thread
    assert lifecycle.export_data(session, desk.lena)["private_messages"] == []
    other = desk.escalation("claimed")  # someone else's question, on which maya is not the asker
    pm.post(session, actor=desk.lena, escalation_id=other.id, body="Kept", now=clock())
    lifecycle.delete_account(session, desk.maya, PASSWORD)
    left = session.exec(select(EscalationMessage.escalation_id)).all()
    assert esc.id not in left


# --- retention ---------------------------------------------------------------------------------------------

def test_messages_are_deleted_the_retention_period_after_resolution(session, desk, clock):
    start = clock()
    old = desk.escalation("claimed")
    pm.post(session, actor=desk.maya, escalation_id=old.id, body=SERIAL, now=clock())
    active = desk.escalation("claimed")
    pm.post(session, actor=desk.maya, escalation_id=active.id, body="Still being worked on", now=clock())
    from app.escalation import service as esc_service

    esc_service.resolve(session, actor=desk.lena, escalation_id=old.id, resolution="Fixed", now=clock(),
                        answer_body="Install firmware 1.2.3, then restart the dock.")
    assert pm.read(session, actor=desk.maya, escalation_id=old.id).deletes_at == start + timedelta(days=30)
    assert pm.purge_expired(session, days=30, now=start + timedelta(days=30) - timedelta(seconds=1)) == 0
    assert pm.count(session, old.id) == 1
    assert pm.purge_expired(session, days=30, now=start + timedelta(days=30)) == 1
    assert pm.count(session, old.id) == 0 and pm.count(session, active.id) == 1
    (purged,) = events(session, old, "messages_purged")
    assert purged.actor_id is None and "KST" not in purged.detail and purged.detail.startswith("1 private message deleted")
    # idempotent; an unresolved escalation keeps its messages however old they are
    assert pm.purge_expired(session, days=30, now=start + timedelta(days=400)) == 0
    assert pm.count(session, active.id) == 1


def test_the_worker_job_deletes_expired_threads(session, desk, clock, clean_engine):
    from app import worker
    from app.escalation import service as esc_service

    clock.now -= timedelta(days=pm.DEFAULT_RETENTION_DAYS + 1)  # resolved 31 days ago (the default: 30)
    old = desk.escalation("claimed")
    pm.post(session, actor=desk.maya, escalation_id=old.id, body=SERIAL, now=clock())
    esc_service.resolve(session, actor=desk.lena, escalation_id=old.id, resolution="Fixed", now=clock(),
                        answer_body="Install firmware 1.2.3, then restart the dock.")
    recent = desk.escalation("claimed")
    pm.post(session, actor=desk.maya, escalation_id=recent.id, body=SERIAL, now=clock.advance(days=2))
    esc_service.resolve(session, actor=desk.lena, escalation_id=recent.id, resolution="Fixed", now=clock(),
                        answer_body="Install firmware 1.2.3, then restart the dock.")
    session.commit()
    (job,) = [j for j in worker.JOBS if j.name == "private-message-retention"]
    assert worker.run_job(clean_engine, job) == "1 private message deleted after the retention period"
    assert worker.run_job(clean_engine, job) == ""
    assert session.exec(select(EscalationMessage.escalation_id)).all() == [recent.id]
