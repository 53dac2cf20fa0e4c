"""Issue 10 item 6: an id outside the database's integer range (1..2^31-1) is a 422 problem on
both databases, wherever the API takes one: path, query, JSON body, lists of ids, cursors.

The walking tests read the app's own OpenAPI schema, so a route added later is covered without
editing this file; they send 2^31 (and 0, and -1) to every integer the API takes, as the one wrong
value in the request, and expect a 422 naming that value's place (never a 500, never a 200)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.core.db import MAX_ID
from app.core.pagination import encode_cursor
from tests.api.conftest import API, assert_problem

OUT_OF_RANGE = [MAX_ID + 1, 2**63, 0, -1]
ID_NAME = re.compile(r"(^|_)ids?$|^dismissed_suggestions$")


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _integers(spec: dict, schema: dict, loc: tuple) -> list[tuple[tuple, dict]]:
    """(loc, integer schema) for every integer reachable in `schema` (objects, lists, nullable)."""
    schema = _resolve(spec, schema)
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += _integers(spec, option, loc)
    kind = schema.get("type")
    if kind == "integer":
        found.append((loc, schema))
    elif kind == "array":
        found += _integers(spec, schema.get("items", {}), (*loc, 0))
    elif kind == "object":
        for name, sub in schema.get("properties", {}).items():
            found += _integers(spec, sub, (*loc, name))
    return found


def _operations(spec: dict):
    for path, ops in spec["paths"].items():
        if not path.startswith(API):
            continue
        for method, op in ops.items():
            yield path, method.upper(), op


def _targets(spec: dict) -> list[tuple[str, str, str, tuple, dict]]:
    """(method, path, where, loc, required query) for every integer the API takes."""
    found = []
    for path, method, op in _operations(spec):
        needed = {p["name"]: "Wi-Fi drops after the update" for p in op.get("parameters", [])
                  if p["in"] == "query" and (p.get("required") or p["name"] == "title")}
        for param in op.get("parameters", []):
            for loc, _ in _integers(spec, param["schema"], (param["in"], param["name"])):
                found.append((method, path, param["in"], loc, needed))
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            for loc, _ in _integers(spec, body["schema"], ("body",)):
                found.append((method, path, "body", loc, needed))
    return found


@pytest.fixture
def spec(app) -> dict:
    return app.openapi()


def test_every_id_in_the_schema_is_bounded_to_the_database_range(spec):
    """Documented as well as enforced: each id parameter and body field says 1..2^31-1."""
    ids = [(m, p, loc, s) for m, p, op in _operations(spec)
           for loc, s in [x for prm in op.get("parameters", []) for x in _integers(spec, prm["schema"], (prm["name"],))]
           + [x for c in op.get("requestBody", {}).get("content", {}).values() for x in _integers(spec, c["schema"], ())]
           if any(isinstance(part, str) and ID_NAME.search(part) for part in loc)]
    assert len(ids) > 40  # every {question_id}, {answer_id}, … and the body ids
    loose = [(m, p, loc) for m, p, loc, s in ids if s.get("minimum") != 1 or s.get("maximum") != MAX_ID]
    assert loose == []
    names = {loc[-1] if isinstance(loc[-1], str) else loc[-2] for _, _, loc, _ in ids}
    assert {"question_id", "answer_id", "original_id", "ids", "dismissed_suggestions"} <= names


@pytest.fixture
def admin(factory, session, login):
    factory.user("root", role="admin")
    factory.product("aero-14", "Kestrel Aero 14")
    session.commit()
    return login("root")


def _fill_path(path: str) -> str:
    fillers = {"slug": "aero-14", "username": "root", "type": "question", "target": "1"}
    return re.sub(r"\{(\w+)\}", lambda m: fillers.get(m.group(1), "1"), path)


def _set(loc: tuple, value: Any) -> Any:
    """A JSON body holding `value` at `loc` (("body", "ids", 0) -> {"ids": [value]})."""
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    return [_set(rest, value)] if head == 0 else {head: _set(rest, value)}


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=["2^31", "2^63", "0", "-1"])
def test_every_integer_the_api_takes_refuses_an_out_of_range_value(client, spec, admin, value):
    targets = _targets(spec)
    assert any(t[2] == "path" for t in targets) and any(t[2] == "query" for t in targets)
    assert ("POST", f"{API}/notifications/read", "body", ("body", "ids", 0), {}) in targets
    wrong = []
    for method, path, where, loc, needed in targets:
        url, params, body = _fill_path(path), dict(needed), None
        if where == "path":
            name = loc[1]
            url = re.sub(r"\{(\w+)\}", lambda m: str(value) if m.group(1) == name else _fill_path(m.group(0)), path)
            body = {} if method in ("POST", "PUT", "PATCH") else None
        elif where == "query":
            params[loc[1]] = value
        else:
            body = _set(loc[1:], value)
        if value in (0, -1) and loc[-1] == "value":  # a vote's value: -1 and 0 are votes
            continue
        if value == 0 and loc[-1] == "digest_hour":  # midnight is an hour
            continue
        r = client.request(method, url, params=params, json=body, headers=admin)
        # 422, and the value sent is among the errors (not merely another field missing)
        located = r.status_code == 422 and any(tuple(e.get("loc", ()))[:2] == loc[:2]
                                               for e in r.json().get("errors", []))
        if not located:
            wrong.append((method, url, where, loc, r.status_code, r.text[:200]))
    assert wrong == [], "\n".join(map(str, wrong))


def test_the_reported_example_marks_nothing_and_says_why(client, factory, session, login):
    from app.notifications import service as notifications

    maya = factory.user("maya")
    notifications.notify(session, [maya.id], kind="answer", text="Raj answered your question", url="/questions/1/x")
    session.commit()
    headers = login("maya")
    for ids in ([2147483648], [1, 2147483648], [-5], [9223372036854775808]):
        body = assert_problem(client.post(f"{API}/notifications/read", json={"ids": ids}, headers=headers), 422)
        assert body["errors"][0]["loc"][:2] == ["body", "ids"], body
    assert client.get(f"{API}/notifications", headers=headers).json()["unread"] == 1
    r = client.post(f"{API}/notifications/read", json={"ids": [MAX_ID]}, headers=headers)
    assert r.status_code == 200 and r.json()["marked"] == 0


@pytest.mark.parametrize("path, cursor", [
    ("/notifications", [MAX_ID + 1]),
    ("/notifications", [True]),
    ("/products", ["Kestrel", MAX_ID + 1]),
    ("/products", ["Kestrel", 0]),
    ("/questions", ["2026-01-01T00:00:00+00:00", MAX_ID + 1]),
    ("/questions?sort=votes", [2**40, 5]),
    ("/users/maya/reputation", ["2026-01-01T00:00:00+00:00", 2**31]),
    ("/escalations", [2**63]),
])
def test_a_forged_cursor_with_an_out_of_range_number_is_422(client, factory, session, login, path, cursor):
    factory.user("maya", role="staff")
    session.commit()
    sep = "&" if "?" in path else "?"
    r = client.get(f"{API}{path}{sep}cursor={encode_cursor(cursor)}", headers=login("maya"))
    body = assert_problem(r, 422)
    assert "cursor" in body["detail"]


@pytest.mark.parametrize("spelling", ["3.0", "+3", "3 ", " 3", "3_0", "\u0663", "0x3", "1e0"],
                         ids=["decimal", "plus", "trailing-space", "leading-space", "underscore", "arabic-indic", "hex", "exponent"])
def test_an_id_in_a_path_or_query_is_digits_only(client, spec, admin, spelling):
    """One question, one address: pydantic's lax int took "3.0", "+3" and "3 " for question 3 (a
    newcomer's trial), so /questions/3.0 answered 200. Every path and query integer of the API is
    walked; each such spelling is a 422 naming its place."""
    wrong = []
    for method, path, where, loc, needed in _targets(spec):
        if where not in ("path", "query") or not ID_NAME.search(loc[1]):
            continue  # ids only: a page size or a number of days has no address to keep unique
        url, params = _fill_path(path), dict(needed)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        if where == "path":
            name = loc[1]
            url = re.sub(r"\{(\w+)\}", lambda m, name=name: spelling if m.group(1) == name else _fill_path(m.group(0)), path)
        else:
            params[loc[1]] = spelling
        r = client.request(method, url, params=params, json=body, headers=admin)
        located = r.status_code == 422 and any(tuple(e.get("loc", ()))[:2] == loc[:2]
                                               for e in r.json().get("errors", []))
        if not located:
            wrong.append((method, url, where, loc, r.status_code, r.text[:160]))
    assert wrong == [], "\n".join(map(str, wrong))


def test_a_plain_id_still_answers(client, factory, session):
    q = factory.question(title="Dock flickers when a second monitor wakes up")
    session.commit()
    assert client.get(f"{API}/questions/{q.id}").status_code == 200
    assert client.get(f"{API}/questions/{q.id:03d}").status_code == 200  # leading zeros are still digits
