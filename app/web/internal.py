"""The internal space on the web (docs/internal.md): the staff list and search at /internal, and
the staff-only "Internal knowledge" panel (links and similar internal questions) on public
question pages and escalation pages. Anyone else gets 404 here, as if none of it existed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts.models import User
from app.core.db import SessionDep
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.ids import parse_id
from app.internal import service as internal
from app.internal.visibility import BADGE, can_see_internal
from app.questions import views
from app.web.deps import FormData, Id, Text, Viewer, WebRoute, flash, limit, redirect, render, safe_next

router = APIRouter(route_class=WebRoute)

SUGGESTIONS = 5


def panel(session: Session, viewer: User | None, *, question_id: int, title: str, body: str,
          visibility: str = "public", escalation_id: int | None = None) -> dict[str, Any] | None:
    """What the staff-only panel shows for a question, or None for anyone who may not see the
    internal space (so nothing of it reaches a customer's page). On a public question: the linked
    internal questions, and internal questions similar to it not linked yet. On an internal
    question: the public questions that link it."""
    if not can_see_internal(viewer):
        return None
    if visibility != "public":
        return {"internal": True, "badge": BADGE,
                "linked_from": views.summaries(session, internal.linking_to(session, viewer=viewer, internal_id=question_id))}
    linked = internal.linked_from(session, viewer=viewer, question_id=question_id)
    taken = {q.id for q in linked}
    similar = [s for s in internal.similar(session, actor=viewer, title=title, body=body, limit=SUGGESTIONS + len(taken))
               if s.question.id not in taken][:SUGGESTIONS]
    return {"internal": False, "badge": BADGE, "question_id": question_id, "escalation_id": escalation_id,
            "links": views.summaries(session, linked),
            "suggestions": views.summaries(session, [s.question for s in similar])}


@router.get("/internal")
def internal_list(request: Request, session: SessionDep, viewer: Viewer, q: Text = None) -> Response:
    """Staff, moderators, admins: internal questions, newest activity first, or those matching `q`."""
    if not can_see_internal(viewer):
        raise NotFound("Not found.")
    query = " ".join((q or "").split())[:500]
    rows = internal.list_internal(session, actor=viewer, q=query or None, limit=100)
    return render(request, "internal/list.html", {
        "questions": views.summaries(session, rows), "q": query, "badge": BADGE, "total": internal.count(session),
    })


def _back(form: dict[str, str], question_id: int) -> str:
    return safe_next(form.get("next", ""), default=f"/questions/{question_id}#internal")


@router.post("/questions/{question_id}/internal-links")
def add_link(request: Request, question_id: Id, session: SessionDep, viewer: Viewer, form: FormData) -> Response:
    """Link an internal question (form `internal_id`, optional `escalation_id`) from this public one."""
    if not can_see_internal(viewer):
        raise NotFound("Not found.")
    limit(request, "write", viewer)
    back = _back(form, question_id)
    try:
        internal.link(session, actor=viewer, question_id=question_id, internal_id=form.get("internal_id", ""),
                      escalation_id=parse_id(form.get("escalation_id", "")) if form.get("escalation_id") else None)
    except (InvalidInput, Conflict) as exc:  # a wrong number, too many links: said on the page
        session.rollback()
        flash(request, f"Not linked: {exc.detail}", "error")
        return redirect(back)
    flash(request, "Internal question linked (only staff see the link).")
    return redirect(back)


@router.post("/questions/{question_id}/internal-links/{internal_id}/delete")
def remove_link(request: Request, question_id: Id, internal_id: Id, session: SessionDep, viewer: Viewer,
                form: FormData) -> Response:
    if not can_see_internal(viewer):
        raise NotFound("Not found.")
    limit(request, "write", viewer)
    internal.unlink(session, actor=viewer, question_id=question_id, internal_id=internal_id)
    flash(request, "Link removed.", "info")
    return redirect(_back(form, question_id))
