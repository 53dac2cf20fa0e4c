"""Usernames that pass for each other are one name (app.accounts.identity.username_key): a newcomer
cannot register `raj-builds` beside the known `raj_builds`. API, forum and CLI-created accounts; the
0011 migration gives existing accounts their key. Both databases."""

from __future__ import annotations

import pytest

from app.accounts.identity import username_key
from tests.api.conftest import API, assert_problem
from tests.web.conftest import Browser

PASSWORD = "orchid ferret lantern 7731"


def _register(client, name: str):
    return client.post(f"{API}/auth/register", json={"username": name, "email": f"{name.strip('_-')}-x@example.com",
                                                      "password": PASSWORD})


@pytest.mark.parametrize("a, b", [
    ("raj_builds", "raj-builds"), ("raj_builds", "raj__builds"), ("raj_builds", "_raj_builds"),
    ("raj_builds", "raj_bui1ds"), ("maya", "MAYA-"), ("tomas_k", "t0mas-k"), ("corn_dog", "com_dog"),
])
def test_look_alike_keys_match(a, b):
    assert username_key(a) == username_key(b)


@pytest.mark.parametrize("a, b", [("raj_builds", "raj_builder"), ("maya", "mayo"), ("ana_b", "anab_c")])
def test_different_names_keep_different_keys(a, b):
    assert username_key(a) != username_key(b)


@pytest.mark.parametrize("look_alike", ["raj-builds", "raj__builds", "_raj_builds", "raj_bui1ds", "Raj-Builds"])
def test_a_look_alike_of_a_member_is_refused_with_409(client, look_alike):
    assert _register(client, "raj_builds").status_code == 201
    body = assert_problem(_register(client, look_alike), 409)
    assert "raj_builds" in body["detail"]


def test_a_different_name_is_free(client):
    assert _register(client, "raj_builds").status_code == 201
    assert _register(client, "raj_builder").status_code == 201


def test_the_forum_form_says_so_and_keeps_the_typed_name(client):
    assert _register(client, "raj_builds").status_code == 201
    client.headers["Accept"] = "text/html"
    web = Browser(client)
    r = web.submit("/signup", "/signup", {"username": "raj-builds", "email": "other@example.com", "password": PASSWORD})
    assert r.status_code == 422
    assert 'value="raj-builds"' in r.text and "too close to the existing" in r.text


def test_upgrade_gives_existing_accounts_their_key(tmp_path):
    from sqlalchemy import text

    from app.core import migrate
    from app.core.db import make_engine

    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    migrate.upgrade(url, "0010_learned_ranking")
    eng = make_engine(url)
    with eng.begin() as conn:
        for name in ("raj_builds", "raj-builds", "maya"):  # a pair from before the rule keeps both names
            conn.execute(text("INSERT INTO users (username, email, role, display_name, bio, reputation, "
                              "token_version, is_active, created_at) VALUES (:u, :e, 'customer', '', '', 1, 0, 1, "
                              "'2026-01-01 00:00:00')"), {"u": name, "e": f"{name}@example.com"})
    migrate.upgrade(url)
    with eng.connect() as conn:
        keys = dict(conn.execute(text("SELECT username, username_key FROM users")).all())
    eng.dispose()
    assert keys == {"raj_builds": "raj_buiids", "raj-builds": "raj_buiids", "maya": "maya"}
