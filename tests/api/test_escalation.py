"""The escalation API as CONTRACT.md states it, and who may call each endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.core.db import utcnow
from app.escalation import service as esc_service
from app.questions.models import Question
from tests.api.conftest import API, assert_problem

CONTRACT_KEYS = {"id", "question_id", "status", "reason", "created_at", "due_at", "assignee", "resolved_at"}


@pytest.fixture
def people(factory, session):
    class P:
        lena = factory.user("lena", role="staff")
        omar = factory.user("omar", role="staff")
        admin = factory.user("sam", role="admin")
        mod = factory.user("omar_mod", role="moderator")
        maya = factory.user("maya")
        raj = factory.user("raj")

    return P


def _age(session, question, **kw):
    session.exec(update(Question).where(Question.id == question.id).values(created_at=utcnow() - timedelta(**kw)))


def test_the_asker_escalates_after_a_day_and_sees_only_the_public_status(client, session, people, factory, login):
    q = factory.question(author=people.maya)
    session.commit()
    r = client.post(f"{API}/questions/{q.id}/escalate", json={"reason": "The driver rollback did not help"},
                    headers=login(people.maya))
    assert_problem(r, 409)
    _age(session, q, hours=25)
    session.commit()
    r = client.post(f"{API}/questions/{q.id}/escalate", json={"reason": "The driver rollback did not help"},
                    headers=login(people.maya))
    assert r.status_code == 201, r.text
    body = r.json()
    assert CONTRACT_KEYS <= set(body)
    assert (body["question_id"], body["status"], body["reason"]) == (q.id, "open", "The driver rollback did not help")
    assert body["public_status"] == "With our support team"
    assert body["assignee"] is None and body["trigger"] is None and body["priority"] is None  # nothing internal
    # staff escalating the same question join the open escalation (200), raising its priority
    r = client.post(f"{API}/questions/{q.id}/escalate", json={"reason": "Important customer"},
                    headers=login(people.lena))
    assert r.status_code == 200 and r.json()["id"] == body["id"] and r.json()["priority"] == 2


def test_escalate_refusals(client, session, people, factory, login):
    q = factory.question(author=people.maya)
    _age(session, q, days=3)
    session.commit()
    assert_problem(client.post(f"{API}/questions/{q.id}/escalate", json={"reason": "help me"}), 401)
    for who in (people.raj, people.mod):
        assert_problem(client.post(f"{API}/questions/{q.id}/escalate", json={"reason": "help me"},
                                   headers=login(who)), 403)
    assert_problem(client.post(f"{API}/questions/{q.id}/escalate", json={"reason": ""}, headers=login(people.maya)), 422)
    assert_problem(client.post(f"{API}/questions/999999/escalate", json={"reason": "help me"},
                               headers=login(people.maya)), 404)


def _escalation(session, people, factory, **kw):
    q = factory.question(author=people.maya, **kw)
    esc, _ = esc_service.escalate(session, actor=people.lena, question_id=q.id, reason="stuck")
    session.commit()
    return q, esc


def test_staff_work_an_escalation_end_to_end(client, session, people, factory, login):
    q, esc = _escalation(session, people, factory)
    lena, omar = login(people.lena), login(people.omar)
    r = client.get(f"{API}/escalations", headers=lena)
    assert r.status_code == 200 and set(r.json()) == {"items", "next_cursor"}
    assert [e["id"] for e in r.json()["items"]] == [esc.id]
    r = client.post(f"{API}/escalations/{esc.id}/claim", headers=lena)
    assert r.status_code == 200 and r.json()["status"] == "claimed"
    assert r.json()["assignee"]["username"] == "lena" and CONTRACT_KEYS <= set(r.json())
    assert_problem(client.post(f"{API}/escalations/{esc.id}/claim", headers=omar), 409)
    r = client.post(f"{API}/escalations/{esc.id}/notes", json={"body": "Probably the 1.2 firmware"}, headers=lena)
    assert r.status_code == 201 and r.json()["kind"] == "note"
    assert client.post(f"{API}/escalations/{esc.id}/wait", json={"note": "asked for logs"}, headers=lena).json()[
        "paused"] is True
    assert client.post(f"{API}/escalations/{esc.id}/resume", headers=lena).json()["status"] == "claimed"
    r = client.post(f"{API}/escalations/{esc.id}/assign", json={"assignee": "omar"}, headers=lena)
    assert r.json()["assignee"]["username"] == "omar"
    assert_problem(client.post(f"{API}/escalations/{esc.id}/release", headers=lena), 403)
    assert client.post(f"{API}/escalations/{esc.id}/release", headers=omar).json()["status"] == "open"
    r = client.post(f"{API}/escalations/{esc.id}/hand-off", json={"ticket": "ZD-77"}, headers=omar)
    assert (r.json()["status"], r.json()["external_ticket"]) == ("handed_off", "ZD-77")
    r = client.post(f"{API}/escalations/{esc.id}/resolve", headers=omar,
                    json={"resolution": "Firmware bug", "answer_body": "Update the dock to firmware 1.2.3."})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved" and r.json()["resolved_at"]
    thread = client.get(f"{API}/questions/{q.id}").json()
    (staff_answer,) = thread["answers"]
    assert staff_answer["is_staff"] and staff_answer["id"] == r.json()["public_answer_id"]
    detail = client.get(f"{API}/escalations/{esc.id}", headers=lena).json()
    assert [e["kind"] for e in detail["events"]] == ["created", "claimed", "note", "waiting", "resumed", "assigned",
                                                      "released", "handed_off", "resolved"]
    assert client.get(f"{API}/escalations?status=resolved", headers=lena).json()["items"][0]["id"] == esc.id
    assert client.get(f"{API}/escalations?status=open", headers=lena).json()["items"] == []
    # the asker is told, through the API too
    r = client.get(f"{API}/notifications", headers=login(people.maya))
    assert r.json()["unread"] == 1 and r.json()["items"][0]["kind"] == "escalation_resolved"


def test_resolve_validation(client, session, people, factory, login):
    _q, esc = _escalation(session, people, factory)
    lena = login(people.lena)
    for body in ({"resolution": "x"}, {"resolution": "x", "answer_body": "a long enough public answer", "answer_id": 1},
                 {"answer_body": "a long enough public answer"}):
        assert_problem(client.post(f"{API}/escalations/{esc.id}/resolve", json=body, headers=lena), 422)
    assert_problem(client.post(f"{API}/escalations/{esc.id}/resolve", json={"resolution": "x", "answer_id": 99999},
                               headers=lena), 422)


def test_queue_is_most_urgent_first_with_filters(client, session, people, factory, login):
    from app.products.schemas import ProductCreate
    from app.products import service as products_service

    aero = products_service.create(session, actor=people.lena, data=ProductCreate(slug="aero", name="Aero"))
    _qa, later = _escalation(session, people, factory)
    _qb, sooner = _escalation(session, people, factory, product="aero")
    _qc, breached = _escalation(session, people, factory)
    _qd, many = _escalation(session, people, factory)
    now = utcnow()
    later.due_at = now + timedelta(hours=6)
    sooner.due_at = now + timedelta(hours=2)
    breached.due_at = breached.respond_by = now - timedelta(hours=1)
    many.due_at, many.affected = later.due_at, 7
    session.add_all([later, sooner, breached, many])
    session.commit()
    lena = login(people.lena)
    items = client.get(f"{API}/escalations", headers=lena).json()["items"]
    assert [e["id"] for e in items] == [breached.id, sooner.id, many.id, later.id]
    assert items[0]["breached"] is True and items[0]["breach"] == "first response" and items[1]["breached"] is False
    assert [e["id"] for e in client.get(f"{API}/escalations?product=aero", headers=lena).json()["items"]] == [sooner.id]
    client.post(f"{API}/escalations/{later.id}/claim", headers=login(people.omar))
    assert [e["id"] for e in client.get(f"{API}/escalations?assignee=omar", headers=lena).json()["items"]] == [later.id]
    assert [e["id"] for e in client.get(f"{API}/escalations?status=claimed", headers=lena).json()["items"]] == [later.id]
    assert len(client.get(f"{API}/escalations?assignee=none", headers=lena).json()["items"]) == 3
    page1 = client.get(f"{API}/escalations?limit=2", headers=lena).json()
    page2 = client.get(f"{API}/escalations?limit=2&cursor={page1['next_cursor']}", headers=lena).json()
    assert [e["id"] for e in page1["items"] + page2["items"]] == [breached.id, sooner.id, many.id, later.id]
    assert page2["next_cursor"] is None
    assert_problem(client.get(f"{API}/escalations?status=bogus", headers=lena), 422)
    assert aero.slug == "aero"


def test_me_too_once_and_counted_in_lists(client, session, people, factory, login):
    q = factory.question(author=people.maya)
    session.commit()
    raj = login(people.raj)
    r = client.post(f"{API}/questions/{q.id}/me-too", headers=raj)
    assert r.status_code == 201 and r.json() == {"question_id": q.id, "count": 1, "me_too": True}
    assert_problem(client.post(f"{API}/questions/{q.id}/me-too", headers=raj), 409)
    assert_problem(client.post(f"{API}/questions/{q.id}/me-too", headers=login(people.maya)), 409)
    assert_problem(client.post(f"{API}/questions/{q.id}/me-too"), 401)
    assert client.get(f"{API}/questions").json()["items"][0]["me_too_count"] == 1
    assert client.get(f"{API}/questions/{q.id}").json()["me_too_count"] == 1
    assert client.delete(f"{API}/questions/{q.id}/me-too", headers=raj).json()["count"] == 0


def test_me_too_customers_hear_when_the_question_is_solved(client, session, people, factory, login):
    q = factory.question(author=people.maya)
    a = factory.answer(q)
    session.commit()
    client.post(f"{API}/questions/{q.id}/me-too", headers=login(people.raj))
    client.post(f"{API}/questions/{q.id}/accept", json={"answer_id": a.id}, headers=login(people.maya))
    raj = login(people.raj)
    r = client.get(f"{API}/notifications", headers=raj).json()
    assert r["unread"] == 1 and r["items"][0]["kind"] == "question_solved"
    assert r["items"][0]["url"].endswith(f"#answer-{a.id}")
    r = client.post(f"{API}/notifications/read", json={"ids": None}, headers=raj)
    assert r.json() == {"marked": 1, "unread": 0}
    assert client.get(f"{API}/notifications?unread=true", headers=raj).json()["items"] == []
    assert_problem(client.get(f"{API}/notifications"), 401)


def test_service_levels_are_staff_editable(client, session, people, factory, login):
    from app.products.schemas import ProductCreate
    from app.products import service as products_service

    products_service.create(session, actor=people.lena, data=ProductCreate(slug="aero", name="Aero"))
    session.commit()
    lena = login(people.lena)
    r = client.get(f"{API}/products/aero/service-level", headers=lena)
    assert r.json()["tier"] == "standard" and r.json()["is_default"] and r.json()["first_response_minutes"] == 480
    r = client.put(f"{API}/products/aero/service-level", json={"tier": "priority", "first_response_minutes": 30},
                   headers=lena)
    assert r.status_code == 200 and (r.json()["tier"], r.json()["first_response_minutes"],
                                     r.json()["resolution_minutes"], r.json()["is_default"]) == ("priority", 30, 1440, False)
    q = factory.question(author=people.maya, product="aero")
    session.commit()
    esc = client.post(f"{API}/questions/{q.id}/escalate", json={"reason": "urgent"}, headers=lena).json()
    from datetime import datetime

    created, due = datetime.fromisoformat(esc["created_at"]), datetime.fromisoformat(esc["due_at"])
    assert due - created == timedelta(minutes=30)
    for who in (people.maya, people.mod):
        assert_problem(client.put(f"{API}/products/aero/service-level", json={"tier": "enterprise"},
                                  headers=login(who)), 403)
        assert_problem(client.get(f"{API}/products/aero/service-level", headers=login(who)), 403)
    assert_problem(client.put(f"{API}/products/aero/service-level", json={"tier": "gold"}, headers=lena), 422)


def test_metrics(client, session, people, factory, login):
    from app.answers import service as answers_service

    solved = factory.question(author=people.maya)
    a = factory.answer(solved, author=people.raj)
    answers_service.accept(session, actor=people.maya, question_id=solved.id, answer_id=a.id)
    factory.question(author=people.maya)  # open, not escalated
    q, esc = _escalation(session, people, factory)
    esc_service.claim(session, actor=people.lena, escalation_id=esc.id, now=esc.created_at + timedelta(hours=1))
    esc_service.resolve(session, actor=people.lena, escalation_id=esc.id, resolution="ok",
                        answer_body="Here is the fix for it.", now=esc.created_at + timedelta(hours=5))
    session.commit()
    r = client.get(f"{API}/escalations/metrics", headers=login(people.lena))
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["escalations"], m["resolved"], m["breached"], m["breach_rate"]) == (1, 1, 0, 0.0)
    assert m["first_response_median_seconds"] == 3600 and m["resolution_median_seconds"] == 5 * 3600
    assert (m["questions"], m["escalated_questions"], m["community_solved"]) == (3, 1, 1)
    assert m["deflection_rate"] == pytest.approx(1 / 3) and m["escalation_rate"] == pytest.approx(1 / 3)
    assert m["products"][0]["product"] is None and m["products"][0]["questions"] == 3


STAFF_ENDPOINTS = [
    ("get", "/escalations", None), ("get", "/escalations/metrics", None), ("get", "/escalations/{id}", None),
    ("post", "/escalations/{id}/claim", None), ("post", "/escalations/{id}/release", None),
    ("post", "/escalations/{id}/assign", {"assignee": "lena"}), ("post", "/escalations/{id}/notes", {"body": "n"}),
    ("post", "/escalations/{id}/wait", {}), ("post", "/escalations/{id}/resume", None),
    ("post", "/escalations/{id}/hand-off", {"ticket": "T-1"}),
    ("post", "/escalations/{id}/resolve", {"resolution": "r", "answer_body": "a public answer that is long enough"}),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ENDPOINTS)
def test_only_staff_reach_the_queue(client, session, people, factory, login, method, path, body):
    _q, esc = _escalation(session, people, factory)
    url = API + path.format(id=esc.id)
    kw = {"json": body} if body is not None else {}
    assert_problem(getattr(client, method)(url, **kw), 401)
    for who in (people.maya, people.raj, people.mod):  # the asker too: only the public status is theirs
        assert_problem(getattr(client, method)(url, headers=login(who), **kw), 403)
    r = getattr(client, method)(url, headers=login(people.admin), **kw)
    assert r.status_code in (200, 201, 409), r.text  # admins are staff (409: not allowed in this state)


def test_openapi_documents_the_escalation_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    expected = [("post", "/questions/{question_id}/escalate"), ("post", "/questions/{question_id}/me-too"),
                ("delete", "/questions/{question_id}/me-too"), ("get", "/escalations"),
                ("get", "/escalations/metrics"), ("get", "/escalations/{escalation_id}")] + [
        ("post", f"/escalations/{{escalation_id}}/{a}")
        for a in ("claim", "release", "assign", "notes", "wait", "resume", "hand-off", "resolve")] + [
        ("get", "/products/{slug}/service-level"), ("put", "/products/{slug}/service-level"),
        ("get", "/notifications"), ("post", "/notifications/read")]
    missing = [(m, p) for m, p in expected if m not in paths.get(API + p, {})]
    assert missing == []
    shape = client.get("/openapi.json").json()["components"]["schemas"]["EscalationOut"]["properties"]
    assert CONTRACT_KEYS <= set(shape)
    claim = paths[API + "/escalations/{escalation_id}/claim"]["post"]
    assert "application/problem+json" in claim["responses"]["409"]["content"]
