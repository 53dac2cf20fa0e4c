"""Comments on questions and answers: short, plain Markdown, deletable by author and moderators."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.comments.models import Comment
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.markdown import render_markdown
from app.questions.models import Question
from app.questions.schemas import CommentCreate


def target_question(session: Session, post_type: str, post_id: int, *, viewer: User | None = None) -> Question:
    """The (visible) question a post belongs to; 404 when the post or its question is gone, or
    the question is internal and `viewer` is not staff."""
    from app.answers import service as answers_service
    from app.questions import service as questions_service

    if post_type == "question":
        return questions_service.get_visible(session, post_id, viewer=viewer)
    if post_type == "answer":
        answer = answers_service.get_visible(session, post_id, viewer=viewer)
        return session.get(Question, answer.question_id)
    raise NotFound(f"Unknown kind of post {post_type!r}.")


def authorize(session: Session, *, actor: User | None, post_type: str, post_id: int):
    """Whether `actor` may comment on the post at all, whatever the text: returns (the post's
    question, the post's author id); raises Unauthorized when signed out, NotFound when the post
    is not visible to them, Forbidden without the "comment" privilege on someone else's post
    (one's own posts and answers to one's own questions need none: permissions.can_comment).
    Checked before the text, so that a form that was never offered answers with the reason."""
    actor = permissions.require_user(actor)
    question = target_question(session, post_type, post_id, viewer=actor)
    post_author = question.author_id if post_type == "question" else _answer_author(session, post_id)
    if not permissions.can_comment(actor, post_author, question.author_id):
        permissions.require_privilege(actor, "comment", "comment on other people's posts")
    return question, post_author


def add(session: Session, *, actor: User | None, post_type: str, post_id: int, data: CommentCreate,
        now: datetime | None = None) -> Comment:
    """Comment on a visible question or answer (`authorize`'s rules; 409 on a deleted question or a
    locked thread). `now` (default: the clock) dates the comment, the thread's activity and the
    notices it causes (the post's author, mentions): the demo loader comments at its history's times."""
    question, post_author = authorize(session, actor=actor, post_type=post_type, post_id=post_id)
    if question.deleted_at is not None:
        raise Conflict("This question was deleted.")
    from app.moderation import posts as moderated
    from app.moderation import spam

    moderated.load(session, post_type, post_id, viewer=actor)  # a hidden post: 404 unless one may see it
    moderated.require_unlocked(question, "comment")
    held = spam.screen(session, actor=actor, kind="comment", text=data.body)
    now = now or utcnow()
    comment = Comment(post_type=post_type, post_id=post_id, author_id=actor.id, body=data.body,
                      body_html=render_markdown(data.body), created_at=now,
                      hidden_at=now if held else None, hidden_reason=held)
    session.add(comment)
    question.last_activity_at = now
    session.flush()
    from app.follows import service as follows

    follows.on_comment_added(session, question, comment, post_author, actor, now)  # post's author, mentions
    return comment


def _answer_author(session: Session, answer_id: int) -> int:
    from app.answers.models import Answer

    return session.get(Answer, answer_id).author_id


def _thread_visible(session: Session, comment: Comment, viewer: User | None) -> bool:
    """Whether `viewer` may know the comment exists: the rule of app/moderation/posts.py `load`
    (not when the comment, its post or its question is hidden by moderation, or the thread is
    internal, and the viewer is not allowed to see it)."""
    from app.moderation import posts

    try:
        posts.load(session, "comment", comment.id, viewer=viewer)
    except NotFound:
        return False
    return True


def delete_comment(session: Session, *, actor: User | None, comment_id: int, reason: str | None = None) -> Comment:
    actor = permissions.require_user(actor)
    comment = session.exec(select(Comment).where(Comment.id == comment_id, Comment.deleted_at.is_(None))).first()
    if comment is None or not _thread_visible(session, comment, actor):
        raise NotFound(f"Comment {comment_id} does not exist or was deleted.")
    if not permissions.can_delete_post(actor, comment.author_id):
        raise Forbidden("Only the author or a moderator can delete this comment.")
    comment.deleted_at, comment.deleted_by_id = utcnow(), actor.id
    session.flush()
    if actor.id != comment.author_id:
        from app.moderation import audit

        audit.record(session, actor=actor, action="post.delete", target_type="comment", target_id=comment.id,
                     reason=reason, details={"author_id": comment.author_id, "body": comment.body[:200]})
    return comment


def for_posts(session: Session, keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[Comment]]:
    if not keys:
        return {}
    from sqlalchemy import tuple_

    rows = session.exec(
        select(Comment)
        .where(tuple_(Comment.post_type, Comment.post_id).in_(keys), Comment.deleted_at.is_(None))
        .order_by(Comment.created_at, Comment.id)
    ).all()
    out: dict[tuple[str, int], list[Comment]] = {}
    for c in rows:
        out.setdefault((c.post_type, c.post_id), []).append(c)
    return out
