"""Accounts: register, token, /me, /users/{username}, token revocation, API keys, cookie + CSRF."""

from __future__ import annotations

import json
from base64 import b64encode

import itsdangerous
import pytest

from app.accounts import service as accounts_service
from app.accounts.models import User
from tests.api.conftest import API, QUESTION, assert_problem
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD

USER_KEYS = {"id", "username", "reputation", "role"}


def test_register_returns_201_user(client, count):
    r = client.post(f"{API}/auth/register",
                    json={"username": "Ada_L", "email": "Ada@Example.com", "password": "a long enough password"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert USER_KEYS <= body.keys()
    assert body["username"] == "ada_l"
    assert body["role"] == "customer"
    assert isinstance(body["id"], int) and isinstance(body["reputation"], int)
    assert "password" not in json.dumps(body) and "password_hash" not in body
    assert count(User) == 1


def test_register_duplicate_username_is_409_but_a_taken_email_is_not_told(client, count):
    ok = client.post(f"{API}/auth/register", json={"username": "ada", "email": "ada@example.com",
                                                   "password": "a long enough password"})
    assert ok.status_code == 201
    same_name = client.post(f"{API}/auth/register", json={"username": "ADA", "email": "other@example.com",
                                                          "password": "a long enough password"})
    assert_problem(same_name, 409)
    assert count(User) == 1
    # a registered address answers exactly like a free one (issue 10: no account enumeration)
    same_email = client.post(f"{API}/auth/register", json={"username": "bob", "email": "ADA@example.com",
                                                           "password": "a long enough password"})
    free_email = client.post(f"{API}/auth/register", json={"username": "cyd", "email": "cyd@example.com",
                                                           "password": "a long enough password"})
    assert same_email.status_code == free_email.status_code == 201
    assert same_email.json().keys() == free_email.json().keys()
    assert count(User) == 3


@pytest.mark.parametrize("payload, field", [
    ({"username": "ab", "email": "ab@example.com", "password": "a long enough password"}, "username"),
    ({"username": "has space", "email": "x@example.com", "password": "a long enough password"}, "username"),
    ({"username": "okname", "email": "not-an-email", "password": "a long enough password"}, "email"),
    ({"username": "okname", "email": "ok@example.com", "password": "short"}, "password"),
])
def test_register_validation_is_422_problem(client, count, payload, field):
    body = assert_problem(client.post(f"{API}/auth/register", json=payload), 422)
    assert any(field in e["loc"] for e in body["errors"]), body
    assert count(User) == 0


def test_token_password_flow_and_me(client, factory, session):
    user = factory.user("carol")
    session.commit()
    r = client.post(f"{API}/auth/token", data={"username": "carol", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user.id and me.json()["username"] == "carol"
    assert USER_KEYS <= me.json().keys()
    # the email works as the username too
    assert client.post(f"{API}/auth/token", data={"username": "carol@example.com", "password": PASSWORD}).status_code == 200


def test_token_wrong_password_or_unknown_user_is_401(client, factory, session):
    factory.user("carol")
    session.commit()
    wrong = assert_problem(client.post(f"{API}/auth/token", data={"username": "carol", "password": "nope-nope-nope"}), 401)
    unknown = assert_problem(client.post(f"{API}/auth/token", data={"username": "nobody", "password": PASSWORD}), 401)
    assert wrong["detail"] == unknown["detail"]  # does not reveal which accounts exist


def test_token_requires_form_fields(client):
    assert_problem(client.post(f"{API}/auth/token", data={"username": "carol"}), 422)


def test_me_without_token_is_401(client):
    r = client.get(f"{API}/me")
    assert_problem(r, 401)
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer ", "Token abc"])
def test_bad_token_is_401_not_anonymous(client, header):
    assert_problem(client.get(f"{API}/me", headers={"Authorization": header}), 401)
    # even on an endpoint that anonymous callers may read (and that looks at who is asking)
    assert_problem(client.get(f"{API}/questions/1", headers={"Authorization": header}), 401)


def test_token_signed_with_another_key_is_401(client, factory, session):
    from app.core import security

    user = factory.user("mallory")
    session.commit()
    forged = security.issue_token("some-other-secret-key-of-sufficient-length", user.id, 0)
    assert_problem(client.get(f"{API}/me", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_token_refused_after_token_version_bump(client, factory, session, login):
    user = factory.user("dave")
    session.commit()
    headers = login("dave")
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    accounts_service.sign_out_everywhere(session, user)
    session.commit()
    assert_problem(client.get(f"{API}/me", headers=headers), 401)
    # a fresh token works again
    assert client.get(f"{API}/me", headers=login("dave")).status_code == 200


def test_token_of_deactivated_user_is_refused(client, factory, session, login):
    user = factory.user("erin")
    session.commit()
    headers = login("erin")
    user.is_active = False
    session.commit()
    assert_problem(client.get(f"{API}/me", headers=headers), 401)


def test_get_user_by_username(client, factory, session):
    user = factory.user("frank", role="staff")
    session.commit()
    r = client.get(f"{API}/users/frank")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == user.id and body["username"] == "frank" and body["role"] == "staff"
    assert body["reputation"] == user.reputation
    assert "email" not in body  # public profile
    assert client.get(f"{API}/users/FRANK").json()["id"] == user.id
    assert_problem(client.get(f"{API}/users/nobody"), 404)


def test_api_key_acts_as_its_owner(client, factory, session, count):
    from app.questions.models import Question

    owner = factory.user("shop")
    _, plain = accounts_service.create_api_key(session, user=owner, name="kestrel.example", scopes="read ask")
    session.commit()
    me = client.get(f"{API}/me", headers={"X-API-Key": plain})
    assert me.status_code == 200 and me.json()["id"] == owner.id
    r = client.post(f"{API}/questions", json=QUESTION, headers={"X-API-Key": plain})
    assert r.status_code == 201, r.text
    assert r.json()["author"]["id"] == owner.id
    assert_problem(client.get(f"{API}/me", headers={"X-API-Key": "gsk_wrong"}), 401)
    assert count(Question) == 1


def test_revoked_api_key_is_401(client, factory, session):
    owner = factory.user("shop")
    key, plain = accounts_service.create_api_key(session, user=owner, name="kestrel.example")
    accounts_service.revoke_api_key(session, key.id)
    session.commit()
    assert_problem(client.get(f"{API}/me", headers={"X-API-Key": plain}), 401)


def _session_cookie(data: dict, session=None, user=None) -> str:
    """A forum session cookie as Starlette's SessionMiddleware signs it (the web sign-in is not the
    subject here); with `session` and `user`, for a live server-side sign-in session of the user."""
    if user is not None:
        data = {**data, "sid": accounts_service.start_session(session, user, kind="web", max_age=3600)}
        session.commit()
    raw = b64encode(json.dumps(data).encode())
    return itsdangerous.TimestampSigner(TEST_SECRET).sign(raw).decode()


def test_cookie_session_reads_without_csrf(client, factory, session):
    user = factory.user("gina")
    session.commit()
    client.cookies.set("gs_session", _session_cookie({"uid": user.id, "tv": 0, "csrf": "tok-123"}, session, user))
    r = client.get(f"{API}/me")
    assert r.status_code == 200 and r.json()["id"] == user.id


def test_cookie_write_without_csrf_token_is_403(client, factory, session, count):
    from app.questions.models import Question

    user = factory.user("gina")
    session.commit()
    client.cookies.set("gs_session", _session_cookie({"uid": user.id, "tv": 0, "csrf": "tok-123"}, session, user))
    assert_problem(client.post(f"{API}/questions", json=QUESTION), 403)
    assert_problem(client.post(f"{API}/questions", json=QUESTION, headers={"X-CSRF-Token": "wrong"}), 403)
    assert count(Question) == 0
    ok = client.post(f"{API}/questions", json=QUESTION, headers={"X-CSRF-Token": "tok-123"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["author"]["id"] == user.id
    assert count(Question) == 1


def test_cookie_session_with_old_token_version_is_anonymous(client, factory, session):
    user = factory.user("gina")
    user.token_version = 3
    session.commit()
    client.cookies.set("gs_session", _session_cookie({"uid": user.id, "tv": 2, "csrf": "tok"}, session, user))
    assert_problem(client.get(f"{API}/me"), 401)


def test_cookie_without_a_live_server_session_is_anonymous(client, factory, session):
    """A cookie signed with the right key but naming no sign-in session (or a deleted one) is nobody."""
    user = factory.user("gina")
    session.commit()
    client.cookies.set("gs_session", _session_cookie({"uid": user.id, "tv": 0, "csrf": "tok"}))
    assert_problem(client.get(f"{API}/me"), 401)
    client.cookies.set("gs_session", _session_cookie({"uid": user.id, "tv": 0, "csrf": "tok", "sid": "made-up"}))
    assert_problem(client.get(f"{API}/me"), 401)
