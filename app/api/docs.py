"""`/docs`: the interactive API documentation (Swagger UI), served entirely by us.

The Swagger UI build comes from the `fastapi-swagger` package (it tracks Swagger UI releases) and
is served under /docs/assets; the page starts it from /static/swagger-init.js. Nothing comes from
a CDN, so /docs works offline and under the site's Content-Security-Policy with no exception
(FastAPI's own page loads jsDelivr and needs an inline script)."""

from __future__ import annotations

from html import escape
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def assets_dir() -> str:
    return str(resources.files("fastapi_swagger") / "resources")


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
