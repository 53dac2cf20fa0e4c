"""Products: public list and detail, staff-only creation."""

from __future__ import annotations

from app.products.models import Product
from tests.api.conftest import API, assert_problem

NEW = {"slug": "dock-pro", "name": "Kestrel Dock Pro", "description": "A USB-C dock."}


def test_list_products_shape_and_counts(client, factory, session, login):
    aero = factory.product("aero-14", "Kestrel Aero 14")
    factory.product("buds", "Kestrel Buds")
    asker = factory.user("asker")
    q1 = factory.question(asker, product="aero-14")
    factory.question(product="aero-14")
    factory.question()
    session.commit()
    r = client.get(f"{API}/products")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"items", "next_cursor"}
    assert body["next_cursor"] is None
    by_slug = {p["slug"]: p for p in body["items"]}
    assert set(by_slug) == {"aero-14", "buds"}
    assert by_slug["aero-14"] == {**by_slug["aero-14"], "slug": "aero-14", "name": "Kestrel Aero 14",
                                  "description": "A laptop.", "question_count": 2}
    assert by_slug["buds"]["question_count"] == 0
    assert aero.id
    # a deleted question no longer counts
    assert client.delete(f"{API}/questions/{q1.id}", headers=login("asker")).status_code == 204
    assert client.get(f"{API}/products/aero-14").json()["question_count"] == 1


def test_get_product(client, factory, session):
    factory.product("aero-14", "Kestrel Aero 14")
    factory.question(product="aero-14")
    session.commit()
    r = client.get(f"{API}/products/aero-14")
    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in ("slug", "name", "description", "question_count")} == {
        "slug": "aero-14", "name": "Kestrel Aero 14", "description": "A laptop.", "question_count": 1}
    assert_problem(client.get(f"{API}/products/nope"), 404)


def test_create_product_anonymous_is_401(client, count):
    assert_problem(client.post(f"{API}/products", json=NEW), 401)
    assert count(Product) == 0


def test_create_product_customer_is_403(client, factory, session, login, count):
    factory.user("cust")
    session.commit()
    assert_problem(client.post(f"{API}/products", json=NEW, headers=login("cust")), 403)
    assert count(Product) == 0


def test_create_product_moderator_is_403(client, factory, session, login, count):
    factory.user("mod", role="moderator")
    session.commit()
    assert_problem(client.post(f"{API}/products", json=NEW, headers=login("mod")), 403)
    assert count(Product) == 0


def test_create_product_staff_201_then_duplicate_409(client, factory, session, login, count):
    factory.user("staffer", role="staff")
    factory.user("boss", role="admin")
    session.commit()
    r = client.post(f"{API}/products", json=NEW, headers=login("staffer"))
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("slug", "name", "description", "question_count")} == {**NEW, "question_count": 0}
    assert client.get(f"{API}/products/dock-pro").status_code == 200
    dup = client.post(f"{API}/products", json={**NEW, "slug": "Dock-Pro", "name": "Other"}, headers=login("boss"))
    assert_problem(dup, 409)
    assert count(Product) == 1


def test_create_product_validation(client, factory, session, login, count):
    factory.user("staffer", role="staff")
    session.commit()
    h = login("staffer")
    body = assert_problem(client.post(f"{API}/products", json={**NEW, "slug": "bad slug!"}, headers=h), 422)
    assert body["errors"]
    assert_problem(client.post(f"{API}/products", json={"slug": "x1"}, headers=h), 422)
    for name in ("\u202eorP kcoD", "Dock Pro" + "\u0301" * 5):  # direction control, stacked marks
        body = assert_problem(client.post(f"{API}/products", json={**NEW, "name": name}, headers=h), 422)
        assert [e["loc"] for e in body["errors"]] == [["body", "name"]]
    assert count(Product) == 0
