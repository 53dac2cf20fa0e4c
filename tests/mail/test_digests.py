"""Digests with a controllable clock, and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.mail import delivery, digests, outbox
from app.mail.models import EmailOutbox
from app.notifications import service as notifications
from app.notifications.models import Notification
from tests.factories import make_question, make_user
from tests.mail.helpers import outbox_rows, run_worker

# Monday 2 March 2026, 12:00 UTC = 07:00 in New York (EST)
MONDAY_NOON_UTC = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _maya(session):
    from app.accounts.lifecycle import update_settings

    maya = make_user(session, "maya", email="maya@example.com")
    update_settings(session, maya, timezone="America/New_York", digest_hour=8)
    return maya


def test_daily_digest_at_the_users_hour_with_only_unread(session, clean_engine, smtp, settings):
    handler, _ = smtp
    outbox.configure(settings)
    maya = _maya(session)
    t0 = MONDAY_NOON_UTC - timedelta(hours=3)  # 04:00 in New York
    for i in range(3):  # daily by default
        notifications.notify(session, [maya.id], kind="followed_new_question", now=t0 + timedelta(minutes=i),
                             text=f"New question: “Dock question {i}”.", url=f"/questions/{i + 1}/dock-question-{i}")
    notifications.notify(session, [maya.id], kind="answer_upvoted", now=t0, text="Upvoted", url="/questions/9/x")
    session.commit()
    first = session.exec(select(Notification).where(Notification.text.contains("Dock question 0"))).one()
    notifications.mark_read(session, actor=maya, ids=[first.id], now=t0 + timedelta(minutes=30))
    session.commit()
    assert outbox_rows(clean_engine) == []  # nothing at once: daily digest and in-app only
    assert digests.run(clean_engine, now=MONDAY_NOON_UTC - timedelta(minutes=1)) == 0  # 06:59 local
    assert digests.run(clean_engine, now=MONDAY_NOON_UTC + timedelta(hours=1, minutes=2)) == 1  # 08:02 local
    assert digests.run(clean_engine, now=MONDAY_NOON_UTC + timedelta(hours=1, minutes=30)) == 0  # once per day
    assert run_worker(clean_engine, settings).sent == 1
    [mail] = handler.messages
    text = mail.text()
    assert "Dock question 1" in text and "Dock question 2" in text
    assert "Dock question 0" not in text  # read on the site already
    assert "Upvoted" not in text  # in-app only
    assert "http://testserver/questions/2/dock-question-1" in text
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the next day: only what is new since
    notifications.notify(session, [maya.id], kind="followed_new_question", now=MONDAY_NOON_UTC + timedelta(hours=5),
                         text="New question: “Tuesday's question”.", url="/questions/7/tuesday")
    session.commit()
    assert digests.run(clean_engine, now=MONDAY_NOON_UTC + timedelta(hours=24, minutes=59)) == 0  # 07:59 Tuesday
    assert digests.run(clean_engine, now=MONDAY_NOON_UTC + timedelta(hours=25, minutes=5)) == 1
    run_worker(clean_engine, settings)
    assert "Tuesday's question" in handler.messages[1].text()
    assert "Dock question 1" not in handler.messages[1].text()


def test_weekly_digest_on_mondays_and_nothing_when_nothing_is_new(session, clean_engine, smtp, settings, client, login):
    handler, _ = smtp
    maya = _maya(session)
    session.commit()
    me = login("maya")
    r = client.put("/api/v1/me/notification-preferences",
                   json={"preferences": {"followed_new_question": "weekly"}}, headers=me)
    assert {i["kind"]: i["delivery"] for i in r.json()["items"]}["followed_new_question"] == "weekly"
    sunday_8am = MONDAY_NOON_UTC - timedelta(days=1) + timedelta(hours=1)
    assert digests.run(clean_engine, now=sunday_8am) == 0
    notifications.notify(session, [maya.id], kind="followed_new_question", now=sunday_8am,
                         text="New question: “Weekend question”.", url="/questions/3/weekend")
    session.commit()
    monday_8am = MONDAY_NOON_UTC + timedelta(hours=1, minutes=1)
    assert digests.run(clean_engine, now=monday_8am) == 1
    with Session(clean_engine) as s:
        [row] = s.exec(select(EmailOutbox)).all()
        assert row.kind == "digest_weekly" and "Weekend question" in row.text_body
    # the next Monday with nothing new: no message
    assert digests.run(clean_engine, now=monday_8am + timedelta(days=7)) == 0


def test_one_click_unsubscribe(client, session, clean_engine, smtp, settings):
    handler, _ = smtp
    outbox.configure(settings)
    maya = make_user(session, "maya", email="maya@example.com")
    dock = make_question(session, author=maya, title="Dock does not charge")
    dock_url = f"/questions/{dock.id}/{dock.slug}"  # a real post: notifications about gone ones are skipped
    notifications.notify(session, [maya.id], kind="answer_posted", text="Raj answered your question “Dock”.",
                         url=dock_url)
    session.commit()
    run_worker(clean_engine, settings)
    [mail] = handler.messages
    url = mail.message["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("http://testserver")
    # a link checker opening the URL changes nothing
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Unsubscribe" in page.text
    with Session(clean_engine) as s:
        assert delivery.preferences(s, maya.id)["answer_posted"] == "email"
    # the mail provider's one-click POST: no cookie, no CSRF token (RFC 8058 section 3.1)
    client.cookies.clear()
    r = client.post(path, content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    with Session(clean_engine) as s:
        assert delivery.preferences(s, maya.id)["answer_posted"] == "in_app"
        notifications.notify(s, [maya.id], kind="answer_posted", text="Another answer", url=dock_url)
        notifications.notify(s, [maya.id], kind="mention", text="Lena mentioned you", url=dock_url)
        s.commit()
    run_worker(clean_engine, settings)
    assert [m.message["Subject"] for m in handler.messages[1:]] == ["Lena mentioned you"]  # only that kind stopped
    assert client.post("/email/unsubscribe?token=forged", content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 400


def test_unknown_kinds_default_sensibly(session, clean_engine, smtp, settings):
    outbox.configure(settings)
    assert delivery.default_for("answer_accepted") == "email"
    assert delivery.default_for("question_closed_duplicate") == "email"
    assert delivery.default_for("moderation_post_removed") == "email"
    assert delivery.default_for("something_new") == "daily"
    maya = make_user(session, "maya")
    notifications.notify(session, [maya.id], kind="moderation_flag_declined", text="Your flag was declined",
                         url="/questions/1/x")
    notifications.notify(session, [maya.id], kind="badge_awarded", text="You earned a badge", url="/users/maya")
    session.commit()
    assert [r.kind for r in outbox_rows(clean_engine)] == ["moderation_flag_declined"]


def test_the_job_visits_only_members_with_something_recent_and_unread(session, clean_engine, smtp, settings):
    """The candidates are the members with an unread notification from the past week: the job's
    cost follows activity, not membership. Members with only old or only read notices, or none,
    are not visited (their digest clock is untouched) and get nothing, as before."""
    from app.accounts.lifecycle import update_settings
    from app.mail.models import MailSettings

    outbox.configure(settings)
    maya = _maya(session)
    others = {name: make_user(session, name, email=f"{name}@example.com") for name in ("omar", "kim", "lee")}
    for user in others.values():
        update_settings(session, user, timezone="America/New_York", digest_hour=8)
    at_eight = MONDAY_NOON_UTC + timedelta(hours=1, minutes=2)  # 08:02 in New York
    notifications.notify(session, [maya.id], kind="followed_new_question", now=at_eight - timedelta(hours=2),
                         text="New question: “Dock hums”.", url="/questions/1/dock-hums")
    notifications.notify(session, [others["omar"].id], kind="followed_new_question", now=at_eight - timedelta(days=8),
                         text="New question: “Old one”.", url="/questions/2/old-one")
    notifications.notify(session, [others["kim"].id], kind="followed_new_question", now=at_eight - timedelta(hours=2),
                         text="New question: “Read already”.", url="/questions/3/read-already")
    session.commit()
    read = session.exec(select(Notification).where(Notification.user_id == others["kim"].id)).one()
    notifications.mark_read(session, actor=others["kim"], ids=[read.id], now=at_eight - timedelta(hours=1))
    session.commit()
    assert digests.run(clean_engine, now=at_eight) == 1
    with Session(clean_engine) as s:
        stamped = {ms.user_id for ms in s.exec(select(MailSettings)).all() if ms.last_daily_digest_at is not None}
    assert stamped == {maya.id}
    assert [r.to_addr for r in outbox_rows(clean_engine)] == ["maya@example.com"]
