"""Display names cannot pass for staff or hide text (docs/moderation.md, "Display names"): trimmed,
a visible character, no format/control characters, and for members who are not staff no
look-alike of a staff member's name, no "support"/"staff"/"admin"... and no site name in brackets.
API (PATCH /api/v1/me/settings) and web (/settings/profile, keeping the typed text). Both databases."""

from __future__ import annotations

import unicodedata

import pytest

from app.accounts.identity import display_name_key
from tests.api.conftest import API, assert_problem
from tests.web.conftest import browsers, csrf_from  # noqa: F401  (fixture)


@pytest.fixture
def people(client, factory, session, login):
    lena = factory.user("lena_k", role="staff")
    lena.display_name = "Lena (Kestrel Support)"
    session.add(lena)
    factory.user("mo_mod", role="moderator")
    cara = factory.user("cara")
    session.commit()
    return {"cara": login(cara), "lena": login(lena)}


def _set(client, headers, name):
    return client.patch(f"{API}/me/settings", json={"display_name": name}, headers=headers)


@pytest.mark.parametrize("name", [
    "Lena (Kestrel Support)", "lena (kestrel support)", "Lena (Kestrel 5upport)", "Lеna (Kestrel Support)",  # Cyrillic е
    "Lena(KestrelSupport)", "lena_k", "LENA-K", "mo_mod", "Cara (Support)", "Cara - staff", "Official Cara",
    "Cara [admin]", "Cara (Kestrel Community)", "Cara [Kestrel]",
])
def test_a_member_cannot_pass_for_staff(client, people, name):
    body = assert_problem(_set(client, people["cara"], name), 422)
    assert body["errors"][0]["loc"][-1] == "display_name" and body["errors"][0]["msg"]


@pytest.mark.parametrize("name", ["\u202eLena", "Ca\u200bra", "   ", "\u3164", "Cara\u2800", "Cara\x07"])
def test_invisible_and_blank_names_are_refused(client, people, name):
    body = assert_problem(_set(client, people["cara"], name), 422)
    assert body["errors"][0]["loc"][-1] == "display_name"


@pytest.mark.parametrize("name", ["a" + "\u0301" * 59, "Cara\u0300\u0301\u0302\u0303\u0304", "C\u20dd" * 2 + "\u0489" * 5])
def test_stacked_combining_marks_are_refused(client, people, name):
    """More than four combining marks on one character draw over the page (app/core/text.py)."""
    body = assert_problem(_set(client, people["cara"], name), 422)
    assert body["errors"][0]["loc"][-1] == "display_name" and "combining marks" in body["errors"][0]["msg"]


@pytest.mark.parametrize("name", ["Nguyễn Thị Ánh", "Nguye\u0302\u0303n", "नमस्ते", "Ca\u0301\u0302\u0303\u0304ra"])
def test_accents_that_scripts_use_are_kept(client, people, name):
    r = _set(client, people["cara"], name)
    assert r.status_code == 200, r.text
    # kept, in Unicode's composed form (NFC: app/core/text.py clean_single_line), which shows the same
    assert r.json()["display_name"] == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize("name, stored", [("  Cara   Ng ", "Cara Ng"), ("", ""), ("Léna Müller", "Léna Müller"),
                                          ("Cara (Kestrel fan)", None), ("José 😀", "José 😀")])
def test_ordinary_names_are_kept_trimmed(client, people, name, stored):
    r = _set(client, people["cara"], name)
    if stored is None:  # "Kestrel" is the site name's word: refused in brackets only
        assert_problem(r, 422)
        return
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == stored


def test_staff_keep_their_own_name_and_site_word_outside_brackets_is_fine(client, people):
    assert _set(client, people["lena"], "Lena (Kestrel Support)").status_code == 200
    assert _set(client, people["cara"], "Kestrel fan Cara").status_code == 200


def test_keys_fold_look_alikes():
    assert display_name_key("Lena (Kestrel Support)") == display_name_key("Lеna(Kestrel 5upp0rt)")
    assert display_name_key("Lena") != display_name_key("Lina")


def test_web_form_keeps_the_typed_text(people, browsers):
    me = browsers()
    me.sign_in("cara")
    page = me.get("/settings/account")
    r = me.post("/settings/profile", {"csrf_token": csrf_from(page.text), "display_name": "Lena (Kestrel Support)"})
    assert r.status_code == 422
    assert "too close to a staff member" in r.text or "may not" in r.text
    assert 'value="Lena (Kestrel Support)"' in r.text
    zalgo = "Cara" + "\u0301" * 12
    r = me.post("/settings/profile", {"csrf_token": csrf_from(page.text), "display_name": zalgo})
    assert r.status_code == 422 and "combining marks" in r.text
    assert f'value="{zalgo}"' in r.text
