"""Reputation in the forum: suggested edits and their review queue, the reputation help page,
and the moderators' voting reports. The JSON twin is app/api/reputation.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts import service as accounts_service
from app.accounts.models import User
from app.answers import ranking
from app.answers.models import Answer
from app.core.db import SessionDep
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from app.questions import service as questions_service
from app.questions import suggested_edits, views
from app.questions.models import Question, SuggestedEdit
from app.questions.schemas import AnswerUpdate, QuestionUpdate
from app.reputation import gaming, policy
from app.web.deps import FormData, Id, Me, Viewer, WebRoute, flash, limit, redirect, render
from app.web.forms import LIMITS, field_errors, split_tags
from app.web.questions import _answer_view

router = APIRouter(route_class=WebRoute)


REVIEW_REFUSED = (f"Reviewing suggested edits takes {policy.threshold('edit'):,} reputation "
                  "(moderators and staff always can). See /help/reputation for how to earn it.")
VOTING_REFUSED = "Only moderators and staff handle voting reports."


def _pending_for(session: Session, post_type: str, post_id: int) -> SuggestedEdit | None:
    return session.exec(select(SuggestedEdit).where(
        SuggestedEdit.post_type == post_type, SuggestedEdit.post_id == post_id, SuggestedEdit.status == "pending",
    )).first()


# --- suggesting an edit ----------------------------------------------------------------------------

QUESTION_FIELDS = ("title", "body", "tags", "comment")
ANSWER_FIELDS = ("body", "comment")
SENT = "Your edit was sent for review. A reviewer will apply it or explain why not; it shows as yours once applied."


def _suggest_page(request: Request, session: Session, *, q: views.QuestionDetailView, answer: views.AnswerView | None,
                  values: dict[str, str], errors: dict[str, str] | None = None, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    post_type, post_id = ("answer", answer.id) if answer else ("question", q.id)
    return render(request, "suggest_edit.html", {
        "q": q, "answer": answer, "post_type": post_type, "values": values, "errors": errors or {},
        "limits": LIMITS, "pending": _pending_for(session, post_type, post_id) is not None,
        "action": f"/{post_type}s/{post_id}/suggest-edit",
        "back_url": f"{q.url}#answer-{answer.id}" if answer else q.url,
        "edit_threshold": policy.threshold("edit"),
    }, status=status, headers=headers)


def _suggest(request: Request, session: Session, me: User, post_type: str, post_id: int, data_of, values,
             fields, page) -> Response:
    """Validate and send a suggestion; the form comes back with the problem explained otherwise."""
    try:
        data = data_of(values)
        limit(request, "write", me)
        suggested_edits.suggest(session, actor=me, post_type=post_type, post_id=post_id, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        return page(values, field_errors(exc, fields), 422)
    except Conflict as exc:
        session.rollback()
        return page(values, {"form": exc.detail}, 409)
    except RateLimited as exc:
        return page(values, {"form": exc.detail}, 429, exc.headers)
    flash(request, SENT)
    return None


@router.get("/questions/{question_id}/suggest-edit")
def suggest_question_form(request: Request, question_id: Id, session: SessionDep, me: Me) -> Response:
    q = views.question_detail(session, question_id, me)
    if q.can_edit:
        return redirect(f"/questions/{q.id}/edit")
    values = {"title": q.title, "body": q.body, "tags": " ".join(q.tags), "comment": ""}
    return _suggest_page(request, session, q=q, answer=None, values=values)


@router.post("/questions/{question_id}/suggest-edit")
def suggest_question(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    values = {k: form.get(k, "") for k in QUESTION_FIELDS}

    def page(values, errors, status, headers=None):
        q = views.question_detail(session, question_id, me)
        return _suggest_page(request, session, q=q, answer=None, values=values, errors=errors, status=status,
                             headers=headers)

    refused = _suggest(request, session, me, "question", question_id,
                       lambda v: QuestionUpdate(title=v["title"], body=v["body"], tags=split_tags(v["tags"]),
                                                comment=v["comment"]),
                       values, QUESTION_FIELDS, page)
    if refused is not None:
        return refused
    question = questions_service.get_visible(session, question_id, viewer=me)
    return redirect(views.question_url(question.id, question.slug))


@router.get("/answers/{answer_id}/suggest-edit")
def suggest_answer_form(request: Request, answer_id: Id, session: SessionDep, me: Me) -> Response:
    q, answer = _answer_view(session, answer_id, me)
    if answer.can_edit:
        return redirect(f"/answers/{answer.id}/edit")
    return _suggest_page(request, session, q=q, answer=answer, values={"body": answer.body, "comment": ""})


@router.post("/answers/{answer_id}/suggest-edit")
def suggest_answer(request: Request, answer_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    values = {k: form.get(k, "") for k in ANSWER_FIELDS}

    def page(values, errors, status, headers=None):
        q, answer = _answer_view(session, answer_id, me)
        return _suggest_page(request, session, q=q, answer=answer, values=values, errors=errors, status=status,
                             headers=headers)

    refused = _suggest(request, session, me, "answer", answer_id,
                       lambda v: AnswerUpdate(body=v["body"], comment=v["comment"]), values, ANSWER_FIELDS, page)
    if refused is not None:
        return refused
    q, _answer = _answer_view(session, answer_id, me)
    return redirect(f"{q.url}#answer-{answer_id}")


# --- the review queue --------------------------------------------------------------------------------

def _review_item(session: Session, edit: SuggestedEdit, links, users, me: User) -> dict[str, Any]:
    from app.questions.service import _diff

    url, title = links.get((edit.post_type, edit.post_id), (None, None))
    item: dict[str, Any] = {
        "id": edit.id, "post_type": edit.post_type, "url": url, "title": title,
        "author": views.UserView.of(users.get(edit.author_id)), "summary": edit.comment, "created_at": edit.created_at,
        "mine": edit.author_id == me.id, "title_diff": [], "tags_changed": None, "body_diff": [], "body_changed": False,
    }
    if url is None:  # the post was deleted since
        return item
    if edit.post_type == "question":
        post = session.get(Question, edit.post_id)
        if edit.title is not None and edit.title != post.title:
            item["title_diff"] = _diff(post.title, edit.title)
        current_tags = questions_service.tags_for(session, [post.id]).get(post.id, [])
        new_tags = (edit.tags or "").split()
        if edit.tags is not None and new_tags != current_tags:
            item["tags_changed"] = {"old": current_tags, "new": new_tags}
    else:
        post = session.get(Answer, edit.post_id)
    item["body_diff"] = _diff(post.body, edit.body)
    item["body_changed"] = post.body != edit.body
    return item


def _require_reviewer(me: User) -> None:
    if not permissions.can_review_edits(me):
        raise Forbidden(REVIEW_REFUSED)


@router.get("/review/edits")
def review_queue(request: Request, session: SessionDep, me: Me) -> Response:
    _require_reviewer(me)
    pending = suggested_edits.pending(session, limit=50)
    links = views.post_links(session, {(e.post_type, e.post_id) for e in pending})
    users = accounts_service.users_by_id(session, {e.author_id for e in pending})
    return render(request, "review/edits.html", {
        "items": [_review_item(session, e, links, users, me) for e in pending],
    })


def _review(request: Request, session: Session, me: User, edit_id: int, form: dict[str, str], approve: bool) -> Response:
    _require_reviewer(me)
    note = form.get("note", "").strip()[:300]
    try:
        limit(request, "write", me)
        edit = suggested_edits.review(session, actor=me, edit_id=edit_id, approve=approve, note=note)
    except (Conflict, Forbidden, NotFound, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        return redirect("/review/edits")
    links = views.post_links(session, {(edit.post_type, edit.post_id)})
    url = links.get((edit.post_type, edit.post_id), (None,))[0]
    author = accounts_service.users_by_id(session, {edit.author_id}).get(edit.author_id)
    who = author.shown_name if author else "its author"
    if approve:
        flash(request, f"Approved: the edit by {who} is applied and listed as their revision.",
              link=(url, "See the post") if url else None)
    else:
        flash(request, f"Rejected: the suggestion by {who} is closed and the post stays as it was.", "info")
    return redirect("/review/edits")


@router.post("/review/edits/{edit_id}/approve")
def approve_edit(request: Request, edit_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _review(request, session, me, edit_id, form, approve=True)


@router.post("/review/edits/{edit_id}/reject")
def reject_edit(request: Request, edit_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    return _review(request, session, me, edit_id, form, approve=False)


# --- help: how reputation works -----------------------------------------------------------------------

WHO = {
    "answer_upvoted": "the answer’s author",
    "question_upvoted": "the question’s author",
    "answer_downvoted": "the answer’s author",
    "question_downvoted": "the question’s author",
    "downvoted_answer": "the voter",
    "answer_accepted": "the accepted answer’s author",
    "accepted_answer": "the asker who accepts (not for accepting one’s own answer)",
}


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


@router.get("/help/reputation")
def reputation_help(request: Request, viewer: Viewer) -> Response:
    weights = [(rep, ranking.vote_weight(rep)) for rep in (1, 10, 100, 1_000, 10_000)]
    return render(request, "help/reputation.html", {
        "points": [{"kind": kind, "label": policy.KIND_LABELS.get(kind, kind), "amount": amount,
                    "who": WHO.get(kind, ""), "capped": kind in policy.CAPPED_KINDS}
                   for kind, amount in policy.POINTS.items()],
        "capped_labels": [policy.KIND_LABELS.get(k, k) for k in policy.POINTS if k in policy.CAPPED_KINDS],
        "daily_cap": policy.DAILY_VOTE_CAP,
        "starting": policy.STARTING_REPUTATION,
        "minimum": policy.MINIMUM_REPUTATION,
        "privileges": policy.PRIVILEGES,
        "vote_lock_minutes": int(policy.VOTE_LOCK.total_seconds() // 60),
        "votes_per_day": policy.VOTES_PER_DAY,
        "serial_min_votes": policy.SERIAL_MIN_VOTES,
        "serial_window_hours": _hours(policy.SERIAL_WINDOW),
        "new_account_days": policy.NEW_ACCOUNT_AGE.days,
        "downvote_cost": -policy.POINTS["downvoted_answer"],
        "accepted_points": policy.POINTS["answer_accepted"],
        "accepter_points": policy.POINTS["accepted_answer"],
        "ranking": {
            "weights": weights,
            "accepted_bonus": ranking.ACCEPTED_BONUS,
            "downvote_factor": ranking.DOWNVOTE_FACTOR,
            "prior_max": ranking.PRIOR_MAX,
        },
        "viewer_privileges": {p.key for p in policy.PRIVILEGES if permissions.has_privilege(viewer, p.key)},
    })


# --- moderators: voting reports ---------------------------------------------------------------------

KIND_NAMES = {"serial_voting": "Serial voting", "sock_puppet": "Possible sock puppet"}


def _require_moderator(me: User) -> None:
    if not permissions.can_review_voting(me):
        raise Forbidden(VOTING_REFUSED)


@router.get("/moderation/voting")
def voting_reports(request: Request, session: SessionDep, me: Me) -> Response:
    _require_moderator(me)
    reports = gaming.open_reports(session)
    users = accounts_service.users_by_id(session, {r.voter_id for r in reports} | {r.author_id for r in reports})
    return render(request, "moderation/voting.html", {
        "reports": [{"id": r.id, "kind": r.kind, "kind_name": KIND_NAMES.get(r.kind, r.kind),
                     "voter": views.UserView.of(users.get(r.voter_id)),
                     "author": views.UserView.of(users.get(r.author_id)), "votes": r.votes,
                     "reversed_votes": r.reversed_votes, "detail": r.detail, "created_at": r.created_at}
                    for r in reports],
        "serial_min_votes": policy.SERIAL_MIN_VOTES,
        "serial_window_hours": _hours(policy.SERIAL_WINDOW),
    })


@router.post("/moderation/voting/detect")
def detect_serial_voting(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    from app.accounts import permissions

    permissions.require_user(me)  # a write: refused while suspended
    _require_moderator(me)
    limit(request, "write", me)
    result = gaming.detect_serial_voting(session)
    if result.pairs:
        flash(request, f"Serial-voting check done: {result.pairs} "
                       f"{'pattern' if result.pairs == 1 else 'patterns'} found, {result.votes_reversed} "
                       f"{'vote' if result.votes_reversed == 1 else 'votes'} reversed. Each is listed below.")
    else:
        flash(request, "Serial-voting check done: no patterns found, no votes reversed.", "info")
    return redirect("/moderation/voting")


@router.post("/moderation/voting/{report_id}/resolve")
def resolve_report(request: Request, report_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    _require_moderator(me)
    limit(request, "write", me)
    gaming.resolve_report(session, actor=me, report_id=report_id)
    flash(request, "The report is resolved and leaves the list.")
    return redirect("/moderation/voting")
