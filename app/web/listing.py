"""View helpers for question lists (home, products, tags) and the question page's JSON-LD."""

from __future__ import annotations

import heapq
import json
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session

from app.products import service as products_service
from app.questions import service as questions_service
from app.questions import views
from app.questions.tags import canonical_tag
from app.questions.views import QuestionDetailView

LIST_SORTS = (("newest", "Newest"), ("active", "Active"), ("votes", "Most votes"), ("unanswered", "Unanswered"))
ANSWER_SORTS = (("best", "Best"), ("newest", "Newest"), ("oldest", "Oldest"))
SOLVED_CHOICES = (("", "Any"), ("yes", "Solved"), ("no", "Not solved"))
PAGE_SIZE = 20
# Products named in a list page's sidebar: those with most questions; the rest are one link away
# (/products). Discourse's sidebar likewise shows a few categories and links to all of them.
SIDEBAR_PRODUCTS = 10


def pick(value: str | None, choices: tuple[tuple[str, str], ...], default: str) -> str:
    return value if value in {k for k, _ in choices} else default


def parse_solved(value: str | None) -> str:
    v = (value or "").strip().lower()
    return "yes" if v in ("yes", "true", "1") else "no" if v in ("no", "false", "0") else ""


def _url(path: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{path}?{query}" if query else path


def _memo(memo, key: tuple, compute):
    """`compute()`, or its value kept by the page cache's aggregates (app/web/pagecache.py) when given."""
    return memo.aggregate(key, compute) if memo is not None else compute()


def question_list(session: Session, *, path: str, sort: str | None, product: str | None, tag: str | None,
                  solved: str | None, cursor: str | None, fixed: tuple[str, ...] = (), memo=None) -> dict[str, Any]:
    """Everything a list page shows: items, tabs, filters, the next-page link and the sidebar.

    `fixed` names the filters the page itself sets (the product on a product page): they stay
    out of the links and the filter form. With `memo` (the app's PageCache), the sidebar's
    community-wide counts (questions per product, popular tags) are refreshed values
    (PageCache.aggregate) instead of a count over every question on each request."""
    sort = pick(sort, LIST_SORTS, "newest")
    product = (product or "").strip().lower() or None
    tag = canonical_tag(tag or "") or None
    solved = parse_solved(solved)
    page = questions_service.list_questions(
        session, sort=sort, product=product, tag=tag, solved={"yes": True, "no": False}.get(solved),
        limit=PAGE_SIZE, cursor=cursor or None,
    )
    filters = {"product": product, "tag": tag, "solved": solved}
    link_filters = {k: v for k, v in filters.items() if k not in fixed}
    tabs = [{"key": key, "label": label, "url": _url(path, {"sort": key if key != "newest" else None, **link_filters}),
             "current": key == sort} for key, label in LIST_SORTS]
    next_url = (_url(path, {"sort": sort if sort != "newest" else None, **link_filters, "cursor": page.next_cursor})
                if page.next_cursor else None)
    products = products_service.catalog(session)
    counts = _memo(memo, ("product_counts",), lambda: products_service.question_counts(session))
    current = next((p for p in products if p.slug == product), None)
    product_id = current.id if current else None
    # The sidebar names the products with most questions (and the one shown), by name, not the
    # whole catalog: its size and cost stay bounded however many products the vendor has.
    shown = {p.id for p in heapq.nlargest(SIDEBAR_PRODUCTS, products, key=lambda p: counts.get(p.id, 0))}
    sidebar = [p for p in products if p.id in shown or p is current]
    tags_scope = product_id if "product" in fixed else None
    product_name = current.name if current else product
    return {
        # Each sort and filter is its own page for search engines: its own canonical address
        # (the cursor included: a later page is not a copy of the first) and its own title.
        "canonical_path": _url(path, {"sort": sort if sort != "newest" else None, **link_filters,
                                      "cursor": cursor or None}),
        "title_suffix": list_title_suffix(sort, link_filters, product_name, later_page=bool(cursor)),
        "questions": views.summaries(session, page.items),
        "tabs": tabs,
        "sort": sort,
        "next_url": next_url,
        "is_first_page": not cursor,
        "first_page_url": _url(path, {"sort": sort if sort != "newest" else None, **link_filters}),
        "filters": filters,
        "fixed": list(fixed),
        "list_path": path,
        "filtered": any(v for v in link_filters.values()),
        "product_choices": [{"slug": p.slug, "name": p.name} for p in products],
        "solved_choices": SOLVED_CHOICES,
        "sidebar_products": [{"slug": p.slug, "name": p.name, "count": counts.get(p.id, 0)} for p in sidebar],
        "products_total": len(products),
        "popular_tags": [{"name": n, "count": c} for n, c in _memo(
            memo, ("popular_tags", tags_scope), lambda: questions_service.popular_tags(session, 20, product_id=tags_scope))],
    }


def list_title_suffix(sort: str, filters: dict[str, str | None], product_name: str | None,
                      *, later_page: bool = False) -> str:
    """What tells one list page's <title> from another's: " (most votes, solved, Dock Pro)"; empty
    for the default newest-first page with no filter."""
    parts = []
    if sort != "newest":
        parts.append(dict(LIST_SORTS)[sort].lower())
    if filters.get("solved"):
        parts.append({"yes": "solved", "no": "not solved"}[filters["solved"]])
    if filters.get("product"):
        parts.append(product_name or filters["product"])
    if filters.get("tag"):
        parts.append(f"tagged {filters['tag']}")
    if later_page:
        parts.append("older")
    return f" ({', '.join(parts)})" if parts else ""


def answer_tabs(path: str, sort: str) -> list[dict[str, Any]]:
    return [{"key": key, "label": label, "url": _url(path, {"sort": key if key != "best" else None}),
             "current": key == sort} for key, label in ANSWER_SORTS]


# --- structured data ---------------------------------------------------------------------------

def _person(base_url: str, user: views.UserView) -> dict[str, Any]:
    person: dict[str, Any] = {"@type": "Person", "name": user.display_name}
    if user.id:
        person["url"] = f"{base_url}/users/{user.username}"
    return person


def _answer_ld(base_url: str, q: QuestionDetailView, a: views.AnswerView) -> dict[str, Any]:
    from app.core.markdown import excerpt

    return {
        "@type": "Answer",
        "text": excerpt(a.body_html, 5000),
        "upvoteCount": a.score,
        "dateCreated": a.created_at.isoformat(timespec="seconds"),
        "url": f"{base_url}{q.url}#answer-{a.id}",
        "author": _person(base_url, a.author),
    }


def qa_page_json_ld(base_url: str, q: QuestionDetailView) -> str:
    """schema.org QAPage for search engines, safe to place inside <script type="application/ld+json">."""
    from app.core.markdown import excerpt

    question: dict[str, Any] = {
        "@type": "Question",
        "name": q.title,
        "text": excerpt(q.body_html, 5000),
        "answerCount": len(q.answers),
        "upvoteCount": q.score,
        "dateCreated": q.created_at.isoformat(timespec="seconds"),
        "author": _person(base_url, q.author),
    }
    accepted = [a for a in q.answers if a.is_accepted]
    if accepted:
        question["acceptedAnswer"] = _answer_ld(base_url, q, accepted[0])
    suggested = [_answer_ld(base_url, q, a) for a in q.answers if not a.is_accepted]
    if suggested:
        question["suggestedAnswer"] = suggested
    data = {"@context": "https://schema.org", "@type": "QAPage", "mainEntity": question}
    raw = json.dumps(data, ensure_ascii=False)
    # Nothing in the data may end the <script> element or open a comment.
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- reputation: hints, top contributors ----------------------------------------------------------

HINTS = (
    ("downvote", "Voting down needs {n} reputation"),
    ("comment", "Commenting on others’ posts needs {n} reputation"),
    ("edit", "Editing others’ posts directly needs {n} reputation; until then, suggest edits"),
)


def privilege_hints(viewer) -> list[dict[str, str]]:
    """For the question page: what the signed-in viewer cannot do yet, and how much it takes."""
    from app.accounts import permissions
    from app.reputation import policy

    if viewer is None:
        return []
    return [{"key": key, "text": text.format(n=f"{policy.threshold(key):,}")}
            for key, text in HINTS if not permissions.has_privilege(viewer, key)]


# The last 30 days, rolling (issue 18: "top contributors of the last 30 days"); ?top=all for all time.
TOP_PERIODS = (("30d", "Last 30 days"), ("all", "All time"))


def top_contributors_panel(session: Session, *, path: str, query: dict[str, str], top: str | None,
                           product_id: int | None = None, limit: int = 10, memo=None) -> dict[str, Any]:
    """The "Top contributors" sidebar: the last 30 days (default) or all time, switched with ?top=all.
    With `memo` (the app's PageCache), a refreshed value (PageCache.aggregate)."""
    from app.reputation import service as reputation

    period = pick(top, TOP_PERIODS, "30d")
    since = reputation.period_start(period)

    def compute():
        return [(views.UserView.of(user), points) for user, points in
                reputation.top_contributors(session, product_id=product_id, since=since, limit=limit)]

    rows = _memo(memo, ("top_contributors", product_id, since, limit), compute)
    keep = {k: v for k, v in query.items() if k not in ("top", "cursor")}
    return {
        "period": period,
        "tabs": [{"key": key, "label": label, "current": key == period,
                  "url": _url(path, {**keep, "top": key if key != "30d" else None})} for key, label in TOP_PERIODS],
        "rows": [{"user": user, "points": points} for user, points in rows],
    }
