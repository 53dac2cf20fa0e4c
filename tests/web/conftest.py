"""Helpers for the forum tests: browser-like clients (Accept: text/html, own cookie jar),
CSRF-aware form posting, and signing in through the real sign-in form."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: str, action: str | None = None) -> str:
    """The csrf_token of the form posting to `action` (any form when None); fails if there is none."""
    if action is not None:
        match = re.search(r'<form[^>]*action="' + re.escape(action) + r'"[^>]*>(.*?)</form>', page, re.S)
        assert match, f"no form posting to {action} on the page"
        page = match.group(1)
    found = _CSRF.search(page)
    assert found, "no csrf_token in the form"
    return found.group(1)


class Browser:
    """A TestClient that behaves like a browser user: HTML pages, no automatic redirects."""

    def __init__(self, client: TestClient):
        self.client = client

    def get(self, url: str, **kw):
        return self.client.get(url, follow_redirects=kw.pop("follow_redirects", False), **kw)

    def post(self, url: str, data: dict, **kw):
        return self.client.post(url, data=data, follow_redirects=kw.pop("follow_redirects", False), **kw)

    def submit(self, page_url: str, action: str, data: dict | None = None, **kw):
        """Open `page_url`, take the CSRF token from the form posting to `action`, and post it."""
        page = self.get(page_url, follow_redirects=True)
        assert page.status_code == 200, (page_url, page.status_code)
        return self.post(action, {**(data or {}), "csrf_token": csrf_from(page.text, action)}, **kw)

    def sign_in(self, username: str, password: str = PASSWORD):
        r = self.submit("/signin", "/signin", {"username": username, "password": password, "next": "/"})
        assert r.status_code == 303, r.text
        return r

    def follow(self, response):
        assert response.status_code in (301, 303), response.status_code
        return self.get(response.headers["location"], follow_redirects=True)


@pytest.fixture
def browsers(app) -> Iterator:
    """browsers() -> a new Browser with its own cookies (one per simulated person)."""
    opened: list[TestClient] = []

    def new() -> Browser:
        client = TestClient(app, headers={"Accept": "text/html,application/xhtml+xml"})
        client.__enter__()
        opened.append(client)
        return Browser(client)

    yield new
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def web(browsers) -> Browser:
    return browsers()


def text_of(page: str) -> str:
    """The page's visible-ish text: tags removed, entities decoded, whitespace collapsed."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def db_rows(session, statement) -> list:
    """Run a read in the test's session and end its transaction at once: the test session writes
    (SQLite BEGIN IMMEDIATE), so an open transaction would lock out the app's next request."""
    try:
        return list(session.exec(statement).all())
    finally:
        session.commit()


class Statements:
    """Counts the SQL statements run on an engine (SQLAlchemy's before_cursor_execute event);
    transaction control (BEGIN, COMMIT, ROLLBACK) is not counted."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.seen = engine, []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, *args):
        self.seen.append((statement, parameters))

    def count(self, fn) -> int:
        self.seen.clear()
        fn()
        return len(self.statements())

    def statements(self) -> list:
        return [(s, p) for s, p in self.seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]

    def close(self):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._record)
