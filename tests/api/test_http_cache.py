"""HTTP caching of the public API GETs (issue 16 item 3): ETag, If-None-Match → 304, Cache-Control
per route, Vary, nothing personal public, a new ETag after an edit. Both databases."""

from __future__ import annotations

import pytest

from tests.api.conftest import API

ROUTES = {
    "/questions": 30,
    "/questions/{id}": 60,
    "/questions/similar?title=Wi-Fi+drops+after+sleep": 60,
    "/search?q=wifi": 60,
    "/products": 300,
    "/products/aero-14": 300,
}


def assert_one_vary(r) -> None:
    """One Vary header, each field name once (the session middleware adds Cookie too)."""
    values = r.headers.get_list("vary")
    assert len(values) == 1, values
    names = [v.strip().lower() for v in values[0].split(",")]
    assert len(names) == len(set(names)), values


def test_vary_names_are_merged_without_duplicates(client, question):
    from app.core.httpcache import merge_vary

    assert merge_vary("Cookie", "Authorization, X-API-Key, Cookie", "origin, Origin") == \
        "Cookie, Authorization, X-API-Key, origin"
    for url in (f"{API}/questions", f"{API}/questions/{question.id}", "/", f"/questions/{question.id}"):
        r = client.get(url)
        assert r.status_code == 200
        if "vary" in r.headers:
            assert_one_vary(r)
    # Signed in on the forum: the session is read and Vary: Cookie is sent once.
    r = client.get(f"{API}/questions", headers={"Cookie": "gs_session=x"})
    assert_one_vary(r)


@pytest.fixture
def question(factory, session):
    product = factory.product()
    q = factory.question(title="Wi-Fi drops after sleep on the Aero 14", product=product.slug)
    session.commit()
    return q


@pytest.mark.parametrize("route", list(ROUTES))
def test_public_get_has_etag_and_answers_304(client, question, route):
    url = API + route.replace("{id}", str(question.id))
    r = client.get(url)
    assert r.status_code == 200, r.text
    tag = r.headers["etag"]
    assert tag.startswith('W/"')
    assert r.headers["cache-control"] == f"public, max-age={ROUTES[route]}, stale-while-revalidate={ROUTES[route]}"
    assert {"Authorization", "X-API-Key", "Cookie"} <= {v.strip() for v in r.headers["vary"].split(",")}
    assert_one_vary(r)
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == r.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": 'W/"something-else"'}).status_code == 200
    assert client.get(url, headers={"If-None-Match": f'"x", {tag.removeprefix("W/")}'}).status_code == 304
    # HEAD answers the same way.
    assert client.head(url, headers={"If-None-Match": tag}).status_code == 304


def test_etag_changes_after_an_edit(client, question, login):
    url = f"{API}/questions/{question.id}"
    first = client.get(url)
    tag = first.headers["etag"]
    h = login(_username(client, question))
    r = client.patch(url, headers=h, json={"body": "It drops every time the lid closes; driver 22.110 installed."})
    assert r.status_code == 200, r.text
    after = client.get(url, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag
    assert "driver 22.110" in after.json()["body"]


def _username(client, question) -> str:
    return client.get(f"{API}/questions/{question.id}").json()["author"]["username"]


def test_personal_answers_are_private(client, question, login, factory, session):
    member = factory.user("maya")
    session.commit()
    url = f"{API}/questions/{question.id}"
    r = client.get(url, headers=login(member))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, no-cache"
    # A personal answer still revalidates (304) for its own browser.
    assert client.get(url, headers={**login(member), "If-None-Match": r.headers["etag"]}).status_code == 304


def test_not_cached_elsewhere(client, question):
    r = client.get(f"{API}/questions/{question.id}/revisions")
    assert "etag" not in r.headers
    missing = client.get(f"{API}/questions/999999")
    assert missing.status_code == 404 and "etag" not in missing.headers


def test_openapi_documents_keys_scopes_and_headers(client):
    s = client.get("/openapi.json").json()
    assert s["components"]["securitySchemes"]["ApiKey"] == {**s["components"]["securitySchemes"]["ApiKey"],
                                                            "type": "apiKey", "in": "header", "name": "X-API-Key"}
    ops = [(m, p, op) for p, d in s["paths"].items() if p.startswith(API) for m, op in d.items()]
    assert all("x-required-scope" in op for _, _, op in ops)
    get_q = s["paths"][f"{API}/questions/{{question_id}}"]["get"]
    assert {"ApiKey": ["read"]} in get_q["security"] and "304" in get_q["responses"]
    assert {"ETag", "Cache-Control", "RateLimit-Remaining"} <= set(get_q["responses"]["200"]["headers"])
    assert "Retry-After" in s["paths"][f"{API}/questions"]["post"]["responses"]["429"]["headers"]
    assert {"ApiKey": ["ask"]} in s["paths"][f"{API}/questions"]["post"]["security"]
    assert "security" not in s["paths"][f"{API}/auth/register"]["post"]
