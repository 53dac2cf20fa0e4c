"""Refused writes are not held against a person (app.core.ratelimit.RefundRefusedAttempts): a sign-up,
question or post answered 422 or 409 wrote nothing, so it does not use up the allowance; accepted
ones still count, and sign-in attempts always count. Both databases, the real limiter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.ratelimit import LIMITS
from tests.api.conftest import API, assert_problem
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.web.conftest import Browser

QUESTION = {"title": "Dock firmware update stops at 40 percent", "body": "The updater freezes at 40% and the dock reboots.",
            "tags": ["firmware"]}


@pytest.fixture
def limited(clean_engine, db_url):
    from app.main import create_app

    app = create_app(make_settings(db_url, rate_limits="on"), clean_engine)
    with TestClient(app) as c:
        yield c


def _register(client, name: str, password: str = "orchid ferret lantern 7731"):
    return client.post(f"{API}/auth/register", json={"username": name, "email": f"{name}@example.com",
                                                      "password": password})


def test_refused_sign_ups_do_not_use_up_the_allowance(limited):
    allowance = LIMITS["sign-up"].count
    refused = [_register(limited, "admin"), _register(limited, "Support_Team"), _register(limited, "kestrel"),
               _register(limited, "wren_a", password="password1234"),  # a common password
               _register(limited, "wren_b", password="wren_b wren_b wren_b")]  # contains the username
    refused += [_register(limited, "wren_c", password="x")]  # schema: too short
    assert len(refused) > allowance
    for r in refused:
        assert_problem(r, 422)
    accepted = [_register(limited, f"newcomer{i}") for i in range(allowance)]
    assert [r.status_code for r in accepted] == [201] * allowance
    # Accepted sign-ups still count: the next one is limited.
    assert_problem(_register(limited, "one_too_many"), 429)


def test_a_taken_username_does_not_use_up_the_allowance(limited):
    assert _register(limited, "sam_taken").status_code == 201
    for _ in range(LIMITS["sign-up"].count + 1):
        assert_problem(_register(limited, "sam_taken"), 409)
    assert _register(limited, "sam_free").status_code == 201


def test_refused_questions_do_not_use_up_the_allowance(limited, factory, session):
    # An established member: new members have a stricter hourly limit of their own (docs/moderation.md).
    factory.user("asker", reputation=10)
    session.commit()
    token = limited.post(f"{API}/auth/token", data={"username": "asker", "password": PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    allowance = LIMITS["question"].count
    for i in range(allowance + 2):
        bad = [{**QUESTION, "tags": ["wi!fi"]}, {**QUESTION, "title": "\u200b" * 20},
               {**QUESTION, "body": "too short"}][i % 3]
        assert_problem(limited.post(f"{API}/questions", json=bad, headers=h), 422)
    for i in range(allowance):
        r = limited.post(f"{API}/questions", json={**QUESTION, "title": f"{QUESTION['title']} ({i})"}, headers=h)
        assert r.status_code == 201, r.text
    assert_problem(limited.post(f"{API}/questions", json={**QUESTION, "title": QUESTION["title"] + " again"},
                                headers=h), 429)


def test_failed_sign_ins_still_count(limited, factory, session):
    factory.user("victim")
    session.commit()
    for _ in range(LIMITS["sign-in"].count):
        assert_problem(limited.post(f"{API}/auth/token", data={"username": "victim", "password": "wrong guess 1"}), 401)
    assert_problem(limited.post(f"{API}/auth/token", data={"username": "victim", "password": PASSWORD}), 429)


def test_refused_forum_sign_ups_do_not_use_up_the_allowance(clean_engine, db_url):
    from app.main import create_app

    app = create_app(make_settings(db_url, rate_limits="on"), clean_engine)
    with TestClient(app, headers={"Accept": "text/html"}) as client:
        web = Browser(client)
        for name in ("admin", "moderator", "staff_team", "support", "kestrel", "adm1n"):
            r = web.submit("/signup", "/signup", {"username": name, "email": f"{name}@example.com",
                                                  "password": "orchid ferret lantern 7731"})
            assert r.status_code == 422, (name, r.status_code)
            assert f'value="{name}"' in r.text  # the typed name is kept
        r = web.submit("/signup", "/signup", {"username": "real_newcomer", "email": "real@example.com",
                                              "password": "orchid ferret lantern 7731"})
        assert r.status_code in (200, 303), r.status_code
        assert "Too many sign-ups" not in r.text
