"""JSON API of saved views (docs/saved-views.md, docs/api.md): the caller's views and those shared
with them, create, delete, and a view's questions. Thin routes; the rules are in app/savedviews/service.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.accounts import service as accounts_service
from app.accounts.deps import CurrentUser
from app.api.deps import Id, rate_limit
from app.api.schemas import QuestionSummaryOut, UserOut
from app.core.db import SessionDep
from app.escalation import policy
from app.escalation import queries as escalation_queries
from app.questions import views
from app.savedviews import service as saved_views
from app.savedviews.schemas import ViewCreate, ViewFilters

router = APIRouter(tags=["saved views"])


class SavedViewOut(BaseModel):
    id: int
    name: str
    sort: str = Field(description="newest | active | votes")
    filters: ViewFilters
    shared: bool = Field(description="shared with the staff team (read-only to them)")
    position: int = Field(description="the column's place on the owner's dashboard, from 0")
    owner: UserOut
    mine: bool = Field(description="the caller owns it (else it is shared with them, read-only)")
    staff_only: bool = Field(description="it filters on escalations: staff only")
    description: str = Field(description="the filter in words")
    url: str = Field(description="its forum page (the full list)")
    items_url: str
    created_at: datetime
    updated_at: datetime


class SavedViewList(BaseModel):
    items: list[SavedViewOut]
    next_cursor: str | None = None


class EscalationBriefOut(BaseModel):
    id: int
    status: str
    due_at: datetime
    breach: str | None = Field(description="\"first response\", \"resolution\" or null")
    paused: bool = Field(description="the service-level clock is stopped (waiting on the customer, handed off)")
    assignee: str | None = Field(description="username of the agent who holds it")


class ViewItemOut(QuestionSummaryOut):
    escalation: EscalationBriefOut | None = Field(
        default=None, description="staff readers only: the question's latest escalation (null when none)")


class ViewItemList(BaseModel):
    items: list[ViewItemOut]
    next_cursor: str | None
    count: int = Field(description="questions in the view now, every page together")


def _out(session, rows, me) -> list[SavedViewOut]:
    owners = accounts_service.users_by_id(session, {r.owner_id for r in rows})
    out = []
    for r in rows:
        f = saved_views.filters_of(session, r)
        out.append(SavedViewOut(
            id=r.id, name=r.name, sort=r.sort, filters=f, shared=r.shared, position=r.position,
            owner=UserOut.of(owners[r.owner_id]), mine=r.owner_id == me.id, staff_only=saved_views.is_staff_only(r),
            description=saved_views.summary(session, r), url=f"/views/{r.id}", items_url=f"/api/v1/me/views/{r.id}/items",
            created_at=r.created_at, updated_at=r.updated_at))
    return out


@router.get("/me/views", response_model=SavedViewList)
def list_views(session: SessionDep, user: CurrentUser) -> SavedViewList:
    """The caller's own views in dashboard order (`mine: true`), then the views other staff share
    with the staff team (staff callers only; read-only, by name). One page: at most 20 own views."""
    own, shared = saved_views.list_for(session, actor=user)
    return SavedViewList(items=_out(session, own + shared, user))


@router.post("/me/views", status_code=201, response_model=SavedViewOut, dependencies=[rate_limit("write")])
def create_view(data: ViewCreate, session: SessionDep, user: CurrentUser, response: Response) -> SavedViewOut:
    """Save a view `{name, filters: {product, tag, unanswered, unsolved, has_me_too,
    escalation_status, breaching_within_hours, assigned_to_me}, sort, shared}` as the last column
    of the caller's dashboard: 201. 422 for an unknown product or a bad tag; 403 when a customer
    uses the staff-only filters (escalation_status, breaching_within_hours, assigned_to_me) or
    `shared`; 409 past 20 views."""
    row = saved_views.create(session, actor=user, data=data)
    response.headers["Location"] = f"/api/v1/me/views/{row.id}/items"
    return _out(session, [row], user)[0]


@router.delete("/me/views/{view_id}", status_code=204, dependencies=[rate_limit("write")])
def delete_view(view_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Delete one of the caller's views: 204. Only the owner: 403 for a view shared with the
    caller, 404 for any other."""
    saved_views.delete(session, actor=user, view_id=view_id)
    return Response(status_code=204)


@router.get("/me/views/{view_id}/items", response_model=ViewItemList)
def view_items(view_id: Id, session: SessionDep, user: CurrentUser,
               limit: Annotated[int, Query(ge=1, le=100)] = 20,
               cursor: Annotated[str | None, Query(max_length=500)] = None) -> ViewItemList:
    """The view's questions now, in its order, as QuestionSummary (`?limit=`, `?cursor=` as every
    list). For staff readers each item carries its latest `escalation`. "Assigned to me" means the
    caller. Hidden and deleted questions are never listed."""
    row, page = saved_views.items(session, actor=user, view_id=view_id, limit=limit, cursor=cursor)
    summaries = views.summaries(session, page.items)
    briefs = (escalation_queries.briefs_for(session, [q.id for q in page.items]) if policy.is_agent(user) else {})
    items = []
    for s in summaries:
        item = ViewItemOut(**QuestionSummaryOut.of(s).model_dump(exclude={"tag_urls"}))
        b = briefs.get(s.id)
        if b is not None:
            item.escalation = EscalationBriefOut(id=b.id, status=b.status, due_at=b.due_at, breach=b.breach,
                                                 paused=b.paused, assignee=b.assignee.username if b.assignee else None)
        items.append(item)
    return ViewItemList(items=items, next_cursor=page.next_cursor,
                        count=saved_views.count(session, actor=user, row=row))
