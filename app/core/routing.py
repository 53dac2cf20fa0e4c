"""Routers included as flat lists of routes.

Since FastAPI 0.137, `include_router` keeps the included router as one lazy node (`_IncludedRouter`)
and resolves its routes on every request: each node's candidates are walked once to decide whether it
matches and again to pick the route, with FastAPI's per-candidate bookkeeping, and the walk recurses
into every nested include. Groundswell's pages sit behind two levels of includes (280 routes),
so a question page paid that walk on each request: 22% of the server's CPU for a rendered question
page under load (py-spy, 100k questions, docs/performance.md), and more the later its route is
registered. The upstream proposal to skip routers by prefix (fastapi/fastapi#16159) would not help
the web routes, which share no prefix.

`include_flat` does what `include_router` did before 0.137: it copies every route of the included
router into the including one, with the prefix, tags, dependencies and responses of the include
applied, so the application's router is one list that Starlette matches with one regular expression
per route, in registration order (which decides between overlapping paths, as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def include_flat(target: APIRouter, router: APIRouter, *, prefix: str = "", tags: Sequence[Any] | None = None,
                 dependencies: Sequence[Any] | None = None, responses: dict | None = None,
                 include_in_schema: bool = True) -> None:
    """Add each route of `router` to `target` as `target`'s own route, in order.

    The copy is made with `target.add_api_route`, so `target`'s own dependencies, responses and
    dependency-override provider (the application's, when `target` is `app.router`) apply as they
    would to a route declared on it. Arguments mean what they mean for `include_router`: `prefix` is
    put before each path, `tags` and `dependencies` before the route's own, `responses` under the
    route's own, and `include_in_schema=False` hides every route from the OpenAPI document.

    Raises TypeError for a route that is not an `APIRoute` (a mount or a websocket route): none of
    Groundswell's routers has one, and copying one would lose what `include_router` keeps.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"include_flat copies API routes only, not {type(route).__name__} {route!r}")
        target.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=[*(tags or ()), *route.tags],
            dependencies=[*(dependencies or ()), *route.dependencies],
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses={**(responses or {}), **route.responses},
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema and include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
        )


def first_segment(path: str) -> str:
    """The first segment of a route's path ("" for "/", "questions" for "/questions/{question_id}")."""
    return path.split("/", 2)[1] if path.startswith("/") else path


def hot_routes_first(router: APIRouter, segments: Sequence[str]) -> None:
    """Reorder `router.routes` so that the routes whose path starts with one of `segments` (in that
    order) come first; every other route keeps its place relative to the others.

    Starlette tries the routes in order and takes the first that matches, so a page registered late
    pays one match attempt for every route before it (the question page was number 257 of 280).
    Reordering cannot change which route answers a request: a path whose first segment is S can only
    match routes whose first segment is S, and those keep their relative order. That holds only
    while no route's first segment is a parameter (`/{x}/…` could match any path) and every route has
    a path (a mount at "/" has the empty path and matches everything), so such a route raises
    ValueError here rather than be silently reordered."""
    wild = [getattr(r, "path", repr(r)) for r in router.routes
            if not getattr(r, "path", "") or "{" in first_segment(r.path)]
    if wild:
        raise ValueError("routes whose first segment is a parameter, or that have no path (a mount at '/', "
                         f"a host route: they can match any path), cannot be reordered safely: {wild}")
    rank = {s: i for i, s in enumerate(segments)}
    router.routes[:] = sorted(router.routes, key=lambda r: rank.get(first_segment(r.path), len(rank)))
