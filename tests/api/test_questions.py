"""Questions: ask, read, edit (with revisions), delete, list with sorts and filters."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.core.db import utcnow
from app.questions.models import Question, QuestionTag, Revision, Tag
from tests.api.conftest import API, QUESTION, assert_problem

SUMMARY_KEYS = {"id", "title", "url", "score", "answer_count", "has_accepted_answer", "tags", "product",
                "status", "created_at"}
QUESTION_KEYS = SUMMARY_KEYS | {"body", "body_html", "author", "accepted_answer_id", "duplicate_of", "answers"}
USER_KEYS = {"id", "username", "reputation", "role"}


def test_ask_returns_201_question_with_location(client, factory, session, login, count):
    asker = factory.user("asker")
    factory.product("aero-14")
    session.commit()
    r = client.post(f"{API}/questions", headers=login("asker"),
                    json={**QUESTION, "product": "aero-14", "tags": ["Dock", "USB C", "dock"]})
    assert r.status_code == 201, r.text
    q = r.json()
    assert QUESTION_KEYS <= q.keys()
    assert r.headers["location"].endswith(f"/api/v1/questions/{q['id']}")
    assert client.get(r.headers["location"]).json()["id"] == q["id"]
    assert q["title"] == QUESTION["title"] and q["body"] == QUESTION["body"]
    assert q["tags"] == ["dock", "usb-c"]
    assert q["product"] == "aero-14"
    assert q["status"] == "open" and q["score"] == 0 and q["answer_count"] == 0
    assert q["has_accepted_answer"] is False and q["accepted_answer_id"] is None and q["duplicate_of"] is None
    assert q["answers"] == []
    assert USER_KEYS <= q["author"].keys() and q["author"]["id"] == asker.id
    assert q["url"].startswith(f"/questions/{q['id']}")
    assert "<p>" in q["body_html"]
    assert count(Question) == 1
    assert count(Revision, Revision.post_type == "question", Revision.post_id == q["id"]) == 1


def test_ask_anonymous_is_401(client, count):
    assert_problem(client.post(f"{API}/questions", json=QUESTION), 401)
    assert count(Question) == 0


def test_ask_without_product(client, factory, session, login):
    factory.user("asker")
    session.commit()
    r = client.post(f"{API}/questions", headers=login("asker"), json={**QUESTION, "product": ""})
    assert r.status_code == 201 and r.json()["product"] is None
    r = client.post(f"{API}/questions", headers=login("asker"),
                    json={k: v for k, v in QUESTION.items() if k not in ("product", "tags")})
    assert r.status_code == 201 and r.json()["product"] is None and r.json()["tags"] == []


def test_get_question_and_404(client, factory, session):
    q = factory.question(tags=["wifi", "drivers"])
    session.commit()
    r = client.get(f"{API}/questions/{q.id}")
    assert r.status_code == 200
    body = r.json()
    assert QUESTION_KEYS <= body.keys()
    assert body["id"] == q.id and body["tags"] == ["wifi", "drivers"]
    assert_problem(client.get(f"{API}/questions/{q.id + 1000}"), 404)


def test_get_question_non_numeric_or_huge_id_is_422_problem(client):
    body = assert_problem(client.get(f"{API}/questions/abc"), 422)
    assert body["errors"]
    assert_problem(client.get(f"{API}/answers/1.5"), 422)
    r = client.get(f"{API}/questions/{2**70}")
    assert r.status_code in (404, 422), r.text  # never a 500
    assert_problem(r, r.status_code)


# --- edit -------------------------------------------------------------------------------------

def test_author_edits_and_a_revision_is_kept(client, factory, session, login, count):
    asker = factory.user("asker")
    factory.product("aero-14")
    q = factory.question(asker, tags=["wifi"])
    session.commit()
    h = login("asker")
    r = client.patch(f"{API}/questions/{q.id}", headers=h,
                     json={"title": "Wi-Fi drops every five minutes on battery", "tags": ["WiFi", "Power Saving"],
                           "product": "aero-14", "comment": "more precise"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "Wi-Fi drops every five minutes on battery"
    assert body["body"] == q.body  # untouched
    assert body["tags"] == ["wifi", "power-saving"] and body["product"] == "aero-14"
    revs = client.get(f"{API}/questions/{q.id}/revisions")
    assert revs.status_code == 200
    items = revs.json()["items"]
    assert [i["number"] for i in items] == [2, 1]
    assert items[0]["title"] == "Wi-Fi drops every five minutes on battery"
    assert items[0]["tags"] == ["wifi", "power-saving"] and items[0]["comment"] == "more precise"
    assert items[1]["title"] == q.title and items[1]["tags"] == ["wifi"]
    assert items[0]["author"]["username"] == "asker"
    # an edit that changes nothing adds no revision
    same = client.patch(f"{API}/questions/{q.id}", headers=h, json={"title": body["title"]})
    assert same.status_code == 200
    assert count(Revision, Revision.post_type == "question", Revision.post_id == q.id) == 2


def test_edit_body_rerenders_html(client, factory, session, login):
    asker = factory.user("asker")
    q = factory.question(asker)
    session.commit()
    r = client.patch(f"{API}/questions/{q.id}", headers=login("asker"),
                     json={"body": "Now with **bold** text and more words than before."})
    assert r.status_code == 200
    assert "<strong>bold</strong>" in r.json()["body_html"]
    assert r.json()["updated_at"] is not None


def test_other_customer_cannot_edit(client, factory, session, login, fetch, count):
    q = factory.question()
    factory.user("other")
    session.commit()
    assert_problem(client.patch(f"{API}/questions/{q.id}", headers=login("other"),
                                json={"title": "A title that someone else wrote"}), 403)
    assert fetch(Question, q.id).title == q.title
    assert count(Revision, Revision.post_type == "question") == 1


def test_moderator_can_edit(client, factory, session, login):
    q = factory.question()
    mod = factory.user("mod", role="moderator")
    session.commit()
    r = client.patch(f"{API}/questions/{q.id}", headers=login("mod"), json={"title": "Clearer title from a moderator"})
    assert r.status_code == 200 and r.json()["title"] == "Clearer title from a moderator"
    rev = client.get(f"{API}/questions/{q.id}/revisions").json()["items"][0]
    assert rev["author"]["id"] == mod.id


def test_anonymous_edit_is_401_and_unknown_is_404(client, factory, session, login):
    q = factory.question()
    factory.user("someone")
    session.commit()
    assert_problem(client.patch(f"{API}/questions/{q.id}", json={"title": "Anonymous edit attempt here"}), 401)
    assert_problem(client.patch(f"{API}/questions/{q.id + 99}", headers=login("someone"),
                                json={"title": "Editing a question that is not there"}), 404)
    assert_problem(client.get(f"{API}/questions/{q.id + 99}/revisions"), 404)


def test_refused_edit_changes_nothing(client, factory, session, login, fetch, count):
    asker = factory.user("asker")
    q = factory.question(asker, tags=["wifi"])
    session.commit()
    h = login("asker")
    tags_before = count(Tag)
    for payload in ({"title": "New title that is long enough", "tags": ["a", "b", "c", "d", "e", "f"]},
                    {"title": "New title that is long enough", "product": "no-such-product"},
                    {"title": "short"},
                    {"title": "x" * 151},
                    {"body": "x" * 30_001},
                    {"unknown_field": 1}):
        assert_problem(client.patch(f"{API}/questions/{q.id}", headers=h, json=payload), 422)
    row = fetch(Question, q.id)
    assert row.title == q.title and row.updated_at is None
    assert count(Revision, Revision.post_type == "question") == 1
    assert count(Tag) == tags_before


# --- delete -----------------------------------------------------------------------------------

def test_delete_question_is_soft(client, factory, session, login, fetch):
    asker = factory.user("asker")
    q = factory.question(asker)
    keep = factory.question()
    session.commit()
    assert_problem(client.delete(f"{API}/questions/{q.id}"), 401)
    r = client.delete(f"{API}/questions/{q.id}", headers=login("asker"))
    assert r.status_code == 204
    assert_problem(client.get(f"{API}/questions/{q.id}"), 404)
    assert [i["id"] for i in client.get(f"{API}/questions").json()["items"]] == [keep.id]
    assert fetch(Question, q.id).deleted_at is not None  # kept, only hidden
    assert_problem(client.delete(f"{API}/questions/{q.id}", headers=login("asker")), 404)
    assert_problem(client.patch(f"{API}/questions/{q.id}", headers=login("asker"),
                                json={"title": "Editing a deleted question now"}), 404)


def test_delete_question_permissions(client, factory, session, login):
    q = factory.question()
    factory.user("other")
    factory.user("mod", role="moderator")
    session.commit()
    assert_problem(client.delete(f"{API}/questions/{q.id}", headers=login("other")), 403)
    assert client.get(f"{API}/questions/{q.id}").status_code == 200
    assert client.delete(f"{API}/questions/{q.id}", headers=login("mod")).status_code == 204
    assert_problem(client.get(f"{API}/questions/{q.id}"), 404)


# --- lists ------------------------------------------------------------------------------------

def _ids(r):
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def _spread(session, questions, **attrs):
    """Give questions distinct, known timestamps: the first in the list is the oldest."""
    base = utcnow() - timedelta(days=1)
    for i, q in enumerate(questions):
        q.created_at = base + timedelta(minutes=i)
        q.last_activity_at = base + timedelta(minutes=i)
    session.flush()


def test_list_summary_shape(client, factory, session):
    factory.product("aero-14")
    q = factory.question(product="aero-14", tags=["wifi", "drivers"])
    session.commit()
    r = client.get(f"{API}/questions")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"items", "next_cursor"} and body["next_cursor"] is None
    (item,) = body["items"]
    assert SUMMARY_KEYS <= item.keys()
    assert item["id"] == q.id and item["tags"] == ["wifi", "drivers"] and item["product"] == "aero-14"
    assert item["has_accepted_answer"] is False and item["status"] == "open"
    assert "body" not in item and "answers" not in item


def test_sort_newest_active_votes_unanswered(client, factory, session):
    q1, q2, q3, q4 = (factory.question() for _ in range(4))
    _spread(session, [q1, q2, q3, q4])
    q2.last_activity_at = utcnow()  # most recent activity
    q1.score, q3.score, q4.score, q2.score = 5, 2, 2, -1
    factory.answer(q3)
    session.flush()
    q3.last_activity_at = q2.last_activity_at - timedelta(seconds=1)
    session.commit()
    assert _ids(client.get(f"{API}/questions")) == [q4.id, q3.id, q2.id, q1.id]
    assert _ids(client.get(f"{API}/questions?sort=newest")) == [q4.id, q3.id, q2.id, q1.id]
    assert _ids(client.get(f"{API}/questions?sort=active")) == [q2.id, q3.id, q4.id, q1.id]
    # ties on score: the later id first (stable keyset order)
    assert _ids(client.get(f"{API}/questions?sort=votes")) == [q1.id, q4.id, q3.id, q2.id]
    assert _ids(client.get(f"{API}/questions?sort=unanswered")) == [q4.id, q2.id, q1.id]
    assert_problem(client.get(f"{API}/questions?sort=hot"), 422)


def test_filters_product_tag_solved(client, factory, session, login):
    factory.product("aero-14")
    factory.product("buds", "Kestrel Buds")
    asker = factory.user("asker")
    a = factory.question(asker, product="aero-14", tags=["wifi", "dock-pro"])
    b = factory.question(product="buds", tags=["bluetooth"])
    c = factory.question(product="aero-14", tags=["battery"])
    _spread(session, [a, b, c])
    ans = factory.answer(a)
    session.commit()
    assert client.post(f"{API}/questions/{a.id}/accept", json={"answer_id": ans.id},
                       headers=login("asker")).status_code == 200
    assert _ids(client.get(f"{API}/questions?product=aero-14")) == [c.id, a.id]
    assert _ids(client.get(f"{API}/questions?product=buds")) == [b.id]
    assert _ids(client.get(f"{API}/questions?tag=wifi")) == [a.id]
    assert _ids(client.get(f"{API}/questions?tag=WiFi")) == [a.id]
    assert _ids(client.get(f"{API}/questions?tag=Dock Pro")) == [a.id]  # normalised like the tags themselves
    assert _ids(client.get(f"{API}/questions?tag=nothing")) == []
    assert _ids(client.get(f"{API}/questions?solved=true")) == [a.id]
    assert _ids(client.get(f"{API}/questions?solved=false")) == [c.id, b.id]
    assert _ids(client.get(f"{API}/questions?solved=false&product=aero-14&tag=battery")) == [c.id]
    assert _ids(client.get(f"{API}/questions?solved=true&sort=votes")) == [a.id]
    listed = client.get(f"{API}/questions?solved=true").json()["items"][0]
    assert listed["has_accepted_answer"] is True and listed["answer_count"] == 1
    assert_problem(client.get(f"{API}/questions?solved=maybe"), 422)
    r = client.get(f"{API}/questions?product=no-such-product")
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["query", "product"]


def test_tags_normalised_deduplicated_at_most_five(client, factory, session, login, count):
    factory.user("asker")
    session.commit()
    h = login("asker")
    r = client.post(f"{API}/questions", headers=h,
                    json={**QUESTION, "tags": ["  Wi Fi ", "wi-fi", "WI_FI", "Dock   Pro", "USB-C", "usb-c", "a", "b"]})
    assert r.status_code == 201, r.text
    assert r.json()["tags"] == ["wi-fi", "dock-pro", "usb-c", "a", "b"]
    with Session(client.app.state.engine) as s:
        names = sorted(s.exec(select(Tag.name)).all())
    assert names == ["a", "b", "dock-pro", "usb-c", "wi-fi"]
    assert count(QuestionTag) == 5
    six = assert_problem(client.post(f"{API}/questions", headers=h,
                                     json={**QUESTION, "tags": ["a", "b", "c", "d", "e", "f"]}), 422)
    assert any("tags" in e["loc"] for e in six["errors"])
    assert count(Question) == 1 and count(Tag) == 5
