"""Why a message is dead and why it waits, kept apart; internationalised addresses (IDNA domains,
SMTPUTF8 local parts). Against a real SMTP server (aiosmtpd on 127.0.0.1) that answers 4xx and 5xx."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.core.db import utcnow
from app.mail import outbox, sender
from app.mail.models import EmailOutbox, MailSettings
from app.mail.transport import FolderTransport, transport_for
from tests.factories import make_user

LINK = "http://testserver/following"  # a page, not a post: nothing for the sender to skip


def _enqueue(session, to: str, user=None) -> EmailOutbox:
    row = outbox.enqueue(session, to=to, user=user, kind="answer_posted", template="notification",
                         subject="Something new", context={"text": "Something new.", "link": LINK, "kind_label": ""})
    session.commit()
    return row


def _ascii_settings(db_url, port):
    from tests.conftest import make_settings

    return make_settings(db_url, smtp_url=f"smtp://127.0.0.1:{port}", base_url="http://testserver",
                         email_from="Kestrel Community <community@kestrel.example>")


def _row(engine, row_id: int) -> EmailOutbox:
    with Session(engine) as s:
        return s.get(EmailOutbox, row_id)


def test_one_drain_keeps_dead_and_retry_reasons_apart(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp
    handler.rcpt_replies = {"busy@example.com": "451 4.2.1 Mailbox busy, try later",
                            "gone@example.com": "550 5.1.1 No such mailbox"}
    handler.data_replies = {"spammy@example.com": "554 5.7.1 Message refused as spam"}
    outbox.configure(smtp_settings)
    gone_user = make_user(session, "gone", email="gone@example.com")
    # Order matters for the old bug: a retry before and after each dead message.
    busy = _enqueue(session, "busy@example.com")
    gone = _enqueue(session, "gone@example.com", user=gone_user)
    ok = _enqueue(session, "fine@example.com")
    spammy = _enqueue(session, "spammy@example.com")
    busy2 = _enqueue(session, "busy@example.com")
    now = utcnow() + timedelta(seconds=1)
    result = sender.drain(clean_engine, transport_for(smtp_settings), email_from=smtp_settings.email_from, now=now)

    assert (result.sent, result.retrying, result.dead, result.skipped) == (1, 2, 2, 0)
    assert result.retry_reasons == {busy.id: "451 4.2.1 Mailbox busy, try later",
                                    busy2.id: "451 4.2.1 Mailbox busy, try later"}
    assert result.dead_reasons == {gone.id: "refused: 550 5.1.1 No such mailbox",
                                   spammy.id: "refused: 554 5.7.1 Message refused as spam"}
    # per message: the stored reason is the message's own, and its status matches it
    for row_id, status, reason in ((busy.id, "pending", "451 4.2.1 Mailbox busy, try later"),
                                   (gone.id, "dead", "refused: 550 5.1.1 No such mailbox"),
                                   (spammy.id, "dead", "refused: 554 5.7.1 Message refused as spam"),
                                   (ok.id, "sent", None)):
        row = _row(clean_engine, row_id)
        assert (row.status, row.last_error) == (status, reason), row_id
    assert [m.rcpt_tos for m in handler.messages] == [["fine@example.com"]]
    # the 550 to RCPT is a bounce (the address), the 554 to DATA is not (the message)
    with Session(clean_engine) as s:
        assert s.get(MailSettings, gone_user.id).bounced_at is not None
    assert _row(clean_engine, busy.id).next_attempt_at.replace(tzinfo=now.tzinfo) == now + timedelta(seconds=sender.BACKOFF[0])
    # the worker's log line names each group's own reasons
    line = result.summary()
    assert line == ("1 sent, 2 waiting to retry (451 4.2.1 Mailbox busy, try later), "
                    "2 dead (refused: 550 5.1.1 No such mailbox; refused: 554 5.7.1 Message refused as spam)")


def test_run_total_keeps_the_reasons_of_each_round(session, clean_engine, smtp, smtp_settings):
    """sender.run adds drains together: a message that was retried and then dies is counted once, dead."""
    handler, _ = smtp
    handler.rcpt_replies = {"busy@example.com": "421 4.4.2 Too busy"}
    outbox.configure(smtp_settings)
    busy = _enqueue(session, "busy@example.com")
    first = sender.run(clean_engine, smtp_settings)
    assert (first.retrying, first.dead, first.retry_reasons) == (1, 0, {busy.id: "421 4.4.2 Too busy"})
    handler.rcpt_replies = {"busy@example.com": "550 5.1.1 No such mailbox"}
    total = sender.SendResult()
    total.add(first)
    later = utcnow() + timedelta(seconds=sender.BACKOFF[0] + 1)
    total.add(sender.run(clean_engine, smtp_settings, now=later))
    assert (total.retrying, total.dead) == (0, 1)
    assert total.dead_reasons == {busy.id: "refused: 550 5.1.1 No such mailbox"}
    assert "waiting to retry," in total.summary() and "421" not in total.summary()


def test_a_crashed_claim_is_dead_with_its_own_reason(session, clean_engine, smtp, smtp_settings):
    outbox.configure(smtp_settings)
    row = _enqueue(session, "maya@example.com")
    with Session(clean_engine) as s:
        stuck = s.get(EmailOutbox, row.id)
        stuck.status, stuck.claimed_at = "sending", utcnow() - sender.CLAIM_LEASE - timedelta(minutes=1)
        s.add(stuck)
        s.commit()
    result = sender.run(clean_engine, smtp_settings)
    assert result.dead_reasons == {row.id: sender.CRASHED} and result.retry_reasons == {}


def test_idn_domain_goes_out_idna_encoded(session, clean_engine, smtp_ascii, db_url):
    handler, port = smtp_ascii  # no SMTPUTF8: none is needed for an ASCII local part
    settings = _ascii_settings(db_url, port)
    outbox.configure(settings)
    row = _enqueue(session, "lena@Bücher.example")
    result = sender.run(clean_engine, settings)
    assert result.sent == 1, result.summary()
    [got] = handler.messages
    assert got.rcpt_tos == ["lena@xn--bcher-kva.example"] and not got.smtp_utf8
    assert got.message["To"] == "lena@xn--bcher-kva.example"
    headers = got.raw.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii() and b"=?utf-8?" not in headers
    assert _row(clean_engine, row.id).to_addr == "lena@Bücher.example"  # stored as the user wrote it


def test_invalid_idn_domain_is_dead_not_retried(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp
    outbox.configure(smtp_settings)
    # U+2603 (snowman) was allowed by IDNA 2003 but is DISALLOWED by IDNA 2008 (RFC 5892).
    row = _enqueue(session, "lena@\u2603.example")
    result = sender.run(clean_engine, smtp_settings)
    assert (result.dead, result.retrying) == (1, 0)
    stored = _row(clean_engine, row.id)
    assert stored.status == "dead" and stored.attempts == 1 and "IDNA 2008" in stored.last_error
    assert handler.attempts == 0


def test_non_ascii_local_part_without_smtputf8_is_dead_with_the_reason(session, clean_engine, smtp_ascii, db_url):
    handler, port = smtp_ascii
    smtp_settings = _ascii_settings(db_url, port)
    outbox.configure(smtp_settings)
    dimitra = make_user(session, "dimitra", email="dimitra@example.com")
    row = _enqueue(session, "δοκιμή@example.com", user=dimitra)
    result = sender.run(clean_engine, smtp_settings)
    assert (result.sent, result.retrying, result.dead) == (0, 0, 1)
    stored = _row(clean_engine, row.id)
    assert stored.status == "dead" and stored.attempts == 1
    assert "SMTPUTF8" in stored.last_error and "not retried" in stored.last_error and "δοκιμή" in stored.last_error
    assert result.dead_reasons == {row.id: stored.last_error}
    assert handler.attempts == 0 and handler.messages == []  # never reached RCPT TO
    with Session(clean_engine) as s:  # the address may be fine: not a bounce
        ms = s.get(MailSettings, dimitra.id)
        assert ms is None or ms.bounced_at is None
    # dead stays dead: no endless retries
    assert not sender.run(clean_engine, smtp_settings, now=utcnow() + timedelta(days=2)).did_work


def test_non_ascii_local_part_goes_with_smtputf8(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp  # offers SMTPUTF8
    settings = smtp_settings
    outbox.configure(settings)
    row = _enqueue(session, "δοκιμή@Bücher.example")
    result = sender.run(clean_engine, settings)
    assert result.sent == 1, result.summary()
    [got] = handler.messages
    assert got.smtp_utf8 and got.rcpt_tos == ["δοκιμή@xn--bcher-kva.example"]
    assert "To: δοκιμή@Bücher.example".encode() in got.raw  # UTF-8 header (RFC 6532), not =?utf-8?…?=
    assert got.message["To"] == "δοκιμή@Bücher.example"
    assert _row(clean_engine, row.id).status == "sent"


def test_folder_transport_writes_a_non_ascii_address_as_utf8(session, clean_engine, db_url, tmp_path):
    from tests.conftest import make_settings

    settings = make_settings(db_url, email_dir=str(tmp_path / "mail"))
    assert isinstance(transport_for(settings), FolderTransport)
    outbox.configure(settings)
    _enqueue(session, "δοκιμή@example.com")
    assert sender.run(clean_engine, settings).sent == 1
    [eml] = (tmp_path / "mail").glob("*.eml")
    assert "To: δοκιμή@example.com".encode() in eml.read_bytes()


def test_worker_line_reports_each_group(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp
    handler.rcpt_replies = {"busy@example.com": "452 4.2.2 Mailbox full", "gone@example.com": "550 5.1.1 Unknown user"}
    outbox.configure(smtp_settings)
    _enqueue(session, "gone@example.com")
    _enqueue(session, "busy@example.com")
    line = sender.run(clean_engine, smtp_settings).summary()
    assert line == "0 sent, 1 waiting to retry (452 4.2.2 Mailbox full), 1 dead (refused: 550 5.1.1 Unknown user)"
    with Session(clean_engine) as s:
        assert sorted(r.status for r in s.exec(select(EmailOutbox)).all()) == ["dead", "pending"]
