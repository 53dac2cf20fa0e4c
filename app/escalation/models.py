"""The staff escalation queue: service levels per product, escalations, their audit log, and the
"I have this problem too" marks that tell how many customers a problem affects."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class EscalationStatus(StrEnum):
    open = "open"  # in the queue, nobody has it
    claimed = "claimed"  # an agent works on it
    waiting = "waiting"  # waiting on the customer: the service-level clock is paused
    handed_off = "handed_off"  # passed to an external ticket system (reference recorded)
    resolved = "resolved"  # the fix is on the public thread


ACTIVE_STATUSES = (EscalationStatus.open, EscalationStatus.claimed, EscalationStatus.waiting,
                   EscalationStatus.handed_off)


class Trigger(StrEnum):
    """Ways into the queue."""

    asker = "asker"  # the asker pressed "I still need help"
    staff = "staff"  # escalated by hand
    unanswered = "unanswered"  # no answer within the product's threshold
    unsolved = "unsolved"  # no accepted answer within the product's threshold
    affected = "affected"  # many "me too" and folded duplicates: a likely product defect


class ServiceLevel(SQLModel, table=True):
    """A product's support tier and targets (minutes). Products without a row use the
    documented defaults of the "standard" tier (app/escalation/policy.py)."""

    __tablename__ = "service_levels"

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", unique=True)
    tier: str = Field(max_length=20)
    first_response_minutes: int
    resolution_minutes: int
    unanswered_minutes: int
    unsolved_minutes: int
    affected_threshold: int
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")


class Escalation(SQLModel, table=True):
    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_queue", "status", "due_at", "id"),
        Index("ix_escalations_created", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    # Equals question_id while the escalation is not resolved, NULL afterwards: the unique
    # constraint allows one unresolved escalation per question on every database.
    open_question_id: int | None = Field(default=None, unique=True)
    status: str = Field(default=EscalationStatus.open.value, max_length=12)
    trigger: str = Field(max_length=12)  # the first way in (Trigger)
    reason: str = Field(max_length=500)
    priority: int = Field(default=1)  # one per distinct signal
    affected: int = Field(default=1)  # the asker, the "me too" customers and the askers of duplicates
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    assignee_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    respond_by: datetime  # first-response target
    resolve_by: datetime  # resolution target
    due_at: datetime  # the target being worked to: respond_by until the first response, then resolve_by
    first_response_at: datetime | None = Field(default=None)
    paused_at: datetime | None = Field(default=None)  # waiting on the customer since
    handed_off_at: datetime | None = Field(default=None)
    external_ticket: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None)
    resolved_by_id: int | None = Field(default=None, foreign_key="users.id")
    resolution: str | None = Field(default=None, sa_type=Text)  # internal summary
    public_answer_id: int | None = Field(default=None, foreign_key="answers.id")


class EscalationEvent(SQLModel, table=True):
    """The audit log: every transition, signal and internal note, with who and when."""

    __tablename__ = "escalation_events"
    __table_args__ = (Index("ix_escalation_events_escalation", "escalation_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalations.id")
    kind: str = Field(max_length=16)  # created | signal | claimed | released | assigned | note | waiting | resumed | handed_off | resolved
    signal: str | None = Field(default=None, max_length=12)  # the Trigger of a "created"/"signal" event
    actor_id: int | None = Field(default=None, foreign_key="users.id")  # None: the worker
    detail: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


class MeToo(SQLModel, table=True):
    """A customer other than the asker has the same problem."""

    __tablename__ = "me_toos"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="questions.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class EscalationMessage(SQLModel, table=True):
    """A private support message inside an escalation (docs/escalation.md, "Private messages"):
    between the asker and staff only, for what must never be public (serial numbers, order
    numbers, addresses). Never indexed, never exported publicly, never in webhooks; hard-deleted
    GROUNDSWELL_PRIVATE_MESSAGE_RETENTION_DAYS after the escalation is resolved (app/escalation/messages.py)."""

    __tablename__ = "escalation_messages"
    __table_args__ = (Index("ix_escalation_messages_escalation", "escalation_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalations.id")
    author_id: int = Field(foreign_key="users.id", index=True)
    body: str = Field(sa_type=Text)  # Markdown as written; shown rendered and sanitised
    created_at: datetime = Field(default_factory=utcnow)
