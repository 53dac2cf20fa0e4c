"""Reading the forum: lists, the question page, profiles, products, tags, errors, SEO."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

from app.accounts.models import Role, User
from app.answers import service as answers_service
from app.questions import service as questions_service
from tests.web.conftest import text_of


def _titles(page: str) -> list[str]:
    return re.findall(r'<h2 class="qtitle"><a href="[^"]+">([^<]+)</a>', page)


def test_home_lists_questions_with_their_details(web, factory, session):
    product = factory.product("aero-14", "Kestrel Aero 14")
    asker = factory.user("maya", display_name="Maya R.")
    q = factory.question(author=asker, title="Wi-Fi drops after the 2.3 update", product="aero-14",
                         tags=["wifi", "drivers"], body="The **Wi-Fi** drops every few minutes since the update.")
    a = factory.answer(q)
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=a.id)
    factory.question(title="Battery drains overnight in sleep", tags=["battery"])
    session.commit()

    r = web.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert _titles(page) == ["Battery drains overnight in sleep", "Wi-Fi drops after the 2.3 update"]
    assert f'href="/questions/{q.id}/wi-fi-drops-after-the-2-3-update"' in page
    item = page[page.index("Wi-Fi drops after the 2.3 update") - 1500:page.index("Wi-Fi drops after the 2.3 update") + 1500]
    assert "stat-answers is-solved" in item and ", solved" in item
    text = text_of(page)
    assert "The Wi-Fi drops every few minutes since the update." in text  # excerpt, Markdown stripped
    assert 'href="/tags/wifi"' in page and 'href="/tags/drivers"' in page
    assert 'href="/products/aero-14">Kestrel Aero 14</a>' in page
    assert 'href="/users/maya">Maya R.</a>' in page
    # sidebar
    assert re.search(r'<aside[^>]*aria-label="Browse"', page)
    assert "Popular tags" in page and product.name in page
    # layout: one h1, landmarks, skip link
    assert page.count("<h1") == 1
    assert '<main id="main"' in page and 'href="#main"' in page and "<footer" in page
    assert web.get("/questions").status_code == 200


def test_sort_tabs_and_filters(web, factory, session):
    factory.product("dock-pro", "Dock Pro")
    voter = factory.user()
    low = factory.question(title="Old question with no votes at all")
    top = factory.question(title="Popular question about the dock", product="dock-pro", tags=["dock"])
    from app.votes import service as votes_service

    votes_service.cast(session, actor=voter, post_type="question", post_id=top.id, value=1)
    answered = factory.question(title="Answered and solved question here")
    asker_answer = factory.answer(answered)
    answered_author = session.get(User, answered.author_id)
    answers_service.accept(session, actor=answered_author, question_id=answered.id, answer_id=asker_answer.id)
    session.commit()

    assert _titles(web.get("/?sort=votes").text)[0] == "Popular question about the dock"
    unanswered = _titles(web.get("/?sort=unanswered").text)
    assert "Answered and solved question here" not in unanswered and low.title in unanswered
    assert _titles(web.get("/?solved=yes").text) == ["Answered and solved question here"]
    assert "Answered and solved question here" not in _titles(web.get("/?solved=no").text)
    assert _titles(web.get("/?product=dock-pro").text) == ["Popular question about the dock"]
    assert _titles(web.get("/?tag=dock").text) == ["Popular question about the dock"]
    # the current tab is marked, and tab links keep the filters
    page = web.get("/?sort=votes&product=dock-pro").text
    assert re.search(r'<a href="/\?sort=votes&amp;product=dock-pro" aria-current="page">Most votes</a>', page)
    assert 'href="/?sort=unanswered&amp;product=dock-pro"' in page
    # an unknown sort falls back to newest instead of failing
    assert web.get("/?sort=nonsense").status_code == 200
    assert web.get("/?product=no-such-product").status_code == 404


def test_next_page_link_uses_the_cursor(web, factory, session):
    author = factory.user()
    for i in range(23):
        factory.question(author=author, title=f"Question number {i:02d} about printers")
    session.commit()

    first = web.get("/").text
    assert len(_titles(first)) == 20
    match = re.search(r'<a class="button button-secondary" href="([^"]+)" rel="next">Next page', first)
    assert match and "cursor=" in match.group(1)
    second = web.get(match.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    titles = _titles(second.text)
    assert titles == ["Question number 02 about printers", "Question number 01 about printers",
                      "Question number 00 about printers"]
    assert 'rel="next"' not in second.text and "First page" in second.text
    assert web.get("/?cursor=garbage").status_code == 422


def test_question_page_shows_answers_in_ranked_order_with_badges(web, factory, session):
    asker = factory.user("asker")
    staff = factory.user("kestrel-staff", role=Role.staff)
    q = factory.question(author=asker, title="Dock Pro will not charge at 100 W", tags=["dock", "charging"])
    staff_answer = factory.answer(q, author=staff, body="Update the dock firmware from the support site.")
    community = factory.answer(q, body="Use the 100 W cable that came in the box; others only carry 60 W.")
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=community.id)
    session.commit()

    r = web.get(f"/questions/{q.id}/{q.slug}")
    assert r.status_code == 200
    page = r.text
    assert "<h1" in page and page.count("<h1") == 1
    assert "Dock Pro will not charge at 100 W" in page
    # accepted answer first, with its badge; the staff answer is badged, not pinned
    assert page.index(f'id="answer-{community.id}"') < page.index(f'id="answer-{staff_answer.id}"')
    accepted_block = page[page.index(f'id="answer-{community.id}"'):page.index(f'id="answer-{staff_answer.id}"')]
    assert "Accepted answer" in accepted_block and "badge-staff" not in accepted_block
    assert "badge-staff" in page[page.index(f'id="answer-{staff_answer.id}"'):]
    assert "badge-solved" in page and "Solved" in text_of(page)
    # anonymous: score visible, sign-in link instead of the answer form
    assert "Sign in to answer" in page and 'action="/questions/%d/answers"' % q.id not in page
    # sort tabs
    newest = web.get(f"/questions/{q.id}/{q.slug}?sort=newest").text
    assert newest.index(f'id="answer-{community.id}"') < newest.index(f'id="answer-{staff_answer.id}"')
    oldest = web.get(f"/questions/{q.id}/{q.slug}?sort=oldest").text
    assert oldest.index(f'id="answer-{staff_answer.id}"') < oldest.index(f'id="answer-{community.id}"')


def test_question_page_head_has_canonical_description_and_json_ld(web, factory, session, settings):
    asker = factory.user()
    q = factory.question(author=asker, title="Screen flickers </script><script>alert(1)</script>",
                         body="It flickers at 60 Hz. <b>bold?</b> Tried </script> everything.")
    good = factory.answer(q, body="Turn off panel self refresh in the graphics settings.")
    other = factory.answer(q, body="Try another cable and see whether it persists.")
    answers_service.accept(session, actor=asker, question_id=q.id, answer_id=good.id)
    session.commit()

    page = web.get(f"/questions/{q.id}/{q.slug}").text
    canonical = f"{settings.base_url}/questions/{q.id}/{q.slug}"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert re.search(r'<meta name="description" content="It flickers at 60 Hz\.[^"]*">', page)
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(scripts) == 1
    assert "</" not in scripts[0]  # nothing can close the element early
    data = json.loads(scripts[0])
    assert data["@type"] == "QAPage"
    main = data["mainEntity"]
    assert main["@type"] == "Question" and main["name"].startswith("Screen flickers </script>")
    assert main["answerCount"] == 2
    assert main["acceptedAnswer"]["text"].startswith("Turn off panel self refresh")
    assert main["acceptedAnswer"]["url"] == f"{canonical}#answer-{good.id}"
    assert [a["url"] for a in main["suggestedAnswer"]] == [f"{canonical}#answer-{other.id}"]
    # the title is escaped in the page itself
    assert "<script>alert(1)</script>" not in page


def test_question_urls_redirect_to_the_canonical_one(web, factory, session):
    q = factory.question(title="Keyboard backlight stays off")
    session.commit()
    canonical = f"/questions/{q.id}/keyboard-backlight-stays-off"
    r = web.get(f"/questions/{q.id}")
    assert r.status_code == 301 and r.headers["location"] == canonical
    r = web.get(f"/questions/{q.id}/old-title?sort=newest")
    assert r.status_code == 301 and r.headers["location"] == canonical + "?sort=newest"
    assert web.get(canonical).status_code == 200


def test_unknown_and_malformed_question_ids_get_the_404_page(web, factory, session):
    for url in ("/questions/999999/whatever", "/questions/999999", "/questions/abc", "/questions/abc/def",
                "/users/nobody-here", "/products/nothing", "/tags/nothing", "/no/such/page"):
        r = web.get(url)
        assert r.status_code == 404, url
        assert r.headers["content-type"].startswith("text/html"), url
        assert "We can’t find that page" in r.text and 'href="/"' in r.text, url


def test_duplicate_banner_links_to_the_original(web, factory, session):
    original = factory.question(title="Bluetooth mouse lags on battery")
    dup = factory.question(title="Mouse lag when unplugged from power")
    dup.status, dup.duplicate_of_id = "duplicate", original.id
    session.commit()
    page = web.get(f"/questions/{dup.id}/{dup.slug}").text
    assert "This question has been answered before." in page
    assert f'href="/questions/{original.id}/{original.slug}"' in page


def test_profile_products_and_tag_pages(web, factory, session):
    product = factory.product("aero-14", "Kestrel Aero 14")
    raj = factory.user("raj", display_name="Raj P.", reputation=42)
    q = factory.question(author=raj, title="Fan noise when idle on battery", product="aero-14", tags=["fan"])
    factory.answer(factory.question(title="Webcam is black in video calls"), author=raj)
    deleted = factory.question(author=raj, title="A deleted question about nothing")
    questions_service.delete_question(session, actor=raj, question_id=deleted.id)
    session.commit()

    page = web.get("/users/raj").text
    text = text_of(page)
    assert "Raj P." in text and "@raj" in text and "member since" in text
    # the counts link to the lists (issue 14 item 7)
    assert re.search(r'<dt>Reputation</dt><dd><a href="/users/raj\?tab=reputation">42<', page)
    assert re.search(r'<dt>Questions</dt><dd><a href="/users/raj\?tab=questions">1<', page)
    assert re.search(r'<dt>Answers</dt><dd><a href="/users/raj\?tab=answers">1<', page)
    assert q.title in page and deleted.title not in page

    products = web.get("/products").text
    assert f'href="/products/{product.slug}"' in products and "1 question" in text_of(products)
    product_page = web.get("/products/aero-14").text
    assert "<h1>Kestrel Aero 14</h1>" in product_page and "A laptop." in product_page
    assert _titles(product_page) == [q.title]
    assert 'href="/ask?product=aero-14"' in product_page
    assert _titles(web.get("/products/aero-14?sort=unanswered").text) == [q.title]

    tag_page = web.get("/tags/fan").text
    assert _titles(tag_page) == [q.title] and "Questions tagged “fan”" in tag_page


def test_the_sidebar_names_the_busiest_products_and_links_to_all(web, factory, session):
    """A vendor with many products: the list pages' sidebar names the ten with most questions (by
    name) and the one being shown, and links to the whole catalog; the filter still offers every
    product. (It named every product, twice per page with the phone's copy: 300 products were a
    fifth of a list page's CPU, issue 11.)"""
    from app.web.listing import SIDEBAR_PRODUCTS

    author = factory.user()
    products = [factory.product(f"model-{i:02d}", f"Model {i:02d}") for i in range(14)]
    # Model 00 has no question; Models 01–13 have 1–13 questions; the ten busiest are 04–13.
    for i, p in enumerate(products):
        for _ in range(i):
            factory.question(author=author, product=p.slug, tags=["setup"])
    session.commit()
    assert SIDEBAR_PRODUCTS == 10

    def sidebar(page: str) -> list[str]:
        aside = page[page.index('aria-label="Browse"'):]
        return re.findall(r'<li><a href="/products/([a-z0-9-]+)"', aside[:aside.index("</section>")])

    home = web.get("/").text
    assert sidebar(home) == [f"model-{i:02d}" for i in range(4, 14)]
    assert '<a href="/products">All 14 products</a>' in home
    assert all(f'<option value="model-{i:02d}"' in home for i in range(14))  # the filter: every product
    quiet = web.get("/products/model-01").text  # a product outside the ten: named too, marked current
    assert sidebar(quiet) == ["model-01"] + [f"model-{i:02d}" for i in range(4, 14)]
    assert 'href="/products/model-01" aria-current="page"' in quiet
    counts = dict(re.findall(r'<li><a href="/products/(model-\d+)"[^>]*>[^<]+</a> <span class="count">(\d+)</span>',
                             home))
    assert counts["model-13"] == "13" and counts["model-04"] == "4"


def test_staff_profile_shows_role_badge(web, factory, session):
    factory.user("lena", role=Role.staff)
    session.commit()
    assert '<span class="badge badge-staff">Staff</span>' in web.get("/users/lena").text


def test_sitemap_lists_questions_and_products_robots_points_at_it(web, factory, session, settings):
    factory.product("aero-14", "Kestrel Aero 14")
    q = factory.question(title="Touchpad stops working after sleep")
    gone = factory.question(title="This one will be deleted soon")
    questions_service.delete_question(session, actor=session.get(User, gone.author_id),
                                      question_id=gone.id)
    session.commit()

    r = web.get("/sitemap.xml")
    assert r.status_code == 200 and "xml" in r.headers["content-type"]
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ElementTree.fromstring(r.content)
    entries = {u.find("s:loc", ns).text: u.find("s:lastmod", ns) for u in root.findall("s:url", ns)}
    question_url = f"{settings.base_url}/questions/{q.id}/{q.slug}"
    assert question_url in entries and re.match(r"^\d{4}-\d{2}-\d{2}$", entries[question_url].text)
    assert f"{settings.base_url}/products/aero-14" in entries
    assert not any(f"/questions/{gone.id}/" in loc for loc in entries)

    robots = web.get("/robots.txt")
    assert robots.status_code == 200 and f"Sitemap: {settings.base_url}/sitemap.xml" in robots.text


def test_static_assets_are_served(web):
    css = web.get("/static/groundswell.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert web.get("/static/groundswell.js").status_code == 200


def test_pages_carry_no_inline_scripts_or_styles(web, factory, session):
    q = factory.question()
    session.commit()
    for url in ("/", f"/questions/{q.id}/{q.slug}", "/signin", "/signup", "/products"):
        page = web.get(url, follow_redirects=True).text
        assert " style=" not in page and "<style" not in page, url
        for script in re.findall(r"<script([^>]*)>", page):
            assert 'src="/static/' in script or 'type="application/ld+json"' in script, (url, script)


def test_out_of_range_ids_are_not_found(web):
    for url in ("/questions/99999999999999999999/x", "/questions/0", "/answers/99999999999999999999/revisions"):
        assert web.get(url).status_code == 404, url
