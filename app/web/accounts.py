"""Sign in, sign up, sign out, and public profiles."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.accounts import service as accounts_service
from app.accounts.schemas import PASSWORD_MIN, UserCreate
from app.core.db import SessionDep
from app.core.errors import Conflict, InvalidInput, RateLimited
from app.questions import service as questions_service
from app.questions import views
from app.reputation import policy
from app.reputation.gaming import signup_fingerprint
from app.reputation import service as reputation
from app.web.deps import FormData, Me, Viewer, WebRoute, client_ip, flash, redirect, render, safe_next, sign_in, sign_out

from app.web.mail import follow_button  # noqa: E402  (the Follow button of this page)

router = APIRouter(route_class=WebRoute)

Next = Annotated[str | None, Query(max_length=1000)]


def _signin_form(request: Request, values: dict[str, str], error: str = "", status: int = 200,
                 headers: dict[str, str] | None = None) -> Response:
    return render(request, "accounts/signin.html", {"values": values, "error": error,
                                                      "signup_url": _with_next("/signup", values["next"])},
                  status=status, headers=headers)


def _with_next(path: str, next_path: str) -> str:
    from urllib.parse import quote

    return f"{path}?next={quote(next_path, safe='/')}" if next_path and next_path != "/" else path


@router.get("/signin")
def signin_form(request: Request, viewer: Viewer, next: Next = None) -> Response:
    target = safe_next(next)
    if viewer is not None:
        return redirect(target)
    return _signin_form(request, {"username": "", "next": target})


@router.post("/signin")
def signin(request: Request, session: SessionDep, form: FormData) -> Response:
    username = form.get("username", "").strip()
    values = {"username": username, "next": safe_next(form.get("next"))}
    try:
        user = accounts_service.sign_in(session, request.app.state.limiter, client_ip(request), username,
                                        form.get("password", ""))
    except RateLimited as exc:
        return _signin_form(request, values, exc.detail, status=429, headers=exc.headers)
    if user is None:
        return _signin_form(request, values, "The username or password is not right. Check them and try again.",
                            status=400)
    sign_in(request, session, user)
    flash(request, f"Welcome back, {user.shown_name}.")
    return redirect(values["next"])


SIGNUP_FIELDS = ("username", "email", "password")


def _signup_form(request: Request, values: dict[str, str], errors: dict[str, str] | None = None, status: int = 200,
                 headers: dict[str, str] | None = None) -> Response:
    from app.moderation import spam

    return render(request, "accounts/signup.html", {
        "form_started": spam.form_started_token(request.app.state.settings.secret),
        "values": values, "errors": errors or {}, "password_min": PASSWORD_MIN,
        "signin_url": _with_next("/signin", values["next"]),
    }, status=status, headers=headers)


@router.get("/signup")
def signup_form(request: Request, viewer: Viewer, next: Next = None) -> Response:
    target = safe_next(next)
    if viewer is not None:
        return redirect(target)
    return _signup_form(request, {"username": "", "email": "", "next": target})


@router.post("/signup")
def signup(request: Request, session: SessionDep, form: FormData) -> Response:
    values = {"username": form.get("username", "").strip(), "email": form.get("email", "").strip(),
              "next": safe_next(form.get("next"))}
    from app.moderation import spam

    settings = request.app.state.settings
    automated = spam.signup_form_refusal(form, secret=settings.secret, min_seconds=settings.signup_min_seconds)
    if automated:  # honeypot filled, or sent faster than a person types: the typed text is kept
        return _signup_form(request, values, {"form": automated}, status=422)
    try:
        data = UserCreate(username=values["username"], email=values["email"], password=form.get("password", ""))
        request.app.state.limiter.hit("sign-up", client_ip(request))
        user = accounts_service.register(session, data, self_service=True,
                                         site_name=request.app.state.settings.site_name)
        # Sock-puppet signals compare a keyed hash of the sign-up address, never the address.
        user.signup_fingerprint = signup_fingerprint(request.app.state.settings.secret, client_ip(request))
    except (ValidationError, InvalidInput, Conflict) as exc:
        session.rollback()
        return _signup_form(request, values, field_errors_for_signup(exc), status=422)
    except RateLimited as exc:
        return _signup_form(request, values, {"form": exc.detail}, status=429, headers=exc.headers)
    sign_in(request, session, user)
    flash(request, f"Welcome to {request.app.state.settings.site_name}, {user.shown_name}! You are signed in. "
                   "Check your inbox for a link to confirm your e-mail address.")
    return redirect(values["next"])


def field_errors_for_signup(exc: Exception) -> dict[str, str]:
    from app.web.forms import field_errors

    errors = field_errors(exc, SIGNUP_FIELDS)
    if ("username" in errors and "taken" not in errors["username"] and "reserved" not in errors["username"]
            and "invisible character" not in errors["username"]):
        errors["username"] = "Use 3–30 characters: letters, digits, '_' or '-'."
    if "password" in errors and errors["password"].startswith(("Use at least", "String should have at least")):
        errors["password"] = f"Use at least {PASSWORD_MIN} characters; a short sentence is easy to remember."
    return errors


@router.post("/signout")
def signout(request: Request, session: SessionDep, form: FormData) -> Response:
    sign_out(request, session)
    flash(request, "You are signed out. See you soon!")
    return redirect("/")


# --- account settings: change password, sign out everywhere ---------------------------------------

PASSWORD_FIELDS = ("current_password", "new_password")


def _settings_page(request: Request, me, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return render(request, "accounts/settings.html", {"me": me, "errors": errors or {}, "password_min": PASSWORD_MIN},
                  status=status)


@router.get("/settings")
def settings_page(request: Request, me: Me) -> Response:
    return _settings_page(request, me)


@router.post("/settings/password")
def change_password(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    from app.web.forms import field_errors

    try:
        accounts_service.change_password(session, me, form.get("current_password", ""), form.get("new_password", ""),
                                         keep_session=request.session.get("sid"),
                                         site_name=request.app.state.settings.site_name)
    except InvalidInput as exc:
        session.rollback()
        return _settings_page(request, me, field_errors(exc, PASSWORD_FIELDS), status=422)
    flash(request, "Your password is changed. Every other browser and app signed in as you is signed out.")
    return redirect("/settings")


@router.post("/signout-everywhere")
def signout_everywhere(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    accounts_service.sign_out_everywhere(session, me)
    sign_out(request, session)
    flash(request, "You are signed out everywhere: on every browser and app, including this one.")
    return redirect("/")


PROFILE_PAGE = 20  # answers / questions / reputation posts per page of a profile tab
SUMMARY_ROWS = 5  # of each on the summary tab
PROFILE_TABS = (("summary", "Summary"), ("questions", "Questions"), ("answers", "Answers"), ("reputation", "Reputation"))
Cursor = Annotated[str | None, Query(max_length=500)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _rep_rows(session, rows) -> list[dict]:
    """Reputation grouped per post, for the template: one row per post with its causes. A post the
    viewer cannot open (`post_visible` False from reputation.by_post) has no link nor title."""
    links = views.post_links(session, {(r.post_type, r.post_id) for r in rows if r.post_visible})
    out = []
    for r in rows:
        url, title = links.get((r.post_type, r.post_id), (None, None)) if r.post_visible else (None, None)
        out.append({"post_type": r.post_type, "url": url, "title": title, "total": r.total, "last_at": r.last_at,
                    "reversed": r.reversed,
                    "causes": [{"label": policy.KIND_LABELS.get(k, k), "events": n, "points": p} for k, n, p in r.kinds]})
    return out


def _page_links(base: str, page: int, pages: int, anchor: str = "") -> dict:
    def url(n: int) -> str:
        return base + (("&" if "?" in base else "?") + f"page={n}" if n > 1 else "") + anchor

    return {"page": page, "pages": pages, "prev_url": url(page - 1) if page > 1 else None,
            "next_url": url(page + 1) if page < pages else None}


@router.get("/users/{username}")
def profile(request: Request, username: str, session: SessionDep, viewer: Viewer, tab: str | None = None,
            sort: str | None = None, cursor: Cursor = None, page: PageNo = 1) -> Response:
    """A person's page (Stack Exchange's profile): counts that link to their lists, and one main
    column per tab: summary (top answers, top questions, reputation by post), every question,
    every answer (with scores), and reputation grouped per post."""
    from app.answers import queries as answer_queries
    from app.badges import service as badges

    user = accounts_service.get_by_username(session, username)
    tab = tab if tab in dict(PROFILE_TABS) else "summary"
    sort = sort if sort in ("newest", "votes") else ("votes" if tab == "summary" else "newest")
    base = f"/users/{user.username}"
    # Hidden posts count and are listed (marked) only for their author and moderators.
    question_count, answer_count = views.post_counts(session, user.id, viewer)
    ctx: dict = {"tab": tab, "sort": sort, "is_first_page": not cursor and page == 1}
    if tab in ("summary", "questions"):
        listed = questions_service.list_questions(session, author_id=user.id, sort=sort, viewer=viewer,
                                                  limit=SUMMARY_ROWS if tab == "summary" else PROFILE_PAGE,
                                                  cursor=cursor if tab == "questions" else None)
        ctx["questions"] = views.summaries(session, listed.items)
        ctx["questions_older_url"] = (f"{base}?{urlencode({'tab': 'questions', 'sort': sort, 'cursor': listed.next_cursor})}"
                                      if tab == "questions" and listed.next_cursor else None)
    if tab in ("summary", "answers"):
        answers, _, pages = answer_queries.by_author(session, user.id, sort=sort, page=page if tab == "answers" else 1,
                                                     size=SUMMARY_ROWS if tab == "summary" else PROFILE_PAGE,
                                                     viewer=viewer)
        ctx["answers"] = answers
        ctx["answers_pages"] = _page_links(f"{base}?tab=answers&sort={sort}", min(page, pages), pages)
    if tab in ("summary", "reputation"):
        rows, _, pages = reputation.by_post(session, user, viewer=viewer, page=page if tab == "reputation" else 1,
                                            size=SUMMARY_ROWS if tab == "summary" else PROFILE_PAGE)
        ctx["rep_rows"] = _rep_rows(session, rows)
        ctx["rep_pages"] = _page_links(f"{base}?tab=reputation", min(page, pages), pages)
    ctx["sort_tabs"] = [{"key": k, "label": label, "current": k == sort,
                         "url": f"{base}?{urlencode({'tab': tab, 'sort': k})}"} for k, label in
                        (("votes", "Most votes"), ("newest", "Newest"))]
    privileges = reputation.privileges_of(user)
    upcoming = next((p for p in privileges if not p.earned), None)
    return render(request, "users/profile.html", {
        **ctx,
        "profile": views.UserView.of(user),
        "profile_url": base,
        "daily_cap": policy.DAILY_VOTE_CAP,
        "tabs": [{"key": k, "label": label, "current": k == tab, "url": base if k == "summary" else f"{base}?tab={k}"}
                 for k, label in PROFILE_TABS],
        "role_label": {"customer": "", "staff": "Staff", "moderator": "Moderator", "admin": "Admin"}.get(user.role, ""),
        "question_count": question_count,
        "answer_count": answer_count,
        "is_me": viewer is not None and viewer.id == user.id,
        "follow": follow_button(session, viewer, "user", user.id, user.username, user.shown_name, f"/users/{user.username}"),
        "privileges": [{"key": p.key, "title": p.title, "description": p.description, "reputation": p.reputation,
                        "earned": p.earned, "missing": max(0, p.reputation - user.reputation),
                        "is_next": upcoming is not None and p.key == upcoming.key} for p in privileges],
        "next_privilege": upcoming,
        "next_missing": max(0, upcoming.reputation - user.reputation) if upcoming else 0,
        # Badges (app/badges/): each held badge once, with how many times and its latest award.
        "badge_summary": badges.summary_for(session, user),
        "badge_tally": badges.tallies(session, [user.id]).get(user.id),
    })
