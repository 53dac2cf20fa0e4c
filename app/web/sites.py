"""Product sites on the web: /widget.js, and the staff pages for the widget (snippet per product,
live preview), API keys (app/apikeys) and webhooks (app/webhooks, admins)."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts import service as accounts_service
from app.apikeys import service as apikeys_service
from app.apikeys.scopes import SCOPES
from app.core.db import SessionDep
from app.core.errors import DomainError, Forbidden, InvalidInput
from app.core.paths import static_dir
from app.products import service as products_service
from app.webhooks import service as webhooks_service
from app.web.deps import FormData, Id, Me, WebRoute, flash, redirect, render
from app.web.forms import field_errors

router = APIRouter(route_class=WebRoute)

WIDGET_MAX_AGE = 3600  # seconds browsers and CDNs keep /widget.js


@lru_cache(maxsize=1)
def widget_source() -> tuple[bytes, str, int]:
    """(the script, its ETag, its gzipped size in bytes), read once per process."""
    raw = (static_dir() / "widget.js").read_bytes()
    return raw, '"' + hashlib.sha256(raw).hexdigest()[:32] + '"', len(gzip.compress(raw, 9))


@router.get("/widget.js", include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The embeddable widget (docs/product-sites.md); public, cacheable, revalidated by ETag."""
    raw, tag, _ = widget_source()
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={WIDGET_MAX_AGE}",
               "Cross-Origin-Resource-Policy": "cross-origin"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(raw, media_type="text/javascript; charset=utf-8", headers=headers)


def _staff(me) -> None:
    if not me.is_staff:
        raise Forbidden("Only staff can see this page.")


@router.get("/staff/widget")
def widget_page(request: Request, session: SessionDep, me: Me, product: str | None = None) -> Response:
    _staff(me)
    products = products_service.list_products(session)
    chosen = next((p for p in products if p.slug == product), products[0] if products else None)
    base = str(request.base_url).rstrip("/")
    return render(request, "staff/widget.html", {"products": products, "chosen": chosen, "base": base,
                                                 "gzipped": widget_source()[2]})


# --- API keys -----------------------------------------------------------------------------------

KEY_FIELDS = ("name", "owner", "scopes", "allowed_origins", "rate_limit")


def _keys_page(request, session, me, *, values=None, errors=None, created=None, status=200):
    keys = apikeys_service.list_keys(session, actor=me)
    from app.accounts.models import User

    owners = {k.user_id: session.get(User, k.user_id) for k in keys}
    return render(request, "staff/api_keys.html", {
        "keys": keys, "owners": owners, "scopes": SCOPES, "values": values or {"owner": me.username, "scopes": ["read"]},
        "errors": errors or {}, "created": created}, status=status)


@router.get("/staff/api-keys")
def api_keys_page(request: Request, session: SessionDep, me: Me) -> Response:
    _staff(me)
    return _keys_page(request, session, me)


@router.post("/staff/api-keys")
def create_api_key(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    _staff(me)
    scopes = [s for s in SCOPES if form.get(f"scope_{s}")]
    values = {"name": form.get("name", ""), "owner": form.get("owner", "").strip(), "scopes": scopes,
              "allowed_origins": form.get("allowed_origins", ""), "rate_limit": form.get("rate_limit", "").strip()}
    try:
        owner = accounts_service.get_by_username(session, values["owner"] or me.username)
        rate = values["rate_limit"]
        if rate and not rate.isdigit():
            raise InvalidInput("Requests per minute, a whole number.",
                               errors=[{"loc": ["body", "rate_limit"], "msg": "Requests per minute, a whole number."}])
        key, plain = apikeys_service.create(session, actor=me, owner=owner, name=values["name"], scopes=scopes,
                                            allowed_origins=values["allowed_origins"],
                                            rate_limit=int(rate) if rate else None)
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise
        session.rollback()
        errors = field_errors(exc, KEY_FIELDS) if isinstance(exc, InvalidInput) else {"owner": exc.detail}
        return _keys_page(request, session, me, values=values, errors=errors, status=422)
    return _keys_page(request, session, me, created={"key": key, "secret": plain})


@router.post("/staff/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, key_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    _staff(me)
    key = apikeys_service.revoke(session, actor=me, key_id=key_id)
    flash(request, f"Key “{key.name}” revoked; requests with it are refused from now on.")
    return redirect("/staff/api-keys")


@router.post("/staff/api-keys/{key_id}/rotate")
def rotate_api_key(request: Request, key_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    _staff(me)
    key, plain = apikeys_service.rotate(session, actor=me, key_id=key_id)
    return _keys_page(request, session, me, created={"key": key, "secret": plain})


# --- webhooks (admins) --------------------------------------------------------------------------

HOOK_FIELDS = ("url", "events", "description")


def _hooks_page(request, session, me, *, values=None, errors=None, status=200):
    return render(request, "staff/webhooks.html", {
        "endpoints": webhooks_service.list_endpoints(session, actor=me), "events": webhooks_service.EVENTS,
        "values": values or {"url": "", "events": [], "description": ""}, "errors": errors or {},
        "disable_after": webhooks_service.DISABLE_AFTER}, status=status)


@router.get("/staff/webhooks")
def webhooks_page(request: Request, session: SessionDep, me: Me) -> Response:
    return _hooks_page(request, session, me)


@router.post("/staff/webhooks")
def create_webhook(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    events = [e for e in webhooks_service.EVENTS if form.get(f"event_{e}")]
    values = {"url": form.get("url", ""), "events": events, "description": form.get("description", ""),
              "internal": form.get("internal") == "1"}
    try:
        ep = webhooks_service.create_endpoint(session, actor=me, url=values["url"], events=events,
                                              description=values["description"], internal=values["internal"])
    except InvalidInput as exc:
        session.rollback()
        return _hooks_page(request, session, me, values=values, errors=field_errors(exc, HOOK_FIELDS), status=422)
    flash(request, "Endpoint registered. Copy its signing secret into the receiver.")
    return redirect(f"/staff/webhooks/{ep.id}")


@router.get("/staff/webhooks/{endpoint_id}")
def webhook_page(request: Request, endpoint_id: Id, session: SessionDep, me: Me) -> Response:
    ep = webhooks_service.get_endpoint(session, actor=me, endpoint_id=endpoint_id)
    return render(request, "staff/webhook.html", {
        "ep": ep, "deliveries": webhooks_service.deliveries(session, actor=me, endpoint_id=ep.id),
        "attempts": webhooks_service.attempts(session, actor=me, endpoint_id=ep.id, limit=50)})


@router.post("/staff/webhooks/{endpoint_id}/active")
def set_webhook_active(request: Request, endpoint_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    active = form.get("active") == "1"
    webhooks_service.update_endpoint(session, actor=me, endpoint_id=endpoint_id, active=active)
    flash(request, "Endpoint enabled; paused deliveries resume." if active else "Endpoint disabled.")
    return redirect(f"/staff/webhooks/{endpoint_id}")


@router.post("/staff/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver(request: Request, delivery_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    d = webhooks_service.redeliver(session, actor=me, delivery_id=delivery_id)
    flash(request, "Delivery queued again; the worker sends it within seconds.")
    return redirect(f"/staff/webhooks/{d.endpoint_id}")
