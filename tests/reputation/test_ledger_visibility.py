"""The reputation ledger names only posts its reader can open (app/moderation/posts.py `seen_by`).

An event about a deleted answer, a question hidden as spam, someone else's answer hidden by a
moderator or a post in the staff-only internal space keeps its points (the ledger still adds up to
the balance, for every reader) but loses its post id: `post_id` null and `post_visible` false in
the API, no link on the profile page. The owner and moderators see what the existing rules let
them open (their own hidden post; every hidden post; the internal space), nothing more.
"""

from __future__ import annotations

import pytest

from app.accounts import lifecycle
from app.core.errors import NotFound
from app.moderation import posts
from app.reputation import service as reputation
from tests.api.conftest import API
from tests.reputation.helpers import HELPER_SEES, LENA_SEES, ledger_world, rep


def _named(w, names) -> set[tuple[str, int]]:
    return {w[n] for n in names}


@pytest.mark.parametrize("reader", list(HELPER_SEES))
def test_timeline_and_by_post_hide_the_posts_the_reader_cannot_open(factory, session, reader):
    w = ledger_world(factory, session)
    viewer = w[reader] if reader else None
    helper = w["helper"]
    everything = reputation.timeline(session, helper, viewer=w["omar"], limit=100).items
    items = reputation.timeline(session, helper, viewer=viewer, limit=100).items
    shown = {(e.post_type, e.post_id) for e in items if e.post_visible}
    assert shown == _named(w, HELPER_SEES[reader])
    assert all(e.post_id is None for e in items if not e.post_visible)
    assert all(e.post_id is not None for e in items if e.post_visible)
    # Every event is listed, with the same points, whoever reads: the ledger still adds up.
    assert [(e.id, e.kind, e.amount) for e in items] == [(e.id, e.kind, e.amount) for e in everything]
    assert 1 + sum(e.amount for e in items) == rep(session, helper) == 1 + 3 * 10 + 3 * 5 + 2

    rows, posts_n, _ = reputation.by_post(session, helper, viewer=viewer, size=50)
    assert posts_n == 4 and len(rows) == 4
    assert {(r.post_type, r.post_id) for r in rows if r.post_visible} == _named(w, HELPER_SEES[reader])
    assert all(r.post_id is None for r in rows if not r.post_visible)
    assert 1 + sum(r.total for r in rows) == rep(session, helper)


@pytest.mark.parametrize("reader", list(LENA_SEES))
def test_a_post_in_the_internal_space_is_named_to_staff_only(factory, session, reader):
    w = ledger_world(factory, session)
    viewer = w[reader] if reader else None
    items = reputation.timeline(session, w["lena"], viewer=viewer).items
    assert [(e.kind, e.amount) for e in items] == [("answer_upvoted", 10)]
    assert {(e.post_type, e.post_id) for e in items if e.post_visible} == _named(w, LENA_SEES[reader])
    rows, _, _ = reputation.by_post(session, w["lena"], viewer=viewer)
    assert [(r.post_id is None, r.total) for r in rows] == [(not LENA_SEES[reader], 10)]


def test_seen_by_agrees_with_opening_the_post(factory, session):
    """The set rule (`seen_by`, `seen_posts`) and the per-post rule (`load`, what a page answers
    404 with) are one rule: for every post and reader they agree."""
    w = ledger_world(factory, session)
    keys = [w[k] for k in ("live", "gone", "spam", "theirs", "internal")] + [("answer", 10**9)]
    for viewer in (None, w["nina"], w["helper"], w["lena"], w["omar"]):
        seen = posts.seen_posts(session, viewer, keys)
        for post_type, post_id in keys:
            try:
                posts.load(session, post_type, post_id, viewer=viewer)
                opens = True
            except NotFound:
                opens = False
            assert ((post_type, post_id) in seen) == opens == posts.is_seen(session, viewer, post_type, post_id), \
                (viewer and viewer.username, post_type, post_id)


@pytest.mark.parametrize("reader", list(HELPER_SEES))
def test_api_ledger_nulls_the_post_of_hidden_events(client, factory, session, login, reader):
    w = ledger_world(factory, session)
    headers = login(reader) if reader else {}
    r = client.get(f"{API}/users/helper/reputation", params={"limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"]
    assert {(i["post_type"], i["post_id"]) for i in items if i["post_visible"]} == _named(w, HELPER_SEES[reader])
    assert all(i["post_id"] is None for i in items if not i["post_visible"])
    assert len(items) == 3 * 3 + 1 and 1 + sum(i["amount"] for i in items) == body["reputation"]
    for hidden in {"gone", "spam", "theirs"} - HELPER_SEES[reader]:
        assert list(w[hidden]) not in [[i["post_type"], i["post_id"]] for i in items]
        assert w["titles"][hidden] not in r.text


def test_api_ledger_of_staff_hides_the_internal_space_from_customers(client, factory, session, login):
    w = ledger_world(factory, session)
    for headers, visible in (({}, False), (login("nina"), False), (login("lena"), True), (login("sam"), True)):
        items = client.get(f"{API}/users/lena/reputation", headers=headers).json()["items"]
        assert [(i["post_visible"], i["post_id"], i["amount"]) for i in items] == \
            [(visible, w["internal"][1] if visible else None, 10)]


def test_openapi_documents_the_nullable_post(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ReputationEventOut"]
    assert "post_visible" in schema["required"]
    assert {"type": "null"} in schema["properties"]["post_id"]["anyOf"]


def test_own_export_names_no_post_the_owner_cannot_open(factory, session):
    w = ledger_world(factory, session)
    rows = lifecycle.export_data(session, w["helper"])["reputation_events"]
    assert {(r["post_type"], r["post_id"]) for r in rows if r["post_visible"]} == _named(w, HELPER_SEES["helper"])
    assert all(r["post_id"] is None for r in rows if not r["post_visible"])
    assert len(rows) == 3 * 3 + 1
