"""Helpers for the forum tests: browser-like clients (Accept: text/html, own cookie jar),
CSRF-aware form posting, signing in through the real sign-in form; for the browser tests the live
server (uvicorn in a thread), Chromium's settings and the page checker (`page_checker`: no horizontal
overflow and no axe-core violation, at the desktop and the phone size)."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
# --- browser tests -------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@contextmanager
def chromium_page(viewport: tuple[int, int]) -> Iterator[tuple[object, list[str]]]:
    """A page of a new headless Chromium (Debian's, CHROMIUM_ARGS) at `viewport` (width, height in
    CSS px), and the list every uncaught script error of the page goes into; the browser is closed
    on the way out. Use with the `live_server` fixture, which skips when Chromium is missing."""
    from playwright.sync_api import sync_playwright

    width, height = viewport
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page, problems
        finally:
            browser.close()


@pytest.fixture
def live_server(db_url, clean_engine):
    """The real app under uvicorn in a background thread, on a free local port."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("GROUNDSWELL_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and GROUNDSWELL_TEST_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    import uvicorn

    from app.main import create_app
    from tests.conftest import make_settings

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(db_url, base_url=base_url), clean_engine)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a deadline, not a wait: generous for a loaded CI machine
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail("the test server did not start within 60 seconds")
        time.sleep(0.05)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()




# --- every page at both sizes: overflow and accessibility -------------------------------------------

# The two sizes every page is checked at (CSS pixels): a desktop browser and a phone (iPhone 12-15).
SIZES: dict[str, tuple[int, int]] = {"desktop": (1280, 900), "phone": (390, 844)}

# axe-core as shipped by the axe-playwright-python package (a maintained PyPI package that bundles
# Deque's axe.min.js). It is evaluated through Playwright (CDP Runtime.evaluate), which the page's
# Content-Security-Policy does not govern: the page is checked with its real CSP in force, without
# a <script> tag and without bypass_csp.
_AXE_RUN = """async (exclude) => {
  const r = await axe.run(exclude.length ? {exclude: exclude.map(s => [s])} : document, {resultTypes: ["violations"]});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n").slice(1, 3).join("; "))}));
}"""

_OVERFLOW = """() => {
  const width = window.innerWidth, doc = document.documentElement;
  const wide = [];
  if (doc.scrollWidth > width) {
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      let inScroller = false;  // content of a sideways-scrolling box does not widen the page
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(p).overflowX)) { inScroller = true; break; }
      }
      if (!inScroller && r.right > width + 0.5 && r.width > 0) {
        const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
          (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
        wide.push(name + " right=" + Math.round(r.right));
        if (wide.length >= 6) break;
      }
    }
  }
  return {scrollWidth: doc.scrollWidth, innerWidth: width, wide};
}"""


# Buttons (and dates: "8 days ago") whose label is broken inside a word: the body's
# `overflow-wrap: anywhere` lowers their min-content width to one letter, so a button in a
# squeezed line ("Remove" beside a long title in the staff's internal panel at 390 px, the notices'
# "Mark as read" and their dates) stood one letter per line. A label may wrap
# between its words, never more lines than it has words, but for a word wider than the room its
# line has (a 60-letter product name on a phone), which takes the lines it needs. The visually
# hidden part of a label (.visually-hidden, for screen readers) takes no room and is not counted;
# the third-party API docs (Swagger UI, ReDoc) lay out their own buttons and are left out.
_SPLIT_BUTTONS = """() => {
  const split = [], canvas = document.createElement("canvas").getContext("2d");
  for (const el of document.querySelectorAll("button, .button, input[type=submit], input[type=button], time")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || el.closest("#swagger-ui, #redoc")) continue;
    const copy = el.cloneNode(true);
    if (copy.querySelectorAll) copy.querySelectorAll(".visually-hidden").forEach(n => n.remove());
    const text = (el.tagName === "INPUT" ? el.value : copy.textContent).trim();
    const words = text.split(/\\s+/).filter(Boolean);
    if (!words.length) continue;
    const cs = getComputedStyle(el);
    canvas.font = cs.fontWeight + " " + cs.fontSize + " " + cs.fontFamily;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
    const room = Math.max(1, (block ? block.clientWidth : window.innerWidth)
                              - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight));
    const allowed = words.reduce((n, w) => n + Math.max(1, Math.ceil(canvas.measureText(w).width / room)), 0);
    const lh = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.2;
    const inner = el.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    const lines = cs.display === "inline" ? el.getClientRects().length : Math.round(inner / lh);
    if (lines > allowed) split.push(JSON.stringify(text.slice(0, 40)) + " " + Math.round(r.width) + "px wide, " + lines + " lines");
    if (split.length >= 6) break;
  }
  return split;
}"""


def axe_source() -> str:
    """The text of axe.min.js from the axe-playwright-python package (fails the test if it is missing)."""
    import importlib.resources

    try:
        return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        pytest.fail("axe-playwright-python is not installed (pip install -e '.[test]')")


@dataclass
class PageChecker:
    """Opens pages in Chromium and checks each at every size in SIZES: no horizontal overflow
    (document.documentElement.scrollWidth <= window.innerWidth), no button or date label broken
    inside a word (_SPLIT_BUTTONS) and no axe-core violation, with the page's own CSP in force.
    Collects findings instead of stopping at the first, so that one run
    lists every problem; screenshots go to $GROUNDSWELL_SCREENSHOT_DIR when it is set."""

    browser: object
    base_url: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    _axe: str = field(default_factory=axe_source)

    def person(self, username: str | None = None, password: str | None = None):
        """A new browser context (own cookies) at the desktop size, signed in as `username` (None: signed out)."""
        from tests.factories import PASSWORD

        context = self.browser.new_context(viewport=dict(zip(("width", "height"), SIZES["desktop"])))
        page = context.new_page()
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: script error {e}"))
        page.on("console", lambda m: self.problems.append(f"{page.url}: console {m.text}") if m.type == "error" else None)
        if username:
            page.goto(f"{self.base_url}/signin")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(password or PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.wait_for_url(f"{self.base_url}/")
        return page

    def check(self, page, path: str, who: str = "signed out", expect_status: int | None = None,
              axe_exclude: tuple[str, ...] = (), wait_for: str | None = None) -> None:
        """Open `path` and check it at every size; findings are added to `self.problems`.
        `axe_exclude`: CSS selectors of third-party widgets axe leaves out (the overflow check does not);
        `wait_for`: a selector to wait for first (pages that render with a script)."""
        response = page.goto(f"{self.base_url}{path}")
        status = response.status if response else 0
        if wait_for:
            page.wait_for_selector(wait_for)
        if expect_status is not None and status != expect_status:
            self.problems.append(f"{path} [{who}]: status {status}, expected {expect_status}")
        elif expect_status is None and status >= 400:
            self.problems.append(f"{path} [{who}]: status {status}")
        self.check_current(page, path, who, axe_exclude=axe_exclude)

    def check_current(self, page, label: str, who: str = "signed out", axe_exclude: tuple[str, ...] = ()) -> None:
        """Check the page as it is now (reached through a form, or after clicks) at every size,
        without loading it again; `label` names it in findings and screenshots."""
        shots = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            where = f"{label} [{who}, {size} {width}x{height}]"
            self.checked.append(where)
            box = page.evaluate(_OVERFLOW)
            if box["scrollWidth"] > box["innerWidth"]:
                self.problems.append(f"{where}: page is {box['scrollWidth']} px wide in a {box['innerWidth']} px "
                                     f"window; wide: {', '.join(box['wide'])}")
            split = page.evaluate(_SPLIT_BUTTONS)
            if split:
                self.problems.append(f"{where}: button or date labels broken inside a word: {'; '.join(split)}")
            if not page.evaluate("() => typeof window.axe === 'object'"):
                page.evaluate(self._axe)
            for v in page.evaluate(_AXE_RUN, list(axe_exclude)):
                self.problems.append(f"{where}: axe {v['id']} ({v['impact']}): {v['help']}: {' | '.join(v['nodes'])}")
            if shots:
                name = re.sub(r"[^A-Za-z0-9]+", "_", f"{who}{label}").strip("_")[:100]
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / f"{name}-{size}.png"), full_page=True)
        page.set_viewport_size(dict(zip(("width", "height"), SIZES["desktop"])))

    def report(self) -> str:
        return f"{len(self.problems)} problem(s) on {len(self.checked)} page views:\n" + "\n".join(self.problems)


@pytest.fixture
def page_checker(live_server) -> Iterator[PageChecker]:
    """A PageChecker on the live server, with Chromium started (and closed after the test)."""
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield PageChecker(browser, live_server)
        finally:
            browser.close()
