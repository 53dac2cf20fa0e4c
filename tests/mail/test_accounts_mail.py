"""Account self-service by e-mail, end to end: the API or forum → outbox → worker → a real SMTP
server → the link in the message → the site."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import utcnow
from app.mail import accounts as mail_accounts
from app.mail.models import AccountToken
from tests.api.conftest import API, assert_problem
from tests.factories import PASSWORD, make_user
from tests.mail.helpers import run_worker

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _confirm(client, link: str):
    """Open a /verify-email link and press its confirm button (the POST with the CSRF token)."""
    from urllib.parse import parse_qs

    from tests.web.conftest import csrf_from

    page = client.get(_path(link), headers={"Accept": "text/html"})
    token = parse_qs(urlsplit(link).query)["token"][0]
    return client.post("/verify-email", data={"csrf_token": csrf_from(page.text), "token": token},
                       headers={"Accept": "text/html"})


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _token(link: str) -> str:
    return link.split("token=", 1)[1]


def test_sign_up_verification_mail_link_verifies(client, clean_engine, smtp, settings):
    handler, _ = smtp
    r = client.post(f"{API}/auth/register", json={"username": "maya", "email": "maya@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert run_worker(clean_engine, settings).sent == 1
    [mail] = handler.messages
    assert mail.rcpt_tos == ["maya@example.com"]
    assert "Confirm your e-mail address" in mail.message["Subject"]
    assert "List-Unsubscribe" not in mail.message  # account mail
    link = mail.link("/verify-email")
    with Session(clean_engine) as s:
        user = s.exec(select(User).where(User.username == "maya")).one()
        assert not mail_accounts.is_verified(s, user)
    # Following the link (as a mail scanner does) confirms nothing: it shows a button that POSTs.
    page = client.get(_path(link), headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Confirm my address" in page.text
    with Session(clean_engine) as s:
        assert not mail_accounts.is_verified(s, s.get(User, user.id))
    done = _confirm(client, link)
    assert done.status_code == 200 and "is confirmed" in done.text
    with Session(clean_engine) as s:
        assert mail_accounts.is_verified(s, s.get(User, user.id))
    again = client.get(_path(link), headers={"Accept": "text/html"})
    assert again.status_code == 400 and "used already" in again.text
    assert client.get("/verify-email?token=garbage-garbage-garbage-1").status_code == 400


def test_sign_up_with_an_owned_address_tells_only_the_owner(client, session, clean_engine, smtp, settings):
    handler, _ = smtp
    make_user(session, "maya", email="maya@example.com")
    session.commit()
    r = client.post(f"{API}/auth/register", json={"username": "mallory", "email": "Maya@example.com",
                                                  "password": PASSWORD})
    assert r.status_code == 201  # the same answer as for a new address
    run_worker(clean_engine, settings)
    [mail] = handler.messages
    assert mail.rcpt_tos == ["maya@example.com"] and "tried to sign up" in mail.message["Subject"]
    assert "mallory" not in mail.raw.decode()


def test_password_reset_end_to_end(client, session, clean_engine, smtp, settings, login):
    handler, _ = smtp
    maya = make_user(session, "maya", email="maya@example.com")
    session.commit()
    other_device = login("maya")
    assert client.post(f"{API}/auth/password-reset", json={"email": "nobody@example.com"}).status_code == 202
    r = client.post(f"{API}/auth/password-reset", json={"email": "MAYA@example.com"})
    assert r.status_code == 202 and r.content == b""
    run_worker(clean_engine, settings)
    [mail] = handler.messages  # none for the unknown address
    assert mail.rcpt_tos == ["maya@example.com"] and "List-Unsubscribe" not in mail.message
    link = mail.link("/password-reset/confirm")
    assert "?token=" in link
    token = _token(link)
    weak = client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "password": "password"})
    assert_problem(weak, 422)
    ok = client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 204, ok.text
    assert client.get(f"{API}/me", headers=other_device).status_code == 401  # signed out everywhere
    assert client.post(f"{API}/auth/token", data={"username": "maya", "password": PASSWORD}).status_code == 401
    assert client.post(f"{API}/auth/token", data={"username": "maya", "password": NEW_PASSWORD}).status_code == 200
    reused = client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "password": "another-long-passphrase-7"})
    body = assert_problem(reused, 400)
    assert "used already" in body["detail"]
    assert_problem(client.post(f"{API}/auth/password-reset/confirm", json={"token": "x" * 43, "password": NEW_PASSWORD}), 400)
    with Session(clean_engine) as s:
        assert mail_accounts.is_verified(s, s.get(User, maya.id))


def test_expired_reset_token_is_refused(client, session, clean_engine, smtp, settings):
    handler, _ = smtp
    make_user(session, "maya", email="maya@example.com")
    session.commit()
    client.post(f"{API}/auth/password-reset", json={"email": "maya@example.com"})
    run_worker(clean_engine, settings)
    token = _token(handler.messages[0].link("/password-reset/confirm"))
    with Session(clean_engine) as s:  # as if the hour had passed
        s.exec(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    body = assert_problem(client.post(f"{API}/auth/password-reset/confirm",
                                      json={"token": token, "password": NEW_PASSWORD}), 400)
    assert "expired" in body["detail"]
    assert client.post(f"{API}/auth/token", data={"username": "maya", "password": PASSWORD}).status_code == 200


def test_reset_on_the_forum(browsers, session, clean_engine, smtp, settings):
    handler, _ = smtp
    make_user(session, "maya", email="maya@example.com")
    session.commit()
    b = browsers()
    r = b.submit("/password-reset", "/password-reset", {"email": "maya@example.com"})
    assert r.status_code == 200 and "If an account uses maya@example.com" in r.text
    unknown = b.submit("/password-reset", "/password-reset", {"email": "nobody@example.com"})
    assert unknown.status_code == 200 and "If an account uses nobody@example.com" in unknown.text
    run_worker(clean_engine, settings)
    link = _path(handler.messages[0].link("/password-reset/confirm"))
    weak = b.submit(link, "/password-reset/confirm", {"token": _token(link), "password": "short"})
    assert weak.status_code == 422
    done = b.submit(link, "/password-reset/confirm", {"token": _token(link), "password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/signin"
    b.sign_in("maya", NEW_PASSWORD)
    # A used or garbage link shows no password form: it says so and links to a new request.
    reused = b.get(link)
    assert reused.status_code == 400 and "used already" in reused.text and "no longer valid" in reused.text
    assert 'href="/password-reset"' in reused.text and 'name="password"' not in reused.text
    garbage = b.get("/password-reset/confirm?token=not-a-real-token-at-all-000")
    assert garbage.status_code == 400 and 'name="password"' not in garbage.text


def test_reset_mail_is_limited_per_address(client, session, clean_engine, smtp, db_url):
    from app.main import create_app
    from fastapi.testclient import TestClient
    from tests.conftest import make_settings

    handler, port = smtp
    limited = make_settings(db_url, smtp_url=f"smtp://127.0.0.1:{port}", base_url="http://testserver", rate_limits="on")
    make_user(session, "maya", email="maya@example.com")
    session.commit()
    with TestClient(create_app(limited, clean_engine)) as c:
        for _ in range(5):
            assert c.post(f"{API}/auth/password-reset", json={"email": "maya@example.com"}).status_code == 202
    run_worker(clean_engine, limited)
    assert len(handler.messages) == 3  # MAIL_LIMITS: 3 per address per hour


def test_change_of_address_takes_effect_when_confirmed(client, session, clean_engine, smtp, settings, login):
    handler, _ = smtp
    make_user(session, "maya", email="maya@example.com")
    make_user(session, "raj", email="raj@example.com")
    session.commit()
    me = login("maya")
    assert_problem(client.post(f"{API}/me/email", json={"email": "new@example.com", "password": "wrong"}, headers=me), 422)
    assert client.post(f"{API}/me/email", json={"email": "raj@example.com", "password": PASSWORD}, headers=me).status_code == 202
    assert client.post(f"{API}/me/email", json={"email": "maya.new@example.com", "password": PASSWORD},
                       headers=me).status_code == 202
    assert client.get(f"{API}/me", headers=me).json()["email"] == "maya@example.com"
    run_worker(clean_engine, settings)
    [mail] = handler.messages  # nothing to raj's address (another account's: no enumeration, no mail)
    assert mail.rcpt_tos == ["maya.new@example.com"]
    token = _token(mail.link("/email/confirm-change"))
    assert client.post(f"{API}/auth/email-change/confirm", json={"token": token}).status_code == 204
    assert client.get(f"{API}/me", headers=me).json()["email"] == "maya.new@example.com"
    settings_out = client.get(f"{API}/me/settings", headers=me).json()
    assert settings_out["email_verified"] is True


def test_settings_export_and_delete(client, session, clean_engine, smtp, settings, login):
    from tests.factories import make_question

    maya = make_user(session, "maya", email="maya@example.com")
    q = make_question(session, author=maya, title="Dock Pro will not charge at 100 W")
    session.commit()
    me = login("maya")
    r = client.patch(f"{API}/me/settings", json={"display_name": "Maya K", "timezone": "Europe/Berlin", "digest_hour": 7},
                     headers=me)
    assert r.status_code == 200 and r.json()["timezone"] == "Europe/Berlin" and r.json()["display_name"] == "Maya K"
    bad = assert_problem(client.patch(f"{API}/me/settings", json={"timezone": "Mars/Olympus"}, headers=me), 422)
    assert "time zone" in bad["detail"]
    data = client.get(f"{API}/me/export", headers=me).json()
    assert data["account"]["email"] == "maya@example.com" and data["questions"][0]["title"] == q.title
    assert data["follows"] == [{"target_type": "question", "target_key": str(q.id), "created_at": data["follows"][0]["created_at"]}]
    assert_problem(client.request("DELETE", f"{API}/me", json={"password": "wrong"}, headers=me), 422)
    assert client.request("DELETE", f"{API}/me", json={"password": PASSWORD}, headers=me).status_code == 204
    assert client.get(f"{API}/me", headers=me).status_code == 401
    assert client.get(f"{API}/users/maya").status_code == 404
    question = client.get(f"{API}/questions/{q.id}").json()
    assert question["title"] == q.title and question["author"]["display_name"] == "deleted user"
    assert client.post(f"{API}/auth/token", data={"username": "maya@example.com", "password": PASSWORD}).status_code == 401
    # the address is free again
    assert client.post(f"{API}/auth/register", json={"username": "maya2", "email": "maya@example.com",
                                                     "password": PASSWORD}).status_code == 201


def test_sign_in_by_address_waits_for_verification_whoever_owns_it(client, session, clean_engine, smtp, settings):
    """Signing in by address right after sign-up fails the same way for a free address and for one
    another account owns (no enumeration); after verifying, the owner signs in by address."""
    handler, _ = smtp
    make_user(session, "maya", email="maya@example.com")
    session.commit()
    for name, address in (("mallory", "maya@example.com"), ("wren", "wren@example.com")):
        assert client.post(f"{API}/auth/register", json={"username": name, "email": address,
                                                         "password": NEW_PASSWORD}).status_code == 201
        r = client.post(f"{API}/auth/token", data={"username": address, "password": NEW_PASSWORD})
        assert r.status_code == 401 and r.json()["detail"] == "Wrong username or password."
        assert client.post(f"{API}/auth/token", data={"username": name, "password": NEW_PASSWORD}).status_code == 200
    run_worker(clean_engine, settings)
    [wren_mail] = [m for m in handler.messages if m.rcpt_tos == ["wren@example.com"]]
    _confirm(client, wren_mail.link("/verify-email"))
    assert client.post(f"{API}/auth/token", data={"username": "wren@example.com", "password": NEW_PASSWORD}).status_code == 200


def test_profile_and_email_page_on_the_forum(browsers, session, clean_engine, smtp, settings):
    handler, _ = smtp
    maya = make_user(session, "maya", email="maya@example.com")
    session.commit()
    b = browsers()
    b.sign_in("maya")
    page = b.get("/settings/account")
    assert page.status_code == 200 and "maya@example.com" in page.text and "(confirmed)" in page.text
    long_name = "M" * 61
    r = b.submit("/settings/account", "/settings/profile", {"display_name": long_name})
    assert r.status_code == 422 and long_name in r.text  # the typed text is kept
    assert b.submit("/settings/account", "/settings/profile", {"display_name": "Maya K"}).status_code == 303
    r = b.submit("/settings/account", "/settings/email", {"email": "maya.new@example.com", "password": "wrong"})
    assert r.status_code == 422 and "maya.new@example.com" in r.text
    r = b.submit("/settings/account", "/settings/email", {"email": "maya.new@example.com", "password": PASSWORD})
    assert r.status_code == 303
    run_worker(clean_engine, settings)
    link = _path(handler.messages[0].link("/email/confirm-change"))
    assert "Your account now uses maya.new@example.com" in b.get(link).text
    export = b.get("/settings/export")
    assert export.headers["content-type"].startswith("application/json") and export.json()["account"]["display_name"] == "Maya K"
    assert b.submit("/settings/account", "/settings/delete", {"password": "wrong"}).status_code == 422
    r = b.submit("/settings/account", "/settings/delete", {"password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert b.get("/settings/account").status_code in (303, 401)
    assert b.get(f"/users/{maya.username}").status_code == 404


def test_export_lists_oldest_first_whatever_order_the_database_reads_them_in(session, clean_engine):
    """Rows rewritten after others (an edit writes a new row version at the end of a PostgreSQL
    table) still come out in the order they were written, in every list of the export."""
    from sqlalchemy import text

    from app.accounts import lifecycle
    from app.votes import service as votes_service
    from tests.factories import make_answer, make_question

    maya = make_user(session, "maya", email="maya@example.com", reputation=500)
    raj = make_user(session, "raj")
    mine = [make_question(session, author=maya, title=f"Dock Pro will not charge at {w} W") for w in (60, 90, 100)]
    theirs = [make_question(session, author=raj, title=f"Aero 14 fan is loud at {n} percent") for n in (10, 20, 30)]
    answers = [make_answer(session, q, author=maya) for q in theirs]
    for q in theirs:
        votes_service.cast(session, actor=maya, post_type="question", post_id=q.id, value=1)
    session.commit()
    # Move the oldest rows to the end of their tables and indexes: give them to raj and back (a
    # change of an indexed column writes a new row version and new index entries, last in order).
    first_vote = session.execute(text("SELECT min(id) FROM votes")).scalar()
    for table, column, row_id in (("questions", "author_id", mine[0].id), ("answers", "author_id", answers[0].id),
                                  ("votes", "voter_id", first_vote)):
        for owner in (raj.id, maya.id):
            session.execute(text(f"UPDATE {table} SET {column} = :o WHERE id = :id"), {"o": owner, "id": row_id})
    session.commit()
    session.expire_all()
    data = lifecycle.export_data(session, maya)
    assert [q["id"] for q in data["questions"]] == [q.id for q in mine]
    assert [a["id"] for a in data["answers"]] == [a.id for a in answers]
    assert [v["post_id"] for v in data["votes"]] == [q.id for q in theirs]
    assert data == lifecycle.export_data(session, maya) | {"exported_at": data["exported_at"]}
