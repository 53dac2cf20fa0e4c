"""Forum pages for questions and answers: lists, the question page, ask, edit, revisions, and
the small forms on the question page (answer, comment, vote, accept, delete)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts import permissions
from app.accounts.models import User
from app.answers import service as answers_service
from app.badges import service as badge_service
from app.comments import service as comments_service
from app.core.db import SessionDep
from app.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from app.core.ids import is_id, parse_id
from app.products import service as products_service
from app.questions import duplicates as duplicates_service
from app.questions import service as questions_service
from app.questions import views
from app.questions.schemas import (
    TITLE_MAX,
    AcceptIn,
    AnswerCreate,
    AnswerUpdate,
    CommentCreate,
    QuestionCreate,
    QuestionUpdate,
    VoteIn,
)
from app.questions.tags import normalise_tags
from app.reputation import policy
from app.search import service as search_service
from app.votes import service as votes_service
from app.web import internal as internal_web
from app.web.deps import (
    FormData,
    Id,
    Me,
    Text,
    Viewer,
    WebRoute,
    anonymous_cached,
    flash,
    limit,
    redirect,
    render,
    signin_url,
)
from app.web.forms import LIMITS, field_errors, split_tags
from app.web.listing import (
    ANSWER_SORTS,
    answer_tabs,
    pick,
    privilege_hints,
    qa_page_json_ld,
    question_list,
    top_contributors_panel,
)
from app.web.search import SIMILAR_MIN, SIMILAR_MIN_CHARS, possible_originals, relevant_similar

from app.web.mail import follow_button  # noqa: E402  (the Follow button of this page)

router = APIRouter(route_class=WebRoute)

Cursor = Annotated[str | None, Query(max_length=500)]


# --- lists ---------------------------------------------------------------------------------------

def _list_page(request: Request, session: Session, path: str, sort, product, tag, solved, cursor, top) -> Response:
    memo = request.app.state.page_cache
    ctx = question_list(session, path=path, sort=sort, product=product, tag=tag, solved=solved, cursor=cursor, memo=memo)
    heading = "All questions" if path == "/questions" else "Questions from the community"
    return render(request, "questions/list.html", {
        **ctx, "heading": heading, "page_title": None, "product": None, "tag_name": None,
        "top_panel": top_contributors_panel(session, path=path, query=dict(request.query_params), top=top, memo=memo),
        "meta_description": f"Answers from the {request.app.state.settings.site_name} community: "
                            "ask a question, help others, find what solved it.",
    })


@router.get("/")
@anonymous_cached()
def home(request: Request, session: SessionDep, viewer: Viewer, sort: Text = None, product: Text = None,
         tag: Text = None, solved: Text = None, cursor: Cursor = None, top: Text = None) -> Response:
    return _list_page(request, session, "/", sort, product, tag, solved, cursor, top)


@router.get("/questions")
@anonymous_cached()
def questions(request: Request, session: SessionDep, viewer: Viewer, sort: Text = None, product: Text = None,
              tag: Text = None, solved: Text = None, cursor: Cursor = None, top: Text = None) -> Response:
    return _list_page(request, session, "/questions", sort, product, tag, solved, cursor, top)


# --- ask -----------------------------------------------------------------------------------------

ASK_FIELDS = ("title", "body", "tags", "product", "visibility")


def _products(session: Session) -> list[dict[str, str]]:
    return [{"slug": p.slug, "name": p.name} for p in products_service.catalog(session)]


def _ask_form(request: Request, session: Session, values: dict[str, str], errors: dict[str, str] | None = None,
              status: int = 200, headers: dict[str, str] | None = None, similar: list | None = None,
              preview_html: str = "") -> Response:
    """The ask page; with `similar`, the "Do any of these solve your problem?" panel above the form;
    with `preview_html`, the body as it will show."""
    from app.accounts.models import MODERATING_ROLES

    viewer = getattr(request.state, "viewer_view", None)
    return render(request, "questions/ask.html", {
        "preview_html": preview_html,
        # Staff, moderators, admins: "Ask internally" (the staff-only space, docs/internal.md).
        "can_ask_internal": viewer is not None and viewer.role in MODERATING_ROLES,
        "values": values, "errors": errors or {}, "products": _products(session), "limits": LIMITS,
        "similar": similar or [], "seen": ",".join(str(s.id) for s in similar or []),
        "similar_min": SIMILAR_MIN, "similar_min_chars": SIMILAR_MIN_CHARS,
    }, status=status, headers=headers)


def _seen_ids(raw: str) -> set[int]:
    """Ids of the suggestions already shown to the asker (the form's `seen` field)."""
    return {i for i in map(parse_id, raw.split(",")[:50]) if i is not None}


@router.get("/ask")
def ask_form(request: Request, session: SessionDep, me: Me, product: Text = None, title: Text = None,
             visibility: Text = None) -> Response:
    """The ask form; `?title=` fills in the title (the search page's "Ask a question" carries the query)."""
    slug = (product or "").strip().lower()
    known = {p["slug"] for p in _products(session)}
    if product is None:  # remember the last choice: the product of the asker's latest question
        slug = questions_service.last_product_slug(session, me.id) or ""
    return _ask_form(request, session, {"title": " ".join((title or "").split())[:TITLE_MAX], "body": "", "tags": "",
                                        "product": slug if slug in known else "",
                                        "visibility": "internal" if visibility == "internal" else "public"})


@router.post("/ask")
def ask(request: Request, session: SessionDep, me: Me, form: FormData) -> Response:
    values = {k: form.get(k, "") for k in ASK_FIELDS}
    if form.get("preview") == "1":  # "Preview" without JavaScript: the same form, the body rendered below it
        from app.core.markdown import render_markdown

        return _ask_form(request, session, values, preview_html=render_markdown(values["body"][:30_000]))
    try:
        data = QuestionCreate(title=values["title"], body=values["body"], tags=split_tags(values["tags"]),
                              product=values["product"] or None, visibility=values["visibility"] or "public")
        if form.get("confirmed") != "1" and data.visibility == "public":
            # "Do any of these solve your problem?": asked again only when there is something new to show.
            similar = relevant_similar(request, session, title=data.title, product=data.product)
            if {s.id for s in similar} - _seen_ids(form.get("seen", "")):
                # The form's own mistakes first (a tag the rule refuses, an unknown product): shown
                # with the suggestions, the asker would only meet them after choosing to post.
                normalise_tags(data.tags)
                products_service.resolve(session, data.product)
                return _ask_form(request, session, values, similar=similar)
        limit(request, "question", me)
        question = questions_service.ask(session, actor=me, data=data)
        # Shown "Do any of these solve your problem?" and posted anyway: remember what did not help.
        search_service.record_dismissed(session, question=question,
                                        suggested_ids=sorted(_seen_ids(form.get("seen", ""))))
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        return _ask_form(request, session, values, field_errors(exc, ASK_FIELDS), status=422)
    except RateLimited as exc:
        return _ask_form(request, session, values, {"form": exc.detail}, status=429, headers=exc.headers)
    flash(request, "Your question is posted. You will see answers here as they arrive.")
    return redirect(views.question_url(question.id, question.slug))


# --- the question page ----------------------------------------------------------------------------

def _empty_forms() -> dict[str, Any]:
    return {"answer_form": {"body": "", "errors": {}},
            "comment_form": {"target": "", "body": "", "errors": {}},
            "flag_form": {"target": "", "reason": "", "text": "", "original": "", "errors": {}},
            "moderate_form": {"reason": "", "error": ""}}


def _question_page(request: Request, session: Session, detail: views.QuestionDetailView, sort: str = "best", *,
                   viewer: User | None,
                   status: int = 200, headers: dict[str, str] | None = None, **forms: Any) -> Response:
    base_url = request.app.state.settings.base_url.rstrip("/")
    context = {
        "q": detail,
        "answer_sort": sort,
        "answer_tabs": answer_tabs(detail.url, sort),
        "json_ld": qa_page_json_ld(base_url, detail),
        "canonical_url": base_url + detail.url,
        "meta_description": detail.excerpt,
        "accepted": next((a for a in detail.answers if a.is_accepted), None),
        "signin_to_answer_url": signin_url(detail.url + "#your-answer"),
        "limits": LIMITS,
        "privilege_hints": privilege_hints(viewer),
        "helped": 0,  # customers who found their answer here instead of asking (deflections)
        "possible_originals": [],  # for those who can close: possible originals, one click each
        "passed_over": [],  # for staff and moderators: suggestions the asker saw and passed over
        "support": _support_panel(session, detail, viewer),
        # Following is for public threads (follows notify nobody about internal ones: docs/internal.md).
        "follow": follow_button(session, viewer, "question", detail.id, detail.id, "question", detail.url)
        if detail.visibility == "public" else None,
        # Gold/silver/bronze counts next to the authors' names (app/badges/).
        "badge_tallies": badge_service.tallies(session, [detail.author.id] + [a.author.id for a in detail.answers]),
        # Staff only (None for everyone else): links to internal questions, or where this internal one is linked.
        "internal_panel": internal_web.panel(session, viewer, question_id=detail.id, title=detail.title,
                                             body=detail.body, visibility=detail.visibility),
        "internal_back": detail.url + "#internal",
        **_empty_forms(),
    }
    context.update(forms)
    return render(request, "questions/detail.html", context, status=status, headers=headers)


def _support_panel(session: Session, detail: views.QuestionDetailView, viewer: User | None):
    """"I have this problem too", "I still need help" and the support team's public status."""
    from app.escalation import queries as escalation_queries

    if detail.support is not None:
        return escalation_queries.support_panel(session, viewer=viewer, preloaded=detail.support)
    question = questions_service.get_visible(session, detail.id, viewer=viewer)
    return escalation_queries.support_panel(session, question=question, viewer=viewer)


@router.get("/questions/{question_id}")
def question_short(request: Request, question_id: Id, session: SessionDep, viewer: Viewer) -> Response:
    question = questions_service.get_visible(session, question_id, viewer=viewer)
    url = views.question_url(question.id, question.slug)
    return RedirectResponse(url + (f"?{request.url.query}" if request.url.query else ""), status_code=301)


# Registered before /questions/{id}/{slug}, which would otherwise take "edit" and "revisions" as slugs.
@router.get("/questions/{question_id}/edit")
def edit_question_form(request: Request, question_id: Id, session: SessionDep, me: Me) -> Response:
    detail = views.question_detail(session, question_id, me)
    if not detail.can_edit:
        raise Forbidden("Only the author or a moderator can edit this question.")
    values = {"title": detail.title, "body": detail.body, "tags": " ".join(detail.tags),
              "product": detail.product or "", "comment": ""}
    return _edit_question_form(request, session, detail, values)


def _edit_question_form(request, session, detail, values, errors=None, status=200) -> Response:
    return render(request, "questions/edit.html", {
        "q": detail, "values": values, "errors": errors or {}, "products": _products(session), "limits": LIMITS,
    }, status=status)


EDIT_FIELDS = ("title", "body", "tags", "product", "comment")


@router.post("/questions/{question_id}/edit")
def edit_question(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    values = {k: form.get(k, "") for k in EDIT_FIELDS}
    try:
        data = QuestionUpdate(title=values["title"], body=values["body"], tags=split_tags(values["tags"]),
                              product=values["product"] or None, comment=values["comment"])
        limit(request, "write", me)
        question = questions_service.edit(session, actor=me, question_id=question_id, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        detail = views.question_detail(session, question_id, me)
        if not detail.can_edit:
            raise Forbidden("Only the author or a moderator can edit this question.") from None
        return _edit_question_form(request, session, detail, values, field_errors(exc, EDIT_FIELDS), status=422)
    flash(request, "Your edit is saved.")
    return redirect(views.question_url(question.id, question.slug))


@router.get("/questions/{question_id}/revisions")
def question_revisions(request: Request, question_id: Id, session: SessionDep, viewer: Viewer) -> Response:
    question = questions_service.get_visible(session, question_id, viewer=viewer)
    summary = views.summaries(session, [question])[0]
    return _revisions_page(request, session, "question", question_id, summary, f"Revisions of “{summary.title}”",
                           summary.url)


@router.get("/answers/{answer_id}/revisions")
def answer_revisions(request: Request, answer_id: Id, session: SessionDep, viewer: Viewer) -> Response:
    answer = answers_service.get_visible(session, answer_id, viewer=viewer)
    question = questions_service.get_visible(session, answer.question_id, viewer=viewer)
    summary = views.summaries(session, [question])[0]
    return _revisions_page(request, session, "answer", answer_id, summary, f"Revisions of an answer to “{summary.title}”",
                           f"{summary.url}#answer-{answer_id}")


def _revisions_page(request, session, post_type, post_id, summary, heading, back_url) -> Response:
    items = []
    for r in questions_service.revisions(session, post_type, post_id):
        rev = r.revision
        items.append({
            "number": rev.number,
            "author": views.UserView.of(r.author),
            "created_at": rev.created_at,
            "comment": rev.comment,
            "is_first": rev.number == 1,
            "title": rev.title,
            "title_diff": r.title_diff if any(op != "equal" for op, _ in r.title_diff) else [],
            "body_diff": r.body_diff,
            "body_changed": any(op != "equal" for op, _ in r.body_diff),
            "tags_changed": ({"old": r.tags_changed[0].split(), "new": r.tags_changed[1].split()}
                             if r.tags_changed else None),
        })
    return render(request, "revisions.html", {
        "heading": heading, "question": summary, "post_type": post_type, "revisions": items, "back_url": back_url,
    })


@router.get("/questions/{question_id}/{slug}")
@anonymous_cached(question_param="question_id")
def question_page(request: Request, question_id: Id, slug: str, session: SessionDep, viewer: Viewer,
                  sort: Text = None, quote: Text = None) -> Response:
    sort = pick(sort, ANSWER_SORTS, "best")
    detail = views.question_detail(session, question_id, viewer, sort)
    if slug != detail.slug:
        return RedirectResponse(detail.url + (f"?{request.url.query}" if request.url.query else ""), status_code=301)
    helped = detail.helped
    extra = {}
    if detail.can_close and detail.status == "open" and detail.visibility == "public":
        extra["possible_originals"] = possible_originals(request, session, detail)
    if viewer is not None and (viewer.is_staff or viewer.role == "moderator"):
        extra["passed_over"] = search_service.dismissed_for(session, detail.id)
    if quote and detail.can_answer:  # the Quote button without script: the answer form starts with the quote
        from app.quotes import service as quotes

        extra["answer_form"] = {"body": quotes.quote_block(session, viewer=viewer, ref=quote), "errors": {}}
    return _question_page(request, session, detail, sort, viewer=viewer, helped=helped, **extra)


# --- answers ---------------------------------------------------------------------------------------

@router.post("/questions/{question_id}/answers")
def post_answer(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    body = form.get("body", "")
    try:
        data = AnswerCreate(body=body)
        limit(request, "write", me)
        answer = answers_service.post(session, actor=me, question_id=question_id, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        detail = views.question_detail(session, question_id, me)
        return _question_page(request, session, detail, viewer=me, status=422,
                              answer_form={"body": body, "errors": field_errors(exc, ("body",))})
    except RateLimited as exc:
        detail = views.question_detail(session, question_id, me)
        return _question_page(request, session, detail, viewer=me, status=429, headers=exc.headers,
                              answer_form={"body": body, "errors": {"body": exc.detail}})
    question = questions_service.get_visible(session, question_id, viewer=me)
    flash(request, "Thanks for helping! Your answer is posted.")
    return redirect(f"{views.question_url(question.id, question.slug)}#answer-{answer.id}")


def _answer_view(session: Session, answer_id: Id, viewer: User | None) -> tuple[views.QuestionDetailView, views.AnswerView]:
    answer = answers_service.get_visible(session, answer_id, viewer=viewer)
    detail = views.question_detail(session, answer.question_id, viewer)
    for a in detail.answers:
        if a.id == answer_id:
            return detail, a
    raise NotFound(f"Answer {answer_id} does not exist or was deleted.")


@router.get("/answers/{answer_id}/edit")
def edit_answer_form(request: Request, answer_id: Id, session: SessionDep, me: Me) -> Response:
    detail, answer = _answer_view(session, answer_id, me)
    if not answer.can_edit:
        raise Forbidden("Only the author or a moderator can edit this answer.")
    return render(request, "answers/edit.html", {"q": detail, "answer": answer, "limits": LIMITS, "errors": {},
                                                 "values": {"body": answer.body, "comment": ""}})


@router.post("/answers/{answer_id}/edit")
def edit_answer(request: Request, answer_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    values = {"body": form.get("body", ""), "comment": form.get("comment", "")}
    try:
        data = AnswerUpdate(**values)
        limit(request, "write", me)
        answer = answers_service.edit(session, actor=me, answer_id=answer_id, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        detail, view = _answer_view(session, answer_id, me)
        if not view.can_edit:
            raise Forbidden("Only the author or a moderator can edit this answer.") from None
        return render(request, "answers/edit.html", {
            "q": detail, "answer": view, "limits": LIMITS, "values": values,
            "errors": field_errors(exc, ("body", "comment")),
        }, status=422)
    question = questions_service.get_visible(session, answer.question_id, viewer=me)
    flash(request, "Your edit is saved.")
    return redirect(f"{views.question_url(question.id, question.slug)}#answer-{answer.id}")


# --- comments ----------------------------------------------------------------------------------

def _comment(request: Request, session: Session, me: User, form: dict[str, str], post_type: str, post_id: int,
             question_id: int) -> Response:
    body = form.get("body", "")
    try:
        data = CommentCreate(body=body)
        limit(request, "write", me)
        comment = comments_service.add(session, actor=me, post_type=post_type, post_id=post_id, data=data)
    except (ValidationError, InvalidInput) as exc:
        session.rollback()
        # Not allowed to comment at all (the page offered no form): that reason, not the text's.
        comments_service.authorize(session, actor=me, post_type=post_type, post_id=post_id)
        detail = views.question_detail(session, question_id, me)
        return _question_page(request, session, detail, viewer=me, status=422, comment_form={
            "target": f"{post_type}-{post_id}", "body": body, "errors": field_errors(exc, ("body",))})
    question = questions_service.get_visible(session, question_id, viewer=me)
    flash(request, "Your comment is posted.")
    return redirect(f"{views.question_url(question.id, question.slug)}#comment-{comment.id}")


@router.post("/questions/{question_id}/comments")
def comment_question(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    questions_service.get_visible(session, question_id, viewer=me)
    return _comment(request, session, me, form, "question", question_id, question_id)


@router.post("/answers/{answer_id}/comments")
def comment_answer(request: Request, answer_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    answer = answers_service.get_visible(session, answer_id, viewer=me)
    return _comment(request, session, me, form, "answer", answer_id, answer.question_id)


@router.post("/comments/{comment_id}/delete")
def delete_comment(request: Request, comment_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    comment = comments_service.delete_comment(session, actor=me, comment_id=comment_id)
    question = comments_service.target_question(session, comment.post_type, comment.post_id, viewer=me)
    flash(request, "The comment was deleted.")
    anchor = "question" if comment.post_type == "question" else f"answer-{comment.post_id}"
    return redirect(f"{views.question_url(question.id, question.slug)}#{anchor}")


# --- votes, accept, delete -----------------------------------------------------------------------

def _vote_value(form: dict[str, str]) -> int:
    try:
        return VoteIn(value=int(form.get("value", ""))).value
    except (ValueError, ValidationError):
        raise InvalidInput("A vote is 1 (up), -1 (down) or 0 (take back your vote).") from None


def _vote(request: Request, session: Session, me: User, form: dict[str, str], post_type: str, post_id: int,
          back: str) -> Response:
    """Cast a vote and go back to the post. The refusals a voter can run into by using the page
    (a locked vote, the daily allowance, a privilege not earned yet) come back as a message on
    the question page rather than an error page; anything else is the friendly error page."""
    value = _vote_value(form)
    try:
        limit(request, "vote", me)
        votes_service.cast(session, actor=me, post_type=post_type, post_id=post_id, value=value)
    except (Conflict, RateLimited) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
    except Forbidden:
        if not (value < 0 and not permissions.has_privilege(me, "downvote")):
            raise
        session.rollback()
        need = policy.threshold("downvote")
        flash(request, f"Voting down needs {need:,} reputation; you have {me.reputation:,}. "
                       "Upvote what helped you, and answer questions to earn it.", "error",
              link=("/help/reputation#privilege-downvote", "How reputation works"))
    return redirect(back)


@router.post("/questions/{question_id}/vote")
def vote_question(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    question = questions_service.get_visible(session, question_id, viewer=me)
    return _vote(request, session, me, form, "question", question_id,
                 f"{views.question_url(question.id, question.slug)}#question")


@router.post("/answers/{answer_id}/vote")
def vote_answer(request: Request, answer_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    answer = answers_service.get_visible(session, answer_id, viewer=me)
    question = questions_service.get_visible(session, answer.question_id, viewer=me)
    return _vote(request, session, me, form, "answer", answer_id,
                 f"{views.question_url(question.id, question.slug)}#answer-{answer_id}")


@router.post("/questions/{question_id}/accept")
def accept(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    try:
        answer_id = AcceptIn(answer_id=parse_id(form.get("answer_id"))).answer_id
    except ValidationError:
        raise InvalidInput("Choose the answer to accept.") from None
    limit(request, "write", me)
    question = answers_service.accept(session, actor=me, question_id=question_id, answer_id=answer_id)
    flash(request, "Answer accepted: the question is marked as solved. Thanks for closing the loop!")
    return redirect(f"{views.question_url(question.id, question.slug)}#answer-{answer_id}")


@router.post("/questions/{question_id}/unaccept")
def unaccept(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    question = answers_service.unaccept(session, actor=me, question_id=question_id)
    flash(request, "The answer is no longer accepted; the question is open again.")
    return redirect(views.question_url(question.id, question.slug))


@router.post("/questions/{question_id}/close-as-duplicate")
def close_as_duplicate(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    """The original may be given as a question number or its address (/questions/123/…)."""
    import re

    limit(request, "write", me)
    given = form.get("original", "")
    found = re.search(r"/questions/(\d{1,10})", given) or re.fullmatch(r"\s*#?(\d{1,10})\s*", given)
    if found is None:
        flash(request, "Give the number or the address of the original question.", "error")
        question = questions_service.get_visible(session, question_id, viewer=me)
        return redirect(views.question_url(question.id, question.slug))
    original_id = int(found.group(1))
    if form.get("confirmed") != "1":  # the confirmation step: what will happen, and who is told
        question = questions_service.get_visible(session, question_id, viewer=me)
        permissions.require_privilege(me, "close", "close questions as duplicates")
        if original_id == question.id:
            flash(request, "A question cannot be a duplicate of itself.", "error")
            return redirect(views.question_url(question.id, question.slug))
        try:  # the rule closing applies (hidden, deleted, internal originals), before asking to confirm
            original = duplicates_service.check_original(session, actor=me, question=question, original_id=original_id)
        except InvalidInput as exc:
            flash(request, exc.detail, "error")
            return redirect(views.question_url(question.id, question.slug))
        return render(request, "questions/confirm_duplicate.html", {
            "question": {"id": question.id, "title": question.title, "url": views.question_url(question.id, question.slug)},
            "original": {"id": original.id, "title": original.title, "url": views.question_url(original.id, original.slug),
                         "answer_count": original.answer_count, "solved": original.accepted_answer_id is not None},
        })
    try:
        question = duplicates_service.close_as_duplicate(session, actor=me, question_id=question_id,
                                                         original_id=original_id)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        question = questions_service.get_visible(session, question_id, viewer=me)
        return redirect(views.question_url(question.id, question.slug))
    flash(request, "Closed as a duplicate: readers are sent to the original question, and the asker is told.")
    return redirect(views.question_url(question.id, question.slug))


@router.post("/questions/{question_id}/reopen")
def reopen(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    question = duplicates_service.reopen(session, actor=me, question_id=question_id)
    flash(request, "The question is open again.")
    return redirect(views.question_url(question.id, question.slug))


@router.post("/questions/{question_id}/merge")
def merge(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    """Merge a duplicate's answers into its original, then show the original where they now are."""
    limit(request, "write", me)
    moving = len(answers_service.for_question(session, question_id))
    try:
        question = duplicates_service.merge(session, actor=me, question_id=question_id)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        flash(request, exc.detail, "error")
        question = questions_service.get_visible(session, question_id, viewer=me)
        return redirect(views.question_url(question.id, question.slug))
    original = questions_service.get_visible(session, question.duplicate_of_id, viewer=me)
    if moving:
        flash(request, f"{moving} {'answer' if moving == 1 else 'answers'} of “{question.title}” were moved here, "
                       "each marked with where it came from.")
    else:
        flash(request, f"“{question.title}” is merged into this question; it had no answers to move.")
    return redirect(f"{views.question_url(original.id, original.slug)}#answers")


@router.post("/questions/{question_id}/delete")
def delete_question(request: Request, question_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    try:
        questions_service.delete_question(session, actor=me, question_id=question_id)
    except Conflict as exc:  # an answered thread: say why on the question itself
        session.rollback()
        question = questions_service.get_visible(session, question_id, viewer=me)
        flash(request, exc.detail, "error")
        return redirect(views.question_url(question.id, question.slug))
    flash(request, "The question was deleted.")
    return redirect("/")


@router.post("/answers/{answer_id}/delete")
def delete_answer(request: Request, answer_id: Id, session: SessionDep, me: Me, form: FormData) -> Response:
    limit(request, "write", me)
    try:
        answer = answers_service.delete_answer(session, actor=me, answer_id=answer_id)
    except Conflict as exc:  # an accepted answer: say why on the question itself
        session.rollback()
        answer = answers_service.get_visible(session, answer_id, viewer=me)
        question = questions_service.get_visible(session, answer.question_id, viewer=me)
        flash(request, exc.detail, "error")
        return redirect(f"{views.question_url(question.id, question.slug)}#answer-{answer.id}")
    question = questions_service.get_visible(session, answer.question_id, viewer=me)
    flash(request, "The answer was deleted.")
    return redirect(f"{views.question_url(question.id, question.slug)}#answers")
