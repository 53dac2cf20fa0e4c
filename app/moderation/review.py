"""The review queue (Stack Exchange's First Posts / Staging Ground, Apache Answer's pending
posts): posts saved but hidden until a moderator approves or deletes them — a new member's first
question or answer about a product that asks for it (`products.first_posts_review`), posts the
spam check held, and posts hidden by flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.errors import Conflict, DomainError, field_error
from app.core.ids import is_id
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.moderation import audit, posts
from app.notifications import service as notifications


def first_post_hold(session: Session, *, actor: User, product_id: int | None) -> str | None:
    """"review" when the product reviews first posts and this is the actor's first question or
    answer there (moderators and members with NEW_MEMBER_REPUTATION are never held)."""
    from app.answers.models import Answer
    from app.moderation import policy
    from app.products.models import Product
    from app.questions.models import Question

    if product_id is None or actor.can_moderate or actor.reputation >= policy.NEW_MEMBER_REPUTATION:
        return None
    product = session.get(Product, product_id)
    if product is None or not product.first_posts_review:
        return None
    asked = session.exec(select(func.count()).select_from(Question).where(
        Question.author_id == actor.id, Question.product_id == product_id)).one()
    answered = session.exec(select(func.count()).select_from(Answer).join(Question, Question.id == Answer.question_id)
                            .where(Answer.author_id == actor.id, Question.product_id == product_id)).one()
    return "review" if asked + answered == 0 else None


def tell_author(session: Session, *, kind: str, post_url: str, author_id: int, reason: str, title: str,
                now: datetime | None = None) -> None:
    """The author hears that the post waits for review (in-app; the page says so too), dated `now`
    (default: the clock)."""
    why = posts.HIDDEN_LABELS.get(reason, posts.HIDDEN_LABELS["review"])
    notifications.notify(session, [author_id], kind="post_pending", url=post_url, now=now,
                         text=f"Your {kind} on “{title}” is saved and waits for a moderator. {why}")


@dataclass
class PendingPost:
    post_type: str
    post_id: int
    url: str
    title: str
    excerpt: str
    author: User | None
    reason: str
    label: str
    hidden_at: datetime


POST_TYPES = ("question", "answer", "comment")


def pending(session: Session, *, actor: User | None, limit: int | None = None,
            cursor: str | None = None) -> Page[PendingPost]:
    """Hidden, undeleted posts, oldest first: what waits for a moderator's decision. Keyset-paginated
    on (hidden_at, post type, post id), a total order (`limit` 1..100, default 50; `cursor` from the
    previous page's next_cursor; 422 on a cursor this function did not give). A post whose thread
    is gone is left out of its page (the cursor moves past it). Moderators and staff."""
    from sqlalchemy import and_, or_, true

    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.core.markdown import excerpt
    from app.questions.models import Question

    actor = posts.require_moderator_read(actor)
    limit = clamp_limit(limit, default=50)
    after = _cursor(cursor)
    found: list[tuple[datetime, str, int, object]] = []
    for ptype, model in (("question", Question), ("answer", Answer), ("comment", Comment)):
        later = true()
        if after is not None:
            at, cptype, cid = after
            same_time_after = true() if ptype > cptype else (model.id > cid if ptype == cptype else None)
            later = model.hidden_at > at if same_time_after is None else or_(
                model.hidden_at > at, and_(model.hidden_at == at, same_time_after))
        rows = session.exec(select(model).where(model.hidden_at.is_not(None), model.deleted_at.is_(None), later)
                            .order_by(model.hidden_at, model.id).limit(limit + 1)).all()
        found += [(_aware(p.hidden_at), ptype, p.id, p) for p in rows]
    found.sort(key=lambda r: (r[0], r[1], r[2]))
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        at, ptype, pid, _ = found[-1]
        next_cursor = encode_cursor([at.isoformat(), ptype, pid])
    out: list[PendingPost] = []
    for at, ptype, pid, post in found:
        try:
            ref = posts.load(session, ptype, pid, viewer=actor)
        except DomainError:  # its thread is gone
            continue
        out.append(PendingPost(ptype, pid, ref.url, ref.title, excerpt(post.body_html, 240),
                               session.get(User, post.author_id), post.hidden_reason or "moderator",
                               posts.hidden_label(post) or "", at))
    return Page(items=out, next_cursor=next_cursor)


def pending_count(session: Session, *, actor: User | None) -> int:
    """How many hidden, undeleted posts wait (for the queue tabs), moderators and staff."""
    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.questions.models import Question

    posts.require_moderator_read(actor)
    return sum(int(session.exec(select(func.count()).select_from(model).where(
        model.hidden_at.is_not(None), model.deleted_at.is_(None))).one()) for model in (Question, Answer, Comment))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _cursor(cursor: str | None) -> tuple[datetime, str, int] | None:
    """[ISO time with zone, post type, post id], else 422 at ["query", "cursor"]."""
    values = decode_cursor(cursor, 3)
    if values is None:
        return None
    at, ptype, pid = values
    try:
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None or ptype not in POST_TYPES or not is_id(pid):
        raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
    return when, ptype, pid


def decide(session: Session, *, actor: User | None, post_type: str, post_id: int, approve: bool,
           note: str = "") -> posts.PostRef:
    """Approve (publish: the post is shown, the author told) or delete a hidden post. Flags on it
    are settled as for the flag queue (approve = declined, delete = helpful)."""
    from app.moderation import flags as flags_service
    from app.moderation.models import Flag

    actor = posts.require_moderator(actor)
    if post_type not in posts.POST_TYPES:
        raise field_error("post_type", "post_type must be question, answer or comment.")
    ref = posts.load(session, post_type, post_id, viewer=actor, for_update=True)
    if ref.post.hidden_at is None:
        raise Conflict("This post is not waiting for review.")
    has_flags = session.exec(select(Flag.id).where(Flag.post_type == post_type, Flag.post_id == post_id,
                                                   Flag.status == "open")).first() is not None
    if approve:
        held_before_publication = ref.post.hidden_reason in ("review", "spam_check")
        posts.unhide(session, ref, actor=actor, action="post.approve", note=note or None)
        if held_before_publication:
            _announce(session, ref)
        notifications.notify(session, [ref.author_id], kind="post_approved", url=ref.url,
                             text=f"Your {post_type} on “{ref.title}” was approved and is now public.")
        if has_flags:
            flags_service._decide(session, ref, actor=actor, helpful=False, outcome="approved", note=note)
    else:
        posts.delete(session, ref, actor=actor)
        if has_flags:
            flags_service._decide(session, ref, actor=actor, helpful=True, outcome="deleted", note=note)
    return ref


def _announce(session: Session, ref: posts.PostRef) -> None:
    """A post held before publication reaches followers, mentioned people and webhooks when it is
    approved, as it would have when posted (docs/moderation.md)."""
    from app.accounts.models import User
    from app.core.db import utcnow
    from app.follows import service as follows
    from app.questions import service as questions_service
    from app.webhooks import events as webhook_events

    author = session.get(User, ref.author_id)
    if author is None:
        return
    now = utcnow()
    if ref.post_type == "question":
        tags = questions_service.tags_for(session, [ref.question.id]).get(ref.question.id, [])
        follows.on_question_asked(session, ref.question, author, tags, now)
        webhook_events.question_created(session, ref.question)
    elif ref.post_type == "answer":
        follows.on_answer_posted(session, ref.question, ref.post, author, now)
        webhook_events.answer_created(session, ref.question, ref.post)
    if ref.post_type in ("question", "answer"):
        from app.quotes import service as quotes

        quotes.notify_quoted(session, post_type=ref.post_type, post=ref.post, question=ref.question, now=now)
