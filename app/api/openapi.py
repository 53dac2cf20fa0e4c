"""OpenAPI additions for product sites (issue 16 item 6): the `X-API-Key` security scheme with its
scopes, the scope each operation needs from a key (`x-required-scope`, from app/apikeys/scopes.py),
the RateLimit-* headers on every answer, `Retry-After` on 429, and the caching headers on the
public GETs (ETag, Cache-Control, Vary; 304 on If-None-Match)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.apikeys.scopes import SCOPES, required_scope
from app.core.httpcache import max_age_for
from app.api.schemas import Problem

_HEADERS = {
    "RateLimit-Limit": "Requests allowed in the current window for this caller (key, user or address); "
                       "draft-ietf-httpapi-ratelimit-headers-07.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the window resets.",
    "RateLimit-Policy": "The limit as `N;w=SECONDS`.",
}


def install(app: FastAPI) -> None:
    """Replace app.openapi with a builder that adds the above (built once, cached)."""

    def build() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        comps = schema.setdefault("components", {})
        # Error responses refer to it by $ref (app/api/router.py, `_errors`), without a model.
        comps.setdefault("schemas", {}).setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization"))
        comps.setdefault("securitySchemes", {})["ApiKey"] = {
            "type": "apiKey", "in": "header", "name": "X-API-Key",
            "description": "A product site's key (created by staff). Requests act as the key's owner, limited to "
                           "its scopes: " + "; ".join(f"`{k}`: {v}" for k, v in SCOPES.items())
                           + ". A missing scope is a 403 problem with `required_scope`."}
        headers = comps.setdefault("headers", {})
        for name, text in _HEADERS.items():
            headers[name] = {"description": text, "schema": {"type": "integer" if name != "RateLimit-Policy" else "string"}}
        headers["Retry-After"] = {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}
        headers["ETag"] = {"description": "Weak entity tag of the body; send it back in If-None-Match.",
                           "schema": {"type": "string"}}
        headers["Cache-Control"] = {"description": "public, max-age=N for anonymous callers; private, no-cache "
                                                   "with credentials.", "schema": {"type": "string"}}
        for path, ops in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for method, op in ops.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                scope = required_scope(method, path)
                op["x-required-scope"] = scope
                if scope is not None:
                    op.setdefault("security", []).append({"ApiKey": [scope]})
                for status, resp in op["responses"].items():
                    if not isinstance(resp, dict):
                        continue
                    h = resp.setdefault("headers", {})
                    for name in _HEADERS:
                        h[name] = {"$ref": f"#/components/headers/{name}"}
                    if status == "429":
                        h["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
                if method == "get" and max_age_for(path.replace("{question_id}", "1")) is not None:
                    for name in ("ETag", "Cache-Control"):
                        op["responses"].get("200", {}).setdefault("headers", {})[name] = {"$ref": f"#/components/headers/{name}"}
                    op["responses"]["304"] = {"description": "Not modified (If-None-Match matched the ETag)."}
                    op.setdefault("parameters", []).append({"name": "If-None-Match", "in": "header", "required": False,
                                                            "schema": {"type": "string"}})
        app.openapi_schema = schema
        return schema

    app.openapi = build
