"""Issue 14 item 11: HEAD is answered wherever GET is (RFC 9110 §9.3.2): same status and headers,
no body. The walk reads the app's own routes, so a GET route added later is covered too."""

from __future__ import annotations

import re
import socket

import pytest
from fastapi.testclient import TestClient

from app.core.paths import static_dir
from tests.factories import PASSWORD
from tests.http_load import serve
from tests.web.conftest import Browser

# Headers that may differ between two requests for the same thing.
VARYING = {"date", "x-request-id", "set-cookie", "content-length"}


def get_paths(app) -> list[str]:
    """Every GET route's path template (included routers walked), plus the mounts."""
    paths = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI ≥ 0.16x)
            contexts = [(c.path, getattr(c.original_route, "methods", None)) for c in route.effective_route_contexts()]
        else:
            contexts = [(route.path, getattr(route, "methods", None))]
        paths += [path for path, methods in contexts if methods and "GET" in methods]
    assert len(paths) > 50, paths  # the walk found the routers' routes
    return paths


@pytest.fixture
def community(factory, session):
    """A product, an asker, a staff member, a question with an answer: ids to fill the paths with."""
    factory.product("aero-14", "Kestrel Aero 14")
    factory.user("lena", role="staff")
    maya = factory.user("maya")
    question = factory.question(author=maya, title="Wi-Fi drops after the 2.3 update", product="aero-14",
                                tags=["wifi"])
    answer = factory.answer(question)
    session.commit()
    return {"question_id": question.id, "answer_id": answer.id, "slug": "aero-14", "username": "maya",
            "name": "wifi", "escalation_id": 1, "notification_id": 1, "key_id": 1, "endpoint_id": 1,
            "row_id": 1, "delivery_id": 1, "post_type": "question", "post_id": question.id,
            "original_id": question.id, "type": "tag", "target": "wifi", "view_id": 1, "key": "teacher"}


def _fill(template: str, values: dict) -> str:
    def one(match):
        name = match.group(1)
        if template.startswith("/questions/") and name == "slug":
            return "wi-fi-drops-after-the-2-3-update"
        return str(values[name])

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, template)


def _same(client: TestClient, path: str) -> tuple[int, int]:
    head = client.head(path, follow_redirects=False)
    got = client.get(path, follow_redirects=False)
    assert head.status_code == got.status_code, (path, head.status_code, got.status_code, head.text[:200])
    assert head.content == b"", path
    same_names = {k for k in head.headers if k not in VARYING}
    assert same_names == {k for k in got.headers if k not in VARYING}, path
    for name in same_names - {"content-security-policy"}:
        assert head.headers[name] == got.headers[name], (path, name)
    if "content-length" in head.headers:  # the GET body's length, or absent
        assert int(head.headers["content-length"]) == len(got.content), path
    if 300 <= got.status_code < 400:
        client.get("/")  # spends the flash a redirect leaves ("Sign in to continue."), as a browser would
    return head.status_code, got.status_code


def test_every_get_route_answers_head_the_same(app, community):
    static_file = sorted(p.name for p in static_dir().iterdir() if p.is_file())[0]
    paths = [_fill(t, community) for t in get_paths(app)] + [f"/static/{static_file}", "/docs/assets/nope.js"]
    statuses = {}
    anonymous = TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"})
    staff = Browser(TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"}))
    api_client = TestClient(app)
    with anonymous, staff.client, api_client:
        staff.sign_in("lena")
        staff.get("/")  # shows (and so spends) the "signed in" flash, which would lengthen one page only
        token = api_client.post("/api/v1/auth/token", data={"username": "lena", "password": PASSWORD}).json()
        api_client.headers["Authorization"] = f"Bearer {token['access_token']}"
        for path in paths:
            client = api_client if path.startswith("/api/") else anonymous
            statuses[path] = _same(client, path)[0]
            if not path.startswith("/api/"):
                _same(staff.client, path)
    assert statuses["/healthz"] == 200 and statuses["/sitemap.xml"] == 200 and statuses["/docs"] == 200
    assert statuses["/openapi.json"] == 200 and statuses[f"/static/{static_file}"] == 200
    assert statuses[f"/questions/{community['question_id']}"] in (200, 301, 308)
    assert statuses["/api/v1/questions"] == 200 and statuses["/users/maya"] == 200
    assert sum(1 for s in statuses.values() if s == 200) > 30, statuses


def test_head_where_get_is_refused_answers_as_get_does(client):
    r = client.head("/api/v1/questions/1/accept")  # POST and DELETE only
    assert r.status_code == 405 and r.headers["allow"] == "POST, DELETE"
    assert client.head("/api/v1/questions/999999").status_code == 404


async def _asgi(app, method: str, path: str) -> list[dict]:
    """The messages the app sends for one request, straight at the ASGI level."""
    import anyio

    sent, received = [], []

    async def receive():
        if received:  # the body was read: the client stays connected until the response ends
            await anyio.sleep_forever()
        received.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", ["/healthz", "/", "/api/v1/questions", "/static/groundswell.css", "/no-such-page"])
def test_head_sends_no_body_at_the_asgi_level(app, community, path):
    """The middleware drops the body itself (the test client and uvicorn would hide one)."""
    import anyio

    head = anyio.run(_asgi, app, "HEAD", path)
    got = anyio.run(_asgi, app, "GET", path)
    assert head[0]["status"] == got[0]["status"]
    assert b"".join(m.get("body", b"") for m in head[1:]) == b""
    body = b"".join(m.get("body", b"") for m in got[1:])
    assert body
    length = dict(head[0]["headers"]).get(b"content-length")
    assert length is None or int(length) == len(body)


def test_curl_i_against_a_real_server(app, community):
    """What `curl -I` does: HEAD over a real connection; the server answers the headers only."""
    with serve(app) as port:
        for path, status in [("/", 200), ("/healthz", 200), ("/sitemap.xml", 200), ("/static/groundswell.css", 200),
                             (f"/api/v1/questions/{community['question_id']}", 200)]:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
                raw = b""
                while chunk := sock.recv(65536):
                    raw += chunk
            head, _, rest = raw.partition(b"\r\n\r\n")
            assert head.startswith(f"HTTP/1.1 {status} ".encode()), (path, head[:100])
            assert rest == b"", path
            assert re.search(rb"(?im)^x-request-id: [0-9a-f]{32}\r?$", head)
