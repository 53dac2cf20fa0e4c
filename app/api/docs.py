"""`/docs`: the interactive API documentation (Swagger UI), and `/redoc`: the API reference
(ReDoc), both served entirely by us from templates/api/docs.html, and both pass the same axe
check as every page (docs/api.md, "Accessibility of /docs and /redoc").

The Swagger UI build comes from the `fastapi-swagger` package (it tracks Swagger UI releases) and
is served under /docs/assets; the page starts it from /static/swagger-init.js. Nothing comes from
a CDN, so /docs works offline and under the site's Content-Security-Policy with no exception
(FastAPI's own page loads jsDelivr and needs an inline script).

The ReDoc build comes from the `fastapi-standalone-docs` package (it ships ReDoc's standalone
bundle for FastAPI apps and tracks its releases) and is served under /redoc/assets. /static/redoc-init.js
starts it (no inline script), and it needs neither `eval` nor a CDN. Its styles are <style> elements that styled-components creates: the page
answers with the site's Content-Security-Policy plus a fresh per-response style nonce, which
ReDoc's `nonce` option (given by redoc-init.js from a data attribute: browsers hide `nonce`
attributes from scripts) puts on each of them (no 'unsafe-inline')."""

from __future__ import annotations

import secrets
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.core.middleware import _CSP as SITE_CSP

ASSETS = "/docs/assets"
REDOC_ASSETS = "/redoc/assets"
# The two <style> elements ReDoc's bundle (2.5.x) inserts while it loads, before it can be given
# the nonce: an empty one and perfect-scrollbar's CSS. Pinned by hash; the browser test
# (tests/web/test_browser_touches.py) reports a CSP violation when an update changes them.
REDOC_STYLE_HASHES = ("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
                      "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='")


def assets_dir() -> str:
    return str(resources.files("fastapi_swagger") / "resources")


def redoc_assets_dir() -> str:
    return str(resources.files("fastapi_standalone_docs") / "static" / "redoc")


def install(app: FastAPI, *, title: str) -> None:
    """Serve /docs (Swagger UI) and /redoc (ReDoc) with their assets (create the app with
    docs_url=None and redoc_url=None). Both pages come from templates/api/docs.html: a header with
    a skip link and the way between the two pages, a `main` landmark holding the page's h1 and the
    widget; /static/docs-a11y.js and /static/docs.css make the widgets pass axe (heading levels,
    landmarks, colour contrast; see docs/api.md "Accessibility of /docs and /redoc")."""
    openapi_url = app.openapi_url or "/openapi.json"
    template = app.state.templates.env.get_template("api/docs.html")
    common = {"title": title, "site_name": app.state.settings.site_name, "openapi_url": openapi_url}

    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    page = template.render(kind="swagger", heading="interactive documentation", assets=ASSETS, nonce="", **common)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.mount(REDOC_ASSETS, StaticFiles(directory=redoc_assets_dir()), name="redoc-assets")
    reference = template.render(kind="redoc", heading="reference", assets=REDOC_ASSETS, nonce="{nonce}", **common)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        """The API reference (ReDoc): every route, schema and example of /openapi.json on one page."""
        nonce = secrets.token_urlsafe(18)
        csp = SITE_CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}' {REDOC_STYLE_HASHES}") + (
            "; worker-src 'self' blob:")  # ReDoc's search index runs in a worker it makes from a blob
        return HTMLResponse(reference.replace("{nonce}", nonce), headers={"Content-Security-Policy": csp})

    @app.get("/redoc/logo-mini.svg", include_in_schema=False)
    def redoc_logo() -> FileResponse:
        """ReDoc's "API docs by Redocly" mark, which it asks for next to the page."""
        return FileResponse(f"{redoc_assets_dir()}/logo-mini.svg", media_type="image/svg+xml")
