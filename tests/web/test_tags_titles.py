"""Issue 12 on the forum, on both databases: tags in every script through the forms, tag pages at
percent-encoded addresses, invisible titles refused with the typed text kept, bare URLs as links,
and the search page's "Ask a question" carrying the query."""

from __future__ import annotations

import html
import re
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from sqlmodel import select

from app.questions import service as questions_service
from app.questions.models import Question
from tests.web.conftest import db_rows, text_of

TITLE = "Router drops the connection every hour"
BODY = "Since the firmware update the router drops Wi-Fi every hour."


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]


def _titles(page: str) -> list[str]:
    return re.findall(r'<h2 class="qtitle"><a href="[^"]+">([^<]+)</a>', page)


@pytest.mark.parametrize("typed, stored", [
    ("c# .NET", ["c#", ".net"]),
    ("größe, þýðingar", ["grösse", "þýðingar"]),
    ("роутер 路由器 C++", ["роутер", "路由器", "c++"]),
    ("usb-c, asp.net-core", ["usb-c", "asp.net-core"]),
    ("路由器，重启、网络", ["路由器", "重启", "网络"]),  # full-width and ideographic commas separate too
])
def test_tags_in_every_script_through_the_ask_form(web, factory, session, typed, stored):
    factory.user("maya")
    session.commit()
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {"title": TITLE, "body": BODY, "tags": typed, "product": ""})
    assert r.status_code == 303, r.text
    [q] = db_rows(session, select(Question))
    assert questions_service.tags_for(session, [q.id])[q.id] == stored
    session.commit()
    page = web.follow(r).text
    for name in stored:
        assert f'href="/tags/{quote(name, safe="")}"' in page, name  # the tag list and "Questions tagged …"
        assert f">{html.escape(name)}</a>" in page
    assert not any(h.startswith("/tags/") and re.search(r"[^A-Za-z0-9%._~/-]", h) for h in _hrefs(page))


@pytest.mark.parametrize("tags, words", [
    ("wifi c/c++", "c/c++"),
    ("wifi \u200b\u200b", "U+200B"),
    ("--weird--", "--weird--"),
    ("net.", "net."),
])
def test_a_tag_that_cannot_be_kept_is_a_form_error_with_the_typed_text_kept(web, factory, session, tags, words):
    factory.user("maya")
    session.commit()
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {"title": TITLE, "body": BODY, "tags": tags, "product": ""})
    assert r.status_code == 422
    error = re.search(r'id="f-tags-error">(.*?)</', r.text, re.S)
    assert error and words in html.unescape(text_of(r.text[error.start():error.end() + 400])), r.text[:200]
    assert f'value="{html.escape(tags)}"' in r.text and f'value="{TITLE}"' in r.text
    assert f">{BODY}</textarea>" in r.text
    assert db_rows(session, select(Question)) == []


@pytest.mark.parametrize("title, message", [
    ("\u200b" * 20, "This has no visible characters"),
    ("\u3164" * 16, "This has no visible characters"),
    ("\u2060\u00a0" * 10, "This has no visible characters"),
    ("Help!" + "\u200b" * 15, "Use at least 15 visible characters (you have 5)"),
    ("Wi-Fi \u202edrops every night", "Remove the text-direction control character U+202E"),
])
def test_an_invisible_title_is_a_form_error_with_the_typed_text_kept(web, factory, session, title, message):
    factory.user("maya")
    session.commit()
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {"title": title, "body": BODY, "tags": "router", "product": ""})
    assert r.status_code == 422
    assert re.search(r'id="f-title-error"><span class="visually-hidden">Error: </span>' + re.escape(message), r.text)
    assert f'value="{title}"' in r.text and 'value="router"' in r.text
    assert db_rows(session, select(Question)) == []


def test_edit_and_answer_forms_count_visible_characters_and_check_tags(web, factory, session):
    maya = factory.user("maya")
    q = factory.question(author=maya, title=TITLE, tags=["router"])
    session.commit()
    web.sign_in("maya")
    edit = f"/questions/{q.id}/edit"
    r = web.submit(edit, edit, {"title": "\u200b" * 20, "body": BODY, "tags": "router", "product": "",
                                "comment": ""})
    assert r.status_code == 422 and "no visible characters" in r.text
    r = web.submit(edit, edit, {"title": TITLE, "body": BODY, "tags": "router wi-fi?", "product": "", "comment": ""})
    assert r.status_code == 422 and "wi-fi?" in html.unescape(r.text) and 'value="router wi-fi?"' in r.text
    r = web.submit(edit, edit, {"title": TITLE, "body": BODY, "tags": "роутер .net", "product": "", "comment": ""})
    assert r.status_code == 303
    assert questions_service.tags_for(session, [q.id])[q.id] == ["роутер", ".net"]
    session.commit()
    page_url = f"/questions/{q.id}/{q.slug}"
    r = web.submit(page_url, f"/questions/{q.id}/answers", {"body": "Reboot." + "\u200b" * 30})
    assert r.status_code == 422 and "visible characters" in r.text


def test_the_suggest_edit_form_checks_tags_and_visible_characters(web, factory, session):
    author = factory.user("author")
    factory.user("helper")
    q = factory.question(author=author, title=TITLE, tags=["router"])
    session.commit()
    web.sign_in("helper")
    url = f"/questions/{q.id}/suggest-edit"
    r = web.submit(url, url, {"title": TITLE, "body": BODY, "tags": "router wi_fi!", "comment": "tags"})
    assert r.status_code == 422 and "“wi_fi!” cannot be used" in html.unescape(r.text)
    assert 'value="router wi_fi!"' in r.text
    r = web.submit(url, url, {"title": "\u200b" * 20, "body": BODY, "tags": "router", "comment": ""})
    assert r.status_code == 422 and "no visible characters" in r.text
    r = web.submit(url, url, {"title": TITLE, "body": BODY, "tags": "router роутер", "comment": "Russian tag"})
    assert r.status_code == 303


# --- tag pages --------------------------------------------------------------------------------

@pytest.fixture
def tagged(factory, session):
    """Questions under tags the old rule mangled or merged."""
    made = {
        "c#": factory.question(title="C# client cannot reach the dock API", tags=["c#"]),
        "c": factory.question(title="C library for the dock firmware", tags=["c"]),
        ".net": factory.question(title="Which .NET version does the SDK need", tags=[".net"]),
        "net": factory.question(title="Net connection drops at night", tags=["net"]),
        "роутер": factory.question(title="Роутер перезагружается каждый час", tags=["роутер"]),
        "路由器": factory.question(title="路由器每小时重启一次，更新固件后也一样怎么办", tags=["路由器"]),
        "c++": factory.question(title="C++ sample for the firmware API", tags=["c++"]),
    }
    session.commit()
    return made


@pytest.mark.parametrize("address, tag", [
    ("/tags/c%23", "c#"),
    ("/tags/c", "c"),
    ("/tags/.net", ".net"),
    ("/tags/net", "net"),
    ("/tags/%D1%80%D0%BE%D1%83%D1%82%D0%B5%D1%80", "роутер"),
    ("/tags/%E8%B7%AF%E7%94%B1%E5%99%A8", "路由器"),
    ("/tags/c%2B%2B", "c++"),
])
def test_each_tag_page_shows_its_own_questions(web, tagged, address, tag):
    r = web.get(address)
    assert r.status_code == 200, (address, r.status_code)
    assert _titles(r.text) == [html.escape(tagged[tag].title, quote=False)]
    assert f"Questions tagged “{html.escape(tag)}”" in r.text
    # the sort tabs and popular tags link back to this page, encoded
    assert f'href="{address}?sort=votes"' in r.text


@pytest.mark.parametrize("spelling, canonical", [
    ("/tags/C%23", "/tags/c%23"),
    ("/tags/%EF%BD%83%EF%BC%83", "/tags/c%23"),          # full-width ｃ＃
    ("/tags/%D0%A0%D0%BE%D1%83%D1%82%D0%B5%D1%80", "/tags/%D1%80%D0%BE%D1%83%D1%82%D0%B5%D1%80"),  # Роутер
    ("/tags/.NET?sort=votes", "/tags/.net?sort=votes"),
])
def test_other_spellings_of_a_tag_redirect_to_its_page(web, tagged, spelling, canonical):
    r = web.get(spelling)
    assert r.status_code == 301 and r.headers["location"] == canonical


@pytest.mark.parametrize("address", ["/tags/c%23%23", "/tags/no-such-tag", "/tags/a%2Fb", "/tags/%E2%80%8B"])
def test_unknown_tags_are_404(web, tagged, address):
    assert web.get(address).status_code == 404


def test_tag_filters_and_sitemap_use_encoded_tag_addresses(web, tagged, settings):
    listed = web.get("/questions", params={"tag": "C#"})
    assert _titles(listed.text) == [tagged["c#"].title]
    assert 'href="/questions?sort=votes&amp;tag=c%23"' in listed.text
    root = ElementTree.fromstring(web.get("/sitemap.xml").content)
    locs = {u.text for u in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    for tag in tagged:
        assert f"{settings.base_url}/tags/{quote(tag, safe='')}" in locs, tag
    assert not any(re.search(r"[^A-Za-z0-9%._~:/?&=-]", loc) for loc in locs)


# --- bare URLs, and asking from an empty search -----------------------------------------------------

def test_a_pasted_url_becomes_a_safe_link_in_questions_answers_and_comments(web, factory, session):
    maya = factory.user("maya")
    factory.user("raj")
    session.commit()
    web.sign_in("maya")
    r = web.submit("/ask", "/ask", {"title": TITLE, "body": "Same as https://en.wikipedia.org/wiki/Foo_(bar).\n\n"
                                    "`https://example.com/not-a-link`", "tags": "", "product": ""})
    assert r.status_code == 303
    page = web.follow(r).text
    assert ('<a href="https://en.wikipedia.org/wiki/Foo_(bar)" rel="nofollow ugc noopener noreferrer">'
            "https://en.wikipedia.org/wiki/Foo_(bar)</a>.") in page
    assert "<code>https://example.com/not-a-link</code>" in page
    [q] = db_rows(session, select(Question))
    r = web.submit(r.headers["location"], f"/questions/{q.id}/answers",
                   {"body": "The fix is at https://support.example.com/kb/42, step 3."})
    assert r.status_code == 303
    page = web.follow(r).text
    assert '<a href="https://support.example.com/kb/42" rel="nofollow ugc noopener noreferrer">' in page
    assert maya.id


@pytest.mark.parametrize("query, title", [
    ("toaster burns bread", "toaster burns bread"),
    ("Wi-Fi & Bluetooth  #2", "Wi-Fi & Bluetooth #2"),
    ("принтер не печатает", "принтер не печатает"),
    ("x" * 300, "x" * 150),
])
def test_an_empty_search_offers_to_ask_with_the_query_as_title(web, factory, session, query, title):
    factory.user("maya")
    session.commit()
    page = web.get("/search", params={"q": query}).text
    assert "No questions match" in text_of(page)
    empty = page[page.index('<div class="empty">'):]
    ask = re.search(r'<a class="button button-primary" href="([^"]*)">Ask a question</a>', empty)
    assert ask, empty[:500]
    web.sign_in("maya")
    form = web.get(html.unescape(ask.group(1)))
    assert form.status_code == 200
    assert f'id="f-title" name="title" type="text" value="{html.escape(title)}"' in form.text
