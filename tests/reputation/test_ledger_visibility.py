"""The reputation ledger names only posts its reader can open (app/moderation/posts.py `seen_by`).

An event about a deleted answer, a question hidden as spam, someone else's answer hidden by a
moderator or a post in the staff-only internal space keeps its points (the ledger still adds up to
the balance, for every reader) but loses its post id: `post_id` null and `post_visible` false in
the API, no link on the profile page. The owner and moderators see what the existing rules let
them open (their own hidden post; every hidden post; the internal space), nothing more.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts import lifecycle
from app.answers import service as answers_service
from app.core.errors import NotFound
from app.moderation import posts
from app.questions import service as questions_service
from app.questions.schemas import QuestionCreate
from app.reputation import service as reputation
from tests.api.conftest import API
from tests.reputation.helpers import day_start, fans, rep, vote


def _ledger_world(factory, session) -> dict:
    """helper (a customer) earns on: a live answer, an answer later deleted, their own question later
    hidden as spam, and (as asker) raj's answer they accepted, later hidden by a moderator. lena
    (staff) earns on an answer in the internal space."""
    helper, raj, asker = factory.user("helper"), factory.user("raj"), factory.user("asker")
    nina = factory.user("nina")
    mod = factory.user("omar", role="moderator")
    lena, sam = factory.user("lena", role="staff"), factory.user("sam", role="staff")
    voters = fans(session, 3)
    t = day_start(3)

    live_q = factory.question(asker, title="Dock Pro charges at 60 W only with the thin cable")
    live = factory.answer(live_q, author=helper, body="Use the 100 W cable that came in the box, it is thicker.")
    gone_q = factory.question(asker, title="Keyboard backlight stays off after sleep on the Aero")
    gone = factory.answer(gone_q, author=helper, body="Press Fn+F5 twice; the backlight driver wakes up then.")
    spam = factory.question(helper, title="Quokkaspam miracle cleaner fixes every laptop fast")
    own_q = factory.question(helper, title="Webcam shows a green tint in every meeting app")
    theirs = factory.answer(own_q, author=raj, body="Turn off the camera's HDR mode in the vendor tool.")
    for i, v in enumerate(voters):
        at = t + timedelta(minutes=i)
        vote(session, v, live, 1, now=at)
        vote(session, v, gone, 1, now=at)
        vote(session, v, spam, 1, now=at)
    answers_service.accept(session, actor=helper, question_id=own_q.id, answer_id=theirs.id,
                           now=t + timedelta(minutes=10))

    internal_q = questions_service.ask(session, actor=lena, data=QuestionCreate(
        title="Dock firmware 2.4 bricks units: Quokkafrost defect", body="Staff only: how do we recover units?",
        tags=["dock"], visibility="internal"))
    internal_a = factory.answer(internal_q, author=lena, body="Reflash over USB-C with the recovery image 2.3.")
    vote(session, sam, internal_a, 1, now=t + timedelta(minutes=20))

    answers_service.delete_answer(session, actor=mod, answer_id=gone.id, reason="wrong model")
    posts.hide(session, posts.load(session, "question", spam.id, viewer=mod), reason="spam", actor=mod)
    posts.hide(session, posts.load(session, "answer", theirs.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    return {"helper": helper, "lena": lena, "nina": nina, "omar": mod, "sam": sam,
            "live": ("answer", live.id), "gone": ("answer", gone.id), "spam": ("question", spam.id),
            "theirs": ("answer", theirs.id), "internal": ("answer", internal_a.id),
            "titles": {"gone": gone_q.title, "spam": spam.title, "theirs": own_q.title, "internal": internal_q.title}}


# Which of helper's posts each reader may open; "owner" is helper, "staff" a moderator.
HELPER_SEES = {
    None: {"live"},
    "nina": {"live"},
    "helper": {"live", "spam"},  # their own hidden question, not raj's hidden answer, nothing deleted
    "omar": {"live", "spam", "theirs"},  # a moderator opens hidden posts; a deleted one is gone for all
}
LENA_SEES = {None: set(), "nina": set(), "lena": {"internal"}, "sam": {"internal"}, "omar": {"internal"}}


def _named(w, names) -> set[tuple[str, int]]:
    return {w[n] for n in names}


@pytest.mark.parametrize("reader", list(HELPER_SEES))
def test_timeline_and_by_post_hide_the_posts_the_reader_cannot_open(factory, session, reader):
    w = _ledger_world(factory, session)
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
    w = _ledger_world(factory, session)
    viewer = w[reader] if reader else None
    items = reputation.timeline(session, w["lena"], viewer=viewer).items
    assert [(e.kind, e.amount) for e in items] == [("answer_upvoted", 10)]
    assert {(e.post_type, e.post_id) for e in items if e.post_visible} == _named(w, LENA_SEES[reader])
    rows, _, _ = reputation.by_post(session, w["lena"], viewer=viewer)
    assert [(r.post_id is None, r.total) for r in rows] == [(not LENA_SEES[reader], 10)]


def test_seen_by_agrees_with_opening_the_post(factory, session):
    """The set rule (`seen_by`, `seen_posts`) and the per-post rule (`load`, what a page answers
    404 with) are one rule: for every post and reader they agree."""
    w = _ledger_world(factory, session)
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
    w = _ledger_world(factory, session)
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
    w = _ledger_world(factory, session)
    for headers, visible in (({}, False), (login("nina"), False), (login("lena"), True), (login("sam"), True)):
        items = client.get(f"{API}/users/lena/reputation", headers=headers).json()["items"]
        assert [(i["post_visible"], i["post_id"], i["amount"]) for i in items] == \
            [(visible, w["internal"][1] if visible else None, 10)]


def test_openapi_documents_the_nullable_post(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ReputationEventOut"]
    assert "post_visible" in schema["required"]
    assert {"type": "null"} in schema["properties"]["post_id"]["anyOf"]


def test_own_export_names_no_post_the_owner_cannot_open(factory, session):
    w = _ledger_world(factory, session)
    rows = lifecycle.export_data(session, w["helper"])["reputation_events"]
    assert {(r["post_type"], r["post_id"]) for r in rows if r["post_visible"]} == _named(w, HELPER_SEES["helper"])
    assert all(r["post_id"] is None for r in rows if not r["post_visible"])
    assert len(rows) == 3 * 3 + 1
