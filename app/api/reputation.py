"""JSON API: reputation, privileges, top contributors, suggested edits, voting reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.accounts import service as accounts_service
from app.accounts.deps import CurrentUser, OptionalUser
from app.api.deps import Id, rate_limit
from app.api.schemas import (
    DetectionOut,
    MeWithPrivileges,
    PrivilegeOut,
    ReputationEventOut,
    ReputationTimeline,
    ReviewIn,
    SuggestedEditIn,
    SuggestedEditList,
    SuggestedEditOut,
    TopContributorOut,
    TopContributors,
    UserOut,
    VotingReportList,
    VotingReportOut,
)
from app.core.db import SessionDep
from app.core.errors import Forbidden, field_error
from app.products import service as products_service
from app.questions import suggested_edits
from app.questions.schemas import AnswerUpdate, QuestionUpdate
from app.reputation import gaming, policy
from app.reputation import service as reputation

router = APIRouter()


def _privileges(user) -> list[PrivilegeOut]:
    return [PrivilegeOut(**vars(p)) for p in reputation.privileges_of(user)]


@router.get("/me/privileges", response_model=MeWithPrivileges, tags=["reputation"])
def my_privileges(user: CurrentUser) -> MeWithPrivileges:
    """The caller with every privilege and whether it is earned."""
    return MeWithPrivileges(**UserOut.of(user).model_dump(), email=user.email, privileges=_privileges(user))


@router.get("/users/{username}/privileges", response_model=list[PrivilegeOut], tags=["reputation"])
def user_privileges(username: str, session: SessionDep) -> list[PrivilegeOut]:
    return _privileges(accounts_service.get_by_username(session, username))


@router.get("/users/{username}/reputation", response_model=ReputationTimeline, tags=["reputation"])
def user_reputation(username: str, session: SessionDep, viewer: OptionalUser,
                    limit: Annotated[int, Query(ge=1, le=100)] = 30,
                    cursor: Annotated[str | None, Query(max_length=200)] = None) -> ReputationTimeline:
    """The user's reputation ledger, newest first; reversed events stay listed, marked and not counted.
    An event about a post the caller cannot open keeps its points, with `post_id` null and
    `post_visible` false."""
    user = accounts_service.get_by_username(session, username)
    page = reputation.timeline(session, user, viewer=viewer, limit=limit, cursor=cursor)
    return ReputationTimeline(reputation=user.reputation, next_cursor=page.next_cursor, items=[
        ReputationEventOut(id=e.id, kind=e.kind, label=policy.KIND_LABELS.get(e.kind, e.kind), amount=e.amount,
                           base_amount=e.base_amount, post_type=e.post_type, post_id=e.post_id,
                           post_visible=e.post_visible, occurred_at=e.occurred_at,
                           reversed=e.reversed_at is not None, reversed_at=e.reversed_at,
                           reversal_reason=e.reversal_reason)
        for e in page.items])


def _top(session, product_id, period: str, limit: int) -> TopContributors:
    since = reputation.period_start(period)
    rows = reputation.top_contributors(session, product_id=product_id, since=since, limit=limit)
    return TopContributors(period=period, items=[TopContributorOut(user=UserOut.of(u), points=p) for u, p in rows])


@router.get("/products/{slug}/top-contributors", response_model=TopContributors, tags=["reputation"])
def product_top_contributors(slug: str, session: SessionDep, period: Literal["month", "30d", "all"] = "month",
                             limit: Annotated[int, Query(ge=1, le=50)] = 10) -> TopContributors:
    """Who earned the most reputation on this product's questions: this calendar month (UTC, the
    default), the last 30 days (`30d`, what the product page and the widget show) or ever."""
    return _top(session, products_service.get(session, slug).id, period, limit)


@router.get("/top-contributors", response_model=TopContributors, tags=["reputation"])
def top_contributors(session: SessionDep, period: Literal["month", "30d", "all"] = "month",
                     limit: Annotated[int, Query(ge=1, le=50)] = 10) -> TopContributors:
    return _top(session, None, period, limit)


# --- suggested edits --------------------------------------------------------------------------

def _edit_out(session, e) -> SuggestedEditOut:
    users = accounts_service.users_by_id(session, {e.author_id} | ({e.reviewer_id} if e.reviewer_id else set()))
    return SuggestedEditOut(id=e.id, post_type=e.post_type, post_id=e.post_id, author=UserOut.of(users[e.author_id]),
                            title=e.title, body=e.body, tags=e.tags.split() if e.tags is not None else None,
                            comment=e.comment, status=e.status,
                            reviewer=UserOut.of(users[e.reviewer_id]) if e.reviewer_id else None,
                            review_note=e.review_note, created_at=e.created_at, reviewed_at=e.reviewed_at)


@router.post("/questions/{question_id}/suggested-edits", status_code=201, response_model=SuggestedEditOut,
             tags=["suggested edits"], dependencies=[rate_limit("write")])
def suggest_question_edit(question_id: Id, data: SuggestedEditIn, session: SessionDep,
                          user: CurrentUser) -> SuggestedEditOut:
    """For users below the edit privilege: propose an edit to someone else's question."""
    edit = suggested_edits.suggest(session, actor=user, post_type="question", post_id=question_id,
                                   data=QuestionUpdate(**data.model_dump(exclude_unset=True)))
    return _edit_out(session, edit)


@router.post("/answers/{answer_id}/suggested-edits", status_code=201, response_model=SuggestedEditOut,
             tags=["suggested edits"], dependencies=[rate_limit("write")])
def suggest_answer_edit(answer_id: Id, data: SuggestedEditIn, session: SessionDep,
                        user: CurrentUser) -> SuggestedEditOut:
    if data.body is None:
        raise field_error("body", "Give the new text of the answer.")
    edit = suggested_edits.suggest(session, actor=user, post_type="answer", post_id=answer_id,
                                   data=AnswerUpdate(body=data.body, comment=data.comment))
    return _edit_out(session, edit)


@router.get("/suggested-edits", response_model=SuggestedEditList, tags=["suggested edits"])
def pending_edits(session: SessionDep, user: CurrentUser) -> SuggestedEditList:
    """The review queue (reviewers: 1,000 reputation, moderators, staff)."""
    from app.accounts import permissions

    if not permissions.can_review_edits(user):
        raise Forbidden("Reviewing suggested edits takes 1,000 reputation (or a moderator or staff role).")
    return SuggestedEditList(items=[_edit_out(session, e) for e in suggested_edits.pending(session, limit=100)])


@router.post("/suggested-edits/{edit_id}/approve", response_model=SuggestedEditOut, tags=["suggested edits"],
             dependencies=[rate_limit("write")])
def approve_edit(edit_id: Id, data: ReviewIn, session: SessionDep, user: CurrentUser) -> SuggestedEditOut:
    return _edit_out(session, suggested_edits.review(session, actor=user, edit_id=edit_id, approve=True,
                                                     note=data.note))


@router.post("/suggested-edits/{edit_id}/reject", response_model=SuggestedEditOut, tags=["suggested edits"],
             dependencies=[rate_limit("write")])
def reject_edit(edit_id: Id, data: ReviewIn, session: SessionDep, user: CurrentUser) -> SuggestedEditOut:
    return _edit_out(session, suggested_edits.review(session, actor=user, edit_id=edit_id, approve=False,
                                                     note=data.note))


# --- voting reports (moderators) --------------------------------------------------------------

def _require_moderator(user) -> None:
    from app.accounts import permissions

    if not permissions.can_review_voting(user):
        raise Forbidden("Only moderators and staff see voting reports.")


def _report_out(session, r) -> VotingReportOut:
    users = accounts_service.users_by_id(session, {r.voter_id, r.author_id})
    return VotingReportOut(id=r.id, kind=r.kind, voter=UserOut.of(users[r.voter_id]),
                           author=UserOut.of(users[r.author_id]), votes=r.votes, reversed_votes=r.reversed_votes,
                           detail=r.detail, created_at=r.created_at, resolved_at=r.resolved_at)


@router.get("/voting-reports", response_model=VotingReportList, tags=["moderation"])
def voting_reports(session: SessionDep, user: CurrentUser) -> VotingReportList:
    """Open reports of serial voting (already reversed) and sock-puppet signals."""
    _require_moderator(user)
    return VotingReportList(items=[_report_out(session, r) for r in gaming.open_reports(session)])


@router.post("/voting-reports/detect", response_model=DetectionOut, tags=["moderation"])
def detect_serial_voting(session: SessionDep, user: CurrentUser) -> DetectionOut:
    """Run the serial-voting job now (the worker runs it daily)."""
    from app.accounts import permissions

    permissions.require_user(user)  # a write: refused while suspended
    _require_moderator(user)
    result = gaming.detect_serial_voting(session)
    return DetectionOut(patterns=result.pairs, votes_reversed=result.votes_reversed)


@router.post("/voting-reports/{report_id}/resolve", response_model=VotingReportOut, tags=["moderation"])
def resolve_report(report_id: Id, session: SessionDep, user: CurrentUser) -> VotingReportOut:
    return _report_out(session, gaming.resolve_report(session, actor=user, report_id=report_id))

