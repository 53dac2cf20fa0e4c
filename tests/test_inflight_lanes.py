"""The admission limit's lanes (app/core/middleware.InflightLimit, docs/operations.md "Load and
saturation"): searches, which may wait seconds on their backend, have slots of their own, so slow
searches never keep pages and API reads waiting; reads and writes keep theirs.

The limit wraps a small ASGI app of the test's own whose /search answers only when the test says
so: a search backend that is slow for as long as the test needs, with no sleeps."""

from __future__ import annotations

import asyncio
import json

from app.core.middleware import InflightLimit
from app.main import SEARCH_PATHS, create_app


def _slow_search_app(release: asyncio.Event, entered: asyncio.Event):
    async def app(scope, receive, send):
        if scope["path"] == "/search":
            entered.set()
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    return app


async def _call(app, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI interface: (status, headers, body)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": [(b"host", b"test")], "scheme": "http",
             "server": ("test", 80), "client": ("127.0.0.1", 5000), "root_path": ""}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body


async def _scenario():
    release, entered = asyncio.Event(), asyncio.Event()
    limited = InflightLimit(_slow_search_app(release, entered), limit=1, max_queue=0, timeout=30,
                            search_paths=("/search",))
    held = asyncio.create_task(_call(limited, "GET", "/search"))
    await entered.wait()  # the search holds the only search slot, waiting on its backend
    page = await _call(limited, "GET", "/questions/1/a-page")  # a read: its own slot, answered now
    second_search = await _call(limited, "GET", "/search")  # no search slot left, no queue
    write = await _call(limited, "POST", "/questions")
    release.set()
    first_search = await held
    return page, second_search, write, first_search


def test_a_slow_search_does_not_hold_the_slots_of_pages():
    page, second_search, write, first_search = asyncio.run(_scenario())
    assert (page[0], page[2]) == (200, b"/questions/1/a-page")
    assert write[0] == 200
    status, headers, body = second_search
    assert status == 503 and headers["retry-after"] == "2"
    assert json.loads(body)["type"] == "/problems/busy"
    assert first_search[0] == 200


async def _without_lane():
    """The control: the same with no search lane configured, the slow search holds the read slot."""
    release, entered = asyncio.Event(), asyncio.Event()
    limited = InflightLimit(_slow_search_app(release, entered), limit=1, max_queue=0, timeout=30)
    held = asyncio.create_task(_call(limited, "GET", "/search"))
    await entered.wait()
    page = await _call(limited, "GET", "/questions/1/a-page")
    release.set()
    await held
    return page


def test_without_a_search_lane_the_page_would_be_refused():
    assert asyncio.run(_without_lane())[0] == 503


def test_the_search_lane_names_real_search_routes(settings, clean_engine):
    """SEARCH_PATHS are GET routes of the application (a renamed route would silently leave the lane)."""
    app = create_app(settings, clean_engine)
    gets = {r.path for r in app.routes if "GET" in (getattr(r, "methods", None) or ())}
    assert set(SEARCH_PATHS) <= gets
