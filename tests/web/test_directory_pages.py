"""Issue 14 item 9: /tags and /users, canonical links and titles per sort and filter on list pages,
the sitemap without closed duplicates, JSON-LD text with its list items apart; item 7: profiles."""

from __future__ import annotations

import json
import re

from app.answers import service as answers_service
from app.core.markdown import excerpt, render_markdown
from app.questions import directory as tags_directory
from app.votes import service as votes_service
from tests.web.conftest import text_of


def _titles(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


def _canonical(page: str) -> str | None:
    found = re.search(r'<link rel="canonical" href="([^"]+)">', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_tags_page_counts_filters_and_pages(web, factory, session, monkeypatch):
    for i in range(3):
        factory.question(tags=["wifi", "bios"])
    factory.question(tags=["wifi"])
    factory.question(tags=["wifi-6e"])
    factory.question(tags=["fan"])
    session.commit()
    page = web.get("/tags").text
    cards = re.findall(r'<li class="directory-card"><a class="tag" href="([^"]+)">([^<]+)</a> '
                       r'<span class="directory-count">([^<]+)</span>', page)
    assert [(n, c) for _, n, c in cards] == [("wifi", "4 questions"), ("bios", "3 questions"),
                                              ("fan", "1 question"), ("wifi-6e", "1 question")]
    assert cards[0][0] == "/tags/wifi"
    assert _canonical(page).endswith("/tags") and _titles(page).startswith("Tags –")
    found = web.get("/tags?q=WiFi").text  # the tags' normal form: case does not matter
    assert [n for _, n, _ in re.findall(r'<a class="tag" href="([^"]+)">([^<]+)</a> <span class="directory-count">([^<]+)',
                                        found)] == ["wifi", "wifi-6e"]
    assert "Tags matching “WiFi”" in _titles(found) and "2 tags matching" in text_of(found)
    by_name = web.get("/tags?sort=name").text
    assert re.findall(r'<a class="tag" href="[^"]+">([^<]+)</a>', by_name)[:2] == ["bios", "fan"]
    assert _titles(by_name) != _titles(page)
    monkeypatch.setattr(tags_directory, "TAGS_PER_PAGE", 2)
    first = web.get("/tags").text
    assert 'rel="next"' in first and "Page 1 of 2" in first
    second = web.get("/tags?page=2").text
    assert "Page 2 of 2" in second and _canonical(second).endswith("/tags?page=2") and "page 2" in _titles(second)
    assert web.get("/tags?page=0").status_code == 422  # a form mistake is a page, never a 500
    assert web.get("/tags?q=" + "x" * 300).status_code == 422


def test_users_page_sorts_and_filters_by_product(web, factory, session):
    factory.product("dock-pro", "Dock Pro")
    asker = factory.user("asker")
    raj, nina = factory.user("raj", reputation=50), factory.user("nina", reputation=400)
    factory.user("ghost", is_active=False)
    q = factory.question(author=asker, product="dock-pro")
    a = factory.answer(q, author=raj)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    session.commit()
    page = web.get("/users").text
    names = re.findall(r'<a href="/users/(\w+)">', page[page.index("user-directory"):])
    assert names.index("nina") < names.index("raj") and "ghost" not in names
    assert "People by reputation" in _titles(page) and _canonical(page).endswith("/users")
    on_dock = web.get("/users?product=dock-pro").text
    listed = on_dock[on_dock.index("user-directory"):]
    assert re.findall(r'<a href="/users/(\w+)">', listed)[:2] == ["raj", "asker"]  # nina earned nothing there
    assert "nina" not in listed and "on Dock Pro" in text_of(listed)
    assert "People by reputation on Dock Pro" in _titles(on_dock)
    assert _canonical(on_dock).endswith("/users?product=dock-pro")
    by_name = web.get("/users?sort=name&q=RA").text
    assert re.findall(r'<a href="/users/(\w+)">', by_name[by_name.index("user-directory"):]) == ["raj"]
    assert _titles(by_name) != _titles(page)


def test_list_pages_have_a_canonical_link_and_a_title_per_sort_and_filter(web, factory, session):
    factory.product("dock-pro", "Dock Pro")
    factory.question(product="dock-pro", tags=["charging"])
    session.commit()
    seen = {}
    for url in ("/questions", "/questions?sort=votes", "/questions?sort=votes&solved=yes",
                "/questions?product=dock-pro", "/products/dock-pro", "/products/dock-pro?sort=active",
                "/tags/charging", "/tags/charging?sort=unanswered"):
        page = web.get(url).text
        assert _canonical(page) == "http://testserver" + url or _canonical(page).endswith(url), (url, _canonical(page))
        seen[_titles(page)] = url
    assert len(seen) == 8, seen  # no two share a title
    assert "(most votes, solved)" in next(t for t, u in seen.items() if u == "/questions?sort=votes&solved=yes")


def test_sitemap_leaves_out_closed_duplicates(web, factory, session):
    from app.questions import duplicates

    original = factory.question(title="Dock Pro will not charge my laptop at 100 W")
    dup = factory.question(title="Dock Pro only charges at sixty watts")
    duplicates.close_as_duplicate(session, actor=factory.user("mod", role="moderator"), question_id=dup.id,
                                  original_id=original.id)
    session.commit()
    xml = web.get("/sitemap.xml").text
    assert f"/questions/{original.id}/" in xml and f"/questions/{dup.id}/" not in xml


def test_json_ld_keeps_list_items_apart(web, factory, session):
    body = "Tried these:\n\n- unplugged the power brick\n- Connected it to another outlet\n\nStill 60 W."
    q = factory.question(body=body)
    factory.answer(q, body="Check:\n\n1. the cable\n2. The firmware")
    session.commit()
    assert excerpt(render_markdown(body)) == ("Tried these: unplugged the power brick Connected it to another "
                                              "outlet Still 60 W.")
    page = web.get(f"/questions/{q.id}/{q.slug}").text
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    text = json.dumps(ld)
    assert "power brick Connected" in text and "brickConnected" not in text
    assert "the cable The firmware" in text


def test_profile_lists_posts_with_scores_and_groups_reputation(web, factory, session):
    raj, maya = factory.user("raj"), factory.user("maya")
    q = factory.question(author=maya, title="Dock Pro will not charge at 100 W")
    a = factory.answer(q, author=raj)
    voters = [factory.user() for _ in range(17)]
    for v in voters:
        votes_service.cast(session, actor=v, post_type="answer", post_id=a.id, value=1)
    others = [factory.answer(factory.question(author=maya), author=raj) for _ in range(22)]
    session.commit()
    page = web.get("/users/raj").text
    assert '<a href="/users/raj?tab=answers">23<' in page and '<a href="/users/raj?tab=questions">0<' in page
    rows = re.findall(r'<li class="profile-post rep-post-row">(.*?)</li>', page, re.S)
    assert len(rows) == 1  # 17 upvotes on one answer: one row
    assert "Answer upvoted ×17" in text_of(rows[0]) and text_of(rows[0]).startswith("+170")
    top = re.findall(r'<li class="profile-post" id="profile-answer-(\d+)">(.*?)</li>', page, re.S)
    assert top[0][0] == str(a.id) and "+17" in text_of(top[0][1])  # top answers by score
    answers = web.get("/users/raj?tab=answers").text
    listed = re.findall(r'id="profile-answer-(\d+)"', answers)
    assert len(listed) == 20 and listed[0] == str(others[-1].id)  # newest first, 20 a page
    assert "Page 1 of 2" in answers
    second = web.get("/users/raj?tab=answers&page=2").text
    assert len(re.findall(r'id="profile-answer-(\d+)"', second)) == 3
    maya_questions = web.get("/users/maya?tab=questions").text
    assert len(re.findall(r'<li class="qitem', maya_questions)) == 20 and 'rel="next"' in maya_questions
    assert "users/maya: questions" not in _titles(maya_questions) and "questions" in _titles(maya_questions)
