"""Forum pages of saved views (docs/saved-views.md): the dashboard of columns (/views), each view's
full list, the create/edit form, delete, reorder and copy. Thin routes over
app/savedviews/service.py; the JSON twin is app/api/savedviews.py.

Without JavaScript the dashboard is a stack of lists with a reload link; app/web/static/views.js
refreshes each column from /views/{id}/column every 60 s (and on its Refresh button), pausing
while the tab is hidden."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import SessionDep
from app.core.errors import Conflict, DomainError, Forbidden, InvalidInput, RateLimited
from app.escalation import policy
from app.escalation import queries as escalation_queries
from app.products.models import Product
from app.questions import views
from app.savedviews import service as saved_views
from app.savedviews.models import SavedView
from app.savedviews.schemas import BREACHING_HOURS_MAX, NAME_MAX, ViewCreate
from app.accounts.permissions import Suspended
from app.web.deps import FormData, Id, Me, Text, WebRoute, flash, limit, redirect, render

router = APIRouter(route_class=WebRoute)

COLUMN_SIZE = 8  # questions per column on the dashboard; the view's page has them all
REFRESH_SECONDS = 60
SORT_CHOICES = (("newest", "Newest first"), ("active", "Recently active first"), ("votes", "Most votes first"))
STATUS_CHOICES = (("", "Any (no escalation filter)"), ("active", "Unresolved (any)"), ("open", "Open"),
                  ("claimed", "Claimed"), ("waiting", "Waiting on the customer"), ("handed_off", "Handed off"),
                  ("resolved", "Resolved"))
CHECKS = ("unanswered", "unsolved", "has_me_too", "assigned_to_me", "shared")


# --- view-models ----------------------------------------------------------------------------------

def _column(session: Session, me: User, row: SavedView, owners: dict[int, User] | None = None) -> dict[str, Any]:
    """What one column shows: heading, filter in words, count and the first COLUMN_SIZE questions
    (with their escalation for staff); a view the reader may no longer read shows why instead."""
    col: dict[str, Any] = {"id": row.id, "name": row.name, "description": saved_views.summary(session, row),
                           "mine": row.owner_id == me.id, "shared": row.shared, "error": None, "count": 0,
                           "items": [], "briefs": {}, "owner": None}
    if owners is not None and row.owner_id in owners:
        col["owner"] = views.UserView.of(owners[row.owner_id])
    try:
        _, page = saved_views.items(session, actor=me, view_id=row.id, limit=COLUMN_SIZE)
        col["count"] = saved_views.count(session, actor=me, row=row)
    except Forbidden as exc:
        col["error"] = exc.detail
        return col
    col["items"] = views.summaries(session, page.items)
    if policy.is_agent(me):
        col["briefs"] = escalation_queries.briefs_for(session, [q.id for q in page.items])
    return col


def _form_values(row: SavedView | None, session: Session, prefill: dict[str, str] | None = None) -> dict[str, Any]:
    if row is None:
        p = prefill or {}
        return {"name": p.get("name", ""), "product": p.get("product", ""), "tag": p.get("tag", ""),
                "sort": p.get("sort", "newest"), "escalation_status": "", "breaching_hours": "",
                **{k: p.get(k) == "1" for k in CHECKS}}
    f = saved_views.filters_of(session, row)
    return {"name": row.name, "product": f.product or "", "tag": f.tag or "", "sort": row.sort,
            "escalation_status": row.escalation_status or "",
            "breaching_hours": "" if row.breaching_hours is None else str(row.breaching_hours),
            "unanswered": row.unanswered, "unsolved": row.unsolved, "has_me_too": row.has_me_too,
            "assigned_to_me": row.assigned_to_me, "shared": row.shared}


def _typed(form: dict[str, str]) -> dict[str, Any]:
    """The form as typed (kept on error), bounded in length."""
    return {"name": form.get("name", "")[:200], "product": form.get("product", "")[:60],
            "tag": form.get("tag", "")[:100], "sort": form.get("sort", "newest")[:12],
            "escalation_status": form.get("escalation_status", "")[:12],
            "breaching_hours": form.get("breaching_hours", "").strip()[:12],
            **{k: form.get(k) == "1" for k in CHECKS}}


_FIELD = {"breaching_within_hours": "breaching_hours", "filters": "form", "body": "form"}


def _errors(exc: Exception) -> dict[str, str]:
    """{form field: message} for a refused form (pydantic's and the service's errors)."""
    out: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            field = _FIELD.get(loc[-1], loc[-1]) if loc else "form"
            kind = e.get("type", "")
            msg = {"string_too_short": "Give the view a name.",
                   "string_too_long": f"Use at most {(e.get('ctx') or {}).get('max_length')} characters.",
                   "literal_error": "Choose one of the offered values."}.get(kind)
            if field == "breaching_hours":
                msg = f"Enter a whole number of hours from 1 to {BREACHING_HOURS_MAX}, or leave it empty."
            out.setdefault(field, msg or str(e.get("msg", "This value is not valid.")).removeprefix("Value error, "))
    elif isinstance(exc, InvalidInput) and exc.errors:
        for e in exc.errors:
            out.setdefault(str(e["loc"][-1]), str(e.get("msg") or exc.detail))
    elif isinstance(exc, DomainError):
        out["form"] = exc.detail
    return out


def _parse(values: dict[str, Any]) -> ViewCreate:
    hours_text = values["breaching_hours"]
    hours: Any = None
    if hours_text:
        hours = int(hours_text) if hours_text.isascii() and hours_text.isdigit() and len(hours_text) <= 6 else hours_text
    return ViewCreate.model_validate({
        "name": values["name"], "sort": values["sort"] or "newest", "shared": values["shared"],
        "filters": {"product": values["product"] or None, "tag": values["tag"] or None,
                    "unanswered": values["unanswered"], "unsolved": values["unsolved"],
                    "has_me_too": values["has_me_too"], "escalation_status": values["escalation_status"] or None,
                    "breaching_within_hours": hours, "assigned_to_me": values["assigned_to_me"]}})


def _form_page(request: Request, session: Session, me: User, *, values: dict, errors: dict, row: SavedView | None,
               status: int = 200) -> Response:
    products = session.exec(select(Product.slug, Product.name).order_by(Product.name)).all()
    return render(request, "savedviews/form.html", {
        "values": values, "errors": errors, "view": row, "is_agent": policy.is_agent(me), "can_share": me.is_staff,
        "products": [{"slug": s, "name": n} for s, n in products], "sort_choices": SORT_CHOICES,
        "status_choices": STATUS_CHOICES, "name_max": NAME_MAX, "hours_max": BREACHING_HOURS_MAX,
        "action": f"/views/{row.id}/edit" if row else "/views", "max_views": saved_views.MAX_VIEWS,
    }, status=status)


def _save(request: Request, session: Session, me: User, form: dict[str, str], row: SavedView | None) -> Response:
    values = _typed(form)
    try:
        data = _parse(values)
        limit(request, "write", me)
        if row is None:
            row = saved_views.create(session, actor=me, data=data)
        else:
            saved_views.update(session, actor=me, view_id=row.id, data=data)
    except ValidationError as exc:
        return _form_page(request, session, me, values=values, errors=_errors(exc), row=row, status=422)
    except (InvalidInput, Forbidden, Conflict, RateLimited) as exc:
        session.rollback()
        return _form_page(request, session, me, values=values, errors=_errors(exc), row=row, status=exc.status)
    flash(request, f"Saved the view “{row.name}”.")
    return redirect(f"/views#view-{row.id}")


# --- pages ------------------------------------------------------------------------------------------

@router.get("/views")
def dashboard(request: Request, session: SessionDep, me: Me) -> Response:
    own, shared = saved_views.list_for(session, actor=me)
    from app.accounts import service as accounts_service

    owners = accounts_service.users_by_id(session, {r.owner_id for r in shared})
    columns = [_column(session, me, r) for r in own]
    return render(request, "savedviews/dashboard.html", {
        "columns": columns, "refresh_seconds": REFRESH_SECONDS, "max_views": saved_views.MAX_VIEWS,
        "shared": [{"id": r.id, "name": r.name, "owner": views.UserView.of(owners[r.owner_id]),
                    "description": saved_views.summary(session, r)} for r in shared],
    })


@router.get("/views/new")
def new_view(request: Request, session: SessionDep, me: Me, name: Text = None, product: Text = None,
             tag: Text = None, sort: Text = None, unanswered: Text = None, unsolved: Text = None) -> Response:
    """The form, optionally filled from a list page's filters (?product=&tag=&unsolved=1…)."""
    prefill = {k: v for k, v in {"name": name, "product": product, "tag": tag, "sort": sort,
                                 "unanswered": unanswered, "unsolved": unsolved}.items() if v}
    return _form_page(request, session, me, values=_form_values(None, session, prefill), errors={}, row=None)


@router.post("/views")
def create_view(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    return _save(request, session, me, form, None)


@router.get("/views/{view_id}")
def view_page(request: Request, session: SessionDep, me: Me, view_id: Id, cursor: Text = None) -> Response:
    """A view's full list (paginated), for its owner or, when shared, the staff team (read-only)."""
    row, page = saved_views.items(session, actor=me, view_id=view_id, cursor=cursor)
    from app.accounts import service as accounts_service

    owner = accounts_service.users_by_id(session, {row.owner_id})[row.owner_id]
    return render(request, "savedviews/detail.html", {
        "view": row, "description": saved_views.summary(session, row), "mine": row.owner_id == me.id,
        "owner": views.UserView.of(owner), "count": saved_views.count(session, actor=me, row=row),
        "questions": views.summaries(session, page.items),
        "briefs": escalation_queries.briefs_for(session, [q.id for q in page.items]) if policy.is_agent(me) else {},
        "next_url": f"/views/{row.id}?cursor={page.next_cursor}" if page.next_cursor else None,
        "first_page": not cursor,
    })


@router.get("/views/{view_id}/column")
def column_fragment(request: Request, session: SessionDep, me: Me, view_id: Id) -> Response:
    """One dashboard column's body as an HTML fragment (no layout), for views.js to swap in."""
    row = saved_views.get(session, actor=me, view_id=view_id)
    return render(request, "savedviews/_column_fragment.html", {"c": _column(session, me, row)},
                  headers={"Cache-Control": "no-store"})


@router.get("/views/{view_id}/edit")
def edit_view(request: Request, session: SessionDep, me: Me, view_id: Id) -> Response:
    row = saved_views.get(session, actor=me, view_id=view_id)
    if row.owner_id != me.id:
        return redirect(f"/views/{row.id}")
    return _form_page(request, session, me, values=_form_values(row, session), errors={}, row=row)


@router.post("/views/{view_id}/edit")
def update_view(request: Request, session: SessionDep, me: Me, view_id: Id, form: FormData) -> Response:
    row = saved_views.get(session, actor=me, view_id=view_id)
    return _save(request, session, me, form, row)


def _act(request: Request, session: Session, me: User, action, done: str | None, back: str = "/views") -> Response:
    try:
        limit(request, "write", me)
        action()
    except Suspended:
        raise  # the forum's 403 page with the end time, as every other form (docs/moderation.md)
    except (Forbidden, Conflict, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect("/views")
    if done:
        flash(request, done)
    return redirect(back)


@router.post("/views/{view_id}/delete")
def delete_view(request: Request, session: SessionDep, me: Me, view_id: Id, form: FormData) -> Response:
    row = saved_views.get(session, actor=me, view_id=view_id)
    name = row.name
    return _act(request, session, me, lambda: saved_views.delete(session, actor=me, view_id=view_id),
                f"Deleted the view “{name}”.")


@router.post("/views/{view_id}/move")
def move_view(request: Request, session: SessionDep, me: Me, view_id: Id, form: FormData) -> Response:
    """Move a column one place: `direction` earlier (left, or up when stacked) or later."""
    offset = -1 if form.get("direction") == "earlier" else 1
    return _act(request, session, me, lambda: saved_views.move(session, actor=me, view_id=view_id, offset=offset),
                None, back=f"/views#view-{view_id}")


@router.post("/views/{view_id}/copy")
def copy_view(request: Request, session: SessionDep, me: Me, view_id: Id, form: FormData) -> Response:
    """Add a copy of a view shared with the staff team to one's own dashboard."""
    return _act(request, session, me, lambda: saved_views.copy(session, actor=me, view_id=view_id),
                "Added a copy to your dashboard: it is yours to change.")
