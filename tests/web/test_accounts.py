"""Signing up, in and out; CSRF; safe `next` redirects; rate limits on sign-in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import User
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.web.conftest import Browser, csrf_from, db_rows, text_of


def test_sign_up_signs_in_and_shows_the_user(web, session):
    r = web.submit("/signup", "/signup", {"username": "Maya_R", "email": "maya@example.com",
                                          "password": "a long enough password", "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = web.follow(r).text
    assert "Welcome to Kestrel Community" in page  # flash, shown once
    assert 'href="/users/maya_r"' in page and 'action="/signout"' in page
    assert "Welcome to Kestrel Community" not in web.get("/").text
    user = db_rows(session, select(User).where(User.username == "maya_r"))[0]
    assert user.email == "maya@example.com"


def test_sign_up_with_bad_input_keeps_it_and_explains(web, session):
    r = web.submit("/signup", "/signup", {"username": "x!", "email": "not-an-email", "password": "short"})
    assert r.status_code == 422
    page = r.text
    assert 'value="x!"' in page and 'value="not-an-email"' in page
    assert "Use 3–30 characters: letters, digits, &#39;_&#39; or &#39;-&#39;." in page
    assert "Enter an email address like name@example.com" in page
    assert "Use at least 10 characters" in page
    # errors are tied to their inputs
    assert 'id="f-email-error"' in page and 'aria-describedby="f-email-hint f-email-error"' in page
    assert 'aria-invalid="true"' in page
    assert db_rows(session, select(User)) == []


def test_sign_up_with_a_taken_username(web, factory, session):
    factory.user("raj")
    session.commit()
    r = web.submit("/signup", "/signup", {"username": "raj", "email": "other@example.com", "password": PASSWORD})
    assert r.status_code == 422 and "The username &#39;raj&#39; is taken" in r.text


def test_sign_in_and_out(web, factory, session):
    factory.user("raj", display_name="Raj P.")
    session.commit()
    wrong = web.submit("/signin", "/signin", {"username": "raj", "password": "wrong password!"})
    assert wrong.status_code == 400 and "The username or password is not right" in wrong.text
    assert 'value="raj"' in wrong.text

    r = web.submit("/signin", "/signin", {"username": "RAJ", "password": PASSWORD, "next": "/products"})
    assert r.status_code == 303 and r.headers["location"] == "/products"
    page = web.follow(r).text
    assert "Welcome back, Raj P." in page and 'href="/users/raj"' in page

    out = web.submit("/", "/signout")
    assert out.status_code == 303
    page = web.follow(out).text
    assert "You are signed out" in page and 'action="/signout"' not in page and 'href="/signup"' in page


def test_sign_in_rotates_the_csrf_token(web, factory, session):
    factory.user("raj")
    session.commit()
    before = csrf_from(web.get("/signin").text)
    web.sign_in("raj")
    after = csrf_from(web.get("/").text)
    assert before != after
    # the old token no longer works
    r = web.post("/ask", {"csrf_token": before, "title": "A title long enough to pass", "body": "x" * 30})
    assert r.status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_next_never_leaves_the_site(web, factory, session, target):
    factory.user("raj")
    session.commit()
    r = web.submit(f"/signin?next={target}", "/signin", {"username": "raj", "password": PASSWORD, "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_pages_for_members_send_visitors_to_sign_in_and_back(web, factory, session):
    factory.user("raj")
    session.commit()
    r = web.get("/ask?product=aero-14")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/ask%3Fproduct%3Daero-14"
    page = web.follow(r).text
    assert 'name="next" value="/ask?product=aero-14"' in page
    signed_in = web.submit(r.headers["location"], "/signin",
                           {"username": "raj", "password": PASSWORD, "next": "/ask?product=aero-14"})
    assert signed_in.headers["location"] == "/ask?product=aero-14"


def test_posts_without_the_csrf_token_are_refused(web, factory, session):
    factory.user("raj")
    session.commit()
    web.sign_in("raj")
    data = {"title": "Printer is offline after the update", "body": "It says offline but it is on the network."}
    for token in (None, "", "forged-token"):
        r = web.post("/ask", {**data, **({"csrf_token": token} if token is not None else {})})
        assert r.status_code == 403
        assert "This form has expired" in r.text and r.headers["content-type"].startswith("text/html")
    from app.questions.models import Question

    assert db_rows(session, select(Question)) == []
    # sign-in needs it too (login CSRF)
    fresh = Browser(web.client)
    assert fresh.post("/signin", {"username": "raj", "password": PASSWORD}).status_code == 403


def test_signed_out_sessions_end_everywhere(web, factory, session):
    from app.accounts import service as accounts_service

    raj = factory.user("raj")
    session.commit()
    web.sign_in("raj")
    assert 'href="/users/raj"' in web.get("/").text
    accounts_service.sign_out_everywhere(session, raj)
    session.commit()
    assert 'href="/users/raj"' not in web.get("/").text


def test_sign_in_is_rate_limited(db_url, clean_engine, factory, session):
    from app.main import create_app

    factory.user("raj")
    session.commit()
    app = create_app(make_settings(db_url, rate_limits="on"), clean_engine)
    with TestClient(app, headers={"Accept": "text/html"}) as client:
        web = Browser(client)
        statuses = [web.submit("/signin", "/signin", {"username": "raj", "password": "wrong guess"}).status_code
                    for _ in range(10)]
        assert statuses == [400] * 10
        r = web.submit("/signin", "/signin", {"username": "raj", "password": PASSWORD})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert "Too many sign-in attempts" in text_of(r.text)
        assert 'value="raj"' in r.text  # the form is still there, filled in


def test_sign_up_is_rate_limited(db_url, clean_engine):
    from app.main import create_app

    app = create_app(make_settings(db_url, rate_limits="on"), clean_engine)
    app.state.limiter.hit  # the real limiter
    for _ in range(5):
        app.state.limiter.hit("sign-up", "testclient")
    with TestClient(app, headers={"Accept": "text/html"}) as client:
        r = Browser(client).submit("/signup", "/signup", {"username": "newbie", "email": "n@example.com",
                                                          "password": PASSWORD})
        assert r.status_code == 429 and "retry-after" in r.headers
        assert "Too many sign-ups" in text_of(r.text)


def test_nul_characters_in_forms_and_addresses_are_refused_not_500(web, factory, session):
    """PostgreSQL cannot store NUL: the database layer refuses it on both databases, so no page 500s."""
    for path in ("/?product=a%00b", "/products/a%00b", "/tags/a%00b", "/users/a%00b"):
        assert web.get(path).status_code in (404, 422), path
    r = web.submit("/signin", "/signin", {"username": "maya\x00", "password": "whatever-password"})
    assert r.status_code in (401, 422) and "Traceback" not in r.text


def test_web_sign_up_records_a_fingerprint_not_the_address(web, session):
    from sqlmodel import select

    from app.accounts.models import User
    from tests.web.conftest import db_rows

    r = web.submit("/signup", "/signup", {"username": "fresh", "email": "fresh@example.com",
                                          "password": "a long enough password", "next": "/"})
    assert r.status_code == 303
    [user] = db_rows(session, select(User).where(User.username == "fresh"))
    assert user.signup_fingerprint and len(user.signup_fingerprint) == 64
    assert "testclient" not in user.signup_fingerprint and "127.0.0.1" not in user.signup_fingerprint
