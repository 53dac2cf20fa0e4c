"""The request's session (app/core/db.get_session) and viewer (app/web/deps.current_viewer), on both
databases: one commit when the request succeeds, nothing kept when it fails in any way, the
connection back in the pool after every ending, and the viewer resolved for a signed-in cookie only.

Issue 11 made both dependencies async (no thread-pool trip to open a session or to find that an
anonymous visitor is nobody), and has a forum page end its session in its own thread-pool trip
(app/core/db.ends_request_session); these tests hold the behaviour those changes must keep."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from app.core.db import SessionDep, ends_request_session
from app.core.errors import InvalidInput
from app.questions.models import Tag
from app.web.deps import Viewer, WebRoute
from tests.factories import PASSWORD


def _routes(app) -> None:
    """Routes of the test's own that write a tag, then end in each way a request can."""

    def write(session: SessionDep, name: str, end: str) -> dict:
        _MARK.set("set by the endpoint")  # seen by the commit only if it runs in the endpoint's own trip
        session.add(Tag(name=name))
        session.flush()  # the row is in the transaction, which the ending must keep or undo
        if end == "commit-fails":
            session.info["fail_commit"] = True
        if end == "domain-error":
            raise InvalidInput("refused after writing")
        if end == "crash":
            raise RuntimeError("an unexpected failure after writing")
        return {"written": name}

    def who(viewer: Viewer) -> dict:
        return {"viewer": viewer.username if viewer else None}

    app.router.add_api_route("/_test/write", write, methods=["POST"])
    # The same as a forum page: WebRoute turns a DomainError into an error page after the session ended.
    app.router.add_api_route("/_test/web-write", write, methods=["POST"], route_class_override=WebRoute)
    app.router.add_api_route("/_test/who", who, methods=["GET"])


# Set by the test's endpoint in the worker thread's copy of the request's context; a commit run in
# a later, separate trip to the thread pool gets a fresh copy of the request's context without it.
_MARK: ContextVar[str | None] = ContextVar("test_session_mark", default=None)


@pytest.fixture
def commits():
    """What the request's context held at each commit (`_MARK`), and a commit that fails on demand
    (session.info["fail_commit"]): listeners on every Session, removed afterwards."""
    seen: list[str | None] = []

    def before_commit(session):
        if session.info.get("fail_commit"):
            raise RuntimeError("the commit failed")

    def after_commit(session):
        seen.append(_MARK.get())

    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "after_commit", after_commit)
    yield seen
    event.remove(Session, "before_commit", before_commit)
    event.remove(Session, "after_commit", after_commit)


def _tags(engine) -> set[str]:
    with Session(engine) as s:
        return set(s.exec(select(Tag.name)).all())


def test_a_request_commits_once_and_a_failed_one_keeps_nothing(app, clean_engine):
    _routes(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/_test/write", params={"name": "kept", "end": "ok"}).json() == {"written": "kept"}
        refused = client.post("/_test/write", params={"name": "refused", "end": "domain-error"})
        assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
        page = client.post("/_test/web-write", params={"name": "refused-on-a-page", "end": "domain-error"})
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
        crashed = client.post("/_test/write", params={"name": "crashed", "end": "crash"})
        assert crashed.status_code == 500
        # A failing commit (the tag exists: unique name) is rolled back too, and answered, not hung.
        again = client.post("/_test/write", params={"name": "kept", "end": "ok"})
        assert again.status_code >= 400
    assert _tags(clean_engine) == {"kept"}
    assert clean_engine.pool.checkedout() == 0


def test_every_ending_returns_the_connection(app, clean_engine, factory, session):
    factory.user("maya")
    session.commit()
    _routes(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(3):
            assert client.get("/").status_code == 200
            assert client.get("/questions/999999/missing").status_code == 404
            assert client.post("/_test/write", params={"name": "x", "end": "crash"}).status_code == 500
        assert clean_engine.pool.checkedout() == 0


def test_the_viewer_is_who_the_cookie_names_and_only_then(app, clean_engine, factory, session):
    factory.user("maya")
    session.commit()
    _routes(app)
    with TestClient(app) as client:
        assert client.get("/_test/who").json() == {"viewer": None}
        page = client.get("/signin").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post("/signin", data={"username": "maya", "password": PASSWORD, "next": "/", "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/_test/who").json() == {"viewer": "maya"}
        assert "maya" in client.get("/").text  # the layout's header, from the resolved viewer
        client.cookies.clear()
        assert client.get("/_test/who").json() == {"viewer": None}
    assert clean_engine.pool.checkedout() == 0


def test_a_forum_page_commits_in_its_own_trip_and_other_routes_after_it(app, clean_engine, commits):
    _routes(app)
    with TestClient(app) as client:
        assert client.post("/_test/web-write", params={"name": "from-a-page", "end": "ok"}).status_code == 200
        assert commits == ["set by the endpoint"]  # ended inside the endpoint's trip: no second trip
        commits.clear()
        assert client.post("/_test/write", params={"name": "from-the-api", "end": "ok"}).status_code == 200
        assert commits == [None]  # an API route: get_session ends it, in a trip of its own
    assert _tags(clean_engine) == {"from-a-page", "from-the-api"}
    assert clean_engine.pool.checkedout() == 0


def test_a_forum_page_whose_commit_fails_keeps_nothing_and_returns_its_connection(app, clean_engine, commits):
    _routes(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        failed = client.post("/_test/web-write", params={"name": "not-committed", "end": "commit-fails"})
        assert failed.status_code == 500
        refused = client.post("/_test/web-write", params={"name": "refused", "end": "domain-error"})
        assert refused.status_code == 422
        crashed = client.post("/_test/web-write", params={"name": "crashed", "end": "crash"})
        assert crashed.status_code == 500
        assert client.post("/_test/web-write", params={"name": "kept", "end": "ok"}).status_code == 200
        assert clean_engine.pool.checkedout() == 0
    assert _tags(clean_engine) == {"kept"}
    assert commits == ["set by the endpoint"]  # only the last one committed


def test_every_forum_endpoint_ends_its_session_itself(app):
    """Each forum route's endpoint is wrapped once, also after app/core/routing.include_flat copied it."""
    web = [r for r in app.routes if isinstance(r, WebRoute)]
    assert len(web) > 100
    assert all(getattr(r.endpoint, "ends_request_session", False) for r in web)
    assert all(getattr(r.endpoint.__wrapped__, "ends_request_session", False) is False for r in web)


def test_ends_request_session_wraps_a_sync_endpoint_once_and_leaves_async_ones():
    def page() -> str:
        return "page"

    async def api() -> str:
        return "api"

    def stream():  # FastAPI streams a generator after the endpoint returned: never ended early
        yield "part"

    class Callable:
        def __call__(self) -> str:
            return "object"

    assert ends_request_session(stream) is stream
    handler = Callable()
    assert ends_request_session(handler) is handler

    wrapped = ends_request_session(page)
    assert wrapped is not page and wrapped() == "page" and wrapped.__name__ == "page"
    assert ends_request_session(wrapped) is wrapped
    assert ends_request_session(api) is api
    assert asyncio.run(api()) == "api"
    assert wrapped.__wrapped__ is page  # FastAPI reads the parameters and annotations through it
