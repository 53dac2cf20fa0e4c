"""Keyset (cursor) pagination of GET /questions."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from app.core.db import utcnow
from tests.api.conftest import API, QUESTION, assert_problem


def _walk(client, query: str, limit: int = 2) -> list[list[int]]:
    pages, cursor = [], None
    for _ in range(50):
        url = f"{API}/questions?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= limit
        pages.append([i["id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination does not end")


@pytest.fixture
def seven(factory, session):
    """Seven questions, created a minute apart; scores with ties; two of them answered."""
    qs = [factory.question() for _ in range(7)]
    base = utcnow() - timedelta(hours=2)
    scores = [3, 1, 3, 0, 1, 3, -2]
    for i, (q, s) in enumerate(zip(qs, scores)):
        q.created_at = q.last_activity_at = base + timedelta(minutes=i)
        q.score = s
    factory.answer(qs[1])
    factory.answer(qs[4])
    session.flush()
    qs[1].last_activity_at = base + timedelta(minutes=30)
    qs[4].last_activity_at = base + timedelta(minutes=31)
    session.commit()
    return qs


@pytest.mark.parametrize("sort", ["newest", "active", "votes", "unanswered"])
def test_walk_all_pages_no_duplicates_no_gaps(client, seven, sort):
    pages = _walk(client, f"&sort={sort}")
    flat = [i for p in pages for i in p]
    full = [i["id"] for i in client.get(f"{API}/questions?sort={sort}&limit=100").json()["items"]]
    assert flat == full  # the same order, nothing missing, nothing twice
    assert len(set(flat)) == len(flat)
    expected = {"unanswered": 5}.get(sort, 7)
    assert len(flat) == expected
    assert all(len(p) == 2 for p in pages[:-1])


def test_votes_order_ties_broken_by_id(client, seven):
    flat = [i for p in _walk(client, "&sort=votes") for i in p]
    q = seven
    assert flat == [q[5].id, q[2].id, q[0].id, q[4].id, q[1].id, q[3].id, q[6].id]


def test_walk_with_filters(client, factory, session):
    factory.product("aero-14")
    qs = [factory.question(product="aero-14" if i % 2 else None, tags=["wifi"] if i % 3 else ["audio"])
          for i in range(9)]
    session.commit()
    flat = [i for p in _walk(client, "&product=aero-14&tag=wifi") for i in p]
    expected = sorted((q.id for i, q in enumerate(qs) if i % 2 and i % 3), reverse=True)
    assert flat == expected


def test_new_questions_do_not_shift_the_next_page(client, factory, session, login, seven):
    factory.user("newcomer")
    session.commit()
    first = client.get(f"{API}/questions?limit=2").json()
    before = [i for p in _walk(client, "") for i in p]
    h = login("newcomer")
    for n in range(3):
        assert client.post(f"{API}/questions", headers=h,
                           json={**QUESTION, "title": f"A brand new question number {n}"}).status_code == 201
    second = client.get(f"{API}/questions?limit=2&cursor={first['next_cursor']}").json()
    assert [i["id"] for i in second["items"]] == before[2:4]
    rest, cursor = [], second["next_cursor"]
    while cursor:
        page = client.get(f"{API}/questions?limit=2&cursor={cursor}").json()
        rest += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert [i["id"] for i in first["items"]] + [i["id"] for i in second["items"]] + rest == before


def test_last_page_has_null_cursor(client, seven):
    r = client.get(f"{API}/questions?limit=7").json()
    assert len(r["items"]) == 7 and r["next_cursor"] is None
    r = client.get(f"{API}/questions?limit=6").json()
    assert len(r["items"]) == 6 and isinstance(r["next_cursor"], str)


def _enc(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not-a-cursor!!",
    "%%%",
    _enc({"a": 1}),
    _enc([1]),
    _enc([1, 2, 3]),
    _enc(["yesterday", 3]),
    _enc(["2024-01-01T00:00:00+00:00", "abc"]),
    _enc(["2024-01-01T00:00:00", 3]),          # no time zone
    _enc(["2024-01-01T00:00:00+00:00", None]),
    _enc(["2024-01-01T00:00:00+00:00", 2**70]),
    _enc([None, 1]),
    _enc([2**70, 1]),
    _enc([True, 1]),
    _enc([[1], {"x": 1}]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
])
@pytest.mark.parametrize("sort", ["newest", "votes"])
def test_invalid_cursor_is_422_problem(client, factory, session, cursor, sort):
    factory.question()
    session.commit()
    r = client.get(f"{API}/questions", params={"cursor": cursor, "sort": sort})
    body = assert_problem(r, 422)
    assert body.get("errors")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc"])
def test_limit_out_of_range_is_422(client, limit):
    body = assert_problem(client.get(f"{API}/questions?limit={limit}"), 422)
    assert any("limit" in e["loc"] for e in body["errors"])


def test_limit_bounds_accepted(client, seven):
    assert len(client.get(f"{API}/questions?limit=1").json()["items"]) == 1
    assert len(client.get(f"{API}/questions?limit=100").json()["items"]) == 7
