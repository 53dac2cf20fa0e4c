"""/staff/mail shows no usable secret: the tokens of account mail (password reset, verification,
change of address) and of unsubscribe links reach the recipient's mailbox and nobody else, not
staff and not admins (docs/notifications.md)."""

from __future__ import annotations

import re

from app.accounts.models import Role
from app.mail import outbox, sender
from tests.api.conftest import API
from tests.factories import PASSWORD, make_question, make_user
from tests.mail.helpers import outbox_rows, run_worker


def _tokens(raw: bytes) -> set[str]:
    """Every `token=` value in a message as received (plain text, HTML and headers)."""
    text = raw.decode("utf-8", "replace").replace("=\r\n", "")
    return {t for t in re.findall(r"token=([A-Za-z0-9_\-.]+)", text) if len(t) >= 20}


def test_staff_and_admins_see_no_token_of_any_mail(client, browsers, session, clean_engine, smtp, settings, login):
    handler, _ = smtp
    outbox.configure(settings)
    make_user(session, "lena", role=Role.staff)
    make_user(session, "root", role=Role.admin, email="admin@kestrel.example")
    maya = make_user(session, "maya", email="maya@example.com")
    session.commit()
    # Account mail of every kind that carries a token, and a notification (unsubscribe token).
    assert client.post(f"{API}/auth/password-reset", json={"email": "admin@kestrel.example"}).status_code == 202
    assert client.post(f"{API}/me/email", json={"email": "maya.new@example.com", "password": PASSWORD},
                       headers=login("maya")).status_code == 202
    assert client.post(f"{API}/auth/register", json={"username": "newcomer", "email": "newcomer@example.com",
                                                     "password": PASSWORD}).status_code == 201
    dock = make_question(session, author=maya, title="Dock does not charge")
    outbox.enqueue(session, to=maya.email, user=maya, kind="answer_posted", template="notification",
                   subject="Raj answered your question",
                   context={"text": "Raj answered “Dock”.", "link": f"http://testserver/questions/{dock.id}/{dock.slug}",
                            "kind_label": "A new answer to my question"})
    session.commit()
    rows = outbox_rows(clean_engine)
    assert {r.kind for r in rows} == {"password_reset", "email_change", "verify_email", "answer_posted"}
    run_worker(clean_engine, settings)
    secrets = set().union(*(_tokens(m.raw) for m in handler.messages))
    assert len(secrets) == 4 and len(handler.messages) == 4  # the mailbox gets every real token

    for who in ("lena", "root"):
        b = browsers()
        b.sign_in(who)
        listing = b.get("/staff/mail")
        assert listing.status_code == 200
        for row in rows:
            page = b.get(f"/staff/mail/{row.id}")
            assert page.status_code == 200, page.text
            assert "token=[redacted]" in page.text, (row.kind, page.text)
            for secret in secrets:
                assert secret not in page.text and secret not in listing.text, (who, row.kind)
        # The admin's reset token in particular cannot be used by whoever read the page.
        reset = next(r for r in rows if r.kind == "password_reset")
        assert "/password-reset/confirm?token=[redacted]" in b.get(f"/staff/mail/{reset.id}").text


def test_the_row_keeps_its_secret_and_requeue_sends_the_real_link(client, browsers, session, clean_engine, smtp, settings):
    handler, _ = smtp
    outbox.configure(settings)
    make_user(session, "lena", role=Role.staff)
    make_user(session, "maya", email="maya@example.com")
    session.commit()
    client.post(f"{API}/auth/password-reset", json={"email": "maya@example.com"})
    [row] = outbox_rows(clean_engine)
    b = browsers()
    b.sign_in("lena")
    assert "token=[redacted]" in b.get(f"/staff/mail/{row.id}").text
    [after] = outbox_rows(clean_engine)
    assert after.text_body == row.text_body and "[redacted]" not in after.text_body  # viewing changed nothing
    run_worker(clean_engine, settings)
    [mail] = handler.messages
    assert "[redacted]" not in mail.raw.decode() and len(_tokens(mail.raw)) == 1


def test_redact_secrets_in_text_html_and_headers():
    r = sender.redact_secrets
    assert r("http://x/password-reset/confirm?token=abc_DEF-12") == "http://x/password-reset/confirm?token=[redacted]"
    assert r('<a href="http://x/a?lang=en&amp;token=abc.def-1">go</a>') == \
        '<a href="http://x/a?lang=en&amp;token=[redacted]">go</a>'
    assert r("<http://x/email/unsubscribe?a=1&token=eyJ1Ijo.xyz>") == "<http://x/email/unsubscribe?a=1&token=[redacted]>"
    assert r("see http://x/questions/1?tokens=5 and mytoken=3") == "see http://x/questions/1?tokens=5 and mytoken=3"
    assert r(None) is None
