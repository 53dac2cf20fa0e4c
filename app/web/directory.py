"""Directory pages people expect from a Q&A forum: `/tags` (every tag with its count, searchable,
paged) and `/users` (people by reputation, newest or name, filterable by product), and the tag
suggestions the ask form offers while typing (`/tags/suggest`, HTML fragment; the JSON twin is in
the API)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts import directory as people
from app.badges import service as badge_service
from app.core.db import SessionDep
from app.products import service as products_service
from app.questions import directory as tags_directory
from app.questions import views
from app.web.deps import Text, WebRoute, render

router = APIRouter(route_class=WebRoute)

PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _url(path: str, params: dict) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", 1)})
    return f"{path}?{query}" if query else path


def _pager(path: str, params: dict, page: int, pages: int) -> dict:
    return {"page": page, "pages": pages,
            "prev_url": _url(path, {**params, "page": page - 1}) if page > 1 else None,
            "next_url": _url(path, {**params, "page": page + 1}) if page < pages else None}


@router.get("/tags")
def tags_index(request: Request, session: SessionDep, q: Text = None, sort: Text = None, page: PageNo = 1) -> Response:
    sort = sort if sort in dict(tags_directory.TAG_SORTS) else "popular"
    q = (q or "").strip()
    found = tags_directory.tag_page(session, q=q, sort=sort, page=page, size=tags_directory.TAGS_PER_PAGE)
    params = {"q": q, "sort": sort if sort != "popular" else None}
    title = "Tags" + (f" matching “{q}”" if q else "") + (" by name" if sort == "name" else "") + (
        f", page {found.page}" if found.page > 1 else "")
    return render(request, "directory/tags.html", {
        "tags": found.items, "total": found.total, "q": q, "sort": sort, "page_title": title,
        "canonical_path": _url("/tags", {**params, "page": found.page}),
        "sorts": [{"key": k, "label": label, "current": k == sort,
                   "url": _url("/tags", {"q": q, "sort": k if k != "popular" else None})}
                  for k, label in tags_directory.TAG_SORTS],
        "pager": _pager("/tags", params, found.page, found.pages),
    })


@router.get("/users")
def users_index(request: Request, session: SessionDep, q: Text = None, sort: Text = None, product: Text = None,
                page: PageNo = 1) -> Response:
    sort = sort if sort in dict(people.USER_SORTS) else "reputation"
    q = (q or "").strip()
    products = products_service.list_products(session)
    chosen = next((p for p in products if p.slug == (product or "").strip().lower()), None)
    found = people.people_page(session, sort=sort, product_id=chosen.id if chosen else None, q=q, page=page)
    params = {"q": q, "sort": sort if sort != "reputation" else None, "product": chosen.slug if chosen else None}
    title = {"reputation": "People by reputation", "newest": "New members", "name": "People by name"}[sort]
    if chosen:
        title += f" on {chosen.name}"
    if q:
        title += f" matching “{q}”"
    if found.page > 1:
        title += f", page {found.page}"
    return render(request, "directory/users.html", {
        "people": [{"user": views.UserView.of(r.user), "product_points": r.product_points} for r in found.items],
        "total": found.total, "q": q, "sort": sort, "product": chosen, "page_title": title,
        "canonical_path": _url("/users", {**params, "page": found.page}),
        "products": [{"slug": p.slug, "name": p.name} for p in products],
        "sorts": [{"key": k, "label": label, "current": k == sort,
                   "url": _url("/users", {**params, "sort": k if k != "reputation" else None})}
                  for k, label in people.USER_SORTS],
        "pager": _pager("/users", params, found.page, found.pages),
        "badge_tallies": badge_service.tallies(session, [r.user.id for r in found.items]),  # app/badges/
    })
