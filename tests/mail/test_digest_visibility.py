"""Notices are judged when they are shown or mailed, not when they were made: a post hidden by
moderators (or deleted) since then is left out of digests and of the notifications list, for
everyone but those who may still see it (docs/notifications.md)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.answers.models import Answer
from app.core.db import utcnow
from app.follows import service as follows
from app.mail import digests, outbox
from app.moderation import flags, posts
from app.notifications import service as notifications
from tests.factories import make_answer, make_question, make_user, token_headers
from tests.mail.helpers import run_worker


def _thread(session):
    from app.accounts.lifecycle import update_settings

    maya = make_user(session, "maya", email="maya@example.com")
    update_settings(session, maya, timezone="UTC", digest_hour=8)
    pixel = make_user(session, "pixel")
    mod = make_user(session, "omar", role="moderator")
    make_question(session, pixel, title="Which hinge grease is safe", tags=["hinge"])  # the tag exists
    follows.follow(session, actor=maya, type_="tag", target="hinge")
    return maya, pixel, mod


def test_digest_leaves_out_a_question_hidden_after_the_notice(session, clean_engine, smtp, settings):
    handler, _ = smtp
    outbox.configure(settings)
    maya, pixel, mod = _thread(session)
    rant = make_question(session, pixel, title="Hinge rant full of abuse words", tags=["hinge"])
    fine = make_question(session, pixel, title="Hinge creaks on the Aero 14", tags=["hinge"])
    gone = make_question(session, pixel, title="Hinge question later deleted", tags=["hinge"])
    mine = make_question(session, maya, title="My own hinge question", tags=["hinge"])
    make_answer(session, mine, pixel, body="An answer that a moderator hides later on.")
    session.commit()
    flags.raise_flag(session, actor=mod, post_type="question", post_id=rant.id, reason="abusive")
    posts.delete(session, posts.load(session, "question", gone.id, viewer=mod), actor=mod)
    hidden_answer = session.exec(select(Answer).where(Answer.question_id == mine.id)).one()
    posts.hide(session, posts.load(session, "answer", hidden_answer.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    assert rant.hidden_at is not None
    listed = [n.text for n in notifications.page_for(session, actor=maya).items]
    assert any("Hinge creaks" in t for t in listed)
    assert not any("rant" in t or "later deleted" in t for t in listed), listed
    assert not any(f"#answer-{hidden_answer.id}" in n.url for n in notifications.page_for(session, actor=maya).items)
    # The digest is built after the hide, at maya's next digest hour (08:00 UTC).
    now = utcnow().replace(hour=8, minute=2, second=0, microsecond=0)
    if now < utcnow():
        now += timedelta(days=1)
    session.commit()  # the digest job has its own session
    assert digests.run(clean_engine, now=now) >= 1  # pixel has one too (answers on their questions)
    run_worker(clean_engine, settings, now=now + timedelta(minutes=1))
    [mail] = [m for m in handler.messages if "maya@example.com" in m.rcpt_tos and "digest" in m.message["Subject"]]
    assert "Hinge creaks" in mail.text()
    assert "rant" not in mail.text() and "later deleted" not in mail.text()
    assert f"/questions/{rant.id}/" not in mail.text() and f"#answer-{hidden_answer.id}" not in mail.text()


def test_notifications_api_leaves_out_hidden_posts_but_the_author_keeps_theirs(session, client):
    maya, pixel, mod = _thread(session)
    rant = make_question(session, pixel, title="Another hinge rant", tags=["hinge"])
    make_answer(session, rant, maya, body="Please keep it civil, here is what fixed mine.")  # pixel: answer_posted
    session.commit()
    flags.raise_flag(session, actor=mod, post_type="question", post_id=rant.id, reason="abusive")
    session.commit()
    r = client.get("/api/v1/notifications", headers=token_headers(client, "maya"))
    assert r.status_code == 200 and "Another hinge rant" not in r.text
    # pixel, its author, still sees the notice of the answer on the hidden question
    r = client.get("/api/v1/notifications", headers=token_headers(client, "pixel"))
    assert r.status_code == 200 and f"/questions/{rant.id}/" in r.text
