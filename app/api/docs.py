"""`/docs`: the interactive API documentation (Swagger UI), and `/redoc`: the API reference
(ReDoc), both served entirely by us.

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
from html import escape
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
    """Serve the documentation page at /docs and its assets (create the app with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} – interactive documentation</title>
<link rel="icon" href="{ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="stylesheet" href="/static/docs.css">
</head>
<body>
<header><h1 class="visually-hidden">{escape(title)}: interactive API documentation</h1></header>
<div id="swagger-ui" data-openapi-url="{escape(app.openapi_url or "/openapi.json")}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.mount(REDOC_ASSETS, StaticFiles(directory=redoc_assets_dir()), name="redoc-assets")
    reference = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} – reference</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<noscript>The reference needs JavaScript; the schema itself is at <a href="{escape(app.openapi_url or "/openapi.json")}">{escape(app.openapi_url or "/openapi.json")}</a>, and docs/api.md describes every route.</noscript>
<div id="redoc" data-spec-url="{escape(app.openapi_url or "/openapi.json")}" data-style-nonce="{{nonce}}"></div>
<script src="{REDOC_ASSETS}/redoc.standalone.js"></script>
<script src="/static/redoc-init.js"></script>
</body>
</html>
"""

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
