"""Registration refuses a username holding an invisible character instead of stripping it: the
account would otherwise get a name other than the one typed ("raj\u200bbuilds" became
"rajbuilds"). 422 at ["body", "username"] naming the character ("U+200B ZERO WIDTH SPACE").
Display names already refused them; now the message names the character too, and a zero-width
joiner inside an emoji sequence (👩‍💻) is kept. Both databases."""

from __future__ import annotations

import pytest

from app.accounts.models import User
from tests.api.conftest import API, assert_problem


def _register(client, username: str):
    return client.post(f"{API}/auth/register", json={"username": username, "email": "raj@example.com",
                                                    "password": "a long enough password"})


@pytest.mark.parametrize("char, name", [
    ("\u200b", "U+200B ZERO WIDTH SPACE"), ("\u200d", "U+200D ZERO WIDTH JOINER"), ("\u2060", "U+2060 WORD JOINER"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"), ("\u200e", "U+200E LEFT-TO-RIGHT MARK"),
    ("\u00ad", "U+00AD SOFT HYPHEN"), ("\u00a0", "U+00A0 NO-BREAK SPACE"), ("\u3164", "U+3164 HANGUL FILLER"),
    ("\x07", "U+0007"),
], ids=lambda v: v if v.startswith("U+") else repr(v))
def test_an_invisible_character_in_a_new_username_is_named_and_refused(client, count, char, name):
    # Whitespace at the ends is trimmed as before (NBSP is whitespace); anywhere else it is refused.
    ends = [] if char.isspace() else [f"{char}rajbuilds", f"rajbuilds{char}"]
    for typed in (f"raj{char}builds", *ends):
        body = assert_problem(_register(client, typed), 422)
        error = body["errors"][0]
        assert error["loc"] == ["body", "username"], body
        assert name in error["msg"], error["msg"]
    assert count(User) == 0


def test_what_shows_is_still_folded_and_plain_spaces_at_the_ends_trimmed(client):
    r = _register(client, "  Ｒａｊ_Builds ")
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "raj_builds"


@pytest.fixture
def cara(factory, session, login):
    user = factory.user("cara")
    session.commit()
    return login(user)


def test_display_names_name_the_character_and_keep_emoji_sequences(client, cara):
    body = assert_problem(client.patch(f"{API}/me/settings", json={"display_name": "Ca\u200bra"}, headers=cara), 422)
    assert "U+200B ZERO WIDTH SPACE" in body["errors"][0]["msg"]
    for name in ("Cara 👩\u200d💻", "Cara 🏳\ufe0f\u200d🌈", "Cara 👍🏽"):
        r = client.patch(f"{API}/me/settings", json={"display_name": name}, headers=cara)
        assert r.status_code == 200, (name, r.text)
    for name in ("Cara\u200d", "Ca\u200dra", "\u200d👩"):  # a joiner that joins no emoji
        body = assert_problem(client.patch(f"{API}/me/settings", json={"display_name": name}, headers=cara), 422)
        assert "U+200D ZERO WIDTH JOINER" in body["errors"][0]["msg"]
