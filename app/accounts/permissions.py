"""Who may do what. One place, so that services, pages and the API agree.

Roles give standing powers (moderators and staff moderate; staff manage products). Everything
else is a privilege earned by reputation (app/reputation/policy.py: PRIVILEGES); moderators,
staff and admins hold every privilege.
"""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import Role, User
from app.core.errors import Forbidden, NotAuthenticated
from app.reputation import policy

# Staff may accept an answer on the asker's behalf once the question is this old (CONTRACT: "by policy").
STAFF_ACCEPT_AFTER = timedelta(days=14)


def require_user(actor: User | None, *, write: bool = True) -> User:
    """The signed-in actor, or 401. Every service's permission check starts here, so this is where
    a suspension is enforced on every write path, web and API alike (issue 17): a suspended
    member (User.suspended_until in the future) gets 403 `Suspended` with the end time; reads
    (`write=False`: notifications, the audit log) stay open to them."""
    if actor is None:
        raise NotAuthenticated()
    if not actor.is_active:
        raise Forbidden("This account is suspended.")
    if write and actor.is_suspended:
        raise Suspended(actor.suspended_until, actor.suspension_reason)
    return actor


class Suspended(Forbidden):
    """403 for a suspended member's write; the problem carries `suspended_until` (ISO 8601, UTC)."""

    type = "/problems/suspended"

    def __init__(self, until, reason: str | None = None):
        from datetime import UTC

        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        self.suspended_until = until.isoformat()
        why = f" Reason: {reason}" if reason else ""
        super().__init__(f"This account is suspended until {until:%Y-%m-%d %H:%M} UTC and cannot post, "
                         f"edit, vote, comment or flag until then.{why}")


def _active(actor: User | None) -> bool:
    return actor is not None and actor.is_active and not actor.is_suspended


def has_privilege(actor: User | None, key: str) -> bool:
    return _active(actor) and (actor.can_moderate or actor.reputation >= policy.threshold(key))


def require_privilege(actor: User, key: str, doing: str) -> None:
    if not has_privilege(actor, key):
        need = policy.threshold(key)
        raise Forbidden(f"You need {need:,} reputation to {doing} (you have {actor.reputation:,}). "
                        "See /help/reputation for how to earn it.")


def can_edit_post(actor: User | None, author_id: int) -> bool:
    """Edit directly: one's own posts, or anyone's with the edit privilege."""
    return _active(actor) and (actor.id == author_id or has_privilege(actor, "edit"))


def can_suggest_edit(actor: User | None, author_id: int) -> bool:
    """Below the edit privilege, an edit to someone else's post is a suggestion that others review."""
    return _active(actor) and not can_edit_post(actor, author_id)


def can_review_edits(actor: User | None) -> bool:
    return has_privilege(actor, "edit")


def can_delete_post(actor: User | None, author_id: int) -> bool:
    return _active(actor) and (actor.id == author_id or actor.can_moderate)


# Why an author may not delete their own post although they could otherwise (None: they may).
# Stack Exchange's rules (its help center on deleting posts): an owner cannot delete a question
# that has an accepted answer or an upvoted answer by someone else, nor their own accepted answer. The thread
# has become useful to others and deleting it would take the answerer's reputation with it.
# Moderators (moderator, staff and admin roles) keep the power.

def question_delete_refusal(actor: User | None, question_author_id: int,
                            answers: list[tuple[int, int, bool]]) -> str | None:
    """`answers`: (author_id, score, is_accepted) of the question's live answers. A reason (for a
    409) when the asker, not a moderator, would delete someone else's accepted or upvoted answer."""
    if actor is None or actor.can_moderate or actor.id != question_author_id:
        return None
    others = [(score, accepted) for author_id, score, accepted in answers if author_id != question_author_id]
    if any(accepted for _, accepted in others):
        return ("This question cannot be deleted because it has an accepted answer by another member: "
                "deleting it would remove their answer and the reputation it earned them. "
                "Edit the question instead, or flag it for a moderator.")
    if any(score > 0 for score, _ in others):
        return ("This question cannot be deleted because another member's answer has been upvoted: "
                "others found it useful, and deleting the question would remove it and the reputation "
                "it earned. Edit the question instead, or flag it for a moderator.")
    return None


def answer_delete_refusal(actor: User | None, answer_author_id: int, is_accepted: bool,
                          question_author_id: int) -> str | None:
    """A reason (for a 409) when the author, not a moderator, would delete their accepted answer."""
    if actor is None or actor.can_moderate or actor.id != answer_author_id or not is_accepted:
        return None
    if actor.id == question_author_id:
        return "This answer is accepted, so it cannot be deleted. Un-accept it first, or edit it instead."
    return ("This answer cannot be deleted because the asker accepted it: it is what solved their problem. "
            "Edit it instead, or flag it for a moderator.")


def can_vote(actor: User | None, author_id: int, value: int = 1) -> bool:
    """Upvoting is for every signed-in user (weak votes are damped by the ranking); downvoting is earned."""
    if not _active(actor) or actor.id == author_id:
        return False
    return value >= 0 or has_privilege(actor, "downvote")


def can_comment(actor: User | None, post_author_id: int | None = None, question_author_id: int | None = None) -> bool:
    """Everyone may comment on their own posts and on answers to their questions; elsewhere it is earned."""
    if not _active(actor):
        return False
    return actor.id in (post_author_id, question_author_id) or has_privilege(actor, "comment")


def can_accept(actor: User | None, question_author_id: int, question_age: timedelta) -> bool:
    if not _active(actor):
        return False
    if actor.id == question_author_id:
        return True
    return actor.is_staff and question_age >= STAFF_ACCEPT_AFTER


def can_manage_products(actor: User | None) -> bool:
    return _active(actor) and actor.role in (Role.staff, Role.admin)


def can_close(actor: User | None) -> bool:
    """Close questions and mark duplicates."""
    return has_privilege(actor, "close")


def can_review_voting(actor: User | None) -> bool:
    return _active(actor) and actor.can_moderate
