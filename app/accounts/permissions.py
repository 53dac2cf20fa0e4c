"""Who may do what. One place, so that services, pages and the API agree.

The reputation issue will gate some of these by earned privileges; callers stay the same.
"""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import Role, User
from app.core.errors import Forbidden, NotAuthenticated

# Staff may accept an answer on the asker's behalf once the question is this old (CONTRACT: "by policy").
STAFF_ACCEPT_AFTER = timedelta(days=14)


def require_user(actor: User | None) -> User:
    if actor is None:
        raise NotAuthenticated()
    if not actor.is_active:
        raise Forbidden("This account is suspended.")
    return actor


def can_edit_post(actor: User | None, author_id: int) -> bool:
    return actor is not None and actor.is_active and (actor.id == author_id or actor.can_moderate)


def can_delete_post(actor: User | None, author_id: int) -> bool:
    return can_edit_post(actor, author_id)


def can_vote(actor: User | None, author_id: int) -> bool:
    return actor is not None and actor.is_active and actor.id != author_id


def can_comment(actor: User | None) -> bool:
    return actor is not None and actor.is_active


def can_accept(actor: User | None, question_author_id: int, question_age: timedelta) -> bool:
    if actor is None or not actor.is_active:
        return False
    if actor.id == question_author_id:
        return True
    return actor.is_staff and question_age >= STAFF_ACCEPT_AFTER


def can_manage_products(actor: User | None) -> bool:
    return actor is not None and actor.is_active and actor.role in (Role.staff, Role.admin)


def can_close(actor: User | None) -> bool:
    return actor is not None and actor.is_active and actor.can_moderate
