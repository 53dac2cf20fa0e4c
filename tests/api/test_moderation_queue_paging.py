"""The moderators' flag queue and review queue are cursor-paged like every other list of the API
(`limit` + `cursor` -> `next_cursor`, app/core/pagination.py): a walk page by page sees every
post once, in the documented order, while new flags arrive; a forged cursor is a 422 at
["query", "cursor"], never a 500. Both databases, the real app."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.db import utcnow
from app.core.pagination import encode_cursor
from app.moderation import flags
from tests.api.conftest import API, assert_problem
from tests.factories import make_answer, make_question, make_user


def _walk(client, headers, path: str, limit: int) -> list[list[tuple[str, int]]]:
    """Every page of `path`, following next_cursor: [[(post_type, post_id), ...], ...]."""
    pages, cursor = [], None
    for _ in range(50):
        sep = "&" if "?" in path else "?"
        url = f"{API}{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([(i["post_type"], i["post_id"]) for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ended")


@pytest.fixture
def flagged(session):
    """Five posts with open flags (the third and fourth flagged at the same instant), two handled."""
    t0 = utcnow() - timedelta(days=2)
    author, moderator = make_user(session), make_user(session, "mira", role="moderator")
    flaggers = [make_user(session, reputation=50) for _ in range(2)]
    qs = [make_question(session, author) for _ in range(6)]
    answer = make_answer(session, qs[0], author)
    when = [t0, t0 + timedelta(minutes=1), t0 + timedelta(minutes=2), t0 + timedelta(minutes=2),
            t0 + timedelta(minutes=5)]
    targets = [("question", qs[1]), ("answer", answer), ("question", qs[2]), ("question", qs[3]), ("question", qs[4])]
    for (ptype, post), at in zip(targets, when):
        flags.raise_flag(session, actor=flaggers[0], post_type=ptype, post_id=post.id, reason="off_topic", now=at)
    # A second, later flag on the first post does not move it: its oldest open flag counts.
    flags.raise_flag(session, actor=flaggers[1], post_type="question", post_id=qs[1].id, reason="spam",
                     now=t0 + timedelta(minutes=30))
    handled = [qs[0], qs[5]]
    for i, q in enumerate(handled):
        flags.raise_flag(session, actor=flaggers[1], post_type="question", post_id=q.id, reason="off_topic",
                         now=t0 - timedelta(hours=1 + i))
        flags.handle(session, actor=moderator, post_type="question", post_id=q.id, action="dismiss")
    session.commit()
    tied = sorted([("question", qs[2].id), ("question", qs[3].id)])
    open_order = [("question", qs[1].id), ("answer", answer.id), *tied, ("question", qs[4].id)]
    # Handled posts: most recently flagged first.
    return {"open": open_order, "handled": [("question", qs[0].id), ("question", qs[5].id)],
            "qs": qs, "author": author, "flaggers": flaggers}


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_the_flag_queue_walks_every_post_once_in_order(client, login, flagged, limit):
    headers = login("mira")
    pages = _walk(client, headers, "/moderation/flags", limit)
    assert [p for page in pages for p in page] == flagged["open"]
    assert all(len(page) <= limit for page in pages) and all(len(page) == limit for page in pages[:-1])
    pages = _walk(client, headers, "/moderation/flags?status=all", limit)
    assert [p for page in pages for p in page] == flagged["open"] + flagged["handled"]


def test_the_first_page_is_the_old_answer_and_the_limit_is_checked(client, login, flagged):
    headers = login("mira")
    body = client.get(f"{API}/moderation/flags", headers=headers).json()
    assert body["next_cursor"] is None and len(body["items"]) == 5
    first = body["items"][0]
    assert first["open_count"] == 2 and [f["reason"] for f in first["flags"]] == ["off_topic", "spam"]
    for bad in ("0", "101", "x"):
        problem = assert_problem(client.get(f"{API}/moderation/flags?limit={bad}", headers=headers), 422)
        assert problem["errors"][0]["loc"] == ["query", "limit"]


def test_new_flags_arriving_during_a_walk_neither_repeat_nor_hide_a_post(client, login, session, flagged):
    headers = login("mira")
    r = client.get(f"{API}/moderation/flags?limit=2", headers=headers).json()
    seen = [(i["post_type"], i["post_id"]) for i in r["items"]]
    # Meanwhile: a new post is flagged now (it waits least: the end of the open bucket), and a
    # post already seen gets another flag (its oldest open flag, hence its place, is unchanged).
    fresh = make_question(session, flagged["author"])
    flags.raise_flag(session, actor=flagged["flaggers"][1], post_type="question", post_id=fresh.id, reason="spam")
    flags.raise_flag(session, actor=flagged["flaggers"][1], post_type="answer", post_id=seen[1][1], reason="spam")
    session.commit()
    cursor = r["next_cursor"]
    while cursor:
        r = client.get(f"{API}/moderation/flags?limit=2&cursor={cursor}", headers=headers).json()
        seen += [(i["post_type"], i["post_id"]) for i in r["items"]]
        cursor = r["next_cursor"]
    assert seen == flagged["open"] + [("question", fresh.id)]


def test_only_moderators_page_the_queues(client, login, flagged):
    for path in ("/moderation/flags", "/moderation/review"):
        assert_problem(client.get(f"{API}{path}", headers=login(flagged["author"])), 403)


NOW = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize("cursor", [
    [2, NOW, "question", 1], [True, NOW, "question", 1], [0, "yesterday", "question", 1],
    [0, "2026-01-01T00:00:00", "question", 1], [0, 17, "question", 1], [0, NOW, "user", 1],
    [0, NOW, "question", 2**31], [0, NOW, "question", 0], [0, NOW, "question", True], [1, NOW, "question", "7"],
    [0, NOW, "question"], "not base64 at all!", [None, None, None, None],
], ids=repr)
def test_a_forged_flag_queue_cursor_is_422(client, login, flagged, cursor):
    raw = encode_cursor(cursor) if isinstance(cursor, list) else cursor
    r = client.get(f"{API}/moderation/flags", params={"cursor": raw, "status": "all"}, headers=login("mira"))
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["query", "cursor"]


def test_the_review_queue_is_paged_oldest_first(client, login, session):
    author, _ = make_user(session), make_user(session, "mira", role="moderator")
    t0 = utcnow() - timedelta(days=1)
    q = make_question(session, author)
    posts = [make_question(session, author) for _ in range(3)] + [make_answer(session, q, author) for _ in range(2)]
    # Hidden at (minutes): 4, 1, 0 for the questions, 1 and 3 for the answers: a tie at 1.
    for post, minutes in zip(posts, [4, 1, 0, 1, 3]):
        post.hidden_at, post.hidden_reason = t0 + timedelta(minutes=minutes), "moderator"
        session.add(post)
    session.commit()
    kind = {id(p): "question" if i < 3 else "answer" for i, p in enumerate(posts)}
    expected = [(kind[id(p)], p.id) for p in sorted(
        posts, key=lambda p: (p.hidden_at, kind[id(p)], p.id))]
    assert expected[1][0] == "answer"  # the tie is ordered by post type, then id
    headers = login("mira")
    for limit in (1, 2, 5, 50):
        pages = _walk(client, headers, "/moderation/review", limit)
        assert [p for page in pages for p in page] == expected, limit
    for cursor in ([NOW, "question", 2**31], [NOW, "flag", 1], ["2026-01-01", "answer", 1], [NOW, "answer"]):
        r = client.get(f"{API}/moderation/review", params={"cursor": encode_cursor(cursor)}, headers=headers)
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["query", "cursor"]
