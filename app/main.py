"""create_app(): wires settings, database, middleware, routers and error handlers. No logic here."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware

from app.api import docs as api_docs
from app.core import problems
from app.core.config import Settings, get_settings
from app.core.db import engine_for, import_all_models
from app.core.encoding import RequireUtf8
from app.core.httpcache import HttpCache
from app.core.logs import RequestLog
from app.core.middleware import BodySizeLimit, HeadAsGet, InflightLimit, SecurityHeaders
from app.core.paths import static_dir
from app.core.ratelimit import RateLimiter, RateLimitHeaders, RefundRefusedAttempts
from app.web.templating import make_templates

API_DESCRIPTION = """
The Groundswell JSON API for product sites and integrations.

* **Auth**: `Authorization: Bearer <token>` from `POST /api/v1/auth/token` (OAuth2 password flow),
  `X-API-Key` for product sites, or the forum's session cookie plus an `X-CSRF-Token` header.
* **Errors** are RFC 9457 `application/problem+json` with `type`, `title`, `status`, `detail`
  (and `errors` for invalid input).
* **Lists** are `{"items": [...], "next_cursor": "..." | null}`; pass `?cursor=` for the next page and
  `?limit=` (1-100, default 20). Cursors stay valid while new questions arrive.
* **Rate limits**: every answer of an API operation carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
  (draft-ietf-httpapi-ratelimit-headers-07) for its caller (API key, user or address); a limited
  request is a `429` problem with `Retry-After`. Writes have their own, smaller limits.
* **Caching**: the public GETs (questions, question, similar, search, products) send a weak `ETag`,
  answer `If-None-Match` with `304`, and `Cache-Control: public, max-age=N` to anonymous callers.
* **API keys** carry scopes (`read`, `ask`, `deflect`, `escalations:read`, `escalations:write`,
  `webhooks:manage`, `write`); each operation names the one it needs in `x-required-scope`.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """With the embedded backend, apply the search outbox in this process (no worker needed)."""
    from app.search import lifecycle

    _size_thread_pool(app.state.settings.max_inflight)
    from app.mail import lifecycle as mail_lifecycle

    started = lifecycle.start(app.state.settings, app.state.engine)
    mail = mail_lifecycle.start(app.state.settings, app.state.engine)  # the demo's .eml folder
    try:
        yield
    finally:
        mail_lifecycle.stop(mail)
        lifecycle.stop(started)


# Response headers a product page's script may read on a cross-origin API response (CORS
# Access-Control-Expose-Headers): the rate-limit fields (app/core/ratelimit.py), Retry-After on
# 429/503, ETag for If-None-Match (app/core/httpcache.py), Location of a 201, and the request id
# to quote in a support request (app/core/logs.py). docs/api.md, "Calling from a product page".
CORS_EXPOSE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy",
                       "Retry-After", "ETag", "Location", "X-Request-ID")

# Reads that wait on the search backend (Meilisearch, or the search process of a multi-worker
# server): admitted in a lane of their own (app/core/middleware.InflightLimit).
SEARCH_PATHS = ("/search", "/api/v1/search", "/api/v1/questions/similar", "/api/v1/internal/similar")

# Threads beyond the admitted requests' own: static files, /healthz, the session's clean-up.
THREAD_MARGIN = 8


def _size_thread_pool(max_inflight: int) -> None:
    """Sync endpoints and dependencies run in anyio's default thread pool (40 threads): make sure
    every admitted request (max_inflight reads, as many searches and as many writes) has a thread,
    so none waits for one while holding a connection."""
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, 3 * max_inflight + THREAD_MARGIN)  # reads, searches, writes


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    import_all_models()
    app = FastAPI(
        lifespan=_lifespan,
        title="Groundswell API",
        version="1.0",
        description=API_DESCRIPTION,
        docs_url=None,  # app/api/docs.py serves /docs from local assets
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine or engine_for(settings)
    app.state.limiter = RateLimiter(enabled=settings.rate_limits_enabled, storage_url=settings.redis_url,
                                    prefix=settings.redis_prefix)
    from app.mail import outbox as mail_outbox

    mail_outbox.configure(settings)  # links and sender in the mail that requests write
    from app.moderation import spam

    spam.configure(settings)
    app.state.templates = make_templates(strict=settings.env == "test")
    from app.web import pagecache

    app.state.page_cache = pagecache.PageCache(app.state.engine, max_bytes=int(settings.page_cache_mb * 1024 * 1024),
                                               ttl=settings.page_cache_ttl, check_interval=settings.page_cache_check)
    pagecache.register(app.state.page_cache)

    problems.install(app)

    from app.api.router import router as api_router
    from app.core.routing import hot_routes_first, include_flat
    from app.web.routes import router as web_router

    # Flat (app/core/routing.py): one list of routes, not FastAPI's per-request walk of included routers.
    include_flat(app.router, api_router, prefix="/api/v1")
    include_flat(app.router, web_router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(static_dir())), name="static")
    api_docs.install(app, title=app.title)
    from app.api import openapi as api_openapi

    api_openapi.install(app)  # X-API-Key scheme and scopes, RateLimit-* and caching headers

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz():
        from fastapi.responses import JSONResponse

        try:
            with app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            problems.log.warning("readiness: database unreachable: %s", exc)
            database = "unreachable"
        from app.search import service as search_service

        try:
            search = search_service.health(settings, app.state.engine)
        except Exception as exc:  # noqa: BLE001 - search trouble never fails readiness
            search = {"backend": settings.search_backend, "degraded": True, "reasons": [str(exc)[:200]]}
        body = {"status": "ok" if database == "ok" else "unavailable", "database": database, "search": search}
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    # The busiest pages are tried first: question pages, the home list, tag pages, then the API
    # (app/core/routing.py: which route answers a path cannot change, only how soon it is found).
    hot_routes_first(app.router, ("questions", "", "tags", "api"))

    # Order: the outermost runs first. Size limit before anything reads the body or waits for a
    # slot; it and the in-flight limit inside CORS, the session and the security headers, so
    # that their 413 and 503 carry them.
    app.add_middleware(RefundRefusedAttempts)  # innermost: a write refused with 409/422 is not counted
    app.add_middleware(RateLimitHeaders)  # RateLimit-* on API responses, 429s and other problems too
    app.add_middleware(HttpCache)  # ETag, 304 and Cache-Control on the public API GETs (app/core/httpcache.py)
    app.add_middleware(RequireUtf8)  # next: its 422 page has the session and the security headers
    app.add_middleware(InflightLimit, limit=settings.max_inflight, max_queue=settings.max_queue,
                       timeout=settings.queue_timeout, search_paths=SEARCH_PATHS)
    # Before anything reads the body and before a slot is taken; inside the session, CORS and the
    # security headers, so that its 413 (a page for a browser) knows who is signed in and has them.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret,
        session_cookie="gs_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.cookies_secure,
    )
    if settings.cors_origin_list:
        from app.core.cors import ApiCors

        # Product sites call the API with a bearer token or X-API-Key, never the forum's cookie.
        # Browsers hide every response header outside the CORS-safelisted few (Fetch standard) from
        # the calling page unless it is exposed: CORS_EXPOSE_HEADERS lists the ones the API sends.
        app.add_middleware(ApiCors, allow_origins=settings.cors_origin_list,
                           expose_headers=list(CORS_EXPOSE_HEADERS), max_age=600)
    app.add_middleware(SecurityHeaders, hsts=settings.hsts_header)
    app.add_middleware(HeadAsGet)  # everything inside sees a GET: same status and headers, no body
    if settings.trusted_proxy_list:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Next to outermost: only the listed proxies' X-Forwarded-For/-Proto are believed, walking the chain
        # from the right (the nearest hop) past trusted proxies to the first untrusted address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    # Outermost of all: the request id and the access line (app/core/logs.py) wrap everything, and
    # the client address is read after ProxyHeadersMiddleware has resolved it.
    app.add_middleware(RequestLog, trusted_proxies=settings.trusted_proxy_list)
    from app.core.httpcache import VaryMerge

    app.add_middleware(VaryMerge)  # one Vary, each name once (session, cache rules and CORS all add)
    return app
