"""Issue 14 item 8: the ask page: the product field first and remembered, a Markdown preview
rendered by the server through the posts' sanitiser (with and without JavaScript), and tag
suggestions from the tags in use (/api/v1/tags?prefix=)."""

from __future__ import annotations

import re

from sqlmodel import select

from app.questions.models import Question
from tests.web.conftest import csrf_from, db_rows


def _field_order(page: str) -> list[str]:
    form = page[page.index('id="ask-form"'):]
    return re.findall(r'<(?:input|select|textarea) id="f-(\w+)"', form)


def test_product_comes_first_and_is_remembered(web, factory, session):
    factory.product("dock-pro", "Dock Pro")
    factory.product("aero-14", "Kestrel Aero 14")
    maya = factory.user("maya")
    session.commit()
    web.sign_in("maya")
    page = web.get("/ask").text
    assert _field_order(page)[:2] == ["product", "title"]
    assert "(optional)" not in page[page.index('for="f-product"'):page.index('id="f-product"')]
    assert re.search(r'<option value="" selected|<option value="">No particular', page)
    factory.question(author=maya, product="aero-14")
    session.commit()
    remembered = web.get("/ask").text
    assert '<option value="aero-14" selected>' in remembered
    assert '<option value="dock-pro" selected>' in web.get("/ask?product=dock-pro").text  # a link's choice wins
    assert ' selected>' not in web.get("/ask?product=").text.split('id="f-product"')[1].split("</select>")[0]


def test_preview_without_javascript_renders_through_the_sanitiser_and_posts_nothing(web, factory, session):
    factory.user("maya")
    session.commit()
    web.sign_in("maya")
    token = csrf_from(web.get("/ask").text, "/ask")
    body = "It **stops** at 60 W.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    r = web.post("/ask", {"csrf_token": token, "title": "Dock", "body": body, "tags": "dock", "product": "",
                          "preview": "1"})
    assert r.status_code == 200
    preview = r.text[r.text.index("data-md-preview"):r.text.index('id="f-tags"')]
    assert "<strong>stops</strong>" in preview
    # raw HTML shows as text (escaped), links to javascript: are dropped: nothing runs
    assert "<script" not in preview and "<img" not in preview and 'href="javascript:' not in preview
    assert "hidden" not in preview.split(">")[0]  # shown
    assert 'value="Dock"' in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text  # the typed text is kept
    assert db_rows(session, select(Question)) == []


def test_preview_api_is_the_same_renderer(client):
    r = client.post("/api/v1/markdown/preview", json={"text": "- one\n- *two*\n\n<b onclick=x>hi</b>"})
    assert r.status_code == 200
    html = r.json()["html"]
    assert "<li>one</li>" in html and "<em>two</em>" in html and "<b " not in html  # raw HTML is text
    from app.core.markdown import render_markdown

    assert html == render_markdown("- one\n- *two*\n\n<b onclick=x>hi</b>")
    too_long = client.post("/api/v1/markdown/preview", json={"text": "x" * 30_001})
    assert too_long.status_code == 422 and too_long.headers["content-type"].startswith("application/problem+json")


def test_tag_suggestions_come_from_tags_in_use(client, factory, session):
    for _ in range(2):
        factory.question(tags=["wifi", "bios"])
    factory.question(tags=["wifi-6e", "windows"])
    session.commit()
    got = client.get("/api/v1/tags", params={"prefix": "WI"}).json()["items"]
    assert [(t["name"], t["question_count"]) for t in got] == [("wifi", 2), ("wifi-6e", 1), ("windows", 1)]
    assert got[0]["url"] == "/tags/wifi"
    assert client.get("/api/v1/tags", params={"prefix": "wi%_"}).json()["items"] == []  # no wildcards
    assert [t["name"] for t in client.get("/api/v1/tags", params={"prefix": "w", "limit": 1}).json()["items"]] == ["wifi"]
