"""The web flag queue and review queue page like the API (app/moderation flags.queue,
review.pending: 50 a page): "More …" follows next_cursor, every post shows once, a forged
cursor is refused without a 500. Both databases."""

from __future__ import annotations

import re
from datetime import timedelta

from app.core.db import utcnow
from app.core.pagination import encode_cursor
from app.moderation import flags
from tests.factories import make_question, make_user

PAGE = 50


def _walk(web, url: str, item: str, more: str) -> list[list[str]]:
    pages = []
    for _ in range(10):
        r = web.get(url)
        assert r.status_code == 200, (url, r.status_code)
        pages.append(re.findall(r'id="' + item + r'-(question-\d+)"', r.text))
        found = re.search(r'<a href="([^"]+)" rel="next">' + more, r.text)
        if not found:
            return pages
        url = found.group(1).replace("&amp;", "&")
    raise AssertionError("no last page")


def test_both_queues_page_through_every_post_once(web, session):
    author = make_user(session)
    flaggers = [make_user(session, reputation=500) for _ in range(6)]  # 10 flags a day each
    make_user(session, "mira", role="moderator")
    t0 = utcnow() - timedelta(days=3)
    qs = [make_question(session, author) for _ in range(PAGE + 3)]
    for i, q in enumerate(qs):
        flags.raise_flag(session, actor=flaggers[i % 6], post_type="question", post_id=q.id, reason="off_topic",
                         now=t0 + timedelta(minutes=i))
        q.hidden_at, q.hidden_reason = t0 + timedelta(minutes=i), "moderator"
        session.add(q)
    session.commit()
    expected = [f"question-{q.id}" for q in qs]
    web.sign_in("mira")
    pages = _walk(web, "/moderation/flags", "flagged", "More flagged posts")
    assert [len(p) for p in pages] == [PAGE, 3] and [x for p in pages for x in p] == expected
    second = web.get(re.search(r'<a href="([^"]+)" rel="next">', web.get("/moderation/flags").text)
                     .group(1).replace("&amp;", "&"))
    assert "Back to the first page" in second.text
    pages = _walk(web, "/moderation/review", "pending", "More posts waiting")
    assert [len(p) for p in pages] == [PAGE, 3] and [x for p in pages for x in p] == expected
    for path in ("/moderation/flags", "/moderation/review"):
        r = web.get(f"{path}?cursor={encode_cursor(['x', 'y', 'z', 'w'])}")
        assert r.status_code == 422 and "cursor" in r.text
