"""Products, tags, the sitemap and robots.txt."""

from __future__ import annotations

from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.permissions import can_manage_products
from app.core.db import SessionDep
from app.core.errors import Conflict, Forbidden, InvalidInput, RateLimited
from app.products import service as products_service
from app.products.models import Product
from app.products.schemas import ProductCreate, ProductUpdate
from app.questions import service as questions_service
from app.questions.tags import tag_path
from app.questions.views import question_url
from app.web.deps import FormData, Me, Text, Viewer, WebRoute, anonymous_cached, flash, limit, redirect, render
from app.web.forms import field_errors
from app.web.listing import question_list, top_contributors_panel

from app.web.mail import follow_button  # noqa: E402  (the Follow button of this page)

router = APIRouter(route_class=WebRoute)

Cursor = Annotated[str | None, Query(max_length=500)]


@router.get("/products")
def products(request: Request, session: SessionDep, viewer: Viewer) -> Response:
    items = products_service.list_products(session)
    counts = products_service.question_counts(session)
    return render(request, "products/index.html", {
        "products": [{"slug": p.slug, "name": p.name, "description": p.description, "count": counts.get(p.id, 0)}
                     for p in items],
        "can_manage": can_manage_products(viewer),
    })


# --- staff: add and edit products ------------------------------------------------------------------

NEW_FIELDS = ("slug", "name", "description")
EDIT_FIELDS = ("name", "description")
PRODUCT_HINTS = {
    "slug": ("2–60 characters: lowercase letters, digits and single hyphens, e.g. “aero-14”. "
             "It becomes the product’s address and cannot be changed later."),
    "slug_fixed": "Part of the product’s address; it cannot be changed.",
    "name": "2–120 characters, the name customers know, e.g. “Kestrel Aero 14”.",
    "description": "Optional, up to 2,000 characters. Shown on the products page and above the product’s questions.",
}


def _require_manager(me: User) -> None:
    """Checked before the form is shown or read; the service checks again when it writes."""
    if not can_manage_products(me):
        raise Forbidden("Only staff manage the product catalog.")


def _new_form(request: Request, values: dict[str, str], errors: dict[str, str] | None = None, status: int = 200,
              headers: dict[str, str] | None = None) -> Response:
    return render(request, "products/new.html", {"values": values, "errors": errors or {}, "limits": PRODUCT_HINTS},
                  status=status, headers=headers)


def _edit_form(request: Request, item: Product, values: dict[str, str], errors: dict[str, str] | None = None,
               status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return render(request, "products/edit.html", {
        "product": {"slug": item.slug, "name": item.name}, "values": values, "errors": errors or {},
        "limits": PRODUCT_HINTS,
    }, status=status, headers=headers)


# Registered before /products/{slug}, which would otherwise take "new" as a slug.
@router.get("/products/new")
def new_product_form(request: Request, me: Me) -> Response:
    _require_manager(me)
    return _new_form(request, {k: "" for k in NEW_FIELDS})


@router.post("/products/new")
def new_product(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    _require_manager(me)
    values = {k: form.get(k, "") for k in NEW_FIELDS}
    try:
        data = ProductCreate(**values)
        limit(request, "write", me)
        item = products_service.create(session, actor=me, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        return _new_form(request, values, field_errors(exc, NEW_FIELDS), status=422)
    except Conflict as exc:  # the slug is taken
        session.rollback()
        return _new_form(request, values, {"slug": exc.detail}, status=409)
    except RateLimited as exc:
        return _new_form(request, values, {"form": exc.detail}, status=429, headers=exc.headers)
    flash(request, f"{item.name} is added to the catalog.")
    return redirect(f"/products/{item.slug}")


def _managed_product(session: Session, me: User, slug: str) -> Product:
    _require_manager(me)
    return products_service.get(session, slug)


@router.get("/products/{slug}/edit")
def edit_product_form(request: Request, slug: str, session: SessionDep, me: Me) -> Response:
    item = _managed_product(session, me, slug)
    return _edit_form(request, item, {"name": item.name, "description": item.description or "",
                                      "first_posts_review": item.first_posts_review})


@router.post("/products/{slug}/edit")
def edit_product(request: Request, slug: str, session: SessionDep, me: Me, form: FormData) -> Response:
    _managed_product(session, me, slug)
    values = {k: form.get(k, "") for k in EDIT_FIELDS}
    review_first = form.get("first_posts_review") == "on"
    try:
        data = ProductUpdate(**values, first_posts_review=review_first)
        limit(request, "write", me)
        item = products_service.update(session, actor=me, slug=slug, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        return _edit_form(request, _managed_product(session, me, slug), {**values, "first_posts_review": review_first},
                          field_errors(exc, EDIT_FIELDS),
                          status=422)
    except RateLimited as exc:
        return _edit_form(request, _managed_product(session, me, slug), {**values, "first_posts_review": review_first},
                          {"form": exc.detail}, status=429,
                          headers=exc.headers)
    flash(request, "Your changes to the product are saved.")
    return redirect(f"/products/{item.slug}")


# --- product pages ----------------------------------------------------------------------------------


@router.get("/products/{slug}")
@anonymous_cached()
def product(request: Request, slug: str, session: SessionDep, viewer: Viewer, sort: Text = None, tag: Text = None,
            solved: Text = None, cursor: Cursor = None, top: Text = None) -> Response:
    item = products_service.get(session, slug)
    ctx = question_list(session, path=f"/products/{item.slug}", sort=sort, product=item.slug, tag=tag, solved=solved,
                        cursor=cursor, fixed=("product",), memo=request.app.state.page_cache)
    ctx["top_panel"] = top_contributors_panel(session, path=f"/products/{item.slug}", query=dict(request.query_params),
                                              top=top, product_id=item.id, memo=request.app.state.page_cache)
    return render(request, "products/detail.html", {
        **ctx, "heading": f"{item.name}", "page_title": f"{item.name} questions",
        "product": {"slug": item.slug, "name": item.name, "description": item.description},
        "tag_name": None, "can_manage": can_manage_products(viewer),
        "follow": follow_button(session, viewer, "product", item.id, item.slug, "product", f"/products/{item.slug}"),
        "meta_description": (item.description or f"Questions and answers about {item.name}.")[:200],
    })


# `path`: a tag never holds "/", but a percent-decoded "%2F" must reach the handler (a 404 from it,
# not a routing miss) and "." must never be read as a file extension.
@router.get("/tags/{name:path}")
@anonymous_cached()
def tag(request: Request, name: str, session: SessionDep, viewer: Viewer, sort: Text = None, product: Text = None,
        solved: Text = None, cursor: Cursor = None) -> Response:
    """A tag's questions. The name arrives percent-decoded (`/tags/c%23` is `c#`); any other spelling
    of a tag (`/tags/C%23`, a full-width `ｃ＃`) redirects to the tag's own address."""
    found = questions_service.get_tag(session, name)
    if name != found.name:
        query = request.url.query
        return RedirectResponse(tag_path(found.name) + (f"?{query}" if query else ""), status_code=301)
    ctx = question_list(session, path=tag_path(found.name), sort=sort, product=product, tag=found.name,
                        solved=solved, cursor=cursor, fixed=("tag",), memo=request.app.state.page_cache)
    return render(request, "questions/list.html", {
        **ctx, "heading": f"Questions tagged “{found.name}”", "page_title": f"Questions tagged {found.name}",
        "product": None, "tag_name": found.name, "top_panel": None,
        "follow": follow_button(session, viewer, "tag", found.name, found.name, "tag", tag_path(found.name)),
        "meta_description": f"Community questions and answers tagged {found.name}.",
    })


SITEMAP_MAX = 50_000  # URLs in one sitemap file (sitemaps.org protocol)
SITEMAP_TAGS = 1_000  # the most used tags get their page listed; the rest are reached through questions


@router.get("/sitemap.xml")
def sitemap(request: Request, session: SessionDep) -> Response:
    base = request.app.state.settings.base_url.rstrip("/")
    urls: list[tuple[str, str | None]] = [(f"{base}/", None), (f"{base}/products", None)]
    urls += [(f"{base}/products/{p.slug}", None) for p in products_service.list_products(session)]
    urls += [(base + tag_path(name), None) for name, _ in questions_service.popular_tags(session, SITEMAP_TAGS)]
    cursor = None
    while len(urls) < SITEMAP_MAX:
        page = questions_service.list_questions(session, sort="active", limit=100, cursor=cursor)
        for q in page.items:
            if q.status == "duplicate":  # its canonical page is the original's: list only that
                continue
            lastmod = q.last_activity_at
            urls.append((base + question_url(q.id, q.slug), lastmod.strftime("%Y-%m-%d") if lastmod else None))
        cursor = page.next_cursor
        if not cursor:
            break
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for loc, lastmod in urls[:SITEMAP_MAX]:
        lines.append(f"  <url><loc>{escape(loc)}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>")
    lines.append("</urlset>")
    return Response("\n".join(lines) + "\n", media_type="application/xml")


@router.get("/robots.txt")
def robots(request: Request) -> Response:
    base = request.app.state.settings.base_url.rstrip("/")
    body = ("User-agent: *\n"
            "Disallow: /ask\nDisallow: /signin\nDisallow: /signup\nDisallow: /api/\n"
            "Disallow: /questions/*/edit\nDisallow: /answers/*/edit\n"
            "Disallow: /products/new\nDisallow: /products/*/edit\n"
            "Disallow: /questions/*/suggest-edit\nDisallow: /answers/*/suggest-edit\n"
            "Disallow: /review/\nDisallow: /moderation/\n"
            f"\nSitemap: {base}/sitemap.xml\n")
    return PlainTextResponse(body)
