"""In-app notifications: a short text and a link for one user, listed newest first, marked read."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import field_error
from app.core.ids import is_id
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.notifications.models import Notification


def notify(session: Session, user_ids: Iterable[int], *, kind: str, text: str, url: str,
           now: datetime | None = None) -> int:
    """One notification for each user (each once, however often listed); returns how many.
    Users whose delivery preference for `kind` is "email" also get it by e-mail (written to the
    outbox in this transaction); daily and weekly digests are built by the worker."""
    now = now or utcnow()
    ids = sorted({uid for uid in user_ids if uid})
    for uid in ids:
        session.add(Notification(user_id=uid, kind=kind, text=text[:300], url=url[:300], created_at=now))
    session.flush()
    # Every kind can reach e-mail: each user's delivery preference (app/mail/delivery.py).
    from app.mail import delivery

    delivery.on_notified(session, ids, kind=kind, text=text[:300], url=url[:300], now=now)
    return len(ids)


# Stack Exchange tells an answerer about upvotes in aggregate, not per vote: at most one
# "answer_upvoted" notice per answer per this window (rolling, from the last notice sent).
UPVOTE_NOTICE_WINDOW = timedelta(days=1)


def answer_url(question_id: int, slug: str, answer_id: int) -> str:
    """The local address of an answer on its question page (the `#answer-N` anchor)."""
    return f"/questions/{question_id}/{slug}#answer-{answer_id}"


def notify_answer_upvoted(session: Session, *, author_id: int, url: str, text: str,
                          now: datetime | None = None) -> int:
    """Tell an answer's author it was upvoted, unless they were told about the same answer (same
    `url`) within UPVOTE_NOTICE_WINDOW; returns 1 when a notice was sent, 0 otherwise."""
    now = now or utcnow()
    recent = session.exec(select(Notification.id).where(
        Notification.user_id == author_id, Notification.kind == "answer_upvoted", Notification.url == url[:300],
        Notification.created_at > now - UPVOTE_NOTICE_WINDOW).limit(1)).first()
    if recent is not None:
        return 0
    return notify(session, [author_id], kind="answer_upvoted", text=text, url=url, now=now)


def open_one(session: Session, *, actor: User | None, notification_id: int, now: datetime | None = None) -> str | None:
    """Opening a notification: mark it read and return where it points (None when it is not the actor's)."""
    actor = permissions.require_user(actor)
    row = session.get(Notification, notification_id) if is_id(notification_id) else None
    if row is None or row.user_id != actor.id:
        return None
    if row.read_at is None:
        row.read_at = now or utcnow()
        session.flush()
    return row.url


def unread_count(session: Session, user: User | None) -> int:
    """How many of the user's notifications are unread (0 for a visitor)."""
    if user is None:
        return 0
    return int(session.exec(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).one())


def page_for(session: Session, *, actor: User | None, unread: bool = False, limit: int | None = None,
             cursor: str | None = None) -> Page[Notification]:
    """The actor's notifications, newest first, keyset-paginated on id."""
    actor = permissions.require_user(actor, write=False)
    limit = clamp_limit(limit, default=30)
    stmt = select(Notification).where(Notification.user_id == actor.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    after = decode_cursor(cursor, 1)
    if after is not None:
        if not is_id(after[0]):
            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
        stmt = stmt.where(Notification.id < after[0])
    rows = list(session.exec(stmt.order_by(Notification.id.desc()).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id])
    return Page(items=_without_internal(session, actor, rows), next_cursor=next_cursor)


_QUESTION_IN_URL = re.compile(r"^/questions/(\d{1,12})(?:[/?#]|$)")


def _without_internal(session: Session, actor: User, rows: list[Notification]) -> list[Notification]:
    """Staff notices can name internal questions ("… answered your question “…”"). A reader who
    may not see the internal space now (an API key of a staff member without the "internal"
    scope: app/internal/visibility.py) does not get those notices; the page may then hold fewer
    than `limit` items, and the cursor still leads on."""
    from app.internal.visibility import can_see_internal, public_only
    from app.questions.models import Question

    if not actor.can_moderate or can_see_internal(actor):
        return rows  # customers are never told about internal threads; staff see them
    ids = {int(m.group(1)) for n in rows if (m := _QUESTION_IN_URL.match(n.url or ""))}
    if not ids:
        return rows
    public = set(session.exec(select(Question.id).where(Question.id.in_(ids), public_only())).all())
    return [n for n in rows if not (m := _QUESTION_IN_URL.match(n.url or "")) or int(m.group(1)) in public]


def mark_read(session: Session, *, actor: User | None, ids: list[int] | None = None,
              now: datetime | None = None) -> int:
    """Mark the actor's notifications read: the given ids (others' are ignored), or all of them."""
    actor = permissions.require_user(actor, write=False)
    stmt = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(Notification.id.in_(ids))
    result = session.exec(stmt.values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount or 0
