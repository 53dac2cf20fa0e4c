"""The embeddable widget in a real browser (Chromium), on a host page served by a second server
from a different origin than the community (issue 16 item 4): best solved questions, search,
similar questions while typing, "this solved it" recorded as a deflection, the ask link with
product and title, host CSS that cannot reach inside, no cookies, no third-party requests;
CORS only for the configured origin (the same page from another origin gets the quiet
fallback link), and the fallback when the API is unreachable. Both databases."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import Session, func, select

from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Kestrel Aero 14</title>
<style>* {{ color: rgb(255, 0, 0) !important; font-size: 40px !important; }} li {{ display: none !important; }}
input {{ display: none !important; }}</style></head>
<body><h1>Kestrel Aero 14</h1><p>Our thinnest laptop.</p>
<script src="{api}/widget.js" data-product="aero-14" async></script>
</body></html>"""


def _port() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


@pytest.fixture
def sites(db_url, clean_engine, tmp_path):
    """(community base URL, host origin): the app under uvicorn, and a plain static server for the
    product site's page, reached as http://localhost:PORT (another origin than 127.0.0.1)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("GROUNDSWELL_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and GROUNDSWELL_TEST_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    pytest.importorskip("playwright.sync_api")
    import uvicorn

    from app.main import create_app
    from tests.conftest import make_settings

    host_sock, host_port = _port()
    host_sock.close()
    host_origin = f"http://localhost:{host_port}"
    sock, port = _port()
    api = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(db_url, base_url=api, cors_origins=host_origin), clean_engine)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    (tmp_path / "index.html").write_text(HOST_PAGE.format(api=api))
    host = ThreadingHTTPServer(("127.0.0.1", host_port), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    host_thread = threading.Thread(target=host.serve_forever, daemon=True)
    host_thread.start()
    deadline = time.monotonic() + 60  # a loaded CI machine: tests/web/conftest.py waits as long
    while True:
        try:
            with urllib.request.urlopen(f"{api}/healthz", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("the community server did not start")
            time.sleep(0.05)
    yield api, host_origin, host_port
    host.shutdown()
    host.server_close()
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def content(factory, session, clean_engine, settings):
    from app.answers import service as answers_service
    from app.search import outbox
    from app.search import service as search_service

    factory.product("aero-14", "Kestrel Aero 14")
    raj = factory.user("raj")
    q = factory.question(author=raj, title="Battery will not charge past 80 percent",
                         body="Charging stops at 80 percent every time on the Aero.", tags=["battery"], product="aero-14")
    a = factory.answer(q, author=factory.user("lena"), body="Turn off Battery Care in Kestrel Control Center.")
    answers_service.accept(session, actor=raj, question_id=q.id, answer_id=a.id)
    factory.question(author=raj, title="Fan is loud when the lid is closed", body="It spins up at night on battery.",
                     tags=["fan"], product="aero-14")
    session.commit()
    while outbox.drain(clean_engine, encoder=search_service.encoder_for(settings)).did_work:
        pass
    return q


def test_widget_on_another_origin(sites, content, clean_engine):
    from playwright.sync_api import expect, sync_playwright

    from app.search.models import Deflection

    api, host_origin, _ = sites
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 375, "height": 740})  # a phone
            page = ctx.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{host_origin}/index.html")
            host = page.locator("[data-gs-host]")
            expect(host).to_have_attribute("data-gs-state", "ready")
            widget = page.locator("section.gs")
            expect(widget.get_by_role("heading", name="Kestrel Aero 14: answers from the community")).to_be_visible()
            best = widget.get_by_role("list", name="Best solved questions")
            expect(best.get_by_role("link", name="Battery will not charge past 80 percent")).to_be_visible()
            # issue 18: the product's top contributors of the last 30 days (lena's accepted answer: 15 points)
            top = widget.get_by_role("list", name="Top helpers, last 30 days")
            expect(top.get_by_role("listitem").first).to_contain_text("lena")
            expect(top.get_by_role("listitem").first).to_contain_text("15 points")
            # The host page's CSS (red, 40px, hidden lists and inputs) does not reach inside.
            colour = best.get_by_role("link").first.evaluate("e => getComputedStyle(e).color")
            assert colour != "rgb(255, 0, 0)"
            box = widget.bounding_box()
            assert box["width"] <= 375  # fits a phone
            # Search (keyboard only: type, Enter).
            search = widget.get_by_label("Search the community")
            search.focus()
            page.keyboard.type("fan lid")
            page.keyboard.press("Enter")
            results = widget.get_by_role("list", name="Search results")
            expect(results.get_by_role("link", name="Fan is loud when the lid is closed")).to_be_visible()
            # Have a question? Similar questions while typing, then "this solved it".
            ask = widget.get_by_label("Your question")
            ask.fill("battery stops charging at 80 percent")
            similar = widget.get_by_role("list", name="Similar questions")
            expect(similar.get_by_role("link", name="Battery will not charge past 80 percent")).to_be_visible()
            link = widget.get_by_role("link", name="Ask the community")
            href = link.get_attribute("href")
            assert href.startswith(f"{api}/ask?product=aero-14&title=battery%20stops")
            similar.get_by_role("button", name=re.compile("This solved it: Battery")).click()
            expect(similar.get_by_role("status")).to_have_text("Glad it helped!")
            # No cookies anywhere, every request to the host page or the community only.
            assert ctx.cookies() == []
            assert page.evaluate("document.cookie") == ""
            assert all(u.startswith((host_origin, api)) for u in requests), requests
            assert errors == []
        finally:
            browser.close()
    with Session(clean_engine) as s:
        assert s.exec(select(func.count()).select_from(Deflection).where(Deflection.question_id == content.id)).one() == 1


def test_cors_only_for_the_configured_origin_and_quiet_fallback(sites, content):
    from playwright.sync_api import expect, sync_playwright

    api, host_origin, host_port = sites
    ok = urllib.request.Request(f"{api}/api/v1/products", headers={"Origin": host_origin})
    with urllib.request.urlopen(ok) as r:
        assert r.headers["Access-Control-Allow-Origin"] == host_origin
    bad = urllib.request.Request(f"{api}/api/v1/products", headers={"Origin": "http://evil.example"})
    with urllib.request.urlopen(bad) as r:
        assert r.headers.get("Access-Control-Allow-Origin") is None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # The same page from an origin that is not configured: the browser refuses the API's
            # answers, and the widget shows only a link to the community.
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{host_port}/index.html")
            expect(page.locator("[data-gs-host]")).to_have_attribute("data-gs-state", "offline")
            expect(page.get_by_role("link", name="Visit the community for answers")).to_have_attribute(
                "href", f"{api}/products/aero-14")
            # From the configured origin a script reads the headers the API exposes (ETag for
            # revalidation, the request id to quote); unexposed ones would read as null.
            page = browser.new_page()
            page.goto(f"{host_origin}/index.html")
            seen = page.evaluate("""async (u) => { const r = await fetch(u, {credentials: "omit"});
                return [r.headers.get("ETag"), r.headers.get("X-Request-ID")]; }""", f"{api}/api/v1/products")
            assert seen[0] and seen[1], seen
            # Revalidating with that ETag sets If-None-Match, which is not CORS-safelisted: the
            # browser sends a preflight first, and only when it is granted does the 304 arrive.
            status = page.evaluate("""async ([u, tag]) => { const r = await fetch(u, {credentials: "omit",
                headers: {"If-None-Match": tag}}); return r.status; }""", [f"{api}/api/v1/products", seen[0]])
            assert status == 304
            # The configured origin, with the API unreachable (requests fail at the network).
            page = browser.new_page()
            page.route(re.compile(r".*/api/v1/.*"), lambda route: route.abort())
            page.goto(f"{host_origin}/index.html")
            expect(page.locator("[data-gs-host]")).to_have_attribute("data-gs-state", "offline")
            expect(page.get_by_role("link", name="Visit the community for answers")).to_be_visible()
        finally:
            browser.close()
