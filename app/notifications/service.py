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


def open_one(session: Session, *, actor: User | None, notification_id: int, now: datetime | None = None) -> str:
    """Opening a notification: mark it read and return where it points. NotFound (404) when it
    does not exist or is another member's, in the same words (nothing tells the two apart)."""
    from app.core.errors import NotFound

    actor = permissions.require_user(actor)
    row = session.get(Notification, notification_id) if is_id(notification_id) else None
    if row is None or row.user_id != actor.id:
        raise NotFound(f"Notification {notification_id} does not exist.")
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
    """The actor's notifications, newest first, keyset-paginated on id, without those about posts
    the actor may no longer see (`visible_notices`)."""
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
    return Page(items=visible_notices(session, actor, rows), next_cursor=next_cursor)


_POST_IN_URL = re.compile(r"^/questions/(\d{1,12})(?:[/?][^#]*)?(?:#(answer|comment)-(\d{1,12}))?$")


def visible_notices(session: Session, user: User, rows: list[Notification]) -> list[Notification]:
    """Those of `rows` (notifications of `user`) whose post `user` may still see, decided now
    (when the list is shown, or a digest is built) rather than when the notice was made: the post
    may since have been hidden by moderators, deleted, or be internal for a reader who may not see
    the internal space (a staff member's API key without the "internal" scope). The post is the
    one the notice links to (`/questions/{id}/…`, with `#answer-{id}` or `#comment-{id}`), and
    its thread: the rule of app/moderation/posts.py `load` (`can_see`). A notice about the
    recipient's own post stays even when it was deleted (they are told what happened to it);
    notices that link elsewhere (profiles, settings, the flag list) or to no row at all (posts are
    never removed for good; soft-deleted ones are judged above) always stay. Order is kept; a
    page may then hold fewer than its limit, and the cursor still leads on."""
    from app.core.errors import NotFound
    from app.moderation import posts

    seen: dict[tuple[str, int], bool] = {}

    def may_see(post_type: str, post_id: int) -> bool:
        if (post_type, post_id) not in seen:
            if not is_id(post_id) or session.get(posts._model(post_type), post_id) is None:
                seen[post_type, post_id] = True  # no such row (never hard-deleted): nothing to decide
                return True
            try:
                ref = posts.load(session, post_type, post_id, viewer=user, include_deleted=True)
            except NotFound:
                seen[post_type, post_id] = False
            else:
                gone = ref.post.deleted_at is not None or ref.question.deleted_at is not None
                seen[post_type, post_id] = not gone or ref.post.author_id == user.id
        return seen[post_type, post_id]

    kept = []
    for n in rows:
        found = _POST_IN_URL.match(n.url or "")
        if found is not None and not (may_see("question", int(found.group(1))) and
                                      (found.group(2) is None or may_see(found.group(2), int(found.group(3))))):
            continue
        kept.append(n)
    return kept


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
