"""CORS for product sites (docs/api.md, "Calling from a product page"; app/core/cors.py): every
method and request header the API uses is granted to a listed origin; unlisted origins and the
forum's own pages get no Access-Control-* header at all; a refused preflight says why, as
problem+json. Both databases."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.core.cors import CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS
from app.main import CORS_EXPOSE_HEADERS, create_app
from tests.conftest import make_settings

API = "/api/v1"
SITE = "https://www.kestrel.example"
STRANGER = "https://evil.example"


@pytest.fixture
def client(clean_engine, db_url):
    with TestClient(create_app(make_settings(db_url, cors_origins=SITE), clean_engine)) as c:
        yield c


def _cors_headers(r) -> dict[str, str]:
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def test_every_method_the_api_answers_is_granted(client):
    used = {m for route in client.app.routes if isinstance(route, APIRoute) and route.path.startswith(API)
            for m in route.methods}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= used  # the API really uses them all
    assert used <= set(CORS_ALLOW_METHODS)


@pytest.mark.parametrize("method, path", [
    ("PUT", f"{API}/me/notification-preferences"),
    ("PATCH", f"{API}/questions/1"),
    ("DELETE", f"{API}/questions/1"),
    ("POST", f"{API}/questions"),
])
def test_a_listed_origin_may_send_each_method(client, method, path):
    r = client.options(path, headers={"Origin": SITE, "Access-Control-Request-Method": method,
                                      "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == SITE
    assert method in r.headers["access-control-allow-methods"]


def test_a_conditional_get_with_its_etag_is_granted_and_answered_304(client):
    pre = client.options(f"{API}/products", headers={
        "Origin": SITE, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match, x-api-key, x-request-id"})
    assert pre.status_code == 200, pre.text
    granted = {h.strip().lower() for h in pre.headers["access-control-allow-headers"].split(",")}
    assert {"if-none-match", "x-api-key", "x-request-id", "authorization", "content-type"} <= granted
    first = client.get(f"{API}/products", headers={"Origin": SITE})
    again = client.get(f"{API}/products", headers={"Origin": SITE, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["access-control-allow-origin"] == SITE


def test_an_unlisted_origin_gets_no_cors_header_at_all(client):
    r = client.get(f"{API}/products", headers={"Origin": STRANGER})
    assert r.status_code == 200
    assert _cors_headers(r) == {}
    assert "origin" in r.headers["vary"].lower()  # a shared cache keeps the listed origin's answer apart
    listed = client.get(f"{API}/products", headers={"Origin": SITE})
    assert {h.strip() for h in listed.headers["access-control-expose-headers"].split(",")} == set(CORS_EXPOSE_HEADERS)


@pytest.mark.parametrize("origin, method, headers, why", [
    (STRANGER, "GET", "x-api-key", "origin"),
    (SITE, "TRACE", "x-api-key", "method"),
    (SITE, "GET", "x-api-key, cookie", "header"),
])
def test_a_refused_preflight_is_a_problem_that_says_why(client, origin, method, headers, why):
    r = client.options(f"{API}/products", headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                  "Access-Control-Request-Headers": headers})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["title"] == "Cross-origin call refused" and why in body["detail"]
    assert _cors_headers(r) == {}  # nothing granted


@pytest.mark.parametrize("path", ["/", "/ask", "/signin", "/questions", "/static/groundswell.css"])
def test_the_forum_never_answers_a_cross_origin_script(client, path):
    r = client.get(path, headers={"Origin": SITE})
    assert r.status_code in (200, 404), r.status_code
    assert _cors_headers(r) == {}
    pre = client.options(path, headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert _cors_headers(pre) == {}


def test_the_granted_headers_are_the_ones_the_api_reads():
    # Request headers a cross-origin script sets; Cookie is deliberately absent (no credentials).
    assert "Cookie" not in CORS_ALLOW_HEADERS
    assert {"If-None-Match", "Authorization", "X-API-Key"} <= set(CORS_ALLOW_HEADERS)
