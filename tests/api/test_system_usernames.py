"""Names the system gives accounts (`deleted-<id>`, the importer's `deleted-<site>`, `deleted-user`)
cannot be taken by anyone, and deleting an account never fails on its new name, even when a
database from before the rule holds a `deleted-<id>` squatter (docs/operations.md, "System names")."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts import identity
from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.accounts.schemas import UserCreate
from app.core.errors import InvalidInput
from tests.api.conftest import API, assert_problem
from tests.factories import PASSWORD, make_user
from tests.web.conftest import browsers, db_rows, text_of  # noqa: F401  (browsers: a fixture)

SYSTEM_LIKE = ["deleted-99", "Deleted_7", "de1eted-7", "deleted7", "deleted", "deleted-user", "deleted-kestrel",
               "-deleted--3", "de1eted7"]


def _register(client, username: str, email: str | None = None):
    return client.post(f"{API}/auth/register", json={"username": username, "email": email or "x1@example.com",
                                                     "password": "a long enough password"})


@pytest.mark.parametrize("name", SYSTEM_LIKE)
def test_sign_up_refuses_system_names(client, count, name):
    body = assert_problem(_register(client, name), 422)
    assert any("username" in e["loc"] for e in body["errors"]), body
    assert "reserved" in body["errors"][0]["msg"] or "reserved" in body["detail"]
    assert count(User) == 0


@pytest.mark.parametrize("name", ["deletedscenes", "undeleted-1", "del-7"])
def test_names_that_only_contain_the_word_stay_free(client, name):
    assert _register(client, name).status_code == 201


def test_staff_create_user_cannot_take_a_system_name_either(session):
    with pytest.raises(InvalidInput) as exc:
        accounts_service.register(session, UserCreate(username="deleted-5", email="d5@example.com", password=PASSWORD),
                                  role=Role.staff)
    assert "reserved" in str(exc.value.detail) or "reserved" in str(exc.value)
    # reserved words stay allowed for staff; only system names are refused to everyone
    assert accounts_service.register(session, UserCreate(username="support", email="s@example.com",
                                                         password=PASSWORD), role=Role.staff).id


def test_the_reported_attack_no_longer_blocks_deletion(client, session, login):
    victim = make_user(session, "victim")
    session.commit()
    assert_problem(_register(client, f"deleted-{victim.id}"), 422)
    r = client.request("DELETE", f"{API}/me", headers=login("victim"), json={"password": PASSWORD})
    assert r.status_code == 204, r.text
    session.expire_all()
    assert session.get(User, victim.id).username == f"deleted-{victim.id}"


def test_deletion_picks_a_free_name_next_to_squatters_from_before_the_rule(client, session, login):
    victim = make_user(session, "victim")
    # Accounts made before the rule (written directly: sign-up refuses these names now).
    for name in (f"deleted-{victim.id}", f"deleted-{victim.id}-2"):
        session.add(User(username=name, username_key=identity.username_key(name), email=f"{name}@example.com",
                         email_key=identity.email_key(f"{name}@example.com"), password_hash=None))
    session.commit()
    r = client.request("DELETE", f"{API}/me", headers=login("victim"), json={"password": PASSWORD})
    assert r.status_code == 204, r.text
    session.expire_all()
    assert session.get(User, victim.id).username == f"deleted-{victim.id}-3"
    assert len(db_rows(session, select(User).where(User.username.startswith("deleted-")))) == 3


def test_forum_sign_up_refuses_a_system_name_and_keeps_the_form(browsers, session):
    web = browsers()
    r = web.submit("/signup", "/signup", {"username": "deleted-12", "email": "d12@example.com",
                                          "password": "quiet meadow lantern"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "is reserved" in text_of(r.text) and 'value="deleted-12"' in r.text and 'value="d12@example.com"' in r.text
    assert db_rows(session, select(User)) == []
