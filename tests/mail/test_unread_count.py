"""The header's unread count, the notifications list (forum and API) and the digests apply one rule
(app/notifications/service.py visible_condition): a notice about a post the recipient may no
longer see (deleted, hidden as spam, internal for someone outside the staff space, an answer
merged into a thread they may not see) is neither counted, listed nor mailed. Before, the badge
said 3 while the list showed 1."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from app.accounts.models import Role
from app.apikeys import service as apikeys_service
from app.core.db import utcnow
from app.core.errors import NotFound
from app.follows import service as follows
from app.mail import digests, outbox
from app.mail.models import EmailOutbox
from app.moderation import posts
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.questions import duplicates
from app.questions import service as questions_service
from app.questions.schemas import QuestionCreate
from tests.api.conftest import API
from tests.factories import make_answer, make_question, make_user


def _agree(session, client, browsers, login, user) -> int:
    """The count as the service, the API, the header badge and the list tell it; asserts they agree."""
    count = notifications.unread_count(session, user)
    listed = notifications.page_for(session, actor=user, unread=True, limit=100).items
    assert count == len(listed), (count, [n.text for n in listed])
    username = user.username
    session.commit()  # the test's session ends its transaction before the app's requests write
    r = client.get(f"{API}/notifications", params={"unread": "true"}, headers=login(username))
    assert r.status_code == 200 and r.json()["unread"] == count == len(r.json()["items"]), r.text
    b = browsers()
    b.sign_in(username)
    page = b.get("/notifications").text
    assert f'<span class="nav-count">({count})</span>' in page
    assert len(re.findall(r'href="/notifications/\d+/open"', page)) == count
    return count


def test_count_list_and_digest_leave_out_deleted_and_spam_hidden_posts(session, client, browsers, login,
                                                                      clean_engine, settings):
    from app.accounts.lifecycle import update_settings

    outbox.configure(settings)
    maya = make_user(session, "maya", email="maya@example.com")
    update_settings(session, maya, timezone="UTC", digest_hour=8)
    pixel, mod = make_user(session, "pixel"), make_user(session, "omar", role=Role.moderator)
    make_question(session, pixel, title="Which hinge grease is safe", tags=["hinge"])  # the tag exists
    follows.follow(session, actor=maya, type_="tag", target="hinge")
    fine = make_question(session, pixel, title="Hinge creaks on the Aero 14", tags=["hinge"])
    gone = make_question(session, pixel, title="Hinge question later deleted", tags=["hinge"])
    spam = make_question(session, pixel, title="Cheap hinges at totally legit shop", tags=["hinge"])
    session.commit()
    assert _agree(session, client, browsers, login, maya) == 3
    posts.delete(session, posts.load(session, "question", gone.id, viewer=mod), actor=mod)
    posts.hide(session, posts.load(session, "question", spam.id, viewer=mod), reason="spam", actor=mod)
    session.commit()
    assert _agree(session, client, browsers, login, maya) == 1
    [left] = notifications.page_for(session, actor=maya).items
    assert (left.post_type, left.post_id, left.question_id) == ("question", fine.id, fine.id)
    # the author still sees the notice about their own hidden post (and is counted for it)
    assert any(n.post_id == spam.id for n in notifications.page_for(session, actor=pixel).items)
    assert _agree(session, client, browsers, login, pixel) >= 1
    # the digest counts and shows the same notices as the list
    now = utcnow().replace(hour=8, minute=2, second=0, microsecond=0)
    if now < utcnow():
        now += timedelta(days=1)
    assert digests.run(clean_engine, now=now) >= 1
    with Session(clean_engine) as s:
        [mail] = s.exec(select(EmailOutbox).where(EmailOutbox.to_addr == "maya@example.com",
                                                  EmailOutbox.kind == "digest_daily")).all()
    assert mail.subject.endswith(": 1 new"), mail.subject
    assert "Hinge creaks" in mail.text_body and "later deleted" not in mail.text_body
    assert "legit shop" not in mail.text_body


def test_internal_posts_count_only_where_the_internal_space_is_seen(session, client):
    lena, omar = make_user(session, "lena", role=Role.staff), make_user(session, "omar", role=Role.staff)
    iq = questions_service.ask(session, actor=omar, data=QuestionCreate(
        title="Known hinge defect on batch 7", body="Engineering reproduced it; do not post publicly yet.",
        tags=["hinge"], visibility="internal"))
    notifications.notify(session, [lena.id], kind="mention", url=f"/questions/{iq.id}/{iq.slug}",
                         text="omar mentioned you in “Known hinge defect on batch 7”.")
    session.commit()
    assert notifications.unread_count(session, lena) == 1
    session.commit()
    _, read_only = apikeys_service.create(session, actor=None, owner=lena, name="wall", scopes=["read"])
    _, inside = apikeys_service.create(session, actor=None, owner=lena, name="intranet", scopes=["read", "internal"])
    session.commit()
    # (each key's creation is a notice too: about no post, so both keys see those)
    r = client.get(f"{API}/notifications", headers={"X-API-Key": read_only})
    assert r.status_code == 200, r.text
    assert r.json()["unread"] == len(r.json()["items"]) == 2 and "batch 7" not in r.text, r.text
    r = client.get(f"{API}/notifications", headers={"X-API-Key": inside})
    assert r.json()["unread"] == len(r.json()["items"]) == 3 and "batch 7" in r.text


def test_a_merged_answers_notice_follows_it_and_goes_with_its_new_thread(session, client, browsers, login):
    maya, pixel = make_user(session, "maya"), make_user(session, "pixel")
    mod = make_user(session, "omar", role=Role.moderator)
    original = make_question(session, pixel, title="Dock loses the display after sleep")
    dup = make_question(session, maya, title="Display gone after sleep on the dock")
    answer = make_answer(session, dup, pixel, body="Update the dock firmware, then replug the cable.")
    session.commit()
    [notice] = notifications.page_for(session, actor=maya).items
    assert (notice.post_type, notice.post_id, notice.question_id) == ("answer", answer.id, dup.id)
    duplicates.close_as_duplicate(session, actor=mod, question_id=dup.id, original_id=original.id)
    duplicates.merge(session, actor=mod, question_id=dup.id)
    session.commit()
    # opening it goes where the answer is now, not to the duplicate's page it left
    assert notifications.open_one(session, actor=maya, notification_id=notice.id) == \
        f"/questions/{original.id}/{original.slug}#answer-{answer.id}"
    session.get(Notification, notice.id).read_at = None
    session.commit()
    # the answer, and "closed as a duplicate of" the original
    assert _agree(session, client, browsers, login, maya) == 2
    # the answer's thread is now the original: hidden there, both notices go for maya
    posts.hide(session, posts.load(session, "question", original.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    assert _agree(session, client, browsers, login, maya) == 0
    try:
        notifications.open_one(session, actor=maya, notification_id=notice.id)
    except NotFound:
        pass
    else:
        raise AssertionError("a notice about a post maya may not see opened")


def test_notices_about_no_post_or_a_missing_post_stay(session):
    maya = make_user(session, "maya")
    notifications.notify(session, [maya.id], kind="badge_awarded", text="You earned a badge.",
                         url="/users/maya#badges")
    notifications.notify(session, [maya.id], kind="mention", text="Old link.", url="/questions/999999/gone")
    session.flush()
    rows = notifications.page_for(session, actor=maya).items
    assert len(rows) == 2 and all(n.post_id is None for n in rows)
    assert notifications.unread_count(session, maya) == 2
