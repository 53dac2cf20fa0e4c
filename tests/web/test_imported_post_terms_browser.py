"""In a real browser (Chromium through Playwright; server as in test_browser.py), desktop and phone:
an imported thread shows each post's own licence, the "community wiki" label, and the names of
comment authors who are not in the archive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from app.importer.models import ImportMap
from tests.importer.dumps import SITE, Dump
from tests.importer.support import run_import
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def imported(clean_engine, tmp_path):
    d = Dump().user(1, "Early Adopter").user(2, "Wiki Keeper")
    d.question(10, "Which radio standards do smart plugs use?", owner=1, created="2010-05-01T09:00:00.000",
               ContentLicense=None)
    d.answer(11, 10, owner=2, created="2019-02-01T09:00:00.000", ContentLicense=None,
             CommunityOwnedDate="2019-02-01T09:00:00.000",
             body="<ul><li><p>Zigbee</p></li><li><p>Z-Wave</p></li><li><p>Wi-Fi</p></li></ul>")
    d.comment(10, "Do you mean for the EU market?", user=None, UserDisplayName="Departed Dana")
    run_import(clean_engine, d.write(tmp_path / "dump"))
    from sqlmodel import Session

    with Session(clean_engine) as s:
        return s.exec(select(ImportMap.local_id).where(ImportMap.site == SITE, ImportMap.kind == "question",
                                                        ImportMap.source_id == 10)).one()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_imported_thread_shows_licences_wiki_and_comment_names(live_server, imported, viewport):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    shots = os.environ.get("GROUNDSWELL_SCREENSHOT_DIR")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=viewport).new_page()
            page.goto(f"{live_server}/questions/{imported}")
            licences = page.get_by_role("link", name="CC BY-SA 2.5")
            expect(licences).to_have_count(1)
            expect(licences).to_have_attribute("href", "https://creativecommons.org/licenses/by-sa/2.5/")
            newer = page.get_by_role("link", name="CC BY-SA 4.0")
            expect(newer).to_have_count(1)
            wiki = page.get_by_text("community wiki", exact=True)
            expect(wiki).to_have_count(1)
            expect(wiki).to_be_visible()
            expect(page.locator(".comment-meta").filter(has_text="Departed Dana")).to_be_visible()
            expect(page.locator(".comment-meta").filter(has_text="deleted user")).to_have_count(0)
            # Nothing wider than the screen on a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / f"imported-terms-{viewport['width']}.png"), full_page=True)
        finally:
            browser.close()
