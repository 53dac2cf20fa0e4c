"""body_html is sanitised for hostile input and renders normal Markdown; the OpenAPI document is complete."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.api.conftest import API, QUESTION

HOSTILE = [
    "<script>alert(1)</script> and some more words to reach the minimum",
    "Click [here](javascript:alert(1)) to fix your Wi-Fi problem",
    "Click [here](JaVaScRiPt:alert(1)) to fix your Wi-Fi problem",
    "Click [here](java&#x09;script:alert(1)) to fix the problem",
    "[x](&#106;avascript:alert(1)) encoded javascript link here",
    "<img src=x onerror=alert(1)> an image with an error handler",
    '![alt](x" onerror="alert(1)) an image with injected handler',
    "<a href=\"javascript:alert(1)\" onclick=\"alert(2)\">link</a> raw html link",
    "<svg onload=alert(1)><p onmouseover='alert(1)'>hover me please</p></svg>",
    "<iframe src=\"https://evil.example\"></iframe> embedded frame here",
    "[link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) data url link",
    "<style>body{display:none}</style><div style=\"background:url(javascript:alert(1))\">styled</div>",
    "```\n</code></pre><script>alert(1)</script>\n``` escaping the code block",
    "<<script>script>alert(1)<</script>/script> nested script tags here",
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _assert_safe(html: str) -> None:
    """Checks the real elements (escaped text like `&lt;script&gt;` is harmless and allowed)."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "iframe", "svg", "style", "object", "embed", "form", "input"), html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in ("href", "src"):
                v = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert not v.startswith(("javascript:", "data:", "vbscript:")), html
    assert "<script" not in html.lower()


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_markdown_is_sanitised(client, factory, session, login, body):
    factory.user("asker", reputation=50)
    q = factory.question()
    session.commit()
    h = login("asker")
    r = client.post(f"{API}/questions", json={**QUESTION, "body": body}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["body"] == body  # the source is kept as written
    _assert_safe(r.json()["body_html"])
    a = client.post(f"{API}/questions/{q.id}/answers", json={"body": body}, headers=h)
    assert a.status_code == 201
    _assert_safe(a.json()["body_html"])
    c = client.post(f"{API}/questions/{q.id}/comments", json={"body": body[:600]}, headers=h)
    assert c.status_code == 201
    _assert_safe(c.json()["body_html"])
    _assert_safe(client.get(f"{API}/questions/{r.json()['id']}").json()["body_html"])


def test_normal_markdown_renders(client, factory, session, login):
    factory.user("asker")
    session.commit()
    body = ("Steps I tried:\n\n1. Reboot\n2. Update the **driver**\n\n- one\n- two\n\n"
            "```bash\nsudo dmesg | grep iwlwifi\n```\n\nSee [the guide](https://example.com/guide) and `inline code`.\n\n"
            "> quoted text")
    r = client.post(f"{API}/questions", json={**QUESTION, "body": body}, headers=login("asker"))
    html = r.json()["body_html"]
    assert "<ol>" in html and "<li>Reboot</li>" in html
    assert "<ul>" in html and "<li>one</li>" in html
    assert "<strong>driver</strong>" in html
    assert '<pre><code class="language-bash">' in html and "sudo dmesg | grep iwlwifi" in html
    assert re.search(r'<a href="https://example.com/guide"[^>]*>the guide</a>', html)
    assert 'rel="nofollow' in html
    assert "<code>inline code</code>" in html
    assert "<blockquote>" in html


def test_markdown_html_is_escaped_not_dropped_silently(client, factory, session, login):
    factory.user("asker")
    session.commit()
    r = client.post(f"{API}/questions", json={**QUESTION, "body": "Use a <br> tag or x < y & y > z in text please"},
                    headers=login("asker"))
    html = r.json()["body_html"]
    assert "&lt;br&gt;" in html and "&amp;" in html


# --- OpenAPI ----------------------------------------------------------------------------------

ROUTES = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/users/{username}"),
    ("get", "/api/v1/products"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products/{slug}"),
    ("get", "/api/v1/questions"),
    ("post", "/api/v1/questions"),
    ("get", "/api/v1/questions/{question_id}"),
    ("patch", "/api/v1/questions/{question_id}"),
    ("delete", "/api/v1/questions/{question_id}"),
    ("get", "/api/v1/questions/{question_id}/revisions"),
    ("post", "/api/v1/questions/{question_id}/answers"),
    ("post", "/api/v1/questions/{question_id}/vote"),
    ("post", "/api/v1/answers/{answer_id}/vote"),
    ("post", "/api/v1/questions/{question_id}/accept"),
    ("delete", "/api/v1/questions/{question_id}/accept"),
    ("post", "/api/v1/questions/{question_id}/comments"),
    ("post", "/api/v1/answers/{answer_id}/comments"),
    ("delete", "/api/v1/answers/{answer_id}"),
    ("delete", "/api/v1/comments/{comment_id}"),
]


def test_openapi_lists_every_route(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    missing = [(m, p) for m, p in ROUTES if m not in doc["paths"].get(p, {})]
    assert missing == []
    # errors are documented as problem+json
    op = doc["paths"]["/api/v1/questions"]["post"]
    assert "application/problem+json" in op["responses"]["422"]["content"]
    assert op["responses"]["201"]
    assert doc["components"]["securitySchemes"]
    # the web pages are not part of the API document
    assert not [p for p in doc["paths"] if not p.startswith("/api/v1/")]


def test_docs_page(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower() and "/openapi.json" in r.text
    # issue 10: our own assets under the site's one CSP, nothing from a CDN
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "https://" not in r.text and "<script>" not in r.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/static/swagger-init.js"):
        assert asset in r.text and client.get(asset).status_code == 200
