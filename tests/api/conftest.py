"""Helpers for the JSON API tests: sign in, read the database afresh, check problem+json."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from tests.factories import PASSWORD

API = "/api/v1"


def assert_problem(r, status: int) -> dict:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def login(client):
    """login(user_or_username) -> Authorization headers for a bearer token."""

    def _login(user, password: str = PASSWORD) -> dict[str, str]:
        name = user if isinstance(user, str) else user.username
        r = client.post(f"{API}/auth/token", data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return _login


@pytest.fixture
def count(clean_engine):
    """count(Model, *where) in a fresh, short read session (never holds a lock across requests)."""

    def _count(model, *where) -> int:
        with Session(clean_engine) as s:
            return s.exec(select(func.count()).select_from(model).where(*where)).one()

    return _count


@pytest.fixture
def fetch(clean_engine):
    """fetch(Model, id): the row as the database holds it now."""

    def _fetch(model, pk):
        with Session(clean_engine, expire_on_commit=False) as s:
            return s.get(model, pk)

    return _fetch


QUESTION = {
    "title": "Dock Pro will not charge at 100 W",
    "body": "It only charges at 60 W with the supplied cable, why is that?",
    "tags": ["dock", "charging"],
    "product": None,
}
