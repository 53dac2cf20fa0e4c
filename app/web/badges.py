"""Badges in the forum: /badges (every badge, its rule, how often it is held) and /badges/{key}
(who holds it, paged). Profiles and user cards show badges through `tallies` and `summary_for`
(app/badges/service.py). The JSON twin is app/api/badges.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.badges import policy
from app.badges import service as badges
from app.core.db import SessionDep
from app.questions import views
from app.web.deps import WebRoute, render
from app.web.directory import PageNo, _pager

router = APIRouter(route_class=WebRoute)

HOLDERS_PER_PAGE = 30


@router.get("/badges")
def badge_index(request: Request, session: SessionDep) -> Response:
    counts = badges.award_counts(session)
    groups = [{"klass": c, "title": c.capitalize(),
               "badges": [{"badge": b, "count": counts.get(b.key, 0)} for b in policy.BADGES if b.klass == c]}
              for c in policy.CLASSES]
    return render(request, "badges/index.html", {"groups": groups})


@router.get("/badges/{key}")
def badge_page(request: Request, key: str, session: SessionDep, page: PageNo = 1) -> Response:
    badge = badges.get_badge(key)
    rows, total, pages = badges.holders(session, badge, page=page, size=HOLDERS_PER_PAGE)
    page = min(page, pages)
    return render(request, "badges/detail.html", {
        "badge": badge, "total": total,
        "rows": [{"award": r, "user": views.UserView.of(r.user)} for r in rows],
        "tallies": badges.tallies(session, {r.user.id for r in rows if r.user}),
        "pager": _pager(f"/badges/{badge.key}", {}, page, pages),
        "page_title": badge.name + (f", page {page}" if page > 1 else ""),
    })
