"""Every JSON body the API takes is strict and closed (app/core/inputs.JsonBody, docs/api.md
"Request bodies"): a value of the wrong JSON type (`true` or `1.0` or `"1"` for an id, `1` for a
flag or a text) and a field the body does not have are 422 problems naming the field, never
coerced or dropped. The routes are read from the API router, so a new body is covered as it is
added."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union

import pytest
from pydantic import BaseModel

from app.accounts.models import Role
from app.api.router import router as api_router
from app.core.inputs import JsonBody
from app.questions.models import Question
from app.votes.models import Vote
from tests.api.conftest import API, assert_problem

# One value of each JSON kind; a field refuses every kind none of its types is.
CANDIDATES: list[tuple[str, Any]] = [("true", True), ("float", 1.0), ("string", "1"), ("int", 1)]
_KIND = {bool: "true", float: "float", str: "string", int: "int"}
PATH_VALUES = {"post_type": "question", "slug": "aero-14", "username": "maya"}


def _body_model(route) -> type[BaseModel] | None:
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        for candidate in (annotation, *typing.get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
    return None


def _body_routes() -> list[tuple[str, str, type[BaseModel]]]:
    out = []
    for route in api_router.routes:
        model = _body_model(route)
        if model is not None:
            for method in sorted(route.methods):
                out.append((method, route.path, model))
    return out


BODY_ROUTES = _body_routes()


def _members(annotation) -> list:
    """The types a value of `annotation` may have (Annotated and Optional taken apart; None left out)."""
    if typing.get_origin(annotation) is Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [] if annotation is type(None) else [annotation]


def _accepted_kinds(member) -> set[str]:
    if typing.get_origin(member) is Literal:
        return {_KIND[type(v)] for v in typing.get_args(member)}
    return {_KIND[member]} if member in _KIND else set()


def _wrong_values(annotation, path: tuple) -> list[tuple[str, tuple, Any]]:
    """(case name, loc under "body", JSON value to send) for each value of the wrong JSON type."""
    members = _members(annotation)
    cases = []
    for member in members:
        origin = typing.get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, field in member.model_fields.items():
                cases += [(case, loc, value) for case, loc, value in _wrong_values(field.annotation, path + (name,))]
        elif origin is list:
            cases += [(f"item-{case}", loc, [value]) for case, loc, value
                      in _wrong_values(typing.get_args(member)[0], path + (0,))]
        elif origin is dict:
            cases += [(f"value-{case}", loc, {"question": value}) for case, loc, value
                      in _wrong_values(typing.get_args(member)[1], path + ("question",))]
    scalar = [m for m in members if typing.get_origin(m) in (None, Literal) and not
              (isinstance(m, type) and issubclass(m, BaseModel))]
    if scalar:
        accepted = set().union(*(_accepted_kinds(m) for m in scalar))
        cases += [(name, path, value) for name, value in CANDIDATES if name not in accepted]
    return cases


def _nest(path: tuple, value: Any) -> dict:
    """{"filters": {"tag": value}} for the path ("filters", "tag"); a list item's value is already a list."""
    keys = [p for p in path if isinstance(p, str)]
    if len(path) > 1 and not isinstance(path[-1], str):  # (…, "ids", 0): value is [wrong]
        keys = [p for p in path[:-1] if isinstance(p, str)]
    body: Any = value
    for key in reversed(keys):
        body = {key: body}
    return body


def _wrong_cases(model: type[BaseModel]) -> list[tuple[str, tuple, Any]]:
    cases = []
    for name, field in model.model_fields.items():
        cases += [c for c in _wrong_values(field.annotation, (name,))
                  if not (isinstance(c[2], dict) and not isinstance(c[1][-1], str))]
    return cases


def _url(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "1" + path[path.index("}") + 1:]
    return API + path


@pytest.fixture
def admin(factory, session, login):
    user = factory.user("ada", role=Role.admin)
    factory.user("maya")
    session.commit()
    return login(user)


def test_the_routes_are_found():
    """The walk of the router sees the bodies (so that the tests below cannot pass by finding none)."""
    paths = {(m, p) for m, p, _ in BODY_ROUTES}
    assert ("POST", "/questions/{question_id}/close-as-duplicate") in paths
    assert ("POST", "/questions/{question_id}/vote") in paths
    assert ("PATCH", "/me/settings") in paths
    assert len(BODY_ROUTES) >= 50


@pytest.mark.parametrize("method, path, model", BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
def test_every_body_model_is_a_json_body(method, path, model):
    def models(m):
        yield m
        for field in m.model_fields.values():
            for member in _members(field.annotation):
                for inner in (member, *typing.get_args(member)):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        yield from models(inner)

    for m in models(model):
        assert issubclass(m, JsonBody), f"{m.__module__}.{m.__name__} (the body of {method} {path})"


@pytest.mark.parametrize("method, path, model", BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
def test_unknown_fields_and_values_of_the_wrong_json_type_are_refused_with_their_loc(client, admin, method, path,
                                                                                     model):
    """One route per test (one sign-in), every case of its body in turn."""
    r = client.request(method, _url(path), json={"titel": "a misspelt field"}, headers=admin)
    body = assert_problem(r, 422)
    assert {"loc": ["body", "titel"], "type": "extra_forbidden"} in [
        {"loc": e["loc"], "type": e["type"]} for e in body["errors"]], body["errors"]
    cases = _wrong_cases(model)
    accepted = []
    for case, loc, value in cases:
        r = client.request(method, _url(path), json=_nest(loc, value), headers=admin)
        body = assert_problem(r, 422)
        want = ["body", *loc]
        if not any(e["loc"][:len(want)] == want and e["type"] != "missing" for e in body["errors"]):
            accepted.append((".".join(map(str, loc)), case, body["errors"]))
    assert not accepted, accepted


def test_ids_and_votes_are_among_the_cases():
    """The fields this is about are covered with true, 1.0 and "1" each (so that the walk above
    cannot pass by generating nothing for them)."""
    models = {(m, p): model for m, p, model in BODY_ROUTES}
    close = {(loc, repr(v)) for _, loc, v in _wrong_cases(models["POST", "/questions/{question_id}/close-as-duplicate"])}
    read = {(loc, repr(v)) for _, loc, v in _wrong_cases(models["POST", "/notifications/read"])}
    vote = {(loc, repr(v)) for _, loc, v in _wrong_cases(models["POST", "/questions/{question_id}/vote"])}
    for value in ("True", "1.0", "'1'"):
        assert (("original_id",), value) in close
        assert (("ids", 0), f"[{value}]") in read
        assert (("value",), value) in vote


# --- the valid bodies still work, and the examples of the fault -------------------------------------

def test_a_question_closed_as_a_duplicate_of_true_is_refused_and_an_int_id_works(client, factory, session, login,
                                                                                   fetch):
    mod = factory.user("moira", role=Role.moderator)
    original = factory.question(title="Wi-Fi drops after the 2.3 update on the Aero 14")
    dup = factory.question(title="Aero 14 Wi-Fi keeps dropping since the update")
    session.commit()
    headers = login(mod)
    url = f"{API}/questions/{dup.id}/close-as-duplicate"
    for wrong in (True, float(original.id), str(original.id)):
        body = assert_problem(client.post(url, json={"original_id": wrong}, headers=headers), 422)
        assert body["errors"][0]["loc"] == ["body", "original_id"]
    assert fetch(Question, dup.id).duplicate_of_id is None
    r = client.post(url, json={"original_id": original.id}, headers=headers)
    assert r.status_code == 200, r.text
    assert fetch(Question, dup.id).duplicate_of_id == original.id


@pytest.mark.parametrize("value", [True, False, 1.0, "1", "-1", 2, None])
def test_a_vote_takes_exactly_minus_one_zero_or_one(client, factory, session, login, count, value):
    voter = factory.user("vera", reputation=1000)
    q = factory.question()
    session.commit()
    body = assert_problem(client.post(f"{API}/questions/{q.id}/vote", json={"value": value}, headers=login(voter)),
                          422)
    assert body["errors"][0]["loc"] == ["body", "value"]
    assert count(Vote) == 0


def test_valid_votes_work(client, factory, session, login, count):
    voter = factory.user("vera", reputation=1000)
    q = factory.question()
    session.commit()
    headers = login(voter)
    for value, votes in ((1, 1), (-1, 1), (0, 0)):
        r = client.post(f"{API}/questions/{q.id}/vote", json={"value": value}, headers=headers)
        assert r.status_code == 200, r.text
        assert count(Vote) == votes


def test_a_misspelt_field_is_not_dropped(client, factory, session, login, count):
    user = factory.user("maya")
    session.commit()
    headers = login(user)
    good = {"title": "Wi-Fi drops after the 2.3 update on the Aero 14",
            "body": "Since the update the connection drops every few minutes."}
    misspelt = {"titel": good["title"], "body": good["body"]}
    body = assert_problem(client.post(f"{API}/questions", json=misspelt, headers=headers), 422)
    assert ["body", "titel"] in [e["loc"] for e in body["errors"]]
    assert count(Question) == 0
    assert client.post(f"{API}/questions", json=good, headers=headers).status_code == 201
    assert count(Question) == 1


def test_settings_take_json_types_only(client, factory, session, login):
    user = factory.user("maya")
    session.commit()
    headers = login(user)
    for wrong in ({"digest_hour": "7"}, {"digest_hour": 7.0}, {"auto_follow": "false"}, {"auto_follow": 0},
                  {"timezone": 1}):
        body = assert_problem(client.patch(f"{API}/me/settings", json=wrong, headers=headers), 422)
        assert body["errors"][0]["loc"] == ["body", next(iter(wrong))]
    r = client.patch(f"{API}/me/settings", json={"digest_hour": 7, "auto_follow": False, "timezone": "Europe/Berlin"},
                     headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["digest_hour"], r.json()["auto_follow"], r.json()["timezone"]) == (7, False, "Europe/Berlin")


# --- ids in paths: digits only (app/core/ids.PathId) ----------------------------------------------

@pytest.mark.parametrize("text", ["1.0", "+1", "1_0", "%201", "1%20", "1e0", "%D9%A1"])  # last: Arabic-Indic 1
def test_an_id_in_a_path_is_ascii_digits_only(client, factory, session, text):
    """Lax int parsing read "1.0", "+1" and " 1" as 1 and "1_0" as 10."""
    q = factory.question()
    session.commit()
    body = assert_problem(client.get(f"{API}/questions/{text}"), 422)
    assert body["errors"][0]["loc"] == ["path", "question_id"]
    page = client.get(f"/questions/{text}", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert client.get(f"{API}/questions/{q.id}").status_code == 200
    assert client.get(f"{API}/questions/0{q.id}").status_code == 200  # a leading zero is still a number
