"""Issue 10 item 11: a 405's `Allow` lists every method the path answers (RFC 9110 §15.5.6),
also when the methods come from different routes (GET /questions and POST /questions), and
HEAD wherever GET is (issue 14 item 11)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import API, assert_problem

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: {"slug": "aero-14", "username": "maya", "type": "question"}
                  .get(m.group(1), "1"), path)


def _allow(response) -> list[str]:
    return [m.strip() for m in response.headers["allow"].split(",") if m.strip()]


def test_every_api_path_lists_all_its_methods(client, app):
    spec = app.openapi()
    checked = 0
    for template, ops in spec["paths"].items():
        documented = {m.upper() for m in ops}
        missing = [m for m in METHODS if m not in documented]
        if not missing:
            continue
        path = _fill(template)
        r = client.request(missing[0], path)
        if r.status_code != 405:  # another route's pattern takes this method here (e.g. /questions/{id})
            assert r.status_code != 500
            continue
        assert_problem(r, 405)
        allow = _allow(r)
        assert documented <= set(allow), (template, allow)
        for method in allow:  # and nothing is listed that would answer 405 itself
            if method not in ("HEAD", "OPTIONS"):
                assert client.request(method, path).status_code != 405, (template, method)
        checked += 1
    assert checked > 40


@pytest.mark.parametrize("method, path, allow", [
    ("PUT", f"{API}/questions", ["GET", "HEAD", "POST"]),
    ("PUT", f"{API}/questions/1", ["GET", "HEAD", "PATCH", "DELETE"]),
    ("GET", f"{API}/questions/1/accept", ["POST", "DELETE"]),
    ("HEAD", f"{API}/questions/1/accept", ["POST", "DELETE"]),  # HEAD only where GET is
    ("PATCH", f"{API}/questions/1/me-too", ["POST", "DELETE"]),
    ("DELETE", f"{API}/products", ["GET", "HEAD", "POST"]),
    ("PUT", "/ask", ["GET", "HEAD", "POST"]),
    ("DELETE", "/", ["GET", "HEAD"]),
    ("POST", "/healthz", ["GET", "HEAD"]),
])
def test_known_paths(client, method, path, allow):
    r = client.request(method, path)
    assert r.status_code == 405
    assert _allow(r) == allow
