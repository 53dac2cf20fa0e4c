"""Issue 10 on the forum: sign-out ends the session on the server, "Sign out everywhere", changing
the password, sign-up that does not tell registered addresses, reserved names, verbatim passwords."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import User
from tests.factories import PASSWORD
from tests.web.conftest import Browser, db_rows, text_of


def _browser(app) -> Browser:
    return Browser(TestClient(app, headers={"Accept": "text/html"}))


def _signed_in_as(browser: Browser, username: str) -> bool:
    return f'href="/users/{username}"' in browser.get("/").text


def test_a_copied_cookie_dies_with_sign_out(web, factory, session):
    factory.user("raj")
    session.commit()
    web.sign_in("raj")
    copied = dict(web.client.cookies)
    thief = _browser(web.client.app)
    thief.client.cookies.update(copied)
    assert _signed_in_as(thief, "raj")
    out = web.submit("/", "/signout")
    assert out.status_code == 303
    assert not _signed_in_as(web, "raj")
    assert not _signed_in_as(thief, "raj")  # the copy no longer works either
    assert thief.get("/settings").status_code == 303  # sent to sign in


def test_signing_out_one_browser_leaves_the_others(web, factory, session):
    factory.user("raj")
    session.commit()
    laptop = _browser(web.client.app)
    laptop.sign_in("raj")
    web.sign_in("raj")
    web.submit("/", "/signout")
    assert _signed_in_as(laptop, "raj")


def test_sign_out_everywhere_from_the_settings_page(web, factory, session):
    factory.user("raj")
    session.commit()
    phone = _browser(web.client.app)
    phone.sign_in("raj")
    api = TestClient(web.client.app)
    token = api.post("/api/v1/auth/token", data={"username": "raj", "password": PASSWORD}).json()["access_token"]
    web.sign_in("raj")
    profile = web.get("/users/raj").text
    assert 'href="/settings"' in profile
    r = web.submit("/settings", "/signout-everywhere")
    assert r.status_code == 303
    page = web.follow(r).text
    assert "signed out everywhere" in text_of(page)
    assert not _signed_in_as(web, "raj") and not _signed_in_as(phone, "raj")
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_change_password_keeps_this_browser_and_signs_out_the_rest(web, factory, session):
    factory.user("raj")
    session.commit()
    other = _browser(web.client.app)
    other.sign_in("raj")
    web.sign_in("raj")
    new = "sunlit orchard ladder"
    r = web.submit("/settings", "/settings/password", {"current_password": PASSWORD, "new_password": new})
    assert r.status_code == 303 and r.headers["location"] == "/settings"
    assert "Your password is changed" in web.follow(r).text
    assert _signed_in_as(web, "raj")
    assert not _signed_in_as(other, "raj")
    fresh = _browser(web.client.app)
    assert fresh.submit("/signin", "/signin", {"username": "raj", "password": PASSWORD}).status_code == 400
    fresh.sign_in("raj", new)


def test_change_password_mistakes_are_explained_on_the_form(web, factory, session):
    factory.user("raj")
    session.commit()
    web.sign_in("raj")
    wrong = web.submit("/settings", "/settings/password", {"current_password": "not it at all",
                                                           "new_password": "sunlit orchard ladder"})
    assert wrong.status_code == 422 and "Your current password is not right" in wrong.text
    assert 'id="f-current_password-error"' in wrong.text
    common = web.submit("/settings", "/settings/password", {"current_password": PASSWORD,
                                                            "new_password": "password1234"})
    assert common.status_code == 422 and "Choose a less common password" in text_of(common.text)
    assert 'value="password1234"' not in common.text  # passwords are never echoed back
    web.submit("/", "/signout")
    web.sign_in("raj")  # nothing changed


def test_settings_need_a_sign_in(web):
    r = web.get("/settings")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/settings"


def test_sign_up_with_a_registered_address_looks_like_any_sign_up(web, factory, session):
    factory.user("owner", email="owner@example.com")
    session.commit()
    taken = web.submit("/signup", "/signup", {"username": "newbie", "email": "Owner@Example.com",
                                              "password": "quiet meadow lantern", "next": "/"})
    other = _browser(web.client.app)
    free = other.submit("/signup", "/signup", {"username": "newbie2", "email": "fresh@example.com",
                                               "password": "quiet meadow lantern", "next": "/"})
    assert taken.status_code == free.status_code == 303
    assert taken.headers["location"] == free.headers["location"] == "/"
    assert text_of(web.follow(taken).text).replace("newbie", "X") == text_of(other.follow(free).text).replace(
        "newbie2", "X").replace("newbie", "X")
    [newbie] = db_rows(session, select(User).where(User.username == "newbie"))
    assert newbie.email_key is None  # created, but it does not own the address


def test_sign_up_refuses_reserved_names_and_keeps_the_form(web, session):
    r = web.submit("/signup", "/signup", {"username": "Support-Team", "email": "st@example.com",
                                          "password": "quiet meadow lantern"})
    assert r.status_code == 422
    assert "is reserved" in text_of(r.text) and 'value="Support-Team"' in r.text and 'value="st@example.com"' in r.text
    assert 'value="quiet meadow lantern"' not in r.text
    assert db_rows(session, select(User)) == []


def test_sign_up_refuses_common_passwords_with_a_reason(web, session):
    r = web.submit("/signup", "/signup", {"username": "nadia", "email": "nadia@example.com",
                                          "password": "iloveyou2026"})
    assert r.status_code == 422 and "Choose a less common password" in text_of(r.text)
    assert 'id="f-password-error"' in r.text and 'value="nadia"' in r.text
    assert db_rows(session, select(User)) == []


def test_sign_up_keeps_the_password_exactly(web, session):
    password = "  my spaced out passphrase  "
    r = web.submit("/signup", "/signup", {"username": "spacey", "email": "spacey@example.com", "password": password})
    assert r.status_code == 303
    web.submit("/", "/signout")
    assert web.submit("/signin", "/signin", {"username": "spacey", "password": password.strip()}).status_code == 400
    web.sign_in("spacey", password)
