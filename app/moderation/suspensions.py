"""Acting on people: suspensions (a period without writes, with a reason the member sees),
"destroy spammer", and blocked e-mail addresses and domains (docs/moderation.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, field_error
from app.core.text import optional_text, require_text
from app.moderation import audit, posts
from app.moderation.models import BlockedEmail
from app.notifications import service as notifications

MAX_SUSPENSION_DAYS = 365 * 10


def _require_over(actor: User, target: User, doing: str) -> None:
    """Moderators act on members; only admins act on moderators and staff; nobody on themselves."""
    if actor.id == target.id:
        raise Forbidden(f"You cannot {doing} yourself.")
    if target.can_moderate and actor.role != Role.admin:
        raise Forbidden(f"Only an admin can {doing} a moderator or staff member.")


def suspend(session: Session, *, actor: User | None, username: str, days: int, reason: str,
            now: datetime | None = None) -> User:
    """Suspend a member for `days` (1..3650) with a `reason` they see: no writes on any path until
    then (app/accounts/permissions.py). A new suspension replaces the current one. Moderators and
    staff; notifies the member (`suspended`); audited."""
    actor = posts.require_moderator(actor)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_SUSPENSION_DAYS:
        raise field_error("days", f"days must be a whole number from 1 to {MAX_SUSPENSION_DAYS}.")
    reason = posts.reason_within_limit(require_text("reason", reason, "Give the reason; the member sees it."))
    user = accounts_service.get_by_username(session, username)
    _require_over(actor, user, "suspend")
    now = now or utcnow()
    user.suspended_until, user.suspension_reason = now + timedelta(days=days), reason
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.suspend", target_type="user", target_id=user.username,
                 reason=reason, details={"days": days, "until": user.suspended_until.isoformat()}, now=now)
    notifications.notify(session, [user.id], kind="suspended", url=f"/users/{user.username}", now=now,
                         text=f"Your account is suspended until {user.suspended_until:%Y-%m-%d %H:%M} UTC: {reason}")
    return user


def lift(session: Session, *, actor: User | None, username: str, reason: str | None = None) -> User:
    """End a member's suspension now (moderators and staff; audited; the member is told). An
    optional `reason` of invisible characters only is no reason (app/core/text.py optional_text)."""
    actor = posts.require_moderator(actor)
    reason = optional_text(reason) or None
    user = accounts_service.get_by_username(session, username)
    _require_over(actor, user, "lift a suspension of")
    if not user.is_suspended:
        raise Conflict(f"{user.username} is not suspended.")
    user.suspended_until, user.suspension_reason = None, None
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.unsuspend", target_type="user", target_id=user.username,
                 reason=reason)
    notifications.notify(session, [user.id], kind="unsuspended", url=f"/users/{user.username}",
                         text="Your suspension was lifted: you can post again.")
    return user


@dataclass
class Destroyed:
    user: User
    questions: int
    answers: int
    comments: int
    votes: int
    blocked: str | None


def destroy_spammer(session: Session, *, actor: User | None, username: str, block: str | None = None,
                    reason: str = "spam") -> Destroyed:
    """Delete every post and comment of a spam account, take back its votes (their reputation
    with them), reverse the reputation its posts earned anyone, deactivate it, and, when asked,
    block its e-mail address (`block="address"`) or domain (`block="domain"`). Moderators and
    staff; audited. Afterwards `groundswell recompute-reputation --check` finds nothing to fix.
    A `reason` that shows nothing is "spam" (the default; the API refuses it first, 422)."""
    reason = optional_text(reason) or "spam"
    from app.answers import service as answers_service
    from app.answers.models import Answer
    from app.comments import service as comments_service
    from app.comments.models import Comment
    from app.questions import service as questions_service
    from app.questions.models import Question
    from app.votes import service as votes_service
    from app.votes.models import Vote

    actor = posts.require_moderator(actor)
    if block not in (None, "", "address", "domain"):
        raise field_error("block", "block must be address, domain, or left out.")
    user = accounts_service.get_by_username(session, username)
    _require_over(actor, user, "destroy")
    counts = {"comments": 0, "answers": 0, "questions": 0}
    for c in session.exec(select(Comment).where(Comment.author_id == user.id, Comment.deleted_at.is_(None))).all():
        comments_service.delete_comment(session, actor=actor, comment_id=c.id, reason=reason)
        counts["comments"] += 1
    own_questions = set(session.exec(select(Question.id).where(Question.author_id == user.id,
                                                               Question.deleted_at.is_(None))).all())
    for a in session.exec(select(Answer).where(Answer.author_id == user.id, Answer.deleted_at.is_(None))
                          .order_by(Answer.id)).all():
        if a.question_id in own_questions:
            continue  # goes with its question
        answers_service.delete_answer(session, actor=actor, answer_id=a.id, reason=reason)
        counts["answers"] += 1
    for qid in sorted(own_questions):
        questions_service.delete_question(session, actor=actor, question_id=qid, reason=reason)
        counts["questions"] += 1
    votes = list(session.exec(select(Vote).where(Vote.voter_id == user.id)).all())
    removed = votes_service.remove_votes(session, votes, reason="spammer destroyed") if votes else 0
    user.is_active = False
    user.suspended_until, user.suspension_reason = datetime(9999, 1, 1, tzinfo=utcnow().tzinfo), reason[:300]
    session.add(user)
    session.flush()
    accounts_service.sign_out_everywhere(session, user)
    blocked = None
    if block:
        blocked = block_email(session, actor=actor, pattern=_pattern(user.email, block), reason=f"spammer {user.username}")
    audit.record(session, actor=actor, action="user.destroy", target_type="user", target_id=user.username,
                 reason=reason, details={**counts, "votes": removed, "blocked": blocked})
    return Destroyed(user, counts["questions"], counts["answers"], counts["comments"], removed, blocked)


def _pattern(email: str, block: str) -> str:
    email = email.strip().lower()
    return "@" + email.rpartition("@")[2] if block == "domain" else email


def block_email(session: Session, *, actor: User | None, pattern: str, reason: str = "") -> str:
    """Block an address (`name@example.com`) or a domain (`@example.com`) from signing up.
    Idempotent; returns the stored pattern; audited. A `reason` that shows nothing is stored as none."""
    actor = posts.require_moderator(actor)
    reason = optional_text(reason)
    pattern = pattern.strip().lower()
    if "@" not in pattern or pattern.endswith("@") or len(pattern) > 254:
        raise field_error("pattern", "Give an address (name@example.com) or a domain (@example.com).")
    if session.exec(select(BlockedEmail.id).where(BlockedEmail.pattern == pattern)).first() is None:
        session.add(BlockedEmail(pattern=pattern, reason=reason[:300], created_by_id=actor.id))
        session.flush()
        audit.record(session, actor=actor, action="email.block", target_type="email", target_id=pattern,
                     reason=reason or None)
    return pattern


def is_blocked(session: Session, email: str) -> bool:
    """Whether sign-up with this address is refused (its address or its domain is blocked)."""
    email = (email or "").strip().lower()
    domain = "@" + email.rpartition("@")[2]
    return session.exec(select(BlockedEmail.id).where(BlockedEmail.pattern.in_([email, domain]))).first() is not None


def set_role(session: Session, *, actor: User | None, username: str, role: str, reason: str | None = None) -> User:
    """Admins change a member's role on the web or the API (audited in accounts.service.set_role);
    a `reason` that shows nothing is none."""
    from app.accounts import permissions

    reason = optional_text(reason) or None

    actor = permissions.require_user(actor)
    try:
        new = Role(role)
    except ValueError:
        raise field_error("role", f"role must be one of: {', '.join(r.value for r in Role)}.") from None
    user = accounts_service.get_by_username(session, username)
    if actor.role != Role.admin:
        raise Forbidden("Only admins change roles.")  # the reason, whoever's role it is (own included)
    if user.id == actor.id:
        raise Forbidden("You cannot change your own role.")
    return accounts_service.set_role(session, actor=actor, user=user, role=new, reason=reason)
