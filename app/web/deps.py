"""What every forum route shares: the viewer, CSRF-checked forms, flash messages, rendering,
safe redirects, and a route class that turns domain errors into friendly pages."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import client_key, session_uid, session_user
from app.accounts.models import User
from app.core import security
from app.core.db import ROLL_BACK, SessionDep, ends_request_session
from app.core.ids import PathId
from app.core.errors import DomainError, Forbidden, NotAuthenticated
from app.questions.views import UserView

# Path ids outside 1..2^31-1 (app/core/ids.py) are a 404-style mistake on pages, never a database
# error; query text is bounded.
Id = PathId
Text = Annotated[str | None, Query(max_length=200)]

# --- redirects ----------------------------------------------------------------------------------


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to after signing in; anything else (other hosts, schemes) is refused."""
    if not value or not isinstance(value, str) or len(value) > 1000:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def back_path(request: Request) -> str:
    """Where the visitor came from: the page itself for GET, the referring page of ours for POST."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = request.headers.get("referer") or ""
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc == request.url.netloc:
        return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    return "/"


def signin_url(next_path: str) -> str:
    return "/signin?next=" + quote(safe_next(next_path), safe="/")


def redirect(url: str) -> RedirectResponse:
    """After a successful POST: 303 See Other, so that reloading does not post again."""
    return RedirectResponse(url, status_code=303)


# --- session: CSRF token, flash, sign-in ---------------------------------------------------------


def _session(request: Request) -> dict | None:
    return request.session if "session" in request.scope else None


# The forms of a cached anonymous page (votes) carry this instead of a visitor's token: no session
# ever holds it, and those forms only lead a signed-out visitor to the sign-in page.
SIGNED_OUT_TOKEN = "signed-out"


def csrf_token(request: Request) -> str:
    if is_anonymous_page(request):
        return SIGNED_OUT_TOKEN
    session = _session(request)
    if session is None:
        return ""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = security.new_csrf_token()
    return token


def flash(request: Request, text: str, kind: str = "success", link: tuple[str, str] | None = None) -> None:
    """A one-time message for the next page; `link` is an optional local (href, label) shown after it."""
    session = _session(request)
    if session is not None:
        session["flash"] = {"kind": kind, "text": text}
        if link is not None:
            session["flash"]["link"] = {"href": safe_next(link[0]), "label": link[1]}


def pop_flash(request: Request) -> dict | None:
    session = _session(request)
    if session is None:
        return None
    value = session.pop("flash", None)
    return value if isinstance(value, dict) and "text" in value else None


def sign_in(request: Request, db: Session, user: User) -> None:
    """A fresh session for the user: nothing from before signing in carries over, new CSRF token,
    and a new server-side sign-in session (AuthSession) whose id the signed cookie carries."""
    from app.accounts import service as accounts_service

    request.session.clear()
    request.session["uid"] = user.id
    request.session["tv"] = user.token_version
    request.session["sid"] = accounts_service.start_session(
        db, user, kind="web", max_age=request.app.state.settings.session_max_age)
    request.session["csrf"] = security.new_csrf_token()
    request.state.viewer_view = UserView.of(user)


def sign_out(request: Request, db: Session) -> None:
    """End this browser's sign-in on the server too (a copy of the cookie stops working)."""
    from app.accounts import service as accounts_service

    accounts_service.end_session(db, request.session.get("sid"))
    request.session.clear()
    request.session["csrf"] = security.new_csrf_token()
    request.state.viewer_view = None


# --- the viewer ----------------------------------------------------------------------------------


class SignInRequired(NotAuthenticated):
    def __init__(self, next_path: str):
        super().__init__("Sign in to continue.")
        self.next_path = next_path


async def current_viewer(request: Request, session: SessionDep) -> User | None:
    """The signed-in user, or None. Async so that an anonymous visit, whose cookie names nobody,
    is answered on the event loop: only a cookie that names a user costs the thread-pool trip
    (about 84 µs of CPU, issue 11) in which the user and the header's counts are read."""
    if session_uid(request) is None:
        request.state.viewer_view = None
        request.state.nav = EMPTY_NAV
        return None
    return await run_in_threadpool(_resolve_viewer, request, session)


def _resolve_viewer(request: Request, session: Session) -> User | None:
    user = session_user(request, session)
    request.state.viewer_view = UserView.of(user) if user else None
    request.state.nav = nav_for(session, user)
    return user


EMPTY_NAV: dict[str, Any] = {"review_edits": 0, "moderation": False, "notifications": 0, "support_queue": None,
                             "flags": None, "suspended_until": None, "internal": False}


def nav_for(session: Session, user: User | None) -> dict[str, Any]:
    """The header's links: "Review (N)" for edit reviewers, "Voting reports" for moderators,
    "Support queue (N)" for staff, "Notifications (N)" for everyone signed in."""
    from sqlalchemy import func
    from sqlmodel import select

    from app.accounts import permissions
    from app.questions.models import SuggestedEdit

    if user is None:
        return EMPTY_NAV
    waiting = 0
    if permissions.can_review_edits(user):
        waiting = session.exec(select(func.count()).select_from(SuggestedEdit).where(
            SuggestedEdit.status == "pending", SuggestedEdit.author_id != user.id)).one()
    from app.escalation import policy as escalation_policy
    from app.escalation.models import Escalation
    from app.notifications import service as notifications

    queue = None
    if escalation_policy.is_agent(user):  # "Support queue (N)": escalations nobody has claimed yet
        queue = int(session.exec(select(func.count()).select_from(Escalation).where(Escalation.status == "open")).one())
    flagged = None
    if user.can_moderate:  # "Flags (N)": posts with open flags, and posts waiting for review
        from app.moderation.models import Flag

        posts = select(Flag.post_type, Flag.post_id).where(Flag.status == "open").distinct().subquery()
        flagged = int(session.exec(select(func.count()).select_from(posts)).one())
    return {"review_edits": int(waiting), "moderation": permissions.can_review_voting(user),
            "notifications": notifications.unread_count(session, user), "support_queue": queue,
            "flags": flagged, "suspended_until": user.suspended_until if user.is_suspended else None,
            "internal": user.can_moderate and user.is_active}  # "Internal" (staff-only space, docs/internal.md)


def required_viewer(request: Request, user: Annotated[User | None, Depends(current_viewer)]) -> User:
    if user is None:
        raise SignInRequired(back_path(request))
    return user


Viewer = Annotated[User | None, Depends(current_viewer)]
Me = Annotated[User, Depends(required_viewer)]


def viewer_view(request: Request) -> UserView | None:
    """The signed-in user for the layout; resolved once per request (also on error pages)."""
    if hasattr(request.state, "viewer_view"):
        return request.state.viewer_view
    view = None
    session = _session(request)
    if session and isinstance(session.get("uid"), int):
        try:
            with Session(request.app.state.engine) as db:
                user = session_user(request, db)
                view = UserView.of(user) if user else None
        except Exception:  # noqa: BLE001 - an error page must render even when the database is down
            view = None
    request.state.viewer_view = view
    return view


def layout_nav(request: Request) -> dict[str, Any]:
    """The header's counts for this request: those the route computed, or (error pages rendered
    outside a forum route, e.g. 404 for an unknown address) read now for the signed-in viewer."""
    nav = getattr(request.state, "nav", None)
    if nav is not None:
        return nav
    nav = EMPTY_NAV
    session = _session(request)
    if session and isinstance(session.get("uid"), int):
        try:
            with Session(request.app.state.engine) as db:
                nav = nav_for(db, session_user(request, db))
        except Exception:  # noqa: BLE001 - an error page must render even when the database is down
            nav = EMPTY_NAV
    request.state.nav = nav
    return nav


# --- forms ---------------------------------------------------------------------------------------


class CsrfRefused(Forbidden):
    title = "This form has expired"

    def __init__(self) -> None:
        super().__init__("The form you sent was out of date or did not come from this site, so nothing was "
                         "changed. Go back, reload the page and try again.")


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, once its csrf_token matches the session's (403 otherwise)."""
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not security.same_token(token, (_session(request) or {}).get("csrf")):
        raise CsrfRefused()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(checked_form)]


# --- rate limits ---------------------------------------------------------------------------------


def limit(request: Request, scope: str, user: User) -> None:
    request.app.state.limiter.hit(scope, f"u{user.id}")


def client_ip(request: Request) -> str:
    return client_key(request)


# --- rendering -----------------------------------------------------------------------------------


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    """Render a page; the layout's keys (viewer, csrf_token, flash, site_name…) come from
    app.web.templating.layout_context."""
    templates = request.app.state.templates
    return templates.TemplateResponse(request, template, dict(context or {}), status_code=status, headers=headers)


def error_page(request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None):
    problem = {"status": status, "title": title, "detail": detail}
    return render(request, "error.html", {"problem": problem}, status=status, headers=headers or None)


# --- the anonymous-page cache and HTTP caching (app/web/pagecache.py, docs/performance.md) ---------

# Cache-Control max-age of a page for a visitor who is not signed in: browsers and shared caches
# may keep it this many seconds (Vary: Cookie keeps it from anyone with other cookies).
ANONYMOUS_MAX_AGE = 30


def anonymous_cached(question_param: str | None = None):
    """Mark a forum GET route as one whose anonymous page is cached (app/web/pagecache.py); with
    `question_param`, the path parameter naming the page's question (its entry is dropped when
    that question changes); without, a list page (dropped on every change)."""
    def mark(endpoint):
        endpoint.anonymous_cache = {"question_param": question_param}
        return endpoint
    return mark


def is_anonymous_page(request: Request) -> bool:
    """Whether this page is being rendered for the shared anonymous cache: the layout then leaves
    out everything personal (the CSRF token: an anonymous visitor's forms only lead to sign-in)."""
    return bool(getattr(request.state, "anonymous_page", False))


def _anonymous_key(request: Request) -> str | None:
    """The cache key of a GET by a visitor who is not signed in and has no message waiting; None
    when the page must be rendered for this visitor."""
    if request.method != "GET":
        return None
    session = _session(request) or {}
    if session.get("uid") is not None or session.get("flash"):
        return None
    return request.url.path + "?" + request.url.query


def _cache_headers(request: Request, etag: str | None, anonymous: bool) -> dict[str, str]:
    """Cache-Control (and the ETag) of a forum page. `Vary: Cookie` comes from the session
    middleware, which adds it to every answer that looked at the session (these all do)."""
    if not anonymous:
        return {"Cache-Control": "private, no-store"}
    # Nothing personal in it and no Set-Cookie with it (the session is only read): any cache may
    # keep it briefly, for requests with the same cookies.
    headers = {"Cache-Control": f"public, max-age={ANONYMOUS_MAX_AGE}"}
    if etag:
        headers["ETag"] = etag
    return headers


def _page_answer(request: Request, page) -> Response:
    from app.web.pagecache import etag_matches

    headers = _cache_headers(request, page.etag, anonymous=True)
    if etag_matches(request.headers.get("if-none-match"), page.etag):
        return Response(status_code=304, headers=headers)
    return Response(page.body, media_type=page.media_type, headers=headers)


class WebRoute(APIRoute):
    """Forum routes always answer with pages: domain errors become the friendly error page,
    a missing sign-in becomes a redirect to the sign-in form that comes back afterwards.
    Routes marked with @anonymous_cached serve anonymous visitors from the page cache.
    A sync endpoint ends the request's session in its own thread-pool trip once it has returned
    (app/core/db.ends_request_session): its return value is the page as sent."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, ends_request_session(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        guarded = self._guarded_handler()
        marked = getattr(self.endpoint, "anonymous_cache", None)
        if marked is None:
            return guarded
        question_param = marked["question_param"]

        async def cached(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            cache = request.app.state.page_cache
            key = _anonymous_key(request)
            if key is None or not cache.enabled:
                request.state.anonymous_page = key is not None
                response = await guarded(request)
                if request.method == "GET" and response.status_code == 200:
                    response.headers.update(_cache_headers(request, None, anonymous=key is not None))
                return response
            if cache.due():
                await run_in_threadpool(cache.refresh)
            page = cache.get(key)
            if page is not None:
                return _page_answer(request, page)
            position = cache.position()
            request.state.anonymous_page = True
            response = await guarded(request)
            body = getattr(response, "body", None)
            if response.status_code != 200 or not body or getattr(request.state, "viewer_view", None) is not None:
                return response
            question_id = None
            if question_param is not None:
                question_id = int(request.path_params[question_param])
            page = cache.put(key, bytes(body), media_type=response.media_type or "text/html",
                             question_id=question_id, position=position)
            return _page_answer(request, page)

        return cached

    def _guarded_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, NotAuthenticated, DomainError, RequestValidationError) as exc:
                # Answered with a page, not raised through the request's session: undo what the
                # failed action flushed (app/core/db.get_session), as an API error does.
                setattr(request.state, ROLL_BACK, True)
                return self._error_answer(request, exc)

        return guarded

    @staticmethod
    def _error_answer(request: Request, exc: Exception) -> Response:
        """The page (or sign-in redirect) for an error a forum route raised (checked in this order)."""
        if isinstance(exc, SignInRequired):
            flash(request, "Sign in to continue.", "info")
            return redirect(signin_url(exc.next_path))
        if isinstance(exc, NotAuthenticated):
            flash(request, "Sign in to continue.", "info")
            return redirect(signin_url(back_path(request)))
        if isinstance(exc, DomainError):
            headers = {k: v for k, v in exc.headers.items() if k.lower() != "www-authenticate"}
            return error_page(request, exc.status, exc.title, exc.detail, headers)
        assert isinstance(exc, RequestValidationError)
        if all((e.get("loc") or ("",))[0] == "path" for e in exc.errors()):
            return error_page(request, 404, "Page not found", "There is no such page.")
        return error_page(request, 422, "Invalid request",
                          "Some of the values in the address are not valid. Go back and try again.")
