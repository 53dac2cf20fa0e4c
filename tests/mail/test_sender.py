"""The e-mail outbox and the worker's sender against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

from sqlmodel import Session, select

from app.core.db import utcnow
from app.mail import outbox, sender
from app.mail.models import EmailOutbox, MailSettings
from app.mail.transport import FolderTransport, parse_smtp_url, transport_for
from tests.factories import make_question, make_user


def _enqueue(session, user, kind="answer_posted", now=None, link=None):
    """An instant notification to `user` about a question of theirs (a real one: the sender skips
    a notification whose post the recipient may no longer see)."""
    if link is None:
        q = make_question(session, author=user, title="Dock does not charge")
        link = f"http://testserver/questions/{q.id}/{q.slug}"
    row = outbox.enqueue(session, to=user.email, user=user, kind=kind, template="notification",
                         subject="Raj answered your question", now=now,
                         context={"text": "Raj answered your question “Dock”.", "link": link,
                                  "kind_label": "A new answer to my question"})
    session.commit()
    return row


def _rows(engine):
    with Session(engine) as s:
        return list(s.exec(select(EmailOutbox).order_by(EmailOutbox.id)).all())


def test_url_parsing():
    t = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example:587?starttls=1")
    assert (t.host, t.port, t.username, t.password, t.starttls, t.tls) == ("mail.example", 587, "us@er", "p:ss", True, False)
    assert parse_smtp_url("smtps://mail.example").port == 465
    assert parse_smtp_url("smtp://mail.example").port == 25
    for bad in ("http://x", "smtp://", "smtp://h:99999"):
        try:
            parse_smtp_url(bad)
        except ValueError as exc:
            assert "GROUNDSWELL_SMTP_URL" in str(exc)
        else:
            raise AssertionError(bad)


def test_sent_once_multipart_with_one_click_unsubscribe(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp
    outbox.configure(smtp_settings)
    other = make_user(session, "other_person", email="secret.other@example.com")
    user = make_user(session, "maya")
    _enqueue(session, user)
    result = sender.run(clean_engine, smtp_settings)
    assert result.sent == 1 and result.dead == 0
    assert len(handler.messages) == 1
    got = handler.messages[0]
    assert got.rcpt_tos == ["maya@example.com"] and got.mail_from == "community@kestrel.example"
    msg = got.message
    assert msg.get_content_type() == "multipart/alternative"
    assert "Raj answered" in got.text() and "<a href=\"http://testserver/questions/" in got.html()
    assert msg["List-Unsubscribe"].startswith("<http://testserver/email/unsubscribe?token=")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire the header is raw RFC 2369 `<URL>` on one line, not RFC 2047-encoded (=?utf-8?q?…?=).
    raw_headers = got.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    lu = [h for h in raw_headers if h.startswith(b"List-Unsubscribe:")]
    row = _rows(clean_engine)[0]
    assert lu == [b"List-Unsubscribe: <" + row.unsubscribe_url.encode() + b">"], lu
    assert len(row.unsubscribe_url) > 78  # long enough that the old folding encoded it
    assert b"=?utf-8?" not in got.raw and b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in got.raw
    assert other.email not in got.raw.decode()
    assert [r.status for r in _rows(clean_engine)] == ["sent"]
    assert sender.run(clean_engine, smtp_settings).sent == 0  # nothing twice
    assert len(handler.messages) == 1


def test_security_mail_has_no_unsubscribe(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp
    outbox.configure(smtp_settings)
    user = make_user(session, "maya")
    outbox.enqueue(session, to=user.email, user=user, kind="password_reset", template="password_reset",
                   subject="Reset", context={"link": "http://testserver/password-reset/confirm?token=x", "minutes": 60})
    session.commit()
    sender.run(clean_engine, smtp_settings)
    assert "List-Unsubscribe" not in handler.messages[0].message


def test_retry_with_backoff_then_dead_letter(session, clean_engine, smtp, smtp_settings):
    handler, _ = smtp
    handler.refuse_rcpt = "451 4.3.0 Try again later"
    outbox.configure(smtp_settings)
    user = make_user(session, "maya")
    _enqueue(session, user)
    transport = transport_for(smtp_settings)
    now = utcnow() + timedelta(seconds=1)
    for attempt in range(1, sender.MAX_ATTEMPTS + 1):
        result = sender.drain(clean_engine, transport, email_from=smtp_settings.email_from, now=now)
        row = _rows(clean_engine)[0]
        assert row.attempts == attempt and "451" in row.last_error
        if attempt < sender.MAX_ATTEMPTS:
            assert row.status == "pending" and result.retrying == 1
            wait = timedelta(seconds=sender.BACKOFF[attempt - 1])
            assert row.next_attempt_at.replace(tzinfo=now.tzinfo) == now + wait
            # not before the backoff has passed
            early = sender.drain(clean_engine, transport, email_from=smtp_settings.email_from, now=now + wait / 2)
            assert not early.did_work
            now += wait
        else:
            assert row.status == "dead" and result.dead == 1 and "gave up after 6 tries" in row.last_error
    assert handler.attempts == sender.MAX_ATTEMPTS and handler.messages == []
    # dead stays dead; staff can requeue it and it goes once the server accepts
    handler.refuse_rcpt = None
    assert not sender.drain(clean_engine, transport, email_from=smtp_settings.email_from, now=now + timedelta(days=1)).did_work
    with Session(clean_engine) as s:
        assert sender.requeue(s, row.id) is not None
        s.commit()
    assert sender.run(clean_engine, smtp_settings).sent == 1 and len(handler.messages) == 1


def test_connection_refused_is_retried(session, clean_engine, db_url):
    from tests.conftest import make_settings
    from tests.mail.conftest import _free_port

    settings = make_settings(db_url, smtp_url=f"smtp://127.0.0.1:{_free_port()}")
    outbox.configure(settings)
    user = make_user(session, "maya")
    _enqueue(session, user)
    result = sender.run(clean_engine, settings)
    row = _rows(clean_engine)[0]
    assert result.retrying == 1 and row.status == "pending" and "ConnectionRefused" in row.last_error


def test_bounce_stops_mail_to_the_address_until_fixed(session, clean_engine, smtp, smtp_settings):
    from app.notifications import service as notifications

    handler, _ = smtp
    handler.refuse_rcpt = "550 5.1.1 No such mailbox"
    outbox.configure(smtp_settings)
    user = make_user(session, "maya")
    _enqueue(session, user)
    result = sender.run(clean_engine, smtp_settings)
    row = _rows(clean_engine)[0]
    assert result.dead == 1 and row.status == "dead" and row.attempts == 1 and "550" in row.last_error
    with Session(clean_engine) as s:
        ms = s.get(MailSettings, user.id)
        assert ms.bounced_at is not None and "550" in ms.bounce_reason
        # a new notification that would be e-mailed at once: in-app only now
        notifications.notify(s, [user.id], kind="answer_posted", text="Another answer", url="/questions/1/x")
        s.commit()
    assert len(_rows(clean_engine)) == 1


def test_folder_transport_when_no_smtp_url(session, clean_engine, db_url, tmp_path):
    from tests.conftest import make_settings

    settings = make_settings(db_url, email_dir=str(tmp_path / "mail"))
    assert isinstance(transport_for(settings), FolderTransport)
    outbox.configure(settings)
    user = make_user(session, "maya")
    row = _enqueue(session, user)
    assert sender.run(clean_engine, settings).sent == 1
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert [f.name for f in files] == [f"{row.id:08d}-answer_posted.eml"]
    raw = files[0].read_bytes()
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    assert b"List-Unsubscribe: <" + _rows(clean_engine)[0].unsubscribe_url.encode() + b">\n" in raw
    assert b"=?utf-8?" not in raw
    assert _rows(clean_engine)[0].eml_path == str(files[0])


CRASHING_WORKER = """
import os, sys
from app.core.config import Settings
from app.core.db import make_engine
from app.mail import sender
settings = Settings(env="test", database_url=sys.argv[1], secret_key="x" * 40, smtp_url=sys.argv[2])
sender.run(make_engine(settings.database_url), settings)
"""


def test_worker_killed_between_send_and_mark_sends_nothing_twice(session, clean_engine, smtp, smtp_settings, db_url):
    """At most once, never twice (app/mail/sender.py): the server got the message, the worker died
    before marking it; the next worker does not resend it and the row ends visibly dead."""
    handler, port = smtp
    handler.hold = threading.Event()
    outbox.configure(smtp_settings)
    maya, raj = make_user(session, "maya"), make_user(session, "raj")
    _enqueue(session, maya)
    _enqueue(session, raj)
    child = subprocess.Popen([sys.executable, "-c", CRASHING_WORKER, db_url, f"smtp://127.0.0.1:{port}"],
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert handler.data_started.wait(60), "the worker never reached DATA"
        child.kill()  # dies while the server holds its reply to DATA
        child.wait(30)
    finally:
        handler.hold.set()
    assert len(handler.messages) == 1
    handler.hold = None
    rows = _rows(clean_engine)
    assert [r.status for r in rows] == ["sending", "pending"]
    # A worker started at once sends the other message, leaves the claimed one alone (lease)…
    assert sender.run(clean_engine, smtp_settings).sent == 1
    assert [m.rcpt_tos for m in handler.messages] == [["maya@example.com"], ["raj@example.com"]]
    # …and after the lease the claimed one is dead with the reason, never resent.
    later = utcnow() + sender.CLAIM_LEASE + timedelta(seconds=1)
    result = sender.run(clean_engine, smtp_settings, now=later)
    assert result.dead == 1 and result.sent == 0
    first = _rows(clean_engine)[0]
    assert first.status == "dead" and "not resent" in first.last_error
    assert len(handler.messages) == 2


def test_a_bad_smtp_url_is_a_one_line_settings_error():
    from app.core.config import Settings, SettingsError

    try:
        Settings(env="test", smtp_url="smtp://mail.example:notaport")
    except SettingsError as exc:
        assert str(exc) == "GROUNDSWELL_SMTP_URL has a port that is not a number from 1 to 65535"
    else:
        raise AssertionError("accepted")


def test_without_smtp_the_web_process_writes_the_eml_folder_and_staff_see_it(db_url, clean_engine, tmp_path):
    """The demo: no SMTP URL, no worker; the web process writes each message to the folder and the
    staff page lists it (app/mail/lifecycle.py)."""
    import threading as _threading

    from fastapi.testclient import TestClient

    from app.accounts.models import Role
    from app.main import create_app
    from tests.conftest import make_settings
    from tests.web.conftest import Browser

    settings = make_settings(db_url, email_dir=str(tmp_path / "mail"), search_apply_in_process=True)
    with Session(clean_engine) as s:
        make_user(s, "lena", role=Role.staff)
        make_user(s, "maya", email="maya@example.com")
        s.commit()
    with TestClient(create_app(settings, clean_engine), headers={"Accept": "text/html"}) as client:
        r = client.post("/api/v1/auth/password-reset", json={"email": "maya@example.com"})
        assert r.status_code == 202
        done = _threading.Event()
        for _ in range(200):  # the drainer polls every 2 s; wait on the folder, not on a clock
            if list((tmp_path / "mail").glob("*.eml")):
                done.set()
                break
            done.wait(0.1)
        files = list((tmp_path / "mail").glob("*.eml"))
        assert len(files) == 1 and files[0].name.endswith("-password_reset.eml")
        b = Browser(client)
        b.sign_in("lena")
        page = b.get("/staff/mail")
        assert page.status_code == 200 and "Reset your password" in page.text and str(files[0]) in page.text
        row = _rows(clean_engine)[0]
        detail = b.get(f"/staff/mail/{row.id}")
        assert "password-reset/confirm?token=[redacted]" in detail.text  # the secret stays in the mailbox
        b2 = Browser(client)
        client.cookies.clear()
        b2.sign_in("maya")
        assert b2.get("/staff/mail").status_code == 403


def test_every_link_in_a_mail_leads_to_a_page_the_forum_serves(session, clean_engine, smtp, smtp_settings, app):
    """The footer's "your notification settings" pointed at /settings#notifications, a section the
    settings page does not have (the e-mail choices are /settings/notifications). Every link to the
    community in the text and HTML parts must be a path some GET route of the app answers, with the
    anchor, if any, present on that page."""
    import re

    from starlette.routing import Match

    handler, _ = smtp
    outbox.configure(smtp_settings)
    user = make_user(session, "maya")
    _enqueue(session, user)
    sender.run(clean_engine, smtp_settings)
    got = handler.messages[0]
    links = set(re.findall(r"http://testserver(/[^\s\"'<>)]*)", got.text() + got.html()))
    assert any(link.startswith("/settings/notifications") for link in links), links
    for link in links:
        path, _, anchor = link.split("?")[0].partition("#")
        scope = {"type": "http", "path": path, "root_path": "", "method": "GET", "headers": [], "query_string": b""}
        assert any(route.matches(scope)[0] == Match.FULL for route in app.router.routes), link
        assert not (path == "/settings" and anchor), link  # /settings has no sections to jump to
