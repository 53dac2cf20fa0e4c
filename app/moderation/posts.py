"""Posts under moderation: load any post (question, answer, comment), hide and restore it, close,
lock and protect threads. Every change by a moderator is written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_error
from app.core.text import require_text
from app.moderation import audit

POST_TYPES = ("question", "answer", "comment")
HIDDEN_LABELS = {
    "flags": "Hidden after flags from the community, until a moderator decides.",
    "spam": "Hidden and deleted as spam by a moderator.",
    "spam_check": "Waiting for review: the spam check found it suspicious.",
    "review": "Waiting for review: a new member's first post here is checked by a moderator before it is shown.",
    "moderator": "Hidden by a moderator.",
}


def _model(post_type: str):
    from app.answers.models import Answer
    from app.comments.models import Comment
    from app.questions.models import Question

    try:
        return {"question": Question, "answer": Answer, "comment": Comment}[post_type]
    except KeyError:
        raise NotFound(f"Unknown kind of post {post_type!r}.") from None


@dataclass
class PostRef:
    """A post and the question of its thread (for a comment: the thread its post belongs to)."""

    post_type: str
    post: object
    question: object

    @property
    def author_id(self) -> int:
        return self.post.author_id

    @property
    def url(self) -> str:
        anchor = {"question": "", "answer": f"#answer-{self.post.id}", "comment": f"#comment-{self.post.id}"}
        return f"/questions/{self.question.id}/{self.question.slug}{anchor[self.post_type]}"

    @property
    def title(self) -> str:
        return self.question.title


def load(session: Session, post_type: str, post_id: int, *, viewer: User | None = None,
         for_update: bool = False, include_deleted: bool = False) -> PostRef:
    """The post, 404 when it does not exist, was deleted (unless `include_deleted`), or is hidden
    and `viewer` is neither its author nor a moderator."""
    from app.questions.models import Question

    model = _model(post_type)
    stmt = select(model).where(model.id == post_id)
    if for_update:
        stmt = stmt.with_for_update()
    post = session.exec(stmt).first() if 1 <= post_id <= 2**31 - 1 else None
    if post is None or (post.deleted_at is not None and not include_deleted):
        raise NotFound(f"That {post_type} does not exist or was deleted.")
    if post_type == "question":
        question = post
    elif post_type == "answer":
        question = session.get(Question, post.question_id)
    else:
        parent = session.get(_model(post.post_type), post.post_id)
        question = parent if post.post_type == "question" else session.get(Question, parent.question_id)
    if question is None or (question.deleted_at is not None and not include_deleted):
        raise NotFound(f"That {post_type} does not exist or was deleted.")
    ref = PostRef(post_type, post, question)
    if not can_see(viewer, post) or (post is not question and not can_see(viewer, question)):
        raise NotFound(f"That {post_type} does not exist or was deleted.")
    return ref


def can_see(viewer: User | None, post) -> bool:
    """A hidden post is shown only to its author and to moderators; an internal question
    (app/internal/visibility.py) only to staff, moderators and admins."""
    from app.internal.visibility import may_see

    if not may_see(viewer, post):
        return False
    if getattr(post, "hidden_at", None) is None:
        return True
    return viewer is not None and (viewer.id == post.author_id or viewer.can_moderate)


def visible_to(model, viewer: User | None, *, include_internal: bool = False):
    """The SQL condition `can_see` for a list: rows of `model` (Question, Answer, Comment, or an
    alias of one) that `viewer` may see — every unhidden row; a viewer's own hidden rows too; all
    rows for a moderator. Public counts and lists use `model.hidden_at.is_(None)` (viewer None).
    For Question it also leaves out the internal space (app/internal/visibility.py): every list
    built on this is a public one, for staff too (they read internal questions at /internal).
    `include_internal`: the per-object rule `can_see` exactly, internal questions included for
    whoever `can_see_internal` (the notifications about posts: app/notifications/service.py)."""
    from sqlalchemy import and_, true

    from app.internal.visibility import public_only, visible_questions

    if not hasattr(model, "visibility"):
        internal = true()
    else:
        internal = visible_questions(viewer, model) if include_internal else public_only(model)
    return and_(internal, _shown(model, viewer))


def _shown(model, viewer: User | None):
    """SQL twin of the hidden-post half of `can_see`: unhidden rows; a viewer's own hidden rows;
    every row for a moderator."""
    from sqlalchemy import or_, true

    if viewer is not None and viewer.can_moderate:
        return true()
    if viewer is not None:
        return or_(model.hidden_at.is_(None), model.author_id == viewer.id)
    return model.hidden_at.is_(None)


# --- can this viewer open this post? (one rule, per post and per set) ---------------------------

def seen_by(model, viewer: User | None):
    """The SQL condition "`viewer` can open this post" on rows of `model` (Question or Answer; an
    alias of either works too): the rule of `load` (its 404s) as a WHERE clause, for pages that
    point at posts they do not list themselves (the reputation ledger, docs/reputation.md).

    A question: not deleted, `can_see` (hidden only for its author and moderators; internal only
    for staff, moderators and admins: app/internal/visibility.py `visible_questions`). An answer:
    not deleted, not hidden from `viewer` (same exception), and its question seen as above (a
    correlated EXISTS, so the condition needs no join). Unlike `visible_to`, an internal question is
    seen by staff: they can open it, it is only left out of public lists. `viewer` None: anonymous."""
    from sqlalchemy import and_, exists, inspect

    from app.answers.models import Answer
    from app.internal.visibility import visible_questions
    from app.questions.models import Question

    entity = inspect(model).mapper.class_
    if entity is Question:
        return and_(model.deleted_at.is_(None), _shown(model, viewer), visible_questions(viewer, model))
    if entity is Answer:
        return and_(model.deleted_at.is_(None), _shown(model, viewer),
                    exists().where(Question.id == model.question_id, seen_by(Question, viewer)))
    raise ValueError(f"seen_by takes Question or Answer, not {entity.__name__}")


def seen_posts(session: Session, viewer: User | None, keys) -> set[tuple[str, int]]:
    """Which of `keys` ({("question" | "answer", id)}) `viewer` can open (`seen_by`): two queries
    whatever the number of keys. Keys of another kind, or of posts that do not exist, are left out."""
    from app.answers.models import Answer
    from app.questions.models import Question

    keys = set(keys)
    out: set[tuple[str, int]] = set()
    for post_type, model in (("question", Question), ("answer", Answer)):
        ids = {pid for kind, pid in keys if kind == post_type}
        if ids:
            out |= {(post_type, pid) for pid in session.exec(
                select(model.id).where(model.id.in_(ids), seen_by(model, viewer))).all()}
    return out


def is_seen(session: Session, viewer: User | None, post_type: str, post_id: int) -> bool:
    """The per-post form of `seen_by`: can `viewer` open this question or answer? (False for a post
    that does not exist, as `load` answers 404 for it.)"""
    return (post_type, post_id) in seen_posts(session, viewer, {(post_type, post_id)})


def hidden_label(post) -> str | None:
    """Why a post is hidden, for its author and moderators (None when it is not)."""
    if getattr(post, "hidden_at", None) is None:
        return None
    return HIDDEN_LABELS.get(post.hidden_reason or "moderator", HIDDEN_LABELS["moderator"])


def hide(session: Session, ref: PostRef, *, reason: str, actor: User | None, note: str | None = None,
         notify_author: bool = True, now: datetime | None = None) -> None:
    """Hide a post (idempotent). The author is told (`post_hidden`) unless told otherwise; the
    action is audited (actor None: the system, e.g. automatic hiding by flags)."""
    if ref.post.hidden_at is not None:
        return
    now = now or utcnow()
    ref.post.hidden_at, ref.post.hidden_reason = now, reason
    session.add(ref.post)
    session.flush()
    _count_answer(session, ref, -1)
    if reason not in ("review", "spam_check"):
        audit.record(session, actor=actor, action="post.hide", target_type=ref.post_type, target_id=ref.post.id,
                     reason=note or HIDDEN_LABELS.get(reason), details={"hidden_reason": reason}, now=now)
    if notify_author:
        from app.notifications import service as notifications

        notifications.notify(session, [ref.author_id], kind="post_hidden", url=ref.url, now=now,
                             about=(ref.post_type, ref.post.id),
                             text=f"Your {ref.post_type} on “{ref.title}” is hidden: {hidden_label(ref.post)}")


def _count_answer(session: Session, ref: PostRef, delta: int) -> None:
    """Keep `Question.answer_count` = the thread's answers everyone can see (not deleted, not
    hidden; docs/moderation.md): an answer hidden or shown again moves it by `delta` (±1). A
    deleted answer was taken out when it was deleted. Atomic, as posting and deleting count."""
    if ref.post_type != "answer" or ref.post.deleted_at is not None:
        return
    from sqlalchemy import update

    from app.questions.models import Question

    session.exec(update(Question).where(Question.id == ref.post.question_id)
                 .values(answer_count=Question.answer_count + delta))
    session.refresh(ref.question)


def unhide(session: Session, ref: PostRef, *, actor: User, action: str = "post.unhide", note: str | None = None) -> None:
    """Show a hidden post again (a moderator's decision; audited)."""
    if ref.post.hidden_at is None:
        return
    reason = ref.post.hidden_reason
    ref.post.hidden_at, ref.post.hidden_reason = None, None
    session.add(ref.post)
    session.flush()
    _count_answer(session, ref, +1)
    audit.record(session, actor=actor, action=action, target_type=ref.post_type, target_id=ref.post.id,
                 reason=note, details={"was": reason})


def delete(session: Session, ref: PostRef, *, actor: User) -> None:
    """Delete a post through its own service (reputation reversed, counts kept); audited there."""
    from app.answers import service as answers_service
    from app.comments import service as comments_service
    from app.questions import service as questions_service

    if ref.post.deleted_at is not None:
        return
    if ref.post_type == "question":
        questions_service.delete_question(session, actor=actor, question_id=ref.post.id)
    elif ref.post_type == "answer":
        answers_service.delete_answer(session, actor=actor, answer_id=ref.post.id)
    else:
        comments_service.delete_comment(session, actor=actor, comment_id=ref.post.id)


def require_moderator(actor: User | None) -> User:
    actor = permissions.require_user(actor)
    if not actor.can_moderate:
        raise Forbidden("Only moderators and staff can do this.")
    return actor


# --- threads: close, lock, protect -----------------------------------------------------------------

#: The longest reason a moderator's action takes (characters): closing, locking and protecting a
#: thread, suspending a member; as the API's `reason` fields (CONTRACT.md).
THREAD_REASON_MAX = 300


def reason_within_limit(reason: str) -> str:
    """The reason as given; InvalidInput (422 at ["body", "reason"]) when it is longer than
    THREAD_REASON_MAX characters."""
    if len(reason or "") > THREAD_REASON_MAX:
        raise field_error("reason", f"Say it in at most {THREAD_REASON_MAX} characters.")
    return reason


def close(session: Session, *, actor: User | None, question_id: int, reason: str) -> object:
    """Close an open question (no new answers) with a reason: moderators, staff and members with
    the close privilege. Reopen with app.questions.duplicates.reopen. Raises InvalidInput (field
    `reason`) for a reason with nothing visible or over THREAD_REASON_MAX characters, Conflict when
    the question is not open (closed meanwhile, say), Forbidden without the privilege."""
    from app.questions import service as questions_service
    from app.questions.models import QuestionStatus

    actor = permissions.require_user(actor)
    if not permissions.can_close(actor):
        permissions.require_privilege(actor, "close", "close questions")
    reason = reason_within_limit(require_text("reason", reason, "Say why the question is closed (readers see it)."))
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    if question.status != QuestionStatus.open:
        raise Conflict("This question is not open.")
    question.status = QuestionStatus.closed.value
    session.add(question)
    session.flush()
    audit.record(session, actor=actor, action="question.close", target_type="question", target_id=question.id,
                 reason=reason[:500])
    return question


def set_lock(session: Session, *, actor: User | None, question_id: int, locked: bool, reason: str = "") -> object:
    """Lock (no new answers, comments or votes) or unlock a thread; moderators and staff. A reason
    over THREAD_REASON_MAX characters is refused (InvalidInput, field `reason`)."""
    return _set_thread_state(session, actor, question_id, "locked_at", locked,
                             ("question.lock", "question.unlock"), reason)


def set_protect(session: Session, *, actor: User | None, question_id: int, protected: bool, reason: str = "") -> object:
    """Protect (members below NEW_MEMBER_REPUTATION cannot answer) or unprotect a thread; moderators
    and staff. A reason over THREAD_REASON_MAX characters is refused (InvalidInput, field `reason`)."""
    return _set_thread_state(session, actor, question_id, "protected_at", protected,
                             ("question.protect", "question.unprotect"), reason)


def _set_thread_state(session: Session, actor: User | None, question_id: int, column: str, on: bool,
                      actions: tuple[str, str], reason: str) -> object:
    """Set or clear a thread's timestamp `column` (moderators and staff); audited only when it changes."""
    from app.questions import service as questions_service

    actor = require_moderator(actor)
    reason = reason_within_limit(reason)
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    if (getattr(question, column) is not None) != on:
        setattr(question, column, utcnow() if on else None)
        session.add(question)
        session.flush()
        audit.record(session, actor=actor, action=actions[0] if on else actions[1],
                     target_type="question", target_id=question.id, reason=reason or None)
    return question


def require_unlocked(question, doing: str) -> None:
    """409 when the thread is locked (answers, comments and votes all call this)."""
    if getattr(question, "locked_at", None) is not None:
        raise Conflict(f"This thread is locked by a moderator: you cannot {doing} here.")


def require_may_answer_protected(actor: User, question) -> None:
    """A protected thread takes answers only from members with NEW_MEMBER_REPUTATION or more."""
    from app.moderation import policy

    if question.protected_at is not None and not actor.can_moderate and actor.reputation < policy.NEW_MEMBER_REPUTATION:
        raise Forbidden(f"This question is protected: answering it takes {policy.NEW_MEMBER_REPUTATION} reputation "
                        f"earned here (you have {actor.reputation}).")


def require_moderator_read(actor: User | None) -> User:
    """Moderators and staff, also while suspended (reading queues is not writing)."""
    actor = permissions.require_user(actor, write=False)
    if not actor.can_moderate:
        raise Forbidden("Only moderators and staff can see this.")
    return actor
