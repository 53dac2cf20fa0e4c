"""The sign-up form refuses a username holding an invisible character, names it, and keeps what
was typed (the API's rule, app/accounts/schemas.py UserCreate). Both databases."""

from __future__ import annotations

import html

from sqlmodel import select

from app.accounts.models import User
from tests.web.conftest import db_rows


def test_signup_names_the_invisible_character_and_keeps_the_text(web, session):
    typed = "raj\u200bbuilds"
    r = web.submit("/signup", "/signup", {"username": typed, "email": "raj@example.com",
                                          "password": "a long enough password", "next": "/"})
    assert r.status_code == 422
    page = html.unescape(r.text)
    assert "U+200B ZERO WIDTH SPACE" in page
    assert f'value="{typed}"' in page
    assert db_rows(session, select(User)) == []
    r = web.submit("/signup", "/signup", {"username": "raj_builds", "email": "raj@example.com",
                                          "password": "a long enough password", "next": "/"})
    assert r.status_code == 303
    assert [u.username for u in db_rows(session, select(User))] == ["raj_builds"]
