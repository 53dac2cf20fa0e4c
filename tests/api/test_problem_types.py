"""Every problem the API answers is typed, and a type always comes with the same title (RFC 9457
§3.1.3: the title does not change from occurrence to occurrence). A newcomer's trial found the
router's own 404 and 405 as `about:blank` beside the services' `/problems/not-found`, and
`/problems/malformed-json` under two titles (a JSON syntax error, and a body that could not be
decoded at all)."""

from __future__ import annotations

from tests.api.conftest import API, QUESTION


def _cases(client, headers) -> dict[str, object]:
    return {
        "router 404": client.get(f"{API}/no-such-route"),
        "service 404": client.get(f"{API}/questions/999999"),
        "405": client.put(f"{API}/questions"),
        "malformed JSON": client.post(f"{API}/questions", content=b'{"title": ', headers={
            **headers, "Content-Type": "application/json"}),
        "undecodable form": client.post(f"{API}/auth/token", content=b"username=%ff%fe&password=\xff",
                                        headers={"Content-Type": "application/x-www-form-urlencoded"}),
        "invalid input": client.post(f"{API}/questions", json={**QUESTION, "title": "short"}, headers=headers),
        "401": client.post(f"{API}/questions", json=QUESTION),
    }


def test_every_problem_is_typed_and_each_type_has_one_title(client, factory, session, login):
    factory.user("maya")
    session.commit()
    answers = _cases(client, login("maya"))
    titles: dict[str, set[str]] = {}
    for name, r in answers.items():
        assert r.status_code >= 400, (name, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json"), name
        body = r.json()
        assert body["type"] != "about:blank", (name, body)
        titles.setdefault(body["type"], set()).add(body["title"])
    assert {t: ts for t, ts in titles.items() if len(ts) > 1} == {}
    assert answers["router 404"].json()["type"] == answers["service 404"].json()["type"] == "/problems/not-found"
    assert answers["405"].json()["type"] == "/problems/method-not-allowed" and answers["405"].headers["allow"]
    assert answers["malformed JSON"].json()["type"] == "/problems/malformed-json"
