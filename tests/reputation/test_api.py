"""Visible reputation through the JSON API: the paged ledger, privileges, top contributors."""

from __future__ import annotations

from datetime import timedelta

from app.answers import service as answers_service
from app.core.db import utcnow
from tests.api.conftest import API, assert_problem
from tests.reputation.helpers import day_start, earn, fans, vote


def _pages(client, url, limit):
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = client.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return items, pages, body


def test_reputation_timeline_is_paged_newest_first_with_reversals_marked(client, factory, session):
    asker = factory.user("asker")
    helper = factory.user("helper")
    q = factory.question(asker)
    a = factory.answer(q, author=helper)
    voters = fans(session, 5)
    t = day_start(1)
    for v in voters[:3]:  # three votes at the very same moment: ties broken by id
        vote(session, v, a, 1, now=t)
    vote(session, voters[3], a, 1, now=t + timedelta(minutes=1))
    vote(session, voters[4], a, 1, now=t + timedelta(minutes=2))
    vote(session, voters[4], a, 0, now=t + timedelta(minutes=3))  # retracted
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id, now=t + timedelta(minutes=4))
    session.commit()

    items, pages, last = _pages(client, f"{API}/users/helper/reputation", limit=2)
    assert pages == 3 and len(items) == 6 and len({i["id"] for i in items}) == 6
    assert last["reputation"] == 1 + 4 * 10 + 15
    keys = [(i["occurred_at"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True)
    assert [i["kind"] for i in items] == ["answer_accepted"] + ["answer_upvoted"] * 5
    assert items[0]["label"] == "Answer accepted" and items[0]["amount"] == 15
    rev = items[1]
    assert (rev["reversed"], rev["amount"], rev["base_amount"], rev["reversal_reason"]) == (True, 0, 10, "retracted")
    assert rev["reversed_at"] is not None
    assert all(not i["reversed"] and i["amount"] == 10 and i["reversal_reason"] is None for i in items[2:])
    assert all((i["post_type"], i["post_id"]) == ("answer", a.id) for i in items)
    assert sum(i["amount"] for i in items) + 1 == last["reputation"]

    one_page = client.get(f"{API}/users/helper/reputation", params={"limit": 100}).json()
    assert [i["id"] for i in one_page["items"]] == [i["id"] for i in items] and one_page["next_cursor"] is None
    asker_page = client.get(f"{API}/users/ASKER/reputation").json()
    assert [(i["kind"], i["amount"]) for i in asker_page["items"]] == [("accepted_answer", 2)]
    assert asker_page["reputation"] == 3


def test_reputation_timeline_refusals(client, factory, session):
    factory.user("helper")
    factory.user("ghost", is_active=False)
    session.commit()
    assert client.get(f"{API}/users/helper/reputation").json() == {"reputation": 1, "items": [], "next_cursor": None}
    assert_problem(client.get(f"{API}/users/nobody/reputation"), 404)
    assert_problem(client.get(f"{API}/users/ghost/reputation"), 404)
    assert_problem(client.get(f"{API}/users/helper/reputation", params={"cursor": "garbage"}), 422)
    assert_problem(client.get(f"{API}/users/helper/reputation", params={"limit": 0}), 422)
    assert_problem(client.get(f"{API}/users/helper/reputation", params={"limit": 101}), 422)


def test_privileges_of_a_user_and_of_me(client, factory, session, login):
    climber = factory.user("climber")
    earn(session, climber, 130)
    factory.user("mod", role="moderator")
    factory.user("newbie")
    session.commit()
    got = client.get(f"{API}/users/climber/privileges").json()
    assert [(p["key"], p["reputation"], p["earned"]) for p in got] == [
        ("upvote", 1, True), ("flag", 15, True), ("comment", 50, True), ("downvote", 125, True),
        ("close", 500, False), ("edit", 1000, False)]
    assert all(p["title"] and p["description"] for p in got)
    assert [p["earned"] for p in client.get(f"{API}/users/newbie/privileges").json()] == [True] + [False] * 5
    assert_problem(client.get(f"{API}/users/nobody/privileges"), 404)

    assert_problem(client.get(f"{API}/me/privileges"), 401)
    me = client.get(f"{API}/me/privileges", headers=login("climber")).json()
    assert me["username"] == "climber" and me["email"] == "climber@example.com" and me["reputation"] == 131
    assert [p["earned"] for p in me["privileges"]] == [True, True, True, True, False, False]
    mod = client.get(f"{API}/me/privileges", headers=login("mod")).json()
    assert mod["reputation"] == 1 and all(p["earned"] for p in mod["privileges"])


def test_top_contributors_this_month_and_all_time(client, factory, session):
    factory.product("aero-14")
    factory.product("dock-pro", name="Dock Pro")
    veteran = factory.user("veteran")  # earned long ago, on aero-14
    regular = factory.user("regular")  # earns this month, on aero-14
    elsewhere = factory.user("elsewhere")  # earns this month, on dock-pro
    factory.user("nobody")
    long_ago = utcnow() - timedelta(days=45)
    voters = fans(session, 6)
    a_old = factory.answer(factory.question(product="aero-14"), author=veteran)
    for i, v in enumerate(voters):
        vote(session, v, a_old, 1, now=long_ago + timedelta(seconds=i))
    a_new = factory.answer(factory.question(product="aero-14"), author=regular)
    for v in voters[:2]:
        vote(session, v, a_new, 1)
    q_new = factory.question(regular, product="aero-14")
    vote(session, voters[0], q_new, 1)
    a_dock = factory.answer(factory.question(product="dock-pro"), author=elsewhere)
    for v in voters[:4]:
        vote(session, v, a_dock, 1)
    # a reversed vote counts for nobody
    a_gone = factory.answer(factory.question(product="aero-14"), author=factory.user("retracted"))
    vote(session, voters[5], a_gone, 1)
    vote(session, voters[5], a_gone, 0)
    session.commit()

    def top(url, **params):
        r = client.get(url, params=params)
        assert r.status_code == 200, r.text
        return r.json()["period"], [(i["user"]["username"], i["points"]) for i in r.json()["items"]]

    assert top(f"{API}/products/aero-14/top-contributors") == ("month", [("regular", 25)])
    assert top(f"{API}/products/aero-14/top-contributors", period="month") == ("month", [("regular", 25)])
    assert top(f"{API}/products/aero-14/top-contributors", period="30d") == ("30d", [("regular", 25)])
    assert top(f"{API}/products/aero-14/top-contributors", period="all") == (
        "all", [("veteran", 60), ("regular", 25)])
    assert top(f"{API}/products/dock-pro/top-contributors", period="all") == ("all", [("elsewhere", 40)])
    assert top(f"{API}/top-contributors") == ("month", [("elsewhere", 40), ("regular", 25)])
    assert top(f"{API}/top-contributors", period="all") == (
        "all", [("veteran", 60), ("elsewhere", 40), ("regular", 25)])
    assert top(f"{API}/top-contributors", period="all", limit=1) == ("all", [("veteran", 60)])
    item = client.get(f"{API}/top-contributors", params={"period": "all"}).json()["items"][0]
    assert item["user"]["reputation"] == 61 and item["user"]["role"] == "customer"

    assert_problem(client.get(f"{API}/products/no-such/top-contributors"), 404)
    assert_problem(client.get(f"{API}/top-contributors", params={"period": "week"}), 422)
    assert_problem(client.get(f"{API}/top-contributors", params={"limit": 51}), 422)
