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


def test_deflection_counts_for_the_original(client, indexed, count, factory, session):
    original = indexed["original"]
    answer = factory.answer(original)  # only a question with an answer can have solved it (issue 14)
    session.commit()
    r = client.post(f"{API}/questions/{indexed['dup'].id}/deflect",
                    json={"title": "Screen shimmers when I dim it", "product": "aero-14"})
    assert r.status_code == 201, r.text
    assert r.json() == {"question_id": original.id, "deflections": 1, "counted": True,
                        "answer_url": f"/questions/{original.id}/{original.slug}#answer-{answer.id}"}
    assert count(Deflection, Deflection.question_id == indexed["original"].id) == 1
    assert_problem(client.post(f"{API}/questions/999999/deflect", json={"title": "x"}), 404)
    assert_problem(client.post(f"{API}/questions/{indexed['dup'].id}/deflect", json={}), 422)


def test_similar_is_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/questions/similar" in paths and "/api/v1/search" in paths


def test_asking_through_the_api_remembers_passed_over_suggestions(client, indexed, login, count, factory, session):
    from app.search.models import DismissedSuggestion

    factory.user("priya")
    session.commit()
    r = client.post(f"{API}/questions", headers=login("priya"), json={
        "title": "Panel flickers at low brightness on battery",
        "body": "Flicker only on battery power, below 30 % brightness.", "tags": [],
        "dismissed_suggestions": [indexed["original"].id, 999_999]})
    assert r.status_code == 201, r.text
    new_id = r.json()["id"]
    assert count(DismissedSuggestion, DismissedSuggestion.question_id == new_id) == 1  # unknown ids ignored
    too_many = client.post(f"{API}/questions", headers=login("priya"), json={
        "title": "Another flicker question here", "body": "Some more words about the flicker.",
        "dismissed_suggestions": list(range(1, 20))})
    assert_problem(too_many, 422)


def test_staff_metrics_count_deflections_and_passed_over_suggestions(client, indexed, login, factory, session):
    from app.search import service as search_service

    factory.user("lena", role="staff")
    asker = factory.user("newbie")
    factory.answer(indexed["original"])
    search_service.record_deflection(session, actor=asker, question_id=indexed["original"].id,
                                     title="Flicker when dim", product="aero-14", visitor=f"u:{asker.id}")
    q = factory.question(asker, "Brightness flicker on the Aero when dimmed", product="aero-14")
    search_service.record_dismissed(session, question=q, suggested_ids=[indexed["original"].id])
    session.commit()
    body = client.get(f"{API}/escalations/metrics", headers=login("lena")).json()
    assert body["deflected_while_asking"] == 1 and body["suggestions_passed_over"] == 1
    factory.product("dock-3", "Kestrel Dock 3")
    session.commit()
    aero = client.get(f"{API}/escalations/metrics", params={"product": "aero-14"}, headers=login("lena")).json()
    assert (aero["deflected_while_asking"], aero["suggestions_passed_over"]) == (1, 1)
    dock = client.get(f"{API}/escalations/metrics", params={"product": "dock-3"}, headers=login("lena")).json()
    assert (dock["deflected_while_asking"], dock["suggestions_passed_over"]) == (0, 0)


def test_the_asker_is_notified_of_each_answer_by_someone_else(client, indexed, login, factory, session):
    from app.answers.schemas import AnswerCreate
    from app.answers import service as answers_service
    from app.accounts.models import User
    from sqlmodel import select

    asker = session.exec(select(User).where(User.username == "asker")).one()
    helper = factory.user("helper")
    answers_service.post(session, actor=helper, question_id=indexed["other"].id,
                         data=AnswerCreate(body="Press Win+Space to see which layout is active."))
    answers_service.post(session, actor=asker, question_id=indexed["other"].id,
                         data=AnswerCreate(body="Update: it was a second keyboard layout in Settings."))
    session.commit()
    items = client.get(f"{API}/notifications", headers=login("asker")).json()["items"]
    answered = [n for n in items if n["kind"] == "answer_posted"]
    assert len(answered) == 1  # not for the asker's own answer
    assert "helper" in answered[0]["text"] and f"/questions/{indexed['other'].id}/" in answered[0]["url"]


def test_product_sites_listed_in_cors_origins_may_call_the_api(clean_engine, db_url):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(db_url, cors_origins="https://www.kestrel.example, https://shop.kestrel.example/"),
                     clean_engine)
    with TestClient(app) as c:
        pre = c.options(f"{API}/questions/similar", headers={
            "Origin": "https://shop.kestrel.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://shop.kestrel.example"
        r = c.get(f"{API}/products", headers={"Origin": "https://www.kestrel.example"})
        assert r.headers["access-control-allow-origin"] == "https://www.kestrel.example"
        stranger = c.get(f"{API}/products", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
    with TestClient(create_app(make_settings(db_url), clean_engine)) as c:  # the default: no CORS at all
        assert "access-control-allow-origin" not in c.get(f"{API}/products",
                                                          headers={"Origin": "https://www.kestrel.example"}).headers


def test_cors_exposes_the_headers_a_product_page_reads(clean_engine, db_url, factory, session):
    """Browsers hide non-safelisted response headers from a cross-origin script unless they are listed in
    Access-Control-Expose-Headers: the rate-limit fields, Retry-After, ETag, Location and the request id."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.api.conftest import QUESTION
    from tests.conftest import make_settings
    from tests.factories import PASSWORD

    factory.user("sitevisitor")
    session.commit()
    origin = {"Origin": "https://www.kestrel.example"}
    with TestClient(create_app(make_settings(db_url, cors_origins=origin["Origin"], rate_limits="on"),
                                   clean_engine)) as c:
        token = c.post(f"{API}/auth/token", data={"username": "sitevisitor", "password": PASSWORD})
        assert token.status_code == 200, token.text
        token = token.json()
        auth = {**origin, "Authorization": f"Bearer {token['access_token']}"}

        def exposed(r) -> set[str]:
            return {h.strip().lower() for h in r.headers.get("access-control-expose-headers", "").split(",")}

        created = c.post(f"{API}/questions", json=QUESTION, headers=auth)
        assert created.status_code == 201, created.text
        assert created.headers["location"]
        assert {"location", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy",
                "retry-after", "x-request-id"} <= exposed(created)
        assert "ratelimit-remaining" in created.headers  # exposed and actually sent
        listed = c.get(f"{API}/products", headers=origin)
        assert "etag" in listed.headers and "etag" in exposed(listed)


@pytest.mark.parametrize("q, marked", [
    ("flickering", "flickers"),  # stemming: another form of the word, marked where it stands
    ("SCREEN flicker", "Screen"),  # case
    ('"brightness is low"', "brightness"),  # a quoted phrase
    ("brightness low keyboard dimmed", "brightness"),  # not every word needed: the best match first
])
def test_search_api_matches_word_forms_phrases_and_sentences(client, indexed, q, marked):
    body = client.get(f"{API}/search", params={"q": q}).json()
    assert body["items"][0]["id"] == indexed["original"].id
    assert f"<mark>{marked}</mark>" in body["items"][0]["highlights"]["title"]


def test_a_quoted_phrase_is_required_as_a_phrase(client, indexed):
    body = client.get(f"{API}/search", params={"q": '"low brightness"'}).json()
    assert body["total"] == 0  # the words are there, but not in that order
