"""The product catalog: staff manage it, everyone reads it."""

from __future__ import annotations

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.core.errors import Conflict, Forbidden, NotFound, field_error
from app.core.ids import is_id
from app.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from app.core.text import clean_single_line
from app.products.models import Product
from app.products.schemas import ProductCreate, ProductUpdate


def list_products(session: Session) -> list[Product]:
    """Every product, by name, as ORM objects (to change them: staff pages). Pages that only show
    products use `catalog`."""
    return list(session.exec(select(Product).order_by(Product.name, Product.id)).all())


def catalog(session: Session) -> list:
    """Every product, by name then id, as plain read-only rows of (id, slug, name): what list,
    search and ask pages show in their product filters, without building an ORM object per
    product on each request (issue 11: 300 products took a fifth of a list page's CPU that way)."""
    stmt = select(Product.id, Product.slug, Product.name).order_by(Product.name, Product.id)
    return list(session.connection().execute(stmt).all())


def page_products(session: Session, *, limit: int | None = None, cursor: str | None = None) -> Page[Product]:
    """Products by name, keyset-paginated on (name, id)."""
    limit = clamp_limit(limit, default=100)
    stmt = select(Product)
    after = decode_cursor(cursor, 2)
    if after is not None:
        name, pid = after
        if not isinstance(name, str) or not is_id(pid):
            raise field_error("cursor", "The cursor is not valid; start again from the first page.", "query")
        stmt = stmt.where(or_(Product.name > name, and_(Product.name == name, Product.id > pid)))
    rows = list(session.exec(stmt.order_by(Product.name, Product.id).limit(limit + 1)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].name, rows[-1].id])
    return Page(items=rows, next_cursor=next_cursor)


def get(session: Session, slug: str) -> Product:
    product = session.exec(select(Product).where(Product.slug == slug)).first()
    if product is None:
        raise NotFound(f"There is no product {slug!r}.")
    return product


def resolve(session: Session, slug: str | None, where: str = "body") -> Product | None:
    """The product a question is filed under, or a list is filtered by (slug, trimmed and
    case-folded); None for an empty slug. An unknown slug is the caller's mistake: InvalidInput
    (422) located at `[where, "product"]` ("body" for a posted form or JSON field, "query" for a
    filter in the URL)."""
    if not slug:
        return None
    product = session.exec(select(Product).where(Product.slug == slug.strip().lower())).first()
    if product is None:
        raise field_error("product", f"There is no product {slug!r}; pick one from the list or leave it empty.", where)
    return product


def question_counts(session: Session, product_ids: list[int] | None = None) -> dict[int, int]:
    from app.internal.visibility import public_only
    from app.questions.models import Question

    stmt = (
        select(Question.product_id, func.count())
        .where(Question.deleted_at.is_(None), Question.hidden_at.is_(None), Question.product_id.is_not(None),
               public_only(Question))
        .group_by(Question.product_id)
    )
    if product_ids is not None:
        stmt = stmt.where(Question.product_id.in_(product_ids))
    return {pid: n for pid, n in session.exec(stmt).all()}


def _clean_name(name: str) -> str:
    """A product's name as one line (app/core/text.py clean_single_line); 422 on `name` when
    nothing visible is left."""
    name = clean_single_line(name)
    if not name:
        raise field_error("name", "Give the product a name.")
    return name


def create(session: Session, *, actor: User | None, data: ProductCreate) -> Product:
    permissions.require_user(actor)
    if not permissions.can_manage_products(actor):
        raise Forbidden("Only staff manage the product catalog.")
    if session.exec(select(Product.id).where(Product.slug == data.slug)).first() is not None:
        raise Conflict(f"A product with the slug {data.slug!r} exists already.")
    product = Product(slug=data.slug, name=_clean_name(data.name), description=data.description)
    session.add(product)
    session.flush()
    from app.moderation import audit

    audit.record(session, actor=actor, action="product.create", target_type="product", target_id=product.slug,
                 details={"name": product.name})
    return product


def update(session: Session, *, actor: User | None, slug: str, data: ProductUpdate) -> Product:
    permissions.require_user(actor)
    if not permissions.can_manage_products(actor):
        raise Forbidden("Only staff manage the product catalog.")
    product = get(session, slug)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    for field, value in changes.items():
        setattr(product, field, value)
    session.flush()
    from app.moderation import audit

    audit.record(session, actor=actor, action="product.update", target_type="product", target_id=product.slug,
                 details=changes)
    return product
