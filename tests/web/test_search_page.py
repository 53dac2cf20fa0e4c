"""The search page: highlighted results, filters and facet counts, pages, typos, friendly errors."""

from __future__ import annotations

import html
import re

import pytest

from tests.web.conftest import text_of


@pytest.fixture
def index(clean_engine, settings):
    """index() applies the search outbox at once (the tests' app does not apply it in the background)."""
    from app.search import outbox
    from app.search import service as search_service

    def apply() -> None:
        outbox.drain(clean_engine, encoder=search_service.encoder_for(settings))

    return apply


def _links(page: str) -> dict[str, str]:
    """Visible link text -> href (the first of each)."""
    found: dict[str, str] = {}
    for href, inner in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', page, re.S):
        found.setdefault(text_of(inner), html.unescape(href))
    return found


def _result_titles(page: str) -> list[str]:
    block = re.search(r'<ol class="question-list search-results">(.*?)</ol>', page, re.S)
    if not block:
        return []
    return [text_of(t) for t in re.findall(r'<h2 class="qtitle"><a href="[^"]*">(.*?)</a>', block.group(1), re.S)]


@pytest.fixture
def catalogue(factory, session, index):
    """Five questions over two products, one solved."""
    aero = factory.product("aero-14", "Kestrel Aero 14")
    factory.product("dock-pro", "Dock Pro")
    maya = factory.user("maya")
    solved = factory.question(author=maya, title="Printer driver will not install on the Aero",
                              body="The installer stops at 80 percent with error 1603.", tags=["printer", "drivers"],
                              product="aero-14")
    answer = factory.answer(solved, body="Remove the old driver first, then run the installer again.")
    from app.answers import service as answers_service

    answers_service.accept(session, actor=maya, question_id=solved.id, answer_id=answer.id)
    factory.question(author=maya, title="Printer is offline after waking from sleep",
                     body="The printer shows offline until I restart it.", tags=["printer"], product="aero-14")
    factory.question(author=maya, title="Dock Pro printer port does nothing",
                     body="A printer on the dock's USB port is never seen.", tags=["printer", "usb"],
                     product="dock-pro")
    factory.question(author=maya, title="Battery drains overnight in sleep",
                     body="I lose 30 percent every night with the lid closed.", tags=["battery"], product="aero-14")
    session.commit()
    index()
    return {"aero": aero, "solved": solved}


def test_search_shows_highlighted_results_with_badges(web, catalogue):
    r = web.get("/search?q=printer")
    assert r.status_code == 200
    page = r.text
    assert "3 results" in text_of(page)
    titles = _result_titles(page)
    assert len(titles) == 3 and all("Printer" in t or "printer" in t for t in titles)
    assert "Battery drains overnight in sleep" not in page
    assert re.search(r"<mark>[Pp]rinter</mark>", page)
    # the solved one is marked, with its product
    solved_q = catalogue["solved"]
    solved = next(item for item in page.split('<li class="qitem')
                  if f'href="/questions/{solved_q.id}/{solved_q.slug}"' in item)
    assert 'class="badge badge-solved"' in solved and "1 answer" in text_of(solved)
    assert 'href="/products/aero-14">Kestrel Aero 14</a>' in solved
    assert 'content="noindex, follow"' in page


def test_header_has_an_accessible_search_box(web, catalogue):
    page = web.get("/").text
    form = re.search(r'<form class="site-search" role="search"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'action="/search"' in page
    assert '<label for="site-search-q" class="visually-hidden">Search questions</label>' in form.group(1)
    assert 'id="site-search-q" name="q"' in form.group(1)


def test_bare_search_page_shows_only_the_box(web, catalogue):
    r = web.get("/search")
    assert r.status_code == 200
    assert 'id="search-q"' in r.text
    assert _result_titles(r.text) == []
    assert "Type a few words" in r.text


def test_facets_count_every_match_and_filter_links_add_and_remove(web, catalogue):
    page = web.get("/search?q=printer").text
    facets = text_of(page[page.index('aria-label="Refine the search"'):])
    assert "Kestrel Aero 14 2 results" in facets and "Dock Pro 1 result" in facets
    assert "printer 3 results" in facets and "usb 1 result" in facets
    assert "Solved 1 result" in facets and "Not solved 2 results" in facets

    links = _links(page[page.index('aria-label="Refine the search"'):])
    product_url = links["Kestrel Aero 14"]
    assert product_url == "/search?q=printer&product=aero-14"
    filtered = web.get(product_url).text
    assert "2 results" in text_of(filtered)
    assert "Dock Pro printer port does nothing" not in filtered
    # the active filter is shown and removable, and its facet link now removes it
    assert re.search(r'aria-label="Remove filter Product: Kestrel Aero 14"', filtered)
    assert 'href="/search?q=printer"' in filtered
    assert "Remove filter: </span>Kestrel Aero 14" in filtered
    # the search box keeps the filters
    assert '<input type="hidden" name="product" value="aero-14">' in filtered

    solved = web.get("/search?q=printer&product=aero-14&solved=yes").text
    assert _result_titles(solved) == ["Printer driver will not install on the Aero"]
    unsolved = web.get("/search?q=printer&solved=no").text
    assert "Printer driver will not install" not in unsolved and "2 results" in text_of(unsolved)
    by_tag = web.get("/search?q=printer&tag=usb").text
    assert _result_titles(by_tag) == ["Dock Pro printer port does nothing"]


def test_filters_without_words_list_matching_questions(web, catalogue):
    page = web.get("/search?product=dock-pro").text
    assert _result_titles(page) == ["Dock Pro printer port does nothing"]
    assert "1 result" in text_of(page)


def test_pages_of_results(web, catalogue, monkeypatch):
    from app.web import search as web_search

    monkeypatch.setattr(web_search, "PAGE_SIZE", 2)
    first = web.get("/search?q=printer").text
    assert len(_result_titles(first)) == 2
    assert "page 1 of 2" in text_of(first)
    links = _links(first)
    assert "Previous page" not in links
    assert links["Next page →"] == "/search?q=printer&page=2"
    second = web.get("/search?q=printer&page=2").text
    assert len(_result_titles(second)) == 1
    assert set(_result_titles(first) + _result_titles(second)) == {
        "Printer driver will not install on the Aero", "Printer is offline after waking from sleep",
        "Dock Pro printer port does nothing"}
    links = _links(second)
    assert links["← Previous page"] == "/search?q=printer"
    assert "Next page →" not in links
    beyond = web.get("/search?q=printer&page=9")
    assert beyond.status_code == 200 and "no results on this page" in beyond.text
    bad = web.get("/search?q=printer&page=two")
    assert bad.status_code == 422 and "The page number must be a whole number" in bad.text


def test_typos_are_forgiven(web, catalogue):
    page = web.get("/search?q=instal+drivr").text
    assert _result_titles(page) == ["Printer driver will not install on the Aero"]
    assert "<mark>install</mark>" in page.lower() or "<mark>driver</mark>" in page.lower()


def test_no_results_offers_to_ask(web, catalogue):
    page = web.get("/search?q=toaster&product=dock-pro").text
    assert "0 results" in text_of(page)
    assert "No questions match “toaster” with these filters" in text_of(page)
    assert 'href="/ask?title=toaster&amp;product=dock-pro"' in page


def test_unknown_product_is_explained_on_the_page(web, catalogue):
    r = web.get("/search?q=printer&product=toaster-3000")
    assert r.status_code == 422
    text = text_of(r.text)
    assert "We could not run this search" in text and "There is no product 'toaster-3000'" in text
    assert _links(r.text)["Search again without filters"] == "/search?q=printer"
    assert 'id="search-q"' in r.text and 'value="printer"' in r.text


def test_titles_are_escaped(web, factory, session, index):
    factory.question(title="<script>alert(1)</script> wifi keeps dropping",
                     body="The <b>wifi</b> drops & comes back.", tags=["wifi"])
    session.commit()
    index()
    page = web.get("/search?q=wifi").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>wifi</b>" not in page
    assert "<mark>wifi</mark>" in page


def test_no_results_offers_the_similar_questions(web, catalogue):
    # The tag filter leaves nothing; the similar-question side (scoped by product only) still finds it.
    page = web.get("/search?q=offline+after+waking&tag=battery").text
    assert "0 results" in text_of(page)
    panel = re.search(r'<section class="similar-panel similar-on-empty".*?</section>', page, re.S)
    assert panel, "no similar questions offered"
    assert "Printer is offline after waking from sleep" in text_of(panel.group(0))
    # Scoped to the chosen product, as the filter is.
    page = web.get("/search?q=offline+after+waking&tag=battery&product=dock-pro").text
    panel = re.search(r'<section class="similar-panel similar-on-empty".*?</section>', page, re.S)
    assert not panel or "Printer is offline" not in text_of(panel.group(0))


def test_a_whole_sentence_finds_questions_without_every_word(web, catalogue):
    page = web.get("/search?q=my+printer+says+offline+every+morning").text
    assert _result_titles(page)[:1] == ["Printer is offline after waking from sleep"]


@pytest.mark.parametrize("q, title", [
    ("installing printer drivers", "Printer driver will not install on the Aero"),
    ("1603", "Printer driver will not install on the Aero"),
    ("PRINTER’S port", "Dock Pro printer port does nothing"),
])
def test_word_forms_and_codes_match(web, catalogue, q, title):
    assert title in _result_titles(web.get("/search", params={"q": q}).text)[:2]
