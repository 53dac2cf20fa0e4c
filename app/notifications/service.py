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
           now: datetime | None = None, about: tuple[str, int] | None = None) -> int:
    """One notification for each user (each once, however often listed); returns how many.
    Users whose delivery preference for `kind` is "email" also get it by e-mail (written to the
    outbox in this transaction); daily and weekly digests are built by the worker.

    The post the notice is about (`about`: ("question" | "answer" | "comment", id)) is stored with
    it, and decides whether it is counted, listed and mailed later (`visible_condition`). Without
    `about` it is read from `url` (`post_of_url`: `/questions/{id}/…#answer-{id}`), the notice's
    link to that post; a url that is not a post's, or names no existing post, makes a notice about
    no post (always shown). `text` is one line (app/core/text.py clean_single_line), ≤ 300."""
    from app.core.text import clean_single_line

    now = now or utcnow()
    ids = sorted({uid for uid in user_ids if uid})
    text = clean_single_line(text)[:300]
    question_id, post_type, post_id = _post_fields(session, about, url)
    for uid in ids:
        session.add(Notification(user_id=uid, kind=kind, text=text, url=url[:300], created_at=now,
                                 question_id=question_id, post_type=post_type, post_id=post_id))
    session.flush()
    # Every kind can reach e-mail: each user's delivery preference (app/mail/delivery.py).
    from app.mail import delivery

    delivery.on_notified(session, ids, kind=kind, text=text, url=url[:300], now=now)
    return len(ids)


_POST_IN_URL = re.compile(r"^/questions/(\d{1,12})(?:[/?][^#]*)?(?:#(answer|comment)-(\d{1,12}))?$")


def post_of_url(url: str | None) -> tuple[int, str, int] | None:
    """(question id, post type, post id) of a post's local address (`/questions/{id}/{slug}`,
    with `#answer-{id}` or `#comment-{id}`), or None for any other address. Migration 0026 read
    the existing notices' links with this same pattern."""
    found = _POST_IN_URL.match(url or "")
    if found is None:
        return None
    question_id, post_id = int(found.group(1)), int(found.group(3) or found.group(1))
    if not (is_id(question_id) and is_id(post_id)):
        return None
    return question_id, found.group(2) or "question", post_id


def _post_fields(session: Session, about: tuple[str, int] | None,
                 url: str) -> tuple[int | None, str | None, int | None]:
    """(question_id, post_type, post_id) to store on a notice: `about`, else the post `url` links
    to; (None, None, None) when the post does not exist."""
    from app.moderation import posts

    if about is not None:
        post_type, post_id = about
        question_id = None
    else:
        parsed = post_of_url(url)
        if parsed is None:
            return None, None, None
        question_id, post_type, post_id = parsed
    if post_type not in posts.POST_TYPES or not is_id(post_id):
        return None, None, None
    post = session.get(posts._model(post_type), post_id)
    if post is None:
        return None, None, None
    if question_id is None:
        question_id = _thread_of(session, post_type, post)
    return question_id, post_type, post_id


def _thread_of(session: Session, post_type: str, post) -> int | None:
    """The id of the question whose thread `post` is in."""
    if post_type == "question":
        return post.id
    if post_type == "answer":
        return post.question_id
    if post.post_type == "question":
        return post.post_id
    from app.answers.models import Answer

    parent = session.get(Answer, post.post_id)
    return parent.question_id if parent is not None else None


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
    """Opening a notification: mark it read and return where it points: the post's current
    address when it is about a post (an answer moved by a merge is found on its new question),
    else its stored link. NotFound (404) when it does not exist, is another member's, or is about
    a post the actor may no longer see (`visible_condition`), in the same words (nothing tells
    them apart)."""
    from app.core.errors import NotFound

    actor = permissions.require_user(actor)
    row = session.exec(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == actor.id,
        visible_condition(actor))).first() if is_id(notification_id) else None
    if row is None:
        raise NotFound(f"Notification {notification_id} does not exist.")
    if row.read_at is None:
        row.read_at = now or utcnow()
        session.flush()
    if row.post_type is not None and row.post_id is not None:
        from app.moderation import posts

        try:
            return posts.load(session, row.post_type, row.post_id, viewer=actor, include_deleted=True).url
        except NotFound:
            pass
    return row.url


def unread_count(session: Session, user: User | None) -> int:
    """How many of the user's notifications are unread (0 for a visitor): the header's badge.
    Counts what the list shows: notices about posts the user may no longer see are left out
    (`visible_condition`)."""
    if user is None:
        return 0
    return int(session.exec(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None), visible_condition(user))).one())


def page_for(session: Session, *, actor: User | None, unread: bool = False, limit: int | None = None,
             cursor: str | None = None) -> Page[Notification]:
    """The actor's notifications, newest first, keyset-paginated on id, without those about posts
    the actor may no longer see (`visible_condition`, in the query: a page holds `limit` of them)."""
    actor = permissions.require_user(actor, write=False)
    limit = clamp_limit(limit, default=30)
    stmt = select(Notification).where(Notification.user_id == actor.id, visible_condition(actor))
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


def visible_condition(user: User):
    """The SQL condition on Notification: `user` may still see the post the notice is about,
    decided now (when counted, listed, opened or mailed) rather than when the notice was made.
    One rule for the unread count (the header's badge), the list, the API and the digests, so
    they agree.

    A notice about no post (`post_id` NULL: badges, suspensions, escalations, settings) is kept.
    A notice about a post is kept when the post and everything it hangs on are visible to `user`
    by app/moderation/posts.py `can_see` (`visible_to(…, include_internal=True)`: not hidden by
    moderators or the spam check unless `user` wrote it or moderates; not internal unless `user`
    may see the internal space, an API key's "internal" scope included): for an answer, the answer
    and the question it is on now (after a merge: its original); for a comment, the comment, the
    answer it is on if any, and the thread's question. Deleted posts are left out too, except the
    recipient's own (they are told what happened to it), as `posts.load(include_deleted=True)`."""
    from sqlalchemy import and_, exists, or_
    from sqlalchemy.orm import aliased

    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.moderation.posts import visible_to
    from app.questions.models import Question

    def seen(model):
        return visible_to(model, user, include_internal=True)

    def kept(post, *thread):  # not deleted, or the recipient's own post
        return or_(and_(*(m.deleted_at.is_(None) for m in (post, *thread))), post.author_id == user.id)

    thread, on_answer = aliased(Question), aliased(Answer)
    question = exists().where(Question.id == Notification.post_id, seen(Question), kept(Question))
    answer = exists().where(Answer.id == Notification.post_id, thread.id == Answer.question_id,
                            seen(Answer), seen(thread), kept(Answer, thread))
    comment_on_question = exists().where(
        Comment.id == Notification.post_id, Comment.post_type == "question", thread.id == Comment.post_id,
        seen(Comment), seen(thread), kept(Comment, thread))
    comment_on_answer = exists().where(
        Comment.id == Notification.post_id, Comment.post_type == "answer", on_answer.id == Comment.post_id,
        thread.id == on_answer.question_id, seen(Comment), seen(on_answer), seen(thread),
        kept(Comment, on_answer, thread))
    return or_(Notification.post_id.is_(None),
               and_(Notification.post_type == "question", question),
               and_(Notification.post_type == "answer", answer),
               and_(Notification.post_type == "comment", or_(comment_on_question, comment_on_answer)))


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
