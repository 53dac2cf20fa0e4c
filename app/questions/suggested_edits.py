"""Suggested edits: below the edit privilege, an edit to someone else's post waits for a reviewer
(anyone with the edit privilege, moderators, staff). Approving applies it as a revision by the
person who suggested it; rejecting keeps the post as it was. Both are recorded."""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_error
from app.core.text import clean_single_line
from app.questions.models import SuggestedEdit
from app.questions.schemas import AnswerUpdate, QuestionUpdate
from app.questions.tags import normalise_tags

MAX_PENDING_PER_POST = 1


def _post(session: Session, post_type: str, post_id: int, viewer: User | None = None):
    from app.answers import service as answers_service
    from app.questions import service as questions_service

    if post_type == "question":
        return questions_service.get_visible(session, post_id, viewer=viewer)
    if post_type == "answer":
        return answers_service.get_visible(session, post_id, viewer=viewer)
    raise NotFound(f"Unknown kind of post {post_type!r}.")


def suggest(session: Session, *, actor: User | None, post_type: str, post_id: int,
            data: QuestionUpdate | AnswerUpdate) -> SuggestedEdit:
    actor = permissions.require_user(actor)
    post = _post(session, post_type, post_id, actor)
    if permissions.can_edit_post(actor, post.author_id):
        raise Conflict("You can edit this post directly; no review needed.")
    pending = session.exec(select(SuggestedEdit).where(
        SuggestedEdit.post_type == post_type, SuggestedEdit.post_id == post_id, SuggestedEdit.status == "pending"
    )).first()
    if pending is not None:
        raise Conflict("This post already has a suggested edit waiting for review; try again once it is reviewed.")
    title = clean_single_line(getattr(data, "title", None)) or None  # one line, as the question's own
    tags = getattr(data, "tags", None)
    body = data.body if data.body is not None else post.body
    if post_type == "question":
        from app.questions import service as questions_service

        current_tags = questions_service.tags_for(session, [post.id]).get(post.id, [])
        new_tags = normalise_tags(tags, keep=current_tags) if tags is not None else current_tags
        if (title or post.title, body, new_tags) == (post.title, post.body, current_tags):
            raise field_error("body", "The suggestion changes nothing.")
        edit = SuggestedEdit(post_type=post_type, post_id=post_id, author_id=actor.id, title=title or post.title,
                             body=body, tags=" ".join(new_tags), comment=data.comment)
    else:
        if body == post.body:
            raise field_error("body", "The suggestion changes nothing.")
        edit = SuggestedEdit(post_type=post_type, post_id=post_id, author_id=actor.id, body=body, comment=data.comment)
    session.add(edit)
    session.flush()
    return edit


def pending(session: Session, limit: int = 50) -> list[SuggestedEdit]:
    return list(session.exec(select(SuggestedEdit).where(SuggestedEdit.status == "pending")
                             .order_by(SuggestedEdit.created_at, SuggestedEdit.id).limit(limit)).all())


def get(session: Session, edit_id: int) -> SuggestedEdit:
    edit = session.get(SuggestedEdit, edit_id)
    if edit is None:
        raise NotFound(f"Suggested edit {edit_id} does not exist.")
    return edit


def review(session: Session, *, actor: User | None, edit_id: int, approve: bool, note: str = "") -> SuggestedEdit:
    from app.answers import service as answers_service
    from app.questions import service as questions_service

    actor = permissions.require_user(actor)
    if not permissions.can_review_edits(actor):
        raise Forbidden("Reviewing suggested edits takes 1,000 reputation (or a moderator or staff role).")
    edit = session.exec(select(SuggestedEdit).where(SuggestedEdit.id == edit_id).with_for_update()).first()
    if edit is None:
        raise NotFound(f"Suggested edit {edit_id} does not exist.")
    if edit.status != "pending":
        raise Conflict(f"This suggestion was {edit.status} already.")
    if edit.author_id == actor.id:
        raise Forbidden("You cannot review your own suggestion.")
    post = _post(session, edit.post_type, edit.post_id, actor)
    if approve:
        author = session.get(User, edit.author_id)
        comment = (edit.comment or "suggested edit")[:240] + f" (approved by {actor.username})"
        if edit.post_type == "question":
            questions_service.apply_edit(session, post, author=author, data=QuestionUpdate(
                title=edit.title, body=edit.body, tags=(edit.tags or "").split(), comment=comment[:300]))
        else:
            answers_service.apply_edit(session, post, author=author,
                                       data=AnswerUpdate(body=edit.body, comment=comment[:300]))
    edit.status = "approved" if approve else "rejected"
    edit.reviewer_id, edit.reviewed_at, edit.review_note = actor.id, utcnow(), note[:300]
    session.flush()
    if actor.can_moderate:
        from app.moderation import audit

        audit.record(session, actor=actor, action="edit.review", target_type=edit.post_type, target_id=edit.post_id,
                     reason=note or None, details={"suggested_edit": edit.id, "status": edit.status})
    return edit
