"""The review queue (Stack Exchange's First Posts / Staging Ground, Apache Answer's pending
posts): posts saved but hidden until a moderator approves or deletes them — a new member's first
question or answer about a product that asks for it (`products.first_posts_review`), posts the
spam check held, and posts hidden by flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.errors import Conflict, field_error
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


def pending(session: Session, *, actor: User | None, limit: int = 100) -> list[PendingPost]:
    """Hidden, undeleted posts, oldest first: what waits for a moderator's decision."""
    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.core.markdown import excerpt
    from app.questions.models import Question

    actor = posts.require_moderator_read(actor)
    out: list[PendingPost] = []
    for ptype, model in (("question", Question), ("answer", Answer), ("comment", Comment)):
        for post in session.exec(select(model).where(model.hidden_at.is_not(None), model.deleted_at.is_(None))
                                 .order_by(model.hidden_at).limit(limit)).all():
            try:
                ref = posts.load(session, ptype, post.id, viewer=actor)
            except Exception:  # noqa: BLE001 - its thread is gone
                continue
            out.append(PendingPost(ptype, post.id, ref.url, ref.title, excerpt(post.body_html, 240),
                                   session.get(User, post.author_id), post.hidden_reason or "moderator",
                                   posts.hidden_label(post) or "", post.hidden_at))
    out.sort(key=lambda p: p.hidden_at)
    return out[:limit]


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
