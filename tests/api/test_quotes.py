"""Quoting with credit (issue 18, docs/quoting.md): attribution, notification once, "quoted in N
posts", and the deleted / hidden / internal cases degrading without leaking the original."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.answers import service as answers_service
from app.moderation import posts as moderated
from app.moderation import review
from app.notifications.models import Notification
from app.questions.models import Question
from app.questions.schemas import AnswerUpdate
from app.quotes import service as quotes
from app.quotes.models import PostQuote
from tests.api.conftest import API, QUESTION, assert_problem
from tests.factories import make_answer, make_product, make_question, make_user

HAS_VISIBILITY = "visibility" in Question.__table__.c


def _quoted_notes(engine, user_id: int) -> list[Notification]:
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.user_id == user_id, Notification.kind == "quoted")
                           .order_by(Notification.id)).scalars())


def _thread(session):
    """alice answers a question; bob asks another question (the one that will quote)."""
    alice, bob, carol = make_user(session, "alice"), make_user(session, "bob"), make_user(session, "carol")
    original_q = make_question(session, carol, title="Dock Pro will not charge at 100 W")
    original = make_answer(session, original_q, alice, body="Use the 100 W cable that came in the box.\n\nSecond paragraph.")
    other_q = make_question(session, carol, title="Laptop charges slowly on the dock")
    session.commit()
    return alice, bob, carol, original_q, original, other_q


def _body(ref: str, text: str = "Use the 100 W cable that came in the box.") -> str:
    return f"Same here:\n\n[quote={ref}]\n{text}\n[/quote]\n\nThat fixed it for me too."


def _answer_json(client, question_id: int, answer_id: int, headers=None) -> dict:
    q = client.get(f"{API}/questions/{question_id}", headers=headers or {}).json()
    return next(a for a in q["answers"] if a["id"] == answer_id)


def test_quote_credits_the_original_author_and_post_and_notifies_once(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    r = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                    headers=login(bob))
    assert r.status_code == 201, r.text
    quoting = r.json()
    assert quoting["body"].startswith("Same here:\n\n[quote=answer:")  # the markup as written
    html = quoting["body_html"]
    assert '<p class="quote-credit"><a href="/users/alice" class="quote-author">alice</a> wrote in ' in html
    assert f'href="/questions/{original_q.id}/{original_q.slug}#answer-{original.id}"' in html
    assert "an answer to “Dock Pro will not charge at 100 W”" in html
    assert "[quote" not in html and "gsquote" not in html
    # the stored body_html carries no credit (search, feeds and lists show a plain quotation)
    with Session(clean_engine) as s:
        stored = answers_service.get_visible(s, quoting["id"]).body_html
    assert "<blockquote>" in stored and "alice" not in stored and "quote-credit" not in stored
    # the original says it is quoted, and by whom
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 1
    assert [n.url for n in _quoted_notes(clean_engine, alice.id)] == [
        f"/questions/{other_q.id}/{other_q.slug}#answer-{quoting['id']}"]
    assert "bob quoted your answer" in _quoted_notes(clean_engine, alice.id)[0].text
    # editing the quoting post, even quoting alice's post again, tells her nothing more
    for body in (_body(f"answer:{original.id}") + "\n\nEdit.", "No quote in this version now.", _body(f"answer:{original.id}")):
        assert client.patch(f"{API}/answers/{quoting['id']}", json={"body": body}, headers=login(bob)).status_code == 200
    assert len(_quoted_notes(clean_engine, alice.id)) == 1
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 1
    # quoting the question too: one more credit, the asker hears about it (once per quoting post)
    r = client.post(f"{API}/questions/{original_q.id}/answers",
                    json={"body": f"[quote=question:{original_q.id}]\nWill not charge\n[/quote]\n\nTry another port."},
                    headers=login(bob))
    assert "the question “Dock Pro will not charge at 100 W”" in r.json()["body_html"]
    assert client.get(f"{API}/questions/{original_q.id}").json()["quoted_in"] == 1
    assert len(_quoted_notes(clean_engine, carol.id)) == 1


def test_quoting_yourself_notifies_nobody(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    r = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                    headers=login(alice))
    assert "quote-credit" in r.json()["body_html"]
    assert _quoted_notes(clean_engine, alice.id) == []


def test_a_quote_of_a_deleted_post_degrades_to_the_quoted_text_only(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    quoting = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                          headers=login(bob)).json()
    assert client.delete(f"{API}/answers/{original.id}", headers=login(alice)).status_code == 204
    for headers in ({}, login(bob), login(alice)):
        html = _answer_json(client, other_q.id, quoting["id"], headers)["body_html"]
        assert "<blockquote>\n<p>Use the 100 W cable that came in the box.</p>\n</blockquote>" in html
        assert "alice" not in html and "quote-credit" not in html and f"answer-{original.id}" not in html
        assert "Dock Pro will not charge" not in html and "Second paragraph" not in html
    page = client.get(f"/questions/{other_q.id}/{other_q.slug}").text
    assert "quote-credit" not in page and f"#answer-{original.id}" not in page
    # a new quote of the deleted post records nothing and tells nobody, as for a post that never existed
    for ref in (f"answer:{original.id}", "answer:999999", "question:2147483647"):
        r = client.post(f"{API}/questions/{original_q.id}/answers", json={"body": _body(ref)}, headers=login(carol))
        assert r.status_code == 201, r.text
        assert "quote-credit" not in r.json()["body_html"]
    with Session(clean_engine) as s:
        assert len(s.exec(select(PostQuote)).all()) == 1
    assert len(_quoted_notes(clean_engine, alice.id)) == 1


def test_a_deleted_quoting_post_is_not_counted(client, session, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    quoting = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                          headers=login(bob)).json()
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 1
    page = client.get(f"/questions/{original_q.id}/{original_q.slug}").text
    assert "Quoted in 1 post" in page and f"#answer-{quoting['id']}" in page
    assert client.delete(f"{API}/answers/{quoting['id']}", headers=login(bob)).status_code == 204
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 0
    assert "Quoted in" not in client.get(f"/questions/{original_q.id}/{original_q.slug}").text


def test_hidden_posts_neither_credit_nor_count_nor_notify(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    mod = make_user(session, "mod", role="moderator")
    session.commit()
    quoting = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                          headers=login(bob)).json()
    ref = moderated.load(session, "answer", original.id, viewer=mod)
    moderated.hide(session, ref, reason="moderator", actor=mod, notify_author=False)
    session.commit()
    for headers in ({}, login(mod), login(alice)):  # credit follows the original's public state, for everyone
        assert "quote-credit" not in _answer_json(client, other_q.id, quoting["id"], headers)["body_html"]
    # the quoting post hidden: the original does not count it
    moderated.unhide(session, moderated.load(session, "answer", original.id, viewer=mod), actor=mod)
    moderated.hide(session, moderated.load(session, "answer", quoting["id"], viewer=mod), reason="moderator",
                   actor=mod, notify_author=False)
    session.commit()
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 0


def test_a_held_quoting_post_notifies_when_approved(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    product = make_product(session, slug="dock-pro", name="Dock Pro")
    newcomer = make_user(session, "newcomer")
    held_q = make_question(session, carol, title="Dock Pro firmware update fails", product="dock-pro")
    product.first_posts_review = True  # newcomer's first answer about the product waits for review
    mod = make_user(session, "mod", role="moderator")
    session.commit()
    r = client.post(f"{API}/questions/{held_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                    headers=login(newcomer))
    assert r.status_code == 201 and r.json()["hidden"]
    assert _quoted_notes(clean_engine, alice.id) == []
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 0
    review.decide(session, actor=mod, post_type="answer", post_id=r.json()["id"], approve=True)
    session.commit()
    assert len(_quoted_notes(clean_engine, alice.id)) == 1
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 1


def test_hostile_names_titles_and_markup_stay_escaped(client, session, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    alice.display_name = '<img src=x onerror=alert(1)>"al'
    original_q.title = 'Dock <script>alert(1)</script> "fails"'
    session.commit()
    body = (f"[quote=answer:{original.id}]\n<script>alert(2)</script> [x](javascript:alert(3))\n"
            "<p>gsquote-0-0</p>\n[/quote]\n\n`[quote=answer:1]` and <b onmouseover=x>hi</b>")
    r = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": body}, headers=login(bob))
    html = r.json()["body_html"]
    assert "<script" not in html and "<img" not in html and "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    assert 'href="javascript' not in html and "<b " not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;al</a> wrote in" in html
    assert "Dock &lt;script&gt;alert(1)&lt;/script&gt; &quot;fails&quot;" in html
    assert "gsquote-0-0" in html  # a forged marker is only text
    assert html.count("quote-credit") == 1


def test_quote_markup_in_code_records_nothing(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    body = f"Write it like this:\n\n```\n[quote=answer:{original.id}]\ntext\n[/quote]\n```\n"
    html = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": body}, headers=login(bob)).json()["body_html"]
    assert "<pre><code>[quote=answer:" in html and "quote-credit" not in html
    assert _quoted_notes(clean_engine, alice.id) == []


@pytest.mark.skipif(not HAS_VISIBILITY, reason="questions.visibility comes with the internal space (i18-internal)")
def test_internal_posts_cannot_be_quoted_publicly_and_degrade(client, session, clean_engine, login):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    agent = make_user(session, "agent", role="staff")
    other_agent = make_user(session, "agent2", role="staff")
    internal_q = make_question(session, agent, title="Internal: dock firmware rollback steps")
    internal_q.visibility = "internal"
    internal_a = make_answer(session, internal_q, other_agent, body="Roll back with the service tool, build 42.")
    session.commit()
    # staff quoting an internal post in a public thread: refused, nothing saved
    r = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{internal_a.id}")},
                    headers=login(agent))
    assert "cannot be quoted in a public post" in assert_problem(r, 422)["detail"] + str(r.json().get("errors"))
    # a customer naming an internal post: as if it did not exist (no error, no credit, no row)
    r = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{internal_a.id}", "guess")},
                    headers=login(bob))
    assert r.status_code == 201 and "quote-credit" not in r.json()["body_html"]
    # staff quoting inside the internal space: credited there; internal posts quoting a public post
    # are counted for staff only and tell a customer nothing
    r = client.post(f"{API}/questions/{internal_q.id}/answers",
                    json={"body": _body(f"answer:{internal_a.id}") + "\n\n" + _body(f"answer:{original.id}")},
                    headers=login(agent))
    assert r.json()["body_html"].count("quote-credit") == 2
    assert _answer_json(client, original_q.id, original.id)["quoted_in"] == 0
    assert _answer_json(client, original_q.id, original.id, login(agent))["quoted_in"] == 1
    assert _quoted_notes(clean_engine, alice.id) == [] and len(_quoted_notes(clean_engine, other_agent.id)) == 1
    # a public post quoting a post that later becomes internal degrades
    quoting = client.post(f"{API}/questions/{other_q.id}/answers", json={"body": _body(f"answer:{original.id}")},
                          headers=login(bob)).json()
    with Session(clean_engine) as s:
        s.get(Question, original_q.id).visibility = "internal"
        s.commit()
    html = _answer_json(client, other_q.id, quoting["id"])["body_html"]
    assert "quote-credit" not in html and "Dock Pro will not charge" not in html and "alice" not in html


def test_quote_block_for_the_prefill(session):
    alice, bob, carol, original_q, original, other_q = _thread(session)
    assert quotes.quote_block(session, viewer=bob, ref=f"answer:{original.id}") == (
        f"[quote=answer:{original.id}]\nUse the 100 W cable that came in the box.\n[/quote]\n\n")
    assert quotes.quote_block(session, viewer=bob, ref=f"question:{original_q.id}").startswith(
        f"[quote=question:{original_q.id}]\nAfter the latest update")
    for ref in ("answer:0", "answer:99999999999", "nonsense", None, "answer:123456"):
        assert quotes.quote_block(session, viewer=bob, ref=ref) == ""
    assert quotes.quote_block(session, viewer=None, ref=f"answer:{original.id}") == ""
    answers_service.delete_answer(session, actor=alice, answer_id=original.id)
    assert quotes.quote_block(session, viewer=bob, ref=f"answer:{original.id}") == ""
    # a post quoting another: its first paragraph skips its own quote blocks
    nested = make_answer(session, other_q, bob, body=f"[quote=question:{original_q.id}]\nold\n[/quote]\n\nMy own words.")
    assert "My own words." in quotes.quote_block(session, viewer=carol, ref=f"answer:{nested.id}")
    answers_service.edit(session, actor=bob, answer_id=nested.id, data=AnswerUpdate(body="Plain now, no quote at all."))
    [row] = session.exec(select(PostQuote).where(PostQuote.quoting_id == nested.id)).scalars().all()
    assert row.removed_at is not None  # edited out: kept, so quoting again tells nobody twice
    answers_service.edit(session, actor=bob, answer_id=nested.id,
                         data=AnswerUpdate(body=f"[quote=question:{original_q.id}]\nold\n[/quote]\n\nBack again."))
    assert row.removed_at is None and row.notified_at is not None
