"""Issue 10 item 11: text that is not UTF-8 is a 422 (problem in the API, the error page on the
forum), never stored as U+FFFD: forms (urlencoded and multipart), JSON, query strings, paths."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlmodel import select

from app.accounts.models import User
from app.answers.models import Answer
from tests.api.conftest import API, assert_problem

FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
BAD_JSON = [
    b'{"username":"ma\xffya","email":"maya@example.com","password":"a long enough password"}',
    b'{"username":"maya","email":"maya@example.com","password":"a long enough pass\xc3"}',
    b'{"username":"ma\\ud800ya","email":"maya@example.com","password":"a long enough password"}',
    b'{"username":"maya","email":"maya@example.com","password":"a long enough password","x":["\\uDFFF"]}',
]


@pytest.mark.parametrize("raw, loc", list(zip(BAD_JSON, [["body"], ["body"], ["body", "username"], ["body", "x", 0]])),
                         ids=["xff", "truncated", "lone-high-surrogate", "lone-low-in-list"])
def test_json_that_is_not_utf8_is_422_and_nothing_is_stored(client, count, raw, loc):
    """Bytes that are not UTF-8 have no field (`["body"]`); a lone surrogate escape is valid JSON
    syntax, so the field holding it is named, and the message says what it is (a trial found the
    bytes message and `["body"]` for it)."""
    body = assert_problem(client.post(f"{API}/auth/register", content=raw, headers=JSON), 422)
    assert body["errors"][0]["loc"] == loc and body["errors"][0]["type"] == "unicode_error"
    surrogate = len(loc) > 1
    assert ("lone surrogate" in body["errors"][0]["msg"]) == surrogate
    assert ("bytes that are not" in body["detail"]) == (not surrogate)
    assert count(User) == 0


def test_a_lone_surrogate_in_a_key_or_deep_in_a_list_is_found_where_it_is(client, count):
    raw = b'{"username":"maya","email":"maya@example.com","password":"a long enough password",' \
          b'"tags":["ok","fine\\uD83D"],"k\\udc00":1}'
    body = assert_problem(client.post(f"{API}/auth/register", content=raw, headers=JSON), 422)
    assert body["errors"][0]["loc"] == ["body", "tags", 1]
    assert body["detail"].startswith("tags.1: Text must be whole characters")
    assert count(User) == 0


def test_valid_utf8_and_escaped_pairs_still_work(client, count):
    raw = '{"username":"zoe","email":"zoe@example.com","password":"pässwörd long enough \\ud83d\\ude00"}'.encode()
    assert client.post(f"{API}/auth/register", content=raw, headers=JSON).status_code == 201
    form = urlencode({"username": "zoe", "password": "pässwörd long enough 😀"}).encode()  # %C3%A4…
    r = client.post(f"{API}/auth/token", content=form, headers=FORM)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("raw, field", [
    (b"username=ma%FFya&password=x", "username"),
    (b"username=maya&password=%C3", "password"),
    (b"username=maya&pass%FEword=x", "pass\ufffdword"),
    (b"username=ma\xffya&password=x", "username"),  # a raw byte, not percent-encoded
])
def test_urlencoded_form(client, factory, session, raw, field):
    factory.user("maya")
    session.commit()
    body = assert_problem(client.post(f"{API}/auth/token", content=raw, headers=FORM), 422)
    assert body["errors"][0]["loc"] == ["body", field]


@pytest.mark.parametrize("url, loc", [
    (f"{API}/search?q=wi-fi%FF", ["query", "q"]),
    (f"{API}/questions?tag=%E2%82", ["query", "tag"]),
    (f"{API}/products/aero%FF", ["path"]),
    ("/search?q=caf%E9", ["query", "q"]),  # Latin-1 é
])
def test_query_and_path(client, url, loc):
    body = assert_problem(client.get(url), 422)
    assert body["errors"][0]["loc"] == loc


def test_multipart_text_fields_are_checked_and_files_are_not(client, factory, session):
    factory.user("maya")
    session.commit()
    r = client.post(f"{API}/auth/token", files={"username": (None, b"ma\xffya"), "password": (None, b"x")})
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "username"]
    # a binary file part is not text: passed on (here the token endpoint then refuses the password)
    r = client.post(f"{API}/auth/token", files={"username": (None, b"maya"), "password": (None, b"wrong"),
                                                "photo": ("p.bin", b"\xff\xd8\xff\xe0", "image/jpeg")})
    assert r.status_code == 401


def test_forum_answer_with_bytes_that_are_not_utf8_is_refused_with_a_page(client, factory, session, clean_engine,
                                                                          count):
    from sqlmodel import Session

    from tests.web.conftest import Browser, csrf_from

    factory.user("maya")
    q = factory.question(author=factory.user("raj"), title="Wi-Fi drops after the 2.3 update on the Aero 14")
    session.commit()
    web = Browser(client)
    client.headers["accept"] = "text/html"
    web.sign_in("maya")
    token = csrf_from(web.get(f"/questions/{q.id}/{q.slug}").text, f"/questions/{q.id}/answers")
    raw = f"csrf_token={token}&body=Roll+the+driver+back+to+22.1%FF+and+reboot+twice.".encode()
    r = client.post(f"/questions/{q.id}/answers", content=raw, headers=FORM, follow_redirects=False)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Text must be UTF-8" in r.text and "Go back" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert count(Answer) == 0
    # the same answer in UTF-8 is posted
    ok = raw.replace(b"%FF", b"%C3%A9")
    assert client.post(f"/questions/{q.id}/answers", content=ok, headers=FORM, follow_redirects=False).status_code == 303
    with Session(clean_engine) as s:
        assert [a.body for a in s.exec(select(Answer)).all()] == ["Roll the driver back to 22.1é and reboot twice."]
