"""JSON API v1 (CONTRACT.md). Thin routes: parse, authorise, call one service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Form, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer

from app.accounts import service as accounts_service
from app.accounts.deps import (CurrentUser, OptionalUser, SettingsDep, address_budget, api_user, bearer_session_id,
                               client_key)
from app.accounts.schemas import PASSWORD_MAX, PasswordChange, UserCreate
from app.answers import service as answers_service
from app.api.deps import Id, ProductFilter, rate_limit, reject_nul
from app.api.schemas import (
    CloseAsDuplicateIn,
    AnswerOut,
    MergeIn,
    CommentOut,
    MeOut,
    Problem,
    ProductList,
    ProductOut,
    QuestionList,
    QuestionOut,
    QuestionSummaryOut,
    RevisionList,
    RevisionOut,
    TagList,
    TagOut,
    TokenOut,
    UserOut,
    VoteOut,
)
from app.comments import service as comments_service
from app.core import security
from app.core.db import SessionDep
from app.core.errors import NotAuthenticated, NotFound
from app.core.routing import include_flat
from app.products import service as products_service
from app.products.schemas import ProductCreate, ProductUpdate
from app.questions import duplicates as duplicates_service
from app.questions import service as questions_service
from app.questions import views
from app.questions.schemas import (
    AcceptIn,
    AnswerCreate,
    AnswerUpdate,
    CommentCreate,
    QuestionCreate,
    QuestionUpdate,
    VoteIn,
)
from app.votes import service as votes_service

# Documents the bearer scheme in OpenAPI; authentication itself is app.accounts.deps.api_user.
_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

# The problem schema by reference, not as `model`: FastAPI would build a response field (a pydantic
# TypeAdapter) per status, per route and per include, ~1 s of every process's start for the
# same eight entries (issue 11: start ≤ 5 s). app/api/openapi.py adds `Problem` to the components.
_errors = {code: {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
           for code in (400, 401, 403, 404, 409, 413, 422, 429)}
# Sign-up and sign-in ignore whatever credentials a client sends along (a stale token must not
# stop it from getting a new one); every other route checks them, so a bad token is always a 401.
auth_router = APIRouter(responses=_errors, dependencies=[Depends(reject_nul), Depends(address_budget)])
resources = APIRouter(responses=_errors, dependencies=[Depends(_oauth2), Depends(reject_nul), Depends(api_user)])



# --- accounts ---------------------------------------------------------------------------------

@auth_router.post("/auth/register", status_code=201, response_model=UserOut, tags=["accounts"])
def register(data: UserCreate, request: Request, session: SessionDep, settings: SettingsDep) -> UserOut:
    from app.reputation.gaming import signup_fingerprint

    request.app.state.limiter.hit("sign-up", client_key(request))
    user = accounts_service.register(session, data, self_service=True, site_name=settings.site_name)
    user.signup_fingerprint = signup_fingerprint(settings.secret, client_key(request))  # sock-puppet signals
    return UserOut.of(user)


@auth_router.post("/auth/token", response_model=TokenOut, tags=["accounts"])
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=PASSWORD_MAX)],
) -> TokenOut:
    """OAuth2 password flow: form fields `username` (or email) and `password` (exactly as typed).
    Each token is a sign-in session of its own: `POST /auth/logout` revokes it."""
    user = accounts_service.sign_in(session, request.app.state.limiter, client_key(request), username, password)
    if user is None:
        raise NotAuthenticated("Wrong username or password.")
    sid = accounts_service.start_session(session, user, kind="token", max_age=settings.token_max_age)
    return TokenOut(access_token=security.issue_token(settings.secret, user.id, user.token_version, sid),
                    expires_in=settings.token_max_age)


@resources.post("/auth/logout", status_code=204, tags=["accounts"])
def logout(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    """Sign out the credential of this request: the bearer token is revoked (or, with the forum's
    cookie, that browser's session ends). Other tokens and sessions stay signed in."""
    sid = bearer_session_id(request, settings)
    if sid is None and "session" in request.scope:
        sid = request.session.get("sid")
        request.session.clear()
    accounts_service.end_session(session, sid)
    return Response(status_code=204)


@resources.post("/auth/logout-all", status_code=204, tags=["accounts"])
def logout_all(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Sign out everywhere: every bearer token and forum session of the caller ends (API keys stay)."""
    accounts_service.sign_out_everywhere(session, user)
    if "session" in request.scope:
        request.session.clear()
    return Response(status_code=204)


@resources.post("/me/password", status_code=204, tags=["accounts"])
def change_password(data: PasswordChange, request: Request, session: SessionDep, settings: SettingsDep,
                    user: CurrentUser) -> Response:
    """Change the caller's password: `{current_password, new_password}` (the policy of sign-up, 422
    otherwise). Every other token and session of the caller is signed out; this one stays."""
    keep = bearer_session_id(request, settings)
    if keep is None and "session" in request.scope:
        keep = request.session.get("sid")
    accounts_service.change_password(session, user, data.current_password, data.new_password, keep_session=keep,
                                     site_name=settings.site_name)
    return Response(status_code=204)


@resources.get("/me", response_model=MeOut, tags=["accounts"])
def me(user: CurrentUser) -> MeOut:
    return MeOut(**UserOut.of(user).model_dump(), email=user.email)


@resources.get("/users/{username}", response_model=UserOut, tags=["accounts"])
def get_user(username: str, session: SessionDep) -> UserOut:
    return UserOut.of(accounts_service.get_by_username(session, username))


# --- products and tags ------------------------------------------------------------------------

def _product_out(product, count: int) -> ProductOut:
    return ProductOut(slug=product.slug, name=product.name, description=product.description,
                      question_count=count, url=f"/products/{product.slug}")


@resources.get("/products", response_model=ProductList, tags=["products"])
def list_products(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ProductList:
    page = products_service.page_products(session, limit=limit, cursor=cursor)
    counts = products_service.question_counts(session, [p.id for p in page.items])
    return ProductList(items=[_product_out(p, counts.get(p.id, 0)) for p in page.items], next_cursor=page.next_cursor)


@resources.get("/products/{slug}", response_model=ProductOut, tags=["products"])
def get_product(slug: str, session: SessionDep) -> ProductOut:
    product = products_service.get(session, slug)
    return _product_out(product, products_service.question_counts(session, [product.id]).get(product.id, 0))


@resources.post("/products", status_code=201, response_model=ProductOut, tags=["products"],
             dependencies=[rate_limit("write")])
def create_product(data: ProductCreate, session: SessionDep, user: CurrentUser) -> ProductOut:
    return _product_out(products_service.create(session, actor=user, data=data), 0)


@resources.patch("/products/{slug}", response_model=ProductOut, tags=["products"], dependencies=[rate_limit("write")])
def update_product(slug: str, data: ProductUpdate, session: SessionDep, user: CurrentUser) -> ProductOut:
    product = products_service.update(session, actor=user, slug=slug, data=data)
    return _product_out(product, products_service.question_counts(session, [product.id]).get(product.id, 0))


@resources.get("/tags", response_model=TagList, tags=["questions"])
def list_tags(session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 50,
              prefix: Annotated[str | None, Query(max_length=35)] = None) -> TagList:
    """The most used tags; with `prefix`, those whose name starts with it (in the tags' normal form),
    most used first: what the ask form suggests while a tag is typed."""
    if prefix is not None:
        from app.questions import directory as tags_directory

        return TagList(items=[TagOut(name=t.name, question_count=t.count)
                              for t in tags_directory.tag_names(session, prefix, limit=limit)])
    return TagList(items=[TagOut(name=n, question_count=c) for n, c in questions_service.popular_tags(session, limit)])


# --- questions --------------------------------------------------------------------------------

@resources.get("/questions", response_model=QuestionList, tags=["questions"])
def list_questions(
    session: SessionDep,
    sort: Literal["newest", "active", "votes", "unanswered"] = "newest",
    product: ProductFilter = None,
    tag: Annotated[str | None, Query(max_length=35)] = None,
    solved: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> QuestionList:
    page = questions_service.list_questions(session, sort=sort, product=product, tag=tag, solved=solved,
                                            limit=limit, cursor=cursor)
    return QuestionList(items=[QuestionSummaryOut.of(v) for v in views.summaries(session, page.items)],
                        next_cursor=page.next_cursor)


def _question_out(session, question_id: int, user, sort: str = "best") -> QuestionOut:
    return QuestionOut.of(views.question_detail(session, question_id, user, sort))


@resources.post("/questions", status_code=201, response_model=QuestionOut, tags=["questions"],
             dependencies=[rate_limit("question")])
def ask(data: QuestionCreate, session: SessionDep, user: CurrentUser, response: Response) -> QuestionOut:
    question = questions_service.ask(session, actor=user, data=data)
    if data.dismissed_suggestions:
        from app.search import service as search_service

        search_service.record_dismissed(session, question=question, suggested_ids=data.dismissed_suggestions)
    response.headers["Location"] = f"/api/v1/questions/{question.id}"
    return _question_out(session, question.id, user)


@resources.get("/questions/{question_id}", response_model=QuestionOut, tags=["questions"])
def get_question(question_id: Id, session: SessionDep, user: OptionalUser,
                 sort: Literal["best", "newest", "oldest"] = "best") -> QuestionOut:
    """The question with its answers in the platform's ranked order (best first), or by date."""
    return _question_out(session, question_id, user, sort)


@resources.patch("/questions/{question_id}", response_model=QuestionOut, tags=["questions"],
              dependencies=[rate_limit("write")])
def edit_question(question_id: Id, data: QuestionUpdate, session: SessionDep, user: CurrentUser) -> QuestionOut:
    questions_service.edit(session, actor=user, question_id=question_id, data=data)
    return _question_out(session, question_id, user)


@resources.delete("/questions/{question_id}", status_code=204, tags=["questions"], dependencies=[rate_limit("write")])
def delete_question(question_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    questions_service.delete_question(session, actor=user, question_id=question_id)
    return Response(status_code=204)


@resources.get("/questions/{question_id}/revisions", response_model=RevisionList, tags=["questions"])
def question_revisions(question_id: Id, session: SessionDep, user: OptionalUser) -> RevisionList:
    questions_service.get_visible(session, question_id, viewer=user)
    return _revisions(session, "question", question_id)


def _revisions(session, post_type: str, post_id: int) -> RevisionList:
    return RevisionList(items=[
        RevisionOut(number=r.revision.number, author=UserOut.of(views.UserView.of(r.author)),
                    created_at=r.revision.created_at, title=r.revision.title, body=r.revision.body,
                    tags=r.revision.tags.split() if r.revision.tags is not None else None, comment=r.revision.comment)
        for r in questions_service.revisions(session, post_type, post_id)
    ])


@resources.post("/questions/{question_id}/vote", response_model=VoteOut, tags=["votes"], dependencies=[rate_limit("vote")])
def vote_question(question_id: Id, data: VoteIn, session: SessionDep, user: CurrentUser) -> VoteOut:
    score, mine = votes_service.cast(session, actor=user, post_type="question", post_id=question_id, value=data.value)
    return VoteOut(score=score, my_vote=mine)


@resources.post("/questions/{question_id}/accept", response_model=QuestionOut, tags=["answers"],
             dependencies=[rate_limit("write")])
def accept(question_id: Id, data: AcceptIn, session: SessionDep, user: CurrentUser) -> QuestionOut:
    answers_service.accept(session, actor=user, question_id=question_id, answer_id=data.answer_id)
    return _question_out(session, question_id, user)


@resources.delete("/questions/{question_id}/accept", response_model=QuestionOut, tags=["answers"],
               dependencies=[rate_limit("write")])
def unaccept(question_id: Id, session: SessionDep, user: CurrentUser) -> QuestionOut:
    answers_service.unaccept(session, actor=user, question_id=question_id)
    return _question_out(session, question_id, user)


@resources.post("/questions/{question_id}/close-as-duplicate", response_model=QuestionOut, tags=["questions"],
                dependencies=[rate_limit("write")])
def close_as_duplicate(question_id: Id, data: CloseAsDuplicateIn, session: SessionDep, user: CurrentUser) -> QuestionOut:
    """Moderators, staff and users with 500 reputation: the question becomes `status: "duplicate"` pointing
    at `duplicate_of`, and the original lists it in `duplicates`."""
    duplicates_service.close_as_duplicate(session, actor=user, question_id=question_id, original_id=data.original_id)
    return _question_out(session, question_id, user)


@resources.post("/questions/{question_id}/reopen", response_model=QuestionOut, tags=["questions"],
                dependencies=[rate_limit("write")])
def reopen(question_id: Id, session: SessionDep, user: CurrentUser) -> QuestionOut:
    duplicates_service.reopen(session, actor=user, question_id=question_id)
    return _question_out(session, question_id, user)


@resources.post("/questions/{question_id}/merge", response_model=QuestionOut, tags=["questions"],
                dependencies=[rate_limit("write")])
def merge(question_id: Id, session: SessionDep, user: CurrentUser,
          data: Annotated[MergeIn | None, Body()] = None) -> QuestionOut:
    """Moderators, staff and users with 500 reputation: the duplicate's answers move to its original,
    each with `merged_from`; returns the duplicate, with `merged_into_at`. 409 once merged. The body
    may be left out for a question already closed as a duplicate."""
    duplicates_service.merge(session, actor=user, question_id=question_id,
                             original_id=data.original_id if data else None)
    return _question_out(session, question_id, user)


@resources.post("/questions/{question_id}/comments", status_code=201, response_model=CommentOut, tags=["comments"],
             dependencies=[rate_limit("write")])
def comment_question(question_id: Id, data: CommentCreate, session: SessionDep, user: CurrentUser) -> CommentOut:
    return _comment_out(comments_service.add(session, actor=user, post_type="question", post_id=question_id, data=data), user)


# --- answers ----------------------------------------------------------------------------------

def _answer_out(session, answer_id: int, user) -> AnswerOut:
    answer = answers_service.get_visible(session, answer_id, viewer=user)
    detail = views.question_detail(session, answer.question_id, user)
    for a in detail.answers:
        if a.id == answer_id:
            return AnswerOut.of(a)
    raise NotFound(f"Answer {answer_id} does not exist or was deleted.")


@resources.post("/questions/{question_id}/answers", status_code=201, response_model=AnswerOut, tags=["answers"],
             dependencies=[rate_limit("write")])
def post_answer(question_id: Id, data: AnswerCreate, session: SessionDep, user: CurrentUser,
                response: Response) -> AnswerOut:
    answer = answers_service.post(session, actor=user, question_id=question_id, data=data)
    response.headers["Location"] = f"/api/v1/answers/{answer.id}"
    return _answer_out(session, answer.id, user)


@resources.get("/answers/{answer_id}", response_model=AnswerOut, tags=["answers"])
def get_answer(answer_id: Id, session: SessionDep, user: OptionalUser) -> AnswerOut:
    return _answer_out(session, answer_id, user)


@resources.patch("/answers/{answer_id}", response_model=AnswerOut, tags=["answers"], dependencies=[rate_limit("write")])
def edit_answer(answer_id: Id, data: AnswerUpdate, session: SessionDep, user: CurrentUser) -> AnswerOut:
    answers_service.edit(session, actor=user, answer_id=answer_id, data=data)
    return _answer_out(session, answer_id, user)


@resources.delete("/answers/{answer_id}", status_code=204, tags=["answers"], dependencies=[rate_limit("write")])
def delete_answer(answer_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    answers_service.delete_answer(session, actor=user, answer_id=answer_id)
    return Response(status_code=204)


@resources.get("/answers/{answer_id}/revisions", response_model=RevisionList, tags=["answers"])
def answer_revisions(answer_id: Id, session: SessionDep, user: OptionalUser) -> RevisionList:
    answers_service.get_visible(session, answer_id, viewer=user)
    return _revisions(session, "answer", answer_id)


@resources.post("/answers/{answer_id}/vote", response_model=VoteOut, tags=["votes"], dependencies=[rate_limit("vote")])
def vote_answer(answer_id: Id, data: VoteIn, session: SessionDep, user: CurrentUser) -> VoteOut:
    score, mine = votes_service.cast(session, actor=user, post_type="answer", post_id=answer_id, value=data.value)
    return VoteOut(score=score, my_vote=mine)


@resources.post("/answers/{answer_id}/comments", status_code=201, response_model=CommentOut, tags=["comments"],
             dependencies=[rate_limit("write")])
def comment_answer(answer_id: Id, data: CommentCreate, session: SessionDep, user: CurrentUser) -> CommentOut:
    return _comment_out(comments_service.add(session, actor=user, post_type="answer", post_id=answer_id, data=data), user)


@resources.delete("/comments/{comment_id}", status_code=204, tags=["comments"], dependencies=[rate_limit("write")])
def delete_comment(comment_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    comments_service.delete_comment(session, actor=user, comment_id=comment_id)
    return Response(status_code=204)


def _comment_out(comment, user) -> CommentOut:
    return CommentOut(id=comment.id, body=comment.body, body_html=comment.body_html,
                      author=UserOut.of(user), created_at=comment.created_at)


from app.api import escalation as _escalation_api  # noqa: E402  (its routes share the resources' dependencies)
from app.api import markdown as _markdown_api  # noqa: E402
from app.api import moderation as _moderation_api  # noqa: E402
from app.api import reputation as _reputation_api  # noqa: E402

include_flat(resources, _reputation_api.router)
include_flat(resources, _escalation_api.router)
include_flat(resources, _markdown_api.router)
from app.api import mail as _mail_api  # noqa: E402  (e-mail, follows, account self-service)

include_flat(resources, _mail_api.router)
include_flat(auth_router, _mail_api.public)

from app.api import apikeys as _apikeys_api  # noqa: E402
from app.api import webhooks as _webhooks_api  # noqa: E402

include_flat(resources, _apikeys_api.router)
include_flat(resources, _webhooks_api.router)
include_flat(resources, _moderation_api.router)
from app.api import savedviews as _savedviews_api  # noqa: E402  (saved views, issue 18)

include_flat(resources, _savedviews_api.router)

from app.api import badges as _badges_api  # noqa: E402

include_flat(resources, _badges_api.router)
from app.api import internal as _internal_api  # noqa: E402  (issue 18: the staff-only space)

include_flat(resources, _internal_api.router)

from app.api import search as _search_api  # noqa: E402

router = APIRouter()
include_flat(router, auth_router)
# Before the resources: /questions/similar must not be taken for /questions/{question_id}.
include_flat(router, _search_api.router, responses=_errors,
                      dependencies=[Depends(_oauth2), Depends(reject_nul), Depends(api_user)])
include_flat(router, resources)
