"""Flat routers and hot routes first (app/core/routing.py, issue 11): the same application, found sooner.

`include_flat` must give exactly what FastAPI's own `include_router` gives (routes, dependencies,
OpenAPI document, overrides, route classes), and `hot_routes_first` must never change which route
answers a request. No database is needed: the routes are compared, and the small apps answer from
memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Match

from app.core.config import Settings
from app.core.routing import first_segment, hot_routes_first, include_flat

ROOT = Path(__file__).resolve().parent.parent

# --- include_flat against include_router on a small app of our own ---------------------------------------

calls: list[str] = []


def dep_top() -> None:
    calls.append("top")


def dep_mid() -> None:
    calls.append("mid")


def dep_leaf() -> None:
    calls.append("leaf")


class TaggedRoute(APIRoute):
    """A route class of our own (as WebRoute is): its responses carry a header."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def tagged(request: Request) -> Response:
            response = await handler(request)
            response.headers["x-route-class"] = "tagged"
            return response

        return tagged


def _routers() -> APIRouter:
    leaf = APIRouter(route_class=TaggedRoute, tags=["items"])

    @leaf.get("/items/{item_id}", dependencies=[Depends(dep_leaf)], summary="One item")
    def item(item_id: int) -> dict:
        return {"id": item_id}

    @leaf.post("/items", status_code=201, responses={409: {"description": "Taken"}})
    def add(name: str) -> dict:
        return {"name": name}

    @leaf.get("/hidden", include_in_schema=False)
    def hidden() -> dict:
        return {}

    mid = APIRouter(dependencies=[Depends(dep_mid)], responses={418: {"description": "Teapot"}})

    @mid.get("/mid")
    def at_mid() -> dict:
        return {"at": "mid"}

    return leaf, mid


def _app(flat: bool) -> FastAPI:
    leaf, mid = _routers()
    app = FastAPI()
    if flat:
        include_flat(mid, leaf, prefix="/shop")
        include_flat(app.router, mid, prefix="/v1", dependencies=[Depends(dep_top)], tags=["v1"])
    else:
        mid.include_router(leaf, prefix="/shop")
        app.include_router(mid, prefix="/v1", dependencies=[Depends(dep_top)], tags=["v1"])
    return app


def _exchange(app: FastAPI) -> list:
    out = []
    with TestClient(app) as client:
        for method, path, params in [("GET", "/v1/shop/items/3", None), ("GET", "/v1/shop/items/x", None),
                                     ("POST", "/v1/shop/items", {"name": "dock"}), ("DELETE", "/v1/shop/items/3", None),
                                     ("GET", "/v1/mid", None), ("GET", "/v1/shop/hidden", None), ("GET", "/nope", None)]:
            calls.clear()
            r = client.request(method, path, params=params)
            out.append((method, path, r.status_code, r.json(), r.headers.get("x-route-class"), r.headers.get("allow"),
                        list(calls)))
    return out


def test_include_flat_gives_what_include_router_gives():
    nested, flat = _app(flat=False), _app(flat=True)
    assert flat.openapi() == nested.openapi()
    assert "/v1/shop/hidden" not in flat.openapi()["paths"]
    assert flat.openapi()["paths"]["/v1/shop/items/{item_id}"]["get"]["tags"] == ["v1", "items"]
    exchanged = _exchange(flat)
    assert exchanged == _exchange(nested)
    # What the exchange itself shows: dependencies in include order, the route class kept, 405 and 422.
    assert exchanged[0] == ("GET", "/v1/shop/items/3", 200, {"id": 3}, "tagged", None, ["top", "mid", "leaf"])
    assert exchanged[1][2] == 422 and exchanged[3][2] == 405 and exchanged[6][2] == 404


def test_include_flat_routes_honour_the_apps_dependency_overrides():
    app = _app(flat=True)
    app.dependency_overrides[dep_mid] = lambda: calls.append("override")
    with TestClient(app) as client:
        calls.clear()
        assert client.get("/v1/mid").json() == {"at": "mid"}
    assert calls == ["top", "override"]


def test_include_flat_refuses_what_it_cannot_copy():
    router = APIRouter()

    @router.websocket("/ws")
    async def ws(websocket) -> None:  # pragma: no cover - never called
        await websocket.close()

    with pytest.raises(TypeError, match="API routes only"):
        include_flat(APIRouter(), router)


_DUMP = r"""
import json, sys
import app.core.routing as routing
if sys.argv[1] == "nested":  # FastAPI's own include_router wherever Groundswell includes a router
    routing.include_flat = lambda target, router, **kw: target.include_router(router, **kw)
    routing.hot_routes_first = lambda router, segments: None  # included routers have no path to order by
from app.core.config import Settings
from app.main import create_app
app = create_app(Settings(env="production", database_url="sqlite:///:memory:", secret_key="x" * 50,
                          search_semantic="off"))
def dep_names(deps):
    return sorted(getattr(d.dependency, "__name__", type(d.dependency).__name__) for d in deps or [])
routes = []
for r in app.routes:
    if hasattr(r, "effective_route_contexts"):
        for c in r.effective_route_contexts():
            o = c.original_route
            routes.append([c.path, sorted(getattr(o, "methods", None) or []), c.name, type(o).__name__,
                           dep_names(c.dependencies), bool(c.include_in_schema), c.status_code])
    else:
        routes.append([r.path, sorted(getattr(r, "methods", None) or []), r.name, type(r).__name__,
                       dep_names(getattr(r, "dependencies", [])), getattr(r, "include_in_schema", None),
                       getattr(r, "status_code", None)])
print(json.dumps({"routes": sorted(routes, key=str), "openapi": app.openapi()}, sort_keys=True, default=str))
"""


def test_the_application_is_the_same_with_flat_includes():
    """Groundswell built with include_router (FastAPI's lazy included routers) and with include_flat:
    the same routes (path, methods, name, class, dependencies, schema flag, status) and the same
    OpenAPI document. Each build runs in its own interpreter, as the routers are built at import."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    built = {}
    for how in ("nested", "flat"):
        out = subprocess.run([sys.executable, "-c", _DUMP, how], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        built[how] = json.loads(out.stdout)
    assert len(built["flat"]["routes"]) > 250
    assert built["flat"]["routes"] == built["nested"]["routes"]
    assert built["flat"]["openapi"] == built["nested"]["openapi"]


# --- hot_routes_first ---------------------------------------------------------------------------------------


def _groundswell_routes() -> list:
    from app.main import create_app

    app = create_app(Settings(env="production", database_url="sqlite:///:memory:", secret_key="x" * 50,
                              search_semantic="off"))
    return list(app.router.routes)


def _sample_paths(routes) -> list[tuple[str, str]]:
    """(method, path) for every route, its parameters filled in two ways (a number, a word)."""
    out = []
    for route in routes:
        for fill in ("7", "wifi-drops"):
            parts = []
            for seg in route.path.split("/"):
                parts.append(fill if seg.startswith("{") and seg.endswith("}") else seg)
            path = "/".join(parts) or "/"
            if route.path.startswith("/static"):
                path = "/static/app.css"
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                out.append((method, path))
    return sorted(set(out))


def _answer(routes, method: str, path: str):
    """The route Starlette would pick: the first full match, else the first partial one (405)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return ("full", route)
        if match == Match.PARTIAL and partial is None:
            partial = ("partial", route)
    return partial


def _reordered(routes, segments) -> list:
    router = APIRouter()
    router.routes[:] = list(routes)
    hot_routes_first(router, segments)
    return router.routes


def test_hot_routes_first_never_changes_which_route_answers():
    routes = _groundswell_routes()
    samples = _sample_paths(routes)
    assert len(samples) > 300
    segments = sorted({first_segment(r.path) for r in routes})
    orders = [(), tuple(reversed(segments)), tuple(segments), ("api", "static", "questions")]
    expected = {(m, p): _answer(routes, m, p) for m, p in samples}
    assert sum(1 for a in expected.values() if a and a[0] == "full") > 250
    for segs in orders:
        shuffled = _reordered(routes, segs)
        assert sorted(map(id, shuffled)) == sorted(map(id, routes))
        for (method, path), answer in expected.items():
            assert _answer(shuffled, method, path) == answer, (segs, method, path)


def test_the_check_above_sees_a_reorder_that_would_change_answers():
    """Control: moving the question page's catch-all slug before /questions/{id}/edit changes the
    answer for /questions/7/edit, and the comparison used above notices."""
    routes = _groundswell_routes()
    page = next(r for r in routes if r.path == "/questions/{question_id}/{slug}")
    edit = next(r for r in routes if r.path == "/questions/{question_id}/edit" and "GET" in r.methods)
    assert routes.index(edit) < routes.index(page)
    naive = [page] + [r for r in routes if r is not page]
    assert _answer(routes, "GET", "/questions/7/edit") == ("full", edit)
    assert _answer(naive, "GET", "/questions/7/edit") == ("full", page)


def test_hot_routes_first_refuses_a_route_whose_first_segment_is_a_parameter():
    router = APIRouter()

    @router.get("/{anything}/x")
    def anything(anything: str) -> dict:
        return {}

    with pytest.raises(ValueError, match="first segment is a parameter"):
        hot_routes_first(router, ("questions",))


def test_hot_routes_first_refuses_a_mount_at_the_root():
    """A mount at "/" has the empty path and matches every request: moving it with the home
    page's group would let it answer the API's paths."""
    from starlette.routing import Mount

    router = APIRouter()

    @router.get("/api/things")
    def things() -> dict:
        return {}

    router.routes.append(Mount("/", app=lambda scope, receive, send: None))
    with pytest.raises(ValueError, match="no path"):
        hot_routes_first(router, ("", "api"))


def test_the_busiest_pages_are_tried_first():
    """The question page, the home list and the tag pages come before the API and every other page."""
    routes = _groundswell_routes()
    index = {r.path: i for i, r in reversed(list(enumerate(routes)))}
    first_api = min(i for i, r in enumerate(routes) if r.path.startswith("/api/"))
    first_other = min(i for i, r in enumerate(routes)
                      if first_segment(r.path) not in ("questions", "", "tags", "api"))
    for hot in ("/questions/{question_id}/{slug}", "/", "/tags/{name:path}"):
        assert index[hot] < first_api < first_other, hot
