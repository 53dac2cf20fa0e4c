"""A required free text that is blank once invisible characters are set aside is empty: 422 at
its field (app/core/text.py is_blank / require_text / Visible), never stored. A newcomer's trial
flagged a post "other" with a reason of zero-width spaces only; the same held for close and
suspension reasons, escalation notes, tickets and resolutions, saved-view, API key and product
names. Optional texts made of them (edit summaries, a flag's details) are stored as "". Both
databases, the real app."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.errors import InvalidInput
from app.core.text import is_blank, optional_text, require_text
from app.escalation import service as esc_service
from app.moderation.models import Flag
from app.questions.models import Revision
from tests.api.conftest import API, assert_problem

# Each shows nothing: zero-width space, ZWJ, word joiner, BOM, bidi marks, NBSP only, combining
# marks with nothing to sit on, soft hyphen, Hangul filler, a mix with ordinary spaces.
BLANKS = ["\u200b", "\u200d\u200d", "\u2060", "\ufeff", "\u200e\u200f\u061c", "\u00a0\u00a0", "\u0301\u0308",
          "\u00ad", "\u3164", " \u200b \u2060\u00a0\t"]


@pytest.mark.parametrize("text", BLANKS, ids=repr)
def test_the_helper_sees_invisible_only_text_as_blank(text):
    assert is_blank(text) and optional_text(text) == ""
    with pytest.raises(InvalidInput) as caught:
        require_text("reason", text, "Give the reason.")
    assert caught.value.errors[0]["loc"] == ["body", "reason"]


@pytest.mark.parametrize("text", ["x", "é", "\u200bspam\u200b", "👩\u200d💻", "नमस्ते", " a "], ids=repr)
def test_text_that_shows_is_kept_trimmed(text):
    assert not is_blank(text) and require_text("text", text, "m") == text.strip()


@pytest.fixture
def people(factory, session):
    class P:
        author = factory.user("raj")
        flagger = factory.user("lena", reputation=500)
        mod = factory.user("mira", role="moderator")
        staff = factory.user("sam", role="staff")
        q = factory.question(author)

    session.commit()
    return P


@pytest.mark.parametrize("text", BLANKS, ids=repr)
def test_an_other_flag_needs_visible_text(client, login, session, people, text):
    r = client.post(f"{API}/questions/{people.q.id}/flags", json={"reason": "other", "text": text},
                    headers=login(people.flagger))
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "text"] and "invisible" in body["detail"]
    assert session.exec(select(Flag)).all() == []


def test_a_flag_with_visible_text_is_kept_and_blank_details_are_no_details(client, login, session, people):
    h = login(people.flagger)
    r = client.post(f"{API}/questions/{people.q.id}/flags", json={"reason": "other", "text": " \u200bLinks to a scam "},
                    headers=h)
    assert r.status_code == 201 and r.json()["text"] == "\u200bLinks to a scam"
    a = people.q  # a second post for the second flag
    answer = client.post(f"{API}/questions/{a.id}/answers", headers=login(people.author),
                         json={"body": "Roll back the driver from Device Manager and reboot."}).json()
    r = client.post(f"{API}/answers/{answer['id']}/flags", json={"reason": "off_topic", "text": "\u200b\u2060"}, headers=h)
    assert r.status_code == 201 and r.json()["text"] == ""


@pytest.mark.parametrize("text", ["\u200b", "\u00a0\u200e"], ids=repr)
def test_moderator_reasons_need_visible_text(client, login, session, people, text):
    h = login(people.mod)
    body = assert_problem(client.post(f"{API}/questions/{people.q.id}/close", json={"reason": text}, headers=h), 422)
    assert body["errors"][0]["loc"] == ["body", "reason"]
    body = assert_problem(client.post(f"{API}/users/raj/suspend", json={"days": 3, "reason": text}, headers=h), 422)
    assert body["errors"][0]["loc"] == ["body", "reason"]
    session.expire_all()
    assert people.q.status == "open" and people.author.suspended_until is None


@pytest.mark.parametrize("text", ["\u200b", "\ufeff\u200d"], ids=repr)
def test_escalation_texts_need_visible_text(client, login, session, people, text):
    esc, _ = esc_service.escalate(session, actor=people.staff, question_id=people.q.id, reason="stuck")
    session.commit()
    h = login(people.staff)
    for path, field in (("notes", "body"), ("hand-off", "ticket")):
        body = assert_problem(client.post(f"{API}/escalations/{esc.id}/{path}", json={field: text}, headers=h), 422)
        assert body["errors"][0]["loc"] == ["body", field], body
    body = assert_problem(client.post(f"{API}/escalations/{esc.id}/resolve", headers=h, json={
        "resolution": text, "answer_body": "Update the dock firmware to 1.3 from the support site."}), 422)
    assert body["errors"][0]["loc"] == ["body", "resolution"]
    # The services refuse it too, whoever calls them (the web forms do).
    with pytest.raises(InvalidInput):
        esc_service.add_note(session, actor=people.staff, escalation_id=esc.id, body=text)
    with pytest.raises(InvalidInput):
        esc_service.hand_off(session, actor=people.staff, escalation_id=esc.id, ticket=text)


def test_names_need_visible_text(client, login, session, people):
    h = login(people.staff)
    body = assert_problem(client.post(f"{API}/me/views", headers=h, json={"name": "\u200b\u200b", "filters": {}}), 422)
    assert body["errors"][0]["loc"][-1] == "name"
    body = assert_problem(client.post(f"{API}/products", headers=login(factory_admin(session)), json={
        "slug": "dock-pro", "name": "\u200b\u200b\u200b", "description": ""}), 422)
    assert body["errors"][0]["loc"] == ["body", "name"]


def factory_admin(session):
    from tests.factories import make_user

    admin = make_user(session, "ada", role="admin")
    session.commit()
    return admin


def test_an_edit_summary_of_invisible_characters_is_no_summary(client, login, session, people):
    r = client.patch(f"{API}/questions/{people.q.id}", headers=login(people.author), json={
        "body": "After the latest update my Wi-Fi keeps dropping every two minutes.", "comment": "\u200b\u200b"})
    assert r.status_code == 200, r.text
    session.expire_all()
    comments = [rev.comment for rev in session.exec(select(Revision).where(Revision.post_id == people.q.id)).all()]
    assert "\u200b\u200b" not in comments and comments[-1] == ""


def test_optional_moderator_reasons_of_invisible_characters_are_none(client, login, session, people):
    from app.moderation.models import AuditEntry

    h = login(people.mod)
    assert client.post(f"{API}/users/raj/suspend", json={"days": 3, "reason": "Spam links"}, headers=h).status_code == 200
    assert client.delete(f"{API}/users/raj/suspend", headers=h).status_code == 200
    r = client.post(f"{API}/moderation/blocked-emails", json={"pattern": "@spam.example", "reason": "\u200b\u2060"},
                    headers=h)
    assert r.status_code == 201, r.text
    session.expire_all()
    reasons = [e.reason for e in session.exec(select(AuditEntry)).all()]
    assert not any(r is not None and is_blank(r) for r in reasons), reasons
