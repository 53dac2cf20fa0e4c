"""JSON API: the staff escalation queue (CONTRACT.md), service levels, "me too", notifications.
Thin routes: parse, call one service, shape the answer. Authorization is in the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.accounts import service as accounts_service
from app.accounts.deps import CurrentUser
from app.api.deps import Id, ProductFilter, rate_limit
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.escalation import messages as private_messages
from app.escalation import metoo, metrics, policy, queries
from app.escalation import service as escalation_service
from app.escalation.schemas import (
    AssignIn,
    EscalateIn,
    EscalationDetailOut,
    EscalationList,
    EscalationOut,
    EventOut,
    HandOffIn,
    MarkReadIn,
    MarkReadOut,
    MessageIn,
    MessageList,
    MessageOut,
    MeTooOut,
    MetricsOut,
    NoteIn,
    NotificationList,
    NotificationOut,
    ResolveIn,
    ServiceLevelIn,
    ServiceLevelOut,
    WaitIn,
)
from app.api.schemas import UserOut
from app.notifications import service as notifications
from app.products import service as products_service

router = APIRouter()
TAG = ["escalation"]


def _out(session, esc, user) -> EscalationOut:
    view = queries.views_of(session, [esc], user)[0]
    return EscalationOut.of(view, public=not policy.is_agent(user))


@router.post("/questions/{question_id}/escalate", status_code=201, response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")], responses={200: {"description": "joined the open escalation"}})
def escalate(question_id: Id, data: EscalateIn, session: SessionDep, user: CurrentUser,
             response: Response) -> EscalationOut:
    """The asker's "I still need help" (once the question is 24 hours old) or staff escalating by
    hand: 201 with a new escalation, or 200 when one is open already (its priority is raised).
    The asker sees only the public status."""
    esc, created = escalation_service.escalate(session, actor=user, question_id=question_id, reason=data.reason)
    if not created:
        response.status_code = 200
    return _out(session, esc, user)


@router.post("/questions/{question_id}/me-too", status_code=201, response_model=MeTooOut, tags=TAG,
             dependencies=[rate_limit("vote")])
def me_too(question_id: Id, session: SessionDep, user: CurrentUser) -> MeTooOut:
    """"I have this problem too": once per customer; 409 when repeated or for the asker."""
    count = metoo.add(session, actor=user, question_id=question_id)
    return MeTooOut(question_id=question_id, count=count, me_too=True)


@router.delete("/questions/{question_id}/me-too", response_model=MeTooOut, tags=TAG, dependencies=[rate_limit("vote")])
def not_me_too(question_id: Id, session: SessionDep, user: CurrentUser) -> MeTooOut:
    count = metoo.remove(session, actor=user, question_id=question_id)
    return MeTooOut(question_id=question_id, count=count, me_too=False)


# Before /escalations/{id}: "metrics" is not an id.
@router.get("/escalations/metrics", response_model=MetricsOut, tags=TAG)
def escalation_metrics(session: SessionDep, user: CurrentUser, days: Annotated[int, Query(ge=1, le=366)] = 30,
                       product: ProductFilter = None) -> MetricsOut:
    """Staff metrics over the last `days` days: first response and resolution times (seconds),
    breach rate, escalation rate and deflection (overall and per product)."""
    return MetricsOut.of(metrics.compute(session, actor=user, days=days, product=product))


@router.get("/escalations", response_model=EscalationList, tags=TAG)
def list_escalations(
    session: SessionDep, user: CurrentUser,
    status: Annotated[str | None, Query(max_length=12, description="open | claimed | waiting | handed_off | resolved; "
                                                                    "default: all unresolved")] = None,
    product: ProductFilter = None,
    assignee: Annotated[str | None, Query(max_length=30, description="a username, me or none")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EscalationList:
    """The queue, most urgent first: breached, then due soonest, then most affected customers."""
    page = queries.queue(session, actor=user, status=status, product=product, assignee=assignee, limit=limit,
                         cursor=cursor)
    return EscalationList(items=[EscalationOut.of(v) for v in queries.views_of(session, page.items, user)],
                          next_cursor=page.next_cursor)


@router.get("/escalations/{escalation_id}", response_model=EscalationDetailOut, tags=TAG)
def get_escalation(escalation_id: Id, session: SessionDep, user: CurrentUser) -> EscalationDetailOut:
    """One escalation with its audit log and internal notes (staff only)."""
    v = queries.detail(session, actor=user, escalation_id=escalation_id)
    return EscalationDetailOut(**EscalationOut.of(v).model_dump(), resolution=v.resolution, events=[
        EventOut(id=e.id, kind=e.kind, signal=e.signal, actor=UserOut.of(e.actor) if e.actor else None,
                 detail=e.detail, created_at=e.created_at) for e in v.events])


PRIVATE = ("Private support messages (docs/escalation.md, \"Private messages\"): only the question's asker and "
           "staff (roles staff, admin) may call this; for anyone else, moderators included, the escalation does "
           "not exist (404). Never cached (Cache-Control: private, no-store).")


@router.get("/escalations/{escalation_id}/messages", response_model=MessageList, tags=TAG,
            description=PRIVATE + " A staff member's read of a thread holding messages is recorded in the "
                                  "escalation's audit log (messages_read: the count, never the text).")
def list_messages(escalation_id: Id, session: SessionDep, user: CurrentUser, response: Response) -> MessageList:
    """The escalation's private thread, oldest first."""
    t = private_messages.read(session, actor=user, escalation_id=escalation_id)
    response.headers["Cache-Control"] = "private, no-store"
    return MessageList(items=[MessageOut.of(t.escalation_id, m) for m in t.messages], escalation_id=t.escalation_id,
                       status=t.status, can_write=t.can_write, deletes_at=t.deletes_at)


@router.post("/escalations/{escalation_id}/messages", status_code=201, response_model=MessageOut, tags=TAG,
             dependencies=[rate_limit("write")],
             description=PRIVATE + " 409 once the escalation is resolved. Notifies the other side (the asker, or "
                                   "the assignee / every agent while unassigned) without the message's text.")
def post_message(escalation_id: Id, data: MessageIn, session: SessionDep, user: CurrentUser,
                 response: Response) -> MessageOut:
    """Write a private message (Markdown, 2 to 10,000 characters)."""
    row = private_messages.post(session, actor=user, escalation_id=escalation_id, body=data.body)
    response.headers["Cache-Control"] = "private, no-store"
    return MessageOut.of(escalation_id, private_messages.view_of(session, row))


@router.post("/escalations/{escalation_id}/claim", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def claim(escalation_id: Id, session: SessionDep, user: CurrentUser) -> EscalationOut:
    """Take it: exclusive (409 when someone else has it)."""
    return _out(session, escalation_service.claim(session, actor=user, escalation_id=escalation_id), user)


@router.post("/escalations/{escalation_id}/release", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def release(escalation_id: Id, session: SessionDep, user: CurrentUser) -> EscalationOut:
    return _out(session, escalation_service.release(session, actor=user, escalation_id=escalation_id), user)


@router.post("/escalations/{escalation_id}/assign", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def assign(escalation_id: Id, data: AssignIn, session: SessionDep, user: CurrentUser) -> EscalationOut:
    try:
        colleague = accounts_service.get_by_username(session, data.assignee)
    except NotFound:  # an unknown name is the caller's mistake (422), like a customer's name
        colleague = None
    return _out(session, escalation_service.assign(session, actor=user, escalation_id=escalation_id,
                                                   assignee=colleague), user)


@router.post("/escalations/{escalation_id}/notes", status_code=201, response_model=EventOut, tags=TAG,
             dependencies=[rate_limit("write")])
def add_note(escalation_id: Id, data: NoteIn, session: SessionDep, user: CurrentUser) -> EventOut:
    """An internal note: staff only, never shown publicly."""
    e = escalation_service.add_note(session, actor=user, escalation_id=escalation_id, body=data.body)
    return EventOut(id=e.id, kind=e.kind, signal=None, actor=UserOut.of(user), detail=e.detail,
                    created_at=e.created_at)


@router.post("/escalations/{escalation_id}/wait", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def wait(escalation_id: Id, data: WaitIn, session: SessionDep, user: CurrentUser) -> EscalationOut:
    """Waiting on the customer: the service-level clock stops."""
    esc = escalation_service.wait_on_customer(session, actor=user, escalation_id=escalation_id, note=data.note)
    return _out(session, esc, user)


@router.post("/escalations/{escalation_id}/resume", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def resume(escalation_id: Id, session: SessionDep, user: CurrentUser) -> EscalationOut:
    return _out(session, escalation_service.resume(session, actor=user, escalation_id=escalation_id), user)


@router.post("/escalations/{escalation_id}/hand-off", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def hand_off(escalation_id: Id, data: HandOffIn, session: SessionDep, user: CurrentUser) -> EscalationOut:
    """Passed to an external ticket system: the reference is recorded, the clock stops."""
    esc = escalation_service.hand_off(session, actor=user, escalation_id=escalation_id, ticket=data.ticket)
    return _out(session, esc, user)


@router.post("/escalations/{escalation_id}/resolve", response_model=EscalationOut, tags=TAG,
             dependencies=[rate_limit("write")])
def resolve(escalation_id: Id, data: ResolveIn, session: SessionDep, user: CurrentUser) -> EscalationOut:
    """Resolve with the public answer: `answer_body` posts a staff answer on the thread, or
    `answer_id` points to the community answer that solved it. The asker and the "me too"
    customers are notified."""
    esc = escalation_service.resolve(session, actor=user, escalation_id=escalation_id, resolution=data.resolution,
                                     answer_body=data.answer_body, answer_id=data.answer_id)
    return _out(session, esc, user)


# --- service levels ---------------------------------------------------------------------------------

@router.get("/products/{slug}/service-level", response_model=ServiceLevelOut, tags=TAG)
def get_service_level(slug: str, session: SessionDep, user: CurrentUser) -> ServiceLevelOut:
    escalation_service.require_agent(user)
    product = products_service.get(session, slug)
    return ServiceLevelOut.of(product.slug, escalation_service.level_for(session, product.id))


@router.put("/products/{slug}/service-level", response_model=ServiceLevelOut, tags=TAG,
            dependencies=[rate_limit("write")])
def set_service_level(slug: str, data: ServiceLevelIn, session: SessionDep, user: CurrentUser) -> ServiceLevelOut:
    """Staff set the product's support tier; targets left out take the tier's defaults."""
    levels = escalation_service.set_levels(session, actor=user, product_slug=slug, **data.model_dump())
    return ServiceLevelOut.of(slug, levels)


# --- notifications ------------------------------------------------------------------------------------

@router.get("/notifications", response_model=NotificationList, tags=["notifications"])
def list_notifications(session: SessionDep, user: CurrentUser, unread: bool = False,
                       limit: Annotated[int, Query(ge=1, le=100)] = 30,
                       cursor: Annotated[str | None, Query(max_length=200)] = None) -> NotificationList:
    """The caller's notifications, newest first."""
    page = notifications.page_for(session, actor=user, unread=unread, limit=limit, cursor=cursor)
    return NotificationList(items=[NotificationOut(id=n.id, kind=n.kind, text=n.text, url=n.url,
                                                   created_at=n.created_at, read=n.read_at is not None,
                                                   post_type=n.post_type, post_id=n.post_id, question_id=n.question_id)
                                   for n in page.items],
                            next_cursor=page.next_cursor, unread=notifications.unread_count(session, user))


@router.post("/notifications/read", response_model=MarkReadOut, tags=["notifications"])
def mark_read(data: MarkReadIn, session: SessionDep, user: CurrentUser) -> MarkReadOut:
    """Mark the given notifications (or all, with `ids` null) read."""
    marked = notifications.mark_read(session, actor=user, ids=data.ids)
    return MarkReadOut(marked=marked, unread=notifications.unread_count(session, user))
