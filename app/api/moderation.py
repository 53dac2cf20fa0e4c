"""JSON API: flags, the flag queue, the review queue, suspensions, destroy spammer, blocked
e-mail, roles, locked/protected/closed threads and the audit log (CONTRACT.md; docs/api.md,
docs/moderation.md). Thin routes: authorization and every rule are in app/moderation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from app.accounts.deps import CurrentUser
from app.api.deps import Id, rate_limit
from app.api.schemas import UserOut
from app.core.db import SessionDep
from app.core.inputs import JsonBody
from app.core.text import Visible
from app.moderation import audit, flags, posts, review, suspensions

router = APIRouter()

PostType = Literal["question", "answer", "comment"]


class FlagIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["spam", "abusive", "off_topic", "needs_improvement", "duplicate", "other"]
    text: str | None = Field(default=None, max_length=500, description="required for `other`")
    original_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="required for `duplicate`")


class FlagOut(BaseModel):
    id: int
    post_type: str
    post_id: int
    reason: str
    text: str
    original_id: int | None
    status: Literal["open", "helpful", "declined"]
    weight: int
    created_at: datetime
    handled_at: datetime | None = None
    outcome: str | None = None
    note: str = ""
    flagger: str | None = None  # in the moderators' queue only

    @classmethod
    def of(cls, f, flagger: str | None = None) -> "FlagOut":
        return cls(id=f.id, post_type=f.post_type, post_id=f.post_id, reason=f.reason, text=f.text,
                   original_id=f.original_id, status=f.status, weight=f.weight, created_at=f.created_at,
                   handled_at=f.handled_at, outcome=f.outcome, note=f.note, flagger=flagger)


class FlagList(BaseModel):
    items: list[FlagOut]
    next_cursor: str | None = None


class FlaggedPostOut(BaseModel):
    post_type: str
    post_id: int
    url: str
    title: str
    excerpt: str
    author: UserOut | None
    hidden: str | None
    deleted: bool
    locked: bool
    open_count: int
    flags: list[FlagOut]


class FlaggedPostList(BaseModel):
    items: list[FlaggedPostOut]
    next_cursor: str | None = None


class HandleIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    action: Literal["delete", "edit", "close", "lock", "dismiss"]
    note: str = Field(default="", max_length=300)
    body: str | None = Field(default=None, max_length=30000, description="the edited text, for `edit`")
    title: str | None = Field(default=None, max_length=150, description="a question's edited title, for `edit`")


class ReviewIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    note: str = Field(default="", max_length=300)


class PendingOut(BaseModel):
    post_type: str
    post_id: int
    url: str
    title: str
    excerpt: str
    author: UserOut | None
    reason: str
    label: str
    hidden_at: datetime


class PendingList(BaseModel):
    items: list[PendingOut]
    next_cursor: str | None = None


class SuspendIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=suspensions.MAX_SUSPENSION_DAYS)
    reason: Annotated[str, Visible(1)] = Field(min_length=1, max_length=300)


class ModeratedUserOut(UserOut):
    suspended_until: datetime | None = None
    suspension_reason: str | None = None
    is_active: bool = True

    @classmethod
    def of(cls, u) -> "ModeratedUserOut":
        base = UserOut.of(u).model_dump()
        return cls(**base, suspended_until=u.suspended_until if u.is_suspended else None,
                   suspension_reason=u.suspension_reason if u.is_suspended else None, is_active=u.is_active)


class DestroyIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    block: Literal["address", "domain"] | None = None
    reason: Annotated[str, Visible(1)] = Field(default="spam", min_length=1, max_length=300)


class DestroyOut(BaseModel):
    user: ModeratedUserOut
    questions_deleted: int
    answers_deleted: int
    comments_deleted: int
    votes_removed: int
    blocked: str | None


class RoleIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    role: Literal["customer", "staff", "moderator", "admin"]
    reason: str | None = Field(default=None, max_length=300)


class BlockIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(min_length=3, max_length=254, description="name@example.com, or @example.com for a domain")
    reason: str = Field(default="", max_length=300)


class ReasonIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=300)


class ThreadOut(BaseModel):
    id: int
    status: str
    locked: bool
    protected: bool


class AuditOut(BaseModel):
    id: int
    actor: UserOut | None
    action: str
    target_type: str
    target_id: str | None
    reason: str | None
    details: dict[str, Any] = {}
    created_at: datetime


class AuditList(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None = None


# --- flags ------------------------------------------------------------------------------------------

def _flag(session, user, post_type: str, post_id: int, data: FlagIn) -> FlagOut:
    return FlagOut.of(flags.raise_flag(session, actor=user, post_type=post_type, post_id=post_id, reason=data.reason,
                                       text=data.text, original_id=data.original_id))


@router.post("/questions/{question_id}/flags", status_code=201, response_model=FlagOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def flag_question(question_id: Id, data: FlagIn, session: SessionDep, user: CurrentUser) -> FlagOut:
    """Flag a question (the `flag` privilege; not one's own; one open flag per post; 10 a day)."""
    return _flag(session, user, "question", question_id, data)


@router.post("/answers/{answer_id}/flags", status_code=201, response_model=FlagOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def flag_answer(answer_id: Id, data: FlagIn, session: SessionDep, user: CurrentUser) -> FlagOut:
    return _flag(session, user, "answer", answer_id, data)


@router.post("/comments/{comment_id}/flags", status_code=201, response_model=FlagOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def flag_comment(comment_id: Id, data: FlagIn, session: SessionDep, user: CurrentUser) -> FlagOut:
    return _flag(session, user, "comment", comment_id, data)


@router.get("/me/flags", response_model=FlagList, tags=["moderation"])
def my_flags(session: SessionDep, user: CurrentUser) -> FlagList:
    """The caller's flags, newest first, each `open`, `helpful` or `declined`."""
    return FlagList(items=[FlagOut.of(f) for f in flags.my_flags(session, actor=user)])


@router.get("/moderation/flags", response_model=FlaggedPostList, tags=["moderation"])
def flag_queue(session: SessionDep, user: CurrentUser, status: Literal["open", "all"] = "open",
               limit: Annotated[int, Query(ge=1, le=100)] = 50,
               cursor: Annotated[str | None, Query(max_length=500)] = None) -> FlaggedPostList:
    """Flags grouped by post: posts with open flags first (longest waiting first), then handled ones
    (most recently flagged first). Paged: pass `next_cursor` back as `cursor` (null on the last page)."""
    page = flags.queue(session, actor=user, status=status, limit=limit, cursor=cursor)
    return FlaggedPostList(next_cursor=page.next_cursor, items=[FlaggedPostOut(
        post_type=g.post_type, post_id=g.post_id, url=g.url, title=g.title, excerpt=g.excerpt,
        author=UserOut.of(g.author) if g.author else None, hidden=g.hidden, deleted=g.deleted, locked=g.locked,
        open_count=g.open_count,
        flags=[FlagOut.of(f, g.flaggers[f.flagger_id].username if f.flagger_id in g.flaggers else None)
               for f in g.flags]) for g in page.items])


@router.post("/moderation/flags/{post_type}/{post_id}", response_model=FlagList, tags=["moderation"],
             dependencies=[rate_limit("write")])
def handle_flags(post_type: PostType, post_id: Id, data: HandleIn, session: SessionDep, user: CurrentUser) -> FlagList:
    """A moderator acts on a flagged post: delete, edit (`body`, `title`), close, lock, or dismiss.
    Every open flag on it becomes helpful (declined for dismiss); the flaggers are told."""
    handled = flags.handle(session, actor=user, post_type=post_type, post_id=post_id, action=data.action,
                           note=data.note, body=data.body, title=data.title)
    return FlagList(items=[FlagOut.of(f) for f in handled])


# --- review queue -----------------------------------------------------------------------------------

@router.get("/moderation/review", response_model=PendingList, tags=["moderation"])
def review_queue(session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                 cursor: Annotated[str | None, Query(max_length=500)] = None) -> PendingList:
    """Hidden posts waiting for a decision (first posts, held by the spam check, hidden by flags),
    longest waiting first. Paged: pass `next_cursor` back as `cursor` (null on the last page)."""
    page = review.pending(session, actor=user, limit=limit, cursor=cursor)
    return PendingList(next_cursor=page.next_cursor, items=[PendingOut(
        post_type=p.post_type, post_id=p.post_id, url=p.url, title=p.title, excerpt=p.excerpt,
        author=UserOut.of(p.author) if p.author else None, reason=p.reason, label=p.label, hidden_at=p.hidden_at)
        for p in page.items])


@router.post("/moderation/review/{post_type}/{post_id}", status_code=204, tags=["moderation"],
             dependencies=[rate_limit("write")])
def review_post(post_type: PostType, post_id: Id, data: ReviewIn, session: SessionDep, user: CurrentUser) -> Response:
    """`approve: true` publishes the post (its author is told); `false` deletes it."""
    review.decide(session, actor=user, post_type=post_type, post_id=post_id, approve=data.approve, note=data.note)
    return Response(status_code=204)


# --- people -----------------------------------------------------------------------------------------

@router.post("/users/{username}/suspend", response_model=ModeratedUserOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def suspend(username: str, data: SuspendIn, session: SessionDep, user: CurrentUser) -> ModeratedUserOut:
    """Moderators and staff suspend a member for `days` with a `reason` they see."""
    return ModeratedUserOut.of(suspensions.suspend(session, actor=user, username=username, days=data.days,
                                                   reason=data.reason))


@router.delete("/users/{username}/suspend", response_model=ModeratedUserOut, tags=["moderation"],
               dependencies=[rate_limit("write")])
def lift_suspension(username: str, session: SessionDep, user: CurrentUser) -> ModeratedUserOut:
    return ModeratedUserOut.of(suspensions.lift(session, actor=user, username=username))


@router.post("/users/{username}/destroy", response_model=DestroyOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def destroy(username: str, session: SessionDep, user: CurrentUser,
            data: Annotated[DestroyIn | None, Body()] = None) -> DestroyOut:
    """Destroy a spammer: every post deleted, votes and reputation effects reversed, the account
    closed, its e-mail `address` or `domain` blocked when asked."""
    data = data or DestroyIn()
    done = suspensions.destroy_spammer(session, actor=user, username=username, block=data.block, reason=data.reason)
    return DestroyOut(user=ModeratedUserOut.of(done.user), questions_deleted=done.questions,
                      answers_deleted=done.answers, comments_deleted=done.comments, votes_removed=done.votes,
                      blocked=done.blocked)


@router.put("/users/{username}/role", response_model=ModeratedUserOut, tags=["moderation"],
            dependencies=[rate_limit("write")])
def set_role(username: str, data: RoleIn, session: SessionDep, user: CurrentUser) -> ModeratedUserOut:
    """Admins change a member's role."""
    return ModeratedUserOut.of(suspensions.set_role(session, actor=user, username=username, role=data.role,
                                                    reason=data.reason))


@router.post("/moderation/blocked-emails", status_code=201, tags=["moderation"], dependencies=[rate_limit("write")])
def block_email(data: BlockIn, session: SessionDep, user: CurrentUser) -> dict:
    return {"pattern": suspensions.block_email(session, actor=user, pattern=data.pattern, reason=data.reason)}


# --- threads ----------------------------------------------------------------------------------------

def _thread(q) -> ThreadOut:
    return ThreadOut(id=q.id, status=q.status, locked=q.locked_at is not None, protected=q.protected_at is not None)


@router.post("/questions/{question_id}/close", response_model=ThreadOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def close(question_id: Id, data: ReasonIn, session: SessionDep, user: CurrentUser) -> ThreadOut:
    """Close a question with a reason (the close privilege); reopen with POST /questions/{id}/reopen."""
    return _thread(posts.close(session, actor=user, question_id=question_id, reason=data.reason))


@router.post("/questions/{question_id}/lock", response_model=ThreadOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def lock(question_id: Id, session: SessionDep, user: CurrentUser,
         data: Annotated[ReasonIn | None, Body()] = None) -> ThreadOut:
    return _thread(posts.set_lock(session, actor=user, question_id=question_id, locked=True,
                                  reason=data.reason if data else ""))


@router.delete("/questions/{question_id}/lock", response_model=ThreadOut, tags=["moderation"],
               dependencies=[rate_limit("write")])
def unlock(question_id: Id, session: SessionDep, user: CurrentUser) -> ThreadOut:
    return _thread(posts.set_lock(session, actor=user, question_id=question_id, locked=False))


@router.post("/questions/{question_id}/protect", response_model=ThreadOut, tags=["moderation"],
             dependencies=[rate_limit("write")])
def protect(question_id: Id, session: SessionDep, user: CurrentUser,
            data: Annotated[ReasonIn | None, Body()] = None) -> ThreadOut:
    return _thread(posts.set_protect(session, actor=user, question_id=question_id, protected=True,
                                     reason=data.reason if data else ""))


@router.delete("/questions/{question_id}/protect", response_model=ThreadOut, tags=["moderation"],
               dependencies=[rate_limit("write")])
def unprotect(question_id: Id, session: SessionDep, user: CurrentUser) -> ThreadOut:
    return _thread(posts.set_protect(session, actor=user, question_id=question_id, protected=False))


# --- audit log --------------------------------------------------------------------------------------

@router.get("/moderation/audit-log", response_model=AuditList, tags=["moderation"])
def audit_log(session: SessionDep, user: CurrentUser,
              action: Annotated[str | None, Query(max_length=40)] = None,
              actor: Annotated[str | None, Query(max_length=30)] = None,
              target_type: Annotated[str | None, Query(max_length=20)] = None,
              target_id: Annotated[str | None, Query(max_length=80)] = None,
              limit: Annotated[int, Query(ge=1, le=100)] = 50,
              cursor: Annotated[str | None, Query(max_length=500)] = None) -> AuditList:
    """Every moderator, staff and admin action, newest first; filters: `action` (a key such as
    `user.suspend`, or a prefix ending in "." such as `user.`), `actor` (username), `target_type`,
    `target_id`. The escalation queue's own log is at GET /escalations/{id}/events."""
    page = audit.entries(session, actor=user, action=action, actor_name=actor, target_type=target_type,
                         target_id=target_id, limit=limit, cursor=cursor)
    return AuditList(items=[AuditOut(id=e.id, actor=UserOut.of(e.actor) if e.actor else None, action=e.action,
                                     target_type=e.target_type, target_id=e.target_id, reason=e.reason,
                                     details=e.details, created_at=e.created_at) for e in page.items],
                     next_cursor=page.next_cursor)
