"""The people directory (`/users`): members by reputation, newest or name, optionally on one product.

As Stack Exchange's /users ("Reputation", "New users", "Voters"…, with a tag filter that ranks by
reputation earned in that tag), the product filter ranks by reputation earned on that product's
questions: the ledger's points (app/reputation) whose product is it, reversed events left out.
Inactive accounts (imported placeholders, deleted users) are not listed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, select

from app.accounts.models import User
from app.reputation.models import ReputationEvent

USER_SORTS = (("reputation", "Reputation"), ("newest", "New members"), ("name", "Name"))
USERS_PER_PAGE = 36


@dataclass
class PersonRow:
    user: User
    product_points: int | None  # reputation earned on the filtered product; None without a filter


@dataclass
class PeoplePage:
    items: list[PersonRow]
    total: int
    page: int  # 1-based
    pages: int


def people_page(session: Session, *, sort: str = "reputation", product_id: int | None = None, q: str | None = None,
                page: int = 1, size: int = USERS_PER_PAGE) -> PeoplePage:
    """Active members, `q` matching part of the username or display name (case-insensitive).
    With `product_id`, only those who earned reputation on it, ranked by what they earned there
    (sort "reputation"); page is 1-based and clamped to the last page."""
    stmt = select(User).where(User.is_active.is_(True))
    points = None
    if product_id is not None:
        earned = func.sum(ReputationEvent.amount).label("earned")
        per_user = (select(ReputationEvent.user_id, earned)
                    .where(ReputationEvent.product_id == product_id, ReputationEvent.reversed_at.is_(None))
                    .group_by(ReputationEvent.user_id).having(func.sum(ReputationEvent.amount) > 0).subquery())
        stmt = select(User, per_user.c.earned).join(per_user, per_user.c.user_id == User.id).where(
            User.is_active.is_(True))
        points = per_user.c.earned
    text = (q or "").strip().lower()[:60]
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(func.lower(User.username).like(f"%{escaped}%", escape="\\"),
                              func.lower(User.display_name).like(f"%{escaped}%", escape="\\")))
    total = int(session.exec(select(func.count()).select_from(stmt.subquery())).one())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    if sort == "newest":
        order = (User.created_at.desc(), User.id.desc())
    elif sort == "name":
        order = (func.lower(User.username), User.id)
    elif points is not None:
        order = (points.desc(), User.reputation.desc(), User.id)
    else:
        order = (User.reputation.desc(), User.id)
    rows = session.exec(stmt.order_by(*order).offset((page - 1) * size).limit(size)).all()
    if points is None:
        items = [PersonRow(user, None) for user in rows]
    else:
        items = [PersonRow(user, int(n)) for user, n in rows]
    return PeoplePage(items=items, total=total, page=page, pages=pages)
