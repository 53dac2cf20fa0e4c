"""The escalation queue's state machine: ways in (signals), claim, release, assign, notes,
waiting on the customer, hand-off, resolve. Every transition is written to the audit log.

    open ──claim/assign──▶ claimed ──wait──▶ waiting ──resume──▶ claimed
      ▲                      │  │                │
      └──────release─────────┘  └─handoff─▶ handed_off ◀──handoff──┘ (also from open)
    open | claimed | waiting | handed_off ──resolve──▶ resolved

Services only flush; the caller's transaction commits. Refusals are DomainErrors: 403 when the
actor may not, 409 when the escalation's state does not allow it (a claim race's loser gets 409).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import permissions
from app.accounts.models import User
from app.answers import service as answers_service
from app.answers.models import Answer
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from app.core.text import optional_text, require_text
from app.escalation import policy
from app.escalation.models import (
    ACTIVE_STATUSES,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    MeToo,
    ServiceLevel,
    Trigger,
)
from app.notifications import service as notifications
from app.products.models import Product
from app.questions import service as questions_service
from app.questions.models import Question, QuestionStatus
from app.questions.schemas import AnswerCreate

S = EscalationStatus
STAFF_ONLY = "Only staff work the escalation queue."


# --- service levels -------------------------------------------------------------------------------

def _levels_of(row: ServiceLevel | None) -> policy.Levels:
    if row is None:
        return policy.TIERS[policy.DEFAULT_TIER]
    m = timedelta
    return policy.Levels(row.tier, first_response=m(minutes=row.first_response_minutes),
                         resolution=m(minutes=row.resolution_minutes), unanswered=m(minutes=row.unanswered_minutes),
                         unsolved=m(minutes=row.unsolved_minutes), affected_threshold=row.affected_threshold,
                         is_default=False)


def levels_for(session: Session, product_ids: set[int | None]) -> dict[int | None, policy.Levels]:
    ids = {p for p in product_ids if p is not None}
    rows = {r.product_id: r for r in session.exec(select(ServiceLevel).where(ServiceLevel.product_id.in_(ids))).all()} \
        if ids else {}
    return {pid: _levels_of(rows.get(pid)) for pid in product_ids}


def level_for(session: Session, product_id: int | None) -> policy.Levels:
    return levels_for(session, {product_id})[product_id]


def set_levels(session: Session, *, actor: User | None, product_slug: str, tier: str,
               first_response_minutes: int | None = None, resolution_minutes: int | None = None,
               unanswered_minutes: int | None = None, unsolved_minutes: int | None = None,
               affected_threshold: int | None = None, now: datetime | None = None) -> policy.Levels:
    """Staff set a product's tier; targets not given take the tier's defaults. Applies to new escalations."""
    require_agent(actor)
    from app.products import service as products_service

    product = products_service.get(session, product_slug)
    if tier not in policy.TIERS:
        raise field_error("tier", f"Choose one of: {', '.join(policy.TIERS)}.")
    base = policy.TIERS[tier]
    values = {
        "first_response_minutes": first_response_minutes or policy.minutes(base.first_response),
        "resolution_minutes": resolution_minutes or policy.minutes(base.resolution),
        "unanswered_minutes": unanswered_minutes or policy.minutes(base.unanswered),
        "unsolved_minutes": unsolved_minutes or policy.minutes(base.unsolved),
        "affected_threshold": affected_threshold or base.affected_threshold,
    }
    if values["resolution_minutes"] < values["first_response_minutes"]:
        raise field_error("resolution_minutes", "The resolution target cannot be shorter than the first-response target.")
    row = session.exec(select(ServiceLevel).where(ServiceLevel.product_id == product.id)).first()
    if row is None:
        row = ServiceLevel(product_id=product.id, tier=tier, **values)
        session.add(row)
    else:
        row.tier = tier
        for k, v in values.items():
            setattr(row, k, v)
    row.updated_at, row.updated_by_id = now or utcnow(), actor.id
    session.flush()
    from app.moderation import audit

    audit.record(session, actor=actor, action="service_level.update", target_type="product", target_id=product.slug,
                 details={"tier": tier, **values})
    return _levels_of(row)


def all_levels(session: Session) -> list[tuple[Product, policy.Levels]]:
    products = list(session.exec(select(Product).order_by(Product.name, Product.id)).all())
    levels = levels_for(session, {p.id for p in products})
    return [(p, levels[p.id]) for p in products]


# --- reading ----------------------------------------------------------------------------------------

def require_agent(actor: User | None) -> User:
    actor = permissions.require_user(actor)
    if not policy.is_agent(actor):
        raise Forbidden(STAFF_ONLY)
    return actor


def get(session: Session, *, actor: User | None, escalation_id: int, for_update: bool = False) -> Escalation:
    require_agent(actor)
    return _get(session, escalation_id, for_update=for_update)


def _get(session: Session, escalation_id: int, *, for_update: bool = False) -> Escalation:
    esc = None
    if 1 <= escalation_id <= MAX_ID:
        stmt = select(Escalation).where(Escalation.id == escalation_id)
        if for_update:
            stmt = stmt.with_for_update()
        esc = session.exec(stmt.execution_options(populate_existing=True)).first()
    if esc is None:
        raise NotFound(f"Escalation {escalation_id} does not exist.")
    return esc


def open_for(session: Session, question_id: int, *, for_update: bool = False) -> Escalation | None:
    stmt = select(Escalation).where(Escalation.open_question_id == question_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def latest_for(session: Session, question_id: int) -> Escalation | None:
    return session.exec(select(Escalation).where(Escalation.question_id == question_id)
                        .order_by(Escalation.id.desc())).first()


def agents(session: Session) -> list[User]:
    """Who can take an escalation: active staff and admins."""
    from app.accounts.models import STAFF_ROLES

    return list(session.exec(select(User).where(User.role.in_([r.value for r in STAFF_ROLES]), User.is_active)
                             .order_by(User.username)).all())


def events(session: Session, *, actor: User | None, escalation_id: int) -> list[EscalationEvent]:
    """The audit log, internal notes included: staff only."""
    require_agent(actor)
    return list(session.exec(select(EscalationEvent).where(EscalationEvent.escalation_id == escalation_id)
                             .order_by(EscalationEvent.id)).all())


def affected_count(session: Session, question_id: int) -> int:
    """The asker, the customers who said "me too", and the askers of questions folded into it."""
    me_too = session.exec(select(func.count()).select_from(MeToo).where(MeToo.question_id == question_id)).one()
    dups = session.exec(select(func.count()).select_from(Question).where(
        Question.duplicate_of_id == question_id, Question.status == QuestionStatus.duplicate.value,
        Question.deleted_at.is_(None))).one()
    return 1 + int(me_too) + int(dups)


def breach(esc: Escalation, now: datetime) -> str | None:
    """Which target is missed: "first response", "resolution", or None. The clock stops while
    waiting on the customer, after a hand-off, and at resolution."""
    at = esc.resolved_at or esc.handed_off_at or esc.paused_at or now
    if (esc.first_response_at or at) > esc.respond_by:
        return "first response"
    if at > esc.resolve_by:
        return "resolution"
    return None


# --- ways in --------------------------------------------------------------------------------------------

def escalate(session: Session, *, actor: User | None, question_id: int, reason: str,
             now: datetime | None = None) -> tuple[Escalation, bool]:
    """The asker's "I still need help" (after policy.ASKER_WAIT) or staff escalating by hand.
    Returns (escalation, created): when one is open already, the signal raises its priority."""
    actor = permissions.require_user(actor)
    now = now or utcnow()
    question = questions_service.get_visible(session, question_id, viewer=actor, for_update=True)
    from app.internal.visibility import is_internal

    if is_internal(question):
        raise Conflict("Internal questions are staff work already: they are not escalated. Link this one from "
                       "the public thread or escalation it helps with instead.")
    if policy.is_agent(actor):
        trigger = Trigger.staff
    elif actor.id == question.author_id:
        trigger = Trigger.asker
        if question.status == QuestionStatus.duplicate:
            raise Conflict("This question was closed as a duplicate: ask for help on the original question.")
        if question.accepted_answer_id is not None:
            raise Conflict("This question is solved. If the accepted answer did not fix it after all, "
                           "un-accept it first.")
        ready_at = question.created_at + policy.ASKER_WAIT
        if now < ready_at:
            hours = int(policy.ASKER_WAIT.total_seconds() // 3600)
            raise Conflict(f"The community gets {hours} hours to help first: you can ask our support team "
                           f"from {ready_at:%d %b %Y at %H:%M} UTC.")
    else:
        raise Forbidden("Only the person who asked, or staff, can ask our support team about this question.")
    return record_signal(session, question=question, trigger=trigger, actor=actor, reason=reason, now=now)


def record_signal(session: Session, *, question: Question, trigger: Trigger, actor: User | None, reason: str,
                  now: datetime | None = None) -> tuple[Escalation, bool]:
    """A way into the queue. Creates the question's escalation, or raises the open one's priority
    (once per kind of signal and person)."""
    now = now or utcnow()
    existing = open_for(session, question.id, for_update=True)
    if existing is not None:
        _raise_priority(session, existing, trigger=trigger, actor=actor, reason=reason, now=now)
        return existing, False
    levels = level_for(session, question.product_id)
    esc = Escalation(question_id=question.id, open_question_id=question.id, status=S.open.value,
                     trigger=trigger.value, reason=reason[:500], affected=affected_count(session, question.id),
                     created_by_id=actor.id if actor else None, created_at=now, updated_at=now,
                     respond_by=now + levels.first_response, resolve_by=now + levels.resolution,
                     due_at=now + levels.first_response)
    try:
        with session.begin_nested():
            session.add(esc)
            session.flush()
    except IntegrityError:  # a concurrent signal opened it first
        existing = open_for(session, question.id, for_update=True)
        if existing is None:
            raise
        _raise_priority(session, existing, trigger=trigger, actor=actor, reason=reason, now=now)
        return existing, False
    _log(session, esc, "created", actor, reason, now, signal=trigger)
    return esc, True


def _raise_priority(session: Session, esc: Escalation, *, trigger: Trigger, actor: User | None, reason: str,
                    now: datetime) -> None:
    esc.affected = affected_count(session, esc.question_id)
    seen = session.exec(select(EscalationEvent.id).where(
        EscalationEvent.escalation_id == esc.id, EscalationEvent.kind.in_(("created", "signal")),
        EscalationEvent.signal == trigger.value,
        EscalationEvent.actor_id == actor.id if actor else EscalationEvent.actor_id.is_(None))).first()
    if seen is None:
        esc.priority += 1
        esc.updated_at = now
        _log(session, esc, "signal", actor, reason, now, signal=trigger)
    if trigger == Trigger.asker and esc.status == S.waiting:
        _unpause(esc, now)
        esc.status = S.claimed.value
        _log(session, esc, "resumed", actor, "The asker replied.", now)
    session.flush()


def refresh_affected(session: Session, question_id: int, now: datetime | None = None) -> Escalation | None:
    """After a "me too" or a folded duplicate: update the open escalation's count, or open one
    when the product's threshold is reached (and the question was never escalated)."""
    now = now or utcnow()
    question = session.get(Question, question_id)
    if question is None or question.deleted_at is not None or question.status != QuestionStatus.open \
            or getattr(question, "visibility", "public") != "public":  # internal questions are never escalated
        return None
    affected = affected_count(session, question_id)
    esc = open_for(session, question_id, for_update=True)
    threshold = level_for(session, question.product_id).affected_threshold
    if esc is not None:
        esc.affected = affected
        if affected >= threshold:
            _raise_priority(session, esc, trigger=Trigger.affected, actor=None,
                            reason=_affected_reason(affected, threshold), now=now)
        session.flush()
        return esc
    if affected >= threshold and latest_for(session, question_id) is None:
        esc, _ = record_signal(session, question=question, trigger=Trigger.affected, actor=None,
                               reason=_affected_reason(affected, threshold), now=now)
        return esc
    return None


def _affected_reason(affected: int, threshold: int) -> str:
    return (f"{affected} customers have this problem (the asker, \"me too\" and folded duplicates; "
            f"threshold {threshold}): likely a product defect.")


# --- working the queue ------------------------------------------------------------------------------

def claim(session: Session, *, actor: User | None, escalation_id: int, now: datetime | None = None) -> Escalation:
    """Take an open escalation. Exclusive: a conditional UPDATE, so of two agents claiming at once
    exactly one wins and the other gets 409. Claiming one's own claim again changes nothing."""
    actor = require_agent(actor)
    now = now or utcnow()
    _get(session, escalation_id)
    result = session.exec(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == S.open.value)
        .values(status=S.claimed.value, assignee_id=actor.id, updated_at=now, due_at=Escalation.resolve_by,
                first_response_at=func.coalesce(Escalation.first_response_at, now))
        .execution_options(synchronize_session=False))
    esc = _get(session, escalation_id)
    if result.rowcount == 1:
        _log(session, esc, "claimed", actor, "", now)
        return esc
    if esc.status == S.claimed and esc.assignee_id == actor.id:
        return esc
    raise Conflict(_state_refusal(session, esc, "claim it"))


def release(session: Session, *, actor: User | None, escalation_id: int, now: datetime | None = None) -> Escalation:
    actor = require_agent(actor)
    now = now or utcnow()
    esc = _get(session, escalation_id, for_update=True)
    _require_state(session, esc, "release it", S.claimed)
    _require_holder(session, esc, actor, "release it")
    esc.status, esc.assignee_id, esc.updated_at = S.open.value, None, now
    _log(session, esc, "released", actor, "", now)
    return esc


def assign(session: Session, *, actor: User | None, escalation_id: int, assignee: User | None,
           now: datetime | None = None) -> Escalation:
    """Give the escalation to a colleague (a staff member or admin). An open one is claimed for them."""
    actor = require_agent(actor)
    now = now or utcnow()
    if assignee is None or not policy.is_agent(assignee):
        raise field_error("assignee", "Assign to a staff member or admin.")
    esc = _get(session, escalation_id, for_update=True)
    _require_state(session, esc, "assign it", S.open, S.claimed, S.waiting)
    if esc.status != S.open:
        _require_holder(session, esc, actor, "reassign it")
    if esc.assignee_id == assignee.id:
        raise Conflict(f"It is assigned to {assignee.shown_name} already.")
    esc.assignee_id, esc.updated_at = assignee.id, now
    if esc.status == S.open:
        esc.status = S.claimed.value
        _first_response(esc, now)
    _log(session, esc, "assigned", actor, assignee.username, now)
    if assignee.id != actor.id:
        question = session.get(Question, esc.question_id)
        notifications.notify(session, [assignee.id], kind="escalation_assigned", now=now,
                             text=f"{actor.shown_name} assigned you an escalation: “{question.title}”",
                             url=f"/staff/escalations/{esc.id}")
    return esc


def add_note(session: Session, *, actor: User | None, escalation_id: int, body: str,
             now: datetime | None = None) -> EscalationEvent:
    """An internal note: staff only, never shown publicly."""
    actor = require_agent(actor)
    body = require_text("body", body, "Write the note.")
    esc = _get(session, escalation_id, for_update=True)
    return _log(session, esc, "note", actor, body, now or utcnow())


def wait_on_customer(session: Session, *, actor: User | None, escalation_id: int, note: str = "",
                     now: datetime | None = None) -> Escalation:
    """Waiting for the customer's reply: the service-level clock stops until it resumes."""
    actor = require_agent(actor)
    now = now or utcnow()
    esc = _get(session, escalation_id, for_update=True)
    _require_state(session, esc, "mark it as waiting on the customer", S.claimed)
    _require_holder(session, esc, actor, "mark it as waiting on the customer")
    esc.status, esc.paused_at, esc.updated_at = S.waiting.value, now, now
    _log(session, esc, "waiting", actor, optional_text(note), now)
    return esc


def resume(session: Session, *, actor: User | None, escalation_id: int, now: datetime | None = None) -> Escalation:
    actor = require_agent(actor)
    now = now or utcnow()
    esc = _get(session, escalation_id, for_update=True)
    _require_state(session, esc, "resume it", S.waiting)
    _require_holder(session, esc, actor, "resume it")
    _unpause(esc, now)
    esc.status, esc.updated_at = S.claimed.value, now
    _log(session, esc, "resumed", actor, "", now)
    return esc


def hand_off(session: Session, *, actor: User | None, escalation_id: int, ticket: str,
             now: datetime | None = None) -> Escalation:
    """Passed to an external ticket system: the reference is recorded and the clock stops."""
    actor = require_agent(actor)
    now = now or utcnow()
    ticket = require_text("ticket", ticket, "Give the external ticket's reference.")
    esc = _get(session, escalation_id, for_update=True)
    _require_state(session, esc, "hand it off", S.open, S.claimed, S.waiting)
    if esc.status != S.open:
        _require_holder(session, esc, actor, "hand it off")
    _unpause(esc, now)
    _first_response(esc, now)
    esc.status, esc.external_ticket, esc.handed_off_at, esc.updated_at = S.handed_off.value, ticket[:200], now, now
    esc.assignee_id = esc.assignee_id or actor.id
    _log(session, esc, "handed_off", actor, ticket[:200], now)
    return esc


def resolve(session: Session, *, actor: User | None, escalation_id: int, resolution: str,
            answer_body: str | None = None, answer_id: int | None = None, now: datetime | None = None) -> Escalation:
    """Close the loop in public: either a staff answer posted on the thread (answer_body) or a
    pointer to the community answer that solved it (answer_id), which the asker (or staff, by
    the acceptance policy) can then accept. The asker and the "me too" customers are notified."""
    actor = require_agent(actor)
    now = now or utcnow()
    resolution = require_text("resolution", resolution, "Summarise the resolution for the team.")
    answer_body = optional_text(answer_body) or None
    if (answer_body is None) == (answer_id is None):
        raise InvalidInput("Give the public answer: write a staff answer, or point to the community answer "
                           "that solved it (one of the two).",
                           errors=[{"loc": ["body", "answer_body"], "msg": "one of answer_body, answer_id",
                                    "type": "value_error"}])
    esc = _get(session, escalation_id, for_update=True)
    _require_state(session, esc, "resolve it", S.open, S.claimed, S.waiting, S.handed_off)
    if esc.status in (S.claimed, S.waiting):
        _require_holder(session, esc, actor, "resolve it")
    if answer_body is not None:
        try:
            data = AnswerCreate(body=answer_body)
        except ValidationError as exc:
            raise field_error("answer_body", exc.errors()[0]["msg"]) from None
        answer = answers_service.post(session, actor=actor, question_id=esc.question_id, data=data,
                                      notify_asker=False)  # the resolution notice below links to it
    else:
        answer = session.exec(select(Answer).where(Answer.id == answer_id, Answer.deleted_at.is_(None))).first() \
            if 1 <= answer_id <= MAX_ID else None
        if answer is None or answer.question_id != esc.question_id:
            raise field_error("answer_id", f"Answer {answer_id} is not an answer on this question.")
    _unpause(esc, now)
    _first_response(esc, now)
    esc.status, esc.resolved_at, esc.resolved_by_id, esc.updated_at = S.resolved.value, now, actor.id, now
    esc.resolution, esc.public_answer_id, esc.open_question_id = resolution, answer.id, None
    esc.assignee_id = esc.assignee_id or actor.id
    session.flush()
    _log(session, esc, "resolved", actor, resolution, now)
    question = session.get(Question, esc.question_id)
    url = f"/questions/{question.id}/{question.slug}#answer-{answer.id}"
    notifications.notify(session, [question.author_id], kind="escalation_resolved", now=now, url=url,
                         text=f"Our support team answered your question “{question.title}”.")
    notifications.notify(session, _me_too_users(session, question.id), kind="escalation_resolved", now=now,
                         url=url, text=f"Our support team answered “{question.title}”, which you have too.")
    return esc


def _me_too_users(session: Session, question_id: int) -> list[int]:
    return list(session.exec(select(MeToo.user_id).where(MeToo.question_id == question_id)).all())


# --- helpers ------------------------------------------------------------------------------------------

def _log(session: Session, esc: Escalation, kind: str, actor: User | None, detail: str, now: datetime,
         signal: Trigger | None = None) -> EscalationEvent:
    event = EscalationEvent(escalation_id=esc.id, kind=kind, signal=signal.value if signal else None,
                            actor_id=actor.id if actor else None, detail=detail, created_at=now)
    session.add(event)
    session.flush()
    if kind in _WEBHOOK_KINDS:  # signed webhooks, in this transaction (app/webhooks)
        from app.webhooks import events as webhook_events

        webhook_events.escalation(session, _WEBHOOK_KINDS[kind], esc, note=detail)
    return event


_WEBHOOK_KINDS = {"created": "opened", "claimed": "claimed", "handed_off": "handed_off", "resolved": "resolved"}


def _first_response(esc: Escalation, now: datetime) -> None:
    if esc.first_response_at is None:
        esc.first_response_at = now
    esc.due_at = esc.resolve_by


def _unpause(esc: Escalation, now: datetime) -> None:
    """Move the targets by the time spent waiting on the customer."""
    if esc.paused_at is not None:
        paused = max(now - esc.paused_at, timedelta(0))
        esc.respond_by += paused
        esc.resolve_by += paused
        esc.due_at += paused
        esc.paused_at = None


STATE_WORDS = {"open": "open", "claimed": "claimed", "waiting": "waiting on the customer",
               "handed_off": "handed off to an external ticket", "resolved": "resolved"}


def _holder_name(session: Session, esc: Escalation) -> str:
    user = session.get(User, esc.assignee_id) if esc.assignee_id else None
    return user.shown_name if user else "someone else"


# In the refusals below, `doing` is the action with its object in place, as English puts it:
# "claim it", "hand it off", "mark it as waiting on the customer" (a phrasal verb takes "it" inside,
# so appending " it" read "hand off it"). tests/escalation/test_refusal_wording.py checks each.

def _state_refusal(session: Session, esc: Escalation, doing: str) -> str:
    """The 409 detail for an action `doing` (e.g. "claim it") refused in the escalation's state."""
    if esc.status == S.claimed:
        return f"Escalation {esc.id} is claimed by {_holder_name(session, esc)}; you cannot {doing} now."
    return f"Escalation {esc.id} is {STATE_WORDS.get(esc.status, esc.status)}; you cannot {doing} now."


def _require_state(session: Session, esc: Escalation, doing: str, *allowed: EscalationStatus) -> None:
    """Conflict (409) unless the escalation is in one of `allowed`; `doing` as in _state_refusal."""
    if esc.status not in {s.value for s in allowed}:
        raise Conflict(f"Escalation {esc.id} is {STATE_WORDS.get(esc.status, esc.status)}; you cannot {doing} now.")


def _require_holder(session: Session, esc: Escalation, actor: User, doing: str) -> None:
    """A claimed escalation is its assignee's: only they (or an admin) act on it (403 otherwise);
    `doing` as in _state_refusal."""
    if esc.assignee_id != actor.id and actor.role != "admin":
        raise Forbidden(f"Escalation {esc.id} is {_holder_name(session, esc)}'s; only they or an admin can {doing}.")


def is_active(esc: Escalation) -> bool:
    return esc.status in {s.value for s in ACTIVE_STATUSES}
