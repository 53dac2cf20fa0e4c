"""SQL statements per page (rendered, the anonymous-page cache off): a handful, and the same number
whatever the number of answers, comments, votes or listed questions (no per-row queries)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.comments import service as comments_service
from app.questions.schemas import CommentCreate
from app.votes import service as votes_service
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.web.conftest import Statements

QUESTION_PAGE_MAX = 5  # anonymous; docs/performance.md


@pytest.fixture
def rendered(clean_engine, db_url):
    """An app whose pages are always rendered (GROUNDSWELL_PAGE_CACHE_MB=0), and a statement counter.
    The outbox is checked only after this process's commits (not every second), so that the
    one statement of a check falls on the warm-up request, not on a counted one."""
    from app.main import create_app

    app = create_app(make_settings(db_url, page_cache_mb=0, page_cache_check=3600, search_semantic="off"), clean_engine)
    counter = Statements(clean_engine)
    with TestClient(app, headers={"Accept": "text/html"}) as client:
        yield client, counter
    counter.close()


def _count(client, counter, url: str, headers=None) -> int:
    assert client.get(url, headers=headers).status_code == 200  # warm: templates, aggregates
    n = counter.count(lambda: client.get(url, headers=headers))
    return n


def _grow(session, factory, q, people, answers: int):
    """More answers, each with comments and votes from several people, and comments on the question."""
    for i in range(answers):
        a = factory.answer(q, author=people[i % len(people)], body=f"Answer number {i}: reinstall the driver {i}.")
        for voter in people[:4]:
            if voter.id != a.author_id:
                votes_service.cast(session, actor=voter, post_type="answer", post_id=a.id, value=1)
        for commenter in people[:3]:
            comments_service.add(session, actor=commenter, post_type="answer", post_id=a.id,
                                 data=CommentCreate(body=f"Comment by {commenter.username} on answer {i}."))
    for commenter in people[:3]:
        comments_service.add(session, actor=commenter, post_type="question", post_id=q.id,
                             data=CommentCreate(body=f"Which version do you run, {commenter.username}?"))
    session.commit()


def _sign_in(client, username):
    import re

    page = client.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/signin", data={"username": username, "password": PASSWORD, "next": "/", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303


def test_question_page_statements_do_not_grow(rendered, session, factory):
    client, counter = rendered
    people = [factory.user(f"helper{i}", role="moderator") for i in range(6)]
    asker = factory.user("asker")
    q = factory.question(author=asker, title="Dock Pro will not charge at 100 W", tags=["dock", "power", "usb-c"])
    factory.answer(q, author=people[0])  # unvoted: the ranking reads its author's record
    session.commit()
    url = f"/questions/{q.id}/{q.slug}"
    small = _count(client, counter, url)
    api_small = _count(client, counter, f"/api/v1/questions/{q.id}")
    _grow(session, factory, q, people, answers=8)
    factory.answer(q, author=people[5])  # an unvoted one again
    session.commit()
    page = client.get(url).text
    assert "Comment by helper2 on answer 7." in page and "Answer number 7" in page
    large = _count(client, counter, url)
    assert large == small, counter.statements()
    assert large <= QUESTION_PAGE_MAX, [s for s, _ in counter.statements()]
    assert _count(client, counter, f"/api/v1/questions/{q.id}") == api_small

    # signed in: their own votes and permissions, still the same count at both sizes
    _sign_in(client, "helper3")
    signed_large = _count(client, counter, url)
    other = factory.question(author=asker, title="Battery drains overnight in sleep mode")
    factory.answer(other, author=people[0])
    session.commit()
    assert _count(client, counter, f"/questions/{other.id}/{other.slug}") == signed_large
    block = client.get(url).text
    assert 'aria-pressed="true"' in block  # helper3 upvoted the answers


def test_sorted_answers_and_a_duplicate_add_no_per_row_queries(rendered, session, factory):
    client, counter = rendered
    people = [factory.user(f"helper{i}", role="moderator") for i in range(5)]
    q = factory.question(title="Dock Pro will not charge at 100 W")
    _grow(session, factory, q, people, answers=2)
    base = {sort: _count(client, counter, f"/questions/{q.id}/{q.slug}?sort={sort}") for sort in ("newest", "oldest")}
    _grow(session, factory, q, people, answers=6)
    for sort, n in base.items():
        assert _count(client, counter, f"/questions/{q.id}/{q.slug}?sort={sort}") == n


def test_list_pages_statements_do_not_grow(rendered, session, factory):
    client, counter = rendered
    people = [factory.user(f"helper{i}", role="moderator") for i in range(4)]
    factory.product("aero-14", "Kestrel Aero 14")
    for i in range(2):
        factory.question(author=people[i], title=f"Wi-Fi drops after the update, case {i}", product="aero-14")
    session.commit()
    urls = ["/", "/?sort=unanswered", "/?sort=votes", "/products/aero-14", "/tags/wifi", "/api/v1/questions?limit=30"]
    small = {u: _count(client, counter, u) for u in urls}
    for i in range(2, 30):
        q = factory.question(author=people[i % 4], title=f"Wi-Fi drops after the update, case {i}", product="aero-14",
                             tags=["wifi", f"tag{i}"])
        factory.answer(q, author=people[(i + 1) % 4])
    session.commit()
    assert {u: _count(client, counter, u) for u in urls} == small


def test_statements_built_once_carry_each_viewers_own_values(session, factory):
    """The question page's statements are built once per process and kind of viewer
    (app/questions/page_queries.py); the question and the viewer are bound per call, so viewers
    who follow each other, on the same or another question, each see their own votes and "me
    too", and the anonymous none."""
    from app.escalation.models import MeToo
    from app.questions import page_queries as pq

    asker, first = factory.user("asker"), factory.user("first", reputation=100)  # enough to comment
    second = factory.user("second", reputation=500)  # enough to vote down
    q = factory.question(author=asker, title="Dock Pro will not charge at 100 W")
    other = factory.question(author=asker, title="Battery drains overnight in sleep mode")
    a = factory.answer(q, author=asker)
    b = factory.answer(other, author=asker)
    votes_service.cast(session, actor=first, post_type="question", post_id=q.id, value=1)
    votes_service.cast(session, actor=first, post_type="answer", post_id=a.id, value=1)
    votes_service.cast(session, actor=second, post_type="question", post_id=q.id, value=-1)
    votes_service.cast(session, actor=second, post_type="answer", post_id=a.id, value=-1)
    votes_service.cast(session, actor=second, post_type="answer", post_id=b.id, value=1)
    session.add(MeToo(question_id=q.id, user_id=second.id))
    comments_service.add(session, actor=first, post_type="question", post_id=q.id,
                         data=CommentCreate(body="Which firmware do you run on the dock?"))
    comments_service.add(session, actor=asker, post_type="answer", post_id=b.id,  # on their own post
                         data=CommentCreate(body="This worked for me after a restart."))
    session.commit()

    seen = []
    for viewer, question, answer in ((first, q, a), (second, q, a), (None, q, a), (second, other, b),
                                     (first, other, b), (first, q, a)):
        head = pq.question_head(session, question.id, viewer)
        answers = pq.answers_of(session, question.id, viewer)
        seen.append((head["id"], head["my_vote"], bool(head["my_me_too"]), [(r.id, r.my_vote) for r in answers]))
    assert seen == [
        (q.id, 1, False, [(a.id, 1)]),
        (q.id, -1, True, [(a.id, -1)]),
        (q.id, None, False, [(a.id, None)]),
        (other.id, None, False, [(b.id, 1)]),
        (other.id, None, False, [(b.id, None)]),
        (q.id, 1, False, [(a.id, 1)]),
    ]
    # Comments: posts of one type or of both, each call with its own ids.
    on_q = pq.comments_of(session, [("question", q.id)])
    on_both = pq.comments_of(session, [("question", q.id), ("answer", b.id), ("answer", a.id)])
    on_b = pq.comments_of(session, [("answer", b.id)])
    assert [r["body"] for r in on_q[("question", q.id)]] == ["Which firmware do you run on the dock?"]
    assert sorted(on_both) == sorted([("question", q.id), ("answer", b.id)])
    assert [r["body"] for r in on_b[("answer", b.id)]] == ["This worked for me after a restart."]
    assert ("question", q.id) not in on_b
