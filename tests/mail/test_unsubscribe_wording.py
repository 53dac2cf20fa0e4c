"""The unsubscribe page names what it stops in plain English for every kind of subscription:
"Stop …?" before the click and "you no longer get …." after it."""

from __future__ import annotations

import html

from sqlmodel import Session

from app.mail import delivery, outbox
from tests.factories import make_user

# Written out by hand (not read from delivery.UNSUBSCRIBE_PHRASES) so a wrong phrase fails here.
EXPECTED = {
    "*": "e-mail notifications of any kind",
    "answer_posted": "e-mails about new answers to your questions",
    "comment_posted": "e-mails about comments on your posts",
    "answer_accepted": "e-mails about your answers being accepted",
    "answer_upvoted": "e-mails about upvotes on your answers",
    "mention": "e-mails about posts that mention you",
    "quoted": "e-mails about posts that quote yours",
    "followed_question_answer": "e-mails about new answers on questions you follow",
    "followed_new_question": "e-mails about new questions in the products and tags you follow",
    "followed_user_post": "e-mails about new questions and answers by people you follow",
    "question_solved": "e-mails about solutions to questions you also have (“me too”)",
    "escalation_resolved": "e-mails about your escalated questions being resolved",
    "escalation_assigned": "e-mails about escalations assigned to you",
    "private_message": "e-mails about private messages from our support team",
    "private_message_staff": "e-mails about customers' private messages in escalations",
    "question_closed_duplicate": "e-mails about your questions being closed as duplicates",
    "api_key_created": "e-mails about new API keys that act as you",
    "badge_awarded": "e-mails about badges you earn",
    "post_hidden": "e-mails about your posts being hidden",
    "post_pending": "e-mails about your posts waiting for review",
    "post_approved": "e-mails about your posts being approved",
    "suspended": "e-mails about your account being suspended",
    "unsuspended": "e-mails about your account's suspension being lifted",
    "webhook_disabled": "e-mails about webhooks being turned off after failures",
    "flag_helpful": "e-mails about moderators' decisions on your flags",
    "flag_declined": "e-mails about moderators' decisions on your flags",
    "moderation_post_removed": "e-mails about moderators' decisions on your posts and account",
    "something_new": "e-mail notifications of the kind “something new”",
}


def test_every_preference_kind_has_its_own_phrase():
    assert set(delivery.KINDS) <= set(EXPECTED)
    assert set(delivery.UNSUBSCRIBE_PHRASES) <= set(EXPECTED)
    for kind, phrase in EXPECTED.items():
        assert delivery.unsubscribe_phrase(kind) == phrase, kind


def test_unsubscribe_page_reads_as_plain_english_for_every_kind(client, session, clean_engine, settings):
    outbox.configure(settings)
    maya = make_user(session, "maya")
    session.commit()
    for kind, phrase in EXPECTED.items():
        path = f"/email/unsubscribe?token={outbox.unsubscribe_token(maya.id, kind)}"
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, (kind, page.text)
        assert f"Stop {phrase}?" in html.unescape(page.text), kind
        client.cookies.clear()
        done = client.post(path, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200, (kind, done.text)
        assert f"Done: you no longer get {phrase}. Notifications still show on the site." in html.unescape(done.text), kind
        with Session(clean_engine) as s:
            assert delivery.preferences(s, maya.id)[kind] == "in_app", kind
