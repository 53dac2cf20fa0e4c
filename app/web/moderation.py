"""Forum pages for moderation: flag forms on posts, the flag queue, the review queue, the audit
log, a member's own flags, thread tools (close, lock, protect) and acting on people (suspend,
lift, destroy spammer, roles). Thin routes over app/moderation; every form posts and redirects."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts import service as accounts_service
from app.accounts.models import Role
from app.core.db import SessionDep
from app.core.errors import Conflict, DomainError, InvalidInput, RateLimited
from app.moderation import audit, flags, policy, posts, review, suspensions
from app.questions import views
from app.web.deps import FormData, Id, Me, Text, WebRoute, flash, limit, redirect, render

router = APIRouter(route_class=WebRoute)  # domain errors as forum pages; sign-in by redirect


def _back(ref: posts.PostRef | None, fallback: str = "/") -> str:
    return ref.url if ref is not None else fallback


def _int(value: str | None) -> int | None:
    import re

    found = re.search(r"(\d{1,10})", value or "")
    return int(found.group(1)) if found and int(found.group(1)) <= 2**31 - 1 else None


def _flag(request: Request, session, me, post_type: str, post_id: int, form: dict) -> Response:
    limit(request, "write", me)
    ref = posts.load(session, post_type, post_id, viewer=me)
    url = ref.url
    try:
        flags.raise_flag(session, actor=me, post_type=post_type, post_id=post_id, reason=form.get("reason", ""),
                         text=form.get("text", ""), original_id=_int(form.get("original")))
    except InvalidInput as exc:
        # The question page again (422) with this flag form open, the message beside it and what
        # was typed kept: a reason of invisible characters only must not lose the rest.
        from app.web.forms import field_errors
        from app.web.questions import _question_page

        session.rollback()
        detail = views.question_detail(session, ref.question.id, me)
        return _question_page(request, session, detail, viewer=me, status=422, flag_form={
            "target": f"{post_type}-{post_id}", "reason": form.get("reason", ""), "text": form.get("text", ""),
            "original": form.get("original", ""), "errors": field_errors(exc, ("reason", "text", "original_id"))})
    except (Conflict, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect(url)
    flash(request, "Thanks: your flag is with the moderators. You will be told what they decide.",
          link=("/moderation/my-flags", "Your flags"))
    return redirect(url)


@router.post("/questions/{question_id}/flags")
def flag_question(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _flag(request, session, me, "question", question_id, form)


@router.post("/answers/{answer_id}/flags")
def flag_answer(request: Request, answer_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _flag(request, session, me, "answer", answer_id, form)


@router.post("/comments/{comment_id}/flags")
def flag_comment(request: Request, comment_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _flag(request, session, me, "comment", comment_id, form)


@router.get("/moderation/my-flags")
def my_flags(request: Request, session: SessionDep, me: Me) -> Response:
    mine = flags.my_flags(session, actor=me)
    links = {}
    for f in mine:
        try:
            links[f.id] = posts.load(session, f.post_type, f.post_id, viewer=me, include_deleted=True).url
        except DomainError:
            links[f.id] = None
    return render(request, "moderation/my_flags.html", {
        "flags": mine, "links": links, "reasons": policy.FLAG_REASONS,
        "remaining": flags.remaining_today(session, me), "per_day": policy.FLAGS_PER_DAY,
        "weight": flags.flag_weight(session, me),
    })


# --- moderators ------------------------------------------------------------------------------------

@router.get("/moderation")
def hub(request: Request, session: SessionDep, me: Me) -> Response:
    posts.require_moderator_read(me)
    return redirect("/moderation/flags")


@router.get("/moderation/flags")
def flag_queue(request: Request, session: SessionDep, me: Me, status: Text = None, cursor: Text = None) -> Response:
    status = "all" if status == "all" else "open"
    page = flags.queue(session, actor=me, status=status, cursor=cursor or None)
    next_url = (f"/moderation/flags?{urlencode({'status': status, 'cursor': page.next_cursor})}"
                if page.next_cursor else None)
    return render(request, "moderation/flags.html", {
        "groups": page.items, "status": status, "reasons": policy.FLAG_REASONS, "tab": "flags",
        "pending_count": review.pending_count(session, actor=me), "next_url": next_url, "is_first_page": not cursor,
    })


@router.post("/moderation/flags/{post_type}/{post_id}")
def handle_flags(request: Request, post_type: str, post_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    action = form.get("action", "")
    try:
        handled = flags.handle(session, actor=me, post_type=post_type, post_id=post_id, action=action,
                               note=form.get("note", "")[:300], body=form.get("body") or None,
                               title=form.get("title") or None)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect("/moderation/flags")
    word = "declined" if action == "dismiss" else "marked helpful"
    flash(request, f"Done: {len(handled)} {'flag' if len(handled) == 1 else 'flags'} {word}; the flaggers are told.")
    return redirect("/moderation/flags")


@router.get("/moderation/review")
def review_queue(request: Request, session: SessionDep, me: Me, cursor: Text = None) -> Response:
    page = review.pending(session, actor=me, cursor=cursor or None)
    next_url = f"/moderation/review?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None
    return render(request, "moderation/review.html", {"pending": page.items, "tab": "review", "next_url": next_url,
                                                      "is_first_page": not cursor})


@router.post("/moderation/review/{post_type}/{post_id}")
def review_post(request: Request, post_type: str, post_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    approve = form.get("decision") == "approve"
    try:
        review.decide(session, actor=me, post_type=post_type, post_id=post_id, approve=approve,
                      note=form.get("note", "")[:300])
    except Conflict as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect("/moderation/review")
    flash(request, "Approved: the post is public and its author is told." if approve else "The post is deleted.")
    return redirect("/moderation/review")


@router.get("/moderation/audit-log")
def audit_log(request: Request, session: SessionDep, me: Me, action: Text = None, actor: Text = None,
              target_type: Text = None, target_id: Text = None, cursor: Text = None) -> Response:
    page = audit.entries(session, actor=me, action=action or None, actor_name=actor or None,
                         target_type=target_type or None, target_id=target_id or None, cursor=cursor or None)
    filters = {"action": action or "", "actor": actor or "", "target_type": target_type or "",
               "target_id": target_id or ""}
    from urllib.parse import urlencode

    next_url = ("/moderation/audit-log?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                       "cursor": page.next_cursor})) if page.next_cursor else None
    return render(request, "moderation/audit_log.html", {
        "entries": page.items, "filters": filters, "actions": audit.ACTIONS, "next_url": next_url, "tab": "audit",
        "target_types": ["question", "answer", "comment", "user", "product", "flag", "email", "voting_report"],
    })


# --- threads ------------------------------------------------------------------------------------------

@router.post("/questions/{question_id}/moderate")
def moderate_thread(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    """Close (with a reason), lock/unlock, protect/unprotect a thread from its page. A refused
    action (no reason to close, a reason over 300 characters: 422; the question closed meanwhile:
    409) shows the question page again with the form open, the reason beside it and the typed
    reason kept."""
    limit(request, "write", me)
    what, reason = form.get("do", ""), form.get("reason", "")
    try:
        if what == "close":
            posts.close(session, actor=me, question_id=question_id, reason=reason)
            message = "The question is closed."
        elif what in ("lock", "unlock"):
            posts.set_lock(session, actor=me, question_id=question_id, locked=what == "lock", reason=reason)
            message = "The thread is locked." if what == "lock" else "The thread is unlocked."
        elif what in ("protect", "unprotect"):
            posts.set_protect(session, actor=me, question_id=question_id, protected=what == "protect", reason=reason)
            message = "The question is protected." if what == "protect" else "The question is no longer protected."
        else:
            raise InvalidInput("Choose what to do.")
    except (InvalidInput, Conflict) as exc:
        from app.web.questions import _question_page

        session.rollback()
        detail = views.question_detail(session, question_id, me)
        return _question_page(request, session, detail, viewer=me, status=409 if isinstance(exc, Conflict) else 422,
                              moderate_form={"reason": str(reason)[:2000], "error": exc.detail})
    ref = posts.load(session, "question", question_id, viewer=me)
    flash(request, message)
    return redirect(ref.url)


# --- people -------------------------------------------------------------------------------------------

@router.get("/users/{username}/moderate")
def moderate_user(request: Request, username: str, session: SessionDep, me: Me) -> Response:
    posts.require_moderator_read(me)
    return _moderate_user_page(request, session, me, username)


def _moderate_user_page(request: Request, session, me, username: str, values: dict[str, str] | None = None,
                        error: str = "", status: int = 200) -> Response:
    """The member's moderation page; after a refused action, `values` (the form as typed, with its
    `do`) fill that action's form again and `error` is shown above it."""
    user = accounts_service.get_by_username(session, username)
    stats = flags.flag_stats(session, user.id)
    recent = audit.entries(session, actor=me, target_type="user", target_id=user.username, limit=20).items
    return render(request, "moderation/user.html", {
        "user": views.UserView.of(user), "member": user, "is_suspended": user.is_suspended, "flag_stats": stats,
        "roles": [r.value for r in Role], "is_admin": me.role == Role.admin, "recent": recent,
        "values": values or {}, "error": error,
    }, status=status)


@router.post("/users/{username}/moderate")
def moderate_user_post(request: Request, username: str, session: SessionDep, me: Me, form: FormData) -> Response:
    posts.require_moderator(me)
    limit(request, "write", me)
    what = form.get("do", "")
    back = f"/users/{username}/moderate"
    try:
        if what == "suspend":
            days = _int(form.get("days"))
            user = suspensions.suspend(session, actor=me, username=username, days=days or 0,
                                       reason=form.get("reason", ""))
            flash(request, f"{user.username} is suspended until {user.suspended_until:%Y-%m-%d %H:%M} UTC.")
        elif what == "lift":
            suspensions.lift(session, actor=me, username=username, reason=form.get("reason") or None)
            flash(request, "The suspension is lifted.")
        elif what == "destroy":
            if form.get("confirm") != username:
                raise InvalidInput("Type the username to confirm: destroying a spammer cannot be undone.")
            done = suspensions.destroy_spammer(session, actor=me, username=username, block=form.get("block") or None,
                                               reason=form.get("reason") or "spam")
            flash(request, f"Destroyed {username}: {done.questions} questions, {done.answers} answers and "
                           f"{done.comments} comments deleted, {done.votes} votes removed"
                           + (f", {done.blocked} blocked." if done.blocked else "."))
            return redirect("/moderation/audit-log?action=user.destroy")
        elif what == "role":
            user = suspensions.set_role(session, actor=me, username=username, role=form.get("role", ""),
                                        reason=form.get("reason") or None)
            flash(request, f"{user.username} is now {user.role}.")
        else:
            raise InvalidInput("Choose what to do.")
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        # The page again, with what was typed (a suspension's reason can be long): not a redirect
        # that would lose it.
        typed = {k: str(form.get(k, ""))[:2000] for k in ("do", "days", "reason", "block", "role", "confirm")}
        return _moderate_user_page(request, session, me, username, typed, exc.detail,
                                   status=409 if isinstance(exc, Conflict) else 422)
    return redirect(back)
