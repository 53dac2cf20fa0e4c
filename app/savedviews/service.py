"""Saved views (issue 18, docs/saved-views.md): a person saves a question-list filter under a
name; /views shows their views side by side as columns; staff may share a view with the staff team.

Rules (authorization lives here, not in the routes):
* anyone signed in keeps up to MAX_VIEWS views of their own (409 beyond);
* the escalation filters (status, breaching within N hours, assigned to me) are for staff
  (policy.is_agent): a customer creating one, or reading one they no longer may, gets 403;
* only staff share (403 otherwise); a shared view is read-only to the other staff, who may copy
  it to their own dashboard; nobody else sees it (404, as for a view that does not exist);
* only the owner edits, moves or deletes a view (403 to staff reading a shared one, 404 to others).

The items are the questions the list pages show (questions_service.filtered_questions: the one
filter builder; hidden and deleted questions are never in them), plus the escalation
conditions of app/escalation/queries.py and the "me too" condition of app/escalation/metoo.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.pagination import Page
from app.core.text import clean_single_line, is_blank, require_single_line
from app.escalation import metoo, policy
from app.escalation import queries as escalation_queries
from app.products.models import Product
from app.questions import service as questions_service
from app.questions.models import Question
from app.questions.tags import canonical_tag, tag_problem
from app.savedviews.models import SavedView
from app.savedviews.schemas import ViewCreate, ViewFilters

MAX_VIEWS = 20
STAFF_FILTERS_ONLY = ("Filters on escalations (escalation status, breaching within N hours, assigned to me) "
                      "are for the support staff.")
SHARE_STAFF_ONLY = "Only staff can share a view with the staff team."


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"loc": ["body", "filters", field] if field != "name" else ["body", field],
                                          "msg": message, "type": "value_error"}])


def _check(session: Session, actor: User, data: ViewCreate) -> dict:
    """The row's values for `data`, validated for `actor` (422, 403 as in the module's rules)."""
    f = data.filters
    if f.staff_only and not policy.is_agent(actor):
        raise Forbidden(STAFF_FILTERS_ONLY)
    if data.shared and not actor.is_staff:
        raise Forbidden(SHARE_STAFF_ONLY)
    require_single_line("name", data.name)  # direction controls and stacked marks: a 422 naming them
    name = clean_single_line(data.name)  # one line: newlines, tabs, controls, zero-width spaces go
    if is_blank(name):
        raise _invalid("name", "Give the view a name.")
    product_id = None
    if f.product:
        product_id = session.exec(select(Product.id).where(Product.slug == f.product.strip().lower())).first()
        if product_id is None:
            raise _invalid("product", f"There is no product {f.product.strip()!r}.")
    tag = None
    if f.tag and f.tag.strip():
        tag = canonical_tag(f.tag)
        problem = tag_problem(tag)
        if problem:
            raise _invalid("tag", f"That is not a tag name: it {problem}.")
    return {"name": name, "sort": data.sort, "shared": data.shared, "product_id": product_id, "tag": tag,
            "unanswered": f.unanswered, "unsolved": f.unsolved, "has_me_too": f.has_me_too,
            "escalation_status": f.escalation_status, "breaching_hours": f.breaching_within_hours,
            "assigned_to_me": f.assigned_to_me}


def _own_count(session: Session, owner_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(SavedView).where(SavedView.owner_id == owner_id)).one())


def _add(session: Session, actor: User, values: dict, now: datetime | None) -> SavedView:
    if _own_count(session, actor.id) >= MAX_VIEWS:
        raise Conflict(f"You have {MAX_VIEWS} saved views, the most one person can keep: delete one first.")
    last = session.exec(select(func.max(SavedView.position)).where(SavedView.owner_id == actor.id)).one()
    now = now or utcnow()
    row = SavedView(owner_id=actor.id, position=(last if last is not None else -1) + 1, created_at=now,
                    updated_at=now, **values)
    session.add(row)
    session.flush()
    return row


def create(session: Session, *, actor: User | None, data: ViewCreate, now: datetime | None = None) -> SavedView:
    """Save a view as the last column of the actor's dashboard. 422 for an unknown product or a bad
    tag, 403 for staff-only filters or sharing by a customer, 409 past MAX_VIEWS."""
    actor = permissions.require_user(actor)
    return _add(session, actor, _check(session, actor, data), now)


def update(session: Session, *, actor: User | None, view_id: int, data: ViewCreate,
           now: datetime | None = None) -> SavedView:
    """Replace the name, filter, order and sharing of one of the actor's views (same checks as create)."""
    actor = permissions.require_user(actor)
    row = _owned(session, actor, view_id)
    for key, value in _check(session, actor, data).items():
        setattr(row, key, value)
    row.updated_at = now or utcnow()
    session.flush()
    return row


def delete(session: Session, *, actor: User | None, view_id: int) -> None:
    """Delete one of the actor's views (403 for a shared view of someone else, 404 otherwise)."""
    actor = permissions.require_user(actor, write=False)
    session.delete(_owned(session, actor, view_id))
    session.flush()


def copy(session: Session, *, actor: User | None, view_id: int, now: datetime | None = None) -> SavedView:
    """Add a copy of a view the actor may read (a shared one) to their own dashboard, not shared.
    The copy is theirs: later changes to the original do not reach it."""
    actor = permissions.require_user(actor)
    row = get(session, actor=actor, view_id=view_id)
    values = {k: getattr(row, k) for k in ("name", "sort", "product_id", "tag", "unanswered", "unsolved",
                                            "has_me_too", "escalation_status", "breaching_hours", "assigned_to_me")}
    return _add(session, actor, {**values, "shared": False}, now)


def move(session: Session, *, actor: User | None, view_id: int, offset: int) -> SavedView:
    """Move one of the actor's columns `offset` places (-1: one to the left/up, +1: right/down);
    at either end nothing moves. Positions are renumbered 0..n-1."""
    actor = permissions.require_user(actor, write=False)
    row = _owned(session, actor, view_id)
    rows = own_views(session, actor)
    i = next(n for n, r in enumerate(rows) if r.id == row.id)
    j = min(max(i + offset, 0), len(rows) - 1)
    rows.insert(j, rows.pop(i))
    for n, r in enumerate(rows):
        r.position = n
    session.flush()
    return row


# --- reading --------------------------------------------------------------------------------------

def own_views(session: Session, actor: User) -> list[SavedView]:
    """The actor's views in dashboard order."""
    return list(session.exec(select(SavedView).where(SavedView.owner_id == actor.id)
                             .order_by(SavedView.position, SavedView.id)).all())


def _staff_ids(session: Session, user_ids: set[int]) -> set[int]:
    if not user_ids:
        return set()
    rows = session.exec(select(User).where(User.id.in_(user_ids))).all()
    return {u.id for u in rows if u.is_active and u.is_staff}


def shared_with(session: Session, actor: User) -> list[SavedView]:
    """Views other staff share with the staff team, for a staff actor (none for anyone else), by name.
    A view whose owner is no longer active staff is no longer shared."""
    if not actor.is_staff:
        return []
    rows = list(session.exec(select(SavedView).where(SavedView.shared.is_(True), SavedView.owner_id != actor.id)
                             .order_by(SavedView.name, SavedView.id).limit(200)).all())
    staff = _staff_ids(session, {r.owner_id for r in rows})
    return [r for r in rows if r.owner_id in staff]


def list_for(session: Session, *, actor: User | None) -> tuple[list[SavedView], list[SavedView]]:
    """(the actor's own views in dashboard order, views shared with them by other staff)."""
    actor = permissions.require_user(actor, write=False)
    return own_views(session, actor), shared_with(session, actor)


def get(session: Session, *, actor: User | None, view_id: int) -> SavedView:
    """A view the actor may read: their own, or one shared with the staff team when they are staff
    (and its owner still is). Anything else is 404, as if it did not exist."""
    actor = permissions.require_user(actor, write=False)
    row = session.get(SavedView, view_id)
    if row is not None and (row.owner_id == actor.id or (
            row.shared and actor.is_staff and row.owner_id in _staff_ids(session, {row.owner_id}))):
        return row
    raise NotFound(f"There is no saved view {view_id}.")


def _owned(session: Session, actor: User, view_id: int) -> SavedView:
    row = get(session, actor=actor, view_id=view_id)
    if row.owner_id != actor.id:
        raise Forbidden("This view is shared with you to read: only its owner changes it. Copy it to your "
                        "dashboard to make it yours.")
    return row


def filters_of(session: Session, row: SavedView) -> ViewFilters:
    """The view's filter as the API names it (the product by its current slug)."""
    slug = session.exec(select(Product.slug).where(Product.id == row.product_id)).first() if row.product_id else None
    return ViewFilters(product=slug, tag=row.tag, unanswered=row.unanswered, unsolved=row.unsolved,
                       has_me_too=row.has_me_too, escalation_status=row.escalation_status,
                       breaching_within_hours=row.breaching_hours, assigned_to_me=row.assigned_to_me)


def summary(session: Session, row: SavedView) -> str:
    """describe() of a stored view, naming its product as people know it."""
    name = session.exec(select(Product.name).where(Product.id == row.product_id)).first() if row.product_id else None
    return describe(filters_of(session, row), row.sort, name)


def _query(session: Session, actor: User, row: SavedView, now: datetime | None) -> dict:
    """The keyword arguments of questions_service.filtered_questions / list_questions for this view
    read by `actor` (403 when it filters on escalations and the actor is not staff)."""
    staff_only = bool(row.escalation_status or row.breaching_hours is not None or row.assigned_to_me)
    if staff_only and not policy.is_agent(actor):
        raise Forbidden(STAFF_FILTERS_ONLY)
    where = escalation_queries.question_conditions(
        viewer=actor, status=row.escalation_status, breaching_hours=row.breaching_hours,
        assigned_to_me=row.assigned_to_me, now=now)
    if row.has_me_too:
        where.append(metoo.any_condition())
    # No internal question reaches a view, staff's included: filtered_questions' visible_to keeps
    # every question list public (the staff-only space has its own list, /internal).
    if row.product_id:
        where.append(Question.product_id == row.product_id)  # by id: the view outlives a slug change
    return {"tag": row.tag, "solved": False if row.unsolved else None, "unanswered": row.unanswered, "where": where}


def items(session: Session, *, actor: User | None, view_id: int, limit: int | None = None,
          cursor: str | None = None, now: datetime | None = None) -> tuple[SavedView, Page[Question]]:
    """(the view, one page of its questions in the view's order): keyset-paginated as
    questions_service.list_questions (limit 1..100, default 20; `cursor` from the previous page)."""
    row = get(session, actor=actor, view_id=view_id)
    page = questions_service.list_questions(session, sort=row.sort, limit=limit, cursor=cursor,
                                            **_query(session, actor, row, now))
    return row, page


def count(session: Session, *, actor: User, row: SavedView, now: datetime | None = None) -> int:
    """How many questions the view holds now for `actor` (every page together)."""
    return questions_service.count_questions(session, **_query(session, actor, row, now))


def is_staff_only(row: SavedView) -> bool:
    return bool(row.escalation_status or row.breaching_hours is not None or row.assigned_to_me)


SORT_LABELS = {"newest": "newest first", "active": "recently active first", "votes": "most votes first"}
STATUS_LABELS = {"open": "open", "claimed": "claimed", "waiting": "waiting on the customer",
                 "handed_off": "handed off", "resolved": "resolved", "active": "unresolved"}


def describe(filters: ViewFilters, sort: str, product_name: str | None = None) -> str:
    """The filter in words, for the column: "Dock Pro · tagged wifi · unsolved · newest first"
    (the product by `product_name` when given, else by its slug)."""
    parts = []
    if filters.product:
        parts.append(product_name or filters.product)
    if filters.tag:
        parts.append(f"tagged {filters.tag}")
    if filters.unanswered:
        parts.append("unanswered")
    if filters.unsolved:
        parts.append("unsolved")
    if filters.has_me_too:
        parts.append("with “me too”")
    if filters.escalation_status:
        parts.append(f"escalation {STATUS_LABELS[filters.escalation_status]}")
    if filters.breaching_within_hours is not None:
        parts.append(f"due within {filters.breaching_within_hours} h")
    if filters.assigned_to_me:
        parts.append("assigned to me")
    parts.append(SORT_LABELS.get(sort, sort))
    return " · ".join(parts)
