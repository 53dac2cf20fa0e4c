"""Every refusal is RFC 9457 problem+json, and a refused write leaves nothing behind."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.answers.models import Answer
from app.core.errors import Conflict
from app.questions.models import Question, QuestionTag, Revision, Tag
from tests.api.conftest import API, QUESTION, assert_problem
from tests.conftest import make_settings


@pytest.fixture
def asker(factory, session, login):
    factory.user("asker")
    factory.product("aero-14")
    session.commit()
    return login("asker")


def _nothing_written(count, questions: int = 0):
    assert count(Question) == questions
    assert count(Tag) == 0 or questions
    assert count(QuestionTag) == (0 if not questions else count(QuestionTag))
    assert count(Revision) == questions


@pytest.mark.parametrize("change, field", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "too short"}, "title"),
    ({"title": "x" * 151}, "title"),
    ({"body": ""}, "body"),
    ({"body": "y" * 30_001}, "body"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "tags"),
    ({"tags": ["a" * 36]}, "tags"),
    ({"tags": "not-a-list"}, "tags"),
    ({"product": "no-such-product"}, "product"),
    ({"surprise": True}, "surprise"),
])
def test_question_validation_problem_and_nothing_written(client, asker, count, change, field):
    r = client.post(f"{API}/questions", json={**QUESTION, "tags": ["brand-new-tag"], **change}, headers=asker)
    body = assert_problem(r, 422)
    assert isinstance(body["errors"], list) and body["errors"]
    assert any(field in e["loc"] for e in body["errors"]), body["errors"]
    for e in body["errors"]:
        assert {"loc", "msg", "type"} <= e.keys()
    assert count(Question) == 0 and count(Revision) == 0 and count(QuestionTag) == 0 and count(Tag) == 0


def test_title_at_limits_is_accepted(client, asker):
    r = client.post(f"{API}/questions", json={**QUESTION, "title": "t" * 150, "body": "b" * 30_000}, headers=asker)
    assert r.status_code == 201, r.text
    assert len(r.json()["title"]) == 150


def test_missing_fields_is_422(client, asker, count):
    body = assert_problem(client.post(f"{API}/questions", json={}, headers=asker), 422)
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert ("body", "title") in locs and ("body", "body") in locs
    assert count(Question) == 0


@pytest.mark.parametrize("raw", [b'{"title": "broken', b"not json at all", b'{"title": 1,}'])
def test_malformed_json_is_400(client, asker, count, raw):
    r = client.post(f"{API}/questions", content=raw, headers={**asker, "Content-Type": "application/json"})
    body = assert_problem(r, 400)
    assert "json" in (body["title"] + body["detail"]).lower()
    assert count(Question) == 0


def test_401_403_404_409_are_problems(client, factory, session, login):
    q = factory.question()
    factory.user("other")
    factory.user("staffer", role="staff")
    session.commit()
    b401 = assert_problem(client.post(f"{API}/questions", json=QUESTION), 401)
    b403 = assert_problem(client.delete(f"{API}/questions/{q.id}", headers=login("other")), 403)
    b404 = assert_problem(client.get(f"{API}/questions/{q.id + 1}"), 404)
    client.post(f"{API}/products", json={"slug": "buds", "name": "Buds"}, headers=login("staffer"))
    b409 = assert_problem(client.post(f"{API}/products", json={"slug": "buds", "name": "Buds"},
                                      headers=login("staffer")), 409)
    assert len({b["type"] for b in (b401, b403, b404, b409)}) == 4
    assert_problem(client.get(f"{API}/no-such-endpoint"), 404)
    assert_problem(client.get(f"{API}/answers/{10**6}"), 404)
    assert_problem(client.delete(f"{API}/comments/{10**6}", headers=login("other")), 404)


@pytest.mark.parametrize("path", ["/questions/abc", "/answers/x/vote", "/questions/1e3", "/comments/one",
                                  "/questions/-1", "/questions/0"])
def test_non_numeric_or_impossible_ids_are_422(client, asker, path):
    method = "post" if path.endswith("vote") else ("delete" if "comments" in path else "get")
    kw = {"json": {"value": 1}} if method == "post" else {}
    body = assert_problem(getattr(client, method)(f"{API}{path}", headers=asker, **kw), 422)
    assert body["errors"]


def test_body_over_the_limit_is_413(client, asker, count):
    big = {**QUESTION, "body": "z" * 1_000_001}
    body = assert_problem(client.post(f"{API}/questions", json=big, headers=asker), 413)
    assert "1,000,000" in body["detail"] and body["type"] == "/problems/payload-too-large"
    assert count(Question) == 0


def test_streamed_body_over_the_limit_is_413(client, asker, count):
    def chunks():
        yield b'{"title": "A title long enough to pass", "tags": [], "body": "'
        for _ in range(11):
            yield b"q" * 100_000
        yield b'"}'

    r = client.post(f"{API}/questions", content=chunks(), headers={**asker, "Content-Type": "application/json"})
    body = assert_problem(r, 413)  # not a 400 "error parsing the body"
    assert "1,000,000" in body["detail"] and body["type"] == "/problems/payload-too-large"
    assert count(Question) == 0


def test_smaller_configured_limit(clean_engine, db_url, factory, session, count):
    from app.main import create_app

    factory.user("asker")
    session.commit()
    app = create_app(make_settings(db_url, max_body_bytes=2_000), clean_engine)
    with TestClient(app) as c:
        token = c.post(f"{API}/auth/token", data={"username": "asker", "password": "correct-horse-battery"})
        h = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert_problem(c.post(f"{API}/questions", json={**QUESTION, "body": "w" * 2_100}, headers=h), 413)
        assert c.post(f"{API}/questions", json={**QUESTION, "body": "w" * 1_000}, headers=h).status_code == 201
    assert count(Question) == 1


@pytest.fixture
def limited(clean_engine, db_url):
    from app.main import create_app

    app = create_app(make_settings(db_url, rate_limits="on"), clean_engine)
    with TestClient(app) as c:
        yield c


def _check_429(r):
    body = assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1
    return body


def test_sign_in_rate_limit_429_with_retry_after(limited, factory, session):
    factory.user("victim")
    session.commit()
    for _ in range(10):
        assert_problem(limited.post(f"{API}/auth/token", data={"username": "victim", "password": "wrong-password"}), 401)
    _check_429(limited.post(f"{API}/auth/token", data={"username": "victim", "password": "wrong-password"}))
    # even the right password is refused while the window is full
    _check_429(limited.post(f"{API}/auth/token", data={"username": "victim", "password": "correct-horse-battery"}))


def test_question_rate_limit_writes_nothing(limited, factory, session, count):
    # An established member: new members have a stricter hourly limit of their own (docs/moderation.md).
    factory.user("eager", reputation=10)
    session.commit()
    token = limited.post(f"{API}/auth/token", data={"username": "eager", "password": "correct-horse-battery"})
    h = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for n in range(10):
        r = limited.post(f"{API}/questions", json={**QUESTION, "title": f"Question number {n} about the dock"}, headers=h)
        assert r.status_code == 201, r.text
    _check_429(limited.post(f"{API}/questions", json={**QUESTION, "title": "One question too many today"}, headers=h))
    assert count(Question) == 10 and count(Revision) == 10


def test_sign_up_rate_limit(limited, count):
    from app.accounts.models import User

    for n in range(5):
        r = limited.post(f"{API}/auth/register", json={"username": f"new{n}", "email": f"new{n}@example.com",
                                                       "password": "a long enough password"})
        assert r.status_code == 201
    _check_429(limited.post(f"{API}/auth/register", json={"username": "new9", "email": "new9@example.com",
                                                          "password": "a long enough password"}))
    assert count(User) == 5


def test_failure_after_rows_were_flushed_rolls_everything_back(client, asker, count, monkeypatch):
    """A write refused after the service flushed rows (question, tags) leaves none of them."""
    from app.questions import service as questions_service

    def refuse(*a, **k):
        raise Conflict("refused late, after the question and its tags were flushed")

    monkeypatch.setattr(questions_service, "add_revision", refuse)
    assert_problem(client.post(f"{API}/questions", json={**QUESTION, "tags": ["fresh-tag"]}, headers=asker), 409)
    assert count(Question) == 0 and count(Tag) == 0 and count(QuestionTag) == 0 and count(Revision) == 0


def test_unexpected_error_is_500_problem_and_rolls_back(app, asker, count, monkeypatch, factory, session):
    from app.questions import service as questions_service

    q = factory.question()
    session.commit()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(questions_service, "add_revision", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post(f"{API}/answers".replace("answers", f"questions/{q.id}/answers"),
                   json={"body": "An answer that will never be stored anywhere."}, headers=asker)
        body = assert_problem(r, 500)
        assert "disk on fire" not in r.text  # no internals leak
        assert body["title"]
    assert count(Answer) == 0
    with TestClient(app) as c:
        assert c.get(f"{API}/questions/{q.id}").json()["answer_count"] == 0


@pytest.mark.parametrize("method, path, kw", [
    ("post", "/questions", {"json": {**QUESTION, "title": "A title with a NUL \u0000 inside"}}),
    ("post", "/questions", {"json": {**QUESTION, "tags": ["ok", "bad\u0000tag"]}}),
    ("post", "/questions", {"json": {**QUESTION, "body": "Body with a NUL \u0000 character in it"}}),
    ("get", "/questions?tag=%00", {}),
    ("get", "/questions?product=a%00b", {}),
    ("get", "/users/a%00b", {}),
    ("get", "/products/x%00", {}),
    ("post", "/auth/token", {"data": {"username": "asker\u0000", "password": "whatever-password"}}),
    ("post", "/auth/register", {"json": {"username": "nul", "email": "n@example.com", "password": "pass\u0000word-long"}}),
])
def test_nul_characters_are_422_on_every_database(client, asker, count, method, path, kw):
    """PostgreSQL cannot store NUL; both databases refuse it the same way instead of a 500."""
    headers = asker if method == "post" and path == "/questions" else {}
    body = assert_problem(getattr(client, method)(f"{API}{path}", headers=headers, **kw), 422)
    assert body["errors"]
    assert count(Question) == 0


def test_literal_backslash_u0000_text_is_fine(client, asker):
    body = "In JavaScript the string '\\u0000' is a NUL character; why does my parser choke on it?"
    r = client.post(f"{API}/questions", json={**QUESTION, "body": body}, headers=asker)
    assert r.status_code == 201, r.text
    assert r.json()["body"] == body


def test_method_not_allowed_is_problem(client):
    assert_problem(client.put(f"{API}/questions/1", json={}), 405)


def test_a_forum_form_over_the_limit_gets_a_page_that_says_going_back_keeps_the_text(
        app, factory, session, count):
    """A browser posting a forum form gets the forum's error page (not raw problem+json): it
    names the limit and says that going back keeps what was typed. The API keeps its JSON."""
    from tests.web.conftest import Browser

    factory.user("asker")
    session.commit()
    browser = Browser(TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}))
    with browser.client:
        browser.sign_in("asker")
        token = browser.get("/ask").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = browser.client.post("/ask", data={"csrf_token": token, "title": "Dock flickers with two monitors",
                                              "body": "x" * 1_000_001, "tags": "dock"}, follow_redirects=False)
        assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
        assert "1,000,000" in r.text and "what you typed is still" in r.text and "<form" in r.text.lower()
        api = browser.client.post(f"{API}/questions", json={**QUESTION, "body": "z" * 1_000_001})
        assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"
    assert count(Question) == 0
