"""The search API: similar questions as CONTRACT.md says, full-text search, deflections, problems."""

from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.search import outbox
from app.search import service as search_service
from app.search.models import Deflection
from tests.api.conftest import API, assert_problem

SIMILAR_KEYS = {"id", "title", "url", "score", "answer_count", "has_accepted_answer", "similarity"}
SUMMARY_KEYS = {"id", "title", "url", "score", "answer_count", "has_accepted_answer", "tags", "product",
                "status", "created_at"}


@pytest.fixture
def indexed(client, factory, session, settings, clean_engine):
    asker = factory.user("asker")
    mod = factory.user("moddy", role=Role.moderator)
    factory.product("aero-14")
    original = factory.question(asker, "Screen flickers when the brightness is low", product="aero-14",
                                tags=["display"], body="Below 30 % brightness the panel flickers badly.")
    dup = factory.question(asker, "Display shimmering at dim settings", tags=["display"],
                           body="It shimmers when dimmed.")
    other = factory.question(asker, "Keyboard layout switches by itself", tags=["keyboard"])
    from app.questions import duplicates

    duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    session.commit()
    search_service.reset_backends()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    yield {"original": original, "dup": dup, "other": other}
    search_service.reset_backends()


def test_similar_matches_the_contract_and_folds_duplicates(client, indexed):
    r = client.get(f"{API}/questions/similar", params={"title": "display shimmering when dimmed", "limit": 10})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items"}
    items = body["items"]
    assert SIMILAR_KEYS <= items[0].keys()
    assert items[0]["id"] == indexed["original"].id
    assert items[0]["url"] == f"/questions/{indexed['original'].id}/screen-flickers-when-the-brightness-is-low"
    assert indexed["dup"].id not in [i["id"] for i in items]


def test_similar_scoped_to_a_product(client, indexed):
    r = client.get(f"{API}/questions/similar", params={"title": "keyboard layout switches", "product": "aero-14"})
    assert indexed["other"].id not in [i["id"] for i in r.json()["items"]]


@pytest.mark.parametrize("params, field", [
    ({}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "wifi", "limit": 0}, "limit"),
    ({"title": "wifi", "limit": 51}, "limit"),
    ({"title": "wifi", "product": "nope"}, "product"),
    ({"title": "x" * 501}, "title"),
])
def test_similar_bad_input_is_a_422_problem(client, indexed, params, field):
    body = assert_problem(client.get(f"{API}/questions/similar", params=params), 422)
    assert field in str(body.get("errors", body["detail"]))


def test_search_returns_summaries_with_highlights_facets_and_pages(client, indexed):
    r = client.get(f"{API}/search", params={"q": "flickers"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and body["next_cursor"] is None
    item = body["items"][0]
    assert SUMMARY_KEYS <= item.keys()
    assert item["id"] == indexed["original"].id
    assert "<mark>flickers</mark>" in item["highlights"]["title"]
    assert body["facets"]["product"] == {"aero-14": 1}
    everything = client.get(f"{API}/search", params={"limit": 1}).json()
    assert everything["total"] == 2 and everything["next_cursor"]
    page2 = client.get(f"{API}/search", params={"limit": 1, "cursor": everything["next_cursor"]}).json()
    assert page2["items"][0]["id"] != everything["items"][0]["id"]
    assert client.get(f"{API}/search", params={"q": "flickers", "solved": "true"}).json()["total"] == 0


def test_search_bad_input_is_a_problem(client, indexed):
    assert_problem(client.get(f"{API}/search", params={"cursor": "garbage"}), 422)
    assert_problem(client.get(f"{API}/search", params={"product": "nope"}), 422)
    assert_problem(client.get(f"{API}/search", params={"limit": 500}), 422)
    assert_problem(client.get(f"{API}/search", params={"solved": "maybe"}), 422)


def test_deflection_counts_for_the_original(client, indexed, count):
    r = client.post(f"{API}/questions/{indexed['dup'].id}/deflect",
                    json={"title": "Screen shimmers when I dim it", "product": "aero-14"})
    assert r.status_code == 201, r.text
    assert r.json() == {"question_id": indexed["original"].id, "deflections": 1}
    assert count(Deflection, Deflection.question_id == indexed["original"].id) == 1
    assert_problem(client.post(f"{API}/questions/999999/deflect", json={"title": "x"}), 404)
    assert_problem(client.post(f"{API}/questions/{indexed['dup'].id}/deflect", json={}), 422)


def test_similar_is_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/questions/similar" in paths and "/api/v1/search" in paths
