"""In-app notifications: a short text and a link for one user, listed newest first, marked read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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
    """One notification for each user (each once, however often listed); returns how many."""
    now = now or utcnow()
    ids = sorted({uid for uid in user_ids if uid})
    for uid in ids:
        session.add(Notification(user_id=uid, kind=kind, text=text[:300], url=url[:300], created_at=now))
    session.flush()
    return len(ids)


def unread_count(session: Session, user: User | None) -> int:
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
    return Page(items=rows, next_cursor=next_cursor)


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
