"""PUT /api/v1/me/notification-preferences refuses a kind nobody sends (a typo would be stored and
do nothing): 422 naming it, nothing stored. Known kinds and kinds the member was notified of pass.
Both databases."""

from __future__ import annotations

from tests.api.conftest import API, assert_problem


def test_unknown_kind_is_422_naming_it(client, factory, session, login):
    user = factory.user("maya")
    session.commit()
    h = login(user)
    r = client.put(f"{API}/me/notification-preferences", json={"preferences": {"answer_posted": "off", "nope": "email"}},
                   headers=h)
    body = assert_problem(r, 422)
    assert "'nope'" in body["errors"][0]["msg"] and body["errors"][0]["loc"][-1] == "preferences"
    kinds = {i["kind"]: i["delivery"] for i in client.get(f"{API}/me/notification-preferences", headers=h).json()["items"]}
    assert "nope" not in kinds and kinds["answer_posted"] == "email"  # nothing stored
    ok = client.put(f"{API}/me/notification-preferences", json={"preferences": {"answer_posted": "off",
                                                                                "api_key_created": "daily"}}, headers=h)
    assert ok.status_code == 200, ok.text
