"""Helpers for the reputation tests: vote, read balances and ledger rows afresh, earn points for real.

Reputation is a cache of the ledger, so a test that needs a user with standing earns it through
real votes (never by setting `user.reputation`, which the next ledger change would overwrite).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.accounts.models import User
from app.answers.models import Answer
from app.core.db import utcnow
from app.questions.models import Question
from app.reputation.models import ReputationEvent
from app.votes import service as votes_service
from tests.factories import make_answer, make_question, make_user

_seq = itertools.count(1)


def post_type_of(post) -> str:
    if isinstance(post, Answer):
        return "answer"
    if isinstance(post, Question):
        return "question"
    raise TypeError(post)


def vote(session: Session, voter: User, post, value: int = 1, now: datetime | None = None) -> tuple[int, int]:
    return votes_service.cast(session, actor=voter, post_type=post_type_of(post), post_id=post.id, value=value,
                              now=now)


def rep(session: Session, user: User) -> int:
    """The cached balance as the database holds it now."""
    session.flush()
    return session.exec(select(User.reputation).where(User.id == user.id)).one()


def ledger(session: Session, user: User, *, counting: bool | None = None) -> list[ReputationEvent]:
    """The user's events, oldest first (counting=True: not reversed; False: reversed only)."""
    session.flush()
    stmt = select(ReputationEvent).where(ReputationEvent.user_id == user.id)
    if counting is True:
        stmt = stmt.where(ReputationEvent.reversed_at.is_(None))
    elif counting is False:
        stmt = stmt.where(ReputationEvent.reversed_at.is_not(None))
    rows = list(session.exec(stmt.order_by(ReputationEvent.occurred_at, ReputationEvent.id)).all())
    for r in rows:
        session.refresh(r)
    return rows


def day_start(days_ago: int = 0, hour: int = 12) -> datetime:
    """Noon (UTC) of a day in the past: far from midnight, so that minutes later is still the same day."""
    now = utcnow()
    return datetime(now.year, now.month, now.day, hour, tzinfo=UTC) - timedelta(days=days_ago)


def fans(session: Session, n: int, prefix: str = "fan") -> list[User]:
    """New accounts whose names resemble nobody else's (no sock-puppet reports)."""
    out = []
    for _ in range(n):
        k = next(_seq)
        name = f"{prefix}{k}x{k * 7919 % 1000}"
        out.append(make_user(session, name, email=f"{prefix}-{k}-{'abcdefghij'[k % 10]}@fans.example"))
    return out


def earn(session: Session, user: User, points: int, *, product: str | None = None, first_day_ago: int = 2) -> int:
    """Give `user` at least `points` reputation the honest way: answers of theirs upvoted by other users,
    20 votes (the daily cap's 200 points) per day, on days at least `first_day_ago` in the past
    (outside the serial-voting window). Returns the new balance."""
    n_votes = -(-points // 10)
    voters = fans(session, min(n_votes, 20))
    asker = make_user(session, f"asker{next(_seq)}x")
    day = first_day_ago
    while n_votes > 0:
        q = make_question(session, asker, product=product)
        a = make_answer(session, q, author=user)
        batch = min(n_votes, 20)
        when = day_start(day)
        for i, v in enumerate(voters[:batch]):
            vote(session, v, a, 1, now=when + timedelta(seconds=i))
        n_votes -= batch
        day += 1
    session.refresh(user)
    return user.reputation


def ledger_world(factory, session) -> dict:
    """A ledger with posts some readers cannot open (tests/reputation/test_ledger_visibility.py,
    tests/web/test_reputation_ledger_pages.py). helper (a customer) earns on: a live answer, an
    answer later deleted, their own question later hidden as spam, and (as asker) raj's answer
    they accepted, later hidden by a moderator. lena (staff) earns on an answer in the internal
    space. Committed; returns the users, the posts as (post_type, id) and the titles."""
    from app.answers import service as answers_service
    from app.moderation import posts
    from app.questions import service as questions_service
    from app.questions.schemas import QuestionCreate

    helper, raj, asker = factory.user("helper"), factory.user("raj"), factory.user("asker")
    nina = factory.user("nina")
    mod = factory.user("omar", role="moderator")
    lena, sam = factory.user("lena", role="staff"), factory.user("sam", role="staff")
    voters = fans(session, 3)
    t = day_start(3)

    live_q = factory.question(asker, title="Dock Pro charges at 60 W only with the thin cable")
    live = factory.answer(live_q, author=helper, body="Use the 100 W cable that came in the box, it is thicker.")
    gone_q = factory.question(asker, title="Keyboard backlight stays off after sleep on the Aero")
    gone = factory.answer(gone_q, author=helper, body="Press Fn+F5 twice; the backlight driver wakes up then.")
    spam = factory.question(helper, title="Quokkaspam miracle cleaner fixes every laptop fast")
    own_q = factory.question(helper, title="Webcam shows a green tint in every meeting app")
    theirs = factory.answer(own_q, author=raj, body="Turn off the camera's HDR mode in the vendor tool.")
    for i, v in enumerate(voters):
        at = t + timedelta(minutes=i)
        vote(session, v, live, 1, now=at)
        vote(session, v, gone, 1, now=at)
        vote(session, v, spam, 1, now=at)
    answers_service.accept(session, actor=helper, question_id=own_q.id, answer_id=theirs.id,
                           now=t + timedelta(minutes=10))

    internal_q = questions_service.ask(session, actor=lena, data=QuestionCreate(
        title="Dock firmware 2.4 bricks units: Quokkafrost defect", body="Staff only: how do we recover units?",
        tags=["dock"], visibility="internal"))
    internal_a = factory.answer(internal_q, author=lena, body="Reflash over USB-C with the recovery image 2.3.")
    vote(session, sam, internal_a, 1, now=t + timedelta(minutes=20))

    answers_service.delete_answer(session, actor=mod, answer_id=gone.id, reason="wrong model")
    posts.hide(session, posts.load(session, "question", spam.id, viewer=mod), reason="spam", actor=mod)
    posts.hide(session, posts.load(session, "answer", theirs.id, viewer=mod), reason="moderator", actor=mod)
    session.commit()
    return {"helper": helper, "lena": lena, "nina": nina, "omar": mod, "sam": sam,
            "live": ("answer", live.id), "gone": ("answer", gone.id), "spam": ("question", spam.id),
            "theirs": ("answer", theirs.id), "internal": ("answer", internal_a.id),
            "titles": {"gone": gone_q.title, "spam": spam.title, "theirs": own_q.title, "internal": internal_q.title}}


# Which of helper's posts each reader may open; "owner" is helper, "staff" a moderator.
HELPER_SEES = {
    None: {"live"},
    "nina": {"live"},
    "helper": {"live", "spam"},  # their own hidden question, not raj's hidden answer, nothing deleted
    "omar": {"live", "spam", "theirs"},  # a moderator opens hidden posts; a deleted one is gone for all
}
LENA_SEES = {None: set(), "nina": set(), "lena": {"internal"}, "sam": {"internal"}, "omar": {"internal"}}
