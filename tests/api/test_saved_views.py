"""The saved-views API (issue 18): list own + shared, create (201), delete (204, owner only), a
view's items (QuestionSummary, paginated, escalation fields for staff), problems for bad input."""

from __future__ import annotations

import pytest

from app.escalation import service as esc_service
from app.savedviews import service as saved_views
from tests.api.conftest import API, assert_problem

SUMMARY_KEYS = {"id", "title", "url", "score", "answer_count", "has_accepted_answer", "tags", "product", "status",
                "created_at"}


@pytest.fixture
def people(factory, session):
    factory.product("dock-pro", "Dock Pro")

    class P:
        lena = factory.user("lena", role="staff")
        omar = factory.user("omar", role="staff")
        maya = factory.user("maya")
        raj = factory.user("raj")

    P.q1 = factory.question(author=P.maya, title="Dock Pro charges at 60 W only", product="dock-pro", tags=["charging"])
    P.q2 = factory.question(author=P.raj, title="Dock Pro loses the second monitor", product="dock-pro",
                            tags=["display"])
    P.q3 = factory.question(author=P.raj, title="Aero fan at full speed after sleep", tags=["fan"])
    esc, _ = esc_service.escalate(session, actor=P.lena, question_id=P.q2.id, reason="Display defect suspected")
    esc_service.claim(session, actor=P.lena, escalation_id=esc.id)
    P.esc = esc
    session.commit()
    return P


def test_create_list_read_and_delete_a_view(client, people, login):
    maya = login(people.maya)
    r = client.post(f"{API}/me/views", headers=maya,
                    json={"name": "  Dock Pro   unsolved ", "filters": {"product": "dock-pro", "unsolved": True}})
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["name"] == "Dock Pro unsolved" and view["mine"] is True and view["shared"] is False
    assert view["filters"]["product"] == "dock-pro" and view["filters"]["unsolved"] is True
    assert view["staff_only"] is False and view["position"] == 0 and view["owner"]["username"] == "maya"
    assert r.headers["location"] == f"/api/v1/me/views/{view['id']}/items"
    listed = client.get(f"{API}/me/views", headers=maya).json()
    assert [v["id"] for v in listed["items"]] == [view["id"]] and listed["next_cursor"] is None
    r = client.get(f"{API}/me/views/{view['id']}/items", headers=maya, params={"limit": 1})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["count"] == 2 and len(page["items"]) == 1 and page["next_cursor"]
    assert SUMMARY_KEYS <= set(page["items"][0])
    assert page["items"][0]["escalation"] is None  # a customer never sees escalations
    rest = client.get(f"{API}/me/views/{view['id']}/items", headers=maya,
                      params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert {page["items"][0]["title"], rest["items"][0]["title"]} == {people.q1.title, people.q2.title}
    assert client.delete(f"{API}/me/views/{view['id']}", headers=login(people.raj)).status_code == 404
    assert client.delete(f"{API}/me/views/{view['id']}", headers=maya).status_code == 204
    assert_problem(client.get(f"{API}/me/views/{view['id']}/items", headers=maya), 404)


def test_staff_items_carry_the_escalation_and_shared_views_are_read_only(client, people, login):
    lena, omar = login(people.lena), login(people.omar)
    r = client.post(f"{API}/me/views", headers=lena, json={
        "name": "Assigned to me", "filters": {"assigned_to_me": True, "breaching_within_hours": 720}, "shared": True})
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["staff_only"] is True and view["shared"] is True
    items = client.get(f"{API}/me/views/{view['id']}/items", headers=lena).json()["items"]
    assert [i["title"] for i in items] == [people.q2.title]
    esc = items[0]["escalation"]
    assert (esc["id"], esc["status"], esc["assignee"], esc["paused"]) == (people.esc.id, "claimed", "lena", False)
    # omar sees it shared with him, reads it as himself (nothing assigned to him), may not delete it
    listed = client.get(f"{API}/me/views", headers=omar).json()["items"]
    assert [(v["id"], v["mine"]) for v in listed] == [(view["id"], False)]
    assert client.get(f"{API}/me/views/{view['id']}/items", headers=omar).json()["items"] == []
    assert_problem(client.delete(f"{API}/me/views/{view['id']}", headers=omar), 403)
    # customers see nothing of it
    maya = login(people.maya)
    assert client.get(f"{API}/me/views", headers=maya).json()["items"] == []
    assert_problem(client.get(f"{API}/me/views/{view['id']}/items", headers=maya), 404)


def test_a_staff_members_read_key_sees_nothing_of_the_queue_in_views(client, people, login, session):
    """A `read` key (a product site's) owned by an agent: no escalation block on items, and the
    escalation filters are refused, as GET /escalations is without an escalation scope."""
    from app.apikeys import service as apikeys

    lena = login(people.lena)
    plain_view = client.post(f"{API}/me/views", headers=lena, json={"name": "Dock Pro", "filters": {"product": "dock-pro"}})
    queue_view = client.post(f"{API}/me/views", headers=lena, json={"name": "Mine", "filters": {"assigned_to_me": True}})
    _, read_key = apikeys.create(session, actor=None, owner=people.lena, name="help centre", scopes=["read"])
    _, queue_key = apikeys.create(session, actor=None, owner=people.lena, name="desk", scopes=["read", "escalations:read"])
    session.commit()
    items = client.get(f"{API}/me/views/{plain_view.json()['id']}/items", headers={"X-API-Key": read_key}).json()["items"]
    assert items and all(i["escalation"] is None for i in items)
    assert_problem(client.get(f"{API}/me/views/{queue_view.json()['id']}/items", headers={"X-API-Key": read_key}), 403)
    with_scope = client.get(f"{API}/me/views/{plain_view.json()['id']}/items", headers={"X-API-Key": queue_key})
    assert any(i["escalation"] for i in with_scope.json()["items"])


@pytest.mark.parametrize("body, status, where", [
    ({"name": "Queue", "filters": {"escalation_status": "open"}}, 403, None),
    ({"name": "Mine", "filters": {"assigned_to_me": True}}, 403, None),
    ({"name": "Shared", "shared": True}, 403, None),
    ({"name": "", "filters": {}}, 422, ["body", "name"]),
    ({"name": "x" * 61}, 422, ["body", "name"]),
    ({"name": "Soon", "filters": {"breaching_within_hours": 721}}, 422, ["body", "filters", "breaching_within_hours"]),
    ({"name": "Soon", "filters": {"breaching_within_hours": 0}}, 422, ["body", "filters", "breaching_within_hours"]),
    ({"name": "Odd", "filters": {"colour": "red"}}, 422, ["body", "filters", "colour"]),
    ({"name": "Odd", "sort": "random"}, 422, ["body", "sort"]),
    ({"name": "Nope", "filters": {"product": "no-such-product"}}, 422, ["body", "filters", "product"]),
    ({"name": "Nope", "filters": {"tag": "-wifi-"}}, 422, ["body", "filters", "tag"]),
    ({"name": "\u202eweiv", "filters": {}}, 422, ["body", "name"]),  # direction control: shown reversed to staff
    ({"name": "Dock \u2067Pro\u2069"}, 422, ["body", "name"]),
    ({"name": "a" + "\u0301" * 59}, 422, ["body", "name"]),  # stacked marks ("Zalgo text")
])
def test_bad_views_are_problems(client, people, login, body, status, where):
    problem = assert_problem(client.post(f"{API}/me/views", headers=login(people.maya), json=body), status)
    if where:
        assert where in [e["loc"] for e in problem["errors"]], problem


def test_the_twenty_first_view_is_a_conflict(client, people, login, session):
    from app.savedviews.schemas import ViewCreate

    for n in range(saved_views.MAX_VIEWS):
        saved_views.create(session, actor=people.raj, data=ViewCreate(name=f"View {n}"))
    session.commit()
    problem = assert_problem(client.post(f"{API}/me/views", headers=login(people.raj), json={"name": "More"}), 409)
    assert "20 saved views" in problem["detail"]


def test_views_need_a_signed_in_caller(client, people):
    assert_problem(client.get(f"{API}/me/views"), 401)
    assert_problem(client.post(f"{API}/me/views", json={"name": "x"}), 401)


def test_views_are_in_the_export_and_go_with_the_account(client, people, login, count):
    from app.savedviews.models import SavedView
    from tests.factories import PASSWORD

    maya = login(people.maya)
    assert client.post(f"{API}/me/views", headers=maya, json={"name": "Fans", "filters": {"tag": "fan"}}).status_code == 201
    exported = client.get(f"{API}/me/export", headers=maya).json()["saved_views"]
    assert [(v["name"], v["tag"]) for v in exported] == [("Fans", "fan")]
    assert client.request("DELETE", f"{API}/me", headers=maya, json={"password": PASSWORD}).status_code == 204
    assert count(SavedView) == 0
