"""The anonymous-page cache (app/web/pagecache.py): served without SQL, invalidated by the outbox
(an edit, a vote, an accept, a delete, a comment), across processes; HTTP caching headers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.web import pagecache
from tests.conftest import make_settings
from tests.web.conftest import Browser, Statements


def _url(q) -> str:
    return f"/questions/{q.id}/{q.slug}"


def _score(page: str, anchor: str) -> int:
    block = page[page.index(f'id="{anchor}"'):]
    return int(re.search(r'data-score aria-live="polite"><span class="visually-hidden">Score </span>(-?\d+)', block).group(1))


@pytest.fixture
def statements(clean_engine):
    counter = Statements(clean_engine)
    yield counter
    counter.close()


@pytest.fixture
def anon(browsers) -> Browser:
    return browsers()


def test_a_cached_anonymous_page_runs_no_sql_and_answers_304(app, anon, factory, session, statements):
    # no outbox check falls due during the test (one would be the single statement of a hit)
    app.state.page_cache.check_interval = 3600
    q = factory.question(title="Dock Pro will not charge at 100 W")
    factory.answer(q, body="Use the 100 W cable that came in the box.")
    session.commit()
    first = anon.get(_url(q))
    assert first.status_code == 200 and "Use the 100 W cable" in first.text
    assert first.headers["cache-control"] == "public, max-age=30" and first.headers["vary"] == "Cookie"
    assert "set-cookie" not in first.headers  # nothing personal: no session, no CSRF token
    etag = first.headers["etag"]

    assert statements.count(lambda: anon.get(_url(q))) == 0
    again = anon.get(_url(q))
    assert again.text == first.text and again.headers["etag"] == etag

    not_modified = anon.get(_url(q), headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified.headers["etag"] == etag
    assert anon.get(_url(q), headers={"If-None-Match": '"something-else"'}).status_code == 200
    # the same for a list page
    home = anon.get("/")
    assert home.status_code == 200 and home.headers["etag"]
    assert statements.count(lambda: anon.get("/")) == 0
    assert anon.get("/", headers={"If-None-Match": home.headers["etag"]}).status_code == 304


def test_an_edit_a_vote_an_accept_and_a_delete_invalidate(browsers, anon, factory, session):
    maya, raj, sam = factory.user("maya"), factory.user("raj"), factory.user("sam")
    q = factory.question(author=maya, title="Dock Pro will not charge at 100 W")
    a = factory.answer(q, author=raj, body="Use the 100 W cable that came in the box.")
    doomed = factory.answer(q, author=sam, body="Have you tried turning it off and on again?")
    session.commit()
    asker, helper, voter = browsers(), browsers(), browsers()
    asker.sign_in("maya"), helper.sign_in("raj"), voter.sign_in("sam")
    page = anon.get(_url(q)).text
    assert anon.get(_url(q)).text == page  # cached from here on
    assert anon.get("/").status_code == 200

    # an edit
    r = asker.submit(f"/questions/{q.id}/edit", f"/questions/{q.id}/edit", {
        "title": "Dock Pro will not charge at 100 W", "body": "It charges at 60 W only, with any cable I try.",
        "tags": "dock", "product": "", "comment": "details"})
    assert r.status_code == 303, r.text
    page = anon.get(_url(q)).text
    assert "It charges at 60 W only" in page and "1 edit" in page

    # a vote
    assert _score(page, f"answer-{a.id}") == 0
    assert voter.submit(_url(q), f"/answers/{a.id}/vote", {"value": "1"}).status_code == 303
    page = anon.get(_url(q)).text
    assert _score(page, f"answer-{a.id}") == 1

    # an accept
    assert "Accepted answer" not in page
    assert asker.submit(_url(q), f"/questions/{q.id}/accept", {"answer_id": str(a.id)}).status_code == 303
    page = anon.get(_url(q)).text
    assert "Accepted answer" in page and "badge-solved" in page
    assert "is-solved" in anon.get("/").text  # the list page too

    # a comment
    assert helper.submit(_url(q), f"/answers/{a.id}/comments", {"body": "Glad it helped, enjoy the dock."}).status_code == 303
    assert "Glad it helped, enjoy the dock." in anon.get(_url(q)).text

    # a delete: an answer, then the question
    assert "turning it off and on again" in page
    assert voter.submit(_url(q), f"/answers/{doomed.id}/delete").status_code == 303
    assert "turning it off and on again" not in anon.get(_url(q)).text
    assert "Dock Pro will not charge" in anon.get("/").text
    other = factory.question(author=maya, title="A question nobody answered yet")
    session.commit()
    assert "A question nobody answered yet" in anon.get("/").text
    assert anon.get(_url(other)).status_code == 200
    assert asker.submit(_url(other), f"/questions/{other.id}/delete").status_code == 303
    assert anon.get(_url(other)).status_code == 404
    assert "A question nobody answered yet" not in anon.get("/").text


def test_another_process_sees_a_write_through_the_outbox(clean_engine, app, browsers, factory, session):
    """A second app on the same database stands for another process: it is not told of this
    process's commits, only the outbox tells it (checked on every request with check 0)."""
    from app.main import create_app

    other_app = create_app(make_settings(str(clean_engine.url.render_as_string(hide_password=False)),
                                         page_cache_check=0), clean_engine)
    pagecache._caches.discard(other_app.state.page_cache)  # deaf to this process's commit hook
    raj, sam = factory.user("raj"), factory.user("sam")
    q = factory.question(title="Dock Pro will not charge at 100 W")
    a = factory.answer(q, author=raj)
    session.commit()
    with TestClient(other_app) as other:
        assert _score(other.get(_url(q)).text, f"answer-{a.id}") == 0
        assert other_app.state.page_cache.hits == 0 and len(other_app.state.page_cache) == 1
        assert _score(other.get(_url(q)).text, f"answer-{a.id}") == 0
        assert other_app.state.page_cache.hits == 1
        voter = browsers()  # on the first app
        voter.sign_in("sam")
        assert voter.submit(_url(q), f"/answers/{a.id}/vote", {"value": "1"}).status_code == 303
        assert _score(other.get(_url(q)).text, f"answer-{a.id}") == 1


def test_a_process_that_checks_rarely_serves_its_copy_until_it_checks(clean_engine, browsers, factory, session):
    """The check interval is what bounds staleness across processes (and it is the outbox that
    invalidates: after the check, the page is fresh)."""
    from app.main import create_app

    other_app = create_app(make_settings(str(clean_engine.url.render_as_string(hide_password=False)),
                                         page_cache_check=3600), clean_engine)
    cache = other_app.state.page_cache
    pagecache._caches.discard(cache)
    factory.user("sam")
    q = factory.question(title="Dock Pro will not charge at 100 W")
    a = factory.answer(q)
    session.commit()
    with TestClient(other_app) as other:
        assert _score(other.get(_url(q)).text, f"answer-{a.id}") == 0
        voter = browsers()
        voter.sign_in("sam")
        assert voter.submit(_url(q), f"/answers/{a.id}/vote", {"value": "1"}).status_code == 303
        assert _score(other.get(_url(q)).text, f"answer-{a.id}") == 0  # not checked yet
        cache.changed_here()  # the interval is over
        assert _score(other.get(_url(q)).text, f"answer-{a.id}") == 1


def test_signed_in_pages_are_personal_and_never_cached(browsers, anon, factory, session, statements):
    factory.user("sam")
    q = factory.question(title="Dock Pro will not charge at 100 W")
    a = factory.answer(q)
    session.commit()
    anon.get(_url(q))
    anon.get(_url(q))
    voter = browsers()
    voter.sign_in("sam")
    voter.submit(_url(q), f"/answers/{a.id}/vote", {"value": "1"})
    page = voter.get(_url(q))
    assert page.headers["cache-control"] == "private, no-store" and "etag" not in page.headers
    assert page.headers["vary"] == "Cookie"
    block = page.text[page.text.index(f'id="answer-{a.id}"'):]
    assert 'aria-label="Upvote this answer" aria-pressed="true"' in block  # their own vote
    assert "Sign out" in page.text and "signed-out" not in page.text  # their own CSRF token
    assert statements.count(lambda: voter.get(_url(q))) > 0  # rendered for them
    anonymous = anon.get(_url(q)).text
    assert "Sign out" not in anonymous and 'aria-pressed="true"' not in anonymous


def test_a_visitor_with_a_message_waiting_gets_it(anon, factory, session):
    """A flash message is personal: that page is rendered for the visitor, not taken from the cache."""
    q = factory.question(title="Dock Pro will not charge at 100 W")
    session.commit()
    anon.get(_url(q))
    r = anon.post(f"/questions/{q.id}/vote", {"value": "1", "csrf_token": "signed-out"})
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    # the sign-in redirect left "Sign in to continue." in the session; the next page shows it
    page = anon.get(_url(q))
    assert page.headers["cache-control"] == "private, no-store"
    assert anon.get("/signin").status_code == 200
    page = anon.get(_url(q))  # the message was shown on the sign-in page: the shared page again
    assert page.headers["cache-control"] == "public, max-age=30" and page.headers["etag"]
    assert "set-cookie" not in page.headers and page.headers["vary"] == "Cookie"


def test_the_cache_is_bounded(clean_engine, factory, session):
    cache = pagecache.PageCache(clean_engine, max_bytes=4000, ttl=60, check_interval=3600)
    cache.refresh()
    for i in range(10):
        cache.put(f"/p{i}", b"x" * 900, media_type="text/html", question_id=i, position=cache.position())
    assert len(cache) == 4 and cache.get("/p9") is not None and cache.get("/p0") is None
    assert cache.put("/big", b"x" * 2000, media_type="text/html", question_id=None, position=cache.position())
    assert cache.get("/big") is None  # larger than a quarter of the cache: served, never stored


def test_a_page_rendered_across_a_change_is_not_stored(clean_engine, factory, session):
    cache = pagecache.PageCache(clean_engine, max_bytes=1 << 20, ttl=60, check_interval=0)
    cache.refresh()
    before = cache.position()
    factory.question(title="Dock Pro will not charge at 100 W")
    session.commit()
    cache.refresh()  # learns of the new outbox row while the page was being rendered
    cache.put("/", b"<html>old</html>", media_type="text/html", question_id=None, position=before)
    assert cache.get("/") is None
