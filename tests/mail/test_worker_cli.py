"""`groundswell worker --once` sends the outbox through GROUNDSWELL_SMTP_URL (a real SMTP server)."""

from __future__ import annotations

from sqlmodel import Session

from app.core import migrate
from app.core.db import make_engine
from app.mail import outbox
from tests.conftest import make_settings
from tests.factories import make_question, make_user
from tests.test_cli import run


def test_worker_once_sends_through_smtp(tmp_path, smtp):
    handler, port = smtp
    url = f"sqlite:///{tmp_path / 'gs.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    outbox.configure(make_settings(url, base_url="http://forum.example"))
    with Session(engine) as s:
        maya = make_user(s, "maya", email="maya@example.com")
        q = make_question(s, author=maya, title="Dock does not charge")
        outbox.enqueue(s, to=maya.email, user=maya, kind="answer_posted", template="notification",
                       subject="Raj answered your question", context={"text": "Raj answered.", "kind_label": "",
                                                                      "link": f"http://forum.example/questions/{q.id}/{q.slug}"})
        s.commit()
    engine.dispose()
    r = run(["worker", "--once"], url, GROUNDSWELL_SMTP_URL=f"smtp://127.0.0.1:{port}",
            GROUNDSWELL_EMAIL_FROM="Forum <forum@example.com>", GROUNDSWELL_SECRET_KEY="k" * 40)
    assert r.returncode == 0, r.stderr
    assert "email-send: 1 sent, 0 waiting to retry, 0 dead" in r.stdout + r.stderr
    [mail] = handler.messages
    assert mail.rcpt_tos == ["maya@example.com"] and mail.mail_from == "forum@example.com"
    again = run(["worker", "--once"], url, GROUNDSWELL_SMTP_URL=f"smtp://127.0.0.1:{port}", GROUNDSWELL_SECRET_KEY="k" * 40)
    assert again.returncode == 0 and len(handler.messages) == 1


def test_worker_refuses_a_bad_smtp_url_with_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'gs.db'}"
    r = run(["worker", "--once"], url, GROUNDSWELL_SMTP_URL="mail.example:25")
    assert r.returncode != 0
    assert "GROUNDSWELL_SMTP_URL must start with smtp:// or smtps://" in r.stderr.strip().splitlines()[-1]
    assert "Traceback" not in r.stderr
