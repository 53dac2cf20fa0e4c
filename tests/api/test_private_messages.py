"""GET/POST /api/v1/escalations/{id}/messages: the asker and staff only (404 for everyone else,
moderators included), problem+json on bad input, never cached; and the message text on no public
path at all (pages, API, search, sitemap, profiles, webhooks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.core.db import utcnow
from app.escalation import service as esc_service
from app.escalation.models import EscalationEvent
from app.webhooks.models import WebhookEvent
from tests.api.conftest import API, assert_problem
from tests.api.test_escalation import people  # noqa: F401  (fixture: lena, omar, sam, omar_mod, maya, raj)

SERIAL = "KST-4471-99812"
ADDRESS = "14 Rue des Lilas"


def claimed_escalation(session, factory, asker, agent, title: str = "Dock Pro does not charge the Aero 14"):
    """A question by `asker`, escalated and claimed by `agent` (committed); returns (question, escalation)."""
    q = factory.question(author=asker, title=title)
    e, _ = esc_service.escalate(session, actor=agent, question_id=q.id, reason="Needs the serial")
    esc_service.claim(session, actor=agent, escalation_id=e.id)
    session.commit()
    return q, e


@pytest.fixture
def esc(session, people, factory):
    return claimed_escalation(session, factory, people.maya, people.lena)[1]


def test_private_messages_visible_to_exactly_the_asker_and_staff(client, people, esc, login, clean_engine):
    url = f"{API}/escalations/{esc.id}/messages"
    r = client.post(url, json={"body": f"My serial is **{SERIAL}**"}, headers=login(people.maya))
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["from_staff"], mine["author"]["username"], mine["escalation_id"]) == (False, "maya", esc.id)
    assert "<strong>" in mine["body_html"] and r.headers["cache-control"] == "private, no-store"
    r = client.post(url, json={"body": "Thanks, we are sending a replacement."}, headers=login(people.lena))
    assert r.status_code == 201 and r.json()["from_staff"] is True
    for who in (people.maya, people.lena, people.omar, people.admin):
        r = client.get(url, headers=login(who))
        assert r.status_code == 200, (who.username, r.text)
        body = r.json()
        assert [m["id"] for m in body["items"]] == [mine["id"], mine["id"] + 1]
        assert body["next_cursor"] is None and body["can_write"] is True and body["status"] == "claimed"
        assert r.headers["cache-control"] == "private, no-store"
        # the asker sees "our support team", never the agent; staff see who wrote what
        assert [m["author"] and m["author"]["username"] for m in body["items"]] == \
            ["maya", None if who is people.maya else "lena"]
    for who in (people.mod, people.raj):
        assert_problem(client.get(url, headers=login(who)), 404)
        assert_problem(client.post(url, json={"body": "let me in"}, headers=login(who)), 404)
    assert_problem(client.get(url), 401)
    assert_problem(client.post(url, json={"body": "anonymous"}), 401)
    assert_problem(client.get(f"{API}/escalations/{esc.id + 500}/messages", headers=login(people.lena)), 404)
    # three staff reads (lena, omar, sam): three audit events, none with the text
    with Session(clean_engine) as s:
        reads = s.exec(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id,
                                                     EscalationEvent.kind == "messages_read")).all()
    assert sorted(e.actor_id for e in reads) == sorted([people.lena.id, people.omar.id, people.admin.id])
    assert all(SERIAL not in e.detail for e in reads)
    r = client.get(f"{API}/escalations/{esc.id}", headers=login(people.lena))
    assert SERIAL not in r.text and "messages_read" in r.text


def test_bad_input_is_a_problem_and_a_resolved_thread_is_closed(client, people, esc, login, session):
    url = f"{API}/escalations/{esc.id}/messages"
    for payload in ({"body": ""}, {"body": " x "}, {}, {"body": "a" * 10_001}, {"body": "ok ok", "extra": 1},
                    {"body": "nul \u0000 here"}):
        problem = assert_problem(client.post(url, json=payload, headers=login(people.maya)), 422)
        assert problem.get("errors") or "NUL" in problem["detail"]
    assert_problem(client.get(f"{API}/escalations/abc/messages", headers=login(people.maya)), 422)
    esc_service.resolve(session, actor=people.lena, escalation_id=esc.id, resolution="Replaced",
                        answer_body="A firmware update for the dock fixes charging: version 2.1.")
    session.commit()
    assert_problem(client.post(url, json={"body": "one more"}, headers=login(people.maya)), 409)
    r = client.get(url, headers=login(people.maya))
    assert r.json()["can_write"] is False
    assert r.json()["deletes_at"].startswith((utcnow() + timedelta(days=30)).date().isoformat())


def test_the_message_text_is_on_no_public_path(client, people, esc, login, session, clean_engine, settings):
    from app.search import outbox
    from app.search import service as search_service
    from app.webhooks import service as webhooks_service

    webhooks_service.create_endpoint(session, actor=people.admin, url="https://tickets.kestrel.example/hooks",
                                     events=list(webhooks_service.EVENTS), description="Everything")
    session.commit()
    url = f"{API}/escalations/{esc.id}/messages"
    assert client.post(url, json={"body": f"Serial {SERIAL}, ship to {ADDRESS}"},
                       headers=login(people.maya)).status_code == 201
    assert client.post(url, json={"body": f"Replacement for {SERIAL} is on its way to {ADDRESS}."},
                       headers=login(people.lena)).status_code == 201
    r = client.post(f"{API}/escalations/{esc.id}/resolve", headers=login(people.lena),
                    json={"resolution": "Replaced the dock",
                          "answer_body": "A firmware update for the dock fixes charging: version 2.1."})
    assert r.status_code == 200, r.text
    outbox.drain(clean_engine, encoder=search_service.encoder_for(settings))
    q = client.get(f"{API}/questions/{esc.question_id}").json()
    paths = [f"/questions/{esc.question_id}", f"/questions/{esc.question_id}/{q['url'].rsplit('/', 1)[-1]}",
             "/", "/questions", "/search?q=99812", "/search?q=Lilas", "/sitemap.xml", "/users/maya",
             "/users/maya?tab=questions", "/users/lena?tab=answers", "/tags/wifi",
             f"{API}/questions/{esc.question_id}", f"{API}/questions", f"{API}/search?q=99812",
             f"{API}/search?q=Lilas", f"{API}/users/maya", f"{API}/questions/similar?title=Dock+99812+Lilas"]
    for who in (None, people.raj, people.mod):
        headers = login(who) if who else {}
        for path in paths:
            r = client.get(path, headers={**headers, "Accept": "text/html"}, follow_redirects=True)
            assert r.status_code == 200, (path, r.status_code)
            assert SERIAL not in r.text and ADDRESS not in r.text, (who and who.username, path)
            if "search" in path:  # (the query itself is shown back): the question is not a result
                assert "Dock Pro does not charge" not in r.text, path
    # the search index holds nothing of it, and webhooks carried nothing of it
    for found in (client.get(f"{API}/search?q=99812").json()["items"],
                  client.get(f"{API}/search?q=Lilas").json()["items"]):
        assert found == []
    with Session(clean_engine) as s:
        payloads = [e.payload for e in s.exec(select(WebhookEvent)).all()]
    assert payloads and all(SERIAL not in p and ADDRESS not in p for p in payloads)
