"""Request and response shapes of the escalation API (CONTRACT.md: the Escalation shape), the
service levels, "me too" and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.schemas import UserOut
from app.core.ids import BodyId
from app.core.inputs import JsonBody
from app.core.text import Visible

Status = Literal["open", "claimed", "waiting", "handed_off", "resolved"]


class EscalateIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: Annotated[str, Visible(3)] = Field(min_length=3, max_length=500, description="why the community's help was not enough")


class AssignIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    assignee: str = Field(min_length=1, max_length=30, description="the colleague's username (staff or admin)")


class NoteIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    body: Annotated[str, Visible(1)] = Field(min_length=1, max_length=5000)


class WaitIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    note: str = Field(default="", max_length=2000, description="what the customer was asked (internal)")


class HandOffIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    ticket: Annotated[str, Visible(1)] = Field(min_length=1, max_length=200, description="the external ticket's reference, e.g. ZD-4411")


class ResolveIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    resolution: Annotated[str, Visible(1)] = Field(min_length=1, max_length=5000, description="internal summary for the team")
    answer_body: Annotated[str | None, Visible(20)] = Field(default=None, min_length=20, max_length=30000,
                                    description="a staff answer to post on the public thread (Markdown)")
    answer_id: BodyId | None = Field(default=None, description="or: the community answer that solved it")

    @model_validator(mode="after")
    def _one_answer(self) -> "ResolveIn":
        if (self.answer_body is None) == (self.answer_id is None):
            raise ValueError("give exactly one of answer_body (a staff answer) and answer_id (a community answer)")
        return self


class QuestionRef(BaseModel):
    id: int
    title: str
    url: str
    product: str | None


class EscalationOut(BaseModel):
    """The contract's Escalation, plus the queue's details. For a customer (their own question's
    escalation) only the public status: assignee, ticket and internal fields are left empty."""

    id: int
    question_id: int
    status: Status
    reason: str
    created_at: datetime
    due_at: datetime
    assignee: UserOut | None
    resolved_at: datetime | None
    public_status: str = Field(description="what the customer sees, e.g. \"With our support team\"")
    trigger: Literal["asker", "staff", "unanswered", "unsolved", "affected"] | None = None
    priority: int | None = Field(default=None, description="one per distinct signal that led here")
    affected: int | None = Field(default=None, description="the asker + \"me too\" customers + askers of duplicates")
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    first_response_at: datetime | None = None
    breached: bool | None = None
    breach: Literal["first response", "resolution"] | None = None
    paused: bool | None = Field(default=None, description="waiting on the customer: the clock is stopped")
    external_ticket: str | None = None
    public_answer_id: int | None = None
    question: QuestionRef | None = None

    @classmethod
    def of(cls, v, *, public: bool = False) -> "EscalationOut":
        base = dict(id=v.id, question_id=v.question_id, status=v.status, created_at=v.created_at, due_at=v.due_at,
                    resolved_at=v.resolved_at, public_status=v.public_status, public_answer_id=v.public_answer_id,
                    question=QuestionRef(id=v.question_id, title=v.question_title, url=v.question_url,
                                         product=v.product))
        if public:
            return cls(**base, reason=v.reason, assignee=None)
        return cls(**base, reason=v.reason, assignee=UserOut.of(v.assignee) if v.assignee else None,
                   trigger=v.trigger, priority=v.priority, affected=v.affected, respond_by=v.respond_by,
                   resolve_by=v.resolve_by, first_response_at=v.first_response_at, breached=v.breached,
                   breach=v.breach, paused=v.paused, external_ticket=v.external_ticket)


class EscalationList(BaseModel):
    items: list[EscalationOut]
    next_cursor: str | None


class EventOut(BaseModel):
    id: int
    kind: str
    signal: str | None
    actor: UserOut | None = Field(description="null: the worker")
    detail: str
    created_at: datetime


class EscalationDetailOut(EscalationOut):
    resolution: str | None = None
    events: list[EventOut] = Field(default_factory=list, description="the audit log, internal notes included")


class ProductMetricsOut(BaseModel):
    product: str | None
    product_name: str
    questions: int
    escalated: int
    community_solved: int
    escalation_rate: float | None
    deflection_rate: float | None


class MetricsOut(BaseModel):
    since: datetime
    until: datetime
    escalations: int
    resolved: int
    breached: int
    breach_rate: float | None
    first_response_median_seconds: float | None
    first_response_mean_seconds: float | None
    resolution_median_seconds: float | None
    resolution_mean_seconds: float | None
    questions: int
    escalated_questions: int
    escalation_rate: float | None
    community_solved: int
    deflection_rate: float | None = Field(description="questions solved by the community without staff, over all")
    deflected_while_asking: int = Field(description="would-be questions answered by an existing one "
                                                    "(\"Yes, this solved it\")")
    suggestions_passed_over: int = Field(description="similar questions askers were shown and passed over")
    products: list[ProductMetricsOut]

    @classmethod
    def of(cls, m) -> "MetricsOut":
        fields = {k: getattr(m, k) for k in cls.model_fields if k != "products"}
        return cls(**fields, products=[ProductMetricsOut(
            product=p.product, product_name=p.product_name, questions=p.questions, escalated=p.escalated,
            community_solved=p.community_solved, escalation_rate=p.escalation_rate,
            deflection_rate=p.deflection_rate) for p in m.products])


class ServiceLevelIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    tier: Literal["standard", "priority", "enterprise"]
    first_response_minutes: int | None = Field(default=None, ge=1, le=525600)
    resolution_minutes: int | None = Field(default=None, ge=1, le=525600)
    unanswered_minutes: int | None = Field(default=None, ge=1, le=525600)
    unsolved_minutes: int | None = Field(default=None, ge=1, le=525600)
    affected_threshold: int | None = Field(default=None, ge=2, le=100000)


class ServiceLevelOut(BaseModel):
    product: str
    tier: str
    first_response_minutes: int
    resolution_minutes: int
    unanswered_minutes: int
    unsolved_minutes: int
    affected_threshold: int
    is_default: bool = Field(description="true: the product uses the documented defaults of its tier")

    @classmethod
    def of(cls, slug: str, lv) -> "ServiceLevelOut":
        from app.escalation.policy import minutes

        return cls(product=slug, tier=lv.tier, first_response_minutes=minutes(lv.first_response),
                   resolution_minutes=minutes(lv.resolution), unanswered_minutes=minutes(lv.unanswered),
                   unsolved_minutes=minutes(lv.unsolved), affected_threshold=lv.affected_threshold,
                   is_default=lv.is_default)


class MeTooOut(BaseModel):
    question_id: int
    count: int
    me_too: bool


class NotificationOut(BaseModel):
    id: int
    kind: str
    text: str
    url: str
    created_at: datetime
    read: bool
    # The post the notice is about (null for notices about none): "question" | "answer" | "comment".
    post_type: str | None = None
    post_id: int | None = None
    question_id: int | None = None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class MarkReadIn(JsonBody):
    model_config = ConfigDict(extra="forbid")

    ids: list[BodyId] | None = Field(default=None, max_length=100, description="null: all of them")


class MarkReadOut(BaseModel):
    marked: int
    unread: int


# --- private support messages (app/escalation/messages.py) ------------------------------------------

class MessageIn(JsonBody):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    body: Annotated[str, Visible(2)] = Field(min_length=2, max_length=10_000,
                                             description="Markdown; private to the asker and staff")


class MessageOut(BaseModel):
    id: int
    escalation_id: int
    author: UserOut | None = Field(description="who wrote it; null for a staff member's message when the asker "
                                               "reads (customers see \"our support team\", never the agent)")
    from_staff: bool = Field(description="written by staff (true) or by the asker (false)")
    body: str = Field(description="Markdown as written")
    body_html: str = Field(description="rendered and sanitised")
    created_at: datetime

    @classmethod
    def of(cls, escalation_id: int, m) -> "MessageOut":
        return cls(id=m.id, escalation_id=escalation_id, author=UserOut.of(m.author) if m.author else None,
                   from_staff=m.from_staff,
                   body=m.body, body_html=m.body_html, created_at=m.created_at)


class MessageList(BaseModel):
    items: list[MessageOut] = Field(description="the whole thread, oldest first")
    next_cursor: str | None = Field(default=None, description="always null: a thread is read whole")
    escalation_id: int
    status: Status
    can_write: bool = Field(description="false once the escalation is resolved")
    deletes_at: datetime | None = Field(description="when the messages are deleted (resolved escalations: "
                                                    "resolution + the retention setting)")
