"""Edge cases found while reviewing the API: credentials on public lists, product pages, odd bodies."""

from __future__ import annotations

from tests.api.conftest import API, assert_problem


def test_a_bad_token_is_401_even_on_public_lists(client):
    for path in ("/questions", "/products", "/tags", "/questions/1"):
        r = client.get(f"{API}{path}", headers={"Authorization": "Bearer not-a-token"})
        assert_problem(r, 401)


def test_a_stale_token_does_not_stop_signing_in_again(client, factory, session):
    factory.user("stale")
    session.commit()
    r = client.post(f"{API}/auth/token", data={"username": "stale", "password": "correct-horse-battery"},
                    headers={"Authorization": "Bearer expired-or-garbage"})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"


def test_products_are_paginated(client, factory, session):
    staff = factory.user(role="staff")
    from app.products import service as products_service
    from app.products.schemas import ProductCreate

    for i in range(5):
        products_service.create(session, actor=staff, data=ProductCreate(slug=f"p-{i}", name=f"Product {i}"))
    session.commit()
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get(f"{API}/products", params=params).json()
        seen += [p["slug"] for p in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"p-{i}" for i in range(5)]
    assert_problem(client.get(f"{API}/products", params={"cursor": "bm9wZQ"}), 422)


def test_a_body_that_is_not_utf8_is_a_malformed_body_problem(client, factory, session):
    factory.user("writer")
    session.commit()
    from tests.factories import token_headers

    headers = token_headers(client, "writer") | {"Content-Type": "application/json"}
    r = client.post(f"{API}/questions", content=b'{"title": "\xff\xfe broken"}', headers=headers)
    body = assert_problem(r, r.status_code)
    assert r.status_code in (400, 422) and body["type"] != "about:blank"


def test_cursor_errors_point_at_the_query(client):
    body = assert_problem(client.get(f"{API}/questions", params={"cursor": "!!!"}), 422)
    assert body["errors"][0]["loc"] == ["query", "cursor"]
