"""The search page (/search: full-text search with filters, facet counts, highlighted snippets and
pages) and "Yes, this solved it" on the ask page (/questions/{id}/solved-it)."""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import and_, or_, select
from sqlmodel import Session

from app.core.db import SessionDep
from app.core.ids import parse_id
from app.core.errors import Conflict, DomainError, InvalidInput, ServiceBusy
from app.products import service as products_service
from app.questions import service as questions_service
from app.questions import views
from app.questions.models import Question
from app.questions.schemas import TITLE_MAX
from app.questions.tags import canonical_tag
from app.search import service as search_service
from app.search.service import SimilarItem
from app.web.deps import FormData, Id, Me, Text, Viewer, WebRoute, client_ip, flash, limit, redirect, render
from app.web.listing import parse_solved

log = logging.getLogger("groundswell.web")

router = APIRouter(route_class=WebRoute)

PAGE_SIZE = 20
# Longer queries get a friendly message from the service rather than a validation error page.
QueryText = Annotated[str | None, Query(max_length=2000)]

# A suggestion on the ask page must be at least this similar (0..1, see SimilarItem.similarity)
# to be shown. The live list (groundswell.js, SIMILAR_MIN) uses the same value.
SIMILAR_MIN = 0.45
# The live list starts once the title has this many characters (fewer rarely say enough).
SIMILAR_MIN_CHARS = 12
SIMILAR_LIMIT = 5
TAG_FACETS_SHOWN = 12


# --- the search page -------------------------------------------------------------------------------

def _search_url(params: dict[str, str | None], **changes: str | None) -> str:
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v})
    return f"/search?{query}" if query else "/search"


def _ask_url(q: str, product: str | None) -> str:
    """/ask with the query as the title (cut to the title's limit) and the chosen product filled in."""
    query = urlencode({k: v for k, v in (("title", " ".join(q.split())[:TITLE_MAX]), ("product", product)) if v})
    return f"/ask?{query}" if query else "/ask"


def _page_number(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput("The page number must be a whole number.") from None
    if not 1 <= value <= 10_000:
        raise InvalidInput("The page number must be between 1 and 10000.")
    return value


@router.get("/search")
def search_page(request: Request, session: SessionDep, viewer: Viewer, q: QueryText = None, product: Text = None,
                tag: Text = None, solved: Text = None, page: Text = None) -> Response:
    q = (q or "").strip()
    params = {"q": q or None, "product": (product or "").strip().lower() or None,
              "tag": canonical_tag(tag or "") or None, "solved": parse_solved(solved) or None}
    products = {p.slug: p.name for p in products_service.catalog(session)}
    context: dict[str, Any] = {
        "q": q, "params": params, "results": None, "error": None, "active_filters": [], "facets": None,
        "pagination": None, "similar": [],
        "ask_url": _ask_url(q, params["product"] if params["product"] in products else None),
        "filter_hidden": {k: v for k, v in params.items() if k != "q" and v},
    }
    context["active_filters"] = _active_filters(params, products)
    if not q and not any(v for k, v in params.items() if k != "q"):
        return render(request, "search.html", context)  # nothing asked yet: the search box only
    try:
        number = _page_number(page)
        result = search_service.search(
            session, settings=request.app.state.settings, engine=request.app.state.engine, q=q,
            product=params["product"], tag=params["tag"], solved={"yes": True, "no": False}.get(params["solved"] or ""),
            page=number, limit=PAGE_SIZE)
    except InvalidInput as exc:
        session.rollback()
        context["error"] = exc.detail
        return render(request, "search.html", context, status=exc.status)
    except ServiceBusy as exc:  # the search process is restarting or overloaded: the words stay in the box
        session.rollback()
        context["error"] = exc.detail
        return render(request, "search.html", context, status=exc.status, headers=exc.headers)
    pages = max(1, math.ceil(result.total / result.size)) if result.total else 1
    if not result.total and q:  # nothing matched: what the similar-question side finds for the same words
        context["similar"] = relevant_similar(request, session, title=q[:search_service.QUERY_MAX_CHARS],
                                              product=params["product"] if params["product"] in products else None)
    context.update({
        "results": [{"s": item.summary,
                     "title_html": item.highlights.get("title") or "",
                     "snippet_html": item.highlights.get("body") or ""} for item in result.items],
        "total": result.total,
        "facets": _facets(result.facets, params, products),
        "pagination": {
            "page": result.page, "pages": pages,
            "prev_url": _search_url(params, page=str(result.page - 1) if result.page > 2 else None)
            if result.page > 1 else None,
            "next_url": _search_url(params, page=str(result.page + 1)) if result.next_cursor else None,
            "first_url": _search_url(params),
        },
    })
    return render(request, "search.html", context)


def _active_filters(params: dict[str, str | None], products: dict[str, str]) -> list[dict[str, str]]:
    active = []
    if params["product"]:
        active.append({"label": "Product", "value": products.get(params["product"], params["product"]),
                       "remove_url": _search_url(params, product=None)})
    if params["tag"]:
        active.append({"label": "Tag", "value": params["tag"], "remove_url": _search_url(params, tag=None)})
    if params["solved"]:
        active.append({"label": "Status", "value": "Solved" if params["solved"] == "yes" else "Not solved",
                       "remove_url": _search_url(params, solved=None)})
    return active


def _facets(facets: dict[str, dict[str, int]], params: dict[str, str | None],
            products: dict[str, str]) -> list[dict[str, Any]]:
    """Facet groups as links: choosing a value adds it as a filter, choosing the active one removes it."""
    def entry(key: str, value: str, label: str, count: int) -> dict[str, Any]:
        current = params[key] == value
        return {"label": label, "count": count, "current": current,
                "url": _search_url(params, page=None, **{key: None if current else value})}

    groups = []
    by_product = sorted(facets.get("product", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    if by_product:
        groups.append({"key": "product", "title": "Product",
                       "items": [entry("product", slug, products.get(slug, slug), n) for slug, n in by_product if n]})
    by_tag = sorted(facets.get("tags", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:TAG_FACETS_SHOWN]
    if by_tag:
        groups.append({"key": "tag", "title": "Tags", "items": [entry("tag", t, t, n) for t, n in by_tag if n]})
    solved = facets.get("solved", {})
    solved_items = [entry("solved", value, label, solved.get(key, 0))
                    for key, value, label in (("true", "yes", "Solved"), ("false", "no", "Not solved"))
                    if solved.get(key, 0) or params["solved"] == value]
    if solved_items:
        groups.append({"key": "solved", "title": "Status", "items": solved_items})
    return [g for g in groups if g["items"]]


# --- similar questions on the ask page --------------------------------------------------------------

def relevant_similar(request: Request, session: Session, *, title: str,
                     product: str | None = None) -> list[SimilarItem]:
    """Questions that may already answer the would-be question (solved ones first), or [] when
    there are none or search cannot answer: a search problem must never stop anyone posting.

    By title only, as the live list does while the title is typed: the customer sees the same
    suggestions again, and SIMILAR_MIN means the same thing in both places."""
    if not title.strip():
        return []
    try:
        items = search_service.similar(session, settings=request.app.state.settings,
                                       engine=request.app.state.engine, title=title,
                                       product=product or None, limit=SIMILAR_LIMIT)
    except DomainError:
        session.rollback()
        return []
    except Exception as exc:  # noqa: BLE001 - degrade to posting without suggestions
        session.rollback()
        log.warning("ask: similar questions unavailable: %s", exc)
        return []
    relevant = [i for i in items if i.similarity >= SIMILAR_MIN]
    # Stable sort: the backend's order stays within solved and unsolved.
    return sorted(relevant, key=lambda i: not i.has_accepted_answer)


# Similarity from which a question is offered as a possible original. Cosine alone does not tell a
# duplicate from a same-topic question (on the AskUbuntu dev split the true original's median is
# 0.71 and the best wrong one's 0.69), so this only keeps unrelated questions out; the closer decides.
ORIGINAL_MIN = 0.6
ORIGINALS_SHOWN = 3
ORIGINALS_LOOKED_AT = 10  # similar questions looked at, before keeping the older, answered ones


def possible_originals(request: Request, session: Session, detail) -> list[SimilarItem]:
    """For those who may close it: canonical questions this one likely duplicates, most similar first
    (never itself), so folding it in takes two clicks. Empty when search cannot answer, and for an
    internal question (the index holds public ones only). Only public, live, unhidden questions are
    offered, checked in the database (the index may lag a hide or delete): closing refuses any
    other original (app/questions/duplicates.py check_original)."""
    if getattr(detail, "visibility", "public") != "public":
        return []
    try:
        items = search_service.similar(session, settings=request.app.state.settings,
                                       engine=request.app.state.engine, title=detail.title,
                                       limit=ORIGINALS_LOOKED_AT, exclude=detail.id)
    except Exception as exc:  # noqa: BLE001 - the page must show whatever search does
        session.rollback()
        log.warning("question page: similar questions unavailable: %s", exc)
        return []
    # An original is older and has an answer worth reading: accepted, or scored above zero (Stack
    # Exchange only lets a question be closed against one with an upvoted or accepted answer).
    items = [i for i in items if i.similarity >= ORIGINAL_MIN
             and (i.has_accepted_answer or (i.best_answer_score or 0) > 0)]
    if not items:
        return []
    from app.moderation.posts import visible_to

    asked = dict(session.execute(select(Question.id, Question.created_at).where(
        Question.id.in_([detail.id] + [i.id for i in items]),
        or_(Question.id == detail.id, and_(Question.deleted_at.is_(None), visible_to(Question, None))))).all())
    mine = asked.get(detail.id)
    return [i for i in items if mine is not None and asked.get(i.id) is not None and asked[i.id] < mine][:ORIGINALS_SHOWN]


# --- "Yes, this solved it" ----------------------------------------------------------------------------

def _error_field(exc: InvalidInput) -> str | None:
    """The field an InvalidInput names (the last part of its first error's loc), or None."""
    loc = (exc.errors or [{}])[0].get("loc") or []
    return str(loc[-1]) if loc else None


@router.post("/questions/{question_id}/solved-it")
def solved_it(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    """The customer found the answer in this question: count it, post nothing, show the question.
    A title that shows nothing or an answer that is not this question's: the ask page again, 422,
    the message under the title (or above the form) and the typed title and product kept."""
    limit(request, "write", me)
    title = form.get("title", "")
    product = (form.get("product") or "").strip().lower() or None
    visitor = search_service.deflection_visitor(actor=me, secret=request.app.state.settings.secret,
                                                address=client_ip(request),
                                                user_agent=request.headers.get("user-agent", ""))
    answer_id = parse_id(form.get("answer_id"))
    try:
        try:
            row, _ = search_service.record_deflection(session, actor=me, question_id=question_id, title=title,
                                                      product=product, source="web", visitor=visitor,
                                                      answer_id=answer_id)
        except InvalidInput as exc:
            if _error_field(exc) != "product":
                raise
            session.rollback()  # an unknown product must not lose the "thank you"
            row, _ = search_service.record_deflection(session, actor=me, question_id=question_id, title=title,
                                                      source="web", visitor=visitor, answer_id=answer_id)
    except InvalidInput as exc:
        from app.web.questions import _ask_form

        session.rollback()
        field = "title" if _error_field(exc) == "title" else "form"
        return _ask_form(request, session, {"title": title, "body": "", "tags": "", "product": product or "",
                                            "visibility": "public"}, {field: exc.errors[0]["msg"] if exc.errors
                                                                      else exc.detail}, status=422)
    except Conflict as exc:  # nothing to have solved it (no answer yet): back to the question, nothing counted
        session.rollback()
        flash(request, exc.detail, "error")
        question = questions_service.get_visible(session, question_id, viewer=me)
        return redirect(views.question_url(question.id, question.slug))
    question = questions_service.get_visible(session, row.question_id, viewer=me)
    flash(request, "Glad it helped — we did not post your question.")
    return redirect(views.question_url(question.id, question.slug)
                    + f"#answer-{search_service.answer_that_helped(session, question.id, answer_id)}")
